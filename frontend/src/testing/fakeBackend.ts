// An in-memory stand-in for the Go side: installs window.go.main.App and window.runtime exactly
// where the Wails-generated wailsjs files look for them. Used by the unit tests and by the
// screenshot harness (e2e/). Never imported by the app itself, so it is not in the production bundle.
import type {
  AppError,
  AppState,
  Conversation,
  ConversationSummary,
  EventMap,
  EventName,
  GenStats,
  Message,
  Settings,
} from "../api/types";
import goDefaultsJson from "./go-defaults.json";

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

type Listener = (...data: unknown[]) => void;
type Method = (...args: never[]) => Promise<unknown>;

export type AutoReply = {
  /** the answer for a user message (default: a canned markdown answer with code) */
  text?: (userText: string) => string;
  /** characters per delta */
  chunk?: number;
  /** ms between deltas */
  intervalMs?: number;
  /** deltas sent per timer tick (to flood the UI in a test) */
  burst?: number;
  /** ms before the first delta (prefill) */
  ttftMs?: number;
  droppedMessages?: number;
  /** the answer fails with this error (chat:error) after ttftMs, with no text */
  error?: AppError;
};

export type FakeOptions = {
  state?: Partial<AppState>;
  settings?: Partial<Settings>;
  conversations?: Conversation[];
  autoReply?: AutoReply | null;
};

/** The Go defaults (settings, a ready state with a model, the system prompts), written by a Go test
 *  so that the fake cannot drift from Go. */
export const goDefaults = goDefaultsJson as unknown as {
  settings: Settings;
  state: AppState;
  systemPrompts: Record<"en" | "es", string>;
};

/** Go's ready state with a model, without `seq` (tests give it when they test ordering). */
export const defaultState = (): AppState => {
  const { seq: _seq, ...state } = clone(goDefaults.state);
  return state as AppState;
};

export const defaultSettings = (): Settings => clone(goDefaults.settings);

export const DEFAULT_PROMPTS: Record<string, string> = { ...goDefaults.systemPrompts };

/** Go's DefaultSystemPrompt: Spanish for "es…", English otherwise. */
export const defaultPrompt = (lang: string): string =>
  lang.toLowerCase().startsWith("es") ? goDefaults.systemPrompts.es : goDefaults.systemPrompts.en;

/**
 * The fake tokenizer: about 2.3 characters a token (a 20,000-character paste is ~8,800 tokens,
 * as with the real model).
 */
export const fakeTokens = (text: string): number => Math.ceil([...text].length * 0.44);

/** Tokens of the chat format around a message (fake). */
const FORMAT_TOKENS = 8;

export const SAMPLE_ANSWER = [
  "Here is a small function that checks whether a string is a **palindrome**, ignoring case and punctuation:",
  "",
  "```python",
  "import re",
  "",
  "def is_palindrome(text: str) -> bool:",
  '    """Return True if text reads the same backwards."""',
  '    cleaned = re.sub(r"[^a-z0-9]", "", text.lower())',
  "    return cleaned == cleaned[::-1]",
  "",
  'print(is_palindrome("A man, a plan, a canal: Panama"))  # True',
  "```",
  "",
  "How it works:",
  "",
  "1. `text.lower()` makes the comparison case-insensitive.",
  "2. The regular expression removes everything that is not a letter or digit.",
  "3. `cleaned[::-1]` is the reversed string; if both are equal, it is a palindrome.",
  "",
  "| Input | Result |",
  "| --- | --- |",
  '| `"racecar"` | `True` |',
  '| `"hello"` | `False` |',
].join("\n");


/** Wails rejects with the Go error string, which for *engine.Error is its JSON. */
const reject = (code: string, message: string, params?: Record<string, unknown>) =>
  Promise.reject(JSON.stringify({ code, params, message } satisfies AppError));

export class FakeBackend {
  state: AppState;
  settings: Settings;
  conversations = new Map<string, Conversation>();
  autoReply: AutoReply | null;
  /** every bound-method call, in order */
  calls: { method: string; args: unknown[] }[] = [];
  /** the next call of that method rejects with this error */
  failures = new Map<string, AppError>();
  chooseResult = "";
  listeners = new Map<string, Set<Listener>>();
  fileDrop: ((x: number, y: number, paths: string[]) => void) | null = null;
  clipboard = "";
  openedUrls: string[] = [];
  /** ms a method takes before it answers (e.g. a slow SendMessage) */
  delays = new Map<string, number>();
  /** ports another program listens on: SaveSettings with the server on one of them fails */
  busyPorts = new Set<number>();
  /**
   * Called by SendMessage after it stored the user message and started the answer, before it
   * resolves: a test can emit events that arrive before the promise resolves.
   */
  afterSend: ((c: Conversation, user: Message) => void) | null = null;

