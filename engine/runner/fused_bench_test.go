package runner

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/graph"
)

// BenchmarkFusedVsUnfused decodes with kernel.Project's fused operations
// and without them alternately, 8 tokens each, in one process, so that a
// shared machine's slow and fast phases fall on both alike; it reports the
// median of the pairs' speed ratios (fused / unfused) and the quartiles.
// The model is a GGUF file in BITNET_BENCH_MODEL (e.g. from bitnet synth),
// converted into BITNET_BENCH_CACHE (default: a temporary directory):
//
//	BITNET_BENCH_MODEL=2b4t.gguf go test -run '^$' -bench FusedVsUnfused -benchtime 48x ./engine/runner
func BenchmarkFusedVsUnfused(b *testing.B) {
	m, gm := benchModel(b)
	defer func() { gm.Unfused = false }()
	pos, tok := 0, int32(1000)
	decode := func(n int) time.Duration {
		start := time.Now()
		for range n {
			if _, err := m.compute([]int32{tok}, pos, []int32{0}); err != nil {
				b.Fatal(err)
			}
			pos++
			tok = (tok*31 + 7) % int32(m.tok.VocabSize()-256)
		}
		return time.Since(start)
	}
	m.resetCache()
	decode(8)
	var ratios []float64
	b.ResetTimer()
	for range b.N {
		if pos > 300 { // keep the context short
			m.resetCache()
			pos = 0
			decode(4)
		}
		gm.Unfused = false
		fused := decode(8)
		gm.Unfused = true
		unfused := decode(8)
		ratios = append(ratios, unfused.Seconds()/fused.Seconds())
	}
	reportSpeedup(b, ratios)
}

// BenchmarkFusedPrefill is BenchmarkFusedVsUnfused for a prefill: a batch
// of N tokens from an empty cache, fused and unfused alternately (the norm
// and quantization in one operation, the products with the gate or the
// residual add in another, against ggml's operations around the products):
//
//	BITNET_BENCH_MODEL=2b4t.gguf go test -run '^$' -bench FusedPrefill -benchtime 8x ./engine/runner
func BenchmarkFusedPrefill(b *testing.B) {
	m, gm := benchModel(b)
	defer func() { gm.Unfused = false }()
	for _, n := range []int{12, 128, 512} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			prompt := make([]int32, n)
			for i := range prompt {
				prompt[i] = int32((i*7919 + 13) % (m.tok.VocabSize() - 256))
			}
			prefill := func(unfused bool) time.Duration {
				gm.Unfused = unfused
				m.resetCache()
				start := time.Now()
				if _, err := m.compute(prompt, 0, []int32{int32(n - 1)}); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			prefill(false)
			prefill(true)
			var ratios []float64
			b.ResetTimer()
			for i := range b.N {
				// Which runs first alternates, so a position effect falls on both.
				var fused, unfused time.Duration
				if i%2 == 0 {
					fused, unfused = prefill(false), prefill(true)
				} else {
					unfused, fused = prefill(true), prefill(false)
				}
				ratios = append(ratios, unfused.Seconds()/fused.Seconds())
			}
			reportSpeedup(b, ratios)
		})
	}
}

// benchModel loads the model of BITNET_BENCH_MODEL with a 4096-token
// context (converted into BITNET_BENCH_CACHE), or skips the benchmark.
func benchModel(b *testing.B) (*Runner, *graph.Model) {
	path := os.Getenv("BITNET_BENCH_MODEL")
	if path == "" {
		b.Skip("set BITNET_BENCH_MODEL to a model file")
	}
	m := load(b, path, engine.LoadOptions{CacheDir: os.Getenv("BITNET_BENCH_CACHE"), ContextSize: 4096})
	return m, m.model.(*graph.Model)
}

// reportSpeedup reports the median of ratios (fused speed / unfused) and
// its quartiles.
func reportSpeedup(b *testing.B, ratios []float64) {
	slices.Sort(ratios)
	n := len(ratios)
	b.ReportMetric(ratios[n/2], "speedup")
	b.ReportMetric(ratios[n/4], "speedup_q1")
	b.ReportMetric(ratios[3*n/4], "speedup_q3")
}
