package convert

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ollama/ollama/ml/backend/ggml"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/synth"
	"github.com/bitnet-desktop/bitnet-desktop/engine/ternary"
)

func tiny(t *testing.T, arch string) string {
	t.Helper()
	c, err := synth.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	c.Seed = 21
	if arch != "" {
		c.Arch = arch
	}
	p := filepath.Join(t.TempDir(), "model.gguf")
	if err := synth.WriteFile(p, c); err != nil {
		t.Fatal(err)
	}
	return p
}

func tensorBytes(t *testing.T, path string, f *gguf.File, name string) (gguf.TensorInfo, []byte) {
	t.Helper()
	ti, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("%s: no tensor %s", path, name)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off, size := f.DataRange(ti)
	return ti, raw[off : off+size]
}

// TestEveryTernaryCodeSurvives converts with each weight type and checks,
// tensor by tensor, that every ternary value and the scale come through.
func TestEveryTernaryCodeSurvives(t *testing.T) {
	for _, arch := range []string{gguf.ArchBitNet, gguf.ArchBitNet25} {
		src := tiny(t, arch)
		sf, err := gguf.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"tq2_0", "q2_k", "tq1_0"} {
			t.Run(arch+"/"+w, func(t *testing.T) {
				dst := filepath.Join(t.TempDir(), "out.gguf")
				if err := File(context.Background(), src, dst, Options{Weights: w, Embedding: "q6_k"}); err != nil {
					t.Fatal(err)
				}
				df, err := gguf.Open(dst)
				if err != nil {
					t.Fatal(err)
				}
				spec, err := gguf.CheckModel(df)
				if err != nil {
					t.Fatal(err)
				}
				if !spec.Converted || spec.Embedding != gguf.TypeQ6_K {
					t.Fatalf("spec %+v", spec)
				}
				checked := 0
				for _, st := range sf.Tensors {
					if st.Type != gguf.TypeI2_S {
						continue
					}
					_, sraw := tensorBytes(t, src, sf, st.Name)
					n := int(st.Elements())
					want := make([]int8, n)
					ternary.DecodeI2S(want, sraw[:n/4])
					scale, _ := ternary.I2SScale(sraw, n)
					dt, draw := tensorBytes(t, dst, df, st.Name)
					var got []int8
					var scales []float32
					switch dt.Type {
					case gguf.TypeTQ2_0:
						got, scales = ternary.DecodeTQ2_0(draw)
					default:
						got, scales = decodeViaGGML(t, dt, draw)
					}
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("%s: element %d is %d, want %d", st.Name, i, got[i], want[i])
						}
					}
					for _, s := range scales {
						if s != ternary.RoundScale(scale) && s != 0 {
							t.Fatalf("%s: block scale %v, want %v", st.Name, s, ternary.RoundScale(scale))
						}
					}
					checked++
				}
				if checked != 7*spec.Blocks {
					t.Errorf("checked %d ternary tensors", checked)
				}
				// Norms are copied byte for byte.
				_, a := tensorBytes(t, src, sf, "blk.1.ffn_sub_norm.weight")
				_, b := tensorBytes(t, dst, df, "blk.1.ffn_sub_norm.weight")
				if !bytes.Equal(a, b) {
					t.Error("norm weights changed")
				}
			})
		}
	}
}

// decodeViaGGML dequantizes with ggml's own code (Q2_K; TQ1_0 by value
// ratios) and turns the values back into ternary codes and scales.
func decodeViaGGML(t *testing.T, ti gguf.TensorInfo, raw []byte) ([]int8, []float32) {
	t.Helper()
	var f []float32
	if ti.Type == gguf.TypeQ2_K {
		f = ggml.ConvertToF32(raw, uint32(ti.Type), ti.Elements())
	} else {
		f = dequantTQ1_0(raw, int(ti.Elements()))
	}
	vals := make([]int8, len(f))
	scales := make([]float32, len(f)/256)
	for b := range scales {
		for _, v := range f[b*256 : (b+1)*256] {
			if v != 0 {
				scales[b] = max(scales[b], abs(v))
			}
		}
		for i := b * 256; i < (b+1)*256; i++ {
			switch {
			case f[i] > 0:
				vals[i] = 1
			case f[i] < 0:
				vals[i] = -1
			}
			if f[i] != 0 && abs(f[i]) != scales[b] {
				t.Fatalf("value %v is not ± the block scale %v", f[i], scales[b])
			}
		}
	}
	return vals, scales
}

