package kernel

// The arm64 build: the NEON levels (ternary_arm64.c). The Q6_K output
// matrix and the attention are ggml's: the x86 kernels for them replaced
// slow paths of ggml's x86 code that were measured there; whether ports to
// NEON would beat ggml's NEON code can only be measured on ARM hardware,
// which this project has not had (qemu proves results, not speed).

import (
	"errors"

	"github.com/ollama/ollama/ml"
)

// archLevels are this build's levels, the baseline (ARMv8-A) first.
var archLevels = []Level{NEON, NEONDotProd}

// HasAttention reports whether this build has the attention kernel
// (Attention); without it the graph uses ggml's attention.
func HasAttention() bool { return false }

// MulMatQ6K returns an error on arm64, adding nothing: ggml's mul_mat
// multiplies the Q6_K output matrix.
func MulMatQ6K(ctx ml.Context, w, x ml.Tensor) (ml.Tensor, error) {
	if _, _, _, err := pointers(ctx, w, x); err != nil {
		return nil, err
	}
	return nil, errors.New("kernel: no Q6_K kernel on arm64 (ggml's mul_mat is used)")
}

// Attention returns an error on arm64, adding nothing: ggml computes the
// attention.
func Attention(ctx ml.Context, q, k, v, mask ml.Tensor, scale float32, level Level, vrows bool) (ml.Tensor, error) {
	return nil, errors.New("kernel: no attention kernel on arm64 (ggml's attention is used)")
}

// AttentionBatch returns an error on arm64, adding nothing: ggml computes
// the attention.
func AttentionBatch(ctx ml.Context, q, k, v, mask ml.Tensor, scale float32, vrows bool) (ml.Tensor, error) {
	return nil, errors.New("kernel: no attention kernel on arm64 (ggml's attention is used)")
}

// The 1.6-bit layout (AVX512T5) exists on x86-64 only.
func t5Bytes(m, k int) int { return 0 }

func packT5(out, tq2 []byte, m, k int) bool { return false }

// Weights is memory for weights in a layout of their own: none on arm64,
// whose layouts are TQ2_0's size.
type Weights struct{}

// AllocWeights returns an error on arm64.
func AllocWeights(n int) (*Weights, error) {
	return nil, errors.New("kernel: no weight layout of its own on arm64")
}

// Holds reports false.
func (w *Weights) Holds(b []byte) bool { return false }

// Bytes returns nothing.
func (w *Weights) Bytes() []byte { return nil }

// Free does nothing.
func (w *Weights) Free() {}
