package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine/catalog"

	"github.com/bitnet-desktop/bitnet-desktop/server"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/download"
	"github.com/bitnet-desktop/bitnet-desktop/internal/appdata"
	"github.com/bitnet-desktop/bitnet-desktop/internal/chatstore"
	"github.com/bitnet-desktop/bitnet-desktop/internal/settings"
)

func TestStartupStates(t *testing.T) {
	t.Run("no model", func(t *testing.T) {
		h := newHarness(t, false, nil)
		st := h.s.State()
		if st.Status != StatusNotInstalled || st.ModelPresent || st.Version != "test" || st.Threads != 3 {
			t.Errorf("state %+v", st)
		}
		if h.loader.loadCount() != 0 {
			t.Error("loaded without a model file")
		}
		c, _ := h.s.CreateConversation()
		if _, err := h.s.SendMessage(c.ID, "hi"); engine.CodeOf(err) != CodeNoModel {
			t.Errorf("SendMessage without a model: %v", err)
		}
		if err := h.s.LoadModel(); engine.CodeOf(err) != CodeNoModel {
			t.Errorf("LoadModel without a model: %v", err)
		}
	})
	t.Run("model loads at startup", func(t *testing.T) {
		h := ready(t, nil)
		st := h.s.State()
		if st.Model == nil || st.Model.Name != appdata.ModelFileName || st.ContextSize != 4096 || !st.ModelPresent {
			t.Errorf("state %+v", st)
		}
		if st.MemoryBytes <= 0 && runtime.GOOS == "linux" {
			t.Errorf("memory %d", st.MemoryBytes)
		}
		opts := h.loader.opts[0]
		if opts.Threads != 3 || opts.CacheDir != h.paths.CacheDir {
			t.Errorf("load options %+v", opts)
		}
		var statuses []string
		for _, e := range h.rec.all(EventState) {
			s := e.payload.(AppState).Status
			if len(statuses) == 0 || statuses[len(statuses)-1] != s {
				statuses = append(statuses, s)
			}
		}
		want := []string{StatusLoading, StatusConverting, StatusLoading, StatusReady}
		if strings.Join(statuses, ",") != strings.Join(want, ",") {
			t.Errorf("statuses %v, want %v", statuses, want)
		}
		// Each snapshot has a larger Seq than the one before: the front end
		// drops older ones, as Wails' dev server can reorder events.
		var last uint64
		for _, e := range h.rec.all(EventState) {
			if seq := e.payload.(AppState).Seq; seq <= last {
				t.Errorf("state seq %d after %d", seq, last)
			} else {
				last = seq
			}
		}
		if seq := h.s.State().Seq; seq <= last {
			t.Errorf("State().Seq %d, last event %d", seq, last)
		}
		if err := h.s.LoadModel(); err != nil || h.loader.loadCount() != 1 {
			t.Errorf("second LoadModel reloaded: %v", err)
		}
	})
	t.Run("load error", func(t *testing.T) {
		h := newHarness(t, true, func(c *Config) {
			c.Load = (&fakeLoader{err: engine.Errorf(engine.CodeInvalidModel, nil, "bad file")}).Load
		})
		st := waitStatus(t, h.s, StatusError)
		if st.Error == nil || st.Error.Code != engine.CodeInvalidModel {
			t.Errorf("state error %+v", st.Error)
		}
	})
	t.Run("BITNET_MODEL_PATH", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "mine.gguf")
		if err := os.WriteFile(other, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		h := newHarness(t, true, func(c *Config) { c.Env.ModelPath = other })
		waitStatus(t, h.s, StatusReady)
		if h.loader.loads[0] != other {
			t.Errorf("loaded %s", h.loader.loads[0])
		}
	})
}

