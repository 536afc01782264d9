package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/convert"
	"github.com/bitnet-desktop/bitnet-desktop/engine/runner"
	"github.com/bitnet-desktop/bitnet-desktop/internal/procmem"
)

type benchResult struct {
	Variant         string  `json:"variant,omitempty"`
	Threads         int     `json:"threads"`
	Kernel          string  `json:"kernel"`
	KVCache         string  `json:"kv_cache"`
	LoadMs          float64 `json:"load_ms"`
	PrefillTPS      float64 `json:"prefill_tps"`
	DecodeTPS       float64 `json:"decode_tps"`
	FollowupTTFTMs  float64 `json:"followup_ttft_ms"`
	FollowupPrefill int     `json:"followup_prefill_tokens"`
	PeakRSSMB       float64 `json:"peak_rss_mb"` // the process's peak over the whole bench (--contexts and --ttft-tokens included)
	PromptTokens    int     `json:"prompt_tokens"`
	GenTokens       int     `json:"gen_tokens"`
	// The memory-bandwidth roofline of decoding, measured in the same
	// process: how fast the threads read the model's weights, the bytes
	// one decoded token reads (weights, plus the kv cache at the decode's
	// mean context), the decode speed that bandwidth allows, and the
	// measured decode as a percentage of it.
	BandwidthGBs   float64 `json:"bandwidth_gbs"`
	BytesPerToken  int64   `json:"bytes_per_token"`
	WeightBytes    int64   `json:"weight_bytes"`
	RooflineTPS    float64 `json:"roofline_tps"`
	RooflinePct    float64 `json:"roofline_pct"`
	WeightGBsDecod float64 `json:"weight_gbs_decoded"` // decode tok/s × weight bytes: the weights streamed per second
	// The same percentage measured in pairs: slices of rooflineSliceTokens
	// decoded tokens, each right after a bandwidth read, the median of the
	// slices' percentages of their own read's roofline. A decode and a
	// read seconds apart can fall in different phases of a shared
	// machine; a pair is a fraction of a second apart.
	PairedRooflinePct float64 `json:"paired_roofline_pct"`
	RooflinePairs     int     `json:"roofline_pairs"`
	Model             string  `json:"model,omitempty"`
	Family            string  `json:"family,omitempty"`
	// With --contexts: decode speed after prompts of each length, in the
	// same process, against the first (ratio) and the roofline at that
	// context (the kv cache read grows with it).
	DecodeAt []contextDecode `json:"decode_at,omitempty"`
	// With --ttft-tokens: the time to the first token of a first message
	// of that many tokens (nothing cached).
	TTFTTokens int     `json:"ttft_tokens,omitempty"`
	TTFTMs     float64 `json:"ttft_ms,omitempty"`
	// With --json-object / --json-schema: decode speed with the answer
	// constrained to JSON against the same decode unconstrained, in
	// interleaved pairs (medians), and their ratio.
	Constrained *constrainedResult `json:"constrained,omitempty"`
}

type contextDecode struct {
	Context     int     `json:"context"`
	DecodeTPS   float64 `json:"decode_tps"`
	Ratio       float64 `json:"ratio"` // against the first context of the list (median of the rounds' ratios)
	RooflineTPS float64 `json:"roofline_tps"`
	RooflinePct float64 `json:"roofline_pct"`
}

type constrainedResult struct {
	Format      string  `json:"format"`
	PlainTPS    float64 `json:"plain_decode_tps"`
	DecodeTPS   float64 `json:"constrained_decode_tps"`
	Ratio       float64 `json:"ratio"`
	Tokens      int     `json:"tokens"`        // constrained tokens decoded per run (median)
	SetupMs     float64 `json:"setup_ms"`      // the first constrained run's time outside prefill and decode: building the vocabulary and the first mask
	FirstRunTPS float64 `json:"first_run_tps"` // the first constrained run, with the grammar's caches cold
	Pairs       int     `json:"pairs"`         // pairs whose constrained answer was long enough to time
}

