package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// fakeModel is a deterministic engine.Model for HTTP-level tests. It
// answers "Echo: <words of the last user message>." one token per piece
// (with one empty-text token, as the real engine may send), honours ctx
// (cancelled generations end with FinishCancelled), runs one generation at
// a time (ErrBusy, or waiting with Request.Wait), MaxTokens, Stop and a
// context size. The last user message "forever" generates " tick" until
// cancelled or MaxTokens.
type fakeModel struct {
	ctxSize    int
	tokenDelay time.Duration // pause before each token
	failAfter  int           // > 0: fail with an internal error after this many tokens
	failErr    error         // returned before any token when set
	gate       chan struct{} // when set, the first token waits until it is closed

	sem       chan struct{} // held while generating
	started   chan string   // the last user message of each generation that starts
	cancelled chan struct{} // one value per generation that saw ctx end

	mu       sync.Mutex
	requests []engine.Request
	closed   bool
}

func newFake() *fakeModel {
	return &fakeModel{
		ctxSize:   4096,
		sem:       make(chan struct{}, 1),
		started:   make(chan string, 256),
		cancelled: make(chan struct{}, 256),
	}
}

const (
	fakePrefill = 10 * time.Millisecond
	fakeDecode  = 20 * time.Millisecond
)

func (f *fakeModel) Info() engine.ModelInfo {
	return engine.ModelInfo{
		Name: "fake.gguf", Path: "/home/someone/models/fake.gguf", RunPath: "/home/someone/.cache/fake.run.gguf",
		Architecture: "bitnet-b1.58", Parameters: 1000, ContextSize: f.ctxSize, Threads: 2,
		WeightType: "tq2_0", EmbeddingType: "q6_k", SizeBytes: 1234, Family: "bitnet-b1.58", Chat: true,
	}
}

func (f *fakeModel) lastRequest() engine.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		return engine.Request{}
	}
	return f.requests[len(f.requests)-1]
}

func (f *fakeModel) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// promptTokens counts 1 (BOS) + per message 2 + its words.
func promptTokens(msgs []engine.Message) int {
	n := 1
	for _, m := range msgs {
		n += 2 + len(strings.Fields(m.Content))
	}
	return n
}

func lastUser(msgs []engine.Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return msgs[i].Content
		}
	}
	return ""
}

// fakeReply is the token texts for a prompt (nil for "forever").
func fakeReply(user string) []string {
	if user == "forever" {
		return nil
	}
	toks := []string{"Echo", ":", ""}
	for _, w := range strings.Fields(user) {
		toks = append(toks, " "+w)
	}
	return append(toks, ".")
}

