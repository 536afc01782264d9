package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// OpenAI error types.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typePermission     = "permission_error"
	typeNotFound       = "not_found_error"
	typeRateLimit      = "rate_limit_error"
	typeUnavailable    = "unavailable_error"
	typeServer         = "server_error"
)

// Error codes the server adds to engine's.
const (
	codeInvalidJSON     = "invalid_json"
	codeInvalidValue    = "invalid_value"
	codeInvalidAPIKey   = "invalid_api_key"
	codeOriginForbidden = "origin_not_allowed"
	codeHostForbidden   = "host_not_allowed"
	codeTooLarge        = "request_too_large"
	codeNotFound        = "not_found"
	codeModelNotFound   = "model_not_found"
	codeMethod          = "method_not_allowed"
	codeQueueFull       = "queue_full"
	codeLoading         = "model_loading"
	codeShuttingDown    = "shutting_down"
)

// apiError is an error in the OpenAI envelope with its HTTP status.
type apiError struct {
	Status     int
	Message    string
	Type       string
	Param      string // "" is written as null
	Code       string // "" is written as null
	RetryAfter int    // seconds; 0 = no Retry-After header
}

func (e *apiError) Error() string { return e.Message }

// errorBody is the JSON of an error: {"error":{...}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) body() errorBody {
	d := errorDetail{Message: e.Message, Type: e.Type}
	if e.Param != "" {
		p := e.Param
		d.Param = &p
	}
	if e.Code != "" {
		c := e.Code
		d.Code = &c
	}
	return errorBody{Error: d}
}

func badRequest(param, code, msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: param, Code: code, Message: msg}
}

// writeError writes e as the whole response.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bitnet"`)
	}
	writeJSON(w, e.Status, e.body())
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only NaN/Inf or a bug gets here; answer with a plain envelope.
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"message":"internal error: could not encode the response","type":"server_error","param":null,"code":"internal"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// fromEngine maps an error from engine.Model.Generate to the API error.
func fromEngine(err error) *apiError {
	code := engine.CodeOf(err)
	msg := err.Error()
	var ee *engine.Error
	if errors.As(err, &ee) && ee.Msg != "" {
		msg = ee.Error()
	}
	switch code {
	case engine.CodeContextExceeded:
		return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: "messages", Code: code, Message: msg}
	case engine.CodeInvalidRequest:
		return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: paramOf(ee), Code: code, Message: msg}
	case engine.CodeBusy:
		return &apiError{Status: http.StatusTooManyRequests, Type: typeRateLimit, Code: code, Message: msg, RetryAfter: 2}
	case engine.CodeNotLoaded:
		return &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Code: code, Message: msg, RetryAfter: 5}
	case engine.CodeNotChat:
		return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: "messages", Code: code,
			Message: msg + " (POST /v1/completions takes a prompt)"}
	case codeNoMemory:
		return &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Param: "model", Code: code, Message: msg}
	case engine.CodeInvalidModel:
		return &apiError{Status: http.StatusInternalServerError, Type: typeServer, Param: "model", Code: code, Message: msg}
	case engine.CodeCancelled:
		return shuttingDown()
	default:
		return &apiError{Status: http.StatusInternalServerError, Type: typeServer, Code: code, Message: msg}
	}
}

// paramOf names the request parameter an engine error is about, from its
// params: {"param": name} or, for a message, {"index": i}.
func paramOf(e *engine.Error) string {
	if e == nil {
		return ""
	}
	if p, ok := e.Params["param"].(string); ok {
		return p
	}
	if _, ok := e.Params["index"]; ok {
		return "messages" // the index is the engine's, after system messages were merged
	}
	return ""
}

// codeNoMemory is the desktop app's code for a model that does not fit in
// free memory (its session says so when a request switches models).
const codeNoMemory = "insufficient_memory"

func shuttingDown() *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Code: codeShuttingDown,
		Message: "the server is shutting down", RetryAfter: 5}
}

// clientGone reports whether ctx ended because the client went away (as
// opposed to a server shutdown).
func clientGone(ctx context.Context) bool {
	return ctx.Err() != nil && !errors.Is(context.Cause(ctx), errShuttingDown)
}