func TestSendMessageStreams(t *testing.T) {
	h := ready(t, nil)
	c, err := h.s.CreateConversation()
	if err != nil {
		t.Fatal(err)
	}
	user, err := h.s.SendMessage(c.ID, "Hi! Who are you?")
	if err != nil {
		t.Fatal(err)
	}
	if user.Role != chatstore.RoleUser || user.Content != "Hi! Who are you?" || user.ConversationID != c.ID {
		t.Errorf("user message %+v", user)
	}
	done := h.rec.waitFor(t, EventChatDone, nil).(ChatDone)
	start := h.rec.all(EventChatStart)[0].payload.(ChatStart)
	if start.ConversationID != c.ID || start.MessageID != done.MessageID {
		t.Errorf("start %+v done %+v", start, done)
	}
	var joined strings.Builder
	for i, e := range h.rec.all(EventChatDelta) {
		d := e.payload.(ChatDelta)
		if d.Seq != i || d.MessageID != done.MessageID || d.Text == "" {
			t.Errorf("delta %d: %+v", i, d)
		}
		joined.WriteString(d.Text)
	}
	want := "Hello there, how can I help?"
	if joined.String() != want || done.Content != want || done.Status != chatstore.StatusDone {
		t.Errorf("deltas %q, done %+v", joined.String(), done)
	}
	if done.Stats.CompletionTokens != 8 || done.Stats.TTFTMs != 1.5 || done.Stats.FinishReason != "stop" {
		t.Errorf("stats %+v", done.Stats)
	}

	got, _ := h.s.GetConversation(c.ID)
	if got.Title != "Hi! Who are you?" || len(got.Messages) != 2 {
		t.Fatalf("conversation %+v", got)
	}
	a := got.Messages[1]
	if a.Content != want || a.Status != chatstore.StatusDone || a.Stats == nil || a.Stats.ContextUsed != 18 {
		t.Errorf("stored answer %+v", a)
	}
	st := waitStatus(t, h.s, StatusReady)
	if st.LastStats == nil || st.ContextUsed != 18 || st.GeneratingConversationID != "" {
		t.Errorf("state after answer %+v", st)
	}
	req := h.loader.model(t).requests()[0]
	if len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[0].Content != settings.DefaultSystemPrompt("en") ||
		req.Messages[1].Content != "Hi! Who are you?" || req.MaxTokens != 1024 || req.Sampling.Temperature != 0.8 {
		t.Errorf("request %+v", req)
	}
	if len(h.rec.all(EventConversationsChanged)) < 2 {
		t.Error("conversations:changed not sent")
	}
	if _, err := h.s.SendMessage(c.ID, "   "); engine.CodeOf(err) != engine.CodeInvalidRequest {
		t.Errorf("empty message: %v", err)
	}
	if _, err := h.s.SendMessage("nope", "hi"); engine.CodeOf(err) != CodeNotFound {
		t.Errorf("unknown conversation: %v", err)
	}
	waitStatus(t, h.s, StatusReady) // the failed send released the slot
}

func TestDeltaCoalescing(t *testing.T) {
	tokens := make([]string, 120)
	for i := range tokens {
		tokens[i] = "x"
	}
	h := ready(t, func(c *Config) { c.DeltaInterval = 20 * time.Millisecond })
	h.loader.model(t).tokens = tokens
	h.loader.model(t).delay = 500 * time.Microsecond
	c, _ := h.s.CreateConversation()
	if _, err := h.s.SendMessage(c.ID, "go"); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, EventChatDone, nil)
	deltas := h.rec.all(EventChatDelta)
	if len(deltas) < 2 || len(deltas) >= len(tokens)/2 {
		t.Errorf("%d deltas for %d tokens", len(deltas), len(tokens))
	}
	total := 0
	for i, d := range deltas {
		total += len(d.payload.(ChatDelta).Text)
		if i > 0 && i < len(deltas)-1 {
			if gap := d.at.Sub(deltas[i-1].at); gap < 15*time.Millisecond {
				t.Errorf("delta %d only %v after the previous one", i, gap)
			}
		}
	}
	if total != len(tokens) {
		t.Errorf("deltas carry %d bytes, want %d", total, len(tokens))
	}
}

