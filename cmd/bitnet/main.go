// Command bitnet is the headless BitNet Desktop: generate, chat, convert,
// benchmark and serve ternary (1.58-bit) models on the CPU.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/runner"
	"github.com/bitnet-desktop/bitnet-desktop/internal/hugepages"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `bitnet: run ternary (1.58-bit) models on the CPU

usage: bitnet <command> [flags]

commands:
  generate    answer one prompt (chat format, or --raw)
  chat        interactive chat in the terminal
  serve       OpenAI-compatible API server
  convert     convert the official I2_S file into the runnable format
  synth       write a synthetic model in the official format
  bench       measure load, prefill, decode, follow-up latency and memory
  perplexity  perplexity of a text file
  models      list the catalog and the installed models
  pull        download a catalog model into the library
  version     print the version

Run 'bitnet <command> -h' for a command's flags.
`

func main() {
	hugepages.Enable()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if os.Getenv("BITNET_DEBUG") == "" {
		slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"generate":   cmdGenerate,
		"chat":       cmdChat,
		"serve":      cmdServe,
		"convert":    cmdConvert,
		"synth":      cmdSynth,
		"bench":      cmdBench,
		"perplexity": cmdPerplexity,
		"models":     cmdModels,
		"pull":       cmdPull,
	}
	name := args[0]
	switch name {
	case "version", "--version", "-version", "-v":
		fmt.Fprintf(stdout, "bitnet %s\n", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "bitnet: unknown command %q\n\n%s", name, usage)
		return 2
	}
	if name != "synth" && name != "version" && name != "models" && name != "pull" {
		if err := runner.CheckCPU(); err != nil {
			fmt.Fprintf(stderr, "bitnet: %v\n", err)
			return 1
		}
	}
	if err := cmd(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, errUsage) {
			return 2
		}
		fmt.Fprintf(stderr, "bitnet %s: %v\n", name, err)
		var ee *engine.Error
		if errors.As(err, &ee) && ee.Code == engine.CodeInvalidRequest {
			return 2
		}
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")
