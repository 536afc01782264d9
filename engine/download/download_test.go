package download

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// fault is what the test server does wrong on one request.
type fault int

const (
	faultNone     fault = iota
	faultDrop           // send cut bytes, then close the connection
	faultStall          // send cut bytes, then send nothing until the client gives up
	faultTruncate       // announce the full length, send cut bytes, end the response
	fault503            // answer 503
)

// serverOpts configures a fileServer.
type serverOpts struct {
	ignoreRange bool
	cut         int64         // bytes sent before a fault
	chunk       int           // write size; 0 = all at once
	delay       time.Duration // between chunks
	status      int           // if set, always answer this status
	faults      []fault       // one per request, from the first
}

// fileServer serves data with Range support (unless ignoreRange), with a
// fault on each of the first len(faults) requests.
type fileServer struct {
	serverOpts
	data []byte
	etag string

	mu       sync.Mutex
	requests []string // the Range header of every request
}

func newFileServer(data []byte, opts serverOpts) *fileServer {
	opts.faults = append([]fault(nil), opts.faults...)
	return &fileServer{serverOpts: opts, data: data, etag: `"v1"`}
}

func (s *fileServer) ranges() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func (s *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Header.Get("Range"))
	f := faultNone
	if len(s.faults) > 0 {
		f, s.faults = s.faults[0], s.faults[1:]
	}
	s.mu.Unlock()

	if s.status != 0 {
		w.WriteHeader(s.status)
		return
	}
	if f == fault503 {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	size := int64(len(s.data))
	start := int64(0)
	status := http.StatusOK
	w.Header().Set("ETag", s.etag)
	if rg := r.Header.Get("Range"); rg != "" && !s.ignoreRange {
		ifRange := r.Header.Get("If-Range")
		if ifRange == "" || ifRange == s.etag {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"), 10, 64)
			if err != nil {
				http.Error(w, "bad range", http.StatusBadRequest)
				return
			}
			if n >= size {
				w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
				w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
				return
			}
			start, status = n, http.StatusPartialContent
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, size-1, size))
		}
	}
	body := s.data[start:]
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if f != faultNone && s.cut < int64(len(body)) {
		body = body[:s.cut]
	}
	s.write(w, r, body)
	switch f {
	case faultDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
	case faultStall:
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
}

func (s *fileServer) write(w http.ResponseWriter, r *http.Request, body []byte) {
	chunk := s.chunk
	if chunk <= 0 {
		chunk = len(body)
	}
	for len(body) > 0 && r.Context().Err() == nil {
		n := min(chunk, len(body))
		if _, err := w.Write(body[:n]); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		body = body[n:]
		if s.delay > 0 {
			time.Sleep(s.delay)
		}
	}
}

