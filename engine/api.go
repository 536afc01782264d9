// Package engine is the Go API that the desktop app, the OpenAI-compatible
// server and the CLI use to run BitNet b1.58 2B4T. The packages below it
// show the pipeline:
//
//	engine/gguf      reading, validating and writing GGUF files (pure Go)
//	engine/ternary   I2_S decoding and the exact re-encodings (TQ2_0, Q2_K, Q6_K, Q8_0)
//	engine/convert   official I2_S file -> a file ollama's ggml engine runs (cached)
//	engine/synth     synthetic models in the official format (tests, benchmarks)
//	engine/graph     the 2B4T graph registered on ollama's engine (cgo)
//	engine/chatfmt   the 2B4T chat format and context trimming
//	engine/sample    the sampler
//	engine/runner    generation: kv cache, prefix reuse, streaming, stats
//	engine/download  the model download manager
//
// This file holds only types shared by all of them and by the callers.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"` // "system", "user" or "assistant"
	Content string `json:"content"`
}

// Sampling controls how the next token is chosen.
// Temperature 0 means greedy and deterministic.
type Sampling struct {
	Temperature      float32 `json:"temperature"`
	TopK             int     `json:"top_k"`          // 0 = off
	TopP             float32 `json:"top_p"`          // 0 or 1 = off
	MinP             float32 `json:"min_p"`          // 0 = off
	RepeatPenalty    float32 `json:"repeat_penalty"` // 1 or 0 = off
	RepeatLastN      int     `json:"repeat_last_n"`  // window for the penalties; 0 = 64
	PresencePenalty  float32 `json:"presence_penalty"`
	FrequencyPenalty float32 `json:"frequency_penalty"`
	Seed             *int64  `json:"seed,omitempty"` // nil = random seed
}

// DefaultSampling is bitnet.cpp's wrapper defaults.
func DefaultSampling() Sampling {
	return Sampling{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.0}
}

// Request is one generation. Either Messages (chat format) or Prompt with
// Raw (BOS + the text, no chat format) is used.
type Request struct {
	Messages []Message `json:"messages,omitempty"`
	Prompt   string    `json:"prompt,omitempty"`
	Raw      bool      `json:"raw,omitempty"`
	// Tokens, when set, is the prompt as token ids (nothing is added: no BOS,
	// no chat format). Used by benchmarks and perplexity.
	Tokens    []int32  `json:"tokens,omitempty"`
	MaxTokens int      `json:"max_tokens,omitempty"` // 0 = until the context is full
	Stop      []string `json:"stop,omitempty"`
	Sampling  Sampling `json:"sampling"`
	// Wait makes a request that finds the model busy wait for its turn
	// (until ctx ends) instead of failing at once with ErrBusy.
	Wait bool `json:"wait,omitempty"`
	// NoTrim makes a conversation that does not fit the context an error
	// (context_length_exceeded) instead of dropping its oldest turns.
	NoTrim bool `json:"no_trim,omitempty"`
	// IgnoreEOS keeps generating past end-of-turn tokens (benchmarks).
	IgnoreEOS bool `json:"ignore_eos,omitempty"`
	// Format constrains the answer to JSON (structured outputs).
	Format Format `json:"format,omitzero"`
	// Logprobs asks for each generated token's log-probability, with the
	// TopLogprobs (0-20) most likely alternatives (Token.Logprob,
	// Result.Logprobs).
	Logprobs    bool `json:"logprobs,omitempty"`
	TopLogprobs int  `json:"top_logprobs,omitempty"`
}

// Format types.
const (
	FormatText       = ""            // no constraint
	FormatJSONObject = "json_object" // any JSON object
	FormatJSONSchema = "json_schema" // a JSON value valid against Format.Schema
)

// Format constrains an answer: sampling allows only the tokens that keep
// it a prefix of a valid JSON document (of Schema), and the answer ends
// when the value is complete.
type Format struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema,omitempty"`
}

// MaxTopLogprobs is the most alternatives a token's logprobs list.
const MaxTopLogprobs = 20

// TokenLogprob is a generated token's log-probability under the
// distribution it was sampled from (after the penalties and the
// temperature, 1 for greedy sampling; over the tokens a Format allowed),
// with the most likely alternatives.
type TokenLogprob struct {
	ID      int32        `json:"id"`
	Token   string       `json:"token"` // the token's bytes as text (may be part of a character)
	Bytes   []byte       `json:"bytes"`
	Logprob float64      `json:"logprob"`
	Top     []TopLogprob `json:"top_logprobs,omitempty"`
}

// TopLogprob is an alternative to a generated token.
type TopLogprob struct {
	ID      int32   `json:"id"`
	Token   string  `json:"token"`
	Bytes   []byte  `json:"bytes"`
	Logprob float64 `json:"logprob"`
}

// Token is one streamed piece of the answer. Text may be empty when a token
// ends inside a multi-byte character or could be the start of a stop string;
// the text is then delivered with a later token (the very last piece may
// come with ID -1: held-back text flushed at the end). Concatenating every Text
// gives exactly Result.Text.
type Token struct {
	ID   int32  `json:"id"`
	Text string `json:"text"`
	// Logprob is set when the request asked for logprobs (not for the
	// flushed tail, ID -1).
	Logprob *TokenLogprob `json:"logprob,omitempty"`
}

// Finish reasons.
const (
	FinishStop      = "stop"
	FinishLength    = "length"
	FinishCancelled = "cancelled"
)

// Stats describes one answer.
type Stats struct {
	PromptTokens     int           `json:"prompt_tokens"`     // tokens of the whole prompt (BOS included)
	CachedTokens     int           `json:"cached_tokens"`     // prompt tokens reused from the kv cache
	PrefillTokens    int           `json:"prefill_tokens"`    // prompt tokens actually computed
	CompletionTokens int           `json:"completion_tokens"` // generated, stop token excluded
	TTFT             time.Duration `json:"ttft"`              // request start to first generated token
	Prefill          time.Duration `json:"prefill"`
	Decode           time.Duration `json:"decode"`
	PrefillTPS       float64       `json:"prefill_tps"`
	DecodeTPS        float64       `json:"decode_tps"`
	FinishReason     string        `json:"finish_reason"`
	DroppedMessages  int           `json:"dropped_messages"` // oldest turns left out to fit the context
	ContextUsed      int           `json:"context_used"`     // tokens in the kv cache at the end
	ContextSize      int           `json:"context_size"`
}

// Result is a finished generation.
type Result struct {
	Text           string  `json:"text"`
	PromptTokenIDs []int32 `json:"prompt_token_ids"`
	TokenIDs       []int32 `json:"token_ids"`
	Stats          Stats   `json:"stats"`
	// Logprobs has one entry per generated token, when asked for.
	Logprobs []TokenLogprob `json:"logprobs,omitempty"`
}

// ModelInfo describes a loaded model.
type ModelInfo struct {
	Name          string `json:"name"`           // file name without directory
	Path          string `json:"path"`           // the file the user gave
	RunPath       string `json:"run_path"`       // the converted file that runs
	Architecture  string `json:"architecture"`   // bitnet-b1.58 or bitnet-25
	Parameters    int64  `json:"parameters"`     // number of weights
	ContextSize   int    `json:"context_size"`   // tokens
	Threads       int    `json:"threads"`        // compute threads
	WeightType    string `json:"weight_type"`    // tq2_0 or q2_k
	EmbeddingType string `json:"embedding_type"` // q6_k, q8_0 or f16
	SizeBytes     int64  `json:"size_bytes"`     // size of the running file
	// Family is the graph (bitnet-b1.58, bitnet or llama); Chat tells
	// whether the model has a chat format (else it is a base model that
	// completes text: chat requests fail with not_a_chat_model).
	Family string `json:"family"`
	Chat   bool   `json:"chat"`
	// Kernel is what multiplies the ternary weights: "avx512-vnni",
	// "avx-vnni", "avx2" (x86-64), "neon-dotprod" or "neon" (arm64) (the
	// project's ternary kernels) or "ggml" (ggml's mul_mat).
	Kernel string `json:"kernel"`
	// KVCache is the kv cache's type: "f16" or "q8_0".
	KVCache string `json:"kv_cache"`
}

// KVCacheBytes is the memory a kv cache of kvCache's type ("q8_0", else
// f16) takes for tokens tokens of a model with blocks layers of kvHeads kv
// heads of headDim values: keys and values, 2 bytes a value in f16, 34
// bytes per 32 values in q8_0.
func KVCacheBytes(blocks, kvHeads, headDim, tokens int, kvCache string) int64 {
	values := int64(2*blocks*kvHeads*headDim) * int64(tokens)
	if kvCache == "q8_0" {
		return values / 32 * 34
	}
	return values * 2
}

// Measure is how a chat request fits the context (Model.Measure): the
// desktop app counts a draft with it and refuses a message that cannot fit
// before storing it.
type Measure struct {
	// MessageTokens is the number of tokens of the last message's text.
	MessageTokens int `json:"message_tokens"`
	// MessageLimit is the most tokens the last message may have: the
	// context less the system prompt, the chat format around the message
	// and room for an answer (AnswerRoom). Older turns do not count: they
	// are dropped as needed.
	MessageLimit int `json:"message_limit"`
	// PromptTokens is the prompt as it would be sent, with DroppedMessages
	// older messages left out to fit; 0 when the message is over its limit.
	PromptTokens    int `json:"prompt_tokens"`
	DroppedMessages int `json:"dropped_messages"`
	ContextSize     int `json:"context_size"`
}

// AnswerRoom is the room Measure keeps for an answer in a context of
// ctxSize tokens when the request asks for up to maxTokens (0 = no
// limit): an eighth of the context, or maxTokens if smaller.
func AnswerRoom(ctxSize, maxTokens int) int {
	room := ctxSize / 8
	if maxTokens > 0 && maxTokens < room {
		room = maxTokens
	}
	return room
}

