package kernel

// The tests of the x86-only kernels (Q6_K output matrix, attention).

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml/backend/ggml"
	"github.com/x448/float16"
)

// TestMatMulQ6K: the AVX-512 Q6_K kernel equals the dequantized weights
// times the quantized activations (float arithmetic aside), and stays
// within 1% of float64 against the unquantized activations.
func TestMatMulQ6K(t *testing.T) {
	if Detect() != AVX512 {
		t.Skip("no AVX-512 on this CPU: the Q6_K kernel is not used")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, tc := range []struct{ m, k, n int }{{1, 256, 1}, {7, 512, 1}, {33, 2560, 3}} {
		t.Run(fmt.Sprintf("%dx%dx%d", tc.m, tc.k, tc.n), func(t *testing.T) {
			wf := make([]float32, tc.m*tc.k)
			for i := range wf {
				wf[i] = float32(rng.NormFloat64()) * 0.02
			}
			w := ggml.Quantize(fsggml.TensorTypeQ6_K, wf, []uint64{uint64(tc.k), uint64(tc.m)})
			deq := ggml.ConvertToF32(w, uint32(fsggml.TensorTypeQ6_K), uint64(tc.m*tc.k))
			x := randActs(rng, tc.n*tc.k, true)
			y := MatMulQ6K(w, tc.m, tc.k, x)
			for c := 0; c < tc.n; c++ {
				xs := x[c*tc.k : (c+1)*tc.k]
				// The activations as the kernel quantizes them.
				xq := make([]float64, tc.k)
				for b := 0; b < tc.k; b += 256 {
					var amax float32
					for _, v := range xs[b : b+256] {
						amax = max(amax, float32(math.Abs(float64(v))))
					}
					inv, step := 127/amax, amax/127
					for i := b; i < b+256; i++ {
						xq[i] = math.RoundToEven(float64(xs[i]*inv)) * float64(step)
					}
				}
				for r := 0; r < tc.m; r++ {
					var want, exact, scale float64
					for i := 0; i < tc.k; i++ {
						want += float64(deq[r*tc.k+i]) * xq[i]
						exact += float64(deq[r*tc.k+i]) * float64(xs[i])
						scale += math.Abs(float64(deq[r*tc.k+i]) * float64(xs[i]))
					}
					got := float64(y[c*tc.m+r])
					if math.Abs(got-want) > 1e-5*scale {
						t.Fatalf("row %d col %d: %g, want %g (scale %g)", r, c, got, want, scale)
					}
					if math.Abs(got-exact) > 0.01*scale {
						t.Fatalf("row %d col %d: %g, float64 %g (scale %g)", r, c, got, exact, scale)
					}
				}
			}
		})
	}
}

// TestAttention: the attention kernel against float64 on the same f16
// keys and values, with masked cells (a causal mask over cache padding).
func TestAttention(t *testing.T) {
	testAttention(t, AttentionHeads, Auto, []attCase{
		{128, 20, 5, 256, 1, 1}, {128, 20, 5, 256, 37, 1}, {128, 20, 5, 512, 300, 3}, {64, 8, 8, 256, 256, 2}, {16, 2, 1, 256, 9, 4},
	})
}

// TestAttentionSplit: decoding split by cells, with chunks the visible
// cells end in, chunks past them, 5 to 8 query heads per kv head (two
// groups of 4), and the most chunks.
func TestAttentionSplit(t *testing.T) {
	for _, level := range []Level{AVX2, AVX512} {
		t.Run(level.String(), func(t *testing.T) {
			if !Supported(level) {
				t.Skipf("this CPU has no %v", level)
			}
			testAttention(t, AttentionSplit, level, []attCase{
				{128, 20, 5, 512, 1, 1}, {128, 20, 5, 600, 437, 1}, {128, 20, 5, 1024, 1000, 3}, {64, 8, 8, 512, 512, 2},
				{16, 2, 1, 512, 9, 4}, {128, 16, 2, 768, 700, 1}, {32, 10, 2, 520, 519, 2}, {128, 20, 5, 4096, 4000, 1},
				{128, 20, 5, 530, 529, 1},
			})
		})
	}
}

// TestAttentionBatch: the tiled batch kernel, over several chunks of
// cells, partial tiles, every grouping it takes (1 to 16 query heads per kv
// head, 3 leaving a row of the tile unused), a head size of 256.
func TestAttentionBatch(t *testing.T) {
	if Detect() != AVX512 {
		t.Skip("the batch attention kernel needs AVX-512")
	}
	testAttention(t, AttentionBatched, Auto, []attCase{
		{128, 20, 5, 256, 1, 1}, {128, 20, 5, 768, 700, 128}, {128, 20, 5, 1024, 513, 37}, {64, 8, 8, 256, 256, 2},
		{16, 2, 1, 512, 300, 20}, {128, 32, 8, 512, 400, 9}, {32, 6, 2, 256, 100, 11}, {256, 16, 1, 256, 200, 3},
		{64, 8, 1, 300, 290, 5},
	})
}

// TestAttentionQ8: the split kernel (every context length) and the
// batch kernel over a q8_0 cache, against float64 on the values its
// blocks hold; head sizes 32 (one pass of 32 dimensions), 64, 96 and 128.
func TestAttentionQ8(t *testing.T) {
	testAttentionRows(t, cacheQ8, []attCase{
		{128, 20, 5, 256, 1, 1}, {128, 20, 5, 256, 37, 1}, {128, 20, 5, 600, 437, 1}, {128, 20, 5, 1024, 1000, 3},
		{64, 8, 8, 512, 512, 2}, {32, 2, 1, 256, 9, 4}, {96, 16, 2, 768, 700, 1}, {32, 10, 2, 520, 519, 2},
		{128, 20, 5, 4096, 4000, 1},
	}, []attCase{
		{128, 20, 5, 256, 1, 1}, {128, 20, 5, 768, 700, 128}, {128, 20, 5, 1024, 513, 37}, {64, 8, 8, 256, 256, 2},
		{32, 2, 1, 512, 300, 20}, {128, 32, 8, 512, 400, 9}, {96, 6, 2, 256, 100, 11}, {256, 16, 1, 256, 200, 3},
	})
}

// TestAttentionRows: the split kernel (every context length) and the
// batch kernel over f16 values laid out as the keys (the runner's f16
// cache with the AVX-512 kernels); head sizes 16 to 256, so that the
// value rows' passes of 64, 32 and 16 dimensions all run.
func TestAttentionRows(t *testing.T) {
	testAttentionRows(t, cacheF16Rows, []attCase{
		{128, 20, 5, 256, 1, 1}, {128, 20, 5, 256, 37, 1}, {128, 20, 5, 600, 437, 1}, {128, 20, 5, 1024, 1000, 3},
		{64, 8, 8, 512, 512, 2}, {16, 2, 1, 256, 9, 4}, {48, 4, 2, 300, 299, 1}, {80, 10, 2, 520, 519, 2},
		{96, 16, 2, 768, 700, 1}, {128, 20, 5, 4096, 4000, 1},
	}, []attCase{
		{128, 20, 5, 256, 1, 1}, {128, 20, 5, 768, 700, 128}, {128, 20, 5, 1024, 513, 37}, {64, 8, 8, 256, 256, 2},
		{16, 2, 1, 512, 300, 20}, {128, 32, 8, 512, 400, 9}, {48, 6, 2, 256, 100, 11}, {256, 16, 1, 256, 200, 3},
	})
}

// testAttentionRows runs the split kernel at both x86 levels over split
// and the batch kernel over batch, on a cache with values in rows.
func testAttentionRows(t *testing.T, cache attCache, split, batch []attCase) {
	for _, level := range []Level{AVX2, AVX512} {
		t.Run(level.String(), func(t *testing.T) {
			if !Supported(level) {
				t.Skipf("this CPU has no %v", level)
			}
			testAttentionCache(t, AttentionSplit, level, cache, split)
		})
	}
	t.Run("batch", func(t *testing.T) {
		if Detect() != AVX512 {
			t.Skip("the batch attention kernel needs AVX-512")
		}
		testAttentionCache(t, AttentionBatched, Auto, cache, batch)
	})
}

type attCase struct{ hd, heads, kvheads, cells, visible, tokens int }

// The kv caches the attention kernels read: f16 values [kv heads][head
// size][cells] (ollama's layout for ggml's CPU path), f16 values laid out
// as the keys, q8_0 keys and values both laid out so.
type attCache int

const (
	cacheF16 attCache = iota
	cacheF16Rows
	cacheQ8
)

// q8Rows returns n rows of hd values as q8_0 blocks (an f16 scale, 32
// int8) and the values they hold, exactly.
func q8Rows(rng *rand.Rand, n, hd int) ([]byte, []float64) {
	raw := make([]byte, 0, n*hd/32*34)
	vals := make([]float64, 0, n*hd)
	for range n * hd / 32 {
		d := float16.Fromfloat32(float32(0.002 + rng.Float64()*0.02))
		raw = binary.LittleEndian.AppendUint16(raw, d.Bits())
		for range 32 {
			x := int8(rng.IntN(255) - 127)
			raw = append(raw, byte(x))
			vals = append(vals, float64(x)*float64(d.Float32()))
		}
	}
	return raw, vals
}

func testAttention(t *testing.T, mode AttentionMode, level Level, cases []attCase) {
	testAttentionCache(t, mode, level, cacheF16, cases)
}

// testAttentionCache runs the kernel over a cache of that kind.
func testAttentionCache(t *testing.T, mode AttentionMode, level Level, cache attCache, cases []attCase) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d/%d/%d/%d-of-%d/%d", tc.hd, tc.heads, tc.kvheads, tc.visible, tc.cells, tc.tokens), func(t *testing.T) {
			f16 := func(n int, s float64) ([]uint16, []float64) {
				bits := make([]uint16, n)
				vals := make([]float64, n)
				for i := range bits {
					h := float16.Fromfloat32(float32(rng.NormFloat64() * s))
					bits[i], vals[i] = h.Bits(), float64(h.Float32())
				}
				return bits, vals
			}
			q := make([]float32, tc.tokens*tc.heads*tc.hd)
			for i := range q {
				q[i] = float32(rng.NormFloat64())
			}
			// kv: keys [cells][kvheads][hd]; vat: a value by kv head,
			// dimension and cell.
			var k, v []uint16
			var kq, vq []byte
			var kv, vv []float64
			vat := func(g, d, j int) float64 { return vv[(g*tc.hd+d)*tc.cells+j] }
			switch cache {
			case cacheQ8:
				kq, kv = q8Rows(rng, tc.cells*tc.kvheads, tc.hd)
				vq, vv = q8Rows(rng, tc.cells*tc.kvheads, tc.hd)
				vat = func(g, d, j int) float64 { return vv[(j*tc.kvheads+g)*tc.hd+d] }
			case cacheF16Rows:
				k, kv = f16(tc.cells*tc.kvheads*tc.hd, 1)
				v, vv = f16(tc.cells*tc.kvheads*tc.hd, 1)
				vat = func(g, d, j int) float64 { return vv[(j*tc.kvheads+g)*tc.hd+d] }
			default:
				k, kv = f16(tc.cells*tc.kvheads*tc.hd, 1)
				v, vv = f16(tc.kvheads*tc.hd*tc.cells, 1)
			}
			mask := make([]float32, tc.tokens*tc.cells)
			for tok := 0; tok < tc.tokens; tok++ {
				for j := range tc.cells {
					// Token tok sees the first visible-tokens+tok+1 cells,
					// but for cell 3 (a hole, as other sequences leave).
					if j >= tc.visible-tc.tokens+tok+1 || j == 3 && tc.visible > 8 {
						mask[tok*tc.cells+j] = float32(math.Inf(-1))
					}
				}
			}
			scale := float32(1 / math.Sqrt(float64(tc.hd)))
			var got []float32
			switch cache {
			case cacheQ8:
				got = AttentionRawQ8(q, kq, vq, mask, tc.hd, tc.heads, tc.kvheads, tc.cells, tc.tokens, scale, mode, level)
			case cacheF16Rows:
				got = AttentionRawRows(q, k, v, mask, tc.hd, tc.heads, tc.kvheads, tc.cells, tc.tokens, scale, mode, level)
			default:
				got = AttentionRaw(q, k, v, mask, tc.hd, tc.heads, tc.kvheads, tc.cells, tc.tokens, scale, mode, level)
			}
			per := tc.heads / tc.kvheads
			for tok := 0; tok < tc.tokens; tok++ {
				for h := 0; h < tc.heads; h++ {
					g := h / per
					s := make([]float64, tc.cells)
					mx := math.Inf(-1)
					for j := range tc.cells {
						dot := 0.0
						for d := 0; d < tc.hd; d++ {
							dot += float64(q[(tok*tc.heads+h)*tc.hd+d]) * kv[(j*tc.kvheads+g)*tc.hd+d]
						}
						s[j] = dot*float64(scale) + float64(mask[tok*tc.cells+j])
						mx = math.Max(mx, s[j])
					}
					sum := 0.0
					for j := range s {
						s[j] = math.Exp(s[j] - mx)
						sum += s[j]
					}
					for d := 0; d < tc.hd; d++ {
						want := 0.0
						for j := range tc.cells {
							want += s[j] / sum * vat(g, d, j)
						}
						if g := float64(got[(tok*tc.heads+h)*tc.hd+d]); math.Abs(g-want) > 1e-4 {
							t.Fatalf("token %d head %d dim %d: %g, want %g", tok, h, d, g, want)
						}
					}
				}
			}
		})
	}
}

