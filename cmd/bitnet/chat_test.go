package main

import (
	"context"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// slowModel writes "word " tokens every few milliseconds until max or
// until its context ends (then the answer is "cancelled", as the engine's).
type slowModel struct {
	engine.Model
	mu      sync.Mutex
	reqs    []engine.Request
	started chan struct{}
	max     int
}

func (m *slowModel) Generate(ctx context.Context, req engine.Request, onToken func(engine.Token)) (engine.Result, error) {
	m.mu.Lock()
	m.reqs = append(m.reqs, req)
	m.mu.Unlock()
	m.started <- struct{}{}
	var b strings.Builder
	for i := 0; i < m.max; i++ {
		select {
		case <-ctx.Done():
			return engine.Result{Text: b.String(), Stats: engine.Stats{CompletionTokens: i, FinishReason: engine.FinishCancelled}}, nil
		case <-time.After(2 * time.Millisecond):
		}
		b.WriteString("word ")
		onToken(engine.Token{ID: 1, Text: "word "})
	}
	return engine.Result{Text: b.String(), Stats: engine.Stats{CompletionTokens: m.max, FinishReason: engine.FinishStop}}, nil
}

func (m *slowModel) requests() []engine.Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]engine.Request(nil), m.reqs...)
}

// syncWriter collects the chat's output.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestChatSession(t *testing.T) {
	lines := make(chan string)
	sigs := make(chan os.Signal, 4)
	model := &slowModel{started: make(chan struct{}, 4), max: 100000}
	out := &syncWriter{}
	c := &chat{model: model, out: out, system: "Be brief.", maxTokens: 0, lines: lines, sigs: sigs}
	done := make(chan error, 1)
	go func() { done <- c.run(context.Background()) }()
	waitOut := func(s string) { t.Helper(); waitCount(t, out, s, 1) }
	waitN := func(s string, n int) { t.Helper(); waitCount(t, out, s, n) }

	// Ctrl+C during an answer stops it; the chat goes on.
	lines <- "Tell me a long story."
	<-model.started
	waitOut("word word word")
	sigs <- os.Interrupt
	waitOut("[stopped after")
	waitOut(">>> ")

	// Commands are not sent to the model.
	lines <- "/help"
	waitOut("/system [TEXT]")
	lines <- "/frobnicate"
	waitOut("Unknown command /frobnicate")
	lines <- "/system"
	waitOut("System prompt: Be brief.")

	// The next question sees the stopped exchange.
	model.max = 3
	lines <- "And then?"
	<-model.started
	waitOut("[3 tokens")
	reqs := model.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (commands went to the model?)", len(reqs))
	}
	msgs := reqs[1].Messages
	if len(msgs) != 4 || msgs[0].Content != "Be brief." || msgs[1].Content != "Tell me a long story." ||
		!strings.HasPrefix(msgs[2].Content, "word word") || msgs[3].Content != "And then?" {
		t.Errorf("second request %+v", msgs)
	}

	// /system sets the prompt and starts over; /clear too.
	lines <- "/system Answer in Spanish."
	waitOut("system prompt set")
	lines <- "Hola"
	<-model.started
	waitN("[3 tokens", 2)
	waitN(">>> ", 7)
	if msgs := model.requests()[2].Messages; len(msgs) != 2 || msgs[0].Content != "Answer in Spanish." {
		t.Errorf("after /system: %+v", msgs)
	}

	// One Ctrl+C at the prompt warns; a second one quits.
	sigs <- os.Interrupt
	waitOut("Ctrl+C again or Ctrl+D to quit")
	select {
	case err := <-done:
		t.Fatalf("one Ctrl+C at the prompt quit: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	sigs <- os.Interrupt
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a second Ctrl+C did not quit")
	}
}

func waitCount(t *testing.T, out *syncWriter, s string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(out.String(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("output lacks %d× %q:\n%s", n, s, out.String())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestChatQuits(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  func(lines chan string, sigs chan os.Signal)
	}{
		{"ctrl-d", func(lines chan string, _ chan os.Signal) { close(lines) }},
		{"bye", func(lines chan string, _ chan os.Signal) { lines <- "/bye" }},
		{"sigterm", func(_ chan string, sigs chan os.Signal) { sigs <- syscall.SIGTERM }},
		{"multiline then ctrl-d", func(lines chan string, _ chan os.Signal) { lines <- `"""`; lines <- "a"; close(lines) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, sigs := make(chan string, 4), make(chan os.Signal, 4)
			c := &chat{model: &slowModel{started: make(chan struct{}, 4), max: 1}, out: &syncWriter{}, lines: lines, sigs: sigs}
			done := make(chan error, 1)
			go func() { done <- c.run(context.Background()) }()
			tc.act(lines, sigs)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("did not quit")
			}
		})
	}
}

func TestChatMultiline(t *testing.T) {
	lines := make(chan string, 8)
	model := &slowModel{started: make(chan struct{}, 4), max: 1}
	c := &chat{model: model, out: &syncWriter{}, lines: lines, sigs: make(chan os.Signal)}
	for _, l := range []string{`"""`, "first line", "", "second line", `"""`, "/bye"} {
		lines <- l
	}
	if err := c.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := model.requests()[0].Messages[0].Content; got != "first line\n\nsecond line" {
		t.Errorf("multi-line message %q", got)
	}
}
