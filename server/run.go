package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// Switcher gives Run's server more models than the one it starts with:
// Models lists them (cfg.ModelID is the first one's id), Load loads one.
type Switcher interface {
	Models() []ModelCard
	Load(ctx context.Context, id string) (engine.Model, error)
}

// Run is the headless server's life cycle, used by `bitnet serve` (whose
// flags live with the CLI, cmd/bitnet): it listens at once (GET /health
// answers 503 while the model loads), loads the model with load, serves
// until ctx ends, then shuts down gracefully and closes the model. With a
// Switcher (may be nil), a request may name another of its models, which
// then replaces the loaded one. It logs to cfg.Logger. A ctx that ends
// while the model loads is not an error.
func Run(ctx context.Context, cfg Config, load func(context.Context) (engine.Model, error), sw Switcher) error {
	lib := &runLibrary{sw: sw}
	lib.holder.SetLoading()
	var src ModelSource = &lib.holder
	if sw != nil {
		src = lib
	}
	srv := New(cfg, src)
	lib.loaded = srv.Config().ModelID
	holder := &lib.holder
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
	if cerr := lib.close(); cerr != nil && err == nil {
		err = fmt.Errorf("serve: close the model: %w", cerr)
	}
	return err
}

// runLibrary is Run's model source with a Switcher: the holder has the
// loaded model; Use replaces it (the server runs one request at a time
// while it chooses a model, so nothing generates meanwhile).
type runLibrary struct {
	sw     Switcher
	holder ModelHolder
	mu     sync.Mutex
	loaded string // the id of the held model
}

func (l *runLibrary) Current() (engine.Model, State) { return l.holder.Current() }

func (l *runLibrary) Models() []ModelCard {
	l.mu.Lock()
	loaded := l.loaded
	l.mu.Unlock()
	cards := l.sw.Models()
	for i := range cards {
		cards[i].Loaded = strings.EqualFold(cards[i].ID, loaded)
	}
	return cards
}

func (l *runLibrary) Use(ctx context.Context, id string) (engine.Model, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m, st := l.holder.Current(); st == StateReady && strings.EqualFold(id, l.loaded) {
		return m, nil
	}
	if old, _ := l.holder.Current(); old != nil {
		l.holder.SetLoading()
		_ = old.Close()
	}
	m, err := l.sw.Load(ctx, id)
	if err != nil {
		l.holder.Clear()
		l.loaded = ""
		return nil, err
	}
	l.holder.SetReady(m)
	l.loaded = id
	return m, nil
}

// close closes the held model.
func (l *runLibrary) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, _ := l.holder.Current()
	l.holder.Clear()
	if m != nil {
		return m.Close()
	}
	return nil
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