// minConstrainedTokens is the shortest constrained answer whose decode
// speed the bench compares.
const minConstrainedTokens = 8

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	var lf loadFlags
	lf.register(fs)
	promptTokens := fs.Int("prompt-tokens", 128, "prompt length for the prefill measurement")
	genTokens := fs.Int("gen-tokens", 64, "tokens to decode")
	history := fs.Int("history", 1000, "history length before the follow-up turn")
	followup := fs.Int("followup", 20, "tokens of the follow-up turn")
	asJSON := fs.Bool("json", false, "print JSON")
	matrix := fs.String("matrix", "", "compare variants WEIGHTS/EMBEDDING[/KERNEL], comma separated (e.g. tq2_0/q6_k,tq2_0/q6_k/ggml,q2_k/q6_k,tq2_0/f16); each runs in its own process")
	repeats := fs.Int("repeats", 3, "with --matrix: runs per variant (interleaved); medians are reported")
	contexts := fs.String("contexts", "", "also measure decoding after prompts of these lengths, comma separated (e.g. 32,512,2048,4000)")
	rounds := fs.Int("context-rounds", 3, "with --contexts: rounds over the list; each figure is the median of the rounds, each ratio the median of the ratios within a round")
	ttftTokens := fs.Int("ttft-tokens", 0, "also measure the time to first token of a first message of this many tokens")
	baseline := fs.String("baseline", "", "another bitnet binary (e.g. an older build): run it and this one alternately with the same flags (the order swapping every round), --repeats times each, and compare medians")
	jsonObject := fs.Bool("json-object", false, "also measure decoding constrained to a JSON object, against plain decoding")
	schemaFile := fs.String("json-schema", "", "also measure decoding constrained to this JSON schema, against plain decoding")
	if err := parse(fs, args); err != nil {
		return err
	}
	format, err := formatFlags(*jsonObject, *schemaFile)
	if err != nil {
		return err
	}
	if lf.model == "" {
		return engine.Errorf(engine.CodeInvalidRequest, nil, "--model is required")
	}
	if *matrix != "" {
		return benchMatrix(ctx, args, *matrix, *repeats, stdout, stderr)
	}
	if *baseline != "" {
		return benchBaseline(ctx, args, *baseline, *repeats, stdout, stderr)
	}
	ctxList, err := parseContexts(*contexts)
	if err != nil {
		return err
	}
	lf.quiet = true
	// Convert outside the timing: the load time is that of a converted model.
	runPath, err := convert.Ensure(ctx, lf.model, lf.cacheFor(lf.model), convert.Options{Weights: lf.weights, Embedding: lf.embedding})
	if err != nil {
		return err
	}
	lf.model = runPath
	m, loadTime, err := lf.load(ctx, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	res, err := benchRun(ctx, m, *promptTokens, *genTokens, *history, *followup)
	if err != nil {
		return err
	}
	res.LoadMs = ms(loadTime)
	roofline(&res, m, *promptTokens, *genTokens)
	if err := pairedRoofline(ctx, &res, m, *promptTokens); err != nil {
		return err
	}
	if len(ctxList) > 0 {
		if res.DecodeAt, err = benchContexts(ctx, m, ctxList, *rounds, *genTokens, res.BandwidthGBs*1e9); err != nil {
			return err
		}
	}
	if *ttftTokens > 0 {
		res.TTFTTokens = *ttftTokens
		if res.TTFTMs, err = benchTTFT(ctx, m, *ttftTokens); err != nil {
			return err
		}
	}
	if format.Type != engine.FormatText {
		if res.Constrained, err = benchConstrained(ctx, m, format, *genTokens, *repeats); err != nil {
			return err
		}
	}
	// The peak over everything measured: with --contexts, the longest
	// context's kv cache is in it.
	res.PeakRSSMB = float64(procmem.PeakRSS()) / (1 << 20)
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s (%s)  threads %d  kernel %s  kv %s  load %.0f ms  prefill %.1f tok/s  decode %.1f tok/s  follow-up ttft %.0f ms (%d tokens)  peak rss %.0f MB\n",
		res.Model, res.Family, res.Threads, res.Kernel, res.KVCache, res.LoadMs, res.PrefillTPS, res.DecodeTPS, res.FollowupTTFTMs, res.FollowupPrefill, res.PeakRSSMB)
	fmt.Fprintf(stdout, "bandwidth %.1f GB/s  %.0f MB per token  roofline %.1f tok/s  decode at %.0f%% of roofline  (%.1f GB/s of weights decoded)\n",
		res.BandwidthGBs, float64(res.BytesPerToken)/1e6, res.RooflineTPS, res.RooflinePct, res.WeightGBsDecod)
	fmt.Fprintf(stdout, "paired with a bandwidth read each: decode at %.0f%% of roofline (median of %d slices of %d tokens)\n",
		res.PairedRooflinePct, res.RooflinePairs, rooflineSliceTokens)
	for _, d := range res.DecodeAt {
		fmt.Fprintf(stdout, "decode after %d tokens: %.1f tok/s (%.2fx of after %d; %.0f%% of its roofline %.1f tok/s)\n",
			d.Context, d.DecodeTPS, d.Ratio, res.DecodeAt[0].Context, d.RooflinePct, d.RooflineTPS)
	}
	if res.TTFTTokens > 0 {
		fmt.Fprintf(stdout, "first message of %d tokens: time to first token %.0f ms\n", res.TTFTTokens, res.TTFTMs)
	}
	if c := res.Constrained; c != nil && c.Pairs == 0 {
		fmt.Fprintf(stdout, "constrained (%s): every answer was complete within %d tokens (%d a run), too short to time; give --json-schema a schema that asks for a longer answer\n",
			c.Format, minConstrainedTokens-1, c.Tokens)
	} else if c != nil {
		fmt.Fprintf(stdout, "constrained (%s): %.1f tok/s vs %.1f tok/s plain = %.3fx (%d pairs timed; %d tokens a run; first run %.1f tok/s; vocabulary and first mask %.0f ms)\n",
			c.Format, c.DecodeTPS, c.PlainTPS, c.Ratio, c.Pairs, c.Tokens, c.FirstRunTPS, c.SetupMs)
	}
	return nil
}