func TestStopKeepsPartialAnswer(t *testing.T) {
	h := ready(t, func(c *Config) { c.PersistInterval = 5 * time.Millisecond })
	m := h.loader.model(t)
	m.tokens = strings.Split(strings.Repeat("word ", 500), " ")
	m.delay = 2 * time.Millisecond
	c, _ := h.s.CreateConversation()
	if _, err := h.s.SendMessage(c.ID, "Tell me a long story"); err != nil {
		t.Fatal(err)
	}
	start := h.rec.waitFor(t, EventChatStart, nil).(ChatStart)
	h.rec.waitFor(t, EventChatDelta, func(p any) bool { return p.(ChatDelta).Seq >= 3 })

	// Mid-stream, the database already holds what was shown (crash safety).
	deadline := time.Now().Add(5 * time.Second)
	for {
		msg, err := h.s.chats.GetMessage(context.Background(), start.MessageID)
		if err == nil && msg.Status == chatstore.StatusStreaming && msg.Content != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("streaming answer not stored: %+v %v", msg, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := h.s.State(); st.Status != StatusGenerating || st.GeneratingConversationID != c.ID {
		t.Errorf("state while generating %+v", st)
	}

	h.s.StopGeneration()
	done := h.rec.waitFor(t, EventChatDone, nil).(ChatDone)
	if done.Status != chatstore.StatusCancelled || done.Content == "" || len(done.Content) >= len(strings.Repeat("word ", 500)) {
		t.Errorf("done %+v", done)
	}
	msg, _ := h.s.chats.GetMessage(context.Background(), done.MessageID)
	if msg.Status != chatstore.StatusCancelled || msg.Content != done.Content {
		t.Errorf("stored %+v", msg)
	}
	waitStatus(t, h.s, StatusReady)
	h.s.StopGeneration() // nothing to stop: no-op
}

func TestConcurrentSendsAreBusy(t *testing.T) {
	h := ready(t, nil)
	m := h.loader.model(t)
	c1, _ := h.s.CreateConversation()
	c2, _ := h.s.CreateConversation()
	// Both conversations get an answer first, so Regenerate can succeed too.
	for i, c := range []string{c1.ID, c2.ID} {
		if _, err := h.s.SendMessage(c, "first"); err != nil {
			t.Fatal(err)
		}
		h.rec.waitFor(t, EventChatDone, func(any) bool { return len(h.rec.all(EventChatDone)) == i+1 })
		waitStatus(t, h.s, StatusReady)
	}
	hold := make(chan struct{})
	m.hold = hold
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, busy := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conv := c1.ID
			if i%2 == 1 {
				conv = c2.ID
			}
			var err error
			switch i % 3 {
			case 0:
				_, err = h.s.SendMessage(conv, "hello")
			case 1:
				err = h.s.Regenerate(conv)
			default:
				_, err = h.s.SendMessage(conv, "hey")
			}
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
				return
			}
			switch engine.CodeOf(err) {
			case engine.CodeBusy:
				busy++
			default:
				t.Errorf("unexpected error %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || busy == 0 {
		t.Errorf("%d sends succeeded, %d busy", ok, busy)
	}
	if st := h.s.State(); st.Status != StatusGenerating {
		t.Errorf("status %s while held", st.Status)
	}
	close(hold)
	h.rec.waitFor(t, EventChatDone, func(any) bool { return len(h.rec.all(EventChatDone)) == 3 })
	waitStatus(t, h.s, StatusReady)
	if len(m.requests()) != 3 {
		t.Errorf("%d generations ran, want 3", len(m.requests()))
	}
	// Once idle, the next send works.
	if _, err := h.s.SendMessage(c1.ID, "again"); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, EventChatDone, func(p any) bool { return len(h.rec.all(EventChatDone)) == 4 })
}

func TestRegenerateAndEdit(t *testing.T) {
	h := ready(t, nil)
	m := h.loader.model(t)
	c, _ := h.s.CreateConversation()
	send := func(text string) {
		t.Helper()
		before := len(h.rec.all(EventChatDone))
		if _, err := h.s.SendMessage(c.ID, text); err != nil {
			t.Fatal(err)
		}
		h.rec.waitFor(t, EventChatDone, func(any) bool { return len(h.rec.all(EventChatDone)) > before })
		waitStatus(t, h.s, StatusReady)
	}
	send("one")
	send("two")
	conv, _ := h.s.GetConversation(c.ID)
	if len(conv.Messages) != 4 {
		t.Fatalf("%d messages", len(conv.Messages))
	}
	oldAnswer := conv.Messages[3].ID

	before := len(h.rec.all(EventChatDone))
	if err := h.s.Regenerate(c.ID); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, EventChatDone, func(any) bool { return len(h.rec.all(EventChatDone)) > before })
	waitStatus(t, h.s, StatusReady)
	conv, _ = h.s.GetConversation(c.ID)
	if len(conv.Messages) != 4 || conv.Messages[3].ID == oldAnswer || conv.Messages[3].Role != chatstore.RoleAssistant {
		t.Errorf("after regenerate %+v", conv.Messages)
	}
	reqs := m.requests()
	last := reqs[len(reqs)-1]
	if n := len(last.Messages); n != 4 || last.Messages[n-1].Content != "two" {
		t.Errorf("regenerate request %+v", last.Messages)
	}

	before = len(h.rec.all(EventChatDone))
	if err := h.s.EditMessage(c.ID, conv.Messages[0].ID, "ONE"); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, EventChatDone, func(any) bool { return len(h.rec.all(EventChatDone)) > before })
	waitStatus(t, h.s, StatusReady)
	conv, _ = h.s.GetConversation(c.ID)
	if len(conv.Messages) != 2 || conv.Messages[0].Content != "ONE" {
		t.Errorf("after edit %+v", conv.Messages)
	}
	reqs = m.requests()
	if last = reqs[len(reqs)-1]; len(last.Messages) != 2 || last.Messages[1].Content != "ONE" {
		t.Errorf("edit request %+v", last.Messages)
	}
	if err := h.s.EditMessage(c.ID, conv.Messages[1].ID, "x"); engine.CodeOf(err) != engine.CodeInvalidRequest {
		t.Errorf("editing an answer: %v", err)
	}
	empty, _ := h.s.CreateConversation()
	if err := h.s.Regenerate(empty.ID); engine.CodeOf(err) != engine.CodeInvalidRequest {
		t.Errorf("regenerate empty: %v", err)
	}
	waitStatus(t, h.s, StatusReady)
}

func TestGenerationError(t *testing.T) {
	h := ready(t, nil)
	h.loader.model(t).err = engine.Errorf(engine.CodeContextExceeded, nil, "too long")
	c, _ := h.s.CreateConversation()
	if _, err := h.s.SendMessage(c.ID, "hi"); err != nil {
		t.Fatal(err)
	}
	e := h.rec.waitFor(t, EventChatError, nil).(ChatError)
	if e.Error == nil || e.Error.Code != engine.CodeContextExceeded || e.ConversationID != c.ID {
		t.Errorf("chat:error %+v", e)
	}
	msg, _ := h.s.chats.GetMessage(context.Background(), e.MessageID)
	if msg.Status != chatstore.StatusError {
		t.Errorf("stored %+v", msg)
	}
	waitStatus(t, h.s, StatusReady)
	// The failed answer keeps its partial text and Regenerate replaces it.
	h.loader.model(t).mu.Lock()
	h.loader.model(t).err = nil
	h.loader.model(t).mu.Unlock()
	if err := h.s.Regenerate(c.ID); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, EventChatDone, nil)
}

