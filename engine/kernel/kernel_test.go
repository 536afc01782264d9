package kernel

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"testing"

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

// levels returns the levels of this build the CPU runs: the baseline
// (AVX2 or NEON) and those above it that it has.
func levels(t *testing.T) []Level {
	all := Levels()
	if !Supported(all[0]) {
		t.Fatalf("this CPU cannot run the baseline %v kernel", all[0])
	}
	ls := all[:1]
	for _, l := range all[1:] {
		if Supported(l) {
			ls = append(ls, l)
		} else {
			t.Logf("this CPU cannot run the %v kernel: not tested", l)
		}
	}
	return ls
}

// TestLevels: Detect picks a level of this build that the CPU runs, the
// levels of the other architecture are never supported, and
// BITNET_TEST_KERNEL (set by the arm64 suite, which runs this test binary
// under qemu with CPU models with and without the dot product) names the
// level detected, so that such a run cannot test another level than the
// one it claims.
func TestLevels(t *testing.T) {
	d := Detect()
	if !slices.Contains(Levels(), d) || !Supported(d) {
		t.Fatalf("Detect() = %v: not a supported level of this build %v", d, Levels())
	}
	for _, l := range []Level{AVX2, AVXVNNI, AVX512, NEON, NEONDotProd} {
		if !slices.Contains(Levels(), l) && Supported(l) {
			t.Errorf("%v is supported in a %s build", l, runtime.GOARCH)
		}
	}
	if want := os.Getenv("BITNET_TEST_KERNEL"); want != "" && d.String() != want {
		t.Fatalf("detected the %v kernel, the run expects %s", d, want)
	}
	t.Logf("%s: detected %v of %v", runtime.GOARCH, d, Levels())
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
					if lv.AVX512() {
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
// tile shape (rows 1..9, columns 1..9), row split and block of tokens.
func TestMatMulExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, lv := range levels(t) {
		for _, tc := range []struct{ m, k, n, chunk int }{
			{4, 256, 1, 4}, {4, 256, 3, 4}, {8, 512, 5, 4}, {8, 768, 9, 8}, {12, 2560, 4, 4}, {16, 6912, 2, 16}, {12, 1024, 13, 8},
			{8, 6912, 37, 8}, // tokens in blocks (16 at this width), the last one partial
		} {
			t.Run(fmt.Sprintf("%v/%dx%dx%d/%d", lv, tc.m, tc.k, tc.n, tc.chunk), func(t *testing.T) {
				vals := randTernary(rng, tc.m*tc.k)
				scale := float32(0.37)
				w, ok := Pack(lv, tq2(vals, tc.k, scale), tc.m, tc.k)
				if !ok {
					t.Fatal("Pack refused a uniform tensor")
				}
				x := randActs(rng, tc.n*tc.k, true)
				natural := QuantizeRows(Levels()[0], x, tc.k) // the baseline keeps the natural order
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

// exactProducts returns the expected results of MatMulRows: the exact
// integer dot products of the ternary rows and the quantized columns
// (natural order), times the weight scale and the column's step.
func exactProducts(vals []int8, m, k int, natural []byte, n int, scale float32) []float32 {
	rb := XQRowBytes(k)
	ws := float16.Fromfloat32(scale).Float32()
	y := make([]float32, n*m)
	for c := 0; c < n; c++ {
		row := natural[c*rb : (c+1)*rb]
		step := math.Float32frombits(binary.LittleEndian.Uint32(row))
		for r := 0; r < m; r++ {
			dot := int32(0)
			for e := 0; e < k; e++ {
				dot += int32(vals[r*k+e]) * int32(int8(row[64+e]))
			}
			y[c*m+r] = float32(dot) * ws * step
		}
	}
	return y
}

// TestMatMulExtremes: the largest sums the kernels' integer lanes hold
// (every weight +1 or -1 against activations of ±127: the int16 lanes of
// the NEON kernel and the maddubs pairs of AVX2 at their bounds, the
// masked groups of the decode kernels at their largest codes), for every
// tile width, still equal the exact products.
func TestMatMulExtremes(t *testing.T) {
	const m, k = 8, 13824 // k: the FFN width of a 3B model
	weights := map[string]func(r, e int) int8{
		"+1":          func(r, e int) int8 { return 1 },
		"-1":          func(r, e int) int8 { return -1 },
		"rows +1/-1":  func(r, e int) int8 { return int8(1 - 2*(r%2)) },
		"alternating": func(r, e int) int8 { return int8((e+r)%3) - 1 },
	}
	acts := map[string]func(e int) float32{
		"+amax":       func(e int) float32 { return 3 },
		"-amax":       func(e int) float32 { return -3 },
		"alternating": func(e int) float32 { return float32(3 - 6*(e%2)) },
	}
	for _, lv := range levels(t) {
		for wn, wf := range weights {
			vals := make([]int8, m*k)
			for i := range vals {
				vals[i] = wf(i/k, i%k)
			}
			w, ok := Pack(lv, tq2(vals, k, 1), m, k)
			if !ok {
				t.Fatal("Pack refused a uniform tensor")
			}
			for an, af := range acts {
				for n := 1; n <= 4; n++ {
					x := make([]float32, n*k)
					for i := range x {
						x[i] = af(i % k)
					}
					want := exactProducts(vals, m, k, QuantizeRows(Levels()[0], x, k), n, 1)
					got := MatMulRows(lv, w, m, k, QuantizeRows(lv, x, k), n, m)
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("%v weights %s, activations %s, %d tokens: [%d] = %g, want %g", lv, wn, an, n, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestMatMulAccuracy: against float64 arithmetic the int8 activations cost
// well under 1% of the output's scale.
func TestMatMulAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const m, k, n = 64, 2560, 3
	vals := randTernary(rng, m*k)
	x := randActs(rng, n*k, false)
	for _, lv := range levels(t) {
		w, _ := Pack(lv, tq2(vals, k, 1), m, k)
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
	base := Levels()[0] // every level but AVX512T5 reads this layout
	p, ok := Pack(base, w, 8, 512)
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
		for _, lv := range Levels() {
			if _, ok := Pack(lv, tc.w, tc.m, tc.k); ok {
				t.Errorf("%v: %s: packed", lv, tc.name)
			}
		}
	}
	// PackInto writes the same bytes into memory of the caller's (the
	// backend tensor's at load), and refuses memory of another size.
	into := make([]byte, len(w))
	if !PackInto(base, into, w, 8, 512) || !bytes.Equal(into, p) {
		t.Error("PackInto differs from Pack")
	}
	if PackInto(base, into[:len(into)-1], w, 8, 512) {
		t.Error("PackInto wrote into memory of another size")
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
