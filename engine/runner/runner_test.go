package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/graph"
	"github.com/bitnet-desktop/bitnet-desktop/engine/kernel"
)

func greedy() engine.Sampling { return engine.Sampling{Temperature: 0} }

func seeded(seed int64) engine.Sampling {
	s := engine.DefaultSampling()
	s.Seed = &seed
	return s
}

func chat(user string) []engine.Message {
	return []engine.Message{{Role: "system", Content: "You are a helpful assistant."}, {Role: "user", Content: user}}
}

// TestTernaryTensorsAreFilled: every tensor's bytes in the backend are
// the file's; with the ternary kernels, TQ2_0 tensors are the file's bytes
// packed by kernel.Pack.
func TestTernaryTensorsAreFilled(t *testing.T) {
	for _, k := range []string{"ggml", "auto", "avx512-1.6bit"} {
		t.Run(k, func(t *testing.T) {
			if l := kernelNames[k]; l != 0 && !kernel.Supported(l) {
				t.Skipf("this CPU cannot run the %v kernel", l)
			}
			testTernaryTensorsAreFilled(t, k)
		})
	}
}

func testTernaryTensorsAreFilled(t *testing.T, kern string) {
	path := tinyModel(t, "tiny", 3, "")
	m := load(t, path, engine.LoadOptions{Kernel: kern})
	raw, err := os.ReadFile(m.info.RunPath)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ti := range m.file.Tensors {
		bt := m.model.Backend().Get(ti.Name)
		if bt == nil {
			t.Fatalf("backend has no tensor %s", ti.Name)
		}
		off, size := m.file.DataRange(ti)
		// BackendGet copies the tensor's raw bytes into a float32 slice
		// of its element count, which is large enough for any type.
		f := bt.BackendGet()
		got := unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), size)
		want := raw[off : off+size]
		if ti.Type == gguf.TypeTQ2_0 && kern != "ggml" {
			level := m.model.(*graph.Model).Kernel
			p, ok := kernel.Pack(level, want, int(ti.Shape[1]), int(ti.Shape[0]))
			if !ok {
				t.Fatalf("tensor %s cannot be packed", ti.Name)
			}
			want = p
			// A layout of its own: compare its bytes, where the tensor
			// points (BackendGet would copy TQ2_0's size from there).
			got = kernel.Memory(bt)[:len(p)]
		}
		if !bytes.Equal(got, want) {
			t.Errorf("tensor %s (%s): backend bytes differ from the file", ti.Name, ti.Type)
		}
		if ti.Type == gguf.TypeTQ2_0 {
			n++
		}
	}
	if n != 7*m.spec.Blocks {
		t.Errorf("%d TQ2_0 tensors, want %d", n, 7*m.spec.Blocks)
	}
}

