package session

import (
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/download"
	"github.com/bitnet-desktop/bitnet-desktop/internal/chatstore"
)

// Model statuses (the contract's ModelStatus). "not_installed" means no
// model is loaded; AppState.ModelPresent tells whether a file exists.
const (
	StatusNotInstalled = "not_installed"
	StatusDownloading  = "downloading"
	StatusVerifying    = "verifying"
	StatusConverting   = "converting"
	StatusLoading      = "loading"
	StatusReady        = "ready"
	StatusGenerating   = "generating"
	StatusError        = "error"
)

// Desktop error codes (besides the engine's).
const (
	CodeNoModel      = "no_model"
	CodeNotFound     = chatstore.CodeNotFound
	CodeImportFailed = "import_failed"
	CodePortInUse    = "port_in_use" // params: port, suggestedPort (0: none found)
	// CodeNoMemory: the model needs more memory than the system has free
	// (params: needed, available, in bytes).
	CodeNoMemory = "insufficient_memory"
)

// Event names.
const (
	EventState                = "state"
	EventChatStart            = "chat:start"
	EventChatDelta            = "chat:delta"
	EventChatDone             = "chat:done"
	EventChatError            = "chat:error"
	EventConversationsChanged = "conversations:changed"
	EventModelsChanged        = "models:changed"
)

// AppState is the app's state as the front end shows it: GetState returns
// it and every "state" event carries it.
type AppState struct {
	Status       string              `json:"status" ts:"ModelStatus"`
	Error        *engine.Error       `json:"error,omitempty"`
	Model        *ModelInfo          `json:"model,omitempty"`
	Download     *DownloadProgress   `json:"download,omitempty"`
	LoadStage    string              `json:"loadStage,omitempty"`
	LoadFraction float64             `json:"loadFraction"`
	MemoryBytes  int64               `json:"memoryBytes"` // resident set size of the process
	Threads      int                 `json:"threads"`
	ContextUsed  int                 `json:"contextUsed"`
	ContextSize  int                 `json:"contextSize"`
	LastStats    *chatstore.GenStats `json:"lastStats,omitempty"`
	ModelPresent bool                `json:"modelPresent"` // a model file exists (data folder or BITNET_MODEL_PATH)
	Version      string              `json:"version"`
	ServerURL    string              `json:"serverUrl,omitempty"`
	// ServerError is why the API server is not running although the
	// settings enable it (a port in use: code port_in_use).
	ServerError              *engine.Error `json:"serverError,omitempty"`
	GeneratingConversationID string        `json:"generatingConversationId,omitempty"`
	// Seq increases with every snapshot, so that the front end can drop a
	// state older than one it already has: Wails' dev server sends each
	// event from its own goroutine, and they can arrive out of order.
	Seq uint64 `json:"seq"`
}

// DownloadProgress is the model download's progress. In state
// "verifying", BytesDone counts the bytes hashed so far. BytesTotal is 0
// when unknown.
type DownloadProgress struct {
	ModelID        string  `json:"modelId"` // the catalog id of the model being downloaded
	State          string  `json:"state" ts:"DownloadState"`
	BytesDone      int64   `json:"bytesDone"`
	BytesTotal     int64   `json:"bytesTotal"`
	BytesPerSecond float64 `json:"bytesPerSecond"`
	ETASeconds     float64 `json:"etaSeconds"`
	Attempt        int     `json:"attempt"`
	// Error is why the download failed or, while it retries, why the last
	// attempt failed.
	Error *engine.Error `json:"error,omitempty"`
	// RetryAt is when the next attempt starts (RFC 3339), while waiting.
	RetryAt string `json:"retryAt,omitempty"`
}

// LibraryModel is a model of the library (ListModels): a catalog entry, an
// installed file, or both.
type LibraryModel struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Publisher   string `json:"publisher,omitempty"`
	Family      string `json:"family,omitempty"`
	Parameters  int64  `json:"parameters"`
	ContextSize int    `json:"contextSize"`
	Chat        bool   `json:"chat"` // false: a base model (completes text)
	License     string `json:"license,omitempty"`
	Page        string `json:"page,omitempty"` // the model's web page
	// SizeBytes is the installed file's size, else the catalog's
	// (approximate unless SizeExact).
	SizeBytes int64 `json:"sizeBytes"`
	SizeExact bool  `json:"sizeExact"`
	// RAMBytes estimates the memory it needs to run.
	RAMBytes     int64  `json:"ramBytes"`
	Installed    bool   `json:"installed"`
	Path         string `json:"path,omitempty"`
	External     bool   `json:"external"` // a file outside the models folder (BITNET_MODEL_PATH): not deletable here
	InCatalog    bool   `json:"inCatalog"`
	Downloadable bool   `json:"downloadable"` // the catalog has a download for it
	Verified     bool   `json:"verified"`     // the download is checked against a published SHA-256
	Active       bool   `json:"active"`       // the model the app uses
	Loaded       bool   `json:"loaded"`
}

