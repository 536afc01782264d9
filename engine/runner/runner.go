package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ollama/ollama/model"
	"github.com/ollama/ollama/model/input"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/chatfmt"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/grammar"
	"github.com/bitnet-desktop/bitnet-desktop/engine/kernel"
	"github.com/bitnet-desktop/bitnet-desktop/engine/sample"
	"github.com/bitnet-desktop/bitnet-desktop/engine/tokenize"
)

// Runner is a loaded model. It implements engine.Model.
type Runner struct {
	spec    *gguf.Spec
	file    *gguf.File
	tok     *tokenize.Tokenizer
	ctxSize int
	info    engine.ModelInfo
	format  format         // the chat format; nil for a base model
	vocab   *grammar.Vocab // the tokens as structured outputs match them; built on first use (under sem)

	// sem admits one generation (or Close) at a time. Everything below is
	// touched only by its holder.
	sem    chan struct{}
	model  model.Model
	cached []int32 // tokens whose keys and values are in the cache, in order
	// weights holds the ternary weights when their layout has memory of
	// its own (kernel.AVX512T5, their level); freed after the backend.
	weights *kernel.Weights
	level   kernel.Level
}

var _ engine.Model = (*Runner)(nil)

// Info describes the model.
func (r *Runner) Info() engine.ModelInfo { return r.info }

// Tokenizer returns the model's tokenizer.
func (r *Runner) Tokenizer() *tokenize.Tokenizer { return r.tok }

// Tokenize encodes text (special-token text becomes special tokens).
func (r *Runner) Tokenize(text string, addBOS bool) ([]int32, error) {
	return r.tok.Encode(text, addBOS)
}

// Detokenize decodes ids.
func (r *Runner) Detokenize(ids []int32) (string, error) {
	s, err := r.tok.Decode(ids)
	if err != nil {
		return "", engine.Wrap(engine.CodeInvalidRequest, err, "detokenize")
	}
	return s, nil
}

func (r *Runner) acquire(ctx context.Context, wait bool) error {
	select {
	case r.sem <- struct{}{}:
		return nil
	default:
	}
	if !wait {
		return engine.Errorf(engine.CodeBusy, nil, "the model is busy with another answer")
	}
	select {
	case r.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return engine.Wrap(engine.CodeCancelled, ctx.Err(), "gave up waiting for the model")
	}
}

func (r *Runner) release() { <-r.sem }

// Close frees the model after any running generation ends.
func (r *Runner) Close() error {
	r.sem <- struct{}{}
	defer r.release()
	r.closeBackend()
	r.cached = nil
	return nil
}

func checkSampling(s engine.Sampling) error {
	bad := func(name string, v any) error {
		return engine.Errorf(engine.CodeInvalidRequest, map[string]any{"param": name, "value": v}, "invalid %s: %v", name, v)
	}
	switch {
	case s.Temperature < 0 || s.Temperature > 100 || isNaN(s.Temperature):
		return bad("temperature", s.Temperature)
	case s.TopP < 0 || s.TopP > 1 || isNaN(s.TopP):
		return bad("top_p", s.TopP)
	case s.MinP < 0 || s.MinP > 1 || isNaN(s.MinP):
		return bad("min_p", s.MinP)
	case s.TopK < 0:
		return bad("top_k", s.TopK)
	case s.RepeatPenalty < 0 || isNaN(s.RepeatPenalty):
		return bad("repeat_penalty", s.RepeatPenalty)
	case s.RepeatLastN < 0:
		return bad("repeat_last_n", s.RepeatLastN)
	case isNaN(s.PresencePenalty) || math.Abs(float64(s.PresencePenalty)) > 2:
		return bad("presence_penalty", s.PresencePenalty)
	case isNaN(s.FrequencyPenalty) || math.Abs(float64(s.FrequencyPenalty)) > 2:
		return bad("frequency_penalty", s.FrequencyPenalty)
	}
	return nil
}

