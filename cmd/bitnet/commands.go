package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/convert"
	"github.com/bitnet-desktop/bitnet-desktop/engine/grammar"
	"github.com/bitnet-desktop/bitnet-desktop/engine/runner"
	"github.com/bitnet-desktop/bitnet-desktop/engine/synth"
)

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bitnet "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	return nil
}

// loadFlags are the flags of every command that loads a model.
type loadFlags struct {
	model, embedding, weights, cacheDir string
	threads, ctx                        int
	quiet, flash                        bool
	kvType, kernel                      string
}

func (l *loadFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.model, "model", os.Getenv("BITNET_MODEL_PATH"), "model: a GGUF file (as published or converted), or the id of an installed model (bitnet models)")
	fs.IntVar(&l.threads, "threads", 0, "compute threads (0 = all cores on a 2-core machine, else cores - 1)")
	fs.IntVar(&l.ctx, "ctx", 0, "context size in tokens (0 = the model's)")
	fs.StringVar(&l.embedding, "embedding", "q6_k", "embedding type when converting: q6_k, q8_0 or f16")
	fs.StringVar(&l.weights, "weights", "tq2_0", "ternary weight type when converting: tq2_0 or q2_k")
	fs.StringVar(&l.cacheDir, "cache-dir", "", "where converted models are kept (default: the app's cache for a model of its library, else next to the model)")
	fs.BoolVar(&l.flash, "flash-attention", false, "use ggml's fused attention kernel")
	fs.StringVar(&l.kvType, "kv-type", "f16", "kv cache type: f16, or q8_0 (half the memory of f16)")
	fs.StringVar(&l.kernel, "kernel", "auto", "ternary matrix multiplication: auto, avx2, avxvnni, avx512, avx512-1.6bit (x86-64; 1.6-bit: the weights in 20% less memory, same results), neon, neon-dotprod (arm64) or ggml (ggml's mul_mat)")
}

// cacheFor is where the conversion of the model at path goes: --cache-dir,
// else the app's cache for a model of its library (shared with the app,
// and kept out of the models folder), else next to the model.
func (l *loadFlags) cacheFor(path string) string {
	if l.cacheDir != "" {
		return l.cacheDir
	}
	if lib := appLibrary(); lib.Holds(path) {
		return lib.CacheDir
	}
	return ""
}

func (l *loadFlags) load(ctx context.Context, stderr io.Writer) (*runner.Runner, time.Duration, error) {
	if l.model == "" {
		return nil, 0, engine.Errorf(engine.CodeInvalidRequest, nil, "--model is required")
	}
	path, err := resolveModel(l.model, appLibrary())
	if err != nil {
		return nil, 0, err
	}
	l.model = path
	cacheDir := l.cacheFor(path)
	last := ""
	start := time.Now()
	m, err := runner.Load(ctx, l.model, engine.LoadOptions{
		Threads: l.threads, ContextSize: l.ctx, Embedding: l.embedding, Weights: l.weights, CacheDir: cacheDir,
		FlashAttention: l.flash, KVCacheType: l.kvType, Kernel: l.kernel,
		Progress: func(p engine.Progress) {
			if l.quiet {
				return
			}
			line := fmt.Sprintf("%s %3.0f%%", p.Stage, p.Fraction*100)
			if line != last && (p.Stage != last || int(p.Fraction*100)%10 == 0) {
				fmt.Fprintf(stderr, "\r%-24s", line)
				last = line
			}
		},
	})
	if !l.quiet {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return nil, 0, err
	}
	return m.(*runner.Runner), time.Since(start), nil
}

// samplingFlags are the sampling flags of generate and chat.
type samplingFlags struct {
	temperature, topP, minP, repeatPenalty float64
	topK                                   int
	seed                                   int64
}

func (s *samplingFlags) register(fs *flag.FlagSet) {
	d := engine.DefaultSampling()
	fs.Float64Var(&s.temperature, "temperature", float64(d.Temperature), "sampling temperature (0 = greedy)")
	fs.Float64Var(&s.topP, "top-p", float64(d.TopP), "nucleus sampling (1 = off)")
	fs.IntVar(&s.topK, "top-k", d.TopK, "top-k sampling (0 = off)")
	fs.Float64Var(&s.minP, "min-p", float64(d.MinP), "min-p sampling (0 = off)")
	fs.Float64Var(&s.repeatPenalty, "repeat-penalty", float64(d.RepeatPenalty), "repeat penalty (1 = off)")
	fs.Int64Var(&s.seed, "seed", -1, "random seed (-1 = random)")
}

func (s *samplingFlags) sampling() engine.Sampling {
	out := engine.Sampling{
		Temperature: float32(s.temperature), TopP: float32(s.topP), TopK: s.topK,
		MinP: float32(s.minP), RepeatPenalty: float32(s.repeatPenalty),
	}
	if s.seed >= 0 {
		seed := s.seed
		out.Seed = &seed
	}
	return out
}

func cmdSynth(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("synth", stderr)
	preset := fs.String("preset", "demo", "demo (writes visible text: to try the app), tiny, flat, small (tests), 2b4t (real shapes), or another family: "+strings.Join(synth.PresetNames(), ", "))
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("out", "", "output file")
	arch := fs.String("arch", "", "override the preset's architecture: bitnet-25 writes 2B4T's older untied layout")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return engine.Errorf(engine.CodeInvalidRequest, nil, "--out is required")
	}
	c, err := synth.Preset(*preset)
	if err != nil {
		return engine.Wrap(engine.CodeInvalidRequest, err, "synth")
	}
	c.Seed = *seed
	if *arch != "" {
		c.Arch = *arch
	}
	start := time.Now()
	if err := synth.WriteFile(*out, c); err != nil {
		return err
	}
	st, _ := os.Stat(*out)
	fmt.Fprintf(stdout, "wrote %s (%d bytes) in %.1fs\n", *out, st.Size(), time.Since(start).Seconds())
	return nil
}

