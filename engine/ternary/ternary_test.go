package ternary

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml/backend/ggml"
	"github.com/x448/float16"
)

func randVals(rng *rand.Rand, n int, zeroBlocks bool) []int8 {
	v := make([]int8, n)
	for i := range v {
		v[i] = int8(rng.IntN(3)) - 1
	}
	if zeroBlocks && n >= 512 {
		clear(v[256:512])
	}
	return v
}

// TestTQ1_0ToTQ2_0: ggml's own TQ1_0 quantizer packs values; the decoder
// gets every value and scale back.
func TestTQ1_0ToTQ2_0(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rows := range []int{1, 3} {
		k := 512
		vals := randVals(rng, rows*k, true)
		f := make([]float32, len(vals))
		for i, v := range vals {
			f[i] = float32(v) * 0.75
		}
		tq1 := ggml.Quantize(fsggml.TensorType(34), f, []uint64{uint64(k), uint64(rows)})
		if len(tq1) != len(vals)/256*TQ1_0BlockBytes {
			t.Fatalf("tq1_0 size %d", len(tq1))
		}
		tq2 := make([]byte, len(vals)/256*TQ2_0BlockBytes)
		TQ1_0ToTQ2_0(tq2, tq1)
		got, scales := DecodeTQ2_0(tq2)
		if !slices.Equal(got, vals) {
			t.Fatalf("values differ")
		}
		// ggml's quantizer writes each block's absmax as its scale (0 for
		// an all-zero block).
		for b, sc := range scales {
			want := float32(0.75)
			if !slices.ContainsFunc(vals[b*256:(b+1)*256], func(v int8) bool { return v != 0 }) {
				want = 0
			}
			if sc != want {
				t.Errorf("block %d: scale %v, want %v", b, sc, want)
			}
		}
	}
}

func TestUnifyTQ2_0Scales(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	vals := randVals(rng, 1024, true)
	data := make([]byte, 4*TQ2_0BlockBytes)
	EncodeTQ2_0(data, vals, F16(0.5))
	binary.LittleEndian.PutUint16(data[TQ2_0BlockBytes+64:], 0) // the zero block, as llama.cpp writes it
	if !UnifyTQ2_0Scales(data) {
		t.Fatal("one scale plus a zero block: not unified")
	}
	got, scales := DecodeTQ2_0(data)
	if !slices.Equal(got, vals) || slices.ContainsFunc(scales, func(s float32) bool { return s != 0.5 }) {
		t.Errorf("scales %v", scales)
	}
	binary.LittleEndian.PutUint16(data[2*TQ2_0BlockBytes+64:], F16(0.25))
	if UnifyTQ2_0Scales(data) {
		t.Error("two scales reported as one")
	}
}

func TestToQ8_0(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	vals := randVals(rng, 8640, false)
	d := F16(0.3)
	q := make([]byte, len(vals)/32*Q8_0BlockBytes)
	ToQ8_0(q, vals, d)
	deq := ggml.ConvertToF32(q, uint32(fsggml.TensorTypeQ8_0), uint64(len(vals)))
	s := float16.Frombits(d).Float32()
	for i, v := range vals {
		if deq[i] != float32(v)*s {
			t.Fatalf("element %d: %v, want %v", i, deq[i], float32(v)*s)
		}
	}
}

// TestEncodeTQ1_0: the Go encoder writes the bytes ggml's quantizer writes.
func TestEncodeTQ1_0(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	vals := randVals(rng, 1024, true)
	f := make([]float32, len(vals))
	for i, v := range vals {
		f[i] = float32(v) * 0.75
	}
	want := ggml.Quantize(fsggml.TensorType(34), f, []uint64{1024, 1})
	d := make([]uint16, 4)
	for b := range d {
		if slices.ContainsFunc(vals[b*256:(b+1)*256], func(v int8) bool { return v != 0 }) {
			d[b] = F16(0.75)
		}
	}
	got := make([]byte, len(want))
	EncodeTQ1_0(got, vals, d)
	if !slices.Equal(got, want) {
		t.Fatalf("TQ1_0 bytes differ from ggml's")
	}
}