func isNaN(f float32) bool { return f != f }

// prompt builds the prompt tokens of req, leaving room to generate.
func (r *Runner) prompt(req engine.Request) (ids []int32, dropped int, err error) {
	if len(req.Tokens) > 0 {
		if len(req.Messages) > 0 || req.Prompt != "" {
			return nil, 0, engine.Errorf(engine.CodeInvalidRequest, nil, "give tokens, a prompt or messages, not several")
		}
		if len(req.Tokens) >= r.ctxSize {
			return nil, 0, engine.Errorf(engine.CodeContextExceeded, map[string]any{"tokens": len(req.Tokens), "limit": r.ctxSize - 1},
				"the prompt is %d tokens; the context holds %d", len(req.Tokens), r.ctxSize)
		}
		return append([]int32(nil), req.Tokens...), 0, nil
	}
	if req.Raw || len(req.Messages) == 0 {
		if len(req.Messages) > 0 {
			return nil, 0, engine.Errorf(engine.CodeInvalidRequest, nil, "a raw request takes a prompt, not messages")
		}
		ids, err = r.tok.Encode(req.Prompt, r.spec.AddBOS)
		if err != nil {
			return nil, 0, engine.Wrap(engine.CodeInvalidRequest, err, "tokenize prompt")
		}
		if len(ids) >= r.ctxSize {
			return nil, 0, engine.Errorf(engine.CodeContextExceeded, map[string]any{"tokens": len(ids), "limit": r.ctxSize - 1},
				"the prompt is %d tokens; the context holds %d", len(ids), r.ctxSize)
		}
		return ids, 0, nil
	}
	if r.format == nil {
		return nil, 0, errNotChat()
	}
	room := r.ctxSize / 4
	if req.MaxTokens > 0 && req.MaxTokens < room {
		room = req.MaxTokens
	}
	if req.NoTrim {
		ids, err = r.format.tokens(req.Messages)
		if err == nil && len(ids) >= r.ctxSize {
			return nil, 0, engine.Errorf(engine.CodeContextExceeded, map[string]any{"tokens": len(ids), "limit": r.ctxSize - 1},
				"the conversation is %d tokens; the context holds %d", len(ids), r.ctxSize)
		}
	} else {
		ids, dropped, err = r.format.fit(req.Messages, r.ctxSize-room)
	}
	if errors.Is(err, engine.ErrContextExceeded) && !req.NoTrim {
		// The newest message alone leaves less room than asked: accept it as
		// long as one token can still be generated.
		ids, dropped, err = r.format.fit(req.Messages, r.ctxSize-1)
	}
	if err != nil {
		return nil, 0, formatError(err)
	}
	return ids, dropped, nil
}

// Measure implements engine.Model.
func (r *Runner) Measure(req engine.Request) (engine.Measure, error) {
	m := engine.Measure{ContextSize: r.ctxSize}
	if req.Raw {
		// A prompt to complete: all of it is "the message".
		ids, err := r.tok.Encode(req.Prompt, r.spec.AddBOS)
		if err != nil {
			return m, engine.Wrap(engine.CodeInvalidRequest, err, "tokenize prompt")
		}
		m.MessageTokens = len(ids)
		m.MessageLimit = r.ctxSize - engine.AnswerRoom(r.ctxSize, req.MaxTokens)
		if m.MessageTokens <= m.MessageLimit {
			m.PromptTokens = len(ids)
		}
		return m, nil
	}
	msgs := req.Messages
	if len(msgs) == 0 || msgs[len(msgs)-1].Role != chatfmt.RoleUser {
		return m, engine.Errorf(engine.CodeInvalidRequest, nil, "measure: the last message must be a user message")
	}
	last := msgs[len(msgs)-1]
	text, err := r.tok.EncodePlain(last.Content)
	if err != nil {
		return m, engine.Wrap(engine.CodeInvalidRequest, err, "tokenize the message")
	}
	m.MessageTokens = len(text)
	// The message alone (with the system prompt and the format around it).
	alone := []engine.Message{last}
	if msgs[0].Role == chatfmt.RoleSystem {
		alone = []engine.Message{msgs[0], last}
	}
	if r.format == nil {
		return m, errNotChat()
	}
	minimum, err := r.format.tokens(alone)
	if err != nil {
		return m, formatError(err)
	}
	m.MessageLimit = r.ctxSize - engine.AnswerRoom(r.ctxSize, req.MaxTokens) - (len(minimum) - len(text))
	if m.MessageTokens > m.MessageLimit {
		return m, nil
	}
	ids, dropped, err := r.format.fit(msgs, r.ctxSize-engine.AnswerRoom(r.ctxSize, req.MaxTokens))
	if err != nil {
		return m, formatError(err)
	}
	m.PromptTokens, m.DroppedMessages = len(ids), dropped
	return m, nil
}

