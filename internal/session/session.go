// Package session is the desktop app's logic without Wails: the model's
// life cycle (download, import, load, unload), chats with streaming
// answers, settings, and the events the front end listens to. app.go binds
// its methods one to one; everything here is testable with a fake model.
//
// Locking: s.mu guards the fields below it and is never held while calling
// out (file I/O, engine, database, emitter, settings store, download
// manager, API server): read what is needed under it, call out after
// Unlock, and re-check under it when the answer depends on state that may
// have changed. Functions named ...Locked run with s.mu held and call
// nothing out. TestLockRule checks this in the source. s.opMu serializes
// model life-cycle operations (load, unload, import), s.dlMu download
// control and s.srvMu the API server; each is taken before s.mu.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/catalog"
	"github.com/bitnet-desktop/bitnet-desktop/engine/download"
	"github.com/bitnet-desktop/bitnet-desktop/internal/appdata"
	"github.com/bitnet-desktop/bitnet-desktop/internal/chatstore"
	"github.com/bitnet-desktop/bitnet-desktop/internal/library"
	"github.com/bitnet-desktop/bitnet-desktop/internal/procmem"
	"github.com/bitnet-desktop/bitnet-desktop/internal/settings"
	"github.com/bitnet-desktop/bitnet-desktop/server"
)

// Loader loads a model file (engine.Load in the app).
type Loader func(ctx context.Context, path string, opts engine.LoadOptions) (engine.Model, error)

// Validator checks that a file is a model the engine can run, without
// loading it. It returns an *engine.Error (invalid_model) when it is not.
type Validator func(path string) error

// Emitter sends an event to the front end (runtime.EventsEmit in the app).
// It must be safe for concurrent use.
type Emitter interface {
	Emit(name string, payload any)
}

// FileFilter is a file-type filter of a dialog.
type FileFilter struct {
	DisplayName string // "GGUF models (*.gguf)"
	Pattern     string // "*.gguf"
}

// FileDialog describes a native file dialog.
type FileDialog struct {
	Title       string
	DefaultName string
	Filters     []FileFilter
}

// Dialogs shows native file dialogs. Both return "" when the user cancels.
type Dialogs interface {
	OpenFile(d FileDialog) (string, error)
	SaveFile(d FileDialog) (string, error)
}

// Server is the OpenAI-compatible HTTP server, started and stopped from
// the settings. Start returns the base URL it serves on.
type Server interface {
	Start(port int) (url string, err error)
	Stop() error
}

// Config wires a Session. Paths, Load and Emitter are required.
type Config struct {
	Paths    appdata.Paths
	Env      appdata.Env
	Version  string
	NumCPU   int    // for the threads default and limit
	Language string // "en" or "es": the default system prompt's language
	Load     Loader
	Validate Validator // nil skips validation before import
	Emitter  Emitter
	Dialogs  Dialogs // nil: ChooseModelFile and ExportConversation fail
	Server   Server  // nil: the server setting has no effect
	Logger   *slog.Logger

	// HTTPClient is used for the model download (default: a plain client).
	HTTPClient *http.Client
	// DownloadURL and DownloadSHA256 override the official model's URL and
	// hashes (tests). The URL is also overridden by BITNET_DOWNLOAD_URL
	// and by the downloadUrl setting; a custom URL is not hash-checked.
	DownloadURL    string
	DownloadSHA256 []string
	// CatalogSource, when set, gives the URL and accepted hashes of a
	// catalog model's download instead of the catalog's (tests, mirrors).
	CatalogSource func(e catalog.Entry) (url string, sha256 []string)
	// DownloadTuning adjusts the download manager's config (tests: fast
	// retries and stall detection).
	DownloadTuning func(*download.Config)

	// MemAvailable returns the memory the system can give (bytes, -1 =
	// unknown; default library.Available) and Estimate what a model file
	// needs with a context of ctx tokens and a kv cache of type kvCache
	// (default library.Estimate): a load that does not fit is refused.
	MemAvailable func() int64
	Estimate     func(path string, ctx int, kvCache string) (int64, error)

	// DeltaInterval is the minimum time between two chat:delta events
	// (default 16 ms), StateInterval between two progress state events
	// (default 100 ms), PersistInterval between two database writes of a
	// streaming answer (default 250 ms).
	DeltaInterval   time.Duration
	StateInterval   time.Duration
	PersistInterval time.Duration
}

