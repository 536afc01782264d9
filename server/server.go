// Package server is BitNet Desktop's local OpenAI-compatible HTTP API. The
// same server runs headless (`bitnet serve`) and inside the desktop app (a
// setting, off by default), always on the in-process engine.
//
// Endpoints:
//
//	GET  /health                 200 {"status":"ok"}; 503 while loading or with no model
//	GET  /v1/models              the served model (also /models)
//	GET  /v1/models/{id}         one model
//	POST /v1/chat/completions    OpenAI Chat Completions, streaming and not (also /chat/completions)
//	GET  /api/chat               model status, as the web version had it
//	POST /api/chat               the same as /v1/chat/completions
//
// With Config.APIKey set, every endpoint but /health needs
// "Authorization: Bearer KEY". Errors use the OpenAI envelope
// {"error":{"message","type","param","code"}}.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// Defaults for the zero values of Config.
const (
	DefaultHost         = "127.0.0.1"
	DefaultPort         = 8723 // not used by LM Studio, Jan, GPT4All, llama.cpp or Ollama
	DefaultModelID      = "bitnet-b1.58-2b4t"
	DefaultMaxBodyBytes = 4 << 20
	DefaultQueueSize    = 4
)

// shutdownTimeout bounds the graceful shutdown when Serve's context ends.
const shutdownTimeout = 5 * time.Second

// Config configures a Server. The zero value is usable: it serves on
// 127.0.0.1:8723 without a key, without CORS and with a queue of 4.
type Config struct {
	// Host is the address to bind; "" means 127.0.0.1. Use "0.0.0.0" (and
	// set APIKey) to reach the server from other machines.
	Host string
	// Port is the TCP port; 0 means DefaultPort.
	Port int
	// APIKey, when set, is required as "Authorization: Bearer APIKey" on
	// every endpoint but /health.
	APIKey string
	// AllowedOrigins lists the browser origins (scheme://host[:port]) that
	// may call the server; "*" allows any. A request that carries another
	// Origin header is refused with 403. Non-browser clients send no Origin.
	AllowedOrigins []string
	// MaxBodyBytes bounds request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// QueueSize is how many chat requests may wait while one generates; 0
	// means DefaultQueueSize and a negative value means no queue (a busy
	// model answers 429 at once). A request beyond the queue gets 429 with
	// Retry-After.
	QueueSize int
	// ModelID is the model name the API reports; "" means DefaultModelID.
	// Requests may name any model: the loaded one answers.
	ModelID string
	// Logger receives one line per request; nil logs nothing.
	Logger *slog.Logger
}

// withDefaults fills the zero values.
func (c Config) withDefaults() Config {
	if c.Host == "" {
		c.Host = DefaultHost
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.ModelID == "" {
		c.ModelID = DefaultModelID
	}
	return c
}

// State is the state of the model behind the server.
type State string

// Model states, as GET /api/chat reports them.
const (
	StateNone    State = "not_loaded"
	StateLoading State = "loading"
	StateReady   State = "ready"
)

// ModelSource gives the server the model to use for each request, so that
// the desktop app can load, swap and unload models while the server runs.
// Current must be safe for concurrent use; the model must be non-nil when
// the state is StateReady.
type ModelSource interface {
	Current() (engine.Model, State)
}

// ModelSourceFunc adapts a function to ModelSource.
type ModelSourceFunc func() (engine.Model, State)

// Current calls f.
func (f ModelSourceFunc) Current() (engine.Model, State) { return f() }

// ModelCard is a model a Library offers.
type ModelCard struct {
	ID            string
	Name          string
	Family        string
	Parameters    int64
	ContextLength int
	Chat          bool // false: a base model (completes text; chat requests fail)
	Loaded        bool
}

// Library is a ModelSource that offers several models: GET /v1/models
// lists them and a request's "model" selects one, loading it in place of
// the loaded one (one model is loaded at a time). Models and Use must be
// safe for concurrent use.
type Library interface {
	ModelSource
	Models() []ModelCard
	// Use returns the model with the given id (a Models card's), loaded;
	// it fails with an *engine.Error (busy, model_not_loaded,
	// insufficient_memory, invalid_model...) when it cannot.
	Use(ctx context.Context, id string) (engine.Model, error)
}

// ModelHolder is a ModelSource that holds one model. The zero value holds
// none. It is safe for concurrent use.
type ModelHolder struct {
	mu    sync.RWMutex
	model engine.Model
	state State
}

// Current returns the held model and its state.
func (h *ModelHolder) Current() (engine.Model, State) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.state == "" {
		return nil, StateNone
	}
	return h.model, h.state
}

