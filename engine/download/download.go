// Package download fetches one large file over HTTP(S) with resume, retry,
// stall detection, a free-space check and SHA-256 verification, and moves it
// into place atomically once it is complete and verified.
//
// The only state kept between runs (and app restarts) is the partial file
// DEST.part and a small sidecar DEST.part.json with the URL, ETag and size.
// A Manager runs at most one download at a time; it holds no global state.
package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// State is the phase a download is in.
type State string

// States of a download.
const (
	StateIdle      State = "idle"
	StateRunning   State = "running"
	StatePaused    State = "paused"
	StateVerifying State = "verifying"
	StateDone      State = "done"
	StateFailed    State = "failed"
	StateCancelled State = "cancelled"
)

// Progress is a snapshot of a download. While State is StateVerifying,
// BytesDone counts the bytes hashed so far.
type Progress struct {
	State          State
	BytesDone      int64
	BytesTotal     int64 // -1 when unknown
	BytesPerSecond float64
	ETASeconds     float64 // 0 when unknown
	Attempt        int     // 1 for the first request, +1 for every retry
	// Err is why the download failed (StateFailed) or, while it runs, why
	// the last attempt failed (cleared when data flows again).
	Err *engine.Error
	// RetryAt is when the next attempt starts, while waiting for it.
	RetryAt time.Time
}

// Config describes one download. URL and Dest are required.
type Config struct {
	URL  string
	Dest string // final path; the download goes to Dest+".part" first
	// ExpectedSize, if > 0, is the size the file must have.
	ExpectedSize int64
	// SHA256 lists the accepted hex digests; empty skips verification.
	SHA256 []string
	// Client defaults to a client with no overall timeout (the stall
	// timeout guards the transfer instead).
	Client    *http.Client
	UserAgent string // default "bitnet-desktop"
	// StallTimeout is how long a response may deliver no bytes before the
	// attempt is abandoned and retried. Default 30 s.
	StallTimeout time.Duration
	// MaxRetries is how many consecutive failed attempts (attempts that
	// made no progress) are retried. Default 8; negative means none.
	MaxRetries int
	// RetryBase and RetryMax bound the exponential backoff between
	// attempts. Defaults 1 s and 60 s.
	RetryBase time.Duration
	RetryMax  time.Duration
	// ProgressInterval is the minimum time between two OnProgress calls
	// during the transfer (state changes are always reported). Default 100 ms.
	ProgressInterval time.Duration
	// FreeSpaceMargin is kept free on the disk on top of the file. Default 64 MiB.
	FreeSpaceMargin int64
	// FreeSpace returns the bytes available in dir (-1 = unknown). Default:
	// statfs on Linux, GetDiskFreeSpaceEx on Windows.
	FreeSpace func(dir string) (int64, error)
	// OnProgress, if set, receives snapshots. It is called from the
	// goroutine that runs Run (or from Cancel when nothing runs) and must
	// not call Pause or Cancel itself.
	OnProgress func(Progress)
}

// Manager downloads Config.URL to Config.Dest. Its methods are safe for
// concurrent use.
type Manager struct {
	cfg Config

	mu       sync.Mutex
	running  bool
	cancel   context.CancelCauseFunc
	done     chan struct{}
	prog     Progress
	lastEmit time.Time

	// wrapWriter lets tests inject write failures (ENOSPC).
	wrapWriter func(io.Writer) io.Writer
}

var (
	errPauseRequested  = errors.New("download paused")
	errCancelRequested = errors.New("download cancelled")
	errStalled         = errors.New("no data received within the stall timeout")
)