  private seq = 0;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private generation: { conversationId: string; messageId: string; text: string; cancel: () => void } | null = null;

  readonly app: Record<string, Method>;
  readonly runtime: Record<string, unknown>;

  constructor(opts: FakeOptions = {}) {
    this.state = { ...defaultState(), ...opts.state };
    this.settings = { ...defaultSettings(), ...opts.settings };
    for (const c of opts.conversations ?? []) this.conversations.set(c.id, clone(c));
    this.autoReply = opts.autoReply ?? null;
    this.app = this.makeApp();
    this.runtime = this.makeRuntime();
  }

  install(win: Window = window): this {
    const w = win as unknown as { go?: unknown; runtime?: unknown };
    w.go = { main: { App: this.app } };
    w.runtime = this.runtime;
    return this;
  }

  uninstall(win: Window = window): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const w = win as unknown as { go?: unknown; runtime?: unknown };
    delete w.go;
    delete w.runtime;
  }

  emit<K extends EventName>(name: K, payload: EventMap[K]): void {
    for (const cb of [...(this.listeners.get(name) ?? [])]) cb(payload);
  }

  setState(patch: Partial<AppState>): void {
    this.state = { ...this.state, ...patch };
    // Like Go: every snapshot has a higher seq (only when the state has one: tests without seq
    // see every state applied in order).
    if (typeof this.state.seq === "number") this.state.seq++;
    this.emit("state", clone(this.state));
  }

  fail(method: string, code: string, message = `${method} failed`, params?: Record<string, unknown>): void {
    this.failures.set(method, { code, message, params });
  }

  callsOf(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  private later(ms: number, fn: () => void): () => void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return () => {
      clearTimeout(t);
      this.timers.delete(t);
    };
  }

  private id(prefix: string): string {
    return `${prefix}${++this.seq}`;
  }

  private summary(c: Conversation): ConversationSummary {
    const last = [...c.messages].reverse().find((m) => m.role !== "system");
    return { id: c.id, title: c.title, updatedAt: c.updatedAt, preview: (last?.content ?? "").slice(0, 80) };
  }

  private touch(c: Conversation): void {
    c.updatedAt = new Date(Date.now() + this.seq).toISOString();
    this.emit("conversations:changed", {});
  }

  /** The most tokens one message can have (context minus system prompt, format and answer room). */
  draftLimit(): number {
    const ctx = this.state.model?.contextSize || this.state.contextSize || 4096;
    const answerRoom = Math.min(this.settings.maxTokens, Math.floor(ctx / 4));
    return Math.max(0, ctx - fakeTokens(this.settings.systemPrompt) - FORMAT_TOKENS - answerRoom);
  }

  /** Why a message cannot be counted or sent now (no model loaded), or null. */
  private modelError(): Promise<never> | null {
    if (!this.state.modelPresent) return reject("no_model", "no model: download the model or import a GGUF file");
    if (this.state.status !== "ready" && this.state.status !== "generating") {
      return reject("model_not_loaded", "the model is not loaded");
    }
    return null;
  }

  /** context_length_exceeded {tokens, limit} for a message that cannot fit, or null. */
  private tooLong(text: string): Promise<never> | null {
    const tokens = fakeTokens(text);
    const limit = this.draftLimit();
    if (tokens <= limit) return null;
    return reject(
      "context_length_exceeded",
      `the message is ${tokens} tokens; at most ${limit} fit with the system prompt and room for an answer`,
      { tokens, limit },
    );
  }

  private startReply(c: Conversation): void {
    const r = this.autoReply;
    if (!r) return;
    const userText = [...c.messages].reverse().find((m) => m.role === "user")?.content ?? "";
    const full = r.text ? r.text(userText) : SAMPLE_ANSWER;
    const chunk = r.chunk ?? 12;
    const interval = r.intervalMs ?? 30;
    const msg: Message = {
      id: this.id("m"),
      conversationId: c.id,
      role: "assistant",
      content: "",
      createdAt: new Date().toISOString(),
      status: "streaming",
    };
    c.messages.push(msg);
    this.setState({ status: "generating", generatingConversationId: c.id });
    this.emit("chat:start", { conversationId: c.id, messageId: msg.id });
    if (r.error) {
      const error = r.error;
      const cancel = this.later(r.ttftMs ?? 240, () => {
        this.generation = null;
        msg.status = "error";
        this.emit("chat:error", { conversationId: c.id, messageId: msg.id, error });
        this.touch(c);
        this.setState({ status: "ready", generatingConversationId: undefined });
      });
      this.generation = {
        conversationId: c.id,
        messageId: msg.id,
        text: "",
        cancel: () => {
          cancel();
          this.generation = null;
          msg.status = "cancelled";
          const stats = { ...zeroStats(), finishReason: "cancelled" as const };
          this.emit("chat:done", { conversationId: c.id, messageId: msg.id, content: "", stats, status: "cancelled" });
          this.setState({ status: "ready", generatingConversationId: undefined });
        },
      };
      return;
    }
    let pos = 0;
    let seq = 0;
    let cancelTimer = () => {};
    const started = Date.now();
    const finish = (status: "done" | "cancelled") => {
      cancelTimer();
      this.generation = null;
      const completionTokens = Math.max(1, Math.round(msg.content.length / 4));
      const stats: GenStats = {
        promptTokens: 180,
        cachedTokens: 0,
        prefillTokens: 180,
        completionTokens,
        ttftMs: r.ttftMs ?? 240,
        prefillTps: 310,
        decodeTps: 27.4,
        finishReason: status === "cancelled" ? "cancelled" : "stop",
        droppedMessages: r.droppedMessages ?? 0,
        contextUsed: 180 + completionTokens,
        contextSize: 4096,
      };
      msg.status = status;
      msg.stats = stats;
      this.emit("chat:done", { conversationId: c.id, messageId: msg.id, content: msg.content, stats, status });
      this.touch(c);
      this.setState({
        status: "ready",
        generatingConversationId: undefined,
        lastStats: stats,
        contextUsed: stats.contextUsed,
      });
      void started;
    };
    const step = () => {
      for (let i = 0; i < (r.burst ?? 1) && pos < full.length; i++) {
        const text = full.slice(pos, pos + chunk);
        pos += text.length;
        msg.content += text;
        this.emit("chat:delta", { conversationId: c.id, messageId: msg.id, seq: seq++, text });
      }
      if (pos >= full.length) finish("done");
      else cancelTimer = this.later(interval, step);
    };
    cancelTimer = this.later(r.ttftMs ?? 240, step);
    this.generation = { conversationId: c.id, messageId: msg.id, text: full, cancel: () => finish("cancelled") };
  }

  private makeApp(): Record<string, Method> {
    const m: Record<string, (...args: never[]) => unknown> = {
      GetState: () => clone(this.state),
      GetSettings: () => clone(this.settings),
      SaveSettings: (s: Settings) => {
        // Like Go: the settings are saved even when the server cannot start.
        this.settings = clone(s);
        if (!s.serverEnabled) {
          this.setState({ serverUrl: undefined, serverError: undefined });
          return;
        }
        if (this.busyPorts.has(s.serverPort)) {
          let free = s.serverPort + 1;
          while (this.busyPorts.has(free)) free++;
          const params = { port: s.serverPort, suggestedPort: free };
          const message = `listen tcp 127.0.0.1:${s.serverPort}: bind: address already in use`;
          this.setState({ serverUrl: undefined, serverError: { code: "port_in_use", params, message } });
          return reject("port_in_use", message, params);
        }
        this.setState({ serverUrl: `http://127.0.0.1:${s.serverPort}`, serverError: undefined });
      },
      DefaultSystemPrompt: (lang: string) => defaultPrompt(lang),
      StartDownload: () => {
        const d = this.state.download;
        this.setState({
          status: "downloading",
          download: {
            modelId: "bitnet-b1.58-2b4t",
            state: "running",
            bytesDone: d?.state === "paused" ? d.bytesDone : 0,
            bytesTotal: 1_187_801_280,
            bytesPerSecond: 0,
            etaSeconds: 0,
            attempt: 1,
          },
        });
      },
      PauseDownload: () => {
        if (this.state.download) this.setState({ download: { ...this.state.download, state: "paused", bytesPerSecond: 0 } });
      },
      CancelDownload: () => {
        this.setState({ status: "not_installed", download: undefined });
      },
      ChooseModelFile: () => {
        if (this.chooseResult) this.setState({ status: "converting", loadFraction: 0 });
        return this.chooseResult;
      },
      ImportModel: (path: string) => {
        if (!/\.gguf$/i.test(path)) return reject("invalid_model", `${path}: not a GGUF file`);
        this.setState({ status: "converting", loadFraction: 0 });
      },
      LoadModel: () => {
        this.setState({ status: "ready", error: undefined, loadFraction: 1 });
      },
      UnloadModel: () => {
        this.setState({ status: "not_installed", memoryBytes: 180_000_000 });
      },
      ListConversations: (query: string) => {
        const q = query.trim().toLowerCase();
        return [...this.conversations.values()]
          .filter(
            (c) =>
              !q ||
              c.title.toLowerCase().includes(q) ||
              c.messages.some((msg) => msg.content.toLowerCase().includes(q)),
          )
          .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
          .map((c) => this.summary(c));
      },
      CreateConversation: () => {
        const c: Conversation = {
          id: this.id("c"),
          title: "",
          updatedAt: new Date(Date.now() + this.seq).toISOString(),
          preview: "",
          messages: [],
        };
        this.conversations.set(c.id, c);
        this.emit("conversations:changed", {});
        return clone(c);
      },
      GetConversation: (id: string) => {
        const c = this.conversations.get(id);
        if (!c) return reject("not_found", `conversation ${id} not found`);
        return clone(c);
      },
      RenameConversation: (id: string, title: string) => {
        const c = this.conversations.get(id);
        if (!c) return reject("not_found", `conversation ${id} not found`);
        c.title = title;
        this.touch(c);
      },
      DeleteConversation: (id: string) => {
        this.conversations.delete(id);
        this.emit("conversations:changed", {});
      },
      ExportConversation: (id: string, format: string) => {
        const c = this.conversations.get(id);
        if (!c) return reject("not_found", `conversation ${id} not found`);
        return `/home/user/Documents/${c.title || "chat"}.${format === "json" ? "json" : "md"}`;
      },
      CountDraft: (conversationId: string, text: string) => {
        if (conversationId && !this.conversations.has(conversationId)) {
          return reject("not_found", `conversation ${conversationId} not found`);
        }
        const refused = this.modelError();
        if (refused) return refused;
        const contextSize = this.state.model?.contextSize || this.state.contextSize;
        return { tokens: fakeTokens(text), limit: this.draftLimit(), contextSize };
      },
      // Like Go: the longest prefix (whole characters, trailing spaces trimmed) that fits with the
      // marker, followed by the marker; the text itself when it fits.
      TruncateDraft: (_conversationId: string, text: string, marker: string) => {
        const refused = this.modelError();
        if (refused) return refused;
        const chars = [...text];
        const limit = this.draftLimit();
        if (fakeTokens(text) <= limit) return text;
        // the longest prefix (whole characters) that fits with the marker
        let lo = 0;
        let hi = chars.length;
        while (lo < hi) {
          const mid = Math.ceil((lo + hi) / 2);
          if (fakeTokens(chars.slice(0, mid).join("") + marker) <= limit) lo = mid;
          else hi = mid - 1;
        }
        return chars.slice(0, lo).join("").trimEnd() + marker;
      },
      SendMessage: (conversationId: string, text: string) => {
        const c = this.conversations.get(conversationId);
        if (!c) return reject("not_found", `conversation ${conversationId} not found`);
        if (!text.trim()) return reject("invalid_request", "the message is empty");
        // As in Go: the size is checked first, before anything is stored or emitted.
        const refused = this.modelError() ?? this.tooLong(text);
        if (refused) return refused;
        if (this.generation) {
          return reject("busy", "an answer is being generated", { conversationId: this.generation.conversationId });
        }
        const msg: Message = {
          id: this.id("m"),
          conversationId,
          role: "user",
          content: text,
          createdAt: new Date().toISOString(),
          status: "done",
        };
        c.messages.push(msg);
        if (!c.title) c.title = text.split("\n")[0]!.slice(0, 48);
        this.touch(c);
        this.startReply(c);
        this.afterSend?.(c, clone(msg));
        return clone(msg);
      },
      StopGeneration: () => {
        this.generation?.cancel();
      },
      Regenerate: (conversationId: string) => {
        const c = this.conversations.get(conversationId);
        if (!c) return reject("not_found", `conversation ${conversationId} not found`);
        if (c.messages[c.messages.length - 1]?.role === "assistant") c.messages.pop();
        this.startReply(c);
      },
      EditMessage: (conversationId: string, messageId: string, text: string) => {
        const c = this.conversations.get(conversationId);
        const i = c?.messages.findIndex((x) => x.id === messageId) ?? -1;
        if (!c || i < 0) return reject("not_found", "message not found");
        const refused = this.modelError() ?? this.tooLong(text);
        if (refused) return refused;
        c.messages = c.messages.slice(0, i + 1);
        c.messages[i] = { ...c.messages[i]!, content: text };
        this.touch(c);
        this.startReply(c);
      },
    };
    const out: Record<string, Method> = {};
    for (const [name, fn] of Object.entries(m)) {
      out[name] = ((...args: never[]) => {
        this.calls.push({ method: name, args });
        const f = this.failures.get(name);
        if (f) {
          this.failures.delete(name);
          return reject(f.code, f.message, f.params);
        }
        const run = () => {
          try {
            return Promise.resolve(fn(...args));
          } catch (e) {
            return Promise.reject(String(e));
          }
        };
        const delay = this.delays.get(name);
        if (!delay) return run();
        return new Promise((resolve) => this.later(delay, () => resolve(run())));
      }) as Method;
    }
    return out;
  }

  private makeRuntime(): Record<string, unknown> {
    const on = (name: string, cb: Listener, max: number) => {
      let left = max;
      const set = this.listeners.get(name) ?? new Set<Listener>();
      this.listeners.set(name, set);
      const wrapped: Listener = (...data) => {
        if (left === 0) return;
        if (left > 0 && --left === 0) set.delete(wrapped);
        cb(...data);
      };
      set.add(wrapped);
      return () => set.delete(wrapped);
    };
    const noop = () => {};
    return {
      EventsOnMultiple: on,
      EventsOff: (...names: string[]) => names.forEach((n) => this.listeners.delete(n)),
      EventsOffAll: () => this.listeners.clear(),
      EventsEmit: (name: string, ...data: unknown[]) =>
        [...(this.listeners.get(name) ?? [])].forEach((cb) => cb(...data)),
      OnFileDrop: (cb: (x: number, y: number, paths: string[]) => void) => {
        this.fileDrop = cb;
      },
      OnFileDropOff: () => {
        this.fileDrop = null;
      },
      BrowserOpenURL: (url: string) => this.openedUrls.push(url),
      ClipboardSetText: (text: string) => {
        this.clipboard = text;
        return Promise.resolve(true);
      },
      ClipboardGetText: () => Promise.resolve(this.clipboard),
      LogPrint: noop,
      LogTrace: noop,
      LogDebug: noop,
      LogInfo: noop,
      LogWarning: noop,
      LogError: noop,
      LogFatal: noop,
      WindowSetTitle: noop,
      Environment: () => Promise.resolve({ buildType: "dev", platform: "linux", arch: "amd64" }),
    };
  }
}

