package kernel

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

// tq2 encodes ternary rows (values -1/0/+1) as TQ2_0 with one scale.
func tq2(vals []int8, k int, scale float32) []byte {
	rows := len(vals) / k
	out := make([]byte, 0, rows*k/256*66)
	for r := 0; r < rows; r++ {
		for b := 0; b < k/256; b++ {
			var blk [66]byte
			for e := 0; e < 256; e++ {
				half, rest := e/128, e%128
				l, m := rest/32, rest%32
				q := byte(vals[r*k+b*256+e] + 1)
				blk[half*32+m] |= q << (2 * l)
			}
			binary.LittleEndian.PutUint16(blk[64:], float16.Fromfloat32(scale).Bits())
			out = append(out, blk[:]...)
		}
	}
	return out
}

func randTernary(rng *rand.Rand, n int) []int8 {
	v := make([]int8, n)
	for i := range v {
		v[i] = int8(rng.IntN(3)) - 1
	}
	return v
}

func randActs(rng *rand.Rand, n int, outlier bool) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	if outlier && n > 0 {
		x[rng.IntN(n)] = 40
	}
	return x
}

func levels(t *testing.T) []Level {
	ls := []Level{AVX2}
	for _, l := range []Level{AVXVNNI, AVX512} {
		if Supported(l) {
			ls = append(ls, l)
		} else {
			t.Logf("this CPU cannot run the %v kernel: not tested", l)
		}
	}
	return ls
}

// TestQuantizeRows checks the int8 values, step and sum against a scalar
// computation, in both activation orders.
func TestQuantizeRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, lv := range levels(t) {
		for _, k := range []int{256, 2560} {
			x := randActs(rng, 3*k, true)
			x[5] = 0
			xq := QuantizeRows(lv, x, k)
			rb := XQRowBytes(k)
			for r := 0; r < 3; r++ {
				row := x[r*k : (r+1)*k]
				amax := float32(0)
				for _, v := range row {
					amax = max(amax, float32(math.Abs(float64(v))))
				}
				got := xq[r*rb : (r+1)*rb]
				step := math.Float32frombits(binary.LittleEndian.Uint32(got))
				if step != amax/127 {
					t.Fatalf("%v k=%d row %d: step %g, want %g", lv, k, r, step, amax/127)
				}
				sum := int32(0)
				for e, v := range row {
					want := int8(math.RoundToEven(float64(v * (127 / amax))))
					pos := e
					if lv == AVX512 {
						b, w := e/256, e%256
						half, l, m := w/128, (w%128)/32, w%32
						pos = b*256 + l*64 + half*32 + m
					}
					if g := int8(got[64+pos]); g != want {
						t.Fatalf("%v k=%d row %d elem %d: %d, want %d", lv, k, r, e, g, want)
					}
					sum += int32(want)
				}
				if s := int32(binary.LittleEndian.Uint32(got[4:])); s != sum {
					t.Fatalf("%v k=%d row %d: sum %d, want %d", lv, k, r, s, sum)
				}
			}
		}
	}
}

// TestMatMulExact: the kernels' result equals the exact integer dot product
// of the ternary weights and the quantized activations, scaled, for every
// tile shape (rows 1..9, columns 1..9) and row split.
func TestMatMulExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, lv := range levels(t) {
		for _, tc := range []struct{ m, k, n, chunk int }{
			{4, 256, 1, 4}, {4, 256, 3, 4}, {8, 512, 5, 4}, {8, 768, 9, 8}, {12, 2560, 4, 4}, {16, 6912, 2, 16}, {12, 1024, 13, 8},
		} {
			t.Run(fmt.Sprintf("%v/%dx%dx%d/%d", lv, tc.m, tc.k, tc.n, tc.chunk), func(t *testing.T) {
				vals := randTernary(rng, tc.m*tc.k)
				scale := float32(0.37)
				w, ok := Pack(tq2(vals, tc.k, scale), tc.m, tc.k)
				if !ok {
					t.Fatal("Pack refused a uniform tensor")
				}
				x := randActs(rng, tc.n*tc.k, true)
				natural := QuantizeRows(AVX2, x, tc.k)
				xq := QuantizeRows(lv, x, tc.k)
				y := MatMulRows(lv, w, tc.m, tc.k, xq, tc.n, tc.chunk)
				rb := XQRowBytes(tc.k)
				ws := float16.Fromfloat32(scale).Float32()
				for c := 0; c < tc.n; c++ {
					row := natural[c*rb : (c+1)*rb]
					step := math.Float32frombits(binary.LittleEndian.Uint32(row))
					for r := 0; r < tc.m; r++ {
						dot := int32(0)
						for e := 0; e < tc.k; e++ {
							dot += int32(vals[r*tc.k+e]) * int32(int8(row[64+e]))
						}
						want := float32(dot) * ws * step
						if got := y[c*tc.m+r]; got != want {
							t.Fatalf("row %d col %d: %g, want %g", r, c, got, want)
						}
					}
				}
			})
		}
	}
}