// New checks cfg, fills in defaults and returns a Manager. If a partial
// download of cfg.Dest exists, Progress reports it as paused.
func New(cfg Config) (*Manager, error) {
	if cfg.URL == "" || cfg.Dest == "" {
		return nil, engine.Errorf(engine.CodeInvalidRequest, nil, "download: URL and destination are required")
	}
	if !strings.HasPrefix(cfg.URL, "http://") && !strings.HasPrefix(cfg.URL, "https://") {
		return nil, engine.Errorf(engine.CodeInvalidRequest, map[string]any{"url": cfg.URL}, "download: unsupported URL %q", cfg.URL)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "bitnet-desktop"
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = 30 * time.Second
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 8
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 60 * time.Second
	}
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = 100 * time.Millisecond
	}
	if cfg.FreeSpaceMargin <= 0 {
		cfg.FreeSpaceMargin = 64 << 20
	}
	if cfg.FreeSpace == nil {
		cfg.FreeSpace = FreeSpace
	}
	for i, h := range cfg.SHA256 {
		cfg.SHA256[i] = strings.ToLower(strings.TrimSpace(h))
	}
	m := &Manager{cfg: cfg, prog: Progress{State: StateIdle, BytesTotal: cfg.ExpectedSize}}
	if m.prog.BytesTotal <= 0 {
		m.prog.BytesTotal = -1
	}
	if p, ok := Inspect(cfg.Dest); ok && (p.URL == "" || p.URL == cfg.URL) {
		m.prog.State, m.prog.BytesDone = StatePaused, p.BytesDone
		if p.BytesTotal > 0 {
			m.prog.BytesTotal = p.BytesTotal
		}
	}
	return m, nil
}

// Progress returns the latest snapshot.
func (m *Manager) Progress() Progress {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.prog
}

// Running reports whether Run is in progress.
func (m *Manager) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running
}

// Pause stops a running download and keeps the partial file; Run resumes
// it. Pause returns once Run has returned. It does nothing if no download
// runs.
func (m *Manager) Pause() {
	m.mu.Lock()
	if !m.running {
		m.mu.Unlock()
		return
	}
	m.cancel(errPauseRequested)
	done := m.done
	m.mu.Unlock()
	<-done
}

// Cancel stops a running download and deletes the partial file (also when
// nothing runs). It returns once Run has returned and the file is gone.
func (m *Manager) Cancel() {
	m.mu.Lock()
	if m.running {
		m.cancel(errCancelRequested)
		done := m.done
		m.mu.Unlock()
		<-done
		return
	}
	err := removePartial(m.cfg.Dest)
	m.prog = Progress{State: StateCancelled, BytesTotal: m.prog.BytesTotal}
	if err != nil {
		m.prog.Err = engine.Wrap(engine.CodeIO, err, "could not delete the partial download")
	}
	p := m.prog
	m.mu.Unlock()
	m.emit(p)
}

// Run downloads (or resumes) the file and returns when it is in place
// (nil), or with an *engine.Error:
//
//   - cancelled: ctx ended or Pause was called (params {"paused": true},
//     the partial file is kept) or Cancel was called (partial file deleted);
//   - no_connection, connection_refused, timeout, http_error, tls_error:
//     the network failure that ended the download (see classify), after
//     the retries when it is one a retry may fix;
//   - download_failed: other transfer failures, size mismatch;
//   - checksum_mismatch: the complete file has none of the accepted hashes
//     (the partial file is deleted so the next Run starts afresh);
//   - disk_full: not enough free space, or a write failed with ENOSPC;
//   - io_error: the local file could not be written or moved;
//   - busy: another Run is in progress.
func (m *Manager) Run(ctx context.Context) error {
	rctx, done, err := m.begin(ctx)
	if err != nil {
		return err
	}
	return m.finish(rctx, done)
}

// Start is Run in a new goroutine: the download is running when Start
// returns (so Pause and Cancel apply to it), and onDone, if not nil,
// receives Run's result. Start fails with busy if a download runs.
func (m *Manager) Start(ctx context.Context, onDone func(error)) error {
	rctx, done, err := m.begin(ctx)
	if err != nil {
		return err
	}
	go func() {
		err := m.finish(rctx, done)
		if onDone != nil {
			onDone(err)
		}
	}()
	return nil
}

