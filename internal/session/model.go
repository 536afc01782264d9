package session

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/download"
	"github.com/bitnet-desktop/bitnet-desktop/internal/appdata"
)

// lifeOp is a running import or load. Each has its own context, which
// UnloadModel and Close cancel; a cancelled op's goroutine no longer
// touches the session's state.
type lifeOp struct {
	kind   string // "importing" or "loading"
	cancel context.CancelFunc
}

const (
	opImporting = "importing"
	opLoading   = "loading"
)

// LoadModel starts loading the model file (asynchronously: progress and
// the result arrive as state events). It does nothing if that model is
// loaded or loading already.
func (s *Session) LoadModel() error {
	s.mu.Lock()
	path := s.modelPath
	s.mu.Unlock()
	exists := appdata.Exists(path) // file I/O: not under s.mu
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return engine.Errorf(engine.CodeCancelled, nil, "the app is closing")
	case s.op != nil:
		s.mu.Unlock()
		return nil
	case s.modelPath != path: // an import or download chose another file meanwhile
		s.mu.Unlock()
		return s.LoadModel()
	case s.model != nil && s.info != nil && s.info.Path == path:
		s.mu.Unlock()
		return nil
	case !exists:
		s.mu.Unlock()
		return engine.Errorf(CodeNoModel, map[string]any{"path": path}, "no model file: download the model or import a GGUF file")
	}
	op, ctx := s.beginOpLocked(opLoading, engine.StageValidating)
	s.mu.Unlock()
	s.states.Trigger(true)
	if !s.goTrack(func() { s.load(ctx, op, path) }) {
		return engine.Errorf(engine.CodeCancelled, nil, "the app is closing")
	}
	return nil
}

// beginOpLocked starts a life-cycle operation; s.mu is held.
func (s *Session) beginOpLocked(kind, stage string) (*lifeOp, context.Context) {
	ctx, cancel := context.WithCancel(s.ctx)
	op := &lifeOp{kind: kind, cancel: cancel}
	s.op, s.loadStage, s.loadFraction, s.loadErr = op, stage, 0, nil
	return op, ctx
}

// endOpLocked ends op (cancelling its context) and, if it is still the
// current operation, clears the progress; s.mu is held. It reports
// whether op was current.
func (s *Session) endOpLocked(op *lifeOp) bool {
	op.cancel()
	if s.op != op {
		return false
	}
	s.op, s.loadStage, s.loadFraction = nil, "", 0
	return true
}

// load replaces the loaded model (if any) by the one at path.
func (s *Session) load(ctx context.Context, op *lifeOp, path string) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if ctx.Err() != nil { // unloaded or closing before it began
		s.mu.Lock()
		s.endOpLocked(op)
		s.mu.Unlock()
		s.states.Trigger(true)
		return
	}

	// The memory check comes first: a model that does not fit leaves the
	// loaded one in place.
	var m engine.Model
	err := s.checkMemory(path)
	if err == nil {
		if err := s.unloadHoldingOp(); err != nil {
			s.log.Warn("unload before load", "err", err)
		}
	}
	set := s.settings.Get()
	start := time.Now()
	if err == nil {
		m, err = s.cfg.Load(ctx, path, engine.LoadOptions{
			Threads:     set.Threads,
			KVCacheType: set.KVCache,
			ContextSize: AppContext,
			CacheDir:    s.cfg.Paths.CacheDir,
			Progress:    func(p engine.Progress) { s.onLoadProgress(op, p) },
		})
	}

	s.mu.Lock()
	cancelled := ctx.Err() != nil
	s.endOpLocked(op)
	if err == nil && (s.closed || cancelled) {
		err = engine.Errorf(engine.CodeCancelled, nil, "the load was cancelled")
		defer m.Close()
	}
	if err != nil {
		s.loadErr = appError(err)
		if cancelled {
			s.loadErr = nil // unloaded or closing: not an error to show
		}
		s.mu.Unlock()
		if cancelled {
			s.log.Info("load cancelled", "path", path)
		} else {
			s.log.Error("load model", "path", path, "err", err)
		}
		s.states.Trigger(true)
		return
	}
	id, name := s.modelIdentity(path)
	s.model, s.info = m, modelInfo(m.Info(), id, name)
	s.contextUsed, s.lastStats = 0, nil
	s.mu.Unlock()
	s.log.Info("model loaded", "path", path, "seconds", time.Since(start).Seconds())
	s.changedModels()
	s.states.Trigger(true)
}

