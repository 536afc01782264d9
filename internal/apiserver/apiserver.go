// Package apiserver starts and stops the OpenAI-compatible server
// (package server) from the desktop app's settings. It implements
// session.Server.
package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"syscall"

	"github.com/bitnet-desktop/bitnet-desktop/server"
)

// Toggle runs at most one server at a time. It is safe for concurrent use.
type Toggle struct {
	src    server.ModelSource
	logger *slog.Logger
	host   string

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan error
}

// New returns a stopped Toggle serving the models src gives. host "" is
// 127.0.0.1 (local clients only).
func New(src server.ModelSource, host string, logger *slog.Logger) *Toggle {
	if host == "" {
		host = "127.0.0.1"
	}
	return &Toggle{src: src, host: host, logger: logger}
}

// PortInUseError is Start's error when another program holds the port.
type PortInUseError struct {
	Port      int
	Suggested int // a free port near Port, or 0 if none was found
	Err       error
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("port %d is in use", e.Port)
}

func (e *PortInUseError) Unwrap() error { return e.Err }

// Start listens on port (stopping a running server first) and returns the
// base URL for OpenAI clients. A port in use fails at once with a
// *PortInUseError. Start and Stop are one critical section each: two
// concurrent Starts leave one server running, never two.
func (t *Toggle) Start(port int) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.stopLocked(); err != nil && t.logger != nil {
		t.logger.Warn("stop the API server", "err", err)
	}
	srv := server.New(server.Config{Host: t.host, Port: port, Logger: t.logger}, t.src)
	ln, err := net.Listen("tcp", net.JoinHostPort(t.host, strconv.Itoa(port)))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return "", &PortInUseError{Port: port, Suggested: server.FreePortNear(t.host, port), Err: err}
		}
		return "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.cancel, t.done = cancel, done
	return "http://" + ln.Addr().String() + "/v1", nil
}

// Stop shuts the server down gracefully (running answers are cancelled)
// and waits for it. It does nothing if no server runs.
func (t *Toggle) Stop() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stopLocked()
}

func (t *Toggle) stopLocked() error {
	cancel, done := t.cancel, t.done
	t.cancel, t.done = nil, nil
	if cancel == nil {
		return nil
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
