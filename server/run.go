package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// Run is the headless server's life cycle, used by `bitnet serve` (whose
// flags live with the CLI, cmd/bitnet): it listens at once (GET /health
// answers 503 while the model loads), loads the model with load, serves
// until ctx ends, then shuts down gracefully and closes the model. It logs to cfg.Logger. A ctx
// that ends while the model loads is not an error.
func Run(ctx context.Context, cfg Config, load func(context.Context) (engine.Model, error)) error {
	var holder ModelHolder
	holder.SetLoading()
	srv := New(cfg, &holder)
	cfg = srv.Config()
	logf := func(msg string, args ...any) {
		if cfg.Logger != nil {
			cfg.Logger.Info(msg, args...)
		}
	}
	if !isLoopbackHost(cfg.Host) && cfg.APIKey == "" && cfg.Logger != nil {
		cfg.Logger.Warn("the server is reachable from other machines without an API key; set --api-key or BITNET_API_KEY", "host", cfg.Host)
	}
	ln, err := net.Listen("tcp", srv.Addr())
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			hint := ""
			if p := FreePortNear(cfg.Host, cfg.Port); p > 0 {
				hint = fmt.Sprintf(" (port %d is free: --port %d)", p, p)
			}
			return fmt.Errorf("serve: port %d is in use by another program%s: %w", cfg.Port, hint, err)
		}
		return fmt.Errorf("serve: listen on %s: %w", srv.Addr(), err)
	}
	serveCtx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln) }()
	logf("listening; loading the model", "url", srv.URL())

	model, err := load(ctx)
	if err != nil || ctx.Err() != nil {
		stopServe()
		serr := <-served
		if model != nil {
			_ = model.Close()
		}
		switch {
		case ctx.Err() != nil:
			return serr // stopped while loading
		case err != nil:
			return fmt.Errorf("serve: load the model: %w", err)
		}
	}
	if model == nil {
		stopServe()
		<-served
		return engine.Errorf(engine.CodeNotLoaded, nil, "serve: the loader returned no model")
	}
	holder.SetReady(model)
	logf("ready", "url", srv.URL(), "model_id", cfg.ModelID, "api_key", cfg.APIKey != "")

	err = <-served
	holder.Clear()
	if cerr := model.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("serve: close the model: %w", cerr)
	}
	return err
}

// FreePortNear returns the first port after port (up to 100 further) that
// can be listened on at host, or 0.
func FreePortNear(host string, port int) int {
	for p := port + 1; p <= min(port+100, 65535); p++ {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			ln.Close()
			return p
		}
	}
	return 0
}
