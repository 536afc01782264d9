package runner

import (
	"math"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/kernel"
)

// TestLayoutsAgree: the weights in the 1.6-bit layout (--kernel
// avx512-1.6bit) give the logits of the 2-bit one (avx512) bit for bit,
// for every family, decoding one token at a time (the 1.6-bit kernel) and
// in batches (its rows unpacked to 2 bits), fused and unfused; and the
// load puts those weights in memory of their own, the backend's copy
// released.
func TestLayoutsAgree(t *testing.T) {
	if !kernel.Supported(kernel.AVX512T5) {
		t.Skip("this CPU cannot run the avx512-1.6bit kernel")
	}
	for _, model := range []struct{ preset, arch string }{
		{"tiny", ""}, {"tiny", gguf.ArchBitNet25}, {"bitnet-tiny", ""}, {"llama-tiny", ""}, {"falcon-e-tiny", ""},
	} {
		t.Run(model.preset+model.arch, func(t *testing.T) {
			path := tinyModel(t, model.preset, 17, model.arch)
			var logits [2][][]float32
			for i, kern := range []string{"avx512", "avx512-1.6bit"} {
				m := load(t, path, engine.LoadOptions{Kernel: kern, Embedding: "q6_k"})
				if want := []string{"avx512-vnni", "avx512-vnni-1.6bit"}[i]; m.info.Kernel != want {
					t.Fatalf("kernel %q, want %q", m.info.Kernel, want)
				}
				if (m.weights != nil) != (i == 1) {
					t.Fatalf("%s: weights of their own: %v", kern, m.weights != nil)
				}
				prompt := promptTokens(9, 41, m.tok.VocabSize(), m.tok.BOS)
				// Batches of 1 to 4 tokens (decoding) and of 19 (a
				// prefill), every row's logits.
				sizes := []int{1, 2, 3, 4, 19}
				for pos, j := 0, 0; pos < len(prompt); pos, j = pos+sizes[j%len(sizes)], j+1 {
					n := min(sizes[j%len(sizes)], len(prompt)-pos)
					rows := make([]int32, n)
					for r := range rows {
						rows[r] = int32(r)
					}
					out, err := m.compute(prompt[pos:pos+n], pos, rows)
					if err != nil {
						t.Fatal(err)
					}
					logits[i] = append(logits[i], out)
				}
			}
			for b := range logits[0] {
				for j := range logits[0][b] {
					if math.Float32bits(logits[0][b][j]) != math.Float32bits(logits[1][b][j]) {
						t.Fatalf("batch %d, logit %d: 2-bit %v, 1.6-bit %v", b, j, logits[0][b][j], logits[1][b][j])
					}
				}
			}
		})
	}
}