// runCtx is the context of one run and its cancel function.
type runCtx struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// begin marks a run as started.
func (m *Manager) begin(ctx context.Context) (runCtx, chan struct{}, error) {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return runCtx{}, nil, engine.Errorf(engine.CodeBusy, nil, "a download is already running")
	}
	rctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	m.running, m.cancel, m.done = true, cancel, done
	m.prog.State, m.prog.Err, m.prog.Attempt, m.prog.RetryAt = StateRunning, nil, 1, time.Time{}
	m.prog.BytesPerSecond, m.prog.ETASeconds = 0, 0
	p := m.prog
	m.mu.Unlock()
	m.emit(p)
	return runCtx{rctx, cancel}, done, nil
}

// finish runs the download and records how it ended.
func (m *Manager) finish(r runCtx, done chan struct{}) error {
	err := m.run(r.ctx)
	cause := context.Cause(r.ctx)
	stopped := r.ctx.Err() != nil
	r.cancel(nil)

	var ee *engine.Error
	state := StateFailed
	switch {
	case err == nil:
		state = StateDone
	case stopped && errors.Is(cause, errCancelRequested):
		state = StateCancelled
		ee = engine.Errorf(engine.CodeCancelled, nil, "download cancelled")
		if rerr := removePartial(m.cfg.Dest); rerr != nil {
			ee = engine.Wrap(engine.CodeIO, rerr, "download cancelled but the partial file could not be deleted")
		}
	case stopped:
		state = StatePaused
		ee = engine.Errorf(engine.CodeCancelled, map[string]any{"paused": true}, "download paused")
	default:
		ee = m.asEngineError(err)
	}

	m.mu.Lock()
	m.prog.State, m.prog.RetryAt = state, time.Time{}
	m.prog.BytesPerSecond, m.prog.ETASeconds = 0, 0
	switch state {
	case StateFailed:
		m.prog.Err = ee
	case StateCancelled:
		m.prog.BytesDone = 0
	}
	p := m.prog
	m.mu.Unlock()
	m.emit(p)

	m.mu.Lock()
	m.running = false
	m.mu.Unlock()
	close(done)
	if ee != nil {
		return ee
	}
	return nil
}

// retryable marks an attempt failure that another attempt may fix.
type retryable struct{ err error }

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

func retry(err error) error { return &retryable{err} }

func (m *Manager) asEngineError(err error) *engine.Error {
	return classify(err, m.cfg.URL)
}

func (m *Manager) run(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(m.cfg.Dest), 0o755); err != nil {
		return engine.Wrap(engine.CodeIO, err, "could not create the download folder")
	}
	failures := 0
	meter := newMeter(time.Now(), 0)
	for attempt := 1; ; attempt++ {
		m.update(func(p *Progress) { p.Attempt = attempt }, true)
		progressed, err := m.attempt(ctx, meter)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var r *retryable
		if !errors.As(err, &r) {
			return err
		}
		if progressed {
			failures = 0
		}
		failures++
		cause := classify(r.err, m.cfg.URL)
		if m.cfg.MaxRetries < 0 || failures > m.cfg.MaxRetries {
			return &engine.Error{Code: cause.Code, Params: cause.Params,
				Msg: fmt.Sprintf("%s (gave up after %d attempts)", cause.Msg, attempt), Err: cause.Err}
		}
		// Say why at once, and when the next attempt starts.
		wait := m.backoff(failures)
		m.update(func(p *Progress) {
			p.Err, p.RetryAt = cause, time.Now().Add(wait)
			p.BytesPerSecond, p.ETASeconds = 0, 0
		}, true)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		m.update(func(p *Progress) { p.RetryAt = time.Time{} }, true)
	}
	if err := m.verify(ctx); err != nil {
		return err
	}
	part := PartPath(m.cfg.Dest)
	if err := os.Rename(part, m.cfg.Dest); err != nil {
		return engine.Wrap(engine.CodeIO, err, "could not move the download into place")
	}
	syncDir(filepath.Dir(m.cfg.Dest))
	_ = os.Remove(sidecarPath(m.cfg.Dest))
	return nil
}

