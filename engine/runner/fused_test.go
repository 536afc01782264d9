package runner

import (
	"math"
	"testing"

	"github.com/ollama/ollama/ml"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/graph"
	"github.com/bitnet-desktop/bitnet-desktop/engine/kernel"
)

// TestFusedProjectionsExact: decoding with kernel.Project's fused
// operations (norm, q/k/v in one product, the ReLU² gate, residual adds)
// gives the logits of the unfused graph bit for bit, for every family, on
// the best kernel level and the baseline, one token at a time, in batches
// of the few tokens one fused operation takes and in batches of more
// (prefill: the norm and quantization, then the products).
func TestFusedProjectionsExact(t *testing.T) {
	for _, model := range []struct{ preset, arch string }{
		{"tiny", ""}, {"tiny", gguf.ArchBitNet25}, {"bitnet-tiny", ""}, {"llama-tiny", ""}, {"falcon-e-tiny", ""},
	} {
		for _, kern := range []string{"", kernel.Levels()[0].String()} {
			t.Run("kernel="+kern+",model="+model.preset+model.arch, func(t *testing.T) {
				m := load(t, tinyModel(t, model.preset, 13, model.arch), engine.LoadOptions{Kernel: kern, Embedding: "q6_k"})
				gm := m.model.(*graph.Model)
				prompt := promptTokens(7, 33, m.tok.VocabSize(), m.tok.BOS)
				run := func(unfused bool) [][]float32 {
					gm.Unfused = unfused
					defer func() { gm.Unfused = false }()
					m.resetCache()
					defer m.resetCache()
					return batchLogits(t, m, prompt)
				}
				before := gm.FusedOps()
				fused := run(false)
				if gm.FusedOps() == before {
					t.Fatal("no fused operation was built")
				}
				plain := run(true)
				for i := range plain {
					for j := range plain[i] {
						if math.Float32bits(fused[i][j]) != math.Float32bits(plain[i][j]) {
							t.Fatalf("batch %d, logit %d: fused %v, unfused %v", i, j, fused[i][j], plain[i][j])
						}
					}
				}
			})
		}
	}
}

// batchLogits computes prompt (into an empty cache) in batches of 1, 2,
// 3, 4 and 19 tokens, in turn: the decoding and the prefill paths. It
// returns every row's logits, batch by batch.
func batchLogits(t *testing.T, m *Runner, prompt []int32) [][]float32 {
	t.Helper()
	var out [][]float32
	sizes := []int{1, 2, 3, 4, 19}
	for pos, i := 0, 0; pos < len(prompt); pos, i = pos+sizes[i%len(sizes)], i+1 {
		n := min(sizes[i%len(sizes)], len(prompt)-pos)
		rows := make([]int32, n)
		for r := range rows {
			rows[r] = int32(r)
		}
		logits, err := m.compute(prompt[pos:pos+n], pos, rows)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, logits)
	}
	return out
}

// TestProjectRefusesBadOperands: kernel.Project checks its operands in Go
// before ggml sees them (ggml aborts the process on a bad shape) and
// returns an error, which sends the graph to the unfused operations.
func TestProjectRefusesBadOperands(t *testing.T) {
	m := load(t, tinyModel(t, "tiny", 13, ""), engine.LoadOptions{})
	gm := m.model.(*graph.Model)
	ctx := m.model.Backend().NewContext()
	defer ctx.Close()
	in := ctx.Input() // tensors of their own buffers
	a, f := gm.Layers[0].Attention, gm.Layers[0].MLP
	k := gm.Hidden
	x := in.Empty(ml.DTypeF32, k, 2)
	norm := gm.Layers[0].AttentionNorm.Weight
	q, kw, v := a.Query.Weight, a.Key.Weight, a.Value.Weight
	for _, tc := range []struct {
		name string
		x    ml.Tensor
		p    kernel.Projection
		ok   bool
	}{
		{"q/k/v with the norm", x, kernel.Projection{Weights: []ml.Tensor{q, kw, v}, Norm: norm, Eps: 1e-5}, true},
		{"gate and up", x, kernel.Projection{Weights: []ml.Tensor{f.Gate.Weight, f.Up.Weight}, ReLU2: true}, true},
		{"residual", x, kernel.Projection{Weights: []ml.Tensor{q}, Residual: in.Empty(ml.DTypeF32, q.Dim(1), 2)}, true},
		{"no weight", x, kernel.Projection{}, false},
		{"four weights", x, kernel.Projection{Weights: []ml.Tensor{q, kw, v, q}}, false},
		{"activations of another width", in.Empty(ml.DTypeF32, k/2, 1), kernel.Projection{Weights: []ml.Tensor{q}}, false},
		{"a batch (prefill)", in.Empty(ml.DTypeF32, k, 37), kernel.Projection{Weights: []ml.Tensor{q, kw, v}, Norm: norm, Eps: 1e-5}, true},
		{"a batch's gate and up", in.Empty(ml.DTypeF32, k, 37), kernel.Projection{Weights: []ml.Tensor{f.Gate.Weight, f.Up.Weight}, ReLU2: true}, true},
		{"a batch's residual of another shape", in.Empty(ml.DTypeF32, k, 37), kernel.Projection{Weights: []ml.Tensor{q}, Residual: in.Empty(ml.DTypeF32, q.Dim(1), 36)}, false},
		{"f16 activations", in.Empty(ml.DTypeF16, k, 1), kernel.Projection{Weights: []ml.Tensor{q}}, false},
		{"an unpacked weight", x, kernel.Projection{Weights: []ml.Tensor{norm}}, false},
		{"norm weight of another width", x, kernel.Projection{Weights: []ml.Tensor{q}, Norm: in.Empty(ml.DTypeF32, k/2)}, false},
		{"ReLU² with one weight", x, kernel.Projection{Weights: []ml.Tensor{q}, ReLU2: true}, false},
		{"ReLU² over weights of different heights", x, kernel.Projection{Weights: []ml.Tensor{q, kw}, ReLU2: true}, false},
		{"residual of two weights", x, kernel.Projection{Weights: []ml.Tensor{q, kw}, Residual: in.Empty(ml.DTypeF32, q.Dim(1), 2)}, false},
		{"residual of another shape", x, kernel.Projection{Weights: []ml.Tensor{q}, Residual: in.Empty(ml.DTypeF32, q.Dim(1), 1)}, false},
	} {
		out, err := kernel.Project(ctx, tc.x, tc.p, kernel.Auto)
		if tc.ok && (err != nil || len(out) == 0) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