// errNotChat is the error of a chat request to a base model.
func errNotChat() error {
	return engine.Errorf(engine.CodeNotChat, nil,
		"this is a base model: it completes text and has no chat format; send a prompt to complete instead of messages")
}

// formatError keeps the *engine.Error of a chat format (context exceeded,
// a template's own error) and wraps anything else.
func formatError(err error) error {
	var ee *engine.Error
	if errors.As(err, &ee) {
		return err
	}
	return engine.Wrap(engine.CodeInvalidRequest, err, "format chat")
}

// Generate implements engine.Model: it checks the request, builds the
// prompt, prefills what the kv cache does not hold yet, then decodes.
func (r *Runner) Generate(ctx context.Context, req engine.Request, onToken func(engine.Token)) (res engine.Result, err error) {
	start := time.Now()
	if req.MaxTokens < 0 {
		return res, engine.Errorf(engine.CodeInvalidRequest, map[string]any{"param": "max_tokens"}, "max_tokens must not be negative")
	}
	if err := checkSampling(req.Sampling); err != nil {
		return res, err
	}
	if err := r.acquire(ctx, req.Wait); err != nil {
		return res, err
	}
	defer r.release()
	if r.model == nil {
		return res, engine.Errorf(engine.CodeNotLoaded, nil, "the model is not loaded")
	}
	defer func() {
		if p := recover(); p != nil {
			r.resetCache()
			err = engine.Errorf(engine.CodeInternal, nil, "generation failed: %v", p)
		}
	}()

	prompt, dropped, err := r.prompt(req)
	if err != nil {
		return res, err
	}
	if err := r.tok.Check(prompt); err != nil {
		return res, engine.Wrap(engine.CodeInvalidRequest, err, "prompt")
	}
	res.PromptTokenIDs = prompt
	st := &res.Stats
	st.PromptTokens, st.DroppedMessages, st.ContextSize = len(prompt), dropped, r.ctxSize

	logits, err := r.prefill(ctx, prompt, st)
	st.Prefill = time.Since(start)
	if err != nil || st.FinishReason == engine.FinishCancelled {
		st.ContextUsed = len(r.cached)
		return res, err
	}
	decodeStart, err := r.decode(ctx, req, start, logits, &res, onToken)
	if err != nil {
		return res, err
	}
	finishStats(st, len(res.TokenIDs), time.Since(decodeStart), len(r.cached))
	return res, nil
}

// prefill reuses the longest cached prefix of prompt and computes the rest
// in batches; it returns the logits of the last prompt token. A cancelled
// ctx sets st.FinishReason to "cancelled" and returns no logits.
func (r *Runner) prefill(ctx context.Context, prompt []int32, st *engine.Stats) ([]float32, error) {
	// At least one token must be computed to get logits.
	keep := commonPrefix(r.cached, prompt)
	if keep == len(prompt) {
		keep--
	}
	if err := r.truncateCache(keep); err != nil {
		return nil, err
	}
	st.CachedTokens = len(r.cached)
	st.PrefillTokens = len(prompt) - len(r.cached)
	var logits []float32
	for pos := len(r.cached); pos < len(prompt); pos += BatchSize {
		if ctx.Err() != nil {
			st.FinishReason = engine.FinishCancelled
			return nil, nil
		}
		var err error
		if logits, err = r.forward(prompt[pos:min(pos+BatchSize, len(prompt))], pos); err != nil {
			return nil, err
		}
	}
	return logits, nil
}

