package sample

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

func seed(v int64) *int64 { return &v }

// randomLogits returns n logits roughly shaped like a language model's.
func randomLogits(n int, s uint64) []float32 {
	r := rand.New(rand.NewPCG(s, s))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64() * 3)
	}
	return out
}

func argmaxRef(l []float32) int32 {
	best := 0
	for i := range l {
		if l[i] > l[best] {
			best = i
		}
	}
	return int32(best)
}

func TestGreedyEqualsArgmax(t *testing.T) {
	tests := []struct {
		name   string
		logits []float32
		want   int32
	}{
		{"single", []float32{0.5}, 0},
		{"middle", []float32{-1, 3, 2}, 1},
		{"last", []float32{-1, -2, 7}, 2},
		{"tie lowest id", []float32{1, 5, 5, 5}, 1},
		{"all negative", []float32{-9, -3, -4}, 1},
	}
	for _, temp := range []float32{0, 1e-7, -1} {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for _, sd := range []*int64{nil, seed(1), seed(2)} {
					s := New(engine.Sampling{Temperature: temp, TopK: 40, TopP: 0.9, MinP: 0.1, Seed: sd})
					got, err := s.Sample(tt.logits, nil)
					if err != nil {
						t.Fatal(err)
					}
					if got != tt.want {
						t.Fatalf("temp %v: got %d, want %d", temp, got, tt.want)
					}
				}
			})
		}
	}
	big := randomLogits(128256, 7)
	s := New(engine.Sampling{Temperature: 0})
	got, err := s.Sample(big, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := argmaxRef(big); got != want {
		t.Fatalf("128k greedy: got %d, want %d", got, want)
	}
}

func draws(t *testing.T, opts engine.Sampling, logits []float32, n int) []int32 {
	t.Helper()
	s := New(opts)
	out := make([]int32, n)
	for i := range out {
		id, err := s.Sample(logits, nil)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = id
	}
	return out
}

func TestSeedDeterminism(t *testing.T) {
	logits := randomLogits(1000, 3)
	for _, opts := range []engine.Sampling{
		engine.DefaultSampling(),
		{Temperature: 1.5},                     // every token, no filter
		{Temperature: 1, TopP: 0.9},            // top-p alone
		{Temperature: 1, MinP: 0.01, TopP: .5}, // min-p then top-p
	} {
		opts.Seed = seed(42)
		a := draws(t, opts, logits, 100)
		b := draws(t, opts, logits, 100)
		if !slices.Equal(a, b) {
			t.Fatalf("%+v: same seed gave different sequences", opts)
		}
		opts.Seed = seed(43)
		c := draws(t, opts, logits, 100)
		if slices.Equal(a, c) {
			t.Fatalf("%+v: seeds 42 and 43 gave the same 100 tokens", opts)
		}
		opts.Seed = nil
		d := draws(t, opts, logits, 100)
		e := draws(t, opts, logits, 100)
		if slices.Equal(d, e) {
			t.Fatalf("%+v: two random seeds gave the same 100 tokens", opts)
		}
	}
}

func TestFiltersThatReduceToGreedy(t *testing.T) {
	for i, logits := range [][]float32{
		randomLogits(128256, 11),
		randomLogits(50, 12),
		{2, 2, 1}, // tie: both filters must pick the lowest id, like greedy
	} {
		want := argmaxRef(logits)
		for _, opts := range []engine.Sampling{
			{Temperature: 1, TopK: 1},
			{Temperature: 5, TopK: 1, TopP: 0.99, MinP: 0.01},
			{Temperature: 1, TopP: 1e-9},
			{Temperature: 1, TopK: 40, TopP: 1e-9},
			{Temperature: 1, MinP: 0.01, TopP: 1e-9},
			{Temperature: 1, MinP: 2}, // min-p above 1 keeps only the best
		} {
			seeds := int64(20)
			if len(logits) > 1000 {
				seeds = 2 // each draw exponentiates 128k logits; slow under -race
			}
			for sd := range seeds {
				opts.Seed = seed(sd)
				got := draws(t, opts, logits, 1)[0]
				if got != want {
					t.Fatalf("case %d %+v: got %d, want argmax %d", i, opts, got, want)
				}
			}
		}
	}
}

