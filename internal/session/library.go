package session

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/catalog"
	"github.com/bitnet-desktop/bitnet-desktop/internal/appdata"
	"github.com/bitnet-desktop/bitnet-desktop/internal/library"
	"github.com/bitnet-desktop/bitnet-desktop/server"
)

// The model library: several models installed side by side in the models
// folder (package library), one of them active (the settings' activeModel)
// and loaded at a time.

// AppContext is the most context the desktop app gives a model: models
// that support more (Falcon3's 8192 and up) would otherwise reserve a kv
// cache of gigabytes.
const AppContext = 8192

// startModel is the file to load at start: BITNET_MODEL_PATH, else the
// active model of the settings, else the newest installed one.
func (s *Session) startModel() string {
	if s.cfg.Env.ModelPath != "" {
		return s.cfg.Env.ModelPath
	}
	if id := s.settings.Get().ActiveModel; id != "" {
		if m, ok := s.lib.Find(id); ok {
			return m.Path
		}
	}
	return appdata.FindModel(s.cfg.Paths, s.cfg.Env)
}

// modelIdentity is the library id and display name of the model file at
// path.
func (s *Session) modelIdentity(path string) (id, name string) {
	id = s.lib.IDOf(path)
	if e, ok := catalog.Find(id); ok {
		return id, e.Name
	}
	return id, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}

// ListModels returns the library: the catalog's models (installed or not),
// then the other installed files, then BITNET_MODEL_PATH's file when it is
// outside the library. RAMBytes counts the kv cache of the type the next load uses.
func (s *Session) ListModels() []LibraryModel {
	installed := s.lib.Installed()
	kv := s.settings.Get().KVCache
	s.mu.Lock()
	active := s.modelPath
	loaded := ""
	if s.info != nil {
		loaded = s.info.Path
	}
	s.mu.Unlock()
	byID := map[string]library.Model{}
	for _, m := range installed {
		if _, dup := byID[m.ID]; !dup {
			byID[m.ID] = m
		}
	}
	if p := s.cfg.Env.ModelPath; p != "" && appdata.Exists(p) {
		if id := s.lib.IDOf(p); byID[id].Path == "" {
			byID[id] = library.Model{ID: id, Path: p}
			installed = append(installed, byID[id])
		}
	}
	fill := func(lm *LibraryModel, m library.Model) {
		lm.Installed, lm.Path = true, m.Path
		if size := library.FileSize(m.Path); size >= 0 {
			lm.SizeBytes, lm.SizeExact = size, true
		}
		if need, err := library.Estimate(m.Path, AppContext, kv); err == nil {
			lm.RAMBytes = need
		}
		lm.Active, lm.Loaded = m.Path == active, m.Path == loaded
		lm.External = !s.inModelsDir(m.Path)
	}
	var out []LibraryModel
	for _, lm := range CatalogModels(kv) {
		if m, ok := byID[lm.ID]; ok {
			fill(&lm, m)
			delete(byID, lm.ID)
		}
		out = append(out, lm)
	}
	for _, m := range installed {
		if _, ok := byID[m.ID]; !ok {
			continue // a catalog model, listed above
		}
		delete(byID, m.ID)
		lm := LibraryModel{ID: m.ID, Name: m.Name()}
		if info, err := library.Inspect(m.Path); err == nil {
			lm.Family, lm.ContextSize, lm.Parameters, lm.Chat = string(info.Family), info.Context, info.Parameters, info.Chat
		}
		fill(&lm, m)
		out = append(out, lm)
	}
	return out
}

// CatalogModels is the catalog as the library lists it, nothing installed,
// with the memory each model needs with a kv cache of type kvCache.
func CatalogModels(kvCache string) []LibraryModel {
	var out []LibraryModel
	for _, e := range catalog.All() {
		out = append(out, LibraryModel{ID: e.ID, Name: e.Name, Publisher: e.Publisher, Family: string(e.Family), Parameters: e.Parameters,
			ContextSize: e.Context, Chat: e.Chat, License: e.License, Page: e.Page, SizeBytes: e.SizeBytes, SizeExact: e.SizeExact,
			RAMBytes: e.RAMBytes(min(e.Context, AppContext), kvCache), InCatalog: true, Downloadable: e.Downloadable(), Verified: len(e.SHA256) > 0})
	}
	return out
}

// SelectModel makes the installed model id the active one and loads it
// (unloading the current one).
func (s *Session) SelectModel(id string) error {
	m, ok := s.findInstalled(id)
	if !ok {
		return engine.Errorf(CodeNotFound, map[string]any{"id": id}, "the model %q is not installed", id)
	}
	s.mu.Lock()
	var busy error
	switch {
	case s.gen != nil:
		busy = engine.Errorf(engine.CodeBusy, map[string]any{"conversationId": s.gen.convID}, "stop the running answer before switching models")
	case s.op != nil:
		busy = engine.Errorf(engine.CodeBusy, nil, "a model is being loaded")
	}
	s.mu.Unlock()
	if busy != nil {
		return busy
	}
	if err := s.setActive(m.ID); err != nil {
		return err
	}
	s.mu.Lock()
	s.modelPath = m.Path
	s.mu.Unlock()
	s.changedModels()
	return s.LoadModel()
}

