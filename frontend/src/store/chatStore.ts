// The chat state of every conversation, outside React: messages, the answers being streamed, the
// errors and one status per conversation. It subscribes to Go's chat and state events itself, so
// an answer keeps streaming into it while no view shows that conversation (a remount, another
// chat selected), and React reads it with useSyncExternalStore (hooks/useChat.ts).
//
// Status of a conversation (one enum, explicit transitions):
//
//   idle | error ──open, never loaded──▶ loading ──fetched──▶ idle (streaming if an answer runs)
//                                                  └─failed──▶ error
//   idle | error ──send / regenerate / edit──▶ sending
//   sending ──Go resolved──▶ awaiting          (unless chat:start or the answer's end came already)
//   sending ──Go rejected──▶ error             (the optimistic message is taken back, the draft
//                                               goes back to the composer, the reason is shown)
//   sending | awaiting | idle | error ──chat:start / chat:delta──▶ streaming
//   sending | awaiting | streaming ──chat:done / chat:error of the answer──▶ idle
//   awaiting | streaming ──Go's state says nothing runs in this conversation (checked again after
//                          a short grace, then the conversation is re-read from Go)──▶ idle
//   awaiting | streaming ──quiet for watchdogMs──▶ GetState, then as above
//   error ──clearError / the view leaves──▶ idle
//
// Nothing waits for an event that may never come: a refused call ends `sending` at once, and
// `awaiting`/`streaming` end on chat:done/chat:error, or on Go's state (pushed or polled).
import { api as realApi, eventsAvailable, onEvent as realOnEvent, toAppError } from "../api";
import type { Api, AppError, AppState, EventMap, EventName, Message } from "../api";

export type ChatStatus = "idle" | "loading" | "sending" | "awaiting" | "streaming" | "error";

export type ContextUse = { used: number; size: number };

/** What a view of one conversation reads. The same object until that conversation changes. */
export type ChatSnapshot = {
  /** "" = the new chat (no conversation yet) */
  readonly conversationId: string;
  readonly status: ChatStatus;
  /** without system messages */
  readonly messages: Message[];
  readonly messageErrors: Readonly<Record<string, AppError>>;
  /** the conversation-level error (a refused send, a failed load or call) */
  readonly error: AppError | null;
  /** sending, awaiting or streaming: Stop is offered, a new message cannot be sent */
  readonly pending: boolean;
  /** an answer of this conversation is streaming */
  readonly streaming: boolean;
  /** Go's last state says an answer is generated in this conversation */
  readonly goGenerating: boolean;
  /** the conversation's title as Go last gave it ("" = untitled) */
  readonly title: string;
  /** the context used by the last answer of this conversation (kept while a new one runs) */
  readonly context: ContextUse | null;
};

export type ChatApi = Pick<
  Api,
  | "getConversation"
  | "createConversation"
  | "deleteConversation"
  | "sendMessage"
  | "stopGeneration"
  | "regenerate"
  | "editMessage"
  | "getState"
>;

export type ChatStoreDeps = {
  api: ChatApi;
  onEvent: <K extends EventName>(name: K, cb: (payload: EventMap[K]) => void) => () => void;
  /** false: events cannot be subscribed to yet (no Wails runtime); tried again on the next use */
  eventsReady?: () => boolean;
  /** runs cb before the next paint (requestAnimationFrame); returns a cancel function */
  frame?: (cb: () => void) => () => void;
  /** ms between a state saying nothing runs in a pending conversation and re-reading it */
  graceMs?: number;
  /** ms without any event in a pending conversation before asking Go for its state */
  watchdogMs?: number;
};

type Stream = {
  conversationId: string;
  text: string;
  nextSeq: number;
  /** deltas that arrived before an earlier one, by seq */
  pending: Map<number, string>;
};