func testData(n int) ([]byte, string) {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

func newTestManager(t *testing.T, url, dest string, mod func(*Config)) *Manager {
	t.Helper()
	cfg := Config{
		URL:              url,
		Dest:             dest,
		StallTimeout:     300 * time.Millisecond,
		RetryBase:        5 * time.Millisecond,
		RetryMax:         20 * time.Millisecond,
		ProgressInterval: time.Millisecond,
		FreeSpace:        func(string) (int64, error) { return 1 << 40, nil },
	}
	if mod != nil {
		mod(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	return engine.CodeOf(err)
}

func TestRun(t *testing.T) {
	data, sum := testData(1 << 20)
	otherSum := strings.Repeat("ab", 32)
	tests := []struct {
		name        string
		srv         serverOpts
		cfg         func(*Config)
		prePart     []byte // existing .part file
		preSidecar  *sidecar
		wantCode    string   // "" = success
		wantRanges  []string // Range headers the server must have seen (nil = don't check)
		wantPartial bool     // .part kept after a failure
	}{
		{name: "plain", wantRanges: []string{""}},
		{name: "second hash in the list", cfg: func(c *Config) { c.SHA256 = []string{otherSum, strings.ToUpper(sum)} }},
		{name: "no hash check", cfg: func(c *Config) { c.SHA256 = nil }},
		{
			name:       "drop mid-body resumes with Range",
			srv:        serverOpts{cut: 300_000, faults: []fault{faultDrop, faultDrop}},
			wantRanges: []string{"", "bytes=300000-", "bytes=600000-"},
		},
		{
			name:       "stall resumes with Range",
			srv:        serverOpts{cut: 100_000, faults: []fault{faultStall}},
			wantRanges: []string{"", "bytes=100000-"},
		},
		{
			name:       "truncated body resumes with Range",
			srv:        serverOpts{cut: 500_000, faults: []fault{faultTruncate}},
			wantRanges: []string{"", "bytes=500000-"},
		},
		{
			name:       "server ignoring Range restarts from 0",
			srv:        serverOpts{ignoreRange: true, cut: 400_000, faults: []fault{faultDrop}},
			wantRanges: []string{"", "bytes=400000-"},
		},
		{
			name:       "503 then success",
			srv:        serverOpts{faults: []fault{fault503, fault503}},
			wantRanges: []string{"", "", ""},
		},
		{
			name:        "retries exhausted",
			srv:         serverOpts{cut: 10, faults: []fault{fault503, fault503, fault503, fault503}},
			cfg:         func(c *Config) { c.MaxRetries = 2 },
			wantCode:    engine.CodeHTTP,
			wantRanges:  []string{"", "", ""},
			wantPartial: false,
		},
		{
			name:       "404 is not retried",
			srv:        serverOpts{status: http.StatusNotFound},
			wantCode:   engine.CodeHTTP,
			wantRanges: []string{""},
		},
		{
			name:     "wrong hash",
			cfg:      func(c *Config) { c.SHA256 = []string{otherSum} },
			wantCode: engine.CodeChecksum,
		},
		{
			name:     "size differs from expected",
			cfg:      func(c *Config) { c.ExpectedSize = int64(len(data)) + 1 },
			wantCode: engine.CodeDownload,
		},
		{
			name:       "expected size matches",
			cfg:        func(c *Config) { c.ExpectedSize = int64(len(data)) },
			wantRanges: []string{""},
		},
		{
			name:       "resume an existing part with sidecar",
			prePart:    data[:123_456],
			preSidecar: &sidecar{ETag: `"v1"`, Total: int64(len(data))},
			wantRanges: []string{"bytes=123456-"},
		},
		{
			name:       "complete part is only verified",
			prePart:    data,
			preSidecar: &sidecar{ETag: `"v1"`, Total: int64(len(data))},
			wantRanges: []string{},
		},
		{
			name:       "complete part without sidecar gets 416",
			prePart:    data,
			wantRanges: []string{fmt.Sprintf("bytes=%d-", len(data))},
		},
		{
			name:       "oversized part without sidecar: 416 then restart",
			prePart:    append(append([]byte(nil), data...), 1, 2, 3),
			wantRanges: []string{fmt.Sprintf("bytes=%d-", len(data)+3), ""},
		},
		{
			name:       "changed remote file (If-Range) restarts from 0",
			prePart:    bytes.Repeat([]byte{7}, 5000),
			preSidecar: &sidecar{ETag: `"old"`, Total: int64(len(data))},
			wantRanges: []string{"bytes=5000-"},
		},
		{
			name:       "part of another URL is discarded",
			prePart:    bytes.Repeat([]byte{7}, 5000),
			preSidecar: &sidecar{URL: "http://elsewhere/x", ETag: `"v1"`, Total: int64(len(data))},
			wantRanges: []string{""},
		},
		{
			name:     "not enough free space",
			cfg:      func(c *Config) { c.FreeSpace = func(string) (int64, error) { return 1000, nil } },
			wantCode: engine.CodeDiskFull,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFileServer(data, tt.srv)
			ts := httptest.NewServer(srv)
			defer ts.Close()
			dir := t.TempDir()
			dest := filepath.Join(dir, "model.gguf")
			if tt.prePart != nil {
				if err := os.WriteFile(PartPath(dest), tt.prePart, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.preSidecar != nil {
				sc := *tt.preSidecar
				if sc.URL == "" {
					sc.URL = ts.URL + "/model.gguf"
				}
				if err := writeSidecar(dest, sc); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			var states []State
			m := newTestManager(t, ts.URL+"/model.gguf", dest, func(c *Config) {
				c.SHA256 = []string{sum}
				c.OnProgress = func(p Progress) {
					mu.Lock()
					defer mu.Unlock()
					if len(states) == 0 || states[len(states)-1] != p.State {
						states = append(states, p.State)
					}
					if p.BytesTotal > 0 && p.BytesDone > p.BytesTotal {
						t.Errorf("progress %d > total %d", p.BytesDone, p.BytesTotal)
					}
				}
				if tt.cfg != nil {
					tt.cfg(c)
				}
			})
			err := m.Run(context.Background())
			if got := codeOf(err); got != tt.wantCode {
				t.Fatalf("Run() code %q (%v), want %q", got, err, tt.wantCode)
			}
			if tt.wantRanges != nil {
				if got := srv.ranges(); fmt.Sprint(got) != fmt.Sprint(tt.wantRanges) {
					t.Errorf("Range headers %q, want %q", got, tt.wantRanges)
				}
			}
			p := m.Progress()
			if tt.wantCode == "" {
				got, err := os.ReadFile(dest)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("downloaded file differs (%d bytes)", len(got))
				}
				for _, f := range []string{PartPath(dest), sidecarPath(dest)} {
					if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("%s still exists", filepath.Base(f))
					}
				}
				if p.State != StateDone || p.BytesDone != int64(len(data)) {
					t.Errorf("final progress %+v", p)
				}
				mu.Lock()
				if states[0] != StateRunning || states[len(states)-1] != StateDone {
					t.Errorf("states %v", states)
				}
				mu.Unlock()
				return
			}
			if p.State != StateFailed || p.Err == nil || p.Err.Code != tt.wantCode {
				t.Errorf("final progress %+v", p)
			}
			if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("destination exists after a failure")
			}
			_, err = os.Stat(PartPath(dest))
			if hasPart := err == nil; hasPart != tt.wantPartial {
				t.Errorf("partial file kept = %v, want %v", hasPart, tt.wantPartial)
			}
		})
	}
}

// errWriter fails every write after limit bytes with ENOSPC.
type errWriter struct {
	w     io.Writer
	limit int
}

func (e *errWriter) Write(p []byte) (int, error) {
	if len(p) > e.limit {
		n, _ := e.w.Write(p[:e.limit])
		e.limit = 0
		return n, &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}
	}
	e.limit -= len(p)
	return e.w.Write(p)
}

func TestDiskFullDuringWrite(t *testing.T) {
	data, sum := testData(600_000)
	srv := newFileServer(data, serverOpts{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dest := filepath.Join(t.TempDir(), "model.gguf")
	m := newTestManager(t, ts.URL, dest, func(c *Config) { c.SHA256 = []string{sum} })
	m.wrapWriter = func(w io.Writer) io.Writer { return &errWriter{w: w, limit: 100_000} }
	err := m.Run(context.Background())
	if codeOf(err) != engine.CodeDiskFull {
		t.Fatalf("Run() = %v, want disk_full", err)
	}
	if len(srv.ranges()) != 1 {
		t.Errorf("disk full was retried: %q", srv.ranges())
	}
	// The bytes written so far are kept: freeing space and retrying resumes.
	m.wrapWriter = nil
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("second Run() = %v", err)
	}
	if got := srv.ranges(); len(got) != 2 || !strings.HasPrefix(got[1], "bytes=") {
		t.Errorf("Range headers %q, want a resume", got)
	}
}

// slowServer returns a server that sends data slowly, so that tests can
// interrupt the transfer.
func slowServer(data []byte) *fileServer {
	return newFileServer(data, serverOpts{chunk: 16 << 10, delay: 2 * time.Millisecond})
}

// runUntil starts Run and calls stop once at least n bytes have arrived.
func runUntil(t *testing.T, ctx context.Context, url, dest string, sum string, n int64, stop func(*Manager)) (*Manager, error) {
	t.Helper()
	var once sync.Once
	reached := make(chan struct{})
	m := newTestManager(t, url, dest, func(c *Config) {
		c.SHA256 = []string{sum}
		c.OnProgress = func(p Progress) {
			if p.State == StateRunning && p.BytesDone >= n {
				once.Do(func() { close(reached) })
			}
		}
	})
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx) }()
	select {
	case <-reached:
	case err := <-errc:
		t.Fatalf("Run ended before %d bytes: %v", n, err)
	}
	stop(m)
	return m, <-errc
}