// DraftCount is how a draft message fits the context (CountDraft).
type DraftCount struct {
	Tokens      int `json:"tokens"`      // tokens of the draft
	Limit       int `json:"limit"`       // the most tokens a message may have
	ContextSize int `json:"contextSize"` // the model's context
}

// ModelInfo describes the loaded model.
type ModelInfo struct {
	ID            string `json:"id"`          // its library id
	DisplayName   string `json:"displayName"` // the catalog's name, else the file's
	Family        string `json:"family"`      // bitnet-b1.58, bitnet or llama
	Chat          bool   `json:"chat"`        // false: a base model, which completes text
	Name          string `json:"name"`
	Path          string `json:"path"`
	RunPath       string `json:"runPath"`
	Architecture  string `json:"architecture"`
	Parameters    int64  `json:"parameters"`
	ContextSize   int    `json:"contextSize"`
	Threads       int    `json:"threads"`
	WeightType    string `json:"weightType"`
	EmbeddingType string `json:"embeddingType"`
	Kernel        string `json:"kernel"` // what multiplies the ternary weights: "avx512-vnni", "avx512-vnni-1.6bit", "avx-vnni", "avx2", "neon-dotprod", "neon" or "ggml"
	KVCache       string `json:"kvCache" ts:"KVCacheSetting"`
	SizeBytes     int64  `json:"sizeBytes"`
}

// ChatStart is the payload of "chat:start".
type ChatStart struct {
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
	ModelID        string `json:"modelId"` // the model that writes the answer
	Model          string `json:"model"`   // its display name
}

// ChatDelta is the payload of "chat:delta".
type ChatDelta struct {
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
	Seq            int    `json:"seq"`
	Text           string `json:"text"`
}

// ChatDone is the payload of "chat:done".
type ChatDone struct {
	ConversationID string             `json:"conversationId"`
	MessageID      string             `json:"messageId"`
	Content        string             `json:"content"`
	Stats          chatstore.GenStats `json:"stats"`
	Status         string             `json:"status" ts:"MessageStatus"`
}

// ChatError is the payload of "chat:error".
type ChatError struct {
	ConversationID string        `json:"conversationId"`
	MessageID      string        `json:"messageId"`
	Error          *engine.Error `json:"error"`
}

func modelInfo(i engine.ModelInfo, id, displayName string) *ModelInfo {
	return &ModelInfo{
		ID: id, DisplayName: displayName, Family: i.Family, Chat: i.Chat,
		Name: i.Name, Path: i.Path, RunPath: i.RunPath, Architecture: i.Architecture,
		Parameters: i.Parameters, ContextSize: i.ContextSize, Threads: i.Threads,
		WeightType: i.WeightType, EmbeddingType: i.EmbeddingType, Kernel: i.Kernel, KVCache: i.KVCache, SizeBytes: i.SizeBytes,
	}
}

func genStats(s engine.Stats) chatstore.GenStats {
	return chatstore.GenStats{
		PromptTokens:     s.PromptTokens,
		CachedTokens:     s.CachedTokens,
		PrefillTokens:    s.PrefillTokens,
		CompletionTokens: s.CompletionTokens,
		TTFTMs:           float64(s.TTFT.Microseconds()) / 1000,
		PrefillTPS:       s.PrefillTPS,
		DecodeTPS:        s.DecodeTPS,
		FinishReason:     s.FinishReason,
		DroppedMessages:  s.DroppedMessages,
		ContextUsed:      s.ContextUsed,
		ContextSize:      s.ContextSize,
	}
}

func downloadProgress(modelID string, p download.Progress) *DownloadProgress {
	d := &DownloadProgress{
		ModelID: modelID, State: string(p.State), BytesDone: p.BytesDone, BytesTotal: max(p.BytesTotal, 0),
		BytesPerSecond: p.BytesPerSecond, ETASeconds: p.ETASeconds, Attempt: p.Attempt,
	}
	if p.Err != nil {
		d.Error = appError(p.Err)
	}
	if !p.RetryAt.IsZero() {
		d.RetryAt = p.RetryAt.UTC().Format(time.RFC3339Nano)
	}
	return d
}