func (m *Manager) backoff(failures int) time.Duration {
	d := m.cfg.RetryBase << min(failures-1, 20)
	if d <= 0 || d > m.cfg.RetryMax {
		d = m.cfg.RetryMax
	}
	// ±20 % jitter so that many clients do not retry in lockstep.
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// attempt makes one HTTP request and appends what it gets to the .part
// file. It returns nil when the .part file is complete. progressed tells
// whether any byte was written.
func (m *Manager) attempt(ctx context.Context, meter *meter) (progressed bool, err error) {
	dest, part := m.cfg.Dest, PartPath(m.cfg.Dest)
	offset := int64(0)
	if st, err := os.Stat(part); err == nil {
		offset = st.Size()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, engine.Wrap(engine.CodeIO, err, "could not read the partial download")
	}
	sc, haveSC := readSidecar(dest)
	if haveSC && sc.URL != m.cfg.URL {
		// A partial file of another URL: start over.
		if err := removePartial(dest); err != nil {
			return false, engine.Wrap(engine.CodeIO, err, "could not delete a stale partial download")
		}
		offset, haveSC = 0, false
	}
	if haveSC && sc.Total >= 0 && offset > 0 {
		if offset == sc.Total {
			m.update(func(p *Progress) { p.BytesDone, p.BytesTotal = offset, sc.Total }, true)
			return false, nil // complete: verify it
		}
		if offset > sc.Total {
			if err := removePartial(dest); err != nil {
				return false, engine.Wrap(engine.CodeIO, err, "could not delete a corrupt partial download")
			}
			offset, haveSC = 0, false
		}
	}

	actx, acancel := context.WithCancelCause(ctx)
	defer acancel(nil)
	watchdog := time.AfterFunc(m.cfg.StallTimeout, func() { acancel(errStalled) })
	defer watchdog.Stop()

	req, err := http.NewRequestWithContext(actx, http.MethodGet, m.cfg.URL, nil)
	if err != nil {
		return false, engine.Wrap(engine.CodeDownload, err, "invalid download URL")
	}
	req.Header.Set("User-Agent", m.cfg.UserAgent)
	// Ask for the bytes as stored: a transparently decompressed body would
	// break Range and Content-Length.
	req.Header.Set("Accept-Encoding", "identity")
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		if haveSC {
			if sc.ETag != "" && !strings.HasPrefix(sc.ETag, "W/") {
				req.Header.Set("If-Range", sc.ETag)
			} else if sc.LastModified != "" {
				req.Header.Set("If-Range", sc.LastModified)
			}
		}
	}
	resp, err := m.cfg.Client.Do(req)
	if err != nil {
		return false, m.transferError(ctx, actx, err)
	}
	defer resp.Body.Close()

	total := int64(-1)
	truncate := false
	switch {
	case resp.StatusCode == http.StatusPartialContent && offset > 0:
		start, _, t, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			// Not the bytes we asked for: start over.
			if err := removePartial(dest); err != nil {
				return false, engine.Wrap(engine.CodeIO, err, "could not delete the partial download")
			}
			return false, retry(fmt.Errorf("server sent range %q for offset %d", resp.Header.Get("Content-Range"), offset))
		}
		total = t
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusPartialContent:
		// A 200 to a Range request means the server ignores Range or the
		// file changed (If-Range): start from 0.
		truncate, offset = true, 0
		total = resp.ContentLength
		if resp.StatusCode == http.StatusPartialContent {
			if start, _, t, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && start == 0 {
				total = t
			}
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		_, _, t, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if ok && t >= 0 && t == offset {
			if err := writeSidecar(dest, m.newSidecar(resp, t)); err != nil {
				return false, engine.Wrap(engine.CodeIO, err, "could not write the download sidecar")
			}
			m.update(func(p *Progress) { p.BytesDone, p.BytesTotal = offset, t }, true)
			return false, nil // already complete
		}
		if err := removePartial(dest); err != nil {
			return false, engine.Wrap(engine.CodeIO, err, "could not delete the partial download")
		}
		return false, retry(fmt.Errorf("server rejected the range from byte %d (HTTP 416)", offset))
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests:
		return false, retry(&httpStatusError{resp.StatusCode})
	default:
		e := classify(&httpStatusError{resp.StatusCode}, m.cfg.URL)
		e.Params["url"] = m.cfg.URL
		e.Msg = "download failed: " + e.Msg
		return false, e
	}
	if total < 0 && m.cfg.ExpectedSize > 0 {
		total = m.cfg.ExpectedSize
	}
	if m.cfg.ExpectedSize > 0 && total != m.cfg.ExpectedSize {
		_ = removePartial(dest)
		return false, engine.Errorf(engine.CodeDownload, map[string]any{"expected": m.cfg.ExpectedSize, "got": total},
			"download failed: the server's file has %d bytes, expected %d", total, m.cfg.ExpectedSize)
	}
	if total >= 0 {
		if err := m.checkSpace(total - offset); err != nil {
			return false, err
		}
	}
	if err := writeSidecar(dest, m.newSidecar(resp, total)); err != nil {
		return false, m.localError(err, "could not write the download sidecar")
	}

	flags := os.O_WRONLY | os.O_CREATE
	if truncate {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return false, m.localError(err, "could not open the partial download")
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return false, m.localError(err, "could not seek in the partial download")
	}

	meter.reset(time.Now(), offset)
	m.update(func(p *Progress) { p.BytesDone, p.BytesTotal = offset, total }, true)

	var w io.Writer = f
	if m.wrapWriter != nil {
		w = m.wrapWriter(f)
	}
	buf := make([]byte, 256<<10)
	done := offset
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			watchdog.Reset(m.cfg.StallTimeout)
			if total >= 0 && done+int64(n) > total {
				// More bytes than announced: the partial file is garbage.
				f.Close()
				_ = removePartial(dest)
				return true, retry(fmt.Errorf("server sent more than %d bytes", total))
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return progressed, m.localError(werr, "could not write the download")
			}
			first := !progressed
			progressed = true
			done += int64(n)
			t := time.Now()
			meter.add(t, done)
			m.update(func(p *Progress) {
				p.BytesDone = done
				p.BytesPerSecond = meter.rate
				p.ETASeconds = meter.eta(done, total)
				if first {
					p.Err = nil // data flows again
				}
			}, first)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return progressed, m.transferError(ctx, actx, rerr)
		}
	}
	if total >= 0 && done < total {
		return progressed, retry(fmt.Errorf("connection closed after %d of %d bytes", done, total))
	}
	if err := f.Sync(); err != nil {
		return progressed, m.localError(err, "could not flush the download to disk")
	}
	if err := f.Close(); err != nil {
		return progressed, m.localError(err, "could not close the download")
	}
	if total < 0 {
		// Unknown length: what arrived is the file; remember its size.
		sc := m.newSidecar(resp, done)
		_ = writeSidecar(dest, sc)
		m.update(func(p *Progress) { p.BytesTotal = done }, true)
	}
	return progressed, nil
}