func TestRestartMidDownload(t *testing.T) {
	data, sum := testData(1 << 20)
	srv := slowServer(data)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dest := filepath.Join(t.TempDir(), "model.gguf")

	// First "app run": its context ends mid-transfer (the app quits).
	ctx, cancel := context.WithCancel(context.Background())
	m1, err := runUntil(t, ctx, ts.URL, dest, sum, 200_000, func(*Manager) { cancel() })
	if codeOf(err) != engine.CodeCancelled {
		t.Fatalf("first Run() = %v, want cancelled", err)
	}
	if p := m1.Progress(); p.State != StatePaused {
		t.Errorf("state after cancel = %s, want paused", p.State)
	}
	part, ok := Inspect(dest)
	if !ok || part.BytesDone < 200_000 || part.BytesDone >= int64(len(data)) || part.BytesTotal != int64(len(data)) {
		t.Fatalf("partial download %+v, ok=%v", part, ok)
	}

	// Second "app run": a new manager resumes from the .part file.
	m2 := newTestManager(t, ts.URL, dest, func(c *Config) { c.SHA256 = []string{sum} })
	if p := m2.Progress(); p.State != StatePaused || p.BytesDone != part.BytesDone {
		t.Errorf("new manager progress %+v, want paused at %d", p, part.BytesDone)
	}
	if err := m2.Run(context.Background()); err != nil {
		t.Fatalf("second Run() = %v", err)
	}
	ranges := srv.ranges()
	if want := fmt.Sprintf("bytes=%d-", part.BytesDone); len(ranges) != 2 || ranges[1] != want {
		t.Errorf("Range headers %q, want second %q", ranges, want)
	}
	got, _ := os.ReadFile(dest)
	if s := sha256.Sum256(got); hex.EncodeToString(s[:]) != sum {
		t.Fatal("wrong hash after resume")
	}
}

