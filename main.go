// Command bitnet-desktop is BitNet Desktop: a chat app for Microsoft's
// BitNet b1.58 2B4T running locally on the CPU (Wails: Go backend, React
// front end in frontend/).
package main

import (
	"embed"
	"fmt"
	"log/slog"
	"os"
	"runtime"

	"github.com/bitnet-desktop/bitnet-desktop/internal/desktop"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"

	"github.com/bitnet-desktop/bitnet-desktop/engine/runner"
	"github.com/bitnet-desktop/bitnet-desktop/internal/apiserver"
	"github.com/bitnet-desktop/bitnet-desktop/internal/appdata"
	"github.com/bitnet-desktop/bitnet-desktop/internal/applog"
	"github.com/bitnet-desktop/bitnet-desktop/internal/hugepages"
	"github.com/bitnet-desktop/bitnet-desktop/internal/session"
	"github.com/bitnet-desktop/bitnet-desktop/internal/settings"
)

//go:embed all:frontend/dist
var assets embed.FS

//go:embed build/appicon.png
var icon []byte

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if hasVersionFlag(os.Args[1:]) {
		fmt.Println("bitnet-desktop", version)
		return
	}
	// A CPU without AVX2 is reported by the engine's loader, so the window
	// shows the message instead of the process dying with SIGILL.
	hugepages.Enable()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bitnet-desktop:", err)
		os.Exit(1)
	}
}

// hasVersionFlag looks for --version by hand: Wails' dev mode parses its
// own flags, so the flag package cannot own os.Args.
func hasVersionFlag(args []string) bool {
	for _, a := range args {
		if a == "--version" || a == "-version" {
			return true
		}
	}
	return false
}

// engineHooks returns the model loader and the Go-side validator (run on
// every import before anything else touches the file).
func engineHooks() (session.Loader, session.Validator) {
	validate := func(p string) error {
		_, _, err := runner.Inspect(p)
		return err
	}
	return runner.Load, validate
}

func run() error {
	ui := &desktop.UI{}
	if generatingBindings {
		// `wails generate module` / `wails build` run the binary only to
		// read the bound methods: touch no user files.
		return wails.Run(&options.App{Title: "BitNet Desktop", Bind: []any{&App{ui: ui}}})
	}

	getenv := os.Getenv
	paths := appdata.Resolve(getenv)
	if err := paths.Ensure(); err != nil {
		return err
	}
	level := slog.LevelInfo
	if getenv("BITNET_DEBUG") != "" {
		level = slog.LevelDebug
	}
	logger, logFile, err := applog.Open(paths.LogDir, level, os.Stderr)
	if err != nil {
		return err
	}
	defer logFile.Close()
	logger.Info("starting", "version", version, "data", paths.ModelsDir, "config", paths.SettingsPath)
	env, err := appdata.ReadEnv(getenv)
	if err != nil {
		logger.Warn("environment", "err", err)
	}

	load, validate := engineHooks()
	// The server starts in sess.Start, after src.S is set.
	src := &session.APISource{}
	api := apiserver.New(src, "", logger.With("component", "api"))
	sess, err := session.New(session.Config{
		Paths:    paths,
		Env:      env,
		Version:  version,
		NumCPU:   runtime.NumCPU(),
		Language: settings.SystemLanguage(getenv),
		Load:     load,
		Validate: validate,
		Emitter:  ui,
		Dialogs:  ui,
		Server:   api,
		Logger:   logger,
	})
	if err != nil {
		logger.Error("start", "err", err)
		return err
	}
	src.S = sess
	app := &App{s: sess, ui: ui, log: logger}

	err = wails.Run(&options.App{
		Title:            "BitNet Desktop",
		Width:            1200,
		Height:           800,
		MinWidth:         800,
		MinHeight:        560,
		BackgroundColour: options.NewRGB(255, 255, 255),
		AssetServer:      &assetserver.Options{Assets: assets},
		OnStartup:        app.startup,
		OnShutdown:       app.shutdown,
		Bind:             []any{app},
		// Files dropped on the window reach the front end's OnFileDrop
		// with their paths (it then calls ImportModel).
		DragAndDrop: &options.DragAndDrop{EnableFileDrop: true},
		SingleInstanceLock: &options.SingleInstanceLock{
			// One instance per data folder: two would share a download.
			UniqueId:               desktop.InstanceID(paths),
			OnSecondInstanceLaunch: func(options.SecondInstanceData) { ui.Show() },
		},
		Linux: &linux.Options{
			Icon:             icon,
			ProgramName:      "bitnet-desktop",
			WebviewGpuPolicy: linux.WebviewGpuPolicyNever,
		},
	})
	if err != nil {
		logger.Error("wails", "err", err)
		_ = sess.Close() // no-op if OnShutdown ran
	}
	return err
}