// checkMemory refuses a model that needs more memory than the system has
// free (rather than swap the machine to a crawl), counting the memory of
// the loaded model, which the load frees first.
func (s *Session) checkMemory(path string) error {
	avail := s.cfg.MemAvailable()
	if avail < 0 {
		return nil
	}
	// The load will use the kv cache type of the settings.
	need, err := s.cfg.Estimate(path, AppContext, s.settings.Get().KVCache)
	if err != nil {
		return nil // a file the estimate cannot read gets its error from the loader
	}
	s.mu.Lock()
	cur, curKV := "", ""
	if s.info != nil {
		cur, curKV = s.info.Path, s.info.KVCache
	}
	s.mu.Unlock()
	if cur != "" {
		if freed, err := s.cfg.Estimate(cur, AppContext, curKV); err == nil {
			avail += freed
		}
	}
	if need <= avail {
		return nil
	}
	return engine.Errorf(CodeNoMemory, map[string]any{"needed": need, "available": avail},
		"the model needs about %.1f GB of memory and %.1f GB are free: close other programs or choose a smaller model",
		float64(need)/1e9, float64(avail)/1e9)
}

// onLoadProgress receives the engine's load progress for op.
func (s *Session) onLoadProgress(op *lifeOp, p engine.Progress) {
	s.mu.Lock()
	if s.op != op {
		s.mu.Unlock()
		return
	}
	force := p.Stage != s.loadStage
	s.loadStage, s.loadFraction = p.Stage, p.Fraction
	s.mu.Unlock()
	s.states.Trigger(force)
}

// UnloadModel stops a running generation, import or load and frees the
// model.
func (s *Session) UnloadModel() error {
	s.mu.Lock()
	if s.op != nil {
		s.endOpLocked(s.op)
	}
	s.mu.Unlock()
	s.opMu.Lock()
	err := s.unloadHoldingOp()
	s.opMu.Unlock()
	s.states.Trigger(true)
	return err
}

// unloadHoldingOp stops the generation and closes the model; s.opMu is
// held (s.mu is not).
func (s *Session) unloadHoldingOp() error {
	// Detach the model before stopping the answer: a send that comes in
	// between is refused (not loaded) instead of starting an answer on a
	// model about to be closed, which Close would wait for.
	s.mu.Lock()
	m := s.model
	s.model, s.info, s.contextUsed = nil, nil, 0
	s.mu.Unlock()
	s.stopAndWait("")
	if m == nil {
		return nil
	}
	if err := m.Close(); err != nil {
		return engine.Wrap(engine.CodeInternal, err, "could not unload the model")
	}
	return nil
}

// ChooseModelFile opens a native dialog for a GGUF file and imports it.
// It returns "" if the user cancels.
func (s *Session) ChooseModelFile() (string, error) {
	if s.cfg.Dialogs == nil {
		return "", engine.Errorf(engine.CodeInternal, nil, "no dialogs available")
	}
	path, err := s.cfg.Dialogs.OpenFile(FileDialog{
		Title:   "Choose a BitNet model (GGUF)",
		Filters: []FileFilter{{DisplayName: "GGUF models (*.gguf)", Pattern: "*.gguf"}},
	})
	if err != nil {
		return "", engine.Wrap(engine.CodeInternal, err, "the file dialog failed")
	}
	if path == "" {
		return "", nil
	}
	if err := s.ImportModel(path); err != nil {
		return "", err
	}
	return path, nil
}

