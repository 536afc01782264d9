package apiserver

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/server"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestToggle(t *testing.T) {
	src := server.ModelSourceFunc(func() (engine.Model, server.State) { return nil, server.StateNone })
	tg := New(src, "", nil)
	if err := tg.Stop(); err != nil {
		t.Fatalf("Stop when stopped: %v", err)
	}
	port := freePort(t)
	url, err := tg.Start(port)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/v1") {
		t.Errorf("url %q", url)
	}
	resp, err := http.Get(strings.TrimSuffix(url, "/v1") + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/health without a model: %d %s", resp.StatusCode, body)
	}

	// A second Start moves the server; the old port is free again.
	port2 := freePort(t)
	if _, err := tg.Start(port2); err != nil {
		t.Fatal(err)
	}
	if ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err != nil {
		t.Errorf("old port still busy: %v", err)
	} else {
		ln.Close()
	}

	// A port in use fails at once.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if _, err := tg.Start(busy.Addr().(*net.TCPAddr).Port); err == nil {
		t.Error("Start on a busy port succeeded")
	}
	if err := tg.Stop(); err != nil {
		t.Fatal(err)
	}
}