// SetLoading marks a model as loading (requests get 503 until SetReady).
func (h *ModelHolder) SetLoading() { h.set(nil, StateLoading) }

// SetReady makes m the served model.
func (h *ModelHolder) SetReady(m engine.Model) {
	if m == nil {
		h.set(nil, StateNone)
		return
	}
	h.set(m, StateReady)
}

// Clear removes the model; it returns the one that was held (or nil) so the
// caller can close it.
func (h *ModelHolder) Clear() engine.Model {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.model
	h.model, h.state = nil, StateNone
	return m
}

func (h *ModelHolder) set(m engine.Model, st State) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.model, h.state = m, st
}

// errShuttingDown is the cancel cause of every request context once
// Shutdown has begun: it tells a shutdown apart from a client that left.
var errShuttingDown = errors.New("server is shutting down")

// Server is the HTTP API. Create it with New. One Server serves once:
// after Shutdown, make a new one.
type Server struct {
	cfg     Config
	src     ModelSource
	handler http.Handler
	created int64 // reported as the model's "created"

	// slots holds one token per admitted chat request (running or queued).
	slots chan struct{}
	wait  bool // queued requests wait inside the engine (Request.Wait)
	// run admits one request at a time to choosing its model and
	// generating, so that a switch of models never happens under another
	// request's generation.
	run chan struct{}

	baseCtx    context.Context
	cancelBase context.CancelCauseFunc

	mu     sync.Mutex
	http   *http.Server
	addr   string // the bound address once serving
	served bool

	// Hooks for byte-exact tests.
	now   func() time.Time
	newID func() string
}

// New makes a Server for the models that src gives.
func New(cfg Config, src ModelSource) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:   cfg,
		src:   src,
		now:   time.Now,
		newID: randomID,
	}
	queue := cfg.QueueSize
	if queue < 0 {
		queue = 0
	}
	s.slots = make(chan struct{}, 1+queue)
	s.run = make(chan struct{}, 1)
	s.wait = queue > 0
	s.created = s.now().Unix()
	s.baseCtx, s.cancelBase = context.WithCancelCause(context.Background())
	s.handler = s.routes()
	return s
}

// Config returns the configuration in effect (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// Handler returns the HTTP handler with every endpoint and middleware, for
// use with a caller's own http.Server or httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// Addr is the address the server binds (host:port from the Config), or the
// bound address once Serve has started.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addr != "" {
		return s.addr
	}
	return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
}

// URL is the base URL for OpenAI clients, e.g. "http://127.0.0.1:8723/v1".
// A server bound to all interfaces shows 127.0.0.1.
func (s *Server) URL() string {
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil {
		return "http://" + s.Addr() + "/v1"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/v1"
}

// ListenAndServe binds Addr and serves until ctx ends or Shutdown is
// called; it then shuts down gracefully and returns nil. Bind errors (port
// in use) are returned at once.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Addr())
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", s.Addr(), err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln (which it closes) until ctx ends or Shutdown is
// called. When ctx ends it shuts down gracefully (running generations are
// cancelled, open streams get an error event) and returns nil once the
// handlers have ended or after 5 s.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // headers and body; streams are written without a deadline
		IdleTimeout:       2 * time.Minute,
	}
	if s.cfg.Logger != nil {
		hs.ErrorLog = slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn)
	}
	s.mu.Lock()
	if s.served {
		s.mu.Unlock()
		ln.Close()
		return errors.New("server: Serve called twice; make a new Server")
	}
	s.served = true
	s.http = hs
	s.addr = ln.Addr().String()
	s.mu.Unlock()

	// When ctx ends, shut down gracefully and return only once that is done.
	serveDone := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			if err := s.Shutdown(sctx); err != nil && s.cfg.Logger != nil {
				s.cfg.Logger.Warn("server shutdown", "err", err)
			}
		case <-serveDone:
		}
	}()
	err := hs.Serve(ln)
	close(serveDone)
	<-stopped
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("server: serve on %s: %w", ln.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting connections, cancels running generations (open
// streams get an error event) and waits for the handlers to end, or for
// ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancelBase(errShuttingDown)
	s.mu.Lock()
	hs := s.http
	s.served = true // a Server that was shut down does not serve again
	s.mu.Unlock()
	if hs == nil {
		return nil
	}
	if err := hs.Shutdown(ctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	return nil
}

// randomID makes the random part of an OpenAI-style id ("chatcmpl-" or
// "cmpl-" goes before it).
func randomID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; an id is not a secret.
		return strconv.FormatInt(time.Now().UnixNano(), 16)
	}
	return hex.EncodeToString(b[:])
}