// decode samples tokens from logits until a stop token, a stop string,
// the length limit, a full context or cancellation, streaming their text
// to onToken. It fills res (text, token ids, TTFT, finish reason) and
// returns when decoding started (the first token's time).
func (r *Runner) decode(ctx context.Context, req engine.Request, start time.Time, logits []float32,
	res *engine.Result, onToken func(engine.Token)) (time.Time, error) {
	st := &res.Stats
	c, err := r.newConstraint(req.Format)
	if err != nil {
		return time.Now(), err
	}
	p := picker{r: r, smp: sample.New(req.Sampling), c: c, logprobs: req.Logprobs, top: req.TopLogprobs}
	history := append([]int32(nil), res.PromptTokenIDs...)
	stream := r.tok.NewStream()
	// Under a Format the grammar decides where the answer ends: a stop
	// string inside the JSON would cut it invalid.
	stops := req.Stop
	if c != nil {
		stops = nil
	}
	out := newStopWriter(stops)
	emit := func(id int32, text string, lp *engine.TokenLogprob) {
		if onToken != nil {
			onToken(engine.Token{ID: id, Text: text, Logprob: lp})
		}
	}
	decodeStart := time.Now()
	for {
		id, lp, err := p.pick(logits, history)
		if err != nil {
			return decodeStart, err
		}
		if len(res.TokenIDs) == 0 {
			st.TTFT = time.Since(start)
			decodeStart = time.Now()
		}
		// Under a Format a stop token is allowed only where the value may end.
		if r.tok.IsStop(id) && !req.IgnoreEOS {
			st.FinishReason = engine.FinishStop
			break
		}
		res.TokenIDs = append(res.TokenIDs, id)
		if lp != nil {
			res.Logprobs = append(res.Logprobs, *lp)
		}
		history = append(history, id)
		var piece string
		if !r.tok.IsControl(id) { // control tokens are not text (llama.cpp's special=false)
			if piece, err = stream.Add(id); err != nil {
				return decodeStart, engine.Wrap(engine.CodeInternal, err, "decode")
			}
		}
		text, stopped := out.write(piece)
		emit(id, text, lp)
		// Under a Format, the answer ends when the JSON value does.
		stopped = stopped || (c != nil && c.Complete())
		if reason := r.finishReason(ctx, req, stopped, len(res.TokenIDs)); reason != "" {
			st.FinishReason = reason
			break
		}
		if logits, err = r.forward([]int32{id}, len(r.cached)); err != nil {
			return decodeStart, err
		}
	}
	if tail := out.flush(stream.Flush()); tail != "" {
		emit(-1, tail, nil)
	}
	res.Text = out.text.String()
	return decodeStart, nil
}

// constraint keeps an answer a prefix of a valid document (package
// grammar's Matcher).
type constraint interface {
	Allows(id int32) bool
	Mask(dst []uint64) []uint64
	Accept(id int32) error
	Complete() bool
}

// picker chooses each next token: the sampler's choice, or under a
// constraint its choice among the allowed tokens (the model's own pick is
// tried first, the mask computed only when it is refused, as llama.cpp's
// grammar sampling does), with its log-probability when asked.
type picker struct {
	r        *Runner
	smp      *sample.Sampler
	c        constraint
	mask     []uint64
	logprobs bool
	top      int
}