func (m *Manager) newSidecar(resp *http.Response, total int64) sidecar {
	return sidecar{URL: m.cfg.URL, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Total: total}
}

// transferError classifies an error of the request or of reading the body.
func (m *Manager) transferError(ctx, actx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(context.Cause(actx), errStalled) {
		return retry(fmt.Errorf("%w (%s)", errStalled, m.cfg.StallTimeout))
	}
	return retry(err)
}

// localError classifies an error writing the local file.
func (m *Manager) localError(err error, msg string) error {
	if IsDiskFull(err) {
		return &engine.Error{Code: engine.CodeDiskFull, Params: map[string]any{"path": m.cfg.Dest}, Msg: "the disk is full", Err: err}
	}
	return engine.Wrap(engine.CodeIO, err, "%s", msg)
}

func (m *Manager) checkSpace(need int64) error {
	if need <= 0 {
		return nil
	}
	avail, err := m.cfg.FreeSpace(filepath.Dir(m.cfg.Dest))
	if err != nil || avail < 0 {
		return nil // unknown: the writes will tell
	}
	if avail < need+m.cfg.FreeSpaceMargin {
		return engine.Errorf(engine.CodeDiskFull, map[string]any{"needed": need + m.cfg.FreeSpaceMargin, "available": avail, "path": m.cfg.Dest},
			"not enough free disk space: %d MB needed, %d MB available", (need+m.cfg.FreeSpaceMargin)>>20, avail>>20)
	}
	return nil
}