func TestMinP(t *testing.T) {
	// Probabilities (T=1) proportional to 1, 0.5, 0.2, 0.04, 0.01.
	logits := []float32{0, float32(math.Log(0.5)), float32(math.Log(0.2)), float32(math.Log(0.04)), float32(math.Log(0.01))}
	tests := []struct {
		minP float32
		want []int32 // the tokens that may appear
	}{
		{0.3, []int32{0, 1}},
		{0.1, []int32{0, 1, 2}},
		{0.03, []int32{0, 1, 2, 3}},
		{0, []int32{0, 1, 2, 3, 4}},
	}
	for _, tt := range tests {
		got := draws(t, engine.Sampling{Temperature: 1, MinP: tt.minP, Seed: seed(5)}, logits, 5000)
		seen := map[int32]bool{}
		for _, id := range got {
			seen[id] = true
		}
		for id := range int32(len(logits)) {
			if seen[id] != slices.Contains(tt.want, id) {
				t.Errorf("min_p %v: token %d seen=%v, allowed %v", tt.minP, id, seen[id], tt.want)
			}
		}
	}
}

func TestTopP(t *testing.T) {
	// Normalised probabilities 0.5, 0.3, 0.15, 0.05.
	logits := []float32{float32(math.Log(0.5)), float32(math.Log(0.3)), float32(math.Log(0.15)), float32(math.Log(0.05))}
	tests := []struct {
		topP float32
		n    int // how many of the best tokens may appear
	}{
		{0.4, 1},
		{0.5, 1},
		{0.6, 2},
		{0.9, 3},
		{0.97, 4},
	}
	for _, tt := range tests {
		for _, topK := range []int{0, 3, 10} {
			got := draws(t, engine.Sampling{Temperature: 1, TopP: tt.topP, TopK: topK, Seed: seed(9)}, logits, 4000)
			maxID := slices.Max(got)
			want := int32(tt.n - 1)
			if topK > 0 && topK < tt.n {
				want = int32(topK - 1)
			}
			if maxID != want {
				t.Errorf("top_p %v top_k %d: highest token drawn %d, want %d", tt.topP, topK, maxID, want)
			}
		}
	}
}

func TestTopPLargeVocabularyFallback(t *testing.T) {
	// A flat distribution over 128k tokens: the 1024-token probe cannot reach
	// top_p, so the full sort runs; the result must equal the probe-free path.
	logits := make([]float32, 128256)
	for i := range logits {
		logits[i] = float32(i%7) * 0.01
	}
	s := New(engine.Sampling{Temperature: 1, TopP: 0.5, Seed: seed(1)})
	for range 5 {
		id, err := s.Sample(logits, nil)
		if err != nil {
			t.Fatal(err)
		}
		if id < 0 || int(id) >= len(logits) {
			t.Fatalf("token %d out of range", id)
		}
		// Top half of the probability mass lies in the higher residues.
		if id%7 < 3 {
			t.Fatalf("token %d (residue %d) is outside the top-p set", id, id%7)
		}
	}
}

// TestTopPProbes checks the top-p set on a large vocabulary against a
// brute-force reference, for distributions that the 1024 probe, the 16384
// probe and only the full sort can serve, alone and after top-k or min-p.
func TestTopPProbes(t *testing.T) {
	for _, tt := range []struct {
		name  string
		scale float32
		opts  engine.Sampling
	}{
		{"peaky", 4, engine.Sampling{Temperature: 0.8, TopP: 0.9}},
		{"medium", 1, engine.Sampling{Temperature: 0.8, TopP: 0.9}},
		{"wide", 0.6, engine.Sampling{Temperature: 0.8, TopP: 0.9}},
		{"flat", 0.1, engine.Sampling{Temperature: 0.8, TopP: 0.9}},
		{"medium top-k", 1, engine.Sampling{Temperature: 0.8, TopP: 0.5, TopK: 200}},
		{"medium min-p", 1, engine.Sampling{Temperature: 0.8, TopP: 0.9, MinP: 0.001}},
		{"flat min-p", 0.1, engine.Sampling{Temperature: 0.8, TopP: 0.5, MinP: 0.3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logits := randomLogits(40000, 5) // > 2*16384: every probe runs
			for i := range logits {
				logits[i] *= tt.scale
			}
			want := referenceSet(logits, tt.opts)
			got, err := New(tt.opts).candidates(logits, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]int32, len(got))
			for i, c := range got {
				ids[i] = c.id
			}
			slices.Sort(ids)
			if !slices.Equal(ids, want) {
				t.Fatalf("candidate set has %d tokens, reference %d", len(ids), len(want))
			}
			t.Logf("%d candidates", len(ids))
		})
	}
}