func (p *picker) pick(logits []float32, history []int32) (int32, *engine.TokenLogprob, error) {
	id, err := p.smp.Sample(logits, history)
	var mask []uint64
	if err == nil && p.c != nil {
		if allowed := p.c.Allows(id); !allowed || p.logprobs {
			p.mask = p.c.Mask(p.mask)
			mask = p.mask
			if !allowed {
				id, err = p.smp.SampleMasked(logits, history, mask)
			}
		}
	}
	if err != nil {
		return 0, nil, engine.Wrap(engine.CodeInternal, err, "sample")
	}
	if p.c != nil {
		if err := p.c.Accept(id); err != nil {
			return 0, nil, engine.Wrap(engine.CodeInternal, err, "the constraint refused the sampled token %d", id)
		}
	}
	if !p.logprobs {
		return id, nil, nil
	}
	lp, top, err := p.smp.Logprobs(logits, history, mask, id, p.top)
	if err != nil {
		return 0, nil, engine.Wrap(engine.CodeInternal, err, "logprobs")
	}
	out := &engine.TokenLogprob{ID: id, Logprob: lp}
	out.Bytes = p.r.tokenBytes(id)
	out.Token = string(out.Bytes)
	for _, t := range top {
		b := p.r.tokenBytes(t.ID)
		out.Top = append(out.Top, engine.TopLogprob{ID: t.ID, Token: string(b), Bytes: b, Logprob: t.Logprob})
	}
	return id, out, nil
}

// tokenBytes is the text of one token as bytes (control tokens have none).
func (r *Runner) tokenBytes(id int32) []byte {
	if r.tok.IsControl(id) {
		return []byte{}
	}
	s, err := r.tok.Piece(id) // not Decode, which drops a SentencePiece token's leading space
	if err != nil {
		return []byte{}
	}
	return []byte(s)
}

// finishReason tells why decoding ends after a token, or "" to go on.
func (r *Runner) finishReason(ctx context.Context, req engine.Request, stopString bool, generated int) string {
	switch {
	case stopString:
		return engine.FinishStop
	case req.MaxTokens > 0 && generated >= req.MaxTokens, len(r.cached) >= r.ctxSize-1:
		return engine.FinishLength
	case ctx.Err() != nil:
		return engine.FinishCancelled
	}
	return ""
}

// finishStats fills the counts and speeds of a finished answer.
func finishStats(st *engine.Stats, generated int, decode time.Duration, contextUsed int) {
	st.CompletionTokens = generated
	st.Decode = decode
	if st.Prefill > 0 && st.PrefillTokens > 0 {
		st.PrefillTPS = float64(st.PrefillTokens) / st.Prefill.Seconds()
	}
	if n := generated - 1; n > 0 && decode > 0 {
		st.DecodeTPS = float64(n) / decode.Seconds()
	}
	st.ContextUsed = contextUsed
}