type Conv = {
  id: string;
  status: ChatStatus;
  messages: Message[];
  messageErrors: Record<string, AppError>;
  error: AppError | null;
  title: string;
  /** fetched from Go (or created here) */
  loaded: boolean;
  /** a GetConversation in flight */
  fetching: boolean;
  /** increases at every send/regenerate/edit: a late answer of an older call is dropped */
  op: number;
  /** Stop was pressed while the answer had not started: stop it as soon as it does */
  stopRequested: boolean;
  /** the answer of the current send/regenerate/edit (from chat:start), null before it starts */
  answerId: string | null;
  /** re-reads that found the answer still stored as streaming while Go said nothing runs */
  reconcileTries: number;
  /** time of the last event or action */
  activity: number;
  lastContext: ContextUse | null;
  cancelReconcile: (() => void) | null;
  /** the new chat (""): the conversation created for the message being sent */
  pendingId: string | null;
  snapshot: ChatSnapshot | null;
};

const PENDING: ReadonlySet<ChatStatus> = new Set(["sending", "awaiting", "streaming"]);
const isPending = (s: ChatStatus) => PENDING.has(s);

const defaultFrame = (cb: () => void): (() => void) => {
  if (typeof requestAnimationFrame === "function") {
    const id = requestAnimationFrame(() => cb());
    return () => cancelAnimationFrame(id);
  }
  const id = setTimeout(cb, 16);
  return () => clearTimeout(id);
};

let localSeq = 0;

/** The model that writes new answers (Go's AppState.model): Go stores it with each answer. */
type AnswerModel = { modelId: string; model: string } | null;

function assistant(conversationId: string, id: string, content = "", by: AnswerModel = null): Message {
  const m: Message = { id, conversationId, role: "assistant", content, createdAt: new Date().toISOString(), status: "streaming" };
  return by ? { ...m, ...by } : m;
}

function lastContext(messages: Message[]): ContextUse | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const s = messages[i]!.stats;
    if (messages[i]!.role === "assistant" && s && s.contextSize > 0) return { used: s.contextUsed, size: s.contextSize };
  }
  return null;
}

export class ChatStore {
  private readonly deps: Required<ChatStoreDeps>;
  private readonly convs = new Map<string, Conv>();
  private readonly streams = new Map<string, Stream>();
  /** answers that got chat:done/chat:error: a later chat:start or delta for them is stale */
  private readonly finished = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private readonly dirty = new Set<string>();
  private cancelFrame: (() => void) | null = null;
  private offs: (() => void)[] = [];
  private listening = false;
  private disposed = false;
  /** Go's last state: which conversation is generating ("" none); null until a state is known */
  private generatingId: string | null = null;
  private stateSeq = -1;
  /**
   * The loaded model (Go's last state): an answer whose start was missed is labelled with it, as Go
   * labels the answer it stores (chat:start names the model; a re-read brings Go's label).
   */
  private answerModel: AnswerModel = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private polling = false;

  constructor(deps: ChatStoreDeps) {
    this.deps = {
      eventsReady: () => true,
      frame: defaultFrame,
      graceMs: 300,
      watchdogMs: 4000,
      ...deps,
    };
  }

  // ---- reading (useSyncExternalStore) ----

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listen();
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The snapshot of one conversation ("" = the new chat): the same object until it changes. */
  readonly getSnapshot = (conversationId: string): ChatSnapshot => {
    const c = this.conv(conversationId);
    return (c.snapshot ??= this.build(c));
  };

  // ---- the view ----

  /** A view shows this conversation: load it (or refresh it from Go). */
  open(conversationId: string): void {
    this.listen();
    if (!conversationId) return;
    const c = this.conv(conversationId);
    if (c.fetching) return;
    const first = !c.loaded;
    if (first && !isPending(c.status)) this.set(c, { status: "loading", error: null });
    void this.fetch(c, first);
  }

  /** No view shows this conversation any more: a conversation-level error is not kept. */
  leave(conversationId: string): void {
    const c = this.convs.get(conversationId);
    if (c && c.status === "error") this.set(c, { status: "idle", error: null });
    else if (c?.error && !isPending(c.status)) this.set(c, { error: null });
  }

  clearError(conversationId: string): void {
    const c = this.conv(conversationId);
    this.set(c, { error: null, status: c.status === "error" ? "idle" : c.status });
  }

