package server

import (
	"net/http"

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
	SizeBytes     int64  `json:"size_bytes"`
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
	}
}

type modelList struct {
	Object string        `json:"object"` // "list"
	Data   []modelObject `json:"data"`
}

// modelEntry returns the model entry, or false when no model is loaded or
// loading.
func (s *Server) modelEntry() (modelObject, bool) {
	m, st := s.src.Current()
	obj := modelObject{ID: s.cfg.ModelID, Object: "model", Created: s.created, OwnedBy: "bitnet-desktop"}
	switch {
	case st == StateReady && m != nil:
		obj.Meta = metaOf(m.Info())
		return obj, true
	case st == StateLoading:
		return obj, true
	}
	return obj, false
}

// handleModels serves GET /v1/models: the model when one is loaded or
// loading, else an empty list.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	list := modelList{Object: "list", Data: []modelObject{}}
	if obj, ok := s.modelEntry(); ok {
		list.Data = append(list.Data, obj)
	}
	writeJSON(w, http.StatusOK, list)
}

// handleModel serves GET /v1/models/{id}.
func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if obj, ok := s.modelEntry(); ok && id == obj.ID {
		writeJSON(w, http.StatusOK, obj)
		return
	}
	writeError(w, &apiError{Status: http.StatusNotFound, Type: typeInvalidRequest, Param: "model", Code: codeModelNotFound,
		Message: "the model '" + id + "' does not exist"})
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
	out := apiStatus{Status: StateNone, ModelID: s.cfg.ModelID}
	switch {
	case st == StateReady && m != nil:
		out.Status, out.Model = StateReady, metaOf(m.Info())
	case st == StateLoading:
		out.Status = StateLoading
	}
	writeJSON(w, http.StatusOK, out)
}