func (f *fakeModel) Generate(ctx context.Context, req engine.Request, onToken func(engine.Token)) (engine.Result, error) {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return engine.Result{}, engine.Errorf(engine.CodeNotLoaded, nil, "the model was unloaded")
	}
	if f.failErr != nil {
		return engine.Result{}, f.failErr
	}
	if req.Wait {
		select {
		case f.sem <- struct{}{}:
		case <-ctx.Done():
			return engine.Result{}, engine.Wrap(engine.CodeCancelled, ctx.Err(), "cancelled while waiting")
		}
	} else {
		select {
		case f.sem <- struct{}{}:
		default:
			return engine.Result{}, engine.Errorf(engine.CodeBusy, nil, "the model is busy")
		}
	}
	defer func() { <-f.sem }()

	p := promptTokens(req.Messages)
	if p > f.ctxSize {
		return engine.Result{}, engine.Errorf(engine.CodeContextExceeded, map[string]any{"prompt_tokens": p, "context_size": f.ctxSize},
			"the prompt has %d tokens but the context holds %d", p, f.ctxSize)
	}
	user := lastUser(req.Messages)
	if req.Raw {
		user = req.Prompt // a completion echoes its prompt's words
	}
	f.started <- user
	reply := fakeReply(user)
	forever := reply == nil

	var res engine.Result
	var text strings.Builder
	finish := engine.FinishStop
	cancelled := func() (engine.Result, error) {
		f.cancelled <- struct{}{}
		res.Text = text.String()
		res.Stats = f.stats(p, len(res.TokenIDs), engine.FinishCancelled)
		return res, nil
	}
	for i := 0; forever || i < len(reply); i++ {
		if i == 0 && f.gate != nil {
			select {
			case <-f.gate:
			case <-ctx.Done():
				return cancelled()
			}
		}
		if f.tokenDelay > 0 {
			select {
			case <-time.After(f.tokenDelay):
			case <-ctx.Done():
				return cancelled()
			}
		}
		if ctx.Err() != nil {
			return cancelled()
		}
		if req.MaxTokens > 0 && i >= req.MaxTokens {
			finish = engine.FinishLength
			break
		}
		if f.failAfter > 0 && i >= f.failAfter {
			return engine.Result{}, engine.Errorf(engine.CodeInternal, nil, "decode failed")
		}
		tok := " tick"
		if !forever {
			tok = reply[i]
		}
		if cut, ok := cutAtStop(text.String(), tok, req.Stop); ok {
			tok = cut
			if tok != "" {
				text.WriteString(tok)
				onTok(onToken, engine.Token{ID: int32(100 + i), Text: tok})
			}
			break
		}
		id := int32(100 + i)
		res.TokenIDs = append(res.TokenIDs, id)
		text.WriteString(tok)
		t := engine.Token{ID: id, Text: tok}
		if req.Logprobs {
			// Deterministic values: -0.1 per position; alternatives "x1".."xN".
			lp := engine.TokenLogprob{ID: id, Token: tok, Bytes: []byte(tok), Logprob: -0.1 * float64(i+1)}
			for k := range req.TopLogprobs {
				alt := fmt.Sprintf("x%d", k+1)
				lp.Top = append(lp.Top, engine.TopLogprob{ID: int32(k), Token: alt, Bytes: []byte(alt), Logprob: -float64(k + 1)})
			}
			res.Logprobs = append(res.Logprobs, lp)
			t.Logprob = &lp
		}
		onTok(onToken, t)
	}
	res.Text = text.String()
	res.Stats = f.stats(p, len(res.TokenIDs), finish)
	return res, nil
}

func onTok(fn func(engine.Token), t engine.Token) {
	if fn != nil {
		fn(t)
	}
}

// cutAtStop reports whether adding tok to text completes a stop string and,
// if so, the part of tok before it.
func cutAtStop(text, tok string, stops []string) (string, bool) {
	all := text + tok
	for _, s := range stops {
		if i := strings.Index(all, s); i >= 0 {
			if i < len(text) {
				return "", true
			}
			return all[len(text):i], true
		}
	}
	return "", false
}

func (f *fakeModel) stats(prompt, completion int, finish string) engine.Stats {
	st := engine.Stats{
		PromptTokens: prompt, PrefillTokens: prompt, CompletionTokens: completion,
		TTFT: fakePrefill, Prefill: fakePrefill, Decode: fakeDecode,
		PrefillTPS:   float64(prompt*1000) / float64(fakePrefill/time.Millisecond),
		FinishReason: finish, ContextUsed: prompt + completion, ContextSize: f.ctxSize,
	}
	if completion > 0 {
		st.DecodeTPS = float64(completion*1000) / float64(fakeDecode/time.Millisecond)
	}
	return st
}

func (f *fakeModel) Measure(req engine.Request) (engine.Measure, error) {
	return engine.Measure{ContextSize: 4096, MessageLimit: 3500}, nil
}

func (f *fakeModel) Tokenize(text string, addBOS bool) ([]int32, error) {
	n := len(strings.Fields(text))
	if addBOS {
		n++
	}
	return make([]int32, n), nil
}

func (f *fakeModel) Detokenize(ids []int32) (string, error) {
	return strings.Repeat("x", len(ids)), nil
}

func (f *fakeModel) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

var _ engine.Model = (*fakeModel)(nil)