// referenceSet is the sampler chain written plainly: full sort, top-k,
// softmax, top-p, then min-p on the renormalised top-p set.
func referenceSet(logits []float32, o engine.Sampling) []int32 {
	ids := make([]int32, len(logits))
	for i := range ids {
		ids[i] = int32(i)
	}
	slices.SortStableFunc(ids, func(a, b int32) int {
		switch {
		case logits[a] > logits[b]:
			return -1
		case logits[a] < logits[b]:
			return 1
		}
		return 0
	})
	if o.TopK > 0 && o.TopK < len(ids) {
		ids = ids[:o.TopK]
	}
	p := make([]float64, len(ids))
	var sum float64
	for i, id := range ids {
		p[i] = math.Exp(float64(logits[id]-logits[ids[0]]) / float64(o.Temperature))
		sum += p[i]
	}
	if o.TopP > 0 && o.TopP < 1 {
		var cum float64
		for i := range ids {
			if cum += p[i] / sum; cum >= float64(o.TopP) {
				ids, p = ids[:i+1], p[:i+1]
				break
			}
		}
	}
	if o.MinP > 0 {
		n := 0
		for n < len(ids) && p[n] >= float64(o.MinP)*p[0] {
			n++
		}
		ids = ids[:max(n, 1)]
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func TestRepeatPenalty(t *testing.T) {
	tests := []struct {
		name    string
		opts    engine.Sampling
		logits  []float32
		history []int32
		want    int32
	}{
		{"off", engine.Sampling{RepeatPenalty: 1}, []float32{1, 3, 2.5}, []int32{1, 1}, 1},
		{"positive divided", engine.Sampling{RepeatPenalty: 1.5}, []float32{1, 3, 2.5}, []int32{1}, 2},
		{"negative multiplied", engine.Sampling{RepeatPenalty: 2}, []float32{-1.5, -1, -3}, []int32{1}, 0},
		{"outside window", engine.Sampling{RepeatPenalty: 1.5, RepeatLastN: 2}, []float32{1, 3, 2.5}, []int32{1, 0, 0}, 1},
		{"inside window", engine.Sampling{RepeatPenalty: 1.5, RepeatLastN: 3}, []float32{1, 3, 2.5}, []int32{1, 0, 0}, 2},
		{"default window 64", engine.Sampling{RepeatPenalty: 1.5}, []float32{1, 3, 2.5}, append([]int32{1}, make([]int32, 64)...), 1},
		{"whole history", engine.Sampling{RepeatPenalty: 1.5, RepeatLastN: -1}, []float32{1, 3, 2.5}, append([]int32{1}, make([]int32, 64)...), 2},
		{"presence", engine.Sampling{PresencePenalty: 0.6}, []float32{1, 3, 2.5}, []int32{1, 1, 1}, 2},
		{"frequency", engine.Sampling{FrequencyPenalty: 0.2}, []float32{1, 3, 2.5}, []int32{1, 1}, 1},
		{"frequency counts", engine.Sampling{FrequencyPenalty: 0.2}, []float32{1, 3, 2.5}, []int32{1, 1, 1}, 2},
		{"repeat then presence", engine.Sampling{RepeatPenalty: 1.1, PresencePenalty: 0.3}, []float32{0, 3, 2.5}, []int32{1}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := slices.Clone(tt.logits)
			got, err := New(tt.opts).Sample(tt.logits, tt.history)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %d, want %d", got, tt.want)
			}
			if !slices.Equal(orig, tt.logits) {
				t.Fatalf("logits modified: %v -> %v", orig, tt.logits)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	tests := []struct {
		name    string
		opts    engine.Sampling
		logits  []float32
		history []int32
		want    string
	}{
		{"empty", engine.Sampling{}, nil, nil, "empty logits"},
		{"nan greedy", engine.Sampling{}, []float32{0, nan}, nil, "logit 1"},
		{"nan sampling", engine.DefaultSampling(), []float32{nan, 0}, nil, "logit 0"},
		{"+inf", engine.DefaultSampling(), []float32{0, 1, inf}, nil, "logit 2"},
		{"-inf", engine.Sampling{}, []float32{-inf, 1}, nil, "logit 0"},
		{"nan in unrolled body", engine.Sampling{}, []float32{0, 1, 2, 3, 4, nan, 6, 7, 8}, nil, "logit 5 of 9"},
		{"-inf in tail", engine.Sampling{}, []float32{0, 1, 2, 3, 4, 5, 6, 7, -inf}, nil, "logit 8 of 9"},
		{"history out of range", engine.Sampling{RepeatPenalty: 1.1}, []float32{0, 1}, []int32{0, 2}, "history token 2"},
		{"history negative", engine.Sampling{PresencePenalty: 1}, []float32{0, 1}, []int32{-1}, "history token -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts).Sample(tt.logits, tt.history)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	// Without penalties, history is not read at all.
	if _, err := New(engine.Sampling{}).Sample([]float32{0, 1}, []int32{99}); err != nil {
		t.Fatalf("history read without penalties: %v", err)
	}
}

// TestDistribution draws 20000 tokens from a known 4-token distribution and
// checks Pearson's chi-square against the 99.9% quantile for 3 degrees of
// freedom (16.27).
func TestDistribution(t *testing.T) {
	probs := []float64{0.1, 0.2, 0.3, 0.4}
	tests := []struct {
		name  string
		opts  engine.Sampling
		scale float64 // logits are log(p)/scale, so temperature 1/scale restores p
	}{
		{"T=1", engine.Sampling{Temperature: 1}, 1},
		{"T=0.5", engine.Sampling{Temperature: 0.5}, 2},
		{"T=2 top-k 4", engine.Sampling{Temperature: 2, TopK: 4}, 0.5},
		{"top-p 1 and min-p small", engine.Sampling{Temperature: 1, TopP: 1, MinP: 0.2}, 1},
	}
	const n = 20000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logits := make([]float32, len(probs))
			for i, p := range probs {
				logits[i] = float32(math.Log(p) / tt.scale)
			}
			tt.opts.Seed = seed(2024)
			counts := make([]int, len(probs))
			for _, id := range draws(t, tt.opts, logits, n) {
				counts[id]++
			}
			var chi2 float64
			for i, p := range probs {
				exp := p * n
				d := float64(counts[i]) - exp
				chi2 += d * d / exp
			}
			if chi2 > 16.27 {
				t.Fatalf("chi-square %.2f > 16.27; counts %v", chi2, counts)
			}
		})
	}
}

func TestTopKSelection(t *testing.T) {
	logits := randomLogits(5000, 99)
	logits[17], logits[4000] = 50, 50 // a tie at the top
	for _, k := range []int{1, 2, 3, 40, 4999} {
		got := selectTopLogits(nil, logits, k)
		ref := make([]cand, len(logits))
		for i, v := range logits {
			ref[i] = cand{id: int32(i), logit: v}
		}
		slices.SortFunc(ref, compareBetterFirst)
		for i := range got {
			if got[i].id != ref[i].id {
				t.Fatalf("k=%d: position %d is %d, want %d", k, i, got[i].id, ref[i].id)
			}
		}
		probe := selectTopCands(nil, ref[len(ref)/2:], min(k, len(ref)/2))
		for i := range probe {
			if probe[i].id != ref[len(ref)/2+i].id {
				t.Fatalf("k=%d: probe position %d is %d, want %d", k, i, probe[i].id, ref[len(ref)/2+i].id)
			}
		}
	}
}

func BenchmarkSample128k(b *testing.B) {
	logits := randomLogits(128256, 1)
	history := make([]int32, 512)
	for i := range history {
		history[i] = int32(i * 37 % len(logits))
	}
	benches := []struct {
		name string
		opts engine.Sampling
	}{
		{"defaults", engine.DefaultSampling()},
		{"defaults+repeat1.1", func() engine.Sampling { o := engine.DefaultSampling(); o.RepeatPenalty = 1.1; return o }()},
		{"greedy", engine.Sampling{}},
		{"topk0_topp0.95", engine.Sampling{Temperature: 0.8, TopP: 0.95}},
		{"topk0_minp0.05_topp0.95", engine.Sampling{Temperature: 0.8, TopP: 0.95, MinP: 0.05}},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			bb.opts.Seed = seed(1)
			s := New(bb.opts)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Sample(logits, history); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
