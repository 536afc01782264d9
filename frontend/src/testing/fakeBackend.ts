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
};

export type FakeOptions = {
  state?: Partial<AppState>;
  settings?: Partial<Settings>;
  conversations?: Conversation[];
  autoReply?: AutoReply | null;
};

export const defaultState = (): AppState => ({
  status: "ready",
  loadFraction: 1,
  memoryBytes: 1_412_000_000,
  threads: 4,
  contextUsed: 0,
  contextSize: 4096,
  modelPresent: true,
  version: "0.1.0",
  model: {
    name: "BitNet b1.58 2B4T",
    path: "/home/user/.local/share/bitnet-desktop/models/ggml-model-i2_s.gguf",
    runPath: "/home/user/.local/share/bitnet-desktop/models/ggml-model-i2_s.gguf",
    architecture: "bitnet-b1.58",
    parameters: 2_410_000_000,
    contextSize: 4096,
    threads: 4,
    weightType: "I2_S",
    embeddingType: "F16",
    kernel: "avx512-vnni",
    sizeBytes: 1_187_801_280,
  },
});

export const defaultSettings = (): Settings => ({
  systemPrompt: "You are BitNet, a helpful assistant running locally.",
  temperature: 0.7,
  topP: 0.9,
  topK: 40,
  maxTokens: 1024,
  threads: 4,
  theme: "system",
  language: "",
  downloadUrl: "",
  serverEnabled: false,
  serverPort: 8765,
});

export const DEFAULT_PROMPTS: Record<string, string> = {
  en: "You are BitNet, a helpful assistant. Answer clearly and concisely.",
  es: "Eres BitNet, un asistente útil. Responde de forma clara y concisa.",
};

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

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

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
        this.settings = clone(s);
      },
      DefaultSystemPrompt: (lang: string) => DEFAULT_PROMPTS[lang] ?? DEFAULT_PROMPTS.en,
      StartDownload: () => {
        const d = this.state.download;
        this.setState({
          status: "downloading",
          download: {
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
      SendMessage: (conversationId: string, text: string) => {
        const c = this.conversations.get(conversationId);
        if (!c) return reject("not_found", `conversation ${conversationId} not found`);
        if (this.generation) return reject("busy", "a generation is running");
        if (this.state.status !== "ready") return reject("model_not_loaded", "model not loaded");
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
        try {
          return Promise.resolve(fn(...args));
        } catch (e) {
          return Promise.reject(String(e));
        }
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
