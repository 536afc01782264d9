// An in-memory stand-in for the Go side: installs window.go.main.App and window.runtime exactly
// where the Wails-generated wailsjs files look for them. Used by the unit tests and by the
// screenshot harness (e2e/). Never imported by the app itself, so it is not in the production bundle.
import type {
  AppError,
  AppState,
  Conversation,
  ConversationSummary,
  DownloadProgress,
  EventMap,
  EventName,
  GenStats,
  KVCacheSetting,
  LibraryModel,
  Message,
  ModelInfo,
  ModelStatus,
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
  library?: FakeLibraryOptions;
};

export type FakeLibraryOptions = {
  /** installed model files: catalog ids or files (default: the state's model when a file is present) */
  installed?: (string | FakeModelFile)[];
  /** the active model's id (default: the state's model, else the newest installed one) */
  active?: string;
  /** bytes of free memory (default: plenty): loading a model that needs more fails with insufficient_memory */
  memAvailable?: number;
  /** ms a load (SelectModel, a finished download) takes; default 20 */
  loadMs?: number;
};

/** An installed model file. A catalog id takes the catalog's figures; the rest describes other files. */
export type FakeModelFile = {
  id: string;
  /** the catalog's name, else the file's */
  name?: string;
  path?: string;
  sizeBytes?: number;
  ramBytes?: number;
  family?: string;
  parameters?: number;
  contextSize?: number;
  chat?: boolean;
  /** a BITNET_MODEL_PATH file outside the models folder: DeleteModel refuses it */
  outside?: boolean;
};

type InstalledFile = Required<Omit<FakeModelFile, "outside">> & { outside: boolean; inCatalog: boolean };

/** A catalog entry as engine/catalog/catalog.go has it (keep in step with Go). */
export type FakeCatalogEntry = {
  id: string;
  name: string;
  publisher: string;
  family: string;
  parameters: number;
  context: number;
  chat: boolean;
  license: string;
  /** "" = no download the app knows: the user gets the file from the page and imports it */
  url: string;
  page: string;
  fileName: string;
  sizeBytes: number;
  sizeExact: boolean;
  /** a published SHA-256 checks the download */
  verified: boolean;
  layers: number;
  kvHeads: number;
  headDim: number;
};

export const BITNET_2B4T = "bitnet-b1.58-2b4t";
export const MODELS_DIR = "/home/user/.local/share/bitnet-desktop/models";
const GB = 1_000_000_000;
const HF_TII = "https://huggingface.co/tiiuae/";
const FALCON_LICENSE = "TII Falcon License 2.0";
/** Go's session.AppContext: the most context the app gives a model. */
const APP_CONTEXT = 8192;