// verify checks the size and the SHA-256 of the complete .part file.
func (m *Manager) verify(ctx context.Context) error {
	part := PartPath(m.cfg.Dest)
	f, err := os.Open(part)
	if err != nil {
		return engine.Wrap(engine.CodeIO, err, "could not open the download to verify it")
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return engine.Wrap(engine.CodeIO, err, "could not stat the download")
	}
	size := st.Size()
	if m.cfg.ExpectedSize > 0 && size != m.cfg.ExpectedSize {
		f.Close()
		_ = removePartial(m.cfg.Dest)
		return engine.Errorf(engine.CodeDownload, map[string]any{"expected": m.cfg.ExpectedSize, "got": size},
			"download failed: got %d bytes, expected %d", size, m.cfg.ExpectedSize)
	}
	if len(m.cfg.SHA256) == 0 {
		return nil
	}
	m.update(func(p *Progress) {
		p.State, p.BytesDone, p.BytesTotal = StateVerifying, 0, size
		p.BytesPerSecond, p.ETASeconds = 0, 0
	}, true)
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var hashed int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := f.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			hashed += int64(n)
			m.update(func(p *Progress) { p.BytesDone = hashed }, false)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return engine.Wrap(engine.CodeIO, rerr, "could not read the download to verify it")
		}
	}
	got := hex.EncodeToString(h.Sum(nil))
	for _, want := range m.cfg.SHA256 {
		if got == want {
			m.update(func(p *Progress) { p.BytesDone = size }, true)
			return nil
		}
	}
	f.Close()
	_ = removePartial(m.cfg.Dest)
	return engine.Errorf(engine.CodeChecksum, map[string]any{"expected": m.cfg.SHA256, "got": got},
		"the downloaded file is corrupt (SHA-256 %s)", got)
}

// update changes the progress and reports it if force is set or the last
// report is older than ProgressInterval.
func (m *Manager) update(f func(*Progress), force bool) {
	m.mu.Lock()
	f(&m.prog)
	now := time.Now()
	if !force && now.Sub(m.lastEmit) < m.cfg.ProgressInterval {
		m.mu.Unlock()
		return
	}
	m.lastEmit = now
	p := m.prog
	m.mu.Unlock()
	m.emit(p)
}

func (m *Manager) emit(p Progress) {
	if m.cfg.OnProgress != nil {
		m.cfg.OnProgress(p)
	}
}

// parseContentRange parses "bytes START-END/TOTAL" and "bytes */TOTAL".
// total is -1 when given as "*"; start and end are -1 for "*/TOTAL".
func parseContentRange(s string) (start, end, total int64, ok bool) {
	s, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, tot, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, 0, false
	}
	total = -1
	if tot != "*" {
		t, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || t < 0 {
			return 0, 0, 0, false
		}
		total = t
	}
	if rng == "*" {
		return -1, -1, total, true
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, 0, false
	}
	return start, end, total, true
}

// syncDir flushes a directory entry change (the rename) to disk where the
// platform allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