  // ---- actions ----

  /**
   * Sends a message. Resolves true when Go took it, false when it did not (the reason is the
   * conversation's error; the caller puts the text back). From the new chat (""), the
   * conversation is created first and `onCreated` is called once Go took the message; a refused
   * first message deletes that empty conversation again.
   */
  async send(conversationId: string, text: string, onCreated?: (id: string) => void): Promise<boolean> {
    this.listen();
    const body = text.trim();
    const view = this.conv(conversationId);
    if (!body || isPending(view.status)) return false;
    const temp: Message = {
      id: `local-${++localSeq}`,
      conversationId,
      role: "user",
      content: body,
      createdAt: new Date().toISOString(),
      status: "done",
    };
    view.op++;
    this.set(view, {
      status: "sending",
      error: null,
      stopRequested: false,
      answerId: null,
      messages: [...view.messages, temp],
    });

    let target = view;
    if (!conversationId) {
      try {
        const created = await this.deps.api.createConversation();
        target = this.conv(created.id);
        target.op++;
        this.set(target, {
          loaded: true,
          title: created.title,
          status: "sending",
          answerId: null,
          stopRequested: view.stopRequested,
          messages: [...target.messages, { ...temp, conversationId: created.id }],
        });
        this.set(view, { pendingId: created.id });
      } catch (e) {
        this.set(view, { status: "error", error: toAppError(e), messages: view.messages.filter((m) => m.id !== temp.id) });
        return false;
      }
    }
    const id = target.id;
    const op = target.op;
    try {
      const saved = await this.deps.api.sendMessage(id, body);
      if (target.op === op) {
        const messages = target.messages.some((m) => m.id === saved.id)
          ? target.messages.filter((m) => m.id !== temp.id)
          : target.messages.map((m) => (m.id === temp.id ? saved : m));
        this.set(target, { messages, status: target.status === "sending" ? "awaiting" : target.status });
        this.afterCall(target);
      }
      if (!conversationId) {
        // Select the new conversation first, then empty the new chat: one render.
        onCreated?.(id);
        this.set(view, { status: "idle", messages: [], pendingId: null, stopRequested: false });
      }
      return true;
    } catch (e) {
      const error = toAppError(e);
      if (!conversationId) {
        // Nothing was stored: remove the empty conversation and stay on the new chat.
        this.drop(id);
        this.deps.api.deleteConversation(id).catch(() => {});
        this.set(view, { status: "error", error, messages: [], pendingId: null, stopRequested: false });
      } else if (target.op === op) {
        this.set(target, {
          status: "error",
          error,
          stopRequested: false,
          messages: target.messages.filter((m) => m.id !== temp.id),
        });
      }
      return false;
    }
  }

  /** Generates the last answer again. */
  async regenerate(conversationId: string): Promise<void> {
    this.listen();
    const c = this.conv(conversationId);
    if (!conversationId || isPending(c.status)) return;
    const before = c.messages;
    const last = before[before.length - 1];
    c.op++;
    const op = c.op;
    this.set(c, {
      status: "sending",
      error: null,
      stopRequested: false,
      answerId: null,
      messages: last?.role === "assistant" ? before.slice(0, -1) : before,
    });
    try {
      await this.deps.api.regenerate(conversationId);
      if (c.op !== op) return;
      if (last?.role === "assistant" && c.messageErrors[last.id]) {
        const { [last.id]: _gone, ...rest } = c.messageErrors;
        this.set(c, { messageErrors: rest });
      }
      if (c.status === "sending") this.set(c, { status: "awaiting" });
      this.afterCall(c);
    } catch (e) {
      if (c.op === op) this.set(c, { status: "error", error: toAppError(e), messages: before });
    }
  }