func commonPrefix(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func (r *Runner) truncateCache(keep int) error {
	if keep >= len(r.cached) {
		return nil
	}
	if err := r.model.Config().Cache.Remove(0, int32(keep), math.MaxInt32); err != nil {
		r.resetCache()
		return nil
	}
	r.cached = r.cached[:keep]
	return nil
}

func (r *Runner) resetCache() {
	if r.model != nil {
		_ = r.model.Config().Cache.Remove(0, 0, math.MaxInt32)
	}
	r.cached = r.cached[:0]
}

// forward runs tokens at positions pos.. through the model, adds them to the
// cache and returns the logits of the last one.
func (r *Runner) forward(tokens []int32, pos int) ([]float32, error) {
	logits, err := r.compute(tokens, pos, []int32{int32(len(tokens) - 1)})
	if err != nil {
		return nil, err
	}
	r.cached = append(r.cached, tokens...)
	return logits, nil
}

// compute runs one batch and returns the logits of the outputs rows.
func (r *Runner) compute(tokens []int32, pos int, outputs []int32) ([]float32, error) {
	if pos+len(tokens) > r.ctxSize {
		return nil, engine.Errorf(engine.CodeContextExceeded, map[string]any{"tokens": pos + len(tokens), "limit": r.ctxSize},
			"%d tokens do not fit the context of %d", pos+len(tokens), r.ctxSize)
	}
	if err := r.tok.Check(tokens); err != nil {
		return nil, engine.Wrap(engine.CodeInvalidRequest, err, "tokens")
	}
	ctx := r.model.Backend().NewContext()
	defer ctx.Close()
	positions := make([]int32, len(tokens))
	seqs := make([]int, len(tokens))
	for i := range positions {
		positions[i] = int32(pos + i)
	}
	batch := input.Batch{
		Inputs:    ctx.Input().FromInts(tokens, len(tokens)),
		Outputs:   ctx.Input().FromInts(outputs, len(outputs)),
		Positions: positions,
		Sequences: seqs,
	}
	t, err := model.Forward(ctx, r.model, batch)
	if err != nil {
		r.resetCache()
		return nil, engine.Wrap(engine.CodeInternal, err, "forward")
	}
	ctx.Compute(t)
	return t.Floats(), nil
}

// Logits computes the logits at every position of tokens from an empty
// cache (for tests and perplexity). The result has one row per token.
func (r *Runner) Logits(ctx context.Context, tokens []int32) ([][]float32, error) {
	if err := r.acquire(ctx, true); err != nil {
		return nil, err
	}
	defer r.release()
	if r.model == nil {
		return nil, engine.Errorf(engine.CodeNotLoaded, nil, "the model is not loaded")
	}
	if len(tokens) == 0 || len(tokens) > r.ctxSize {
		return nil, engine.Errorf(engine.CodeInvalidRequest, nil, "need 1 to %d tokens, got %d", r.ctxSize, len(tokens))
	}
	r.resetCache()
	defer r.resetCache()
	vocab := r.tok.VocabSize()
	var rows [][]float32
	for pos := 0; pos < len(tokens); pos += BatchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := min(pos+BatchSize, len(tokens))
		outs := make([]int32, end-pos)
		for i := range outs {
			outs[i] = int32(i)
		}
		flat, err := r.compute(tokens[pos:end], pos, outs)
		if err != nil {
			return nil, err
		}
		r.cached = append(r.cached, tokens[pos:end]...)
		if len(flat) != vocab*len(outs) {
			return nil, fmt.Errorf("got %d logits for %d rows of %d", len(flat), len(outs), vocab)
		}
		for i := range outs {
			rows = append(rows, flat[i*vocab:(i+1)*vocab])
		}
	}
	return rows, nil
}

// stopWriter accumulates the answer and holds back text that could be the
// start of a stop string.
type stopWriter struct {
	stops   []string
	text    strings.Builder // emitted text
	held    string
	stopped bool
}

func newStopWriter(stops []string) *stopWriter {
	var s []string
	for _, x := range stops {
		if x != "" {
			s = append(s, x)
		}
	}
	return &stopWriter{stops: s}
}

// write adds piece and returns the text that can be emitted now, and whether
// a stop string was reached (the stop string and anything after it are
// dropped).
func (w *stopWriter) write(piece string) (string, bool) {
	buf := w.held + piece
	cut := -1
	for _, s := range w.stops {
		if i := strings.Index(buf, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		w.held = ""
		w.stopped = true
		w.text.WriteString(buf[:cut])
		return buf[:cut], true
	}
	hold := 0
	for _, s := range w.stops {
		for k := min(len(s)-1, len(buf)); k > hold; k-- {
			if strings.HasSuffix(buf, s[:k]) {
				hold = k
				break
			}
		}
	}
	emit := buf[:len(buf)-hold]
	w.held = buf[len(buf)-hold:]
	w.text.WriteString(emit)
	return emit, false
}

// flush emits what is held, plus a trailing piece, at the end.
func (w *stopWriter) flush(tail string) string {
	if w.stopped {
		return ""
	}
	out := w.held + tail
	w.held = ""
	w.text.WriteString(out)
	return out
}
