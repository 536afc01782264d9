package session

import (
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/catalog"
	"github.com/bitnet-desktop/bitnet-desktop/engine/download"
	"github.com/bitnet-desktop/bitnet-desktop/internal/appdata"
)

// source is what a download fetches.
type source struct {
	modelID string
	url     string
	hashes  []string // accepted SHA-256 digests; none: not checked
	size    int64    // the exact size, or 0
	dest    string
}

// downloadSource returns what downloading the catalog model id fetches.
// The app's own model (2B4T) may come from another URL (BITNET_DOWNLOAD_URL,
// the downloadUrl setting; Config.DownloadURL in tests), which is not
// hash-checked and names the file.
func (s *Session) downloadSource(id string) (source, error) {
	e, ok := catalog.Find(id)
	if !ok {
		return source{}, engine.Errorf(CodeNotFound, map[string]any{"id": id}, "no model %q in the catalog", id)
	}
	if id != catalog.BitNet2B4T {
		if !e.Downloadable() {
			return source{}, engine.Errorf(engine.CodeInvalidRequest, map[string]any{"id": id, "page": e.Page},
				"%s has no download the app knows: get its GGUF file from %s and import it", e.Name, e.Page)
		}
		src := source{modelID: e.ID, url: e.URL, hashes: e.SHA256, dest: s.lib.DownloadPath(e)}
		if e.SizeExact {
			src.size = e.SizeBytes
		}
		if s.cfg.CatalogSource != nil {
			src.url, src.hashes = s.cfg.CatalogSource(e)
			src.size = 0
		}
		return src, nil
	}
	src := source{modelID: e.ID, url: s.cfg.DownloadURL, hashes: s.cfg.DownloadSHA256, dest: s.lib.DownloadPath(e)}
	custom := s.cfg.Env.DownloadURL
	if custom == "" {
		custom = s.settings.Get().DownloadURL
	}
	if custom != "" && custom != src.url {
		src.url, src.hashes = custom, nil
	}
	if src.url != e.URL {
		src.dest = filepath.Join(s.cfg.Paths.ModelsDir, downloadFileName(src.url))
	}
	return src, nil
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

// newDownload makes a manager for the catalog model id. s.mu must not be
// held: it reads the settings and the partial file's sidecar.
func (s *Session) newDownload(id string) (*download.Manager, source, error) {
	src, err := s.downloadSource(id)
	if err != nil {
		return nil, source{}, err
	}
	cfg := download.Config{
		URL:          src.url,
		Dest:         src.dest,
		SHA256:       src.hashes,
		ExpectedSize: src.size,
		Client:       s.cfg.HTTPClient,
		UserAgent:    "bitnet-desktop/" + s.cfg.Version,
		OnProgress:   func(p download.Progress) { s.onDownloadProgress(id, p) },
	}
	if s.cfg.DownloadTuning != nil {
		s.cfg.DownloadTuning(&cfg)
	}
	m, err := download.New(cfg)
	if err != nil {
		return nil, source{}, err
	}
	return m, src, nil
}

// restorePartialDownload shows an unfinished download of a previous run
// (the first one found, catalog order) as paused, so the user can resume
// or cancel it.
func (s *Session) restorePartialDownload() {
	s.dlMu.Lock()
	defer s.dlMu.Unlock()
	for _, e := range catalog.All() {
		src, err := s.downloadSource(e.ID)
		if err != nil {
			continue
		}
		if _, ok := download.Inspect(src.dest); !ok {
			continue
		}
		m, src, err := s.newDownload(e.ID)
		if err != nil {
			s.log.Warn("partial download", "err", err)
			return
		}
		p := downloadProgress(e.ID, m.Progress())
		s.mu.Lock()
		s.dl, s.dlDest, s.dlModel, s.dlProgress = m, src.dest, e.ID, p
		s.mu.Unlock()
		return
	}
}

// StartDownload resumes the paused or failed download of the model shown
// (a partial file of an earlier run included), else downloads the app's
// own model (2B4T); see DownloadModel.
func (s *Session) StartDownload() error {
	s.mu.Lock()
	id := s.dlModel
	resumable := s.dlProgress != nil && (s.dlProgress.State == string(download.StatePaused) || s.dlProgress.State == string(download.StateFailed))
	s.mu.Unlock()
	if id == "" || !resumable {
		id = catalog.BitNet2B4T
	}
	return s.DownloadModel(id)
}

// DownloadModel downloads the catalog model id (or resumes its partial
// download) in the background; progress arrives as state events. When it
// completes and no model is loaded, the new model becomes active and is
// loaded. One download runs at a time: another model's fails with busy.
func (s *Session) DownloadModel(id string) error {
	s.dlMu.Lock()
	defer s.dlMu.Unlock()
	s.mu.Lock()
	closed, cur, curID := s.closed, s.dl, s.dlModel
	s.mu.Unlock()
	if closed {
		return engine.Errorf(engine.CodeCancelled, nil, "the app is closing")
	}
	if cur != nil && cur.Running() {
		if strings.EqualFold(curID, id) {
			return nil
		}
		return engine.Errorf(engine.CodeBusy, map[string]any{"modelId": curID}, "a download of another model is running")
	}
	m, src, err := s.newDownload(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return engine.Errorf(engine.CodeCancelled, nil, "the app is closing")
	}
	s.dl, s.dlDest, s.dlModel = m, src.dest, src.modelID
	s.wg.Add(1)
	s.mu.Unlock()
	// Start reports "running" through onDownloadProgress, which takes s.mu.
	err = m.Start(s.ctx, func(err error) {
		defer s.wg.Done()
		s.downloadFinished(src.dest, err)
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
	activate := load || (s.modelPath == cur && !curExists)
	if activate {
		s.modelPath = dest
	}
	s.mu.Unlock()
	if activate {
		if err := s.setActive(s.lib.IDOf(dest)); err != nil {
			s.log.Warn("settings", "err", err)
		}
	}
	s.changedModels()
	if load {
		if err := s.LoadModel(); err != nil {
			s.log.Error("load downloaded model", "err", err)
		}
	}
	s.states.Trigger(true)
}

// onDownloadProgress receives the download manager's progress.
func (s *Session) onDownloadProgress(id string, p download.Progress) {
	d := downloadProgress(id, p)
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
		if m, _, err = s.newDownload(catalog.BitNet2B4T); err != nil {
			return
		}
	}
	m.Cancel()
	s.mu.Lock()
	if s.dl == m {
		s.dlModel = "" // nothing to resume: the next StartDownload is 2B4T's
	}
	s.mu.Unlock()
	s.states.Trigger(true)
}
