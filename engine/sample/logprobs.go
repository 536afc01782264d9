package sample

import "math"

// Masking and log-probabilities: constrained decoding (package grammar)
// and the API's logprobs.

// allowed reports whether bit id of mask is set (a nil mask allows all).
func allowed(mask []uint64, id int) bool {
	return mask == nil || (id>>6 < len(mask) && mask[id>>6]&(1<<(id&63)) != 0)
}

// SampleMasked is Sample restricted to the tokens whose bit is set in mask
// (a bitset over the vocabulary): the others get a logit of -Inf. At least
// one token must be allowed.
func (s *Sampler) SampleMasked(logits []float32, history []int32, mask []uint64) (int32, error) {
	masked := s.masked(logits, mask)
	return s.Sample(masked, history)
}

// masked returns a copy of logits with the tokens mask refuses at the
// lowest finite logit minus a margin: Sample rejects infinities, and such a
// token can then only win when nothing else is allowed.
func (s *Sampler) masked(logits []float32, mask []uint64) []float32 {
	s.maskBuf = append(s.maskBuf[:0], logits...)
	low := float32(math.MaxFloat32)
	for _, v := range logits {
		low = min(low, v)
	}
	floor := low - 1e4 - float32(math.Abs(float64(low)))
	for i := range s.maskBuf {
		if !allowed(mask, i) {
			s.maskBuf[i] = floor
		}
	}
	return s.maskBuf
}

// TokenLogprob is a token id and its log-probability.
type TokenLogprob struct {
	ID      int32
	Logprob float64
}

// Logprobs returns the log-probability of id and of the n most likely
// tokens (n <= 20) under the distribution the sampler draws from before
// its truncations: the logits with the penalties applied, divided by the
// temperature (1 for greedy sampling, whose own distribution is a point),
// softmax over the tokens mask allows (nil: all). Top-k, top-p and min-p
// are not applied: a token they cut keeps its probability here.
func (s *Sampler) Logprobs(logits []float32, history []int32, mask []uint64, id int32, n int) (float64, []TokenLogprob, error) {
	pen, err := s.applyPenalties(logits, history)
	if err != nil {
		return 0, nil, err
	}
	temp := float64(s.opts.Temperature)
	if !(temp > greedyTemperature) {
		temp = 1
	}
	maxL := math.Inf(-1)
	for i, v := range pen {
		if allowed(mask, i) {
			maxL = math.Max(maxL, float64(v))
		}
	}
	var sum float64
	for i, v := range pen {
		if allowed(mask, i) {
			sum += math.Exp((float64(v) - maxL) / temp)
		}
	}
	logZ := maxL/temp + math.Log(sum)
	lp := func(i int32) float64 {
		if !allowed(mask, int(i)) {
			return math.Inf(-1)
		}
		return float64(pen[i])/temp - logZ
	}
	var top []TokenLogprob
	if n > 0 {
		s.cands = s.cands[:0]
		for i, v := range pen {
			if allowed(mask, i) {
				s.cands = append(s.cands, cand{id: int32(i), logit: v})
			}
		}
		for _, c := range selectTopCands(s.probe[:0], s.cands, min(n, len(s.cands))) {
			top = append(top, TokenLogprob{ID: c.id, Logprob: lp(c.id)})
		}
	}
	return lp(id), top, nil
}