func TestGreedyIsDeterministicAndSeedsRepeat(t *testing.T) {
	m := load(t, tinyModel(t, "flat", 1, ""), engine.LoadOptions{})
	ctx := context.Background()
	run := func(s engine.Sampling) engine.Result {
		t.Helper()
		r, err := m.Generate(ctx, engine.Request{Messages: chat("Tell me a story about a cat."), MaxTokens: 24, Sampling: s, IgnoreEOS: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := run(greedy()), run(greedy())
	if !slices.Equal(a.TokenIDs, b.TokenIDs) || a.Text != b.Text {
		t.Errorf("greedy runs differ: %v vs %v", a.TokenIDs, b.TokenIDs)
	}
	s1, s2, s3 := run(seeded(42)), run(seeded(42)), run(seeded(43))
	if !slices.Equal(s1.TokenIDs, s2.TokenIDs) {
		t.Errorf("same seed, different tokens: %v vs %v", s1.TokenIDs, s2.TokenIDs)
	}
	if slices.Equal(s1.TokenIDs, s3.TokenIDs) {
		t.Errorf("seeds 42 and 43 gave the same %d tokens", len(s1.TokenIDs))
	}
}

func TestStreamedTextEqualsResult(t *testing.T) {
	m := load(t, tinyModel(t, "tiny", 2, ""), engine.LoadOptions{})
	var sb strings.Builder
	var ids []int32
	r, err := m.Generate(context.Background(), engine.Request{Messages: chat("¿Qué tal? 😀"), MaxTokens: 40, Sampling: seeded(1), IgnoreEOS: true},
		func(tok engine.Token) {
			sb.WriteString(tok.Text)
			if tok.ID >= 0 {
				ids = append(ids, tok.ID)
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	if sb.String() != r.Text {
		t.Errorf("streamed %q, result %q", sb.String(), r.Text)
	}
	if !slices.Equal(ids, r.TokenIDs) {
		t.Errorf("streamed ids %v, result %v", ids, r.TokenIDs)
	}
	if r.Stats.CompletionTokens != 40 || r.Stats.FinishReason != engine.FinishLength {
		t.Errorf("stats %+v", r.Stats)
	}
	if r.Stats.TTFT <= 0 || r.Stats.DecodeTPS <= 0 || r.Stats.PrefillTPS <= 0 {
		t.Errorf("missing timings: %+v", r.Stats)
	}
	// Control tokens (e.g. <|start_header_id|>) carry no text in answers.
	var textIDs []int32
	for _, id := range r.TokenIDs {
		if !m.tok.IsControl(id) {
			textIDs = append(textIDs, id)
		}
	}
	dec, _ := m.Detokenize(textIDs)
	if strings.ToValidUTF8(dec, "\uFFFD") != r.Text {
		t.Errorf("text %q is not the decoded tokens %q", r.Text, dec)
	}
}

func TestPrefixReuse(t *testing.T) {
	m := load(t, tinyModel(t, "tiny", 4, ""), engine.LoadOptions{})
	ctx := context.Background()
	msgs := chat("What is the capital of France?")
	r1, err := m.Generate(ctx, engine.Request{Messages: msgs, MaxTokens: 12, Sampling: greedy()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Stats.CachedTokens != 0 || r1.Stats.PrefillTokens != r1.Stats.PromptTokens {
		t.Errorf("first turn: %+v", r1.Stats)
	}
	msgs = append(msgs, engine.Message{Role: "assistant", Content: r1.Text}, engine.Message{Role: "user", Content: "And of Spain?"})
	r2, err := m.Generate(ctx, engine.Request{Messages: msgs, MaxTokens: 8, Sampling: greedy()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The second prompt is the first prompt, the answer, and the new turn.
	newTokens := r2.Stats.PromptTokens - r1.Stats.PromptTokens - len(r1.TokenIDs)
	if !slices.Equal(r2.PromptTokenIDs[:r1.Stats.PromptTokens], r1.PromptTokenIDs) {
		t.Fatalf("the second prompt does not start with the first")
	}
	// Every token of the first turn that went through the model is reused:
	// the prompt and all generated tokens but the last (never fed back).
	if r2.Stats.CachedTokens < r1.Stats.PromptTokens {
		t.Errorf("cached %d < first prompt %d", r2.Stats.CachedTokens, r1.Stats.PromptTokens)
	}
	if tokensMatch := slices.Equal(r2.PromptTokenIDs[r1.Stats.PromptTokens:r1.Stats.PromptTokens+len(r1.TokenIDs)], r1.TokenIDs); tokensMatch {
		if r2.Stats.PrefillTokens != newTokens+1 {
			t.Errorf("prefilled %d tokens, want the %d new ones plus the last answer token", r2.Stats.PrefillTokens, newTokens)
		}
	}
	t.Logf("turn 2: %d prompt tokens, %d cached, %d prefilled", r2.Stats.PromptTokens, r2.Stats.CachedTokens, r2.Stats.PrefillTokens)

	// The answer is the same as from a cold cache.
	cold := load(t, tinyModel(t, "tiny", 4, ""), engine.LoadOptions{})
	r3, err := cold.Generate(ctx, engine.Request{Messages: msgs, MaxTokens: 8, Sampling: greedy()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r3.TokenIDs, r2.TokenIDs) {
		t.Errorf("with reuse %v, cold %v", r2.TokenIDs, r3.TokenIDs)
	}
}

func TestCancelWithinOneToken(t *testing.T) {
	m := load(t, tinyModel(t, "small", 5, ""), engine.LoadOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	var cancelledAt time.Time
	r, err := m.Generate(ctx, engine.Request{Messages: chat("Count to a thousand."), Sampling: greedy(), IgnoreEOS: true}, func(engine.Token) {
		n++
		if n == 5 {
			cancelledAt = time.Now()
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Stats.FinishReason != engine.FinishCancelled {
		t.Errorf("finish %q, want cancelled", r.Stats.FinishReason)
	}
	if r.Stats.CompletionTokens != 5 {
		t.Errorf("%d tokens after cancelling at the 5th", r.Stats.CompletionTokens)
	}
	if d := time.Since(cancelledAt); d > time.Second {
		t.Errorf("took %v to stop", d)
	}
	// The model is usable afterwards.
	if _, err := m.Generate(context.Background(), engine.Request{Messages: chat("Hi"), MaxTokens: 3, Sampling: greedy()}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestBusy(t *testing.T) {
	m := load(t, tinyModel(t, "small", 6, ""), engine.LoadOptions{})
	started := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	done := make(chan error)
	go func() {
		_, err := m.Generate(context.Background(), engine.Request{Messages: chat("Long answer please"), MaxTokens: 50, Sampling: greedy(), IgnoreEOS: true},
			func(engine.Token) {
				once.Do(func() { close(started) })
				<-release
			})
		done <- err
	}()
	<-started
	_, err := m.Generate(context.Background(), engine.Request{Messages: chat("me too"), MaxTokens: 2}, nil)
	if !errors.Is(err, engine.ErrBusy) {
		t.Errorf("second caller: %v, want busy", err)
	}
	// A waiting caller gets its turn after the first finishes.
	waited := make(chan error)
	go func() {
		_, err := m.Generate(context.Background(), engine.Request{Messages: chat("me too"), MaxTokens: 2, Wait: true}, nil)
		waited <- err
	}()
	// A waiting caller whose context ends gives up.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := m.Generate(ctx, engine.Request{Messages: chat("x"), MaxTokens: 2, Wait: true}, nil); engine.CodeOf(err) != engine.CodeCancelled {
		t.Errorf("timed-out waiter: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
}

func TestContextOverflow(t *testing.T) {
	m := load(t, tinyModel(t, "tiny", 7, ""), engine.LoadOptions{ContextSize: 256})
	ctx := context.Background()
	long := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 60)
	// One message longer than the context: a clear error, not a crash.
	_, err := m.Generate(ctx, engine.Request{Messages: chat(long), MaxTokens: 8}, nil)
	if !errors.Is(err, engine.ErrContextExceeded) {
		t.Fatalf("got %v, want context_length_exceeded", err)
	}
	_, err = m.Generate(ctx, engine.Request{Raw: true, Prompt: long, MaxTokens: 8}, nil)
	if !errors.Is(err, engine.ErrContextExceeded) {
		t.Fatalf("raw: got %v, want context_length_exceeded", err)
	}
	// A long conversation drops its oldest turns and keeps the system prompt.
	msgs := []engine.Message{{Role: "system", Content: "Be brief."}}
	for i := 0; i < 12; i++ {
		msgs = append(msgs, engine.Message{Role: "user", Content: "Tell me about foxes and dogs, please."},
			engine.Message{Role: "assistant", Content: "Foxes are quick and dogs are lazy, mostly."})
	}
	msgs = append(msgs, engine.Message{Role: "user", Content: "Thanks!"})
	r, err := m.Generate(ctx, engine.Request{Messages: msgs, MaxTokens: 16, Sampling: greedy()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Stats.DroppedMessages == 0 || r.Stats.PromptTokens > 256-16 {
		t.Errorf("stats %+v: expected dropped turns and a prompt that leaves room", r.Stats)
	}
	if r.PromptTokenIDs[0] != m.tok.BOS {
		t.Errorf("prompt does not start with BOS")
	}
	sys, _ := m.tok.EncodePlain("System: Be brief.")
	if !slices.Equal(r.PromptTokenIDs[1:1+len(sys)], sys) {
		t.Errorf("system prompt was not kept")
	}
	// Generating until the context is full ends with "length".
	r, err = m.Generate(ctx, engine.Request{Messages: chat("Go on forever."), Sampling: greedy(), IgnoreEOS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Stats.FinishReason != engine.FinishLength || r.Stats.ContextUsed > 256 {
		t.Errorf("stats %+v", r.Stats)
	}
}

func TestStopStrings(t *testing.T) {
	m := load(t, tinyModel(t, "tiny", 8, ""), engine.LoadOptions{})
	ctx := context.Background()
	base, err := m.Generate(ctx, engine.Request{Messages: chat("Say something."), MaxTokens: 30, Sampling: greedy(), IgnoreEOS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(base.Text) < 6 {
		t.Skipf("answer too short to test stops: %q", base.Text)
	}
	stop := base.Text[3:6]
	var streamed strings.Builder
	r, err := m.Generate(ctx, engine.Request{Messages: chat("Say something."), MaxTokens: 30, Sampling: greedy(), IgnoreEOS: true, Stop: []string{stop}},
		func(tok engine.Token) { streamed.WriteString(tok.Text) })
	if err != nil {
		t.Fatal(err)
	}
	want := base.Text[:strings.Index(base.Text, stop)]
	if r.Text != want || streamed.String() != want {
		t.Errorf("with stop %q: text %q streamed %q, want %q", stop, r.Text, streamed.String(), want)
	}
	if r.Stats.FinishReason != engine.FinishStop {
		t.Errorf("finish %q", r.Stats.FinishReason)
	}
}

func TestBadRequests(t *testing.T) {
	m := load(t, tinyModel(t, "tiny", 9, ""), engine.LoadOptions{})
	ctx := context.Background()
	cases := []struct {
		name string
		req  engine.Request
		code string
	}{
		{"negative max tokens", engine.Request{Messages: chat("hi"), MaxTokens: -1}, engine.CodeInvalidRequest},
		{"bad temperature", engine.Request{Messages: chat("hi"), Sampling: engine.Sampling{Temperature: -1}}, engine.CodeInvalidRequest},
		{"bad top_p", engine.Request{Messages: chat("hi"), Sampling: engine.Sampling{TopP: 2}}, engine.CodeInvalidRequest},
		{"token outside vocabulary", engine.Request{Tokens: []int32{1, 2, 99999}}, engine.CodeInvalidRequest},
		{"negative token", engine.Request{Tokens: []int32{-5}}, engine.CodeInvalidRequest},
		{"bad role", engine.Request{Messages: []engine.Message{{Role: "wizard", Content: "x"}}}, engine.CodeInvalidRequest},
		{"ends with assistant", engine.Request{Messages: []engine.Message{{Role: "user", Content: "x"}, {Role: "assistant", Content: "y"}}}, engine.CodeInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Generate(ctx, tc.req, nil)
			if got := engine.CodeOf(err); got != tc.code {
				t.Errorf("code %q (%v), want %q", got, err, tc.code)
			}
		})
	}
	// Still fine afterwards.
	if _, err := m.Generate(ctx, engine.Request{Messages: chat("hi"), MaxTokens: 2}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestClosedModel(t *testing.T) {
	m := load(t, tinyModel(t, "tiny", 10, ""), engine.LoadOptions{})
	m.Close()
	_, err := m.Generate(context.Background(), engine.Request{Messages: chat("hi")}, nil)
	if !errors.Is(err, engine.ErrNotLoaded) {
		t.Errorf("got %v", err)
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	good := tinyModel(t, "tiny", 12, "")
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := map[string]string{
		"truncated":   write("trunc.gguf", raw[:len(raw)-1000]),
		"not gguf":    write("text.gguf", []byte("this is not a model at all")),
		"empty":       write("empty.gguf", nil),
		"header only": write("header.gguf", raw[:4096]),
		"folder":      dir,
		"missing":     dir + "/nope.gguf",
	}
	for name, path := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(context.Background(), path, engine.LoadOptions{CacheDir: t.TempDir()})
			if engine.CodeOf(err) != engine.CodeInvalidModel {
				t.Errorf("got %v, want invalid_model", err)
			}
		})
	}
}

// TestMeasure: a message's count and limit, and that a message at the
// limit is accepted by Generate while one over it would leave less than the
// answer room.
func TestMeasure(t *testing.T) {
	m := load(t, tinyModel(t, "tiny", 7, ""), engine.LoadOptions{ContextSize: 256})
	short, err := m.Measure(engine.Request{Messages: chat("Hello there."), MaxTokens: 64})
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := m.tok.EncodePlain("Hello there.")
	if short.MessageTokens != len(ids) || short.ContextSize != 256 {
		t.Errorf("measure %+v, want %d message tokens", short, len(ids))
	}
	// The limit is the context less the answer room (64 > 256/8 = 32) and
	// the fixed part of the prompt.
	fixed := short.PromptTokens - short.MessageTokens
	if want := 256 - engine.AnswerRoom(256, 64) - fixed; short.MessageLimit != want || engine.AnswerRoom(256, 64) != 32 {
		t.Errorf("limit %d, want %d", short.MessageLimit, want)
	}

	long := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 60)
	over, err := m.Measure(engine.Request{Messages: chat(long)})
	if err != nil {
		t.Fatal(err)
	}
	if over.MessageTokens <= over.MessageLimit || over.PromptTokens != 0 {
		t.Errorf("long message: %+v", over)
	}
	// Older turns do not count against the limit: they are dropped.
	msgs := []engine.Message{{Role: "system", Content: "Be brief."}}
	for range 12 {
		msgs = append(msgs, engine.Message{Role: "user", Content: "Tell me about foxes and dogs, please."},
			engine.Message{Role: "assistant", Content: "Foxes are quick and dogs are lazy, mostly."})
	}
	msgs = append(msgs, engine.Message{Role: "user", Content: "Thanks!"})
	hist, err := m.Measure(engine.Request{Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	if hist.DroppedMessages == 0 || hist.PromptTokens > 256-engine.AnswerRoom(256, 0) || hist.MessageTokens > hist.MessageLimit {
		t.Errorf("long history: %+v", hist)
	}
	// A message exactly at the limit generates.
	words := strings.Fields(long)
	lo, hi := 1, len(words)
	for lo < hi { // the longest prefix of words within the limit
		mid := (lo + hi + 1) / 2
		if mm, _ := m.Measure(engine.Request{Messages: chat(strings.Join(words[:mid], " "))}); mm.MessageTokens <= mm.MessageLimit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	at := strings.Join(words[:lo], " ")
	if _, err := m.Generate(context.Background(), engine.Request{Messages: chat(at), MaxTokens: 4, Sampling: greedy()}, nil); err != nil {
		t.Errorf("a message within the limit failed: %v", err)
	}
	if _, err := m.Measure(engine.Request{Messages: []engine.Message{{Role: "assistant", Content: "x"}}}); err == nil {
		t.Error("measure of a request not ending with a user message succeeded")
	}
}
