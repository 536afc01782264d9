package session

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/download"
)

func TestCountDraft(t *testing.T) {
	h := ready(t, nil)
	got, err := h.s.CountDraft("", strings.Repeat("abcd", 100))
	if err != nil {
		t.Fatal(err)
	}
	if got != (DraftCount{Tokens: 100, Limit: fakeLimit, ContextSize: 4096}) {
		t.Errorf("count %+v", got)
	}
	// Without a model there is nothing to count with.
	h2 := newHarness(t, false, nil)
	if _, err := h2.s.CountDraft("", "hi"); engine.CodeOf(err) != CodeNoModel {
		t.Errorf("no model: %v", err)
	}
}

// TestSendRefusesTooLong: a message over the limit is refused before
// anything is stored or emitted; the conversation is unchanged and the
// next message works.
func TestSendRefusesTooLong(t *testing.T) {
	h := ready(t, nil)
	c, err := h.s.CreateConversation()
	if err != nil {
		t.Fatal(err)
	}
	before := len(h.rec.all(""))
	long := strings.Repeat("word ", 20_000/5)
	for range 20 {
		_, err = h.s.SendMessage(c.ID, long)
		var ee *engine.Error
		if !errors.As(err, &ee) || ee.Code != engine.CodeContextExceeded ||
			ee.Params["tokens"] != 5000 || ee.Params["limit"] != fakeLimit {
			t.Fatalf("long message: %v (%+v)", err, ee)
		}
	}
	for _, e := range h.rec.all("")[before:] {
		if strings.HasPrefix(e.name, "chat:") || e.name == EventConversationsChanged {
			t.Errorf("refused message emitted %s", e.name)
		}
	}
	if got, _ := h.s.GetConversation(c.ID); len(got.Messages) != 0 {
		t.Errorf("refused message stored: %+v", got.Messages)
	}
	if st := h.s.State(); st.Status != StatusReady || st.GeneratingConversationID != "" {
		t.Errorf("state after refusals %+v", st)
	}
	if _, err := h.s.SendMessage(c.ID, "short"); err != nil {
		t.Fatalf("send after refusals: %v", err)
	}
	h.rec.waitFor(t, EventChatDone, nil)

	// Editing into a too long message is refused too, and keeps the message.
	got, _ := h.s.GetConversation(c.ID)
	if err := h.s.EditMessage(c.ID, got.Messages[0].ID, long); engine.CodeOf(err) != engine.CodeContextExceeded {
		t.Errorf("edit: %v", err)
	}
	if after, _ := h.s.GetConversation(c.ID); len(after.Messages) != 2 || after.Messages[0].Content != "short" {
		t.Errorf("conversation after refused edit %+v", after.Messages)
	}
}

func TestTruncateDraft(t *testing.T) {
	h := ready(t, nil)
	marker := "\n\n[truncated]"
	text := strings.Repeat("héllo wörld ", 3000) // 13 bytes a repeat: 39000 bytes, 9750 tokens
	got, err := h.s.TruncateDraft("", text, marker)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(got, marker) || !utf8.ValidString(got) || !strings.HasPrefix(text, strings.TrimSuffix(got, marker)) {
		t.Fatalf("truncated text is not a prefix plus the marker: ...%q", got[max(0, len(got)-40):])
	}
	// It fits, and one more character would not.
	if n := (len(got) + 3) / 4; n > fakeLimit {
		t.Errorf("truncated to %d tokens, limit %d", n, fakeLimit)
	}
	if n := (len(got) + 3 + 8) / 4; n <= fakeLimit-1 {
		t.Errorf("cut too much: %d bytes", len(got))
	}
	if _, err := h.s.SendMessage("", got); err != nil && engine.CodeOf(err) == engine.CodeContextExceeded {
		t.Errorf("the truncated draft is refused: %v", err)
	}
	// A draft that fits is returned unchanged.
	if same, _ := h.s.TruncateDraft("", "short", marker); same != "short" {
		t.Errorf("short draft became %q", same)
	}
}

func TestServerPortInUse(t *testing.T) {
	srv := &fakeServer{busy: true}
	h := newHarness(t, false, func(c *Config) { c.Server = srv })
	set := h.s.GetSettings()
	set.ServerEnabled = true
	err := h.s.SaveSettings(set)
	var ee *engine.Error
	if !errors.As(err, &ee) || ee.Code != CodePortInUse || ee.Params["port"] != 8723 || ee.Params["suggestedPort"] != 8724 {
		t.Fatalf("busy port: %v", err)
	}
	st := h.s.State()
	if st.ServerError == nil || st.ServerError.Code != CodePortInUse || st.ServerURL != "" {
		t.Errorf("state %+v", st)
	}
	// At start-up too.
	cfg := h.s.cfg
	h.s.Close()
	s2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.Start()
	if st := s2.State(); st.ServerError == nil || st.ServerError.Code != CodePortInUse {
		t.Errorf("start-up state %+v", st.ServerError)
	}
	// Another port clears it.
	srv.busy = false
	set.ServerPort = 8724
	if err := s2.SaveSettings(set); err != nil {
		t.Fatal(err)
	}
	if st := s2.State(); st.ServerError != nil || st.ServerURL == "" {
		t.Errorf("after moving: %+v %q", st.ServerError, st.ServerURL)
	}
}

// TestDownloadShowsFirstFailure: offline (nothing listens), the state says
// why at once and when the next attempt starts, while the download is
// still running; import stays possible meanwhile.
func TestDownloadShowsFirstFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h := newHarness(t, false, func(c *Config) {
		c.DownloadURL = "http://" + addr + "/m.gguf"
		c.DownloadTuning = func(d *download.Config) { d.RetryBase, d.RetryMax = 2*time.Second, 2*time.Second }
	})
	start := time.Now()
	if err := h.s.StartDownload(); err != nil {
		t.Fatal(err)
	}
	st := h.rec.waitFor(t, EventState, func(p any) bool {
		d := p.(AppState).Download
		return d != nil && d.Error != nil
	}).(AppState)
	if time.Since(start) > 5*time.Second {
		t.Errorf("the reason came after %v", time.Since(start))
	}
	d := st.Download
	if d.State != "running" || d.Error.Code != engine.CodeConnectionRefused || d.RetryAt == "" || st.Status != StatusDownloading {
		t.Errorf("state %+v / %+v", st.Status, d)
	}
	if at, err := time.Parse(time.RFC3339Nano, d.RetryAt); err != nil || at.Before(start) {
		t.Errorf("retryAt %q: %v", d.RetryAt, err)
	}
	h.s.CancelDownload()
}