func TestDeleteConversationWhileGenerating(t *testing.T) {
	h := ready(t, nil)
	h.loader.model(t).delay = 20 * time.Millisecond
	c, _ := h.s.CreateConversation()
	if _, err := h.s.SendMessage(c.ID, "hi"); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, EventChatStart, nil)
	if err := h.s.DeleteConversation(c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.GetConversation(c.ID); engine.CodeOf(err) != CodeNotFound {
		t.Errorf("still there: %v", err)
	}
	waitStatus(t, h.s, StatusReady)
	if err := h.s.DeleteConversation(c.ID); engine.CodeOf(err) != CodeNotFound {
		t.Errorf("second delete: %v", err)
	}
}

func TestUnloadStopsGeneration(t *testing.T) {
	h := ready(t, nil)
	m := h.loader.model(t)
	m.delay = 20 * time.Millisecond
	c, _ := h.s.CreateConversation()
	if _, err := h.s.SendMessage(c.ID, "hi"); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, EventChatStart, nil)
	if err := h.s.UnloadModel(); err != nil {
		t.Fatal(err)
	}
	if !m.isClosed() {
		t.Error("model not closed")
	}
	st := h.s.State()
	if st.Status != StatusNotInstalled || !st.ModelPresent || st.Model != nil {
		t.Errorf("after unload %+v", st)
	}
	done := h.rec.waitFor(t, EventChatDone, nil).(ChatDone)
	if done.Status != chatstore.StatusCancelled {
		t.Errorf("answer status %s", done.Status)
	}
	if _, err := h.s.SendMessage(c.ID, "hi"); engine.CodeOf(err) != engine.CodeNotLoaded {
		t.Errorf("send after unload: %v", err)
	}
	if err := h.s.LoadModel(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, h.s, StatusReady)
}

// TestKVCacheSetting: the kv cache setting reaches the next load, not the
// loaded model.
func TestKVCacheSetting(t *testing.T) {
	h := ready(t, nil)
	if kv := h.loader.opts[0].KVCacheType; kv != "f16" {
		t.Errorf("first load with kv cache %q", kv)
	}
	set := h.s.GetSettings()
	set.KVCache = "q8_0"
	if err := h.s.SaveSettings(set); err != nil {
		t.Fatal(err)
	}
	if h.loader.loadCount() != 1 {
		t.Errorf("saving the setting loaded the model again")
	}
	if err := h.s.UnloadModel(); err != nil {
		t.Fatal(err)
	}
	if err := h.s.LoadModel(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, h.s, StatusReady)
	h.loader.mu.Lock()
	defer h.loader.mu.Unlock()
	if kv := h.loader.opts[len(h.loader.opts)-1].KVCacheType; kv != "q8_0" {
		t.Errorf("next load with kv cache %q", kv)
	}
}

func TestUnloadCancelsLoad(t *testing.T) {
	hold := make(chan struct{})
	loader := &fakeLoader{hold: hold}
	h := newHarness(t, true, func(c *Config) { c.Load = loader.Load })
	waitStatus(t, h.s, StatusLoading)
	if _, err := h.s.SendMessage("x", "hi"); engine.CodeOf(err) != engine.CodeNotLoaded {
		t.Errorf("send while loading: %v", err)
	}
	if err := h.s.UnloadModel(); err != nil {
		t.Fatal(err)
	}
	if st := h.s.State(); st.Status != StatusNotInstalled || st.Error != nil {
		t.Errorf("after cancelled load %+v", st)
	}
}

