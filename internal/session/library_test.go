package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/catalog"
	"github.com/bitnet-desktop/bitnet-desktop/server"
)

const falcon = "falcon3-1b-instruct-1.58bit"

func installFake(t *testing.T, h *harness, id, content string) string {
	t.Helper()
	p := filepath.Join(h.paths.ModelsDir, id, "ggml-model-i2_s.gguf")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func findModel(ms []LibraryModel, id string) LibraryModel {
	for _, m := range ms {
		if m.ID == id {
			return m
		}
	}
	return LibraryModel{}
}

// TestLibrary: several models side by side; switching loads the chosen
// one, answers say which model wrote them, deleting the loaded model
// unloads it and another becomes active.
func TestLibrary(t *testing.T) {
	h := ready(t, nil)
	falconPath := installFake(t, h, falcon, "GGUF falcon")
	ms := h.s.ListModels()
	if len(ms) != len(catalog.All()) {
		t.Errorf("%d models listed, want the %d catalog entries", len(ms), len(catalog.All()))
	}
	b := findModel(ms, catalog.BitNet2B4T)
	if !b.Installed || !b.Active || !b.Loaded || !b.InCatalog || !b.Verified || b.SizeBytes != int64(len("GGUF fake")) {
		t.Errorf("2B4T %+v", b)
	}
	f := findModel(ms, falcon)
	if !f.Installed || f.Active || f.Loaded || f.Path != falconPath || f.Family != "llama" || !f.Downloadable {
		t.Errorf("falcon %+v", f)
	}
	if l := findModel(ms, "llama3-8b-1.58-100b-tokens"); l.Installed || l.Downloadable || l.Chat {
		t.Errorf("llama3 %+v", l)
	}

	if err := h.s.SelectModel("nope"); engine.CodeOf(err) != CodeNotFound {
		t.Errorf("select unknown: %v", err)
	}
	if err := h.s.SelectModel(falcon); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, h.s, StatusReady)
	if st.Model == nil || st.Model.Path != falconPath || st.Model.ID != falcon || st.Model.DisplayName != "Falcon3 1B Instruct 1.58-bit" {
		t.Fatalf("after select: %+v", st.Model)
	}
	if h.s.GetSettings().ActiveModel != falcon {
		t.Errorf("active model not stored: %q", h.s.GetSettings().ActiveModel)
	}
	if !h.rec.has(EventModelsChanged) {
		t.Error("no models:changed event")
	}
	c, _ := h.s.CreateConversation()
	if _, err := h.s.SendMessage(c.ID, "hi"); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, EventChatDone, nil)
	conv, _ := h.s.GetConversation(c.ID)
	if a := conv.Messages[1]; a.ModelID != falcon || a.Model != "Falcon3 1B Instruct 1.58-bit" || conv.ModelID != falcon {
		t.Errorf("answer %+v, conversation model %q", a, conv.ModelID)
	}

	if err := h.s.DeleteModel(falcon); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(falconPath); !os.IsNotExist(err) {
		t.Error("file not deleted")
	}
	st = h.s.State()
	if st.Model != nil {
		t.Errorf("deleted model still loaded: %+v", st.Model)
	}
	if a := findModel(h.s.ListModels(), catalog.BitNet2B4T); !a.Active || h.s.GetSettings().ActiveModel != catalog.BitNet2B4T {
		t.Errorf("2B4T did not become active: %+v", a)
	}
	if err := h.s.DeleteModel(falcon); engine.CodeOf(err) != CodeNotFound {
		t.Errorf("delete twice: %v", err)
	}
}

