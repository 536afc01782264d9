package session

import (
	"context"
	"errors"
	"fmt"
	"github.com/bitnet-desktop/bitnet-desktop/internal/apiserver"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/internal/appdata"
)

// fakeModel streams a fixed list of tokens, one per delay, like the engine:
// one generation at a time (ErrBusy otherwise), cancellation ends the
// answer with FinishReason "cancelled" and a nil error.
type fakeModel struct {
	path   string
	tokens []string
	delay  time.Duration
	err    error         // returned after the tokens
	hold   chan struct{} // if not nil, tokens wait until it closes (or ctx ends)

	mu      sync.Mutex
	busy    bool
	reqs    []engine.Request
	closed  bool
	started chan struct{} // receives when a generation starts (if not nil)
	base    bool          // a base model (no chat format)
}

func (f *fakeModel) Info() engine.ModelInfo {
	return engine.ModelInfo{Name: filepath.Base(f.path), Path: f.path, RunPath: f.path + ".run", Architecture: "bitnet-b1.58",
		Family: "bitnet-b1.58", Chat: !f.base,
		Parameters: 2_400_000_000, ContextSize: 4096, Threads: 1, WeightType: "tq2_0", EmbeddingType: "q6_k", SizeBytes: 42}
}

func (f *fakeModel) Generate(ctx context.Context, req engine.Request, onToken func(engine.Token)) (engine.Result, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return engine.Result{}, engine.Errorf(engine.CodeNotLoaded, nil, "closed")
	}
	if f.busy {
		f.mu.Unlock()
		return engine.Result{}, engine.Errorf(engine.CodeBusy, nil, "busy")
	}
	f.busy = true
	f.reqs = append(f.reqs, req)
	started := f.started
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.busy = false
		f.mu.Unlock()
	}()
	if started != nil {
		started <- struct{}{}
	}
	if f.hold != nil {
		select {
		case <-f.hold:
		case <-ctx.Done():
		}
	}
	var b strings.Builder
	n := 0
	for i, tok := range f.tokens {
		select {
		case <-ctx.Done():
			return engine.Result{Text: b.String(), Stats: engine.Stats{CompletionTokens: n, FinishReason: engine.FinishCancelled}}, nil
		case <-time.After(f.delay):
		}
		b.WriteString(tok)
		n++
		onToken(engine.Token{ID: int32(i), Text: tok})
	}
	if f.err != nil {
		return engine.Result{}, f.err
	}
	return engine.Result{Text: b.String(), Stats: engine.Stats{
		PromptTokens: 10, CompletionTokens: n, TTFT: 1500 * time.Microsecond, DecodeTPS: 20,
		FinishReason: engine.FinishStop, ContextUsed: 10 + n, ContextSize: 4096,
	}}, nil
}

// Measure counts a token per 4 bytes of the last message (at least one);
// a message may have up to fakeLimit tokens.
func (f *fakeModel) Measure(req engine.Request) (engine.Measure, error) {
	text := req.Prompt
	if !req.Raw {
		if len(req.Messages) == 0 {
			return engine.Measure{}, engine.Errorf(engine.CodeInvalidRequest, nil, "no messages")
		}
		text = req.Messages[len(req.Messages)-1].Content
	}
	n := (len(text) + 3) / 4
	m := engine.Measure{MessageTokens: n, MessageLimit: fakeLimit, ContextSize: 4096}
	if n <= fakeLimit {
		m.PromptTokens = n + 10
	}
	return m, nil
}

// fakeLimit is the fake model's message limit, in tokens (4 bytes each).
const fakeLimit = 3500

func (f *fakeModel) Tokenize(string, bool) ([]int32, error) { return nil, nil }
func (f *fakeModel) Detokenize([]int32) (string, error)     { return "", nil }

func (f *fakeModel) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeModel) requests() []engine.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]engine.Request(nil), f.reqs...)
}

func (f *fakeModel) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// fakeLoader makes fakeModels and records the loads.
type fakeLoader struct {
	tokens []string
	delay  time.Duration
	err    error         // Load fails with this
	hold   chan struct{} // Load waits for this (or ctx) if not nil

	mu     sync.Mutex
	loads  []string
	opts   []engine.LoadOptions
	models []*fakeModel
}

