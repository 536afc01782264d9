package server

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// ServeFlags registers the server flags of `bitnet serve` on fs (--host,
// --port, --api-key, --allow-origin, --queue, --model-id; the model flags
// are the caller's). Call the returned function after fs.Parse to get the
// Config. The API key may also come from BITNET_API_KEY, which keeps it out
// of the process list.
func ServeFlags(fs *flag.FlagSet) func() (Config, error) {
	var (
		cfg     Config
		origins string
		queue   int
	)
	fs.StringVar(&cfg.Host, "host", DefaultHost, "address to bind; 0.0.0.0 for every interface (set an API key then)")
	fs.IntVar(&cfg.Port, "port", DefaultPort, "TCP port")
	fs.StringVar(&cfg.APIKey, "api-key", os.Getenv("BITNET_API_KEY"), "require this bearer key on every endpoint but /health (default $BITNET_API_KEY)")
	fs.StringVar(&origins, "allow-origin", "", "comma-separated browser origins allowed by CORS, e.g. http://localhost:3000 (\"*\" = any)")
	fs.IntVar(&queue, "queue", DefaultQueueSize, "requests that may wait while one generates (0 = none: answer 429 at once)")
	fs.StringVar(&cfg.ModelID, "model-id", DefaultModelID, "model id the API reports")
	return func() (Config, error) {
		out := cfg
		if out.Port < 1 || out.Port > 65535 {
			return Config{}, fmt.Errorf("--port must be 1..65535, got %d", out.Port)
		}
		switch {
		case queue < 0:
			return Config{}, fmt.Errorf("--queue must be >= 0, got %d", queue)
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

// Run is `bitnet serve`: it listens at once (GET /health answers 503 while
// the model loads), loads the model with load, serves until ctx ends, then
// shuts down gracefully and closes the model. It logs to cfg.Logger. A ctx
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