func TestPauseResumeCancel(t *testing.T) {
	data, sum := testData(1 << 20)
	srv := slowServer(data)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()

	t.Run("pause then resume", func(t *testing.T) {
		dest := filepath.Join(dir, "a.gguf")
		m, err := runUntil(t, context.Background(), ts.URL, dest, sum, 100_000, (*Manager).Pause)
		if codeOf(err) != engine.CodeCancelled {
			t.Fatalf("Run() after Pause = %v", err)
		}
		if p := m.Progress(); p.State != StatePaused || p.BytesDone < 100_000 {
			t.Fatalf("progress after Pause %+v", p)
		}
		if _, ok := Inspect(dest); !ok {
			t.Fatal("Pause deleted the partial file")
		}
		m.Pause() // no-op when idle
		if err := m.Run(context.Background()); err != nil {
			t.Fatalf("resume: %v", err)
		}
		got, _ := os.ReadFile(dest)
		if !bytes.Equal(got, data) {
			t.Fatal("file differs after pause/resume")
		}
	})
	t.Run("cancel while running", func(t *testing.T) {
		dest := filepath.Join(dir, "b.gguf")
		m, err := runUntil(t, context.Background(), ts.URL, dest, sum, 100_000, (*Manager).Cancel)
		if codeOf(err) != engine.CodeCancelled {
			t.Fatalf("Run() after Cancel = %v", err)
		}
		if p := m.Progress(); p.State != StateCancelled || p.BytesDone != 0 {
			t.Errorf("progress after Cancel %+v", p)
		}
		if _, ok := Inspect(dest); ok {
			t.Fatal("Cancel kept the partial file")
		}
		if _, err := os.Stat(sidecarPath(dest)); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("Cancel kept the sidecar")
		}
	})
	t.Run("cancel while paused", func(t *testing.T) {
		dest := filepath.Join(dir, "c.gguf")
		m, _ := runUntil(t, context.Background(), ts.URL, dest, sum, 100_000, (*Manager).Pause)
		m.Cancel()
		if _, ok := Inspect(dest); ok {
			t.Fatal("Cancel kept the partial file")
		}
		if p := m.Progress(); p.State != StateCancelled {
			t.Errorf("state %s", p.State)
		}
	})
	t.Run("second Run while running is busy", func(t *testing.T) {
		dest := filepath.Join(dir, "d.gguf")
		_, err := runUntil(t, context.Background(), ts.URL, dest, sum, 50_000, func(m *Manager) {
			if err := m.Run(context.Background()); codeOf(err) != engine.CodeBusy {
				t.Errorf("concurrent Run() = %v, want busy", err)
			}
			if !m.Running() {
				t.Error("Running() = false during a download")
			}
			m.Cancel()
		})
		if codeOf(err) != engine.CodeCancelled {
			t.Fatalf("Run() = %v", err)
		}
	})
}

