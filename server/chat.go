package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// Response shapes of the Chat Completions API.

type completion struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"` // "chat.completion"
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   usage              `json:"usage"`
	Timings timings            `json:"timings"`
}

type completionChoice struct {
	Index        int            `json:"index"`
	Message      assistantReply `json:"message"`
	Logprobs     *chatLogprobs  `json:"logprobs"` // null unless asked for
	FinishReason string         `json:"finish_reason"`
}

type assistantReply struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"` // "chat.completion.chunk"
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	// Usage is omitted without include_usage; with it, it is null on every
	// chunk but the last, as OpenAI does.
	Usage   any      `json:"usage,omitempty"`
	Timings *timings `json:"timings,omitempty"`
}

type chunkChoice struct {
	Index        int           `json:"index"`
	Delta        delta         `json:"delta"`
	Logprobs     *chatLogprobs `json:"logprobs"` // null unless asked for
	FinishReason *string       `json:"finish_reason"`
}

type delta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type usage struct {
	PromptTokens        int          `json:"prompt_tokens"`
	CompletionTokens    int          `json:"completion_tokens"`
	TotalTokens         int          `json:"total_tokens"`
	PromptTokensDetails tokenDetails `json:"prompt_tokens_details"`
}

type tokenDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

// timings are llama.cpp's per-answer figures.
type timings struct {
	CacheN              int     `json:"cache_n"`
	PromptN             int     `json:"prompt_n"`
	PromptMS            float64 `json:"prompt_ms"`
	PromptPerTokenMS    float64 `json:"prompt_per_token_ms"`
	PromptPerSecond     float64 `json:"prompt_per_second"`
	PredictedN          int     `json:"predicted_n"`
	PredictedMS         float64 `json:"predicted_ms"`
	PredictedPerTokenMS float64 `json:"predicted_per_token_ms"`
	PredictedPerSecond  float64 `json:"predicted_per_second"`
	// LoadMS is how long switching to the requested model took (loading
	// it in place of another), when the request did.
	LoadMS *float64 `json:"load_ms,omitempty"`
}

var jsonNull = json.RawMessage("null")

// add sums v into u (several prompts of one completion request).
func (u *usage) add(v usage) {
	u.PromptTokens += v.PromptTokens
	u.CompletionTokens += v.CompletionTokens
	u.TotalTokens += v.TotalTokens
	u.PromptTokensDetails.CachedTokens += v.PromptTokensDetails.CachedTokens
}

func usageOf(st engine.Stats) usage {
	return usage{
		PromptTokens:        st.PromptTokens,
		CompletionTokens:    st.CompletionTokens,
		TotalTokens:         st.PromptTokens + st.CompletionTokens,
		PromptTokensDetails: tokenDetails{CachedTokens: st.CachedTokens},
	}
}

func timingsOf(st engine.Stats, loadMs *float64) timings {
	ms := func(d time.Duration) float64 { return finite(float64(d) / float64(time.Millisecond)) }
	per := func(total float64, n int) float64 {
		if n <= 0 {
			return 0
		}
		return finite(total / float64(n))
	}
	t := timings{
		CacheN:             st.CachedTokens,
		PromptN:            st.PrefillTokens,
		PromptMS:           ms(st.Prefill),
		PromptPerSecond:    finite(st.PrefillTPS),
		PredictedN:         st.CompletionTokens,
		PredictedMS:        ms(st.Decode),
		PredictedPerSecond: finite(st.DecodeTPS),
		LoadMS:             loadMs,
	}
	t.PromptPerTokenMS = per(t.PromptMS, t.PromptN)
	t.PredictedPerTokenMS = per(t.PredictedMS, t.PredictedN)
	return t
}

// finite keeps NaN and Inf (which JSON cannot carry) out of the output.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// finishReason maps the engine's reason to OpenAI's.
func finishReason(r string) string {
	if r == engine.FinishLength {
		return "length"
	}
	return "stop"
}

// handleChat serves POST /v1/chat/completions and POST /api/chat.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	body, aerr := s.readBody(w, r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	req, opts, aerr := parseChatRequest(body)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	ctx, cancel, model, a, ok := s.admit(w, r, opts.model)
	if !ok {
		return
	}
	defer cancel(nil)
	defer s.leave()
	req.Wait = s.wait
	a.id = "chatcmpl-" + a.id
	if opts.stream {
		s.streamChat(ctx, cancel, w, model, req, opts, a)
		return
	}
	s.completeChat(ctx, w, model, req, a)
}