/** A conversation fixture. */
export function conversation(id: string, title: string, messages: Partial<Message>[] = [], updatedAt?: string): Conversation {
  return {
    id,
    title,
    updatedAt: updatedAt ?? new Date(Date.UTC(2025, 0, 1)).toISOString(),
    preview: "",
    messages: messages.map((m, i) => ({
      id: m.id ?? `${id}-m${i}`,
      conversationId: id,
      role: m.role ?? (i % 2 === 0 ? "user" : "assistant"),
      content: m.content ?? "",
      createdAt: m.createdAt ?? new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(),
      status: m.status ?? "done",
      stats: m.stats,
    })),
  };
}

function zeroStats(): GenStats {
  return {
    promptTokens: 0,
    cachedTokens: 0,
    prefillTokens: 0,
    completionTokens: 0,
    ttftMs: 0,
    prefillTps: 0,
    decodeTps: 0,
    finishReason: "stop",
    droppedMessages: 0,
    contextUsed: 0,
    contextSize: 0,
  };
}

export function stats(p: Partial<GenStats> = {}): GenStats {
  return {
    promptTokens: 120,
    cachedTokens: 0,
    prefillTokens: 120,
    completionTokens: 64,
    ttftMs: 350,
    prefillTps: 300,
    decodeTps: 25.3,
    finishReason: "stop",
    droppedMessages: 0,
    contextUsed: 184,
    contextSize: 4096,
    ...p,
  };
}
