package reference

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/x448/float16"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/synth"
)

func writePreset(t *testing.T, preset string, seed uint64) string {
	t.Helper()
	c, err := synth.Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	c.Seed = seed
	path := filepath.Join(t.TempDir(), preset+".gguf")
	if err := synth.WriteFile(path, c); err != nil {
		t.Fatal(err)
	}
	return path
}

func rewrite(t *testing.T, preset string, v Variant) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "variant.gguf")
	if err := Rewrite(dst, writePreset(t, preset, 11), v); err != nil {
		t.Fatal(err)
	}
	return dst
}

// bitnetVariant is 1bitLLM's format (bitnet architecture, sub-norms, scale
// tensors away from 1, tied) on llama-tiny's weights and BPE vocabulary.
var bitnetVariant = Variant{Arch: gguf.ArchBitNetV1, SubNorms: true, Scales: true, Tied: true, Base: true, Seed: 3}

func TestLoadEveryFamily(t *testing.T) {
	cases := []struct {
		name    string
		path    func(t *testing.T) string
		family  gguf.Family
		weights gguf.TensorType
		untied  bool
		scales  int // projections with a scale tensor
		headDim int
	}{
		{"tiny", func(t *testing.T) string { return writePreset(t, "tiny", 1) }, gguf.Family2B4T, gguf.TypeI2_S, false, 0, 128},
		{"llama-tiny", func(t *testing.T) string { return writePreset(t, "llama-tiny", 1) }, gguf.FamilyLlama, gguf.TypeI2_S, true, 0, 128},
		{"falcon3-tiny", func(t *testing.T) string { return writePreset(t, "falcon3-tiny", 1) }, gguf.FamilyLlama, gguf.TypeI2_S, true, 0, 128},
		{"llama-tq2", func(t *testing.T) string { return writePreset(t, "llama-tq2", 1) }, gguf.FamilyLlama, gguf.TypeTQ2_0, true, 0, 128},
		{"llama-tq1", func(t *testing.T) string { return writePreset(t, "llama-tq1", 1) }, gguf.FamilyLlama, gguf.TypeTQ1_0, true, 0, 128},
		{"bitnet-tiny", func(t *testing.T) string { return writePreset(t, "bitnet-tiny", 1) }, gguf.FamilyBitNet, gguf.TypeI2_S, false, 0, 128},
		{"bitnet-tiny-scales", func(t *testing.T) string { return writePreset(t, "bitnet-tiny-scales", 1) }, gguf.FamilyBitNet, gguf.TypeI2_S, false, 14, 128},
		{"bitnet-b1.58 with SentencePiece", func(t *testing.T) string {
			return rewrite(t, "bitnet-tiny-scales", Variant{Arch: gguf.ArchBitNet, Seed: 3})
		}, gguf.FamilyBitNet, gguf.TypeI2_S, false, 14, 128},
		{"bitnet from llama-tiny", func(t *testing.T) string { return rewrite(t, "llama-tiny", bitnetVariant) }, gguf.FamilyBitNet, gguf.TypeI2_S, false, 14, 128},
		{"bitnet ffn 640", func(t *testing.T) string {
			return rewrite(t, "bitnet-tiny-scales", Variant{FFN: 640, Seed: 3})
		}, gguf.FamilyBitNet, gguf.TypeI2_S, false, 14, 128},
		{"llama key_length", func(t *testing.T) string {
			return rewrite(t, "llama-tiny", Variant{Heads: 4, KVHeads: 2, HeadDim: 32, Tied: true, Seed: 3})
		}, gguf.FamilyLlama, gguf.TypeI2_S, false, 0, 32},
		{"llama-tq2 block scales", func(t *testing.T) string {
			return rewrite(t, "llama-tq2", Variant{BlockScales: true, Seed: 3})
		}, gguf.FamilyLlama, gguf.TypeTQ2_0, true, 0, 128},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(tc.path(t))
			if err != nil {
				t.Fatal(err)
			}
			sp := m.Spec
			if sp.Family != tc.family || sp.Ternary != tc.weights || sp.Untied != tc.untied || sp.HeadDim != tc.headDim {
				t.Fatalf("family %s, weights %s, untied %v, head dim %d; want %s, %s, %v, %d",
					sp.Family, sp.Ternary, sp.Untied, sp.HeadDim, tc.family, tc.weights, tc.untied, tc.headDim)
			}
			if m.NeoX != (tc.family != gguf.FamilyLlama) {
				t.Errorf("NeoX = %v for %s", m.NeoX, tc.family)
			}
			scales := 0
			for _, b := range m.blocks {
				if (b.attnSub != nil) != tc.family.SubNorms() || (b.ffnSub != nil) != tc.family.SubNorms() {
					t.Errorf("sub-norms %v/%v in family %s", b.attnSub != nil, b.ffnSub != nil, tc.family)
				}
				for _, p := range []ternaryMat{b.q, b.k, b.v, b.o, b.gate, b.up, b.down} {
					if p.hasMul {
						scales++
					}
					if (p.blockScales != nil) != (tc.weights != gguf.TypeI2_S) {
						t.Errorf("block scales %v for %s", p.blockScales != nil, tc.weights)
					}
				}
			}
			if scales != tc.scales {
				t.Errorf("%d scale tensors, want %d", scales, tc.scales)
			}
			if !tc.untied && &m.output[0] != &m.embd[0] {
				t.Error("a tied model has its own output matrix")
			}
			logits, err := m.Forward([]int32{int32(sp.BOS), 5, 300, 7})
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range logits {
				for _, v := range row {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatal("non-finite logit")
					}
				}
			}
		})
	}
}

