// Types of the Go <-> front end contract (docs/app-bindings.md). All JSON is camelCase.

export type ModelStatus =
  | "not_installed"
  | "downloading"
  | "verifying"
  | "converting"
  | "loading"
  | "ready"
  | "generating"
  | "error";

export type AppError = { code: string; params?: Record<string, unknown>; message: string };

export type DownloadState = "idle" | "running" | "paused" | "verifying" | "done" | "failed" | "cancelled";

export type DownloadProgress = {
  state: DownloadState;
  bytesDone: number;
  bytesTotal: number;
  bytesPerSecond: number;
  etaSeconds: number;
  attempt: number;
  error?: AppError;
};

export type ModelInfo = {
  name: string;
  path: string;
  runPath: string;
  architecture: string;
  parameters: number;
  contextSize: number;
  threads: number;
  weightType: string;
  embeddingType: string;
  /** What multiplies the ternary weights: "avx512-vnni", "avx-vnni", "avx2" or "ggml". */
  kernel: string;
  sizeBytes: number;
};

export type FinishReason = "stop" | "length" | "cancelled";

export type GenStats = {
  promptTokens: number;
  cachedTokens: number;
  prefillTokens: number;
  completionTokens: number;
  ttftMs: number;
  prefillTps: number;
  decodeTps: number;
  finishReason: FinishReason;
  droppedMessages: number;
  contextUsed: number;
  contextSize: number;
};

export type AppState = {
  status: ModelStatus;
  error?: AppError;
  model?: ModelInfo;
  download?: DownloadProgress;
  loadStage?: string;
  loadFraction: number;
  /** resident set size of the process */
  memoryBytes: number;
  threads: number;
  contextUsed: number;
  contextSize: number;
  lastStats?: GenStats;
  /** a model file exists in the data dir (or BITNET_MODEL_PATH) */
  modelPresent: boolean;
  version: string;
  serverUrl?: string;
  generatingConversationId?: string;
  /** increases with every snapshot: a state with a lower seq than one already applied is stale */
  seq?: number;
};

export type Theme = "light" | "dark" | "system";
export type LanguageSetting = "" | "en" | "es";

export type Settings = {
  systemPrompt: string;
  temperature: number;
  topP: number;
  topK: number;
  maxTokens: number;
  threads: number;
  theme: Theme;
  language: LanguageSetting;
  downloadUrl: string;
  serverEnabled: boolean;
  serverPort: number;
};

export type Role = "system" | "user" | "assistant";
export type MessageStatus = "done" | "streaming" | "cancelled" | "error";

export type Message = {
  id: string;
  conversationId: string;
  role: Role;
  content: string;
  /** RFC3339 */
  createdAt: string;
  stats?: GenStats;
  status: MessageStatus;
};

export type ConversationSummary = { id: string; title: string; updatedAt: string; preview: string };
export type Conversation = ConversationSummary & { messages: Message[] };

export type ExportFormat = "markdown" | "json";

// Event payloads.
export type ChatStartEvent = { conversationId: string; messageId: string };
export type ChatDeltaEvent = { conversationId: string; messageId: string; seq: number; text: string };
export type ChatDoneEvent = {
  conversationId: string;
  messageId: string;
  content: string;
  stats: GenStats;
  status: MessageStatus;
};
export type ChatErrorEvent = { conversationId: string; messageId: string; error: AppError };

export type EventMap = {
  state: AppState;
  "chat:start": ChatStartEvent;
  "chat:delta": ChatDeltaEvent;
  "chat:done": ChatDoneEvent;
  "chat:error": ChatErrorEvent;
  "conversations:changed": Record<string, never>;
};
export type EventName = keyof EventMap;
