// Package sample chooses the next token from a row of logits.
//
// The semantics follow llama.cpp's sampler chain as used by bitnet.cpp:
//
//  1. penalties over the last RepeatLastN tokens of the history: the repeat
//     penalty (a positive logit is divided by it, a negative one multiplied),
//     then the OpenAI presence and frequency penalties
//     (logit -= presence*[count>0] + frequency*count);
//  2. temperature 0 (anything <= 1e-6) is greedy: the highest logit wins,
//     ties go to the lowest id, and the seed plays no part;
//  3. otherwise top-k (0 = off), softmax with the temperature, top-p
//     (0 or >= 1 = off: the smallest set of most likely tokens whose
//     cumulative probability is >= p, at least one), min-p (drop tokens whose
//     probability is below min_p times the largest), renormalise and draw.
//
// Cost for a 128256-token vocabulary: with top-k on, one pass over the
// logits feeds a k-sized heap (O(n log k) worst case, close to O(n) in
// practice) and only the k survivors are exponentiated and sorted. With top-k
// off every logit is exponentiated; min-p is then applied first (it is a
// threshold and needs no sort, and it commutes with top-p because both keep a
// prefix of the tokens ranked by probability), and top-p sorts only what is
// left. With top-k and min-p both off, top-p first tries the 1024, then the
// 16384 most likely tokens and sorts the whole vocabulary (about 25 ms for
// 128k tokens, on top of about 2 ms of exponentials) only when they do not
// reach p; flat distributions over thousands of tokens take 5 to 10 ms.
package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// DefaultRepeatLastN is the penalty window used when Sampling.RepeatLastN is 0.
const DefaultRepeatLastN = 64

// greedyTemperature is the temperature at or below which sampling is greedy.
const greedyTemperature = 1e-6

// Top-p probes: how many of the most likely tokens top-p looks at, in turn,
// before it falls back to a full sort (only when top-k and min-p are off).
// Selecting them costs a pass over the candidates and a heap; sorting 128k
// candidates costs several times more.
const (
	topPProbeSmall = 1024
	topPProbeLarge = 16384
)

// Sampler picks tokens according to an engine.Sampling. It keeps scratch
// buffers between calls, so it is not safe for concurrent use: use one
// Sampler per generation.
type Sampler struct {
	opts engine.Sampling
	rng  *rand.Rand

	penalized []float32 // copy of the logits when a penalty applies
	cands     []cand
	probe     []cand
	keys      []uint64
	counts    map[int32]int
	maskBuf   []float32
}

// cand is a candidate token. p is its unnormalised probability
// exp((logit-max)/T) once the softmax has run.
type cand struct {
	id    int32
	logit float32
	p     float64
}

// New returns a Sampler for opts. The random source is a PCG seeded from
// opts.Seed, or from a random seed when opts.Seed is nil, so the same seed and
// the same logits give the same tokens.
func New(opts engine.Sampling) *Sampler {
	var seed uint64
	if opts.Seed != nil {
		seed = uint64(*opts.Seed)
	} else {
		seed = rand.Uint64()
	}
	return &Sampler{
		opts:   opts,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		counts: make(map[int32]int),
	}
}

// Sample returns the next token for one row of logits (one per vocabulary
// entry). history is the previous tokens, prompt and generated, oldest first;
// only its last RepeatLastN entries are read, and only when a penalty is set.
// logits is not modified. Sample fails on empty logits, on a NaN or infinite
// logit and on a history token outside the vocabulary.
func (s *Sampler) Sample(logits []float32, history []int32) (int32, error) {
	cands, err := s.candidates(logits, history)
	if err != nil {
		return 0, err
	}
	if len(cands) == 1 {
		return cands[0].id, nil
	}
	var total float64
	for _, c := range cands {
		total += c.p
	}
	r := s.rng.Float64() * total
	for _, c := range cands {
		r -= c.p
		if r < 0 {
			return c.id, nil
		}
	}
	return cands[len(cands)-1].id, nil // rounding
}