// TestI2SRowsOfAnyLength: I2_S packs the flat tensor, so a row need not
// be whole 128-value chunks: 1bitLLM-3B's ffn_down rows are 8640 = 67.5·128
// values long (docs/models-research.md §3.1). Such a file must open and
// decode by flat index. It fails today: gguf's reader (read.go, tensor
// infos) and writer refuse I2_S rows that are not a multiple of 128, so the
// published bitnet_b1_58-3B cannot be loaded.
func TestI2SRowsOfAnyLength(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "variant.gguf")
	// ffn_down rows of 4.5 chunks
	if err := Rewrite(dst, writePreset(t, "bitnet-tiny-scales", 11), Variant{FFN: 576, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dst)
	if err != nil {
		t.Fatal(err)
	}
	if d := m.blocks[0].down; d.cols != 576 || d.rows != 256 {
		t.Fatalf("ffn_down is %dx%d", d.rows, d.cols)
	}
	if _, err := m.Forward([]int32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
}

// TestTernaryFormatsAgree: synth writes the same values in each format
// (TQ2_0 and TQ1_0 with the I2_S scale rounded to f16 in each block), so
// the three files must give the same logits: the decoders and the block
// scales are right.
func TestTernaryFormatsAgree(t *testing.T) {
	forward := func(preset string, r Rounding) [][]float64 {
		m, err := Load(writePreset(t, preset, 7))
		if err != nil {
			t.Fatal(err)
		}
		m.Round = r
		out, err := m.Forward([]int32{int32(m.Spec.BOS), 17, 400, 3, 99})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tq2 := forward("llama-tq2", Rounding{})
	tq1 := forward("llama-tq1", Rounding{})
	i2s := forward("llama-tiny", Rounding{F16Scale: true})
	exact := forward("llama-tiny", Rounding{})
	var maxI2S, maxExact float64
	for p := range tq2 {
		for i := range tq2[p] {
			if tq1[p][i] != tq2[p][i] {
				t.Fatalf("tq1_0 and tq2_0 differ at %d/%d: %v vs %v", p, i, tq1[p][i], tq2[p][i])
			}
			maxI2S = max(maxI2S, math.Abs(i2s[p][i]-tq2[p][i]))
			maxExact = max(maxExact, math.Abs(exact[p][i]-tq2[p][i]))
		}
	}
	if maxI2S > 1e-9 {
		t.Errorf("i2_s with f16 scales differs from tq2_0 by %g", maxI2S)
	}
	if maxExact < 1e-6 {
		t.Errorf("i2_s with f32 scales equals tq2_0 (%g): the block scales are not used", maxExact)
	}
}

// TestRoPEModes: NORM on the adjacent pairs of q and k as the llama
// converter permutes them is NEOX on the unpermuted heads (HF's
// rotate_half), and both turn pair i by pos·base^(-2i/d).
func TestRoPEModes(t *testing.T) {
	const d, heads = 16, 3
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, d*heads)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	// permute: element i of a head's first half goes to 2i, of its second
	// half to 2i+1.
	permute := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for h := 0; h < heads; h++ {
			for i := 0; i < d/2; i++ {
				out[h*d+2*i], out[h*d+2*i+1] = v[h*d+i], v[h*d+i+d/2]
			}
		}
		return out
	}
	m := &Model{Spec: &gguf.Spec{HeadDim: d, RopeBase: 10000}}
	for _, pos := range []int{0, 1, 7, 300} {
		neox := append([]float64(nil), x...)
		m.NeoX = true
		m.rope(neox, pos)
		norm := permute(x)
		m.NeoX = false
		m.rope(norm, pos)
		want := permute(neox)
		for i := range norm {
			if math.Abs(norm[i]-want[i]) > 1e-12 {
				t.Fatalf("pos %d: NORM(permuted)[%d] = %v, permuted NEOX = %v", pos, i, norm[i], want[i])
			}
		}
		// Pair 0 turns by pos radians, pair d/2-1 by pos·base^(-(d-2)/d).
		for _, i := range []int{0, d/2 - 1} {
			theta := float64(pos) * math.Pow(10000, -2*float64(i)/d)
			a, b := x[i], x[i+d/2]
			if got := neox[i]; math.Abs(got-(a*math.Cos(theta)-b*math.Sin(theta))) > 1e-12 {
				t.Fatalf("pos %d pair %d: %v", pos, i, got)
			}
		}
		if pos == 0 {
			for i := range x {
				if neox[i] != x[i] {
					t.Fatal("position 0 is not the identity")
				}
			}
		}
	}
}

