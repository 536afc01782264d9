package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/internal/library"
	"github.com/bitnet-desktop/bitnet-desktop/server"
)

// cmdServe is `bitnet serve`: the OpenAI-compatible API (package server)
// on the --model model, and on the other models of the app's library (a
// request's "model" switches), until Ctrl-C or SIGTERM. It listens before
// the model loads, so GET /health answers 503 while loading.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	var lf loadFlags
	lf.register(fs)
	serverConfig := serveFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := serverConfig()
	if err != nil {
		fmt.Fprintf(stderr, "bitnet serve: %v\n", err)
		return errUsage
	}
	if lf.model == "" {
		fmt.Fprintln(stderr, "bitnet serve: --model FILE or ID is required (or set BITNET_MODEL_PATH)")
		return errUsage
	}
	lib := appLibrary()
	path, err := resolveModel(lf.model, lib)
	if err != nil {
		return err
	}
	lf.model = path
	// The first model's id: --model-id, else its library id.
	if !modelIDSet(args) {
		cfg.ModelID = lib.IDOf(path)
	}
	sw := &serveSwitcher{lf: lf, stderr: stderr, lib: lib, path: path, first: server.ModelCard{ID: cfg.ModelID, Name: filepath.Base(path)}}
	if info, err := library.Inspect(path); err == nil {
		sw.first.Family, sw.first.Parameters, sw.first.ContextLength, sw.first.Chat = string(info.Family), info.Parameters, info.Context, info.Chat
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil)) // one line per request
	return server.Run(ctx, cfg, func(ctx context.Context) (engine.Model, error) {
		m, _, err := lf.load(ctx, stderr)
		if err != nil {
			return nil, err // not a typed nil *runner.Runner
		}
		return m, nil
	}, sw)
}

// modelIDSet reports whether --model-id was given.
func modelIDSet(args []string) bool {
	for _, a := range args {
		if a == "--model-id" || a == "-model-id" || strings.HasPrefix(a, "--model-id=") || strings.HasPrefix(a, "-model-id=") {
			return true
		}
	}
	return false
}

// serveFlags registers the server flags of `bitnet serve` on fs (--host,
// --port, --api-key, --allow-origin, --queue, --model-id; the model flags
// are the caller's). Call the returned function after fs.Parse to get the
// Config. The API key may also come from BITNET_API_KEY, which keeps it out
// of the process list.
func serveFlags(fs *flag.FlagSet) func() (server.Config, error) {
	var (
		cfg     server.Config
		origins string
		queue   int
	)
	fs.StringVar(&cfg.Host, "host", server.DefaultHost, "address to bind; 0.0.0.0 for every interface (set an API key then)")
	fs.IntVar(&cfg.Port, "port", server.DefaultPort, "TCP port")
	fs.StringVar(&cfg.APIKey, "api-key", os.Getenv("BITNET_API_KEY"), "require this bearer key on every endpoint but /health (default $BITNET_API_KEY)")
	fs.StringVar(&origins, "allow-origin", "", "comma-separated browser origins allowed by CORS, e.g. http://localhost:3000 (\"*\" = any)")
	fs.IntVar(&queue, "queue", server.DefaultQueueSize, "requests that may wait while one generates (0 = none: answer 429 at once)")
	fs.StringVar(&cfg.ModelID, "model-id", server.DefaultModelID, "model id the API reports")
	return func() (server.Config, error) {
		out := cfg
		if out.Port < 1 || out.Port > 65535 {
			return server.Config{}, fmt.Errorf("--port must be 1..65535, got %d", out.Port)
		}
		switch {
		case queue < 0:
			return server.Config{}, fmt.Errorf("--queue must be >= 0, got %d", queue)
		case queue == 0:
			out.QueueSize = -1 // Config's "no queue"
		default:
			out.QueueSize = queue
		}
		for _, o := range strings.Split(origins, ",") {
			if o = strings.TrimSpace(o); o != "" {
				out.AllowedOrigins = append(out.AllowedOrigins, o)
			}
		}
		return out, nil
	}
}