func abs(f float32) float32 {
	if f < 0 {
		return -f
	}
	return f
}

// dequantTQ1_0 mirrors ggml's dequantize_row_tq1_0.
func dequantTQ1_0(raw []byte, n int) []float32 {
	pow3 := [6]uint16{1, 3, 9, 27, 81, 243}
	out := make([]float32, 0, n)
	for b := 0; b < n/256; b++ {
		blk := raw[b*54 : (b+1)*54]
		qs, qh := blk[:48], blk[48:52]
		d := f16(uint16(blk[52]) | uint16(blk[53])<<8)
		tern := func(q byte, k int) float32 {
			x := uint16(uint8(uint16(q) * pow3[k]))
			return float32(int16((x*3)>>8)-1) * d
		}
		for n := 0; n < 5; n++ {
			for m := 0; m < 32; m++ {
				out = append(out, tern(qs[m], n))
			}
		}
		for n := 0; n < 5; n++ {
			for m := 0; m < 16; m++ {
				out = append(out, tern(qs[32+m], n))
			}
		}
		for n := 0; n < 4; n++ {
			for j := 0; j < 4; j++ {
				out = append(out, tern(qh[j], n))
			}
		}
	}
	return out
}

func f16(h uint16) float32 {
	return ggml.ConvertToF32([]byte{byte(h), byte(h >> 8)}, uint32(gguf.TypeF16), 1)[0]
}

func TestEnsureCachesOnce(t *testing.T) {
	src := tiny(t, "")
	dir := t.TempDir()
	calls := 0
	opts := Options{Progress: func(float64) { calls++ }}
	p1, err := Ensure(context.Background(), src, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Error("no progress reported")
	}
	st1, _ := os.Stat(p1)
	calls = 0
	p2, err := Ensure(context.Background(), src, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(p2)
	if p1 != p2 || calls != 0 || !st1.ModTime().Equal(st2.ModTime()) {
		t.Errorf("second Ensure converted again (%s, %s, %d progress calls)", p1, p2, calls)
	}
	// A converted file is used as it is.
	if p3, err := Ensure(context.Background(), p1, dir, opts); err != nil || p3 != p1 {
		t.Errorf("Ensure(converted) = %s, %v", p3, err)
	}
	// Another embedding type is another cache entry.
	p4, err := Ensure(context.Background(), src, dir, Options{Embedding: "q8_0"})
	if err != nil || p4 == p1 {
		t.Errorf("q8_0: %s, %v", p4, err)
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".tmp" {
			t.Errorf("left %s", e.Name())
		}
	}
}

func TestConvertErrors(t *testing.T) {
	src := tiny(t, "")
	ctx := context.Background()
	cases := []struct {
		name string
		run  func() error
		code string
	}{
		{"bad embedding type", func() error { return File(ctx, src, filepath.Join(t.TempDir(), "x"), Options{Embedding: "q3_k"}) }, engine.CodeInvalidRequest},
		{"bad weight type", func() error { return File(ctx, src, filepath.Join(t.TempDir(), "x"), Options{Weights: "f16"}) }, engine.CodeInvalidRequest},
		{"not a model", func() error {
			p := filepath.Join(t.TempDir(), "x.gguf")
			os.WriteFile(p, []byte("hello world, not a gguf"), 0o644)
			return File(ctx, p, p+".out", Options{})
		}, engine.CodeInvalidModel},
		{"missing folder", func() error { return File(ctx, src, "/nonexistent/dir/out.gguf", Options{}) }, engine.CodeIO},
		{"cancelled", func() error {
			c, cancel := context.WithCancel(ctx)
			cancel()
			return File(c, src, filepath.Join(t.TempDir(), "x.gguf"), Options{})
		}, engine.CodeCancelled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			var ee *engine.Error
			if !errors.As(err, &ee) || ee.Code != tc.code {
				t.Errorf("got %v, want code %s", err, tc.code)
			}
		})
	}
}
