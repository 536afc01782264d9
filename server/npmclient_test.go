//go:build npmclient

package server

// Runs tests/openai-client (the official `openai` npm package) against this
// server with the fake model:
//
//	(cd tests/openai-client && npm ci)
//	go test -tags npmclient -run NodeClient ./server/

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

func TestOpenAINodeClient(t *testing.T) {
	dir := filepath.Join("..", "tests", "openai-client")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai")); err != nil {
		t.Skip("the openai package is not installed: run `npm ci` in tests/openai-client")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	for _, key := range []string{"", "test-key"} {
		t.Run("key="+key, func(t *testing.T) {
			f := newFake()
			s := New(Config{APIKey: key}, ModelSourceFunc(func() (engine.Model, State) { return f, StateReady }))
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			served := make(chan error, 1)
			go func() { served <- s.Serve(ctx, ln) }()

			cmd := exec.CommandContext(ctx, node, "test.mjs")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "BITNET_API_BASE=http://"+ln.Addr().String()+"/v1", "BITNET_API_KEY="+key)
			out, err := cmd.CombinedOutput()
			t.Logf("node test.mjs:\n%s", out)
			if err != nil {
				t.Fatalf("node test.mjs: %v", err)
			}
			if !strings.Contains(string(out), " passed, 0 failed") {
				t.Error("no passing summary line")
			}
			cancel()
			if err := <-served; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
}