func parseContexts(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 2 {
			return nil, engine.Errorf(engine.CodeInvalidRequest, nil, "--contexts: %q is not a prompt length of 2 tokens or more", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// benchContexts decodes genN tokens after a fresh prompt of each length
// (random tokens, so nothing is reused from the cache), rounds times over
// the list, and reports the median decode speeds, their ratios to the
// first context's (the median of the ratios within a round: the two
// decodes of a ratio are seconds apart, while this machine's speed drifts
// over minutes), and the roofline at that context: the weights plus the
// kv cache at the decode's mean length, at bandwidth bw (bytes/s).
func benchContexts(ctx context.Context, m *runner.Runner, contexts []int, rounds, genN int, bw float64) ([]contextDecode, error) {
	rng := rand.New(rand.NewPCG(11, 11))
	for _, n := range contexts {
		if n+genN >= m.Info().ContextSize {
			return nil, engine.Errorf(engine.CodeInvalidRequest, nil, "--contexts: %d + %d generated tokens do not fit the context of %d", n, genN, m.Info().ContextSize)
		}
	}
	speeds := make([][]float64, len(contexts)) // [context][round]
	for range max(rounds, 1) {
		for i, n := range contexts {
			prompt := benchPrompt(rng, m, n)
			r, err := m.Generate(ctx, engine.Request{Tokens: prompt, MaxTokens: genN, Sampling: engine.Sampling{Temperature: 0}, IgnoreEOS: true}, nil)
			if err != nil {
				return nil, err
			}
			speeds[i] = append(speeds[i], r.Stats.DecodeTPS)
		}
	}
	var out []contextDecode
	for i, n := range contexts {
		d := contextDecode{Context: n, DecodeTPS: median(speeds[i])}
		var ratios []float64
		for r := range speeds[i] {
			ratios = append(ratios, speeds[i][r]/speeds[0][r])
		}
		d.Ratio = median(ratios)
		if bytes := decodeBytes(m, n, genN); bytes > 0 && bw > 0 {
			d.RooflineTPS = bw / float64(bytes)
			d.RooflinePct = 100 * d.DecodeTPS / d.RooflineTPS
		}
		out = append(out, d)
	}
	return out, nil
}

// benchTTFT is the time to the first token of a fresh n-token prompt.
func benchTTFT(ctx context.Context, m *runner.Runner, n int) (float64, error) {
	rng := rand.New(rand.NewPCG(13, 13))
	prompt := benchPrompt(rng, m, n)
	r, err := m.Generate(ctx, engine.Request{Tokens: prompt, MaxTokens: 1, Sampling: engine.Sampling{Temperature: 0}, IgnoreEOS: true}, nil)
	if err != nil {
		return 0, err
	}
	return ms(r.Stats.TTFT), nil
}

// benchBaseline runs another bitnet binary and this one alternately, in
// child processes with the same flags, and prints the medians of the
// figures both report with this one's ratio to the other's.
func benchBaseline(ctx context.Context, args []string, baseline string, repeats int, stdout, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	base := childArgs(args, "baseline", "repeats")
	type fig = map[string]any
	runs := map[string][]fig{}
	bins := []struct{ name, path string }{{"baseline", baseline}, {"this", exe}}
	for rep := range repeats {
		for _, i := range baselineOrder(rep) {
			b := bins[i]
			var r fig
			if err := benchChild(ctx, b.path, base, stderr, &r); err != nil {
				return fmt.Errorf("%s (%s): %w", b.name, b.path, err)
			}
			runs[b.name] = append(runs[b.name], r)
			fmt.Fprintf(stderr, "run %d %-8s decode %.1f tok/s prefill %.1f tok/s ttft %.0f ms follow-up %.0f ms rss %.0f MB\n", rep+1, b.name,
				num(r["decode_tps"]), num(r["prefill_tps"]), num(r["ttft_ms"]), num(r["followup_ttft_ms"]), num(r["peak_rss_mb"]))
		}
	}
	fmt.Fprintf(stdout, "| figure | baseline (%s) | this build | this / baseline |\n|---|---|---|---|\n", baseline)
	for _, k := range baselineFigures(runs["this"]) {
		pick := func(rs []fig) []float64 {
			var v []float64
			for _, r := range rs {
				if x, ok := figure(r, k); ok {
					v = append(v, x)
				}
			}
			return v
		}
		old, cur := pick(runs["baseline"]), pick(runs["this"])
		if len(old) == 0 || len(cur) == 0 {
			continue
		}
		fmt.Fprintf(stdout, "| %s | %.1f | %.1f | %.2fx |\n", k, median(old), median(cur), median(cur)/median(old))
	}
	return nil
}

// baselineOrder is the order in which round rep runs the baseline (0) and
// this build (1). It swaps every round: on this machine the second run of
// a round was the slower one every time for short runs (one binary
// against itself: decode 0.80x on a 9 MB model), which a fixed order
// would have charged to this build.
func baselineOrder(rep int) [2]int {
	if rep%2 == 0 {
		return [2]int{0, 1}
	}
	return [2]int{1, 0}
}

// baselineFigures names the figures a --baseline table compares: the
// main ones, then the decode speed after each --contexts prompt
// ("decode_tps@2048") and the constrained decode's figures.
func baselineFigures(runs []map[string]any) []string {
	keys := []string{"decode_tps", "prefill_tps", "ttft_ms", "followup_ttft_ms", "peak_rss_mb", "load_ms", "roofline_pct", "paired_roofline_pct"}
	if len(runs) == 0 {
		return keys
	}
	if at, ok := runs[0]["decode_at"].([]any); ok {
		for _, e := range at {
			if c, ok := e.(map[string]any); ok {
				keys = append(keys, fmt.Sprintf("decode_tps@%d", int(num(c["context"]))), fmt.Sprintf("roofline_pct@%d", int(num(c["context"]))))
			}
		}
	}
	if _, ok := runs[0]["constrained"].(map[string]any); ok {
		keys = append(keys, "constrained.constrained_decode_tps", "constrained.ratio")
	}
	return keys
}

// figure reads a figure named as baselineFigures names it from a run's
// JSON.
func figure(r map[string]any, key string) (float64, bool) {
	if name, ctx, ok := strings.Cut(key, "@"); ok {
		at, _ := r["decode_at"].([]any)
		for _, e := range at {
			if c, ok := e.(map[string]any); ok && fmt.Sprint(int(num(c["context"]))) == ctx {
				x, ok := c[name].(float64)
				return x, ok
			}
		}
		return 0, false
	}
	if obj, name, ok := strings.Cut(key, "."); ok {
		c, _ := r[obj].(map[string]any)
		x, ok := c[name].(float64)
		return x, ok
	}
	x, ok := r[key].(float64)
	return x, ok
}

// benchChild runs `bin bench --json args...` and decodes its JSON into
// into; the child's stderr (its progress) goes to stderr.
func benchChild(ctx context.Context, bin string, args []string, stderr io.Writer, into any) error {
	cmd := exec.CommandContext(ctx, bin, append([]string{"bench", "--json"}, args...)...)
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return err
	}
	return json.Unmarshal(out, into)
}

func num(v any) float64 {
	x, _ := v.(float64)
	return x
}

// childArgs is args without the named flags (and their values).
func childArgs(args []string, drop ...string) []string {
	var out []string
	skip := false
	for _, a := range args {
		if skip {
			skip = false
			continue
		}
		name := strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")
		if slices.Contains(drop, name) {
			// A value follows unless given with "=" (or a boolean flag).
			skip = !strings.Contains(a, "=") && name != "json"
			continue
		}
		out = append(out, a)
	}
	return out
}

// benchConstrained decodes the same prompt plain and constrained to
// format, alternately (pairs times after a first constrained run that
// builds the vocabulary and warms the grammar's caches), sampling at
// temperature 1 with one seed per pair, and reports medians. A constrained
// answer may end before genN tokens (the JSON value is complete): speeds
// are per decoded token.
func benchConstrained(ctx context.Context, m *runner.Runner, format engine.Format, genN, pairs int) (*constrainedResult, error) {
	out := &constrainedResult{Format: format.Type}
	if format.Type == engine.FormatJSONSchema {
		out.Format = "json_schema"
	}
	prompt := []engine.Message{{Role: "user", Content: "Describe a person as JSON with name, age and hobbies."}}
	run := func(f engine.Format, seed int64) (engine.Result, error) {
		req := engine.Request{MaxTokens: genN, Format: f, Sampling: engine.Sampling{Temperature: 1, TopP: 1, Seed: &seed}}
		if m.Info().Chat {
			req.Messages = prompt
		} else {
			req.Raw, req.Prompt = true, prompt[0].Content
		}
		return m.Generate(ctx, req, nil)
	}
	start := time.Now()
	first, err := run(format, 0)
	if err != nil {
		return nil, err
	}
	out.SetupMs = ms(time.Since(start) - first.Stats.Prefill - first.Stats.Decode)
	out.FirstRunTPS = first.Stats.DecodeTPS
	var plain, constrained, ratios, tokens []float64
	for i := range pairs {
		seed := int64(i + 1)
		p, err := run(engine.Format{}, seed)
		if err != nil {
			return nil, err
		}
		c, err := run(format, seed)
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, float64(c.Stats.CompletionTokens))
		// A speed over a handful of tokens is noise: a pair counts when
		// the constrained answer ran for minConstrainedTokens at least.
		if c.Stats.CompletionTokens < minConstrainedTokens {
			continue
		}
		plain = append(plain, p.Stats.DecodeTPS)
		constrained = append(constrained, c.Stats.DecodeTPS)
		ratios = append(ratios, c.Stats.DecodeTPS/p.Stats.DecodeTPS)
	}
	out.PlainTPS, out.DecodeTPS, out.Ratio, out.Tokens = median(plain), median(constrained), median(ratios), int(median(tokens))
	out.Pairs = len(ratios)
	return out, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = append([]float64(nil), v...)
	sort.Float64s(v)
	return v[len(v)/2]
}

// roofline fills the memory-bandwidth figures: the bandwidth is measured
// after the run, reading the model's own weights with the run's threads.
func roofline(res *benchResult, m *runner.Runner, promptN, genN int) {
	info := m.Info()
	res.Model, res.Family = info.Name, info.Family
	bw := m.ReadBandwidth(info.Threads, 9)
	res.WeightBytes = m.WeightBytesPerToken()
	res.BytesPerToken = decodeBytes(m, promptN, genN)
	res.BandwidthGBs = bw / 1e9
	if res.BytesPerToken > 0 && bw > 0 {
		res.RooflineTPS = bw / float64(res.BytesPerToken)
		res.RooflinePct = 100 * res.DecodeTPS / res.RooflineTPS
	}
	res.WeightGBsDecod = res.DecodeTPS * float64(res.WeightBytes) / 1e9
}

// decodeBytes is what one token of a decode of genN tokens after a prompt
// of promptN reads on average: every weight, and the kv cache at the
// decode's mean length.
func decodeBytes(m *runner.Runner, promptN, genN int) int64 {
	return m.WeightBytesPerToken() + m.KVBytesPerToken()*int64(promptN+genN/2)
}

// Paired roofline: slices of this many decoded tokens, this many pairs.
const (
	rooflineSliceTokens = 16
	rooflinePairs       = 9
)

// pairedRoofline fills PairedRooflinePct: rooflinePairs times, one
// bandwidth read (ReadBandwidth with one pass) then rooflineSliceTokens
// tokens decoded after the prompt of benchRun's decode (cached after the
// first slice), each slice's speed as a percentage of the roofline of the
// read just before it; the median of those.
func pairedRoofline(ctx context.Context, res *benchResult, m *runner.Runner, promptN int) error {
	prompt := benchPrompt(rand.New(rand.NewPCG(7, 7)), m, promptN) // benchRun's prompt
	bytes := decodeBytes(m, promptN, rooflineSliceTokens)
	threads := m.Info().Threads
	req := engine.Request{Tokens: prompt, MaxTokens: rooflineSliceTokens, Sampling: engine.Sampling{Temperature: 0}, IgnoreEOS: true}
	// The first slice prefills the prompt again if the follow-up turn
	// replaced it in the cache: not measured.
	if _, err := m.Generate(ctx, req, nil); err != nil {
		return err
	}
	var pcts []float64
	for range rooflinePairs {
		bw := m.ReadBandwidth(threads, 1)
		r, err := m.Generate(ctx, req, nil)
		if err != nil {
			return err
		}
		if bw > 0 && bytes > 0 {
			pcts = append(pcts, 100*r.Stats.DecodeTPS*float64(bytes)/bw)
		}
	}
	res.PairedRooflinePct, res.RooflinePairs = median(pcts), len(pcts)
	return nil
}

// benchPrompt is a fresh prompt of n tokens: BOS, then random ones.
func benchPrompt(rng *rand.Rand, m *runner.Runner, n int) []int32 {
	return append([]int32{m.Tokenizer().BOS}, benchTokens(rng, m.Tokenizer().VocabSize(), n-1)...)
}

// benchTokens returns n token ids drawn from the regular vocabulary.
func benchTokens(rng *rand.Rand, vocab, n int) []int32 {
	regular := vocab - 256
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(rng.IntN(regular))
	}
	return out
}