// TestGreedyMatchesForward: the incremental Step (through Greedy) computes
// what Forward does on the whole sequence.
func TestGreedyMatchesForward(t *testing.T) {
	m, err := Load(writePreset(t, "bitnet-tiny-scales", 5))
	if err != nil {
		t.Fatal(err)
	}
	m.Round = Rounding{ActInt8: true, F16KV: true}
	prompt := []int32{int32(m.Spec.BOS), 40, 41, 42}
	gen, err := m.Greedy(prompt, 6)
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]int32(nil), prompt...), gen...)
	logits, err := m.Forward(all[:len(all)-1])
	if err != nil {
		t.Fatal(err)
	}
	for i, tok := range gen {
		row := logits[len(prompt)-1+i]
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		if int32(best) != tok {
			t.Fatalf("token %d: greedy %d, forward argmax %d", i, tok, best)
		}
	}
}

// TestScalesAndFamilyMatter: the scale tensors and the activation each
// change the logits (so the engine comparisons test them), and a scale
// tensor is a plain factor after the matmul.
func TestScalesAndFamilyMatter(t *testing.T) {
	prompt := []int32{1, 40, 41, 42, 43}
	rel := func(a, b [][]float64) float64 {
		var d, mx float64
		for p := range a {
			for i := range a[p] {
				d, mx = max(d, math.Abs(a[p][i]-b[p][i])), max(mx, math.Abs(a[p][i]))
			}
		}
		return d / mx
	}
	projections := func(m *Model, f func(*ternaryMat)) {
		for i := range m.blocks {
			b := &m.blocks[i]
			for _, p := range []*ternaryMat{&b.q, &b.k, &b.v, &b.o, &b.gate, &b.up, &b.down} {
				f(p)
			}
		}
	}
	for name, path := range map[string]func(*testing.T) string{
		"bitnet-tiny-scales":     func(t *testing.T) string { return writePreset(t, "bitnet-tiny-scales", 11) },
		"bitnet from llama-tiny": func(t *testing.T) string { return rewrite(t, "llama-tiny", bitnetVariant) },
	} {
		t.Run(name, func(t *testing.T) {
			file := path(t)
			run := func(edit func(*Model)) [][]float64 {
				m, err := Load(file)
				if err != nil {
					t.Fatal(err)
				}
				if edit != nil {
					edit(m)
				}
				out, err := m.Forward(prompt)
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			base := run(nil)
			if r := rel(base, run(func(m *Model) { m.IgnoreScales = true })); r < 0.05 {
				t.Errorf("the scale tensors change the logits by %.4f only", r)
			}
			// The same weights through 2B4T's graph (ReLU²).
			if r := rel(base, run(func(m *Model) { m.Spec.Family = gguf.Family2B4T })); r < 0.05 {
				t.Errorf("ReLU² instead of SiLU changes the logits by %.4f only", r)
			}
			// Folding each scale tensor into the ternary scale changes
			// nothing.
			folded := run(func(m *Model) {
				projections(m, func(p *ternaryMat) {
					p.scale *= p.mul
					p.hasMul = false
				})
			})
			if r := rel(base, folded); r > 1e-12 {
				t.Errorf("folded scales differ by %g", r)
			}
		})
	}
}

func TestDecodeFloat(t *testing.T) {
	// Q8_0: f16 d, then 32 int8.
	blk := make([]byte, 34)
	binary.LittleEndian.PutUint16(blk, float16.Fromfloat32(0.5).Bits())
	for j := 0; j < 32; j++ {
		blk[2+j] = byte(int8(j - 16))
	}
	got, err := decodeFloat(gguf.TypeQ8_0, blk, 32)
	if err != nil {
		t.Fatal(err)
	}
	for j, v := range got {
		if v != 0.5*float64(j-16) {
			t.Fatalf("q8_0 value %d = %v", j, v)
		}
	}
	bf := binary.LittleEndian.AppendUint16(nil, uint16(math.Float32bits(-2.5)>>16))
	if got, _ := decodeFloat(gguf.TypeBF16, bf, 1); got[0] != -2.5 {
		t.Fatalf("bf16 = %v", got[0])
	}
	if _, err := decodeFloat(gguf.TypeQ6_K, make([]byte, 210), 256); err == nil {
		t.Fatal("q6_k decoded")
	}
}

// TestQuantQ8_0: ggml's Q8_0 activations: 32-value blocks with an f16 step.
func TestQuantQ8_0(t *testing.T) {
	x := make([]float64, 64)
	for i := range x {
		x[i] = float64(i%32) - 10
	}
	x[40] = 100
	q := quantQ8_0(x)
	d0 := float64(float16.Fromfloat32(21.0 / 127).Float32())
	if want := math.Round(1*127/21.0) * d0; q[11] != want {
		t.Fatalf("q[11] = %v, want %v", q[11], want)
	}
	if d1 := float64(float16.Fromfloat32(100.0 / 127).Float32()); q[40] != 127*d1 || q[33] != math.Round(-9*127/100.0)*d1 {
		t.Fatalf("second block: %v %v", q[40], q[33])
	}
}
