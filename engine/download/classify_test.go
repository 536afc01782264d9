package download

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	op := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"dns", &net.DNSError{Err: "no such host", Name: "huggingface.co", IsNotFound: true}, engine.CodeNoConnection},
		{"network unreachable", op(os.NewSyscallError("connect", syscall.ENETUNREACH)), engine.CodeNoConnection},
		{"host unreachable", op(os.NewSyscallError("connect", syscall.EHOSTUNREACH)), engine.CodeNoConnection},
		{"refused", op(os.NewSyscallError("connect", syscall.ECONNREFUSED)), engine.CodeConnectionRefused},
		{"dial timeout", op(timeoutErr{}), engine.CodeTimeout},
		{"stalled", fmt.Errorf("%w (30s)", errStalled), engine.CodeTimeout},
		{"unknown authority", fmt.Errorf("tls: %w", x509.UnknownAuthorityError{}), engine.CodeTLS},
		{"http 404", &httpStatusError{404}, engine.CodeHTTP},
		{"reset", op(os.NewSyscallError("read", syscall.ECONNRESET)), engine.CodeDownload},
		{"other", errors.New("boom"), engine.CodeDownload},
		{"engine error kept", engine.Errorf(engine.CodeDiskFull, nil, "full"), engine.CodeDiskFull},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := classify(tc.err, "https://huggingface.co/x.gguf")
			if e.Code != tc.code {
				t.Errorf("code %q (%v), want %q", e.Code, e, tc.code)
			}
			if tc.code != engine.CodeDiskFull && e.Params["host"] != "huggingface.co" {
				t.Errorf("params %v", e.Params)
			}
		})
	}
}

// TestFirstFailureShownAtOnce: while it retries, the download reports why
// the last attempt failed and when the next one starts, right after the
// first failure (a refused connection here).
func TestFirstFailureShownAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	var mu sync.Mutex
	var seen []Progress
	m, err := New(Config{
		URL: "http://" + addr + "/model.gguf", Dest: filepath.Join(t.TempDir(), "model.gguf"),
		Client: &http.Client{}, MaxRetries: 2, RetryBase: 300 * time.Millisecond, RetryMax: 300 * time.Millisecond,
		OnProgress: func(p Progress) { mu.Lock(); seen = append(seen, p); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = m.Run(context.Background())
	if engine.CodeOf(err) != engine.CodeConnectionRefused {
		t.Fatalf("Run: %v, want connection_refused", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range seen {
		if p.State == StateRunning && p.Err != nil {
			if p.Err.Code != engine.CodeConnectionRefused || p.RetryAt.IsZero() || p.Attempt != 1 {
				t.Errorf("first failure reported as %+v", p)
			}
			if !p.RetryAt.After(start) {
				t.Errorf("retry at %v, before the start %v", p.RetryAt, start)
			}
			return
		}
	}
	t.Errorf("no running progress carried the failure: %+v", seen)
}