// admit lets a generation request in: a place in the bounded queue, then
// its turn to choose its model (requested: "" for the loaded one) and
// generate. It answers the request itself when it cannot (ok false);
// otherwise the caller must call cancel and s.leave when done. The context
// ends when the client goes or the server shuts down.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, requested string) (ctx context.Context, cancel context.CancelCauseFunc,
	model engine.Model, a answerInfo, ok bool) {
	// Admission: one running request plus a bounded queue.
	select {
	case s.slots <- struct{}{}:
	default:
		writeError(w, &apiError{Status: http.StatusTooManyRequests, Type: typeRateLimit, Code: codeQueueFull,
			Message: "the model is busy and the request queue is full; retry later", RetryAfter: 2})
		return nil, nil, nil, a, false
	}
	ctx, cancelCtx := context.WithCancelCause(r.Context())
	stop := context.AfterFunc(s.baseCtx, func() { cancelCtx(errShuttingDown) })
	fail := func() {
		stop()
		cancelCtx(nil)
		<-s.slots
	}
	// One request at a time chooses its model and generates.
	select {
	case s.run <- struct{}{}:
	case <-ctx.Done():
		if !clientGone(ctx) {
			writeError(w, shuttingDown())
		}
		fail()
		return nil, nil, nil, a, false
	}
	model, a, aerr := s.resolve(ctx, requested)
	if aerr != nil {
		writeError(w, aerr)
		<-s.run
		fail()
		return nil, nil, nil, a, false
	}
	a.id, a.created = s.newID(), s.now().Unix() // the handler adds its prefix
	return ctx, func(c error) { stop(); cancelCtx(c) }, model, a, true
}

// leave ends an admitted request's turn.
func (s *Server) leave() {
	<-s.run
	<-s.slots
}

// answerInfo is what a response says besides the generation: its id and
// time, the model's id, and how long switching to it took.
type answerInfo struct {
	id      string
	created int64
	model   string
	loadMs  *float64 // set when the request switched models
}

// resolve returns the model a request names ("" = the loaded one), loading
// it in place of the loaded one when a Library offers it.
func (s *Server) resolve(ctx context.Context, requested string) (engine.Model, answerInfo, *apiError) {
	lib, isLib := s.src.(Library)
	if !isLib {
		if requested != "" && !strings.EqualFold(requested, s.cfg.ModelID) {
			return nil, answerInfo{}, modelNotFound(requested, s.modelEntries())
		}
		m, aerr := s.model()
		return m, answerInfo{model: s.cfg.ModelID}, aerr
	}
	cards := lib.Models()
	var card *ModelCard
	for i, c := range cards {
		if (requested == "" && c.Loaded) || (requested != "" && strings.EqualFold(c.ID, requested)) {
			card = &cards[i]
			break
		}
	}
	if card == nil {
		if requested == "" {
			m, aerr := s.model()
			return m, answerInfo{model: s.cfg.ModelID}, aerr
		}
		return nil, answerInfo{}, modelNotFound(requested, s.modelEntries())
	}
	if card.Loaded {
		if m, st := s.src.Current(); st == StateReady && m != nil {
			return m, answerInfo{model: card.ID}, nil
		}
	}
	start := time.Now()
	m, err := lib.Use(ctx, card.ID)
	if err != nil {
		return nil, answerInfo{}, fromEngine(err)
	}
	ms := finite(float64(time.Since(start).Microseconds()) / 1000)
	return m, answerInfo{model: card.ID, loadMs: &ms}, nil
}

// model returns the loaded model, or a 503.
func (s *Server) model() (engine.Model, *apiError) {
	m, st := s.src.Current()
	switch {
	case st == StateLoading:
		return nil, &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Code: codeLoading,
			Message: "the model is loading; retry shortly", RetryAfter: 5}
	case st != StateReady || m == nil:
		return nil, &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Code: engine.CodeNotLoaded,
			Message: "no model is loaded"}
	}
	return m, nil
}

// readBody reads the whole (size-limited) body. Reading to EOF also lets
// net/http notice a client that disconnects, which cancels r.Context().
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	tooLarge := &apiError{Status: http.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Code: codeTooLarge,
		Message: fmt.Sprintf("the request body is larger than %d bytes", s.cfg.MaxBodyBytes)}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, badRequest("", codeInvalidJSON, "could not read the request body: "+err.Error())
	}
	return body, nil
}

