package kernel

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkAttSplit is a development benchmark of the split decode
// attention in one thread: a token's 30 layers over a 2048-cell cache of
// 2B4T's shape, more than the CPU caches hold, f16 and q8_0. The project's
// speed figures come from bitnet bench (BENCHMARKS.md), not from this.
func BenchmarkAttSplit(b *testing.B) {
	benchAtt(b, 128, 20, 5, 2048)
}

func benchAtt(b *testing.B, hd, heads, kvheads, cells int) {
	const layers = 30
	rng := rand.New(rand.NewPCG(1, 2))
	q := make([]float32, heads*hd)
	for i := range q {
		q[i] = float32(rng.NormFloat64())
	}
	mask := make([]float32, cells)
	k16, v16 := make([][]uint16, layers), make([][]uint16, layers)
	kq, vq := make([][]byte, layers), make([][]byte, layers)
	for l := range layers {
		k16[l] = make([]uint16, cells*kvheads*hd)
		v16[l] = make([]uint16, cells*kvheads*hd)
		for i := range k16[l] {
			k16[l][i] = uint16(rng.IntN(0x3000))
			v16[l][i] = uint16(rng.IntN(0x3000))
		}
		kq[l], _ = q8Rows(rng, cells*kvheads, hd)
		vq[l], _ = q8Rows(rng, cells*kvheads, hd)
	}
	for _, lv := range []Level{AVX2, AVX512} {
		b.Run("f16/"+lv.String(), func(b *testing.B) {
			for b.Loop() {
				for l := range layers {
					AttentionRaw(q, k16[l], v16[l], mask, hd, heads, kvheads, cells, 1, 0.1, AttentionSplit, lv)
				}
			}
		})
		b.Run("q8/"+lv.String(), func(b *testing.B) {
			for b.Loop() {
				for l := range layers {
					AttentionRawQ8(q, kq[l], vq[l], mask, hd, heads, kvheads, cells, 1, 0.1, AttentionSplit, lv)
				}
			}
		})
	}
}