  /** Replaces a user message, drops every later message and generates a new answer. */
  async edit(conversationId: string, messageId: string, text: string): Promise<void> {
    this.listen();
    const c = this.conv(conversationId);
    const body = text.trim();
    if (!conversationId || !body || isPending(c.status)) return;
    const before = c.messages;
    const i = before.findIndex((m) => m.id === messageId);
    if (i < 0) return;
    c.op++;
    const op = c.op;
    this.set(c, {
      status: "sending",
      error: null,
      stopRequested: false,
      answerId: null,
      messages: [...before.slice(0, i), { ...before[i]!, content: body }],
    });
    try {
      await this.deps.api.editMessage(conversationId, messageId, body);
      if (c.op !== op) return;
      if (c.status === "sending") this.set(c, { status: "awaiting" });
      this.afterCall(c);
    } catch (e) {
      if (c.op === op) this.set(c, { status: "error", error: toAppError(e), messages: before });
    }
  }

  /**
   * Stops the answer. Works in every pending status: before the answer started, it is stopped as
   * soon as it starts; if Go says nothing runs here any more, the conversation is settled from Go.
   */
  async stop(conversationId: string): Promise<void> {
    this.listen();
    const c = this.conv(conversationId);
    const targets = [c];
    if (c.pendingId) targets.push(this.conv(c.pendingId));
    for (const t of targets) if (isPending(t.status)) t.stopRequested = true;
    try {
      await this.deps.api.stopGeneration();
    } catch (e) {
      this.set(c, { error: toAppError(e) });
    }
    // Ask Go at once whether anything still runs here (a lost chat:done must not keep Stop).
    void this.poll();
  }

  /** Unsubscribes from Go and cancels every timer (tests; the app keeps one store). */
  dispose(): void {
    this.disposed = true;
    for (const off of this.offs) off();
    this.offs = [];
    this.cancelFrame?.();
    this.cancelFrame = null;
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.watchdog = null;
    for (const c of this.convs.values()) c.cancelReconcile?.();
    this.listeners.clear();
  }

  // ---- Go events ----

  private listen(): void {
    if (this.listening || this.disposed || !this.deps.eventsReady()) return;
    this.listening = true;
    const on = this.deps.onEvent;
    this.offs = [
      on("chat:start", (e) => this.onStart(e)),
      on("chat:delta", (e) => this.onDelta(e)),
      on("chat:done", (e) => this.onDone(e)),
      on("chat:error", (e) => this.onError(e)),
      on("state", (s) => this.onState(s)),
    ];
  }

  private onStart(e: EventMap["chat:start"]): void {
    if (this.finished.has(e.messageId)) return; // late: the answer already ended
    if (!this.streams.has(e.messageId)) {
      this.streams.set(e.messageId, { conversationId: e.conversationId, text: "", nextSeq: 0, pending: new Map() });
    }
    const c = this.conv(e.conversationId);
    const messages = c.messages.some((m) => m.id === e.messageId)
      ? c.messages
      : [...c.messages, assistant(e.conversationId, e.messageId, "", e.modelId ? { modelId: e.modelId, model: e.model } : this.answerModel)];
    this.set(c, { messages, status: this.startedStatus(c), answerId: e.messageId });
    if (c.stopRequested) void this.deps.api.stopGeneration().catch(() => {});
  }

  private onDelta(e: EventMap["chat:delta"]): void {
    if (this.finished.has(e.messageId)) return;
    let s = this.streams.get(e.messageId);
    if (!s) {
      s = { conversationId: e.conversationId, text: "", nextSeq: 0, pending: new Map() };
      this.streams.set(e.messageId, s);
    }
    if (e.seq < s.nextSeq) return; // already applied
    s.pending.set(e.seq, e.text ?? "");
    while (s.pending.has(s.nextSeq)) {
      s.text += s.pending.get(s.nextSeq);
      s.pending.delete(s.nextSeq);
      s.nextSeq++;
    }
    const c = this.conv(e.conversationId);
    c.activity = Date.now();
    if (c.status !== "streaming" && c.status !== "loading") {
      this.set(c, { status: this.startedStatus(c), answerId: c.answerId ?? e.messageId });
    }
    this.dirty.add(e.messageId);
    this.cancelFrame ??= this.deps.frame(() => this.flush());
  }

