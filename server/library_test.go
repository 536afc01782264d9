package server

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// fakeLibrary offers two chat models and a base model, one loaded at a
// time; Use switches.
type fakeLibrary struct {
	mu     sync.Mutex
	models map[string]*fakeModel
	base   map[string]bool
	loaded string
	uses   []string
}

func newFakeLibrary() *fakeLibrary {
	return &fakeLibrary{models: map[string]*fakeModel{"alpha": newFake(), "beta": newFake(), "gamma-base": newFake()},
		base: map[string]bool{"gamma-base": true}, loaded: "alpha"}
}

func (l *fakeLibrary) Current() (engine.Model, State) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.loaded == "" {
		return nil, StateNone
	}
	return l.model(l.loaded), StateReady
}

func (l *fakeLibrary) model(id string) engine.Model {
	m := l.models[id]
	if l.base[id] {
		return baseModel{m}
	}
	return m
}

func (l *fakeLibrary) Models() []ModelCard {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []ModelCard
	for _, id := range []string{"alpha", "beta", "gamma-base"} {
		out = append(out, ModelCard{ID: id, Name: strings.ToUpper(id), Family: "llama", Parameters: 7, ContextLength: 4096,
			Chat: !l.base[id], Loaded: id == l.loaded})
	}
	return out
}

func (l *fakeLibrary) Use(ctx context.Context, id string) (engine.Model, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.uses = append(l.uses, id)
	l.loaded = id
	return l.model(id), nil
}

// baseModel refuses chat requests as the engine does for a base model.
type baseModel struct{ *fakeModel }

func (b baseModel) Generate(ctx context.Context, req engine.Request, onToken func(engine.Token)) (engine.Result, error) {
	if !req.Raw {
		return engine.Result{}, engine.Errorf(engine.CodeNotChat, nil, "this is a base model: it completes text and has no chat format")
	}
	return b.fakeModel.Generate(ctx, req, onToken)
}

func TestLibraryModels(t *testing.T) {
	lib := newFakeLibrary()
	h := newTestServerSrc(t, Config{}, lib).Handler()
	rec := do(t, h, "GET", "/v1/models", "")
	var list struct {
		Data []struct {
			ID   string `json:"id"`
			Meta struct {
				Name   string `json:"name"`
				Chat   bool   `json:"chat"`
				Loaded bool   `json:"loaded"`
			} `json:"meta"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Data) != 3 || list.Data[0].ID != "alpha" || !list.Data[0].Meta.Loaded || list.Data[1].Meta.Loaded ||
		list.Data[2].Meta.Chat || !list.Data[1].Meta.Chat {
		t.Errorf("models %s", rec.Body)
	}
	if rec := do(t, h, "GET", "/v1/models/beta", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"id":"beta"`) {
		t.Errorf("one model: %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, h, "GET", "/api/chat", ""); !strings.Contains(rec.Body.String(), `"model_id":"alpha"`) {
		t.Errorf("status %s", rec.Body)
	}
}

func TestLibrarySwitch(t *testing.T) {
	lib := newFakeLibrary()
	h := newTestServerSrc(t, Config{}, lib).Handler()
	// The loaded model answers without a switch.
	rec := do(t, h, "POST", "/v1/chat/completions", `{"model":"alpha","messages":[{"role":"user","content":"Hi"}]}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"model":"alpha"`) || strings.Contains(rec.Body.String(), "load_ms") {
		t.Errorf("alpha: %d %s", rec.Code, rec.Body)
	}
	// Another one is loaded first; the timings say how long that took.
	rec = do(t, h, "POST", "/v1/chat/completions", `{"model":"BETA","messages":[{"role":"user","content":"Hi"}],"stream":true}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"model":"beta"`) || !strings.Contains(rec.Body.String(), `"load_ms"`) {
		t.Errorf("beta: %d %s", rec.Code, rec.Body)
	}
	if len(lib.uses) != 1 || lib.uses[0] != "beta" || lib.models["beta"].lastRequest().Messages == nil {
		t.Errorf("uses %v", lib.uses)
	}
	// No model named: the loaded one.
	rec = do(t, h, "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Hi"}]}`)
	if !strings.Contains(rec.Body.String(), `"model":"beta"`) {
		t.Errorf("no model: %s", rec.Body)
	}
	// An unknown name: 404 listing what exists.
	rec = do(t, h, "POST", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`)
	e := apiErr(t, rec)
	if rec.Code != 404 || deref(e.Code) != codeModelNotFound || deref(e.Param) != "model" || !strings.Contains(e.Message, "alpha, beta, gamma-base") {
		t.Errorf("unknown: %d %+v", rec.Code, e)
	}
	// A base model refuses chat with a clear 400.
	rec = do(t, h, "POST", "/v1/chat/completions", `{"model":"gamma-base","messages":[{"role":"user","content":"Hi"}]}`)
	e = apiErr(t, rec)
	if rec.Code != 400 || deref(e.Code) != engine.CodeNotChat || !strings.Contains(e.Message, "/v1/completions") {
		t.Errorf("base model: %d %+v", rec.Code, e)
	}
}