// The official model file.
const (
	OfficialModelURL = "https://huggingface.co/microsoft/bitnet-b1.58-2B-4T-gguf/resolve/main/ggml-model-i2_s.gguf"
	officialSHA256   = "4221b252fdd5fd25e15847adfeb5ee88886506ba50b8a34548374492884c2162"
	// The April 2025 upload (arch bitnet-25, untied output): still valid.
	officialSHA256Old = "13939ce5030319a35db346e5dba7a3a3bd599dfc18b113a2a97446ff964714c5"
)

// OfficialSHA256 lists the accepted hashes of the official model file.
func OfficialSHA256() []string { return []string{officialSHA256, officialSHA256Old} }

// Session is the desktop app's state. Its methods are safe for concurrent
// use.
type Session struct {
	cfg      Config
	log      *slog.Logger
	lib      library.Library
	settings *settings.Store
	chats    *chatstore.Store
	states   *throttle

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // goroutines started by the session

	opMu  sync.Mutex // model life cycle: load, unload, import
	srvMu sync.Mutex // starting and stopping the API server
	dlMu  sync.Mutex // starting, pausing and cancelling downloads

	mu           sync.Mutex
	closed       bool
	modelPath    string       // the model file to load
	model        engine.Model // nil when not loaded
	info         *ModelInfo
	op           *lifeOp // the running import or load, or nil
	loadStage    string
	loadFraction float64
	loadErr      *engine.Error
	dl           *download.Manager
	dlDest       string
	dlModel      string // the catalog id of dl's model
	dlProgress   *DownloadProgress
	gen          *generation
	lastStats    *chatstore.GenStats
	contextUsed  int
	serverURL    string
	serverErr    *engine.Error // why the enabled server is not running
	stateSeq     uint64        // the Seq of the last AppState snapshot
}

// New opens the settings and the chat database. Call Start when the front
// end can receive events, and Close at the end.
func New(cfg Config) (*Session, error) {
	if cfg.Load == nil || cfg.Emitter == nil {
		return nil, errors.New("session: Load and Emitter are required")
	}
	if cfg.NumCPU <= 0 {
		cfg.NumCPU = 1
	}
	if cfg.Language == "" {
		cfg.Language = "en"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.DownloadURL == "" {
		cfg.DownloadURL = OfficialModelURL
		if cfg.DownloadSHA256 == nil {
			cfg.DownloadSHA256 = OfficialSHA256()
		}
	}
	if cfg.MemAvailable == nil {
		cfg.MemAvailable = library.Available
	}
	if cfg.Estimate == nil {
		cfg.Estimate = library.Estimate
	}
	if cfg.DeltaInterval <= 0 {
		cfg.DeltaInterval = 16 * time.Millisecond
	}
	if cfg.StateInterval <= 0 {
		cfg.StateInterval = 100 * time.Millisecond
	}
	if cfg.PersistInterval <= 0 {
		cfg.PersistInterval = 250 * time.Millisecond
	}
	if err := cfg.Paths.Ensure(); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	s := &Session{cfg: cfg, log: cfg.Logger}
	defaults := settings.Defaults(cfg.NumCPU, cfg.Env, cfg.Language)
	st, err := settings.Open(cfg.Paths.SettingsPath, defaults, cfg.NumCPU)
	if err != nil {
		s.log.Warn("settings", "err", err) // st holds the defaults
	}
	s.settings = st
	ctx, cancel := context.WithCancel(context.Background())
	chats, err := chatstore.Open(ctx, cfg.Paths.DBPath)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("session: %w", err)
	}
	s.chats, s.ctx, s.cancel = chats, ctx, cancel
	s.states = newThrottle(cfg.StateInterval, s.emitState)
	s.lib = library.Library{Dir: cfg.Paths.ModelsDir, CacheDir: cfg.Paths.CacheDir}
	s.modelPath = s.startModel()
	return s, nil
}