func benchRun(ctx context.Context, m *runner.Runner, promptN, genN, historyN, followN int) (benchResult, error) {
	rng := rand.New(rand.NewPCG(7, 7))
	vocab := m.Tokenizer().VocabSize()
	bos := m.Tokenizer().BOS
	greedy := engine.Sampling{Temperature: 0}
	res := benchResult{Threads: m.Info().Threads, Kernel: m.Info().Kernel, KVCache: m.Info().KVCache, PromptTokens: promptN, GenTokens: genN}

	// Warm-up: one short generation so first-use costs are not measured.
	if _, err := m.Generate(ctx, engine.Request{Tokens: []int32{bos, 1, 2, 3}, MaxTokens: 2, Sampling: greedy, IgnoreEOS: true}, nil); err != nil {
		return res, err
	}
	prompt := benchPrompt(rng, m, promptN)
	r, err := m.Generate(ctx, engine.Request{Tokens: prompt, MaxTokens: genN, Sampling: greedy, IgnoreEOS: true}, nil)
	if err != nil {
		return res, err
	}
	res.PrefillTPS, res.DecodeTPS = r.Stats.PrefillTPS, r.Stats.DecodeTPS

	// Follow-up: a conversation of historyN tokens is in the cache; a new
	// turn of followN tokens arrives. Its time to first token is what a
	// user waits for after pressing Enter.
	hist := benchPrompt(rng, m, historyN)
	if _, err := m.Generate(ctx, engine.Request{Tokens: hist, MaxTokens: 1, Sampling: greedy, IgnoreEOS: true}, nil); err != nil {
		return res, err
	}
	next := append(append([]int32(nil), hist...), benchTokens(rng, vocab, followN)...)
	r, err = m.Generate(ctx, engine.Request{Tokens: next, MaxTokens: 1, Sampling: greedy, IgnoreEOS: true}, nil)
	if err != nil {
		return res, err
	}
	res.FollowupTTFTMs = ms(r.Stats.TTFT)
	res.FollowupPrefill = r.Stats.PrefillTokens
	return res, nil
}