func TestProgressReportsSpeedAndETA(t *testing.T) {
	data, sum := testData(2 << 20)
	srv := newFileServer(data, serverOpts{chunk: 32 << 10, delay: 10 * time.Millisecond})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	var mu sync.Mutex
	var sawRate, sawETA, sawVerify bool
	m := newTestManager(t, ts.URL, filepath.Join(t.TempDir(), "m.gguf"), func(c *Config) {
		c.SHA256 = []string{sum}
		c.OnProgress = func(p Progress) {
			mu.Lock()
			defer mu.Unlock()
			sawRate = sawRate || p.BytesPerSecond > 0
			sawETA = sawETA || p.ETASeconds > 0
			sawVerify = sawVerify || (p.State == StateVerifying && p.BytesTotal == int64(len(data)))
		}
	})
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !sawRate || !sawETA || !sawVerify {
		t.Errorf("rate %v, eta %v, verifying %v", sawRate, sawETA, sawVerify)
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in                string
		start, end, total int64
		ok                bool
	}{
		{"bytes 0-99/100", 0, 99, 100, true},
		{"bytes 10-19/*", 10, 19, -1, true},
		{"bytes */1000", -1, -1, 1000, true},
		{"bytes 5-4/10", 0, 0, 0, false},
		{"items 0-1/2", 0, 0, 0, false},
		{"bytes 0-1", 0, 0, 0, false},
		{"bytes x-1/2", 0, 0, 0, false},
	}
	for _, tt := range tests {
		s, e, tot, ok := parseContentRange(tt.in)
		if ok != tt.ok || (ok && (s != tt.start || e != tt.end || tot != tt.total)) {
			t.Errorf("parseContentRange(%q) = %d %d %d %v", tt.in, s, e, tot, ok)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{{}, {URL: "http://x"}, {URL: "ftp://x/y", Dest: "/tmp/y"}} {
		if _, err := New(cfg); codeOf(err) != engine.CodeInvalidRequest {
			t.Errorf("New(%+v) = %v", cfg, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	m := &Manager{cfg: Config{RetryBase: 100 * time.Millisecond, RetryMax: time.Second}}
	for i, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		got := m.backoff(i + 1)
		if got < want*8/10 || got > want*12/10 {
			t.Errorf("backoff(%d) = %v, want about %v", i+1, got, want)
		}
	}
}