// DeleteModel deletes an installed model's file (and its converted copy),
// unloading it first. When it was the active model, the newest remaining
// one becomes active (not loaded).
func (s *Session) DeleteModel(id string) error {
	m, ok := s.findInstalled(id)
	if !ok {
		return engine.Errorf(CodeNotFound, map[string]any{"id": id}, "the model %q is not installed", id)
	}
	if !s.inModelsDir(m.Path) {
		return engine.Errorf(engine.CodeInvalidRequest, map[string]any{"path": m.Path},
			"%s is outside the models folder (BITNET_MODEL_PATH): delete it yourself", m.Path)
	}
	s.mu.Lock()
	loaded := s.info != nil && s.info.Path == m.Path
	active := s.modelPath == m.Path
	s.mu.Unlock()
	if loaded {
		if err := s.UnloadModel(); err != nil {
			return err
		}
	}
	if err := s.lib.Delete(m); err != nil {
		return engine.Wrap(engine.CodeIO, err, "could not delete %s", m.Name())
	}
	if active {
		next := appdata.FindModel(s.cfg.Paths, appdata.Env{})
		nextID := ""
		if next != "" {
			nextID = s.lib.IDOf(next)
		}
		if err := s.setActive(nextID); err != nil {
			s.log.Warn("settings", "err", err)
		}
		s.mu.Lock()
		s.modelPath = next
		s.mu.Unlock()
	}
	s.log.Info("model deleted", "id", m.ID, "path", m.Path)
	s.changedModels()
	s.states.Trigger(true)
	return nil
}

// inModelsDir reports whether path is a file of the models folder (a
// model of the library; BITNET_MODEL_PATH's file may be elsewhere).
func (s *Session) inModelsDir(path string) bool { return s.lib.Holds(path) }

// findInstalled finds an installed model by id, BITNET_MODEL_PATH's file
// included.
func (s *Session) findInstalled(id string) (library.Model, bool) {
	if m, ok := s.lib.Find(id); ok {
		return m, true
	}
	if p := s.cfg.Env.ModelPath; p != "" && strings.EqualFold(s.lib.IDOf(p), id) && appdata.Exists(p) {
		return library.Model{ID: s.lib.IDOf(p), Path: p}, true
	}
	return library.Model{}, false
}

// setActive stores the active model's id in the settings.
func (s *Session) setActive(id string) error {
	set := s.settings.Get()
	if set.ActiveModel == id {
		return nil
	}
	set.ActiveModel = id
	_, err := s.settings.Save(set)
	return err
}

// changedModels tells the front end that the library changed.
func (s *Session) changedModels() { s.emit(EventModelsChanged, struct{}{}) }

// APISource serves the library to the OpenAI-compatible server
// (server.Library): the installed models, the loaded one used by default,
// another loaded on request. Set S before the server starts.
type APISource struct{ S *Session }

var _ server.Library = (*APISource)(nil)

// Current implements server.ModelSource.
func (a *APISource) Current() (engine.Model, server.State) { return a.S.ServedModel() }

// Models implements server.Library: the installed models.
func (a *APISource) Models() []server.ModelCard {
	var out []server.ModelCard
	for _, m := range a.S.ListModels() {
		if !m.Installed {
			continue
		}
		out = append(out, server.ModelCard{ID: m.ID, Name: m.Name, Family: m.Family, Parameters: m.Parameters,
			ContextLength: m.ContextSize, Chat: m.Chat, Loaded: m.Loaded})
	}
	return out
}

// Use implements server.Library: it loads the model (as SelectModel: the
// app then uses it too) and waits for it. It refuses while the app is
// generating an answer rather than stop it.
func (a *APISource) Use(ctx context.Context, id string) (engine.Model, error) {
	s := a.S
	s.mu.Lock()
	busy := s.gen != nil
	if !busy && s.model != nil && s.info != nil && strings.EqualFold(s.info.ID, id) {
		m := s.model
		s.mu.Unlock()
		return m, nil
	}
	s.mu.Unlock()
	if busy {
		return nil, engine.Errorf(engine.CodeBusy, nil, "the app is generating an answer with another model; retry when it is done")
	}
	if err := s.SelectModel(id); err != nil {
		return nil, err
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		op, m, info, loadErr := s.op, s.model, s.info, s.loadErr
		s.mu.Unlock()
		switch {
		case op == nil && m != nil && info != nil && strings.EqualFold(info.ID, id):
			return m, nil
		case op == nil && loadErr != nil:
			return nil, loadErr
		case op == nil:
			return nil, engine.Errorf(engine.CodeNotLoaded, nil, "the model %q was not loaded", id)
		}
		select {
		case <-ctx.Done():
			return nil, engine.Wrap(engine.CodeCancelled, ctx.Err(), "gave up waiting for the model to load")
		case <-tick.C:
		}
	}
}