// Start recovers answers interrupted by a crash, notices an unfinished
// download, starts the server if enabled and loads the model if present.
func (s *Session) Start() {
	if n, err := s.chats.RecoverStreaming(s.ctx); err != nil {
		s.log.Error("recover interrupted answers", "err", err)
	} else if n > 0 {
		s.log.Info("marked interrupted answers as cancelled", "count", n)
	}
	s.restorePartialDownload()
	if set := s.settings.Get(); set.ServerEnabled {
		if err := s.applyServer(set); err != nil {
			s.log.Error("start the API server", "err", err)
		}
	}
	s.mu.Lock()
	path := s.modelPath
	s.mu.Unlock()
	if appdata.Exists(path) {
		if err := s.LoadModel(); err != nil {
			s.log.Error("load model at startup", "err", err)
		}
	} else if path != "" {
		s.log.Warn("model file not found", "path", path)
	}
	s.states.Trigger(true)
}

// Close stops generation, downloads (keeping the partial file) and the
// server, unloads the model and closes the database.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	dl := s.dl
	if s.gen != nil {
		s.gen.cancel()
	}
	if s.op != nil {
		s.op.cancel()
	}
	s.mu.Unlock()

	if dl != nil {
		dl.Pause()
	}
	s.cancel()
	s.wg.Wait()
	s.states.Close()

	var errs []error
	s.opMu.Lock()
	s.mu.Lock()
	m := s.model
	s.model, s.info = nil, nil
	s.mu.Unlock()
	if m != nil {
		if err := m.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close model: %w", err))
		}
	}
	s.opMu.Unlock()
	s.srvMu.Lock()
	if s.cfg.Server != nil && s.serverRunning() {
		if err := s.cfg.Server.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop server: %w", err))
		}
	}
	s.srvMu.Unlock()
	if err := s.chats.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close chat database: %w", err))
	}
	return errors.Join(errs...)
}

// Model returns the loaded model, or nil. The OpenAI-compatible server
// uses it; the model itself serializes generations (ErrBusy / Wait).
func (s *Session) Model() engine.Model {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.model
}

// goTrack runs f on a goroutine that Close waits for. It returns false
// (and does not run f) once Close has begun. s.mu must not be held.
func (s *Session) goTrack(f func()) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// emit sends an event.
func (s *Session) emit(name string, payload any) { s.cfg.Emitter.Emit(name, payload) }

// changed tells the front end that the conversation list changed.
func (s *Session) changed() { s.emit(EventConversationsChanged, struct{}{}) }

// emitState sends the current AppState (called through s.states).
func (s *Session) emitState() { s.emit(EventState, s.State()) }

// State returns the current AppState.
func (s *Session) State() AppState {
	set := s.settings.Get()
	s.mu.Lock()
	st := AppState{
		Status:       s.statusLocked(),
		Error:        s.loadErr,
		Download:     s.dlProgress,
		LoadFraction: s.loadFraction,
		Threads:      set.Threads,
		ContextUsed:  s.contextUsed,
		LastStats:    s.lastStats,
		Version:      s.cfg.Version,
		ServerURL:    s.serverURL,
		ServerError:  s.serverErr,
	}
	modelPath := s.modelPath
	if s.op != nil {
		st.LoadStage = s.loadStage
	}
	if s.info != nil {
		info := *s.info
		st.Model = &info
		st.Threads = info.Threads
		st.ContextSize = info.ContextSize
	}
	if s.gen != nil {
		st.GeneratingConversationID = s.gen.convID
	}
	s.stateSeq++
	st.Seq = s.stateSeq
	if st.Download != nil {
		d := *st.Download
		st.Download = &d
	}
	s.mu.Unlock()
	st.ModelPresent = appdata.Exists(modelPath)
	st.MemoryBytes = int64(procmem.RSS())
	return st
}

// statusLocked derives the model status; s.mu must be held.
func (s *Session) statusLocked() string {
	switch {
	case s.gen != nil:
		return StatusGenerating
	case s.op != nil:
		if s.loadStage == engine.StageConverting {
			return StatusConverting
		}
		return StatusLoading
	case s.model != nil:
		return StatusReady
	case s.dlProgress != nil && s.dlProgress.State == string(download.StateRunning):
		return StatusDownloading
	case s.dlProgress != nil && s.dlProgress.State == string(download.StateVerifying):
		return StatusVerifying
	case s.loadErr != nil:
		return StatusError
	}
	return StatusNotInstalled
}

// ServedModel returns the model for the API server and its state.
func (s *Session) ServedModel() (engine.Model, server.State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.op != nil:
		return nil, server.StateLoading
	case s.model != nil:
		return s.model, server.StateReady
	}
	return nil, server.StateNone
}