// TestActiveModelAtStart: the stored active model is loaded at start, not
// the newest file.
func TestActiveModelAtStart(t *testing.T) {
	h := newHarness(t, true, nil)
	waitStatus(t, h.s, StatusReady)
	installFake(t, h, falcon, "GGUF newer")
	set := h.s.GetSettings()
	set.ActiveModel = catalog.BitNet2B4T
	if err := h.s.SaveSettings(set); err != nil {
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
	st := waitStatus(t, s2, StatusReady)
	if st.Model == nil || st.Model.ID != catalog.BitNet2B4T {
		t.Errorf("loaded %+v", st.Model)
	}
}

func TestInsufficientMemory(t *testing.T) {
	h := newHarness(t, true, func(c *Config) {
		c.MemAvailable = func() int64 { return 1 << 30 }
		c.Estimate = func(string, int, string) (int64, error) { return 3 << 30, nil }
	})
	st := waitStatus(t, h.s, StatusError)
	ee := st.Error
	if ee == nil || ee.Code != CodeNoMemory || ee.Params["needed"] != int64(3<<30) || ee.Params["available"] != int64(1<<30) {
		t.Errorf("error %+v", ee)
	}
	if h.loader.loadCount() != 0 {
		t.Error("the loader ran")
	}
}

// TestDownloadCatalogModel: another catalog model downloads into its
// folder and, with no model loaded, becomes the active one and loads.
func TestDownloadCatalogModel(t *testing.T) {
	body := "GGUF falcon bytes"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/"+falcon) {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()
	h := newHarness(t, false, func(c *Config) {
		c.CatalogSource = func(e catalog.Entry) (string, []string) { return srv.URL + "/" + e.ID, nil }
	})
	if err := h.s.DownloadModel("llama3-8b-1.58-100b-tokens"); engine.CodeOf(err) != engine.CodeInvalidRequest {
		t.Errorf("a model without a download: %v", err)
	}
	if err := h.s.DownloadModel(falcon); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, h.s, StatusReady)
	want := filepath.Join(h.paths.ModelsDir, falcon, "ggml-model-i2_s.gguf")
	if st.Model == nil || st.Model.Path != want || st.Model.ID != falcon {
		t.Fatalf("state %+v", st.Model)
	}
	if st.Download == nil || st.Download.ModelID != falcon {
		t.Errorf("download %+v", st.Download)
	}
	if b, _ := os.ReadFile(want); string(b) != body {
		t.Errorf("content %q", b)
	}
	if h.s.GetSettings().ActiveModel != falcon {
		t.Error("not active")
	}
}

// TestBaseModelCompletesText: a base model gets the conversation as one
// text to continue.
func TestBaseModelCompletesText(t *testing.T) {
	h := ready(t, nil)
	h.loader.model(t).base = true
	h.s.mu.Lock()
	h.s.info.Chat = false
	h.s.mu.Unlock()
	c, _ := h.s.CreateConversation()
	if _, err := h.s.SendMessage(c.ID, "Once upon a time"); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, EventChatDone, nil)
	req := h.loader.model(t).requests()[0]
	if !req.Raw || req.Prompt != "Once upon a time" || len(req.Messages) != 0 {
		t.Errorf("request %+v", req)
	}
}

// TestAPISource: the server's view of the library: installed models, and
// a request's model loaded on demand (never under the app's own answer).
func TestAPISource(t *testing.T) {
	h := ready(t, nil)
	installFake(t, h, falcon, "GGUF falcon")
	src := &APISource{S: h.s}
	cards := src.Models()
	if len(cards) != 2 || !cards[0].Loaded || cards[0].ID != catalog.BitNet2B4T || cards[1].ID != falcon {
		t.Fatalf("cards %+v", cards)
	}
	m, err := src.Use(context.Background(), falcon)
	if err != nil || m == nil || m.Info().Path != filepath.Join(h.paths.ModelsDir, falcon, "ggml-model-i2_s.gguf") {
		t.Fatalf("use: %v %v", m, err)
	}
	if cur, st := src.Current(); cur != m || st != server.StateReady {
		t.Errorf("current %v %v", cur, st)
	}
	// While the app generates, switching is refused.
	h.loader.model(t).hold = make(chan struct{})
	c, _ := h.s.CreateConversation()
	if _, err := h.s.SendMessage(c.ID, "hi"); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Use(context.Background(), catalog.BitNet2B4T); engine.CodeOf(err) != engine.CodeBusy {
		t.Errorf("use while generating: %v", err)
	}
	h.s.StopGeneration()
}