func (l *fakeLoader) Load(ctx context.Context, path string, opts engine.LoadOptions) (engine.Model, error) {
	l.mu.Lock()
	l.loads = append(l.loads, path)
	l.opts = append(l.opts, opts)
	hold := l.hold
	l.mu.Unlock()
	if opts.Progress != nil {
		opts.Progress(engine.Progress{Stage: engine.StageValidating, Fraction: 1})
		opts.Progress(engine.Progress{Stage: engine.StageConverting, Fraction: 0.5})
		opts.Progress(engine.Progress{Stage: engine.StageLoading, Fraction: 1})
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if l.err != nil {
		return nil, l.err
	}
	m := &fakeModel{path: path, tokens: l.tokens, delay: l.delay}
	l.mu.Lock()
	l.models = append(l.models, m)
	l.mu.Unlock()
	return m, nil
}

func (l *fakeLoader) model(t *testing.T) *fakeModel {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.models) == 0 {
		t.Fatal("no model loaded")
	}
	return l.models[len(l.models)-1]
}

func (l *fakeLoader) loadCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.loads)
}

// event is one emitted event.
type event struct {
	name    string
	payload any
	at      time.Time
}

// recorder is an Emitter that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) Emit(name string, payload any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event{name, payload, time.Now()})
}

func (r *recorder) all(name string) []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event
	for _, e := range r.events {
		if name == "" || e.name == name {
			out = append(out, e)
		}
	}
	return out
}

// waitFor polls until an event named name satisfies ok.
func (r *recorder) waitFor(t *testing.T, name string, ok func(any) bool) any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range r.all(name) {
			if ok == nil || ok(e.payload) {
				return e.payload
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("no %s event matched", name)
	return nil
}

// waitState polls the session until its status is want.
func waitStatus(t *testing.T, s *Session, want string) AppState {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var st AppState
	for time.Now().Before(deadline) {
		if st = s.State(); st.Status == want {
			return st
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("status %s, want %s (state %+v)", st.Status, want, st)
	return st
}

// fakeDialogs answers dialogs with fixed paths.
type fakeDialogs struct {
	open, save string
	err        error
	last       FileDialog
}

func (d *fakeDialogs) OpenFile(f FileDialog) (string, error) { d.last = f; return d.open, d.err }
func (d *fakeDialogs) SaveFile(f FileDialog) (string, error) { d.last = f; return d.save, d.err }

// fakeServer records starts and stops.
type fakeServer struct {
	mu      sync.Mutex
	running int // port, 0 = stopped
	starts  int
	fail    bool
	busy    bool // fail with a *apiserver.PortInUseError
}

func (f *fakeServer) Start(port int) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return "", errors.New("something failed")
	}
	if f.busy {
		return "", &apiserver.PortInUseError{Port: port, Suggested: port + 1, Err: errors.New("address already in use")}
	}
	f.running = port
	f.starts++
	return fmt.Sprintf("http://127.0.0.1:%d/v1", port), nil
}

func (f *fakeServer) Stop() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running = 0
	return nil
}

type harness struct {
	s      *Session
	rec    *recorder
	loader *fakeLoader
	paths  appdata.Paths
}

// newHarness makes a session in a temporary data folder. withModel puts a
// model file in the models folder; Start is called.
func newHarness(t *testing.T, withModel bool, mod func(*Config)) *harness {
	t.Helper()
	root := t.TempDir()
	paths := appdata.Resolve(func(k string) string {
		if k == appdata.EnvDataDir {
			return root
		}
		return ""
	})
	if err := paths.Ensure(); err != nil {
		t.Fatal(err)
	}
	if withModel {
		if err := os.WriteFile(filepath.Join(paths.ModelsDir, appdata.ModelFileName), []byte("GGUF fake"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{rec: &recorder{}, loader: &fakeLoader{tokens: strings.Split("Hello| there|,| how| can| I| help|?", "|"), delay: time.Millisecond}, paths: paths}
	cfg := Config{
		Paths:         paths,
		Version:       "test",
		NumCPU:        4,
		Load:          h.loader.Load,
		Emitter:       h.rec,
		StateInterval: 20 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	h.s = s
	s.Start()
	return h
}

// ready makes a harness with a loaded model.
func ready(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	h := newHarness(t, true, mod)
	waitStatus(t, h.s, StatusReady)
	return h
}

// has reports whether an event named name was emitted.
func (r *recorder) has(name string) bool { return len(r.all(name)) > 0 }