// candidates returns the tokens the draw chooses from, with their
// unnormalised probabilities: every step of the chain but the draw. Greedy
// sampling gives one candidate.
func (s *Sampler) candidates(logits []float32, history []int32) ([]cand, error) {
	if len(logits) == 0 {
		return nil, fmt.Errorf("sample: empty logits")
	}
	if !allFinite(logits) {
		for i, v := range logits {
			if v-v != 0 {
				return nil, fmt.Errorf("sample: logit %d of %d is %v", i, len(logits), v)
			}
		}
	}

	logits, err := s.applyPenalties(logits, history)
	if err != nil {
		return nil, err
	}

	temp := float64(s.opts.Temperature)
	if !(temp > greedyTemperature) { // also catches NaN
		id := argmax(logits)
		s.cands = append(s.cands[:0], cand{id: id, logit: logits[id], p: 1})
		return s.cands, nil
	}

	// Top-k, or every token.
	sorted := false
	if k := s.opts.TopK; k > 0 && k < len(logits) {
		s.cands = selectTopLogits(s.cands[:0], logits, k)
		sorted = true
	} else {
		s.cands = s.cands[:0]
		for i, v := range logits {
			s.cands = append(s.cands, cand{id: int32(i), logit: v})
		}
	}
	cands := s.cands

	// Softmax with temperature (unnormalised; sum is the normaliser).
	maxLogit := cands[0].logit
	if !sorted {
		for _, c := range cands[1:] {
			maxLogit = max(maxLogit, c.logit)
		}
	}
	var sum float64
	for i := range cands {
		p := math.Exp(float64(cands[i].logit-maxLogit) / temp)
		cands[i].p = p
		sum += p
	}

	// Min-p: the largest unnormalised probability is exp(0) = 1.
	if minP := float64(s.opts.MinP); minP > 0 {
		kept := cands[:0]
		for _, c := range cands {
			if c.p >= minP {
				kept = append(kept, c)
			}
		}
		if len(kept) == 0 { // min_p > 1: keep the most likely token
			best := cands[0]
			for _, c := range cands[1:] {
				if better(c, best) {
					best = c
				}
			}
			kept = append(kept, best)
		}
		cands = kept
	}

	// Top-p over the probabilities normalised before min-p, which gives the
	// same set as running top-p first and min-p second.
	if topP := float64(s.opts.TopP); topP > 0 && topP < 1 && len(cands) > 1 {
		if !sorted {
			cands = s.sortForTopP(cands, topP*sum)
		}
		target := topP * sum
		var cum float64
		n := len(cands)
		for i, c := range cands {
			cum += c.p
			if cum >= target {
				n = i + 1
				break
			}
		}
		cands = cands[:n]
	}
	return cands, nil
}

// applyPenalties returns logits with the repeat, presence and frequency
// penalties applied to a copy, or logits itself when none is set.
func (s *Sampler) applyPenalties(logits []float32, history []int32) ([]float32, error) {
	rp := s.opts.RepeatPenalty
	repeat := rp > 0 && rp != 1
	presence, frequency := s.opts.PresencePenalty, s.opts.FrequencyPenalty
	if !repeat && presence == 0 && frequency == 0 {
		return logits, nil
	}
	window := history
	switch n := s.opts.RepeatLastN; {
	case n == 0:
		n = DefaultRepeatLastN
		fallthrough
	case n > 0:
		if len(window) > n {
			window = window[len(window)-n:]
		}
	default: // negative: the whole history, as llama.cpp's -1
	}
	if len(window) == 0 {
		return logits, nil
	}

	clear(s.counts)
	for i, id := range window {
		if id < 0 || int(id) >= len(logits) {
			return nil, fmt.Errorf("sample: history token %d (at %d from the end) is outside the vocabulary of %d",
				id, len(window)-i, len(logits))
		}
		s.counts[id]++
	}

	s.penalized = append(s.penalized[:0], logits...)
	out := s.penalized
	for id, count := range s.counts {
		v := out[id]
		if repeat {
			if v > 0 {
				v /= rp
			} else {
				v *= rp
			}
		}
		v -= float32(count)*frequency + presence
		out[id] = v
	}
	return out, nil
}