func TestImportModel(t *testing.T) {
	src := filepath.Join(t.TempDir(), "custom-model.gguf")
	if err := os.WriteFile(src, []byte("GGUF custom"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	if err := os.WriteFile(bad, []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	var validated []string
	var vmu sync.Mutex
	dialogs := &fakeDialogs{open: src}
	h := newHarness(t, false, func(c *Config) {
		c.Dialogs = dialogs
		c.Validate = func(p string) error {
			vmu.Lock()
			validated = append(validated, p)
			vmu.Unlock()
			if filepath.Base(p) == "bad.gguf" {
				return errors.New("missing tensor blk.0.attn_q.weight")
			}
			return nil
		}
	})

	if err := h.s.ImportModel(bad); engine.CodeOf(err) != engine.CodeInvalidModel {
		t.Errorf("import of a bad file: %v", err)
	}
	if err := h.s.ImportModel(filepath.Join(t.TempDir(), "missing.gguf")); engine.CodeOf(err) != CodeImportFailed {
		t.Errorf("import of a missing file: %v", err)
	}
	if models := h.s.lib.Installed(); len(models) != 0 {
		t.Errorf("bad import left files: %v", models)
	}

	got, err := h.s.ChooseModelFile()
	if err != nil || got != src {
		t.Fatalf("ChooseModelFile = %q, %v", got, err)
	}
	if dialogs.last.Filters[0].Pattern != "*.gguf" {
		t.Errorf("dialog %+v", dialogs.last)
	}
	st := waitStatus(t, h.s, StatusReady)
	// Imports go to a folder of their own (a file that is not a model's
	// GGUF is named after its file).
	dest := filepath.Join(h.paths.ModelsDir, "custom-model", "custom-model.gguf")
	if st.Model == nil || st.Model.Path != dest || !st.ModelPresent {
		t.Errorf("state %+v", st)
	}
	if b, _ := os.ReadFile(dest); string(b) != "GGUF custom" {
		t.Errorf("copied content %q", b)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(h.paths.ModelsDir, "*", ".import-*")); len(leftovers) != 0 {
		t.Errorf("temp files left: %v", leftovers)
	}
	vmu.Lock()
	if len(validated) != 2 || validated[1] != src {
		t.Errorf("validated %v", validated)
	}
	vmu.Unlock()

	dialogs.open = ""
	if got, err := h.s.ChooseModelFile(); got != "" || err != nil {
		t.Errorf("cancelled dialog: %q %v", got, err)
	}
	// Importing a file already in the models folder loads it in place.
	if err := h.s.ImportModel(dest); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, h.s, StatusReady)
	if n := h.loader.loadCount(); n != 2 {
		t.Errorf("%d loads", n)
	}
}

func TestDownloadFlow(t *testing.T) {
	data := []byte(strings.Repeat("GGUF model bytes ", 20000))
	sum := sha256.Sum256(data)
	var mu sync.Mutex
	gate := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		g := gate
		mu.Unlock()
		http.ServeContent(w, r, "m.gguf", time.Time{}, &gatedReader{data: data, gate: g})
	}))
	defer srv.Close()

	h := newHarness(t, false, func(c *Config) {
		c.DownloadURL = srv.URL + "/files/ggml-model-i2_s.gguf"
		c.DownloadSHA256 = []string{hex.EncodeToString(sum[:])}
		c.DownloadTuning = func(d *download.Config) {
			d.FreeSpace = func(string) (int64, error) { return 1 << 40, nil }
			d.ProgressInterval = time.Millisecond
		}
	})
	if err := h.s.StartDownload(); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, h.s, StatusDownloading)
	if st.Download == nil || st.Download.State != "running" {
		t.Errorf("download state %+v", st.Download)
	}
	if err := h.s.StartDownload(); err != nil {
		t.Errorf("second StartDownload: %v", err)
	}
	h.s.PauseDownload()
	st = h.s.State()
	if st.Status != StatusNotInstalled || st.Download == nil || st.Download.State != "paused" {
		t.Errorf("after pause %+v", st)
	}
	mu.Lock()
	close(gate)
	gate = nil
	mu.Unlock()
	if err := h.s.StartDownload(); err != nil {
		t.Fatal(err)
	}
	st = waitStatus(t, h.s, StatusReady)
	dest := filepath.Join(h.paths.ModelsDir, appdata.ModelFileName)
	if st.Model == nil || st.Model.Path != dest || st.Download.State != "done" {
		t.Errorf("after download %+v %+v", st, st.Download)
	}
	var sawVerify bool
	for _, e := range h.rec.all(EventState) {
		sawVerify = sawVerify || e.payload.(AppState).Status == StatusVerifying
	}
	if !sawVerify {
		t.Error("no verifying state was sent")
	}
}

// gatedReader serves the first half of data, then blocks reads until gate
// closes (a nil gate never blocks).
type gatedReader struct {
	data []byte
	gate chan struct{}
	off  int64
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.gate != nil && g.off >= int64(len(g.data)/2) {
		<-g.gate
	}
	if g.off >= int64(len(g.data)) {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 4096)], g.data[g.off:])
	g.off += int64(n)
	return n, nil
}

func (g *gatedReader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case 0:
		g.off = off
	case 1:
		g.off += off
	case 2:
		g.off = int64(len(g.data)) + off
	}
	return g.off, nil
}

func TestDownloadCancelAndFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusNotFound)
	}))
	defer srv.Close()
	h := newHarness(t, false, func(c *Config) { c.DownloadURL = srv.URL + "/x.gguf" })
	if err := h.s.StartDownload(); err != nil {
		t.Fatal(err)
	}
	p := h.rec.waitFor(t, EventState, func(p any) bool {
		d := p.(AppState).Download
		return d != nil && d.State == "failed"
	}).(AppState)
	if p.Download.Error == nil || p.Download.Error.Code != engine.CodeHTTP || p.Status != StatusNotInstalled {
		t.Errorf("failed download state %+v", p.Download)
	}

	// A partial file of an earlier run shows as paused and can be cancelled.
	part := download.PartPath(filepath.Join(h.paths.ModelsDir, "x.gguf"))
	if err := os.WriteFile(part, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	s2, err := New(h.s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.Start()
	if d := s2.State().Download; d == nil || d.State != "paused" || d.BytesDone != 7 {
		t.Errorf("restored download %+v", d)
	}
	s2.CancelDownload()
	if _, err := os.Stat(part); !errors.Is(err, os.ErrNotExist) {
		t.Error("partial file kept after cancel")
	}
	if d := s2.State().Download; d == nil || d.State != "cancelled" {
		t.Errorf("after cancel %+v", d)
	}
}

func TestDownloadSource(t *testing.T) {
	tests := []struct {
		name       string
		env, set   string
		wantURL    string
		wantHashes int
		wantFile   string
	}{
		{"official", "", "", OfficialModelURL, 2, appdata.ModelFileName},
		{"setting", "", "https://mirror.example/m/other.gguf", "https://mirror.example/m/other.gguf", 0, "other.gguf"},
		{"env wins", "http://127.0.0.1:1/a/b", "https://mirror.example/x.gguf", "http://127.0.0.1:1/a/b", 0, appdata.ModelFileName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, false, func(c *Config) { c.Env.DownloadURL = tt.env })
			set := h.s.GetSettings()
			set.DownloadURL = tt.set
			if err := h.s.SaveSettings(set); err != nil {
				t.Fatal(err)
			}
			src, err := h.s.downloadSource(catalog.BitNet2B4T)
			if err != nil || src.url != tt.wantURL || len(src.hashes) != tt.wantHashes || filepath.Base(src.dest) != tt.wantFile {
				t.Errorf("downloadSource = %+v %v", src, err)
			}
		})
	}
	for in, want := range map[string]string{
		"https://h/x/model.GGUF": "model.GGUF", "https://h/x/": appdata.ModelFileName, "https://h/.gguf": appdata.ModelFileName,
		"https://h/a%2F..%2Fb.gguf": "b.gguf", "::bad": appdata.ModelFileName,
	} {
		if got := downloadFileName(in); got != want {
			t.Errorf("downloadFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSettingsAndServer(t *testing.T) {
	srv := &fakeServer{}
	h := newHarness(t, false, func(c *Config) { c.Server = srv })
	set := h.s.GetSettings()
	if set.Threads != 3 || set.ServerPort != 8723 || set.ServerEnabled {
		t.Errorf("defaults %+v", set)
	}
	set.ServerEnabled, set.Temperature = true, 0.3
	if err := h.s.SaveSettings(set); err != nil {
		t.Fatal(err)
	}
	if st := h.s.State(); st.ServerURL != "http://127.0.0.1:8723/v1" || srv.running != 8723 {
		t.Errorf("server not started: %+v", st)
	}
	set.ServerPort = 9000
	if err := h.s.SaveSettings(set); err != nil {
		t.Fatal(err)
	}
	if srv.running != 9000 || h.s.State().ServerURL != "http://127.0.0.1:9000/v1" {
		t.Errorf("server not moved: %d", srv.running)
	}
	set.ServerEnabled = false
	if err := h.s.SaveSettings(set); err != nil {
		t.Fatal(err)
	}
	if srv.running != 0 || h.s.State().ServerURL != "" {
		t.Error("server not stopped")
	}
	srv.fail = true
	set.ServerEnabled = true
	if err := h.s.SaveSettings(set); engine.CodeOf(err) != engine.CodeIO {
		t.Errorf("failing server: %v", err)
	}
	if got := h.s.GetSettings(); got.Temperature != 0.3 || !got.ServerEnabled {
		t.Errorf("settings %+v", got)
	}
	set.DownloadURL = "ftp://nope"
	if err := h.s.SaveSettings(set); engine.CodeOf(err) != engine.CodeInvalidRequest {
		t.Errorf("bad URL: %v", err)
	}
	if h.s.DefaultSystemPrompt("es") == h.s.DefaultSystemPrompt("en") {
		t.Error("no Spanish prompt")
	}

	// The server starts at startup when enabled.
	srv2 := &fakeServer{}
	srv.fail = false
	cfg := h.s.cfg
	cfg.Server = srv2
	h.s.Close()
	s2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s2.Start()
	if srv2.running != 9000 {
		t.Errorf("server not started at startup")
	}
	if err := s2.Close(); err != nil || srv2.running != 0 {
		t.Errorf("Close did not stop the server: %v", err)
	}
}

func TestExportConversation(t *testing.T) {
	out := filepath.Join(t.TempDir(), "chat.md")
	dialogs := &fakeDialogs{save: out}
	h := ready(t, func(c *Config) { c.Dialogs = dialogs })
	c, _ := h.s.CreateConversation()
	if _, err := h.s.SendMessage(c.ID, "Export me"); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, EventChatDone, nil)
	waitStatus(t, h.s, StatusReady)
	got, err := h.s.ExportConversation(c.ID, "markdown")
	if err != nil || got != out {
		t.Fatalf("export = %q, %v", got, err)
	}
	if dialogs.last.DefaultName != "Export me.md" {
		t.Errorf("default name %q", dialogs.last.DefaultName)
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "## Assistant\n\nHello there, how can I help?") {
		t.Errorf("export:\n%s", b)
	}
	dialogs.save = ""
	if got, err := h.s.ExportConversation(c.ID, "json"); got != "" || err != nil {
		t.Errorf("cancelled export %q %v", got, err)
	}
	if _, err := h.s.ExportConversation(c.ID, "pdf"); engine.CodeOf(err) != engine.CodeInvalidRequest {
		t.Errorf("bad format: %v", err)
	}
}

func TestStateThrottle(t *testing.T) {
	h := ready(t, func(c *Config) { c.StateInterval = 50 * time.Millisecond })
	before := len(h.rec.all(EventState))
	h.s.mu.Lock()
	op, _ := h.s.beginOpLocked(opLoading, engine.StageLoading)
	h.s.mu.Unlock()
	start := time.Now()
	for i := range 1000 {
		h.s.onLoadProgress(op, engine.Progress{Stage: engine.StageLoading, Fraction: float64(i) / 1000})
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(start)
	time.Sleep(120 * time.Millisecond) // the trailing event
	events := h.rec.all(EventState)[before:]
	max := int(elapsed/(50*time.Millisecond)) + 2
	if len(events) == 0 || len(events) > max {
		t.Errorf("%d state events in %v, want 1..%d", len(events), elapsed, max)
	}
	if last := events[len(events)-1].payload.(AppState); last.LoadFraction != 0.999 {
		t.Errorf("last progress %v not delivered", last.LoadFraction)
	}
	h.s.mu.Lock()
	h.s.endOpLocked(op)
	h.s.mu.Unlock()
}

func TestJSError(t *testing.T) {
	tests := []struct {
		err      error
		wantCode string
		wantMsg  string
	}{
		{engine.Errorf(engine.CodeBusy, map[string]any{"a": 1}, "busy now"), engine.CodeBusy, "busy now"},
		{engine.Wrap(engine.CodeIO, errors.New("EACCES"), "cannot write"), engine.CodeIO, "cannot write: EACCES"},
		{errors.New("plain"), engine.CodeInternal, "plain"},
		{context.Canceled, engine.CodeCancelled, "context canceled"},
	}
	for _, tt := range tests {
		err := JSError(tt.err)
		var got struct {
			Code    string         `json:"code"`
			Params  map[string]any `json:"params"`
			Message string         `json:"message"`
		}
		if jerr := json.Unmarshal([]byte(err.Error()), &got); jerr != nil {
			t.Fatalf("%q is not JSON: %v", err.Error(), jerr)
		}
		if got.Code != tt.wantCode || got.Message != tt.wantMsg {
			t.Errorf("JSError(%v) = %s", tt.err, err.Error())
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("JSError(%v) does not unwrap", tt.err)
		}
	}
	if JSError(nil) != nil {
		t.Error("JSError(nil) != nil")
	}
	if v, err := JS(3, nil); v != 3 || err != nil {
		t.Error("JS")
	}
}

func TestCloseDuringGeneration(t *testing.T) {
	h := ready(t, nil)
	m := h.loader.model(t)
	m.delay = 10 * time.Millisecond
	c, _ := h.s.CreateConversation()
	if _, err := h.s.SendMessage(c.ID, "hi"); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, EventChatStart, nil)
	if err := h.s.Close(); err != nil {
		t.Fatal(err)
	}
	if !m.isClosed() {
		t.Error("model not closed")
	}
	// The answer was stored as cancelled before the database closed.
	chats, err := chatstore.Open(context.Background(), h.paths.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer chats.Close()
	conv, _ := chats.GetConversation(context.Background(), c.ID)
	if len(conv.Messages) != 2 || conv.Messages[1].Status != chatstore.StatusCancelled {
		t.Errorf("after close %+v", conv.Messages)
	}
	if _, err := h.s.SendMessage(c.ID, "hi"); engine.CodeOf(err) != engine.CodeCancelled {
		t.Errorf("send after close: %v", err)
	}
}

func TestRecoverInterruptedAnswer(t *testing.T) {
	h := newHarness(t, false, nil)
	c, _ := h.s.CreateConversation()
	m, err := h.s.chats.AddMessage(context.Background(), c.ID, chatstore.RoleAssistant, "half an ans", chatstore.StatusStreaming)
	if err != nil {
		t.Fatal(err)
	}
	cfg := h.s.cfg
	h.s.Close()
	s2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.Start()
	got, _ := s2.chats.GetMessage(context.Background(), m.ID)
	if got.Status != chatstore.StatusCancelled || got.Content != "half an ans" {
		t.Errorf("recovered %+v", got)
	}
}

func TestCoalescer(t *testing.T) {
	var mu sync.Mutex
	var got []string
	var seqs []int
	c := newCoalescer(30*time.Millisecond, func(seq int, text string) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, text)
		seqs = append(seqs, seq)
	})
	c.Add("a") // after a quiet period: at once
	c.Add("b") // within the interval: waits
	c.Add("c")
	c.Add("")
	mu.Lock()
	if len(got) != 1 || got[0] != "a" {
		t.Errorf("first flush %v", got)
	}
	mu.Unlock()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
	}
	mu.Lock()
	if len(got) != 2 || got[1] != "bc" {
		t.Errorf("timer flush %v", got)
	}
	mu.Unlock()
	time.Sleep(45 * time.Millisecond)
	c.Add("d") // quiet again: at once
	c.Add("e") // waits, flushed by Close
	if n := c.Close(); n != 4 {
		t.Errorf("Close = %d", n)
	}
	c.Add("f")
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, "|") != "a|bc|d|e" || seqs[3] != 3 {
		t.Errorf("got %v %v", got, seqs)
	}
}