// ImportModel validates a GGUF file, copies it into the models folder
// (temporary file + rename) and starts loading it.
func (s *Session) ImportModel(path string) error {
	src, err := filepath.Abs(path)
	if err != nil {
		return engine.Wrap(CodeImportFailed, err, "invalid path %q", path)
	}
	if st, err := os.Stat(src); err != nil || !st.Mode().IsRegular() {
		if err == nil {
			err = errors.New("not a regular file")
		}
		return &engine.Error{Code: CodeImportFailed, Params: map[string]any{"path": src}, Msg: "cannot read " + src, Err: err}
	}
	if s.cfg.Validate != nil {
		if err := s.cfg.Validate(src); err != nil {
			var ee *engine.Error
			if errors.As(err, &ee) {
				return err
			}
			return &engine.Error{Code: engine.CodeInvalidModel, Params: map[string]any{"path": src}, Msg: "not a usable model", Err: err}
		}
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return engine.Errorf(engine.CodeCancelled, nil, "the app is closing")
	case s.gen != nil:
		s.mu.Unlock()
		return engine.Errorf(engine.CodeBusy, nil, "stop the running answer before importing a model")
	case s.op != nil:
		s.mu.Unlock()
		return engine.Errorf(engine.CodeBusy, nil, "a model is being loaded")
	}
	op, ctx := s.beginOpLocked(opImporting, opImporting)
	s.mu.Unlock()
	s.states.Trigger(true)

	dest, err := s.copyIntoModels(ctx, src, op)
	s.mu.Lock()
	if err == nil && ctx.Err() != nil {
		err = engine.Errorf(engine.CodeCancelled, nil, "the import was cancelled")
	}
	if err != nil {
		s.endOpLocked(op)
		s.mu.Unlock()
		s.states.Trigger(true)
		return err
	}
	s.modelPath = dest
	s.loadStage, s.loadFraction = engine.StageValidating, 0
	op.kind = opLoading
	s.mu.Unlock()
	if err := s.setActive(s.lib.IDOf(dest)); err != nil {
		s.log.Warn("settings", "err", err)
	}
	s.changedModels()
	s.states.Trigger(true)
	if !s.goTrack(func() { s.load(ctx, op, dest) }) {
		return engine.Errorf(engine.CodeCancelled, nil, "the app is closing")
	}
	return nil
}

// copyIntoModels copies src into the models folder (library.ImportPath)
// and returns the new path. A file already in the folder is used where it
// is.
func (s *Session) copyIntoModels(ctx context.Context, src string, op *lifeOp) (string, error) {
	root := filepath.Clean(s.cfg.Paths.ModelsDir)
	if d := filepath.Dir(src); d == root || filepath.Dir(d) == root {
		return src, nil
	}
	dest := s.lib.ImportPath(src)
	dir := filepath.Dir(dest)
	in, err := os.Open(src)
	if err != nil {
		return "", engine.Wrap(CodeImportFailed, err, "cannot open %s", src)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return "", engine.Wrap(CodeImportFailed, err, "cannot read %s", src)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", engine.Wrap(CodeImportFailed, err, "cannot create %s", dir)
	}
	if avail, err := download.FreeSpace(dir); err == nil && avail >= 0 && avail < st.Size()+64<<20 {
		return "", engine.Errorf(engine.CodeDiskFull, map[string]any{"needed": st.Size(), "available": avail},
			"not enough free disk space to import the model")
	}
	tmp, err := os.CreateTemp(dir, ".import-*.tmp")
	if err != nil {
		return "", copyError(err, "cannot create a file in %s", dir)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // no-op after the rename
	w := &progressWriter{ctx: ctx, w: tmp, total: st.Size(), report: func(done, total int64) { s.onImportProgress(op, done, total) }}
	if _, err := io.Copy(w, in); err != nil {
		tmp.Close()
		return "", copyError(err, "copying the model failed")
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", copyError(err, "copying the model failed")
	}
	if err := tmp.Close(); err != nil {
		return "", copyError(err, "copying the model failed")
	}
	if err := os.Rename(tmpName, dest); err != nil {
		return "", copyError(err, "cannot move the model into %s", dir)
	}
	now := time.Now()
	_ = os.Chtimes(dest, now, now) // newest model = the one used next time
	return dest, nil
}

func copyError(err error, format string, args ...any) error {
	if errors.Is(err, context.Canceled) {
		return engine.Errorf(engine.CodeCancelled, nil, "the import was cancelled")
	}
	if download.IsDiskFull(err) {
		return &engine.Error{Code: engine.CodeDiskFull, Msg: "the disk is full", Err: err}
	}
	return engine.Wrap(CodeImportFailed, err, format, args...)
}

func (s *Session) onImportProgress(op *lifeOp, done, total int64) {
	s.mu.Lock()
	if s.op == op && total > 0 {
		s.loadFraction = float64(done) / float64(total)
	}
	s.mu.Unlock()
	s.states.Trigger(false)
}

// progressWriter reports the bytes written and stops when ctx ends.
type progressWriter struct {
	ctx    context.Context
	w      io.Writer
	done   int64
	total  int64
	report func(done, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.w.Write(b)
	p.done += int64(n)
	p.report(p.done, p.total)
	return n, err
}