// sortForTopP returns cands (unsorted) with at least the tokens top-p needs
// first, ranked by probability. When there are many candidates it first
// looks at the topPProbeSmall, then topPProbeLarge most likely ones and sorts
// everything only when their mass is below target.
func (s *Sampler) sortForTopP(cands []cand, target float64) []cand {
	for _, k := range [...]int{topPProbeSmall, topPProbeLarge} {
		if len(cands) <= 2*k {
			break
		}
		s.probe = selectTopCands(s.probe[:0], cands, k)
		var cum float64
		for _, c := range s.probe {
			cum += c.p
		}
		if cum >= target {
			return s.probe
		}
	}
	// Sort packed keys (rank of the logit, then position) rather than the
	// structs: slices.Sort on uint64 is several times faster than SortFunc.
	// Positions follow ids, so ties still go to the lowest id.
	keys := s.keys[:0]
	for i, c := range cands {
		keys = append(keys, uint64(descendingKey(c.logit))<<32|uint64(i))
	}
	slices.Sort(keys)
	s.keys = keys
	out := s.probe[:0]
	for _, k := range keys {
		out = append(out, cands[uint32(k)])
	}
	s.probe = out
	return out
}

// descendingKey maps a finite float to a uint32 whose ascending order is the
// float's descending order.
func descendingKey(f float32) uint32 {
	if f == 0 {
		f = 0 // -0 ranks as +0
	}
	b := math.Float32bits(f)
	if b>>31 == 1 {
		b = ^b
	} else {
		b |= 1 << 31
	}
	return ^b
}

// allFinite reports whether no value is NaN or infinite: v-v is 0 for every
// finite float and NaN otherwise, and NaN survives the sums. Four
// accumulators keep the loop free of branches and dependency chains.
func allFinite(l []float32) bool {
	var a0, a1, a2, a3 float32
	i := 0
	for ; i+4 <= len(l); i += 4 {
		q := l[i : i+4 : i+4]
		a0 += q[0] - q[0]
		a1 += q[1] - q[1]
		a2 += q[2] - q[2]
		a3 += q[3] - q[3]
	}
	for ; i < len(l); i++ {
		a0 += l[i] - l[i]
	}
	return a0+a1+a2+a3 == 0
}

// argmax returns the index of the largest value, the lowest one on ties.
func argmax(logits []float32) int32 {
	best, bestV := 0, logits[0]
	for i, v := range logits {
		if v > bestV {
			best, bestV = i, v
		}
	}
	return int32(best)
}

// better reports whether a ranks before b: higher logit, then lower id.
func better(a, b cand) bool {
	return a.logit > b.logit || (a.logit == b.logit && a.id < b.id)
}

func compareBetterFirst(a, b cand) int {
	switch {
	case better(a, b):
		return -1
	case better(b, a):
		return 1
	}
	return 0
}

// selectTopLogits appends the k best tokens of logits to dst, best first.
// It keeps a min-heap (worst at the root) of the best k seen so far; ids are
// visited in increasing order, so a later token equal to the root is never
// better and ties keep the lower ids.
func selectTopLogits(dst []cand, logits []float32, k int) []cand {
	for i := range k {
		dst = append(dst, cand{id: int32(i), logit: logits[i]})
	}
	heapify(dst)
	for i := k; i < len(logits); i++ {
		if v := logits[i]; v > dst[0].logit {
			dst[0] = cand{id: int32(i), logit: v}
			siftDown(dst, 0)
		}
	}
	slices.SortFunc(dst, compareBetterFirst)
	return dst
}

// selectTopCands is selectTopLogits over candidates in any order.
func selectTopCands(dst []cand, src []cand, k int) []cand {
	dst = append(dst, src[:k]...)
	heapify(dst)
	for _, c := range src[k:] {
		if better(c, dst[0]) {
			dst[0] = c
			siftDown(dst, 0)
		}
	}
	slices.SortFunc(dst, compareBetterFirst)
	return dst
}

// heapify orders h as a min-heap under "better" (the worst at the root).
func heapify(h []cand) {
	for i := len(h)/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
}

func siftDown(h []cand, i int) {
	n := len(h)
	for {
		worst := i
		l, r := 2*i+1, 2*i+2
		if l < n && better(h[worst], h[l]) {
			worst = l
		}
		if r < n && better(h[worst], h[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
}