func cmdConvert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("convert", stderr)
	in := fs.String("model", "", "official I2_S model")
	out := fs.String("out", "", "output file")
	emb := fs.String("embedding", "q6_k", "q6_k, q8_0 or f16")
	w := fs.String("weights", "tq2_0", "tq2_0 or q2_k")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return engine.Errorf(engine.CodeInvalidRequest, nil, "--model and --out are required")
	}
	start := time.Now()
	last := -1
	err := convert.File(ctx, *in, *out, convert.Options{Weights: *w, Embedding: *emb, Progress: func(f float64) {
		if p := int(f * 100); p != last {
			fmt.Fprintf(stderr, "\rconverting %3d%%", p)
			last = p
		}
	}})
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s in %.1fs\n", *out, time.Since(start).Seconds())
	return nil
}

func cmdGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate", stderr)
	var lf loadFlags
	var sf samplingFlags
	lf.register(fs)
	sf.register(fs)
	prompt := fs.String("prompt", "", "the prompt")
	system := fs.String("system", "", "system prompt")
	raw := fs.Bool("raw", false, "no chat format: BOS + the prompt")
	maxTokens := fs.Int("max-tokens", 256, "maximum tokens to generate (0 = until the context is full)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	jsonObject := fs.Bool("json-object", false, "constrain the answer to a JSON object")
	schemaFile := fs.String("json-schema", "", "constrain the answer to JSON valid against the schema in this file")
	var stops multiFlag
	fs.Var(&stops, "stop", "stop string (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	format, err := formatFlags(*jsonObject, *schemaFile)
	if err != nil {
		return err
	}
	lf.quiet = *asJSON
	m, _, err := lf.load(ctx, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	req := engine.Request{MaxTokens: *maxTokens, Sampling: sf.sampling(), Stop: stops, Format: format}
	if !*raw && !m.Info().Chat {
		// A base model completes text: the prompt is the start of it.
		if !*asJSON {
			fmt.Fprintln(stderr, "(a base model, not a chat model: completing the prompt as text)")
		}
		*raw = true
	}
	if *raw {
		req.Raw, req.Prompt = true, *prompt
	} else {
		if *system != "" {
			req.Messages = append(req.Messages, engine.Message{Role: "system", Content: *system})
		}
		req.Messages = append(req.Messages, engine.Message{Role: "user", Content: *prompt})
	}
	var onToken func(engine.Token)
	if !*asJSON {
		onToken = func(t engine.Token) { fmt.Fprint(stdout, t.Text) }
	}
	res, err := m.Generate(ctx, req, onToken)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(generateJSON(res, m.Info().Kernel))
	}
	st := res.Stats
	fmt.Fprintf(stdout, "\n")
	fmt.Fprintf(stderr, "[%d prompt tokens, %d generated, ttft %.0f ms, prefill %.1f tok/s, decode %.1f tok/s, %s]\n",
		st.PromptTokens, st.CompletionTokens, ms(st.TTFT), st.PrefillTPS, st.DecodeTPS, st.FinishReason)
	return nil
}

// formatFlags is the Format of --json-object / --json-schema, checked
// before the model loads (a schema the engine cannot enforce is refused,
// naming the keyword).
func formatFlags(object bool, schemaFile string) (engine.Format, error) {
	var f engine.Format
	switch {
	case object && schemaFile != "":
		return f, engine.Errorf(engine.CodeInvalidRequest, nil, "--json-object and --json-schema exclude each other")
	case object:
		f.Type = engine.FormatJSONObject
	case schemaFile != "":
		schema, err := os.ReadFile(schemaFile)
		if err != nil {
			return f, engine.Wrap(engine.CodeInvalidRequest, err, "--json-schema")
		}
		f = engine.Format{Type: engine.FormatJSONSchema, Schema: schema}
	}
	if _, err := grammar.OfFormat(f); err != nil {
		return f, engine.Wrap(engine.CodeInvalidRequest, err, "--json-schema %s", schemaFile)
	}
	return f, nil
}

type generateOutput struct {
	Text             string  `json:"text"`
	PromptTokenIDs   []int32 `json:"prompt_token_ids"`
	TokenIDs         []int32 `json:"token_ids"`
	FinishReason     string  `json:"finish_reason"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	TTFTMs           float64 `json:"ttft_ms"`
	PrefillTPS       float64 `json:"prefill_tps"`
	DecodeTPS        float64 `json:"decode_tps"`
	DroppedMessages  int     `json:"dropped_messages"`
	// Kernel is what multiplied the ternary weights (ModelInfo.Kernel:
	// "avx512-vnni", "neon-dotprod", "ggml", ...): the arm64 suite checks
	// that each CPU model ran the level it claims.
	Kernel string `json:"kernel"`
}

func generateJSON(res engine.Result, kernel string) generateOutput {
	ids := res.TokenIDs
	if ids == nil {
		ids = []int32{}
	}
	return generateOutput{
		Text: res.Text, PromptTokenIDs: res.PromptTokenIDs, TokenIDs: ids,
		FinishReason: res.Stats.FinishReason, PromptTokens: res.Stats.PromptTokens,
		CompletionTokens: res.Stats.CompletionTokens, TTFTMs: ms(res.Stats.TTFT),
		PrefillTPS: res.Stats.PrefillTPS, DecodeTPS: res.Stats.DecodeTPS, DroppedMessages: res.Stats.DroppedMessages,
		Kernel: kernel,
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }
