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
// in batches (its rows unpacked to 2 bits); and only the 1.6-bit load
// puts the weights in memory of their own.
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
				logits[i] = batchLogits(t, m, promptTokens(9, 41, m.tok.VocabSize(), m.tok.BOS))
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