  private onDone(e: EventMap["chat:done"]): void {
    const c = this.conv(e.conversationId);
    const stale = this.isOldAnswer(c, e.messageId);
    this.finish(e.messageId);
    const i = c.messages.findIndex((m) => m.id === e.messageId);
    const found = i >= 0 ? c.messages[i]! : assistant(e.conversationId, e.messageId);
    // An answer that just ended was written by the loaded model (when its start had no label yet).
    const base = found.modelId || !this.answerModel ? found : { ...found, ...this.answerModel };
    const done: Message = {
      ...base,
      content: e.content ?? base.content,
      stats: e.stats,
      status: e.status || "done",
    };
    const messages = i >= 0 ? c.messages.map((m, j) => (j === i ? done : m)) : [...c.messages, done];
    this.set(c, stale ? { messages } : { messages, ...this.ended(c) });
  }

  private onError(e: EventMap["chat:error"]): void {
    const c = this.conv(e.conversationId);
    const stale = !!e.messageId && this.isOldAnswer(c, e.messageId);
    const error: AppError = e.error ?? { code: "internal", message: "" };
    if (!e.messageId) {
      // No answer to put it on: the conversation shows it.
      this.set(c, { error, ...this.ended(c) });
      return;
    }
    const s = this.streams.get(e.messageId);
    this.finish(e.messageId);
    const i = c.messages.findIndex((m) => m.id === e.messageId);
    const failed: Message = {
      ...(i >= 0 ? c.messages[i]! : assistant(e.conversationId, e.messageId, s?.text ?? "", this.answerModel)),
      status: "error",
    };
    const messages = i >= 0 ? c.messages.map((m, j) => (j === i ? failed : m)) : [...c.messages, failed];
    const messageErrors = { ...c.messageErrors, [e.messageId]: error };
    this.set(c, stale ? { messages, messageErrors } : { messages, messageErrors, ...this.ended(c) });
  }

  private onState(s: AppState): void {
    if (typeof s.seq === "number") {
      if (s.seq <= this.stateSeq) return; // older than one already applied
      this.stateSeq = s.seq;
    }
    this.answerModel = s.model ? { modelId: s.model.id, model: s.model.displayName } : null;
    const next = s.generatingConversationId ?? "";
    const prev = this.generatingId;
    this.generatingId = next;
    if (prev !== next) {
      for (const id of [prev, next]) {
        const c = id ? this.convs.get(id) : undefined;
        if (c) this.set(c, {});
      }
    }
    this.checkPending();
  }

  // ---- internals ----

  private conv(id: string): Conv {
    let c = this.convs.get(id);
    if (!c) {
      c = {
        id,
        status: "idle",
        messages: [],
        messageErrors: {},
        error: null,
        title: "",
        loaded: id === "",
        fetching: false,
        op: 0,
        stopRequested: false,
        answerId: null,
        reconcileTries: 0,
        activity: Date.now(),
        lastContext: null,
        cancelReconcile: null,
        pendingId: null,
        snapshot: null,
      };
      this.convs.set(id, c);
    }
    return c;
  }

  /** Forgets a conversation (deleted). */
  private drop(id: string): void {
    const c = this.convs.get(id);
    c?.cancelReconcile?.();
    this.convs.delete(id);
  }