// benchMatrix runs each variant in a child process, interleaved, and prints
// medians with ratios against the first variant (the baseline).
func benchMatrix(ctx context.Context, args []string, matrix string, repeats int, stdout, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	// The child gets the same flags minus --matrix/--repeats/--json and
	// the variant's own.
	base := childArgs(args, "matrix", "repeats", "embedding", "weights", "kernel", "json")
	variants := strings.Split(matrix, ",")
	runs := map[string][]benchResult{}
	for rep := 0; rep < repeats; rep++ {
		for _, v := range variants {
			parts := strings.Split(strings.TrimSpace(v), "/")
			if len(parts) < 2 || len(parts) > 3 {
				return engine.Errorf(engine.CodeInvalidRequest, nil, "variant %q is not WEIGHTS/EMBEDDING[/KERNEL]", v)
			}
			kern := "auto"
			if len(parts) == 3 {
				kern = parts[2]
			}
			var r benchResult
			if err := benchChild(ctx, exe, append([]string{"--weights", parts[0], "--embedding", parts[1], "--kernel", kern}, base...), stderr, &r); err != nil {
				return fmt.Errorf("variant %s: %w", v, err)
			}
			r.Variant = v
			runs[v] = append(runs[v], r)
			fmt.Fprintf(stderr, "run %d %-12s decode %.1f tok/s prefill %.1f tok/s follow-up %.0f ms rss %.0f MB bandwidth %.1f GB/s roofline %.0f%%\n",
				rep+1, v, r.DecodeTPS, r.PrefillTPS, r.FollowupTTFTMs, r.PeakRSSMB, r.BandwidthGBs, r.RooflinePct)
		}
	}
	baseMed := medians(runs[variants[0]])
	fmt.Fprintf(stdout, "| variant | decode tok/s | prefill tok/s | follow-up TTFT ms | load ms | peak RSS MB | bandwidth GB/s | decode %% of roofline | decode vs %s | prefill vs %s |\n", variants[0], variants[0])
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|---|---|---|")
	for _, v := range variants {
		md := medians(runs[v])
		lo, hi := spread(runs[v], func(r benchResult) float64 { return r.DecodeTPS })
		fmt.Fprintf(stdout, "| %s | %.1f (%.1f-%.1f) | %.1f | %.0f | %.0f | %.0f | %.1f | %.0f%% | %.2fx | %.2fx |\n", v, md.DecodeTPS, lo, hi,
			md.PrefillTPS, md.FollowupTTFTMs, md.LoadMs, md.PeakRSSMB, md.BandwidthGBs, md.RooflinePct,
			md.DecodeTPS/baseMed.DecodeTPS, md.PrefillTPS/baseMed.PrefillTPS)
	}
	return nil
}

func medians(rs []benchResult) benchResult {
	med := func(f func(benchResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return median(v)
	}
	return benchResult{
		DecodeTPS:      med(func(r benchResult) float64 { return r.DecodeTPS }),
		PrefillTPS:     med(func(r benchResult) float64 { return r.PrefillTPS }),
		FollowupTTFTMs: med(func(r benchResult) float64 { return r.FollowupTTFTMs }),
		LoadMs:         med(func(r benchResult) float64 { return r.LoadMs }),
		PeakRSSMB:      med(func(r benchResult) float64 { return r.PeakRSSMB }),
		BandwidthGBs:   med(func(r benchResult) float64 { return r.BandwidthGBs }),
		RooflinePct:    med(func(r benchResult) float64 { return r.RooflinePct }),
	}
}

func spread(rs []benchResult, f func(benchResult) float64) (lo, hi float64) {
	for i, r := range rs {
		v := f(r)
		if i == 0 || v < lo {
			lo = v
		}
		if i == 0 || v > hi {
			hi = v
		}
	}
	return lo, hi
}