// TestSwitchThatDoesNotFit: a model too big for the free memory is refused
// and the loaded one stays loaded.
func TestSwitchThatDoesNotFit(t *testing.T) {
	h := ready(t, func(c *Config) {
		c.MemAvailable = func() int64 { return 1 << 30 }
		c.Estimate = func(p string, _ int, _ string) (int64, error) {
			if strings.Contains(p, falcon) {
				return 8 << 30, nil
			}
			return 1 << 29, nil
		}
	})
	installFake(t, h, falcon, "GGUF falcon")
	if err := h.s.SelectModel(falcon); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, h.s, StatusReady)
	if st.Error == nil || st.Error.Code != CodeNoMemory {
		t.Errorf("error %+v", st.Error)
	}
	if st.Model == nil || st.Model.ID != catalog.BitNet2B4T || h.loader.model(t).isClosed() {
		t.Errorf("the loaded model was unloaded: %+v", st.Model)
	}
}

// TestCompactMemoryFits: the memory check and the library's figures count
// the kv cache of the type the next load uses: a model that does not fit
// with an f16 cache loads with Compact memory (q8_0).
func TestCompactMemoryFits(t *testing.T) {
	h := ready(t, func(c *Config) {
		c.MemAvailable = func() int64 { return 1 << 30 }
		c.Estimate = func(p string, _ int, kv string) (int64, error) {
			if strings.Contains(p, falcon) && kv != "q8_0" {
				return 8 << 30, nil
			}
			return 1 << 29, nil
		}
	})
	installFake(t, h, falcon, "GGUF falcon")
	if err := h.s.SelectModel(falcon); err != nil {
		t.Fatal(err)
	}
	if st := waitStatus(t, h.s, StatusReady); st.Error == nil || st.Error.Code != CodeNoMemory {
		t.Fatalf("with an f16 cache: error %+v", st.Error)
	}
	ram := func() int64 {
		for _, m := range h.s.ListModels() {
			if m.ID == catalog.BitNet2B4T {
				return m.RAMBytes
			}
		}
		return 0
	}
	f16 := ram()
	set := h.s.GetSettings()
	set.KVCache = "q8_0"
	if err := h.s.SaveSettings(set); err != nil {
		t.Fatal(err)
	}
	if q8 := ram(); q8 <= 0 || q8 >= f16 {
		t.Errorf("the library's memory figure: %d with q8_0, %d with f16", q8, f16)
	}
	if err := h.s.SelectModel(falcon); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, h.s, StatusReady)
	if st.Error != nil || st.Model == nil || !strings.Contains(st.Model.Path, falcon) {
		t.Errorf("with a q8_0 cache: error %+v, model %+v", st.Error, st.Model)
	}
}

func TestSelectWhileBusy(t *testing.T) {
	h := ready(t, nil)
	installFake(t, h, falcon, "GGUF falcon")
	h.loader.model(t).hold = make(chan struct{})
	c, _ := h.s.CreateConversation()
	if _, err := h.s.SendMessage(c.ID, "hi"); err != nil {
		t.Fatal(err)
	}
	start := h.rec.waitFor(t, EventChatStart, nil).(ChatStart)
	if start.ModelID != catalog.BitNet2B4T || start.Model != "BitNet b1.58 2B4T" {
		t.Errorf("chat:start %+v", start)
	}
	if err := h.s.SelectModel(falcon); engine.CodeOf(err) != engine.CodeBusy {
		t.Errorf("select while generating: %v", err)
	}
	h.s.StopGeneration()
	h.rec.waitFor(t, EventChatDone, nil)
	waitStatus(t, h.s, StatusReady)
	if err := h.s.SelectModel(falcon); err != nil {
		t.Errorf("select after the answer: %v", err)
	}
}

// TestStartDownloadAfterCancel: a cancelled download of another model does
// not make the app's download button fetch that model.
func TestStartDownloadAfterCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers
	}))
	defer srv.Close()
	h := newHarness(t, false, func(c *Config) {
		c.CatalogSource = func(e catalog.Entry) (string, []string) { return srv.URL + "/" + e.ID, nil }
		c.DownloadURL = srv.URL + "/official.gguf"
	})
	if err := h.s.DownloadModel(falcon); err != nil {
		t.Fatal(err)
	}
	h.s.CancelDownload()
	if err := h.s.StartDownload(); err != nil {
		t.Fatal(err)
	}
	if st := h.s.State(); st.Download == nil || st.Download.ModelID != catalog.BitNet2B4T {
		t.Errorf("download %+v", st.Download)
	}
	h.s.CancelDownload()
}