/** engine/catalog/catalog.go's entries, in its order (the fake's ListModels shows them as Go does). */
export const FAKE_CATALOG: readonly FakeCatalogEntry[] = [
  { id: BITNET_2B4T, name: "BitNet b1.58 2B4T", publisher: "Microsoft", family: "bitnet-b1.58", parameters: 2_410_000_000,
    context: 4096, chat: true, license: "MIT", url: "https://huggingface.co/microsoft/bitnet-b1.58-2B-4T-gguf/resolve/main/ggml-model-i2_s.gguf",
    page: "https://huggingface.co/microsoft/bitnet-b1.58-2B-4T-gguf", fileName: "ggml-model-i2_s.gguf", sizeBytes: 1_187_801_280,
    sizeExact: true, verified: true, layers: 30, kvHeads: 5, headDim: 128 },
  { id: "falcon3-1b-instruct-1.58bit", name: "Falcon3 1B Instruct 1.58-bit", publisher: "TII", family: "llama", parameters: 1_670_000_000,
    context: 8192, chat: true, license: FALCON_LICENSE, url: `${HF_TII}Falcon3-1B-Instruct-1.58bit-GGUF/resolve/main/ggml-model-i2_s.gguf`,
    page: `${HF_TII}Falcon3-1B-Instruct-1.58bit-GGUF`, fileName: "ggml-model-i2_s.gguf", sizeBytes: 1.36 * GB, sizeExact: false,
    verified: true, layers: 18, kvHeads: 4, headDim: 256 },
  { id: "falcon3-3b-instruct-1.58bit", name: "Falcon3 3B Instruct 1.58-bit", publisher: "TII", family: "llama", parameters: 3_230_000_000,
    context: 8192, chat: true, license: FALCON_LICENSE, url: `${HF_TII}Falcon3-3B-Instruct-1.58bit-GGUF/resolve/main/ggml-model-i2_s.gguf`,
    page: `${HF_TII}Falcon3-3B-Instruct-1.58bit-GGUF`, fileName: "ggml-model-i2_s.gguf", sizeBytes: 2.22 * GB, sizeExact: false,
    verified: true, layers: 22, kvHeads: 4, headDim: 256 },
  { id: "falcon3-7b-instruct-1.58bit", name: "Falcon3 7B Instruct 1.58-bit", publisher: "TII", family: "llama", parameters: 7_460_000_000,
    context: 8192, chat: true, license: FALCON_LICENSE, url: `${HF_TII}Falcon3-7B-Instruct-1.58bit-GGUF/resolve/main/ggml-model-i2_s.gguf`,
    page: `${HF_TII}Falcon3-7B-Instruct-1.58bit-GGUF`, fileName: "ggml-model-i2_s.gguf", sizeBytes: 3.28 * GB, sizeExact: false,
    verified: true, layers: 28, kvHeads: 4, headDim: 256 },
  { id: "falcon-e-1b-instruct", name: "Falcon-E 1B Instruct", publisher: "TII", family: "llama", parameters: 1_000_000_000,
    context: 4096, chat: true, license: FALCON_LICENSE, url: `${HF_TII}Falcon-E-1B-Instruct-GGUF/resolve/main/ggml-model-i2_s.gguf`,
    page: `${HF_TII}Falcon-E-1B-Instruct-GGUF`, fileName: "ggml-model-i2_s.gguf", sizeBytes: 0.67 * GB, sizeExact: false,
    verified: false, layers: 24, kvHeads: 2, headDim: 128 },
  { id: "falcon-e-3b-instruct", name: "Falcon-E 3B Instruct", publisher: "TII", family: "llama", parameters: 3_000_000_000,
    context: 4096, chat: true, license: FALCON_LICENSE, url: `${HF_TII}Falcon-E-3B-Instruct-GGUF/resolve/main/ggml-model-i2_s.gguf`,
    page: `${HF_TII}Falcon-E-3B-Instruct-GGUF`, fileName: "ggml-model-i2_s.gguf", sizeBytes: 1.0 * GB, sizeExact: false,
    verified: false, layers: 32, kvHeads: 5, headDim: 128 },
  { id: "llama3-8b-1.58-100b-tokens", name: "Llama3 8B 1.58-bit (100B tokens)", publisher: "HF1BitLLM", family: "llama",
    parameters: 8_030_000_000, context: 8192, chat: false, license: "Llama 3 Community License", url: "",
    page: "https://huggingface.co/HF1BitLLM/Llama3-8B-1.58-100B-tokens", fileName: "llama3-8b-1.58.gguf", sizeBytes: 2.53 * GB,
    sizeExact: false, verified: false, layers: 32, kvHeads: 8, headDim: 128 },
  { id: "bitnet-b1.58-large", name: "BitNet b1.58 large (0.7B)", publisher: "1bitLLM", family: "bitnet", parameters: 729_000_000,
    context: 2048, chat: false, license: "MIT", url: "", page: "https://huggingface.co/1bitLLM/bitnet_b1_58-large",
    fileName: "bitnet_b1_58-large.gguf", sizeBytes: 0.27 * GB, sizeExact: false, verified: false, layers: 24, kvHeads: 16, headDim: 96 },
];

const catalogEntry = (id: string) => FAKE_CATALOG.find((e) => e.id.toLowerCase() === id.toLowerCase());

/** Go's estimate: the file, an f16 kv cache of the context (at most APP_CONTEXT) and 300 MiB. */
const ramEstimate = (sizeBytes: number, ctx: number, layers: number, kvHeads: number, headDim: number) =>
  sizeBytes + 2 * layers * kvHeads * headDim * 2 * Math.min(ctx, APP_CONTEXT) + 300 * 2 ** 20;

const basename = (p: string) => p.split(/[\\/]/).pop() ?? p;

/** Go's library.Slug: lower case, letters, digits, dots and dashes. */
const slug = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^\p{L}\p{N}.]+/gu, "-")
    .replace(/^[-.]+|[-.]+$/g, "") || "model";