func TestBuildRequest(t *testing.T) {
	set := settings.Defaults(4, appdata.Env{}, "en")
	set.SystemPrompt = "  "
	set.Temperature, set.TopK, set.TopP, set.MaxTokens = 0, 7, 0.5, 99
	req := buildRequest(set, []chatstore.Message{
		{Role: "user", Content: "a", Status: "done"},
		{Role: "assistant", Content: "", Status: "error"},
		{Role: "user", Content: "b", Status: "done"},
		{Role: "assistant", Content: "partial", Status: "cancelled"},
		{Role: "user", Content: "c", Status: "done"},
	}, true)
	var roles []string
	for _, m := range req.Messages {
		roles = append(roles, m.Role+":"+m.Content)
	}
	if strings.Join(roles, ",") != "user:a,user:b,assistant:partial,user:c" {
		t.Errorf("messages %v", roles)
	}
	if req.Sampling.Temperature != 0 || req.Sampling.TopK != 7 || req.Sampling.TopP != 0.5 || req.MaxTokens != 99 || req.Sampling.MinP != 0.05 {
		t.Errorf("request %+v", req)
	}
}

func TestServedModel(t *testing.T) {
	hold := make(chan struct{})
	loader := &fakeLoader{hold: hold}
	h := newHarness(t, true, func(c *Config) { c.Load = loader.Load })
	if m, st := h.s.ServedModel(); m != nil || st != server.StateLoading {
		t.Errorf("while loading: %v %s", m, st)
	}
	close(hold)
	waitStatus(t, h.s, StatusReady)
	if m, st := h.s.ServedModel(); m == nil || st != server.StateReady || m != h.s.Model() {
		t.Errorf("ready: %v %s", m, st)
	}
	if err := h.s.UnloadModel(); err != nil {
		t.Fatal(err)
	}
	if m, st := h.s.ServedModel(); m != nil || st != server.StateNone {
		t.Errorf("unloaded: %v %s", m, st)
	}
}

