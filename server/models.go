package server

import (
	"net/http"
	"strings"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// modelObject is an entry of GET /v1/models.
type modelObject struct {
	ID      string     `json:"id"`
	Object  string     `json:"object"` // "model"
	Created int64      `json:"created"`
	OwnedBy string     `json:"owned_by"`
	Meta    *modelMeta `json:"meta,omitempty"`
}

// modelMeta describes the loaded model. It leaves out the file paths of
// engine.ModelInfo: a server reachable from other machines should not show
// the user's directories.
type modelMeta struct {
	Name          string `json:"name"`
	Architecture  string `json:"architecture"`
	Parameters    int64  `json:"parameters"`
	ContextLength int    `json:"context_length"`
	Threads       int    `json:"threads"`
	WeightType    string `json:"weight_type"`
	EmbeddingType string `json:"embedding_type"`
	Kernel        string `json:"kernel,omitempty"`
	SizeBytes     int64  `json:"size_bytes,omitempty"`
	// Chat is false for a base model (it completes text: use
	// /v1/completions); Loaded tells which model is in memory.
	Chat   bool `json:"chat"`
	Loaded bool `json:"loaded"`
}

func metaOf(info engine.ModelInfo) *modelMeta {
	return &modelMeta{
		Name:          info.Name,
		Architecture:  info.Architecture,
		Parameters:    info.Parameters,
		ContextLength: info.ContextSize,
		Threads:       info.Threads,
		WeightType:    info.WeightType,
		EmbeddingType: info.EmbeddingType,
		Kernel:        info.Kernel,
		SizeBytes:     info.SizeBytes,
		Chat:          info.Chat,
	}
}

type modelList struct {
	Object string        `json:"object"` // "list"
	Data   []modelObject `json:"data"`
}

// modelEntries lists what GET /v1/models shows: a Library's models (the
// loaded one with its details), or the one model when it is loaded or
// loading.
func (s *Server) modelEntries() []modelObject {
	mk := func(id string) modelObject {
		return modelObject{ID: id, Object: "model", Created: s.created, OwnedBy: "bitnet-desktop"}
	}
	m, st := s.src.Current()
	if lib, ok := s.src.(Library); ok {
		var out []modelObject
		for _, c := range lib.Models() {
			obj := mk(c.ID)
			if c.Loaded && st == StateReady && m != nil {
				obj.Meta = metaOf(m.Info())
			} else {
				obj.Meta = &modelMeta{Name: c.Name, Architecture: c.Family, Parameters: c.Parameters, ContextLength: c.ContextLength}
			}
			obj.Meta.Chat = c.Chat
			obj.Meta.Loaded = c.Loaded && st == StateReady
			out = append(out, obj)
		}
		return out
	}
	switch {
	case st == StateReady && m != nil:
		obj := mk(s.cfg.ModelID)
		obj.Meta = metaOf(m.Info())
		obj.Meta.Loaded = true
		return []modelObject{obj}
	case st == StateLoading:
		return []modelObject{mk(s.cfg.ModelID)}
	}
	return nil
}

// handleModels serves GET /v1/models.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	list := modelList{Object: "list", Data: []modelObject{}}
	list.Data = append(list.Data, s.modelEntries()...)
	writeJSON(w, http.StatusOK, list)
}

// handleModel serves GET /v1/models/{id}.
func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	entries := s.modelEntries()
	for _, obj := range entries {
		if strings.EqualFold(obj.ID, id) {
			writeJSON(w, http.StatusOK, obj)
			return
		}
	}
	writeError(w, modelNotFound(id, entries))
}

// modelNotFound is the 404 of an unknown model, naming those that exist.
func modelNotFound(id string, entries []modelObject) *apiError {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	msg := "the model '" + id + "' does not exist"
	if len(ids) > 0 {
		msg += "; available: " + strings.Join(ids, ", ")
	}
	return &apiError{Status: http.StatusNotFound, Type: typeInvalidRequest, Param: "model", Code: codeModelNotFound, Message: msg}
}

// handleHealth serves GET /health: 200 when a model is ready, 503 while
// loading or with no model. It needs no API key.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	m, st := s.src.Current()
	switch {
	case st == StateReady && m != nil:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case st == StateLoading:
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": string(StateLoading)})
	default:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": string(StateNone)})
	}
}

// apiStatus is the answer of GET /api/chat (the web version's status).
type apiStatus struct {
	Status  State      `json:"status"`
	ModelID string     `json:"model_id"`
	Model   *modelMeta `json:"model"`
}

// handleStatus serves GET /api/chat.
func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	m, st := s.src.Current()
	out := apiStatus{Status: StateNone, ModelID: s.loadedID()}
	switch {
	case st == StateReady && m != nil:
		out.Status, out.Model = StateReady, metaOf(m.Info())
	case st == StateLoading:
		out.Status = StateLoading
	}
	writeJSON(w, http.StatusOK, out)
}

// loadedID is the id the API gives the loaded model: its Library id, or
// Config.ModelID.
func (s *Server) loadedID() string {
	if lib, ok := s.src.(Library); ok {
		for _, c := range lib.Models() {
			if c.Loaded {
				return c.ID
			}
		}
	}
	return s.cfg.ModelID
}