function installedFile(spec: string | FakeModelFile): InstalledFile {
  const s: FakeModelFile = typeof spec === "string" ? { id: spec } : spec;
  const e = catalogEntry(s.id);
  const sizeBytes = s.sizeBytes ?? e?.sizeBytes ?? GB;
  const contextSize = s.contextSize ?? e?.context ?? 4096;
  return {
    id: e?.id ?? s.id,
    name: s.name ?? e?.name ?? s.id,
    path: s.path ?? (e ? `${MODELS_DIR}/${e.id}/${e.fileName}` : `${MODELS_DIR}/${s.id}.gguf`),
    sizeBytes,
    ramBytes: s.ramBytes ?? ramEstimate(sizeBytes, contextSize, e?.layers ?? 24, e?.kvHeads ?? 8, e?.headDim ?? 128),
    family: s.family ?? e?.family ?? "llama",
    parameters: s.parameters ?? e?.parameters ?? 0,
    contextSize,
    chat: s.chat ?? e?.chat ?? true,
    outside: !!s.outside,
    inCatalog: !!e,
  };
}

/** The ModelInfo Go reports for a loaded model (a catalog id, or a file). */
export function fakeModelInfo(spec: string | FakeModelFile, threads = 2, kvCache: KVCacheSetting = "f16"): ModelInfo {
  const f = installedFile(spec);
  const d = goDefaults.state.model;
  if (d && d.id === f.id && (typeof spec === "string" || !spec.path || spec.path === d.path)) return { ...clone(d), kvCache };
  return {
    id: f.id,
    displayName: f.name,
    family: f.family,
    chat: f.chat,
    name: basename(f.path),
    path: f.path,
    runPath: f.path,
    architecture: f.family,
    parameters: f.parameters,
    contextSize: Math.min(f.contextSize, APP_CONTEXT),
    threads,
    weightType: "i2_s",
    embeddingType: "f16",
    kernel: d?.kernel ?? "avx2",
    kvCache,
    sizeBytes: f.sizeBytes,
  };
}

/** The Go defaults (settings, a ready state with a model, the system prompts), written by a Go test
 *  so that the fake cannot drift from Go. */