  /** Applies a change to a conversation, makes its snapshot anew and tells the views. */
  private set(c: Conv, patch: Partial<Conv>): void {
    Object.assign(c, patch);
    c.snapshot = null;
    c.activity = Date.now();
    if (!isPending(c.status)) {
      c.cancelReconcile?.();
      c.reconcileTries = 0;
    }
    this.syncWatchdog();
    this.notify();
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private build(c: Conv): ChatSnapshot {
    const messages = c.messages.filter((m) => m.role !== "system");
    const context = lastContext(c.messages);
    // The same object while the numbers are the same (views select it).
    if (context && (context.used !== c.lastContext?.used || context.size !== c.lastContext?.size)) {
      c.lastContext = context;
    }
    return Object.freeze({
      conversationId: c.id,
      status: c.status,
      messages,
      messageErrors: c.messageErrors,
      error: c.error,
      pending: isPending(c.status),
      streaming: messages.some((m) => m.status === "streaming"),
      goGenerating: !!c.id && this.generatingId === c.id,
      title: c.title,
      context: c.lastContext,
    });
  }

  /** The status once an answer has started (chat:start or a delta). */
  private startedStatus(c: Conv): ChatStatus {
    return c.status === "loading" ? "loading" : "streaming";
  }

  /** The change when the answer ends (chat:done/chat:error). */
  private ended(c: Conv): Partial<Conv> {
    const status: ChatStatus = isPending(c.status) ? "idle" : c.status;
    return { status, stopRequested: false, answerId: null };
  }

  /**
   * Whether the end of `messageId` belongs to an answer that is over for us (a repeated event, or
   * one that was settled from Go before its event came): then it updates the message, not the
   * status of what runs now.
   */
  private isOldAnswer(c: Conv, messageId: string): boolean {
    if (this.finished.has(messageId)) return true;
    if (c.answerId) return c.answerId !== messageId;
    const shown = c.messages.find((m) => m.id === messageId);
    return !!shown && shown.status !== "streaming";
  }

  private finish(messageId: string): void {
    this.finished.add(messageId);
    this.streams.delete(messageId);
    this.dirty.delete(messageId);
  }

  /** After Go took a send/regenerate/edit: a Stop pressed meanwhile is sent now. */
  private afterCall(c: Conv): void {
    if (c.stopRequested && isPending(c.status)) void this.deps.api.stopGeneration().catch(() => {});
    this.checkPending();
  }

  /** Copies the streamed text into the messages (at most once per frame). */
  private flush(): void {
    this.cancelFrame = null;
    const ids = [...this.dirty];
    this.dirty.clear();
    const byConv = new Map<string, string[]>();
    for (const id of ids) {
      const s = this.streams.get(id);
      if (!s) continue;
      byConv.set(s.conversationId, [...(byConv.get(s.conversationId) ?? []), id]);
    }
    let changed = false;
    for (const [convId, msgIds] of byConv) {
      const c = this.conv(convId);
      let messages = c.messages;
      for (const id of msgIds) {
        const s = this.streams.get(id)!;
        const i = messages.findIndex((m) => m.id === id);
        if (i < 0) messages = [...messages, assistant(convId, id, s.text, this.answerModel)];
        else if (messages[i]!.content !== s.text || messages[i]!.status !== "streaming") {
          messages = messages.map((m, j) => (j === i ? { ...m, content: s.text, status: "streaming" as const } : m));
        }
      }
      if (messages !== c.messages) {
        Object.assign(c, { messages, snapshot: null });
        changed = true;
      }
    }
    if (changed) this.notify();
  }

  /** Reads the conversation from Go and merges what only this store knows (a streaming answer). */
  private async fetch(c: Conv, first: boolean): Promise<void> {
    c.fetching = true;
    const op = c.op;
    try {
      const got = await this.deps.api.getConversation(c.id);
      if (this.convs.get(c.id) !== c) return;
      // A refresh that raced with a send/regenerate/edit is older than what is shown.
      if (!first && c.op !== op) return;
      const merged = this.merge(c, got.messages);
      const running = merged.some((m) => m.status === "streaming" && !this.finished.has(m.id));
      const status: ChatStatus = c.status === "loading" ? (running ? "streaming" : "idle") : c.status;
      this.set(c, { messages: merged, title: got.title, loaded: true, status });
      if (status === "streaming") this.checkPending();
    } catch (e) {
      if (this.convs.get(c.id) !== c) return;
      if (c.status === "loading") this.set(c, { status: "error", error: toAppError(e) });
      else if (first) this.set(c, { error: toAppError(e) });
    } finally {
      c.fetching = false;
    }
  }

  /** Pending conversations Go says nothing runs in: settle them after a short grace. */
  private checkPending(): void {
    if (this.generatingId === null) return; // Go's state not known yet
    for (const c of this.convs.values()) {
      if ((c.status !== "awaiting" && c.status !== "streaming") || c.id === this.generatingId || c.cancelReconcile) continue;
      const t = setTimeout(() => {
        c.cancelReconcile = null;
        if ((c.status === "awaiting" || c.status === "streaming") && this.generatingId !== c.id) void this.reconcile(c);
      }, this.deps.graceMs);
      c.cancelReconcile = () => {
        clearTimeout(t);
        c.cancelReconcile = null;
      };
    }
  }

  /**
   * Go's messages with what only this store knows: our end of an answer is newer than what Go had
   * stored, a live stream is ahead of it, and messages Go does not have yet (being sent) stay.
   */
  private merge(c: Conv, fetched: Message[]): Message[] {
    const local = new Map(c.messages.map((m) => [m.id, m]));
    const merged = fetched.map((m) => {
      const mine = local.get(m.id);
      if (mine && this.finished.has(m.id)) return mine;
      const s = this.streams.get(m.id);
      return s && s.nextSeq > 0 ? { ...m, content: s.text, status: "streaming" as const } : m;
    });
    const ids = new Set(fetched.map((m) => m.id));
    for (const m of c.messages) if (!ids.has(m.id)) merged.push(m);
    return merged;
  }

  /** The answer ended without its event reaching us: take the stored conversation from Go. */
  private async reconcile(c: Conv): Promise<void> {
    const op = c.op;
    let got: { title: string; messages: Message[] } | null = null;
    try {
      got = await this.deps.api.getConversation(c.id);
    } catch {
      // settle with what is shown
    }
    if (this.convs.get(c.id) !== c || c.op !== op || (c.status !== "awaiting" && c.status !== "streaming")) return;
    if (this.generatingId === c.id) return; // it runs after all (a newer state came meanwhile)
    const messages = got ? this.merge(c, got.messages) : c.messages;
    const title = got?.title ?? c.title;
    // Go stores the answer's end before it says nothing runs: an answer still stored as streaming
    // means that state was older than the answer. Ask again (the watchdog), a few times at most.
    const live = !!got?.messages.some((m) => m.status === "streaming" && !this.finished.has(m.id));
    if (live && c.reconcileTries < 2) {
      c.reconcileTries++;
      this.set(c, { messages, title });
      return;
    }
    this.set(c, {
      messages: messages.map((m) => (m.status === "streaming" ? { ...m, status: "cancelled" as const } : m)),
      title,
      status: "idle",
      stopRequested: false,
      answerId: null,
    });
  }

  /** Asks Go for its state (the watchdog and Stop), then settles what must be. */
  private async poll(): Promise<void> {
    if (this.polling || this.disposed) return;
    this.polling = true;
    try {
      const s = await this.deps.api.getState();
      if (!this.disposed) {
        if (typeof s.seq === "number" && s.seq <= this.stateSeq) this.checkPending();
        else this.onState(s);
      }
    } catch {
      // the next tick asks again
    } finally {
      this.polling = false;
    }
  }

  /** Runs the watchdog while a conversation is awaiting or streaming. */
  private syncWatchdog(): void {
    const any = [...this.convs.values()].some((c) => c.status === "awaiting" || c.status === "streaming");
    if (any && this.watchdog === null && !this.disposed) {
      this.watchdog = setInterval(() => {
        const now = Date.now();
        const quiet = [...this.convs.values()].some(
          (c) => (c.status === "awaiting" || c.status === "streaming") && now - c.activity >= this.deps.watchdogMs,
        );
        if (quiet) void this.poll();
      }, this.deps.watchdogMs);
    } else if (!any && this.watchdog !== null) {
      clearInterval(this.watchdog);
      this.watchdog = null;
    }
  }
}

let shared: ChatStore | null = null;

/** The app's store (created on first use, subscribed to Go's events). */
export function getChatStore(): ChatStore {
  shared ??= new ChatStore({ api: realApi, onEvent: realOnEvent, eventsReady: eventsAvailable });
  return shared;
}

/** Drops the app's store (tests: each test has its own fake Go). */
export function resetChatStore(): void {
  shared?.dispose();
  shared = null;
}