// Stages of loading, in order.
const (
	StageValidating = "validating"
	StageConverting = "converting"
	StageLoading    = "loading"
	StageReady      = "ready"
)

// Progress reports loading progress. Fraction is 0..1 within Stage.
type Progress struct {
	Stage    string  `json:"stage"`
	Fraction float64 `json:"fraction"`
}

// LoadOptions configures Load.
type LoadOptions struct {
	Threads     int    // 0 = a sensible default
	ContextSize int    // 0 = the model's (4096)
	Embedding   string // "q6_k" (default), "q8_0" or "f16"
	Weights     string // "tq2_0" (default) or "q2_k"
	CacheDir    string // where converted files are kept; "" = next to the model
	// FlashAttention uses ggml's fused attention kernel (needed for a
	// quantized kv cache).
	FlashAttention bool
	KVCacheType    string // "f16" (default) or "q8_0" (half the memory; ggml reads it with flash attention)
	// Kernel picks the ternary matrix multiplication: "" or "auto" (the
	// project's kernels at the best level the CPU has), "avx2", "avxvnni",
	// "avx512" (x86-64), "neon", "neon-dotprod" (arm64) or "ggml" (ggml's
	// own mul_mat, the baseline). A level the CPU lacks is refused.
	Kernel   string
	Progress func(Progress)
}

// DefaultThreads is the number of compute threads for a machine with
// numCPU logical CPUs: all of them on one or two (leaving one of two free
// would nearly halve the speed, and streaming tokens to a window needs
// little CPU), one fewer beyond that so the UI stays responsive.
func DefaultThreads(numCPU int) int {
	if numCPU <= 2 {
		return max(1, numCPU)
	}
	return numCPU - 1
}

// Model is a loaded model. It runs one generation at a time; a second
// caller gets ErrBusy (or waits, with Request.Wait). All methods are safe
// for concurrent use.
type Model interface {
	Info() ModelInfo
	// Generate runs req, calling onToken (which may be nil) for every
	// generated token, in order, from the calling goroutine. Cancelling ctx
	// ends the generation within one token; the Result then has
	// FinishReason "cancelled" and the partial text, and err is nil.
	Generate(ctx context.Context, req Request, onToken func(Token)) (Result, error)
	// Measure tells how the chat request req (its last message a user
	// message) fits the context, without generating: see Measure.
	Measure(req Request) (Measure, error)
	// Tokenize and Detokenize use the model's tokenizer.
	Tokenize(text string, addBOS bool) ([]int32, error)
	Detokenize(ids []int32) (string, error)
	// Close frees the model. It waits for a running generation to end.
	Close() error
}

// Error codes: stable strings the UI translates and the API maps to HTTP.
const (
	CodeBusy            = "busy"
	CodeContextExceeded = "context_length_exceeded"
	CodeInvalidModel    = "invalid_model"
	CodeInvalidRequest  = "invalid_request"
	CodeNotLoaded       = "model_not_loaded"
	CodeNotChat         = "not_a_chat_model" // chat messages to a base model (no chat template)
	CodeCPUUnsupported  = "cpu_unsupported"
	CodeIO              = "io_error"
	CodeDiskFull        = "disk_full"
	CodeDownload        = "download_failed"
	CodeChecksum        = "checksum_mismatch"
	// Network failures of a download, by cause (params: "host", "status").
	CodeNoConnection      = "no_connection"      // DNS lookup failed, network unreachable
	CodeConnectionRefused = "connection_refused" // nothing listens at the server's address
	CodeTimeout           = "timeout"            // no answer or no data in time
	CodeHTTP              = "http_error"         // the server answered with an error status
	CodeTLS               = "tls_error"          // the secure connection failed (certificate, handshake)
	CodeCancelled         = "cancelled"
	CodeInternal          = "internal"
)

// Error is an error with a stable code and parameters, so that callers can
// show it translated or map it to a protocol error.
type Error struct {
	Code   string         `json:"code"`
	Params map[string]any `json:"params,omitempty"`
	Msg    string         `json:"message"`
	Err    error          `json:"-"`
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrBusy) match any *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Msg == "" && t.Err == nil && t.Params == nil
}

// Errorf makes an *Error with the given code.
func Errorf(code string, params map[string]any, format string, args ...any) *Error {
	return &Error{Code: code, Params: params, Msg: fmt.Sprintf(format, args...)}
}

// Wrap makes an *Error with the given code around err.
func Wrap(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Err: err}
}

// Sentinels for errors.Is: they match any *Error with that code.
var (
	ErrBusy            = &Error{Code: CodeBusy}
	ErrContextExceeded = &Error{Code: CodeContextExceeded}
	ErrInvalidModel    = &Error{Code: CodeInvalidModel}
	ErrInvalidRequest  = &Error{Code: CodeInvalidRequest}
	ErrNotLoaded       = &Error{Code: CodeNotLoaded}
)

// CodeOf returns the code of err, or CodeInternal.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, context.Canceled) {
		return CodeCancelled
	}
	return CodeInternal
}
