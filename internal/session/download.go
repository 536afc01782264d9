package session

import (
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/download"
	"github.com/bitnet-desktop/bitnet-desktop/internal/appdata"
)

// downloadSource returns the URL to download, the accepted hashes (none
// for a custom URL) and the destination file.
func (s *Session) downloadSource() (src string, hashes []string, dest string) {
	src, hashes = s.cfg.DownloadURL, s.cfg.DownloadSHA256
	custom := s.cfg.Env.DownloadURL
	if custom == "" {
		custom = s.settings.Get().DownloadURL
	}
	if custom != "" && custom != src {
		src, hashes = custom, nil
	}
	return src, hashes, filepath.Join(s.cfg.Paths.ModelsDir, downloadFileName(src))
}

// downloadFileName is the last path element of the URL if it is a .gguf
// file name, else the official name.
func downloadFileName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return appdata.ModelFileName
	}
	name := path.Base(u.Path)
	if !strings.EqualFold(path.Ext(name), ".gguf") || strings.HasPrefix(name, ".") ||
		strings.ContainsAny(name, `/\:`) || name != filepath.Base(name) {
		return appdata.ModelFileName
	}
	return name
}

// newDownload makes a manager for the current source. s.mu must not be
// held: it reads the settings and the partial file's sidecar.
func (s *Session) newDownload() (*download.Manager, string, error) {
	src, hashes, dest := s.downloadSource()
	cfg := download.Config{
		URL:        src,
		Dest:       dest,
		SHA256:     hashes,
		Client:     s.cfg.HTTPClient,
		UserAgent:  "bitnet-desktop/" + s.cfg.Version,
		OnProgress: s.onDownloadProgress,
	}
	if s.cfg.DownloadTuning != nil {
		s.cfg.DownloadTuning(&cfg)
	}
	m, err := download.New(cfg)
	if err != nil {
		return nil, "", err
	}
	return m, dest, nil
}

// restorePartialDownload shows an unfinished download of a previous run
// as paused, so the user can resume or cancel it.
func (s *Session) restorePartialDownload() {
	s.dlMu.Lock()
	defer s.dlMu.Unlock()
	_, _, dest := s.downloadSource()
	if _, ok := download.Inspect(dest); !ok {
		return
	}
	m, dest, err := s.newDownload()
	if err != nil {
		s.log.Warn("partial download", "err", err)
		return
	}
	p := downloadProgress(m.Progress())
	s.mu.Lock()
	s.dl, s.dlDest, s.dlProgress = m, dest, p
	s.mu.Unlock()
}

// StartDownload downloads the model (or resumes a partial download) in
// the background; progress arrives as state events. When it completes and
// no model is loaded, the new file is loaded.
func (s *Session) StartDownload() error {
	s.dlMu.Lock()
	defer s.dlMu.Unlock()
	s.mu.Lock()
	closed, cur := s.closed, s.dl
	s.mu.Unlock()
	if closed {
		return engine.Errorf(engine.CodeCancelled, nil, "the app is closing")
	}
	if cur != nil && cur.Running() {
		return nil
	}
	m, dest, err := s.newDownload()
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return engine.Errorf(engine.CodeCancelled, nil, "the app is closing")
	}
	s.dl, s.dlDest = m, dest
	s.wg.Add(1)
	s.mu.Unlock()
	// Start reports "running" through onDownloadProgress, which takes s.mu.
	err = m.Start(s.ctx, func(err error) {
		defer s.wg.Done()
		s.downloadFinished(dest, err)
	})
	if err != nil {
		s.wg.Done()
		return err
	}
	return nil
}

func (s *Session) downloadFinished(dest string, err error) {
	if err != nil {
		if engine.CodeOf(err) != engine.CodeCancelled {
			s.log.Error("download", "err", err)
		}
		s.states.Trigger(true)
		return
	}
	s.log.Info("download complete", "path", dest)
	s.mu.Lock()
	cur := s.modelPath
	s.mu.Unlock()
	curExists := appdata.Exists(cur) // file I/O: not under s.mu
	s.mu.Lock()
	load := s.model == nil && s.op == nil && !s.closed
	if load || (s.modelPath == cur && !curExists) {
		s.modelPath = dest
	}
	s.mu.Unlock()
	if load {
		if err := s.LoadModel(); err != nil {
			s.log.Error("load downloaded model", "err", err)
		}
	}
	s.states.Trigger(true)
}

// onDownloadProgress receives the download manager's progress.
func (s *Session) onDownloadProgress(p download.Progress) {
	d := downloadProgress(p)
	s.mu.Lock()
	force := s.dlProgress == nil || s.dlProgress.State != d.State || s.dlProgress.Attempt != d.Attempt
	s.dlProgress = d
	s.mu.Unlock()
	s.states.Trigger(force)
}

// PauseDownload stops the download and keeps the partial file.
func (s *Session) PauseDownload() {
	s.dlMu.Lock()
	defer s.dlMu.Unlock()
	s.mu.Lock()
	m := s.dl
	s.mu.Unlock()
	if m != nil {
		m.Pause()
	}
}

// CancelDownload stops the download and deletes the partial file.
func (s *Session) CancelDownload() {
	s.dlMu.Lock()
	defer s.dlMu.Unlock()
	s.mu.Lock()
	m := s.dl
	s.mu.Unlock()
	if m == nil {
		var err error
		if m, _, err = s.newDownload(); err != nil {
			return
		}
	}
	m.Cancel()
	s.states.Trigger(true)
}
