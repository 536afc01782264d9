package sample

import (
	"math"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

func TestSampleMasked(t *testing.T) {
	logits := []float32{5, 1, 3, 2}
	mask := []uint64{0b1010} // tokens 1 and 3
	s := New(engine.Sampling{Temperature: 0})
	if id, err := s.SampleMasked(logits, nil, mask); err != nil || id != 3 {
		t.Errorf("greedy masked: %d %v, want 3", id, err)
	}
	seed := int64(1)
	s = New(engine.Sampling{Temperature: 1, Seed: &seed})
	for range 200 {
		id, err := s.SampleMasked(logits, nil, mask)
		if err != nil || (id != 1 && id != 3) {
			t.Fatalf("sampled %d %v outside the mask", id, err)
		}
	}
}

func TestLogprobs(t *testing.T) {
	logits := []float32{2, 1, 0, -1}
	s := New(engine.Sampling{Temperature: 0.5})
	lp, top, err := s.Logprobs(logits, nil, nil, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	// softmax of logits / 0.5
	var z float64
	for _, v := range logits {
		z += math.Exp(float64(v) / 0.5)
	}
	want := func(i int) float64 { return float64(logits[i])/0.5 - math.Log(z) }
	if math.Abs(lp-want(1)) > 1e-9 {
		t.Errorf("logprob %v, want %v", lp, want(1))
	}
	if len(top) != 3 || top[0].ID != 0 || top[1].ID != 1 || top[2].ID != 2 || math.Abs(top[0].Logprob-want(0)) > 1e-9 {
		t.Errorf("top %+v", top)
	}
	// Over a mask: renormalised over tokens 1 and 2; refused tokens -Inf.
	lp, top, _ = s.Logprobs(logits, nil, []uint64{0b0110}, 1, 5)
	z2 := math.Exp(1/0.5) + math.Exp(0)
	if math.Abs(lp-(1/0.5-math.Log(z2))) > 1e-9 || len(top) != 2 {
		t.Errorf("masked: %v %+v", lp, top)
	}
	if lp, _, _ := s.Logprobs(logits, nil, []uint64{0b0110}, 0, 0); !math.IsInf(lp, -1) {
		t.Errorf("refused token logprob %v", lp)
	}
	// Greedy reports the temperature-1 distribution.
	g := New(engine.Sampling{Temperature: 0})
	lp, _, _ = g.Logprobs(logits, nil, nil, 0, 0)
	var z1 float64
	for _, v := range logits {
		z1 += math.Exp(float64(v))
	}
	if math.Abs(lp-(2-math.Log(z1))) > 1e-9 {
		t.Errorf("greedy logprob %v", lp)
	}
}