// TestPackT5: the 1.6-bit layout holds every code where bitnet_pack_t5
// says (tiles of 4 rows, blocks of 64 bytes, byte j of block b the codes
// of the AVX-512 activation positions 320b + 64l + j, base 3 with the
// upper half mirrored), padding codes 1, one scale per row after the
// codes; and it refuses what Pack refuses.
func TestPackT5(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, k := range []int{256, 512, 1280, 6912} {
		const m = 8
		vals := randTernary(rng, m*k)
		w := tq2(vals, k, 0.75)
		p, ok := Pack(AVX512T5, w, m, k)
		if !ok {
			t.Fatalf("k=%d: uniform tensor refused", k)
		}
		groups, nb5 := k/64, (k/64+4)/5
		if len(p) != m*nb5*64+2*m || len(p) != PackedSize(AVX512T5, m, k) {
			t.Fatalf("k=%d: %d bytes", k, len(p))
		}
		for r := 0; r < m; r++ {
			for b := 0; b < nb5; b++ {
				for j := 0; j < 64; j++ {
					v := int(p[(r/4)*nb5*256+b*256+(r%4)*64+j])
					digits := func(l int) int { return v / []int{1, 3, 9, 27, 81}[l] % 3 }
					if v >= 128 {
						i := v - 128
						if i > 121 {
							t.Fatalf("k=%d row %d block %d byte %d: %#x", k, r, b, j, v)
						}
						digits = func(l int) int { return 2 - i/[]int{1, 3, 9, 27, 81}[l]%3 }
					} else if v > 121 {
						t.Fatalf("k=%d row %d block %d byte %d: %#x", k, r, b, j, v)
					}
					for l := 0; l < 5; l++ {
						g := 5*b + l
						want := 1
						if g < groups {
							// AVX-512 position 64g + j of the row: TQ2_0
							// block g/4, value 128(j/32) + 32(g%4) + j%32.
							e := (g/4)*256 + 128*(j/32) + 32*(g%4) + j%32
							want = int(vals[r*k+e]) + 1
						}
						if got := digits(l); got != want {
							t.Fatalf("k=%d row %d group %d lane %d: code %d, want %d", k, r, g, j, got, want)
						}
					}
				}
			}
			if sc := p[m*nb5*64+2*r:]; sc[0] != w[64] || sc[1] != w[65] {
				t.Fatalf("k=%d row %d: scale %x, want %x", k, r, sc[:2], w[64:66])
			}
		}
		into := make([]byte, len(p))
		if !PackInto(AVX512T5, into, w, m, k) || string(into) != string(p) {
			t.Errorf("k=%d: PackInto differs from Pack", k)
		}
		if PackInto(AVX512T5, into[:len(into)-1], w, m, k) {
			t.Errorf("k=%d: PackInto wrote into memory of another size", k)
		}
	}
}

// TestWeights: memory of AllocWeights holds what it is given and knows
// its own slices.
func TestWeights(t *testing.T) {
	w, err := AllocWeights(3 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Free()
	b := w.Bytes()
	for i := range b {
		b[i] = byte(i%251) + 1
	}
	if !w.Holds(b[100:]) || w.Holds(make([]byte, 1)) || w.Holds(nil) {
		t.Error("Holds")
	}
	for i, v := range b {
		if v != byte(i%251)+1 {
			t.Fatalf("byte %d: %d", i, v)
		}
	}
	if _, err := AllocWeights(0); err == nil {
		t.Error("AllocWeights(0) allocated")
	}
}
