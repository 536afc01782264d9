package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"
	"time"
)

// routes builds the handler: middleware around the endpoints.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/health", methods{http.MethodGet: s.handleHealth})
	models := methods{http.MethodGet: s.handleModels}
	mux.Handle("/v1/models", models)
	mux.Handle("/models", models)
	model := methods{http.MethodGet: s.handleModel}
	mux.Handle("/v1/models/{id...}", model)
	mux.Handle("/models/{id...}", model)
	chat := methods{http.MethodPost: s.handleChat}
	mux.Handle("/v1/chat/completions", chat)
	mux.Handle("/chat/completions", chat)
	mux.Handle("/api/chat", methods{http.MethodGet: s.handleStatus, http.MethodPost: s.handleChat})
	completions := methods{http.MethodPost: s.handleCompletions}
	mux.Handle("/v1/completions", completions)
	mux.Handle("/completions", completions)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Type: typeNotFound, Code: codeNotFound,
			Message: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})

	var h http.Handler = mux
	h = s.auth(h)
	h = s.cors(h)
	h = s.hostCheck(h)
	if s.cfg.Logger != nil {
		h = s.logRequests(h)
	}
	return h
}

// methods dispatches on the request method and answers others with 405.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f, ok := m[r.Method]; ok {
		f(w, r)
		return
	}
	if f, ok := m[http.MethodGet]; ok && r.Method == http.MethodHead {
		f(w, r) // net/http drops the body
		return
	}
	allow := make([]string, 0, len(m))
	for k := range m {
		allow = append(allow, k)
	}
	sort.Strings(allow)
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Type: typeInvalidRequest, Code: codeMethod,
		Message: "method " + r.Method + " is not allowed on " + r.URL.Path + "; use " + strings.Join(allow, " or ")})
}

// auth requires the API key, when one is set, on every path but /health.
func (s *Server) auth(next http.Handler) http.Handler {
	if s.cfg.APIKey == "" {
		return next
	}
	want := sha256.Sum256([]byte(s.cfg.APIKey))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			next.ServeHTTP(w, r)
			return
		}
		key, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			writeError(w, &apiError{Status: http.StatusUnauthorized, Type: typeAuthentication, Code: codeInvalidAPIKey,
				Message: "missing API key: send it as 'Authorization: Bearer <key>'"})
			return
		}
		got := sha256.Sum256([]byte(key))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			writeError(w, &apiError{Status: http.StatusUnauthorized, Type: typeAuthentication, Code: codeInvalidAPIKey,
				Message: "incorrect API key"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// cors answers preflights and sets CORS headers for allowed origins, and
// refuses requests from browser origins that are not allowed (so that a web
// page cannot drive the local model).
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		if !originAllowed(s.cfg.AllowedOrigins, origin) {
			writeError(w, &apiError{Status: http.StatusForbidden, Type: typePermission, Code: codeOriginForbidden,
				Message: "origin " + origin + " is not allowed; add it to the server's allowed origins"})
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "Retry-After")
		if r.Method == http.MethodOptions {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
				h.Set("Access-Control-Allow-Headers", req)
			} else {
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			}
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// originAllowed matches origin against the allowed list: "*" allows any,
// and a pattern may use * within a part, e.g. "http://localhost:*".
func originAllowed(allowed []string, origin string) bool {
	o := strings.ToLower(strings.TrimSuffix(origin, "/"))
	return slices.ContainsFunc(allowed, func(p string) bool {
		p = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(p), "/"))
		if p == "*" || p == o {
			return true
		}
		ok, err := path.Match(p, o)
		return err == nil && ok
	})
}

// hostCheck protects a loopback-only server from DNS rebinding: a page on
// evil.example that resolves its name to 127.0.0.1 sends Host: evil.example.
func (s *Server) hostCheck(next http.Handler) http.Handler {
	if !isLoopbackHost(s.cfg.Host) {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "" && !isLoopbackHost(hostOnly(r.Host)) {
			writeError(w, &apiError{Status: http.StatusForbidden, Type: typePermission, Code: codeHostForbidden,
				Message: "host " + r.Host + " is not allowed: the server listens on the loopback address only"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

func isLoopbackHost(h string) bool {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// statusRecorder remembers the status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = 499 // the client left before an answer
		}
		s.cfg.Logger.Info("http request", "method", r.Method, "path", r.URL.Path, "status", status,
			"duration", time.Since(start).Round(time.Millisecond), "remote", r.RemoteAddr)
	})
}
