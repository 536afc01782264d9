package apiserver

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
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

// TestConcurrentStarts: Starts racing each other leave exactly one server,
// and Stop frees every port (before, two Starts could leak a server).
func TestConcurrentStarts(t *testing.T) {
	src := server.ModelSourceFunc(func() (engine.Model, server.State) { return nil, server.StateNone })
	tg := New(src, "", nil)
	ports := make([]int, 8)
	for i := range ports {
		ports[i] = freePort(t)
	}
	var wg sync.WaitGroup
	for _, p := range ports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = tg.Start(p)
		}()
	}
	wg.Wait()
	listening := 0
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			listening++
			continue
		}
		ln.Close()
	}
	if listening != 1 {
		t.Errorf("%d servers listening after concurrent Starts, want 1", listening)
	}
	if err := tg.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Errorf("port %d still in use after Stop: a server leaked", p)
			continue
		}
		ln.Close()
	}
}

func TestPortInUse(t *testing.T) {
	src := server.ModelSourceFunc(func() (engine.Model, server.State) { return nil, server.StateNone })
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	_, err = New(src, "", nil).Start(port)
	var pe *PortInUseError
	if !errors.As(err, &pe) {
		t.Fatalf("Start on a busy port: %v, want a *PortInUseError", err)
	}
	if pe.Port != port || pe.Suggested <= port {
		t.Errorf("port %d suggested %d", pe.Port, pe.Suggested)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(pe.Suggested)))
	if err != nil {
		t.Errorf("suggested port %d is not free: %v", pe.Suggested, err)
	} else {
		ln.Close()
	}
}