func TestReloadAfterCancelledLoad(t *testing.T) {
	hold := make(chan struct{})
	loader := &fakeLoader{hold: hold}
	h := newHarness(t, true, func(c *Config) { c.Load = loader.Load })
	waitStatus(t, h.s, StatusLoading)
	for range 3 { // unload and load again while the first load may still be pending
		if err := h.s.UnloadModel(); err != nil {
			t.Fatal(err)
		}
		if st := h.s.State(); st.Status != StatusNotInstalled {
			t.Fatalf("after unload: %s", st.Status)
		}
		if err := h.s.LoadModel(); err != nil {
			t.Fatal(err)
		}
	}
	close(hold)
	waitStatus(t, h.s, StatusReady)
	time.Sleep(20 * time.Millisecond) // let cancelled loads finish
	st := h.s.State()
	loader.mu.Lock()
	defer loader.mu.Unlock()
	open := 0
	for _, m := range loader.models {
		if !m.isClosed() {
			open++
		}
	}
	if st.Status != StatusReady || open != 1 || h.s.Model() == nil || h.s.Model().(*fakeModel).isClosed() {
		t.Errorf("status %s, %d open models of %d", st.Status, open, len(loader.models))
	}
}

func TestProgressWriterStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var got []int64
	w := &progressWriter{ctx: ctx, w: io.Discard, total: 10, report: func(d, _ int64) { got = append(got, d) }}
	if n, err := w.Write([]byte("abcd")); n != 4 || err != nil {
		t.Fatal(n, err)
	}
	cancel()
	if _, err := w.Write([]byte("ef")); !errors.Is(err, context.Canceled) {
		t.Errorf("write after cancel: %v", err)
	}
	if len(got) != 1 || got[0] != 4 {
		t.Errorf("reports %v", got)
	}
	if engine.CodeOf(copyError(context.Canceled, "x")) != engine.CodeCancelled {
		t.Error("copyError(cancelled)")
	}
}

// TestUnloadRacesSend: sends racing an unload either finish before it or
// are refused; none starts on the model being closed (which Close would
// wait for, holding up every later load).
func TestUnloadRacesSend(t *testing.T) {
	h := ready(t, nil)
	c, _ := h.s.CreateConversation()
	for i := range 20 {
		m := h.loader.model(t)
		m.delay = time.Millisecond
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := h.s.SendMessage(c.ID, "hi"); err != nil {
					if code := engine.CodeOf(err); code != engine.CodeBusy && code != engine.CodeNotLoaded {
						t.Errorf("send: %v", err)
						return
					}
				}
			}
		}()
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		if err := h.s.UnloadModel(); err != nil {
			t.Fatal(err)
		}
		h.s.mu.Lock()
		running := h.s.gen != nil && h.s.gen.model == m
		h.s.mu.Unlock()
		close(stop)
		wg.Wait()
		if running {
			t.Fatalf("run %d: an answer started on the model being unloaded", i)
		}
		if err := h.s.LoadModel(); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, h.s, StatusReady)
	}
}
