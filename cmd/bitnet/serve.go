package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/server"
)

// cmdServe is `bitnet serve`: the OpenAI-compatible API (package server) on
// one model, until Ctrl-C or SIGTERM. It listens before the model loads, so
// GET /health answers 503 while loading.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	var lf loadFlags
	lf.register(fs)
	serverConfig := server.ServeFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := serverConfig()
	if err != nil {
		fmt.Fprintf(stderr, "bitnet serve: %v\n", err)
		return errUsage
	}
	if lf.model == "" {
		fmt.Fprintln(stderr, "bitnet serve: --model FILE is required (or set BITNET_MODEL_PATH)")
		return errUsage
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil)) // one line per request
	return server.Run(ctx, cfg, func(ctx context.Context) (engine.Model, error) {
		m, _, err := lf.load(ctx, stderr)
		if err != nil {
			return nil, err // not a typed nil *runner.Runner
		}
		return m, nil
	})
}