export const goDefaults = goDefaultsJson as unknown as {
  settings: Settings;
  state: AppState;
  systemPrompts: Record<"en" | "es", string>;
  /** Go's catalog as ListModels lists it, nothing installed (FAKE_CATALOG must agree: a test checks). */
  catalog: LibraryModel[];
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
  /** methods whose next call waits for the test to release it (hold) */
  private gates = new Map<string, Promise<void>>();
  /** ports another program listens on: SaveSettings with the server on one of them fails */
  busyPorts = new Set<number>();
  /** the installed model files, oldest first (the model library) */
  installed = new Map<string, InstalledFile>();
  /** the active model's id ("" none) */
  activeId = "";
  /** bytes of free memory: a load needing more fails with insufficient_memory */
  memAvailable = Number.POSITIVE_INFINITY;
  /** ms a load takes */
  loadMs = 20;
  /**
   * Called by SendMessage after it stored the user message and started the answer, before it
   * resolves: a test can emit events that arrive before the promise resolves.
   */
  afterSend: ((c: Conversation, user: Message) => void) | null = null;

  private seq = 0;
  private loadToken = 0;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private generation: { conversationId: string; messageId: string; text: string; cancel: () => void } | null = null;

  readonly app: Record<string, Method>;
  readonly runtime: Record<string, unknown>;

  constructor(opts: FakeOptions = {}) {
    this.state = { ...defaultState(), ...opts.state };
    this.settings = { ...defaultSettings(), ...opts.settings };
    for (const c of opts.conversations ?? []) this.conversations.set(c.id, clone(c));
    this.autoReply = opts.autoReply ?? null;
    const lib = opts.library ?? {};
    const model = this.state.model;
    const files =
      lib.installed ??
      (this.state.modelPresent ? [model ? { id: model.id, path: model.path, sizeBytes: model.sizeBytes } : BITNET_2B4T] : []);
    for (const f of files) {
      const file = installedFile(f);
      this.installed.set(file.id, file);
    }
    this.activeId = lib.active ?? (model && this.installed.has(model.id) ? model.id : ([...this.installed.keys()].pop() ?? ""));
    if (lib.memAvailable !== undefined) this.memAvailable = lib.memAvailable;
    if (lib.loadMs !== undefined) this.loadMs = lib.loadMs;
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

  /**
   * The next call of `method` waits, doing nothing, until the returned function is called; then
   * it runs as usual (or fails, if `fail` was called meanwhile). A test controls exactly when Go
   * answers (no timing window to hit).
   */
  hold(method: string): () => void {
    let release!: () => void;
    this.gates.set(method, new Promise<void>((r) => (release = r)));
    return release;
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

  // ---- the model library (internal/session/library.go, download.go, model.go) ----

  /** A model is loaded (Go: s.model != nil). */
  private hasModel(): boolean {
    return this.state.status === "ready" || this.state.status === "generating";
  }

  /** A load or an import runs (Go: s.op != nil). */
  private busyLoading(): boolean {
    return this.state.status === "loading" || this.state.status === "converting";
  }

  /** Go's status when nothing runs: ready with a model, else the download's, the load error's, or not_installed. */
  /** Go's status with this download: an answer, a load or a loaded model come before the download. */
  private statusWith(download: DownloadProgress): ModelStatus {
    return this.hasModel() || this.busyLoading() ? this.state.status : this.restStatus(false, download);
  }

  private restStatus(hasModel: boolean, download = this.state.download): ModelStatus {
    if (hasModel) return "ready";
    if (download?.state === "running") return "downloading";
    if (download?.state === "verifying") return "verifying";
    if (this.state.error) return "error";
    return "not_installed";
  }

  /** The library as ListModels returns it: the catalog (installed or not), then the other files. */
  listModels(): LibraryModel[] {
    const loadedId = this.hasModel() ? this.state.model?.id : undefined;
    const fill = (lm: LibraryModel, f: InstalledFile) =>
      Object.assign(lm, {
        installed: true,
        path: f.path,
        sizeBytes: f.sizeBytes,
        sizeExact: true,
        ramBytes: f.ramBytes,
        active: f.id === this.activeId,
        loaded: f.id === loadedId,
      });
    const out: LibraryModel[] = FAKE_CATALOG.map((e) => {
      const lm: LibraryModel = {
        id: e.id,
        name: e.name,
        publisher: e.publisher,
        family: e.family,
        parameters: e.parameters,
        contextSize: e.context,
        chat: e.chat,
        license: e.license,
        page: e.page,
        sizeBytes: e.sizeBytes,
        sizeExact: e.sizeExact,
        ramBytes: ramEstimate(e.sizeBytes, e.context, e.layers, e.kvHeads, e.headDim),
        installed: false,
        inCatalog: true,
        downloadable: e.url !== "",
        verified: e.verified,
        external: false,
        active: false,
        loaded: false,
      };
      const f = this.installed.get(e.id);
      return f ? fill(lm, f) : lm;
    });
    // Go lists the other files newest first.
    for (const f of [...this.installed.values()].reverse()) {
      if (f.inCatalog) continue;
      out.push(
        fill(
          {
            id: f.id,
            name: f.name,
            family: f.family,
            parameters: f.parameters,
            contextSize: f.contextSize,
            chat: f.chat,
            sizeBytes: f.sizeBytes,
            sizeExact: true,
            ramBytes: f.ramBytes,
            installed: true,
            inCatalog: false,
            downloadable: false,
            verified: false,
            external: false,
            active: false,
            loaded: false,
          },
          f,
        ),
      );
    }
    return clone(out);
  }

  private findInstalled(id: string): InstalledFile | undefined {
    return [...this.installed.values()].find((f) => f.id.toLowerCase() === id.toLowerCase());
  }

  private setActive(id: string): void {
    this.activeId = id;
    this.settings = { ...this.settings, activeModel: id };
  }

  /**
   * Loads an installed model as Go does: the current model is unloaded first (a running answer is
   * stopped), then the memory check (insufficient_memory {needed, available}), then the model.
   */
  private load(id: string): void {
    const f = this.installed.get(id);
    if (!f) return;
    const token = ++this.loadToken;
    this.generation?.cancel();
    this.setState({
      status: "loading",
      model: undefined,
      error: undefined,
      loadStage: "validating",
      loadFraction: 0,
      contextUsed: 0,
      contextSize: 0,
      lastStats: undefined,
      modelPresent: true,
    });
    this.later(this.loadMs, () => {
      if (token !== this.loadToken) return;
      if (f.ramBytes > this.memAvailable) {
        const avail = this.memAvailable;
        const error: AppError = {
          code: "insufficient_memory",
          params: { needed: f.ramBytes, available: avail },
          message:
            `the model needs about ${(f.ramBytes / 1e9).toFixed(1)} GB of memory and ${(avail / 1e9).toFixed(1)} GB ` +
            "are free: close other programs or choose a smaller model",
        };
        this.state = { ...this.state, error };
        this.setState({ status: this.restStatus(false), loadStage: undefined, loadFraction: 0 });
        return;
      }
      const model = fakeModelInfo({ ...f }, this.settings.threads, this.settings.kvCache);
      this.emit("models:changed", {});
      this.setState({
        status: "ready",
        model,
        error: undefined,
        loadStage: undefined,
        loadFraction: 0,
        contextSize: model.contextSize,
        threads: model.threads,
      });
    });
  }

  /** Stops a load that runs (UnloadModel, DeleteModel). */
  private cancelLoad(): void {
    this.loadToken++;
  }

  /** DownloadModel / StartDownload: starts or resumes a catalog model's download. */
  private download(id: string): Promise<never> | void {
    const e = catalogEntry(id);
    if (!e) return reject("not_found", `no model "${id}" in the catalog`, { id });
    if (e.id !== BITNET_2B4T && !e.url) {
      return reject(
        "invalid_request",
        `${e.name} has no download the app knows: get its GGUF file from ${e.page} and import it`,
        { id: e.id, page: e.page },
      );
    }
    const d = this.state.download;
    if (d && (d.state === "running" || d.state === "verifying")) {
      if (d.modelId === e.id) return;
      return reject("busy", "a download of another model is running", { modelId: d.modelId });
    }
    const resumed = d?.modelId === e.id && (d.state === "paused" || d.state === "failed") ? d.bytesDone : 0;
    const download: DownloadProgress = {
      modelId: e.id,
      state: "running",
      bytesDone: resumed,
      bytesTotal: e.sizeBytes,
      bytesPerSecond: 0,
      etaSeconds: 0,
      attempt: 1,
    };
    this.setState({ status: this.statusWith(download), download });
  }

  /** The running download got bytes (tests and the screenshot harness drive it). */
  progressDownload(bytesDone: number, patch: Partial<DownloadProgress> = {}): void {
    const d = this.state.download;
    if (!d) return;
    this.setState({ download: { ...d, bytesDone, ...patch } });
  }

  /** The running download failed (Go keeps the partial file: DownloadModel resumes it). */
  failDownload(error: AppError): void {
    const d = this.state.download;
    if (!d) return;
    const download: DownloadProgress = { ...d, state: "failed", error, bytesPerSecond: 0, etaSeconds: 0, retryAt: undefined };
    this.setState({ download, status: this.statusWith(download) });
  }

  /**
   * The running download completed: the model is installed; when no model is loaded it becomes the
   * active one and loads (Go's downloadFinished).
   */
  finishDownload(): void {
    const d = this.state.download;
    if (!d) return;
    const e = catalogEntry(d.modelId);
    const file = installedFile(e?.id ?? d.modelId);
    this.installed.set(file.id, file);
    const load = !this.hasModel() && !this.busyLoading();
    const activeGone = !this.installed.has(this.activeId);
    const download: DownloadProgress = { ...d, state: "done", bytesDone: d.bytesTotal, bytesPerSecond: 0, etaSeconds: 0, error: undefined };
    if (load || activeGone) this.setActive(file.id);
    this.emit("models:changed", {});
    if (load) {
      this.state = { ...this.state, download };
      this.load(file.id);
      return;
    }
    const status = this.statusWith(download);
    this.setState({ download, modelPresent: this.installed.has(this.activeId), status });
  }

  /** An imported file: copied into the models folder, the active model (Go's ImportModel). */
  private imported(path: string): void {
    const name = basename(path).replace(/\.gguf$/i, "");
    const file = installedFile({ id: slug(name), name, path: `${MODELS_DIR}/${basename(path)}` });
    this.installed.set(file.id, file);
    this.setActive(file.id);
    this.emit("models:changed", {});
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
    // Like Go's AddAnswer: the answer names the model that writes it.
    const model = this.state.model;
    if (model) Object.assign(msg, { modelId: model.id, model: model.displayName });
    c.messages.push(msg);
    this.setState({ status: "generating", generatingConversationId: c.id });
    this.emit("chat:start", { conversationId: c.id, messageId: msg.id, modelId: model?.id ?? "", model: model?.displayName ?? "" });
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
      // Go: the app's own model, or the download started last (resuming its partial file).
      StartDownload: () => {
        const d = this.state.download;
        return this.download(d && d.state !== "done" && d.state !== "cancelled" ? d.modelId : BITNET_2B4T);
      },
      DownloadModel: (id: string) => this.download(id),
      PauseDownload: () => {
        const d = this.state.download;
        if (!d || (d.state !== "running" && d.state !== "verifying")) return;
        const download: DownloadProgress = { ...d, state: "paused", bytesPerSecond: 0, etaSeconds: 0, retryAt: undefined };
        this.setState({ download, status: this.statusWith(download) });
      },
      CancelDownload: () => {
        const keep = this.hasModel() || this.busyLoading();
        this.setState({ download: undefined, status: keep ? this.state.status : this.restStatus(false, undefined) });
      },
      ChooseModelFile: () => {
        if (this.chooseResult) {
          this.imported(this.chooseResult);
          this.setState({ status: "converting", loadFraction: 0 });
        }
        return this.chooseResult;
      },
      ImportModel: (path: string) => {
        if (!/\.gguf$/i.test(path)) return reject("invalid_model", `${path}: not a GGUF file`);
        this.imported(path);
        this.setState({ status: "converting", loadFraction: 0 });
      },
      LoadModel: () => {
        if (!this.state.modelPresent) return reject("no_model", "no model file: download the model or import a GGUF file");
        const f = this.installed.get(this.activeId);
        const model = this.state.model ?? (f ? fakeModelInfo({ ...f }, this.settings.threads, this.settings.kvCache) : undefined);
        this.setState({ status: "ready", error: undefined, loadFraction: 1, model });
        this.emit("models:changed", {});
      },
      // Go: stops a running answer or load and frees the model.
      UnloadModel: () => {
        this.generation?.cancel();
        this.cancelLoad();
        this.setState({
          status: this.restStatus(false),
          model: undefined,
          loadStage: undefined,
          loadFraction: 0,
          contextUsed: 0,
          memoryBytes: 180_000_000,
        });
      },
      ListModels: () => this.listModels(),
      SelectModel: (id: string) => {
        const f = this.findInstalled(id);
        if (!f) return reject("not_found", `the model "${id}" is not installed`, { id });
        this.setActive(f.id);
        this.emit("models:changed", {});
        // Go's LoadModel: nothing to do while a load runs, or when that model is loaded already.
        if (this.busyLoading()) return;
        if (this.hasModel() && this.state.model?.id === f.id) return;
        this.load(f.id);
      },
      DeleteModel: (id: string) => {
        const f = this.findInstalled(id);
        if (!f) return reject("not_found", `the model "${id}" is not installed`, { id });
        if (f.outside) {
          return reject("invalid_request", `${f.path} is outside the models folder (BITNET_MODEL_PATH): delete it yourself`, {
            path: f.path,
          });
        }
        const loaded = this.hasModel() && this.state.model?.id === f.id;
        if (loaded) {
          this.generation?.cancel();
          this.cancelLoad();
        }
        this.installed.delete(f.id);
        const patch: Partial<AppState> = loaded ? { model: undefined, contextUsed: 0, lastStats: undefined } : {};
        if (this.activeId === f.id) {
          // Go: the newest remaining file becomes active (not loaded).
          this.setActive([...this.installed.keys()].pop() ?? "");
          patch.modelPresent = this.activeId !== "";
        }
        this.emit("models:changed", {});
        this.setState({ ...patch, status: loaded ? this.restStatus(false) : this.state.status });
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
        // (Not the id of a conversation the test started with: "c1" is a common one.)
        let id = this.id("c");
        while (this.conversations.has(id)) id = this.id("c");
        const c: Conversation = {
          id,
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
        // Go: the conversation's model is its latest answer's.
        const modelId = [...c.messages].reverse().find((m) => m.role === "assistant" && m.modelId)?.modelId;
        return clone(modelId ? { ...c, modelId } : c);
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
        const answer = (): Promise<unknown> => {
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
        };
        // A held call answers when released (with a failure set meanwhile, if any).
        const gate = this.gates.get(name);
        if (gate) {
          this.gates.delete(name);
          return gate.then(answer);
        }
        return answer();
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
      ...(m.modelId ? { modelId: m.modelId } : {}),
      ...(m.model ? { model: m.model } : {}),
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
