package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRun(t *testing.T) {
	port := freePort(t)
	f := newFake()
	release := make(chan struct{})
	load := func(ctx context.Context) (engine.Model, error) {
		<-release
		return f, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	cfg := Config{Port: port, APIKey: "sekrit-key", Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, load, nil) }()

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer sekrit-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitUntil(t, func() bool { c, _ := get("/health"); return c == 503 }, "/health to answer 503 while loading")
	if c, body := get("/api/chat"); c != 200 || !strings.Contains(body, `"status":"loading"`) {
		t.Errorf("/api/chat while loading: %d %s", c, body)
	}
	close(release)
	waitUntil(t, func() bool { c, _ := get("/health"); return c == 200 }, "/health to answer 200")
	if c, body := get("/v1/models"); c != 200 || !strings.Contains(body, DefaultModelID) {
		t.Errorf("/v1/models: %d %s", c, body)
	}
	cancel()
	if err := waitFor(t, done, "Run to return"); err != nil {
		t.Errorf("Run: %v", err)
	}
	if !f.isClosed() {
		t.Error("the model was not closed")
	}
	if l := logs.String(); !strings.Contains(l, "msg=ready") || !strings.Contains(l, "path=/v1/models") || strings.Contains(l, "sekrit") {
		t.Errorf("logs:\n%s", l)
	}
}

func TestRunLoadErrors(t *testing.T) {
	t.Run("load fails", func(t *testing.T) {
		load := func(context.Context) (engine.Model, error) {
			return nil, engine.Errorf(engine.CodeInvalidModel, nil, "not a GGUF file")
		}
		err := Run(context.Background(), Config{Port: freePort(t)}, load, nil)
		var ee *engine.Error
		if !errors.As(err, &ee) || ee.Code != engine.CodeInvalidModel {
			t.Errorf("err %v", err)
		}
	})
	t.Run("stopped while loading", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		f := newFake()
		load := func(ctx context.Context) (engine.Model, error) {
			cancel() // Ctrl-C during the load
			return f, nil
		}
		if err := Run(ctx, Config{Port: freePort(t)}, load, nil); err != nil {
			t.Errorf("err %v", err)
		}
		if !f.isClosed() {
			t.Error("the model loaded during the stop was not closed")
		}
	})
	t.Run("port in use", func(t *testing.T) {
		port := freePort(t)
		s := New(Config{Port: port}, &ModelHolder{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go s.ListenAndServe(ctx)
		waitUntil(t, func() bool {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
			if err == nil {
				resp.Body.Close()
			}
			return err == nil
		}, "the first server")
		loaded := false
		err := Run(context.Background(), Config{Port: port}, func(context.Context) (engine.Model, error) {
			loaded = true
			return newFake(), nil
		}, nil)
		if err == nil || loaded {
			t.Errorf("err %v, loaded %v", err, loaded)
		}
	})
}

// TestRunBusyPort: a port in use is said plainly, with a free one to use.
func TestRunBusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	err = Run(context.Background(), Config{Port: port}, func(context.Context) (engine.Model, error) {
		t.Error("the model was loaded although the server could not listen")
		return nil, nil
	}, nil)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("port %d is in use", port)) || !strings.Contains(err.Error(), "--port ") {
		t.Errorf("Run on a busy port: %v", err)
	}
}