// TestMatMulAccuracy: against float64 arithmetic the int8 activations cost
// well under 1% of the output's scale.
func TestMatMulAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const m, k, n = 64, 2560, 3
	vals := randTernary(rng, m*k)
	w, _ := Pack(tq2(vals, k, 1), m, k)
	x := randActs(rng, n*k, false)
	for _, lv := range levels(t) {
		y := MatMulRows(lv, w, m, k, QuantizeRows(lv, x, k), n, m)
		var maxErr, maxAbs float64
		for c := 0; c < n; c++ {
			for r := 0; r < m; r++ {
				want := 0.0
				for e := 0; e < k; e++ {
					want += float64(vals[r*k+e]) * float64(x[c*k+e])
				}
				maxErr = max(maxErr, math.Abs(float64(y[c*m+r])-want))
				maxAbs = max(maxAbs, math.Abs(want))
			}
		}
		if maxErr > 0.01*maxAbs {
			t.Fatalf("%v: max error %g of %g", lv, maxErr, maxAbs)
		}
		t.Logf("%v: max error %.3g (%.3g%% of the largest output)", lv, maxErr, 100*maxErr/maxAbs)
	}
}

func TestPack(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	vals := randTernary(rng, 8*512)
	w := tq2(vals, 512, 0.5)
	p, ok := Pack(w, 8, 512)
	if !ok {
		t.Fatal("uniform tensor refused")
	}
	// Every code byte and scale is kept, only moved: tile of 4 rows, block
	// by block, then the scales row by row.
	for r := 0; r < 8; r++ {
		for b := 0; b < 2; b++ {
			src := w[(r*2+b)*66:]
			dst := p[(r/4)*2*256+b*256+(r%4)*64:]
			for i := 0; i < 64; i++ {
				if src[i] != dst[i] {
					t.Fatalf("row %d block %d byte %d moved wrong", r, b, i)
				}
			}
			sc := p[8*2*64+(r*2+b)*2:]
			if sc[0] != src[64] || sc[1] != src[65] {
				t.Fatalf("row %d block %d scale moved wrong", r, b)
			}
		}
	}
	for _, tc := range []struct {
		name string
		w    []byte
		m, k int
	}{
		{"rows not a multiple of 4", tq2(vals[:6*512], 512, 0.5), 6, 512},
		{"k not a multiple of 256", w, 8, 500},
		{"size mismatch", w[:len(w)-1], 8, 512},
		{"empty", nil, 0, 512},
		{"mixed scales", func() []byte {
			c := append([]byte(nil), w...)
			binary.LittleEndian.PutUint16(c[5*66+64:], float16.Fromfloat32(0.25).Bits())
			return c
		}(), 8, 512},
	} {
		if _, ok := Pack(tc.w, tc.m, tc.k); ok {
			t.Errorf("%s: packed", tc.name)
		}
	}
}

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

type attCase struct{ hd, heads, kvheads, cells, visible, tokens int }

func testAttention(t *testing.T, mode AttentionMode, level Level, cases []attCase) {
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
			k, kv := f16(tc.cells*tc.kvheads*tc.hd, 1)
			v, vv := f16(tc.kvheads*tc.hd*tc.cells, 1)
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
			got := AttentionRaw(q, k, v, mask, tc.hd, tc.heads, tc.kvheads, tc.cells, tc.tokens, scale, mode, level)
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
							want += s[j] / sum * vv[(g*tc.hd+d)*tc.cells+j]
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

func TestStreamRead(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 129, 4096 + 77} {
		b := make([]byte, n)
		var want uint64
		for i := range b {
			b[i] = byte(i * 7)
		}
		// The checksum adds the bytes as little-endian uint64 lanes in
		// whole 128-byte chunks, and the tail byte by byte.
		full := n / 128 * 128
		for i := 0; i+8 <= full; i += 8 {
			want += binary.LittleEndian.Uint64(b[i:])
		}
		for i := full; i < n; i++ {
			want += uint64(b[i])
		}
		if got := StreamRead(b); got != want {
			t.Errorf("n=%d: %d, want %d", n, got, want)
		}
	}
}