// completeChat answers without streaming.
func (s *Server) completeChat(ctx context.Context, w http.ResponseWriter, m engine.Model, req engine.Request, a answerInfo) {
	res, err := m.Generate(ctx, req, nil)
	if aerr, gone := generationFailed(ctx, res, err); gone || aerr != nil {
		if !gone {
			writeError(w, aerr)
		}
		return
	}
	writeJSON(w, http.StatusOK, completion{
		ID:      a.id,
		Object:  "chat.completion",
		Created: a.created,
		Model:   a.model,
		Choices: []completionChoice{{
			Message:      assistantReply{Role: "assistant", Content: res.Text},
			Logprobs:     chatLogprobsOf(res.Logprobs, req.Logprobs),
			FinishReason: finishReason(res.Stats.FinishReason),
		}},
		Usage:   usageOf(res.Stats),
		Timings: timingsOf(res.Stats, a.loadMs),
	})
}

// sse writes server-sent events and remembers the first write error.
type sse struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func (e *sse) start() {
	h := e.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	e.w.WriteHeader(http.StatusOK)
}

// fail ends an answer whose generation failed: a plain error response
// when nothing was streamed yet, else one error event (then the stream
// closes).
func (e *sse) fail(started bool, aerr *apiError) {
	if !started {
		writeError(e.w, aerr)
		return
	}
	e.json(aerr.body())
}

// generationFailed says what a finished Generate call owes the client in
// place of its answer: nothing when the client is gone, the shutdown error
// when the server is stopping, the engine's error; nil, false when the
// answer stands.
func generationFailed(ctx context.Context, res engine.Result, err error) (aerr *apiError, gone bool) {
	if ctx.Err() != nil && (err != nil || res.Stats.FinishReason == engine.FinishCancelled) {
		if clientGone(ctx) {
			return nil, true
		}
		return shuttingDown(), false
	}
	if err != nil {
		return fromEngine(err), false
	}
	return nil, false
}

// data writes one "data: ..." event and flushes it.
func (e *sse) data(b []byte) {
	if e.err != nil {
		return
	}
	buf := make([]byte, 0, len(b)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	if _, err := e.w.Write(buf); err != nil {
		e.err = err
		return
	}
	if err := e.rc.Flush(); err != nil {
		e.err = err
	}
}

func (e *sse) json(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		e.err = fmt.Errorf("encode event: %w", err)
		return
	}
	e.data(b)
}

// streamChat answers with server-sent events. The status line is written
// only when the first token arrives, so that errors found before the
// generation starts (context too long, busy) are still plain HTTP errors.
func (s *Server) streamChat(ctx context.Context, cancel context.CancelCauseFunc, w http.ResponseWriter,
	m engine.Model, req engine.Request, opts chatOptions, a answerInfo) {
	ev := &sse{w: w, rc: http.NewResponseController(w)}
	mk := func(d delta, finish *string) chunk {
		c := chunk{ID: a.id, Object: "chat.completion.chunk", Created: a.created, Model: a.model,
			Choices: []chunkChoice{{Delta: d, FinishReason: finish}}}
		if opts.includeUsage {
			c.Usage = jsonNull
		}
		return c
	}
	started := false
	begin := func() {
		started = true
		ev.start()
		empty := ""
		ev.json(mk(delta{Role: "assistant", Content: &empty}, nil))
	}
	// The logprobs of tokens that brought no text yet (a character cut
	// in two, a possible stop string) go with the next text.
	var pending []engine.TokenLogprob
	onToken := func(t engine.Token) {
		if ev.err != nil {
			return
		}
		if !started {
			begin()
		}
		if t.Logprob != nil {
			pending = append(pending, *t.Logprob)
		}
		if t.Text != "" {
			text := t.Text
			c := mk(delta{Content: &text}, nil)
			c.Choices[0].Logprobs = chatLogprobsOf(pending, req.Logprobs)
			pending = pending[:0]
			ev.json(c)
		}
		if ev.err != nil {
			cancel(fmt.Errorf("write to client: %w", ev.err)) // the client is gone: stop now
		}
	}

	res, err := m.Generate(ctx, req, onToken)
	if aerr, gone := generationFailed(ctx, res, err); gone || aerr != nil {
		if !gone && ev.err == nil { // a client that left gets nothing more
			ev.fail(started, aerr)
		}
		return
	}
	if !started {
		begin()
	}
	if len(pending) > 0 {
		empty := ""
		c := mk(delta{Content: &empty}, nil)
		c.Choices[0].Logprobs = chatLogprobsOf(pending, true)
		ev.json(c)
	}
	reason := finishReason(res.Stats.FinishReason)
	last := mk(delta{}, &reason)
	tm := timingsOf(res.Stats, a.loadMs)
	last.Timings = &tm
	ev.json(last)
	if opts.includeUsage {
		ev.json(chunk{ID: a.id, Object: "chat.completion.chunk", Created: a.created, Model: a.model,
			Choices: []chunkChoice{}, Usage: usageOf(res.Stats)})
	}
	ev.data([]byte("[DONE]"))
}
