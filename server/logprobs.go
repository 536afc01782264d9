package server

import (
	"math"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// Log-probabilities in OpenAI's shapes. The engine computes them from the
// distribution it samples from (after the penalties and the temperature,
// 1 for greedy sampling; over the tokens a response_format allows).

// chatLogprobs is a chat choice's logprobs.
type chatLogprobs struct {
	Content []chatTokenLogprob `json:"content"`
	Refusal *string            `json:"refusal"`
}

type chatTokenLogprob struct {
	Token       string           `json:"token"`
	Logprob     float64          `json:"logprob"`
	Bytes       []int            `json:"bytes"`
	TopLogprobs []chatTopLogprob `json:"top_logprobs"`
}

type chatTopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// minLogprob stands for a log-probability of -Inf, which JSON cannot
// carry (OpenAI reports -9999 for such tokens).
const minLogprob = -9999.0

func clampLogprob(v float64) float64 {
	if math.IsInf(v, -1) || math.IsNaN(v) || v < minLogprob {
		return minLogprob
	}
	return v
}

func byteInts(b []byte) []int {
	out := make([]int, len(b))
	for i, c := range b {
		out[i] = int(c)
	}
	return out
}

// chatLogprobsOf shapes the engine's logprobs, or nil (null) when the
// request did not ask for them.
func chatLogprobsOf(lps []engine.TokenLogprob, asked bool) *chatLogprobs {
	if !asked {
		return nil
	}
	out := &chatLogprobs{Content: []chatTokenLogprob{}}
	for _, lp := range lps {
		t := chatTokenLogprob{Token: lp.Token, Logprob: clampLogprob(lp.Logprob), Bytes: byteInts(lp.Bytes), TopLogprobs: []chatTopLogprob{}}
		for _, alt := range lp.Top {
			t.TopLogprobs = append(t.TopLogprobs, chatTopLogprob{Token: alt.Token, Logprob: clampLogprob(alt.Logprob), Bytes: byteInts(alt.Bytes)})
		}
		out.Content = append(out.Content, t)
	}
	return out
}

// textLogprobs is the legacy completions API's logprobs.
type textLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

// textLogprobsOf shapes logprobs for /v1/completions; offset is where the
// first token's text starts in the choice's text.
func textLogprobsOf(lps []engine.TokenLogprob, offset int) *textLogprobs {
	out := &textLogprobs{Tokens: []string{}, TokenLogprobs: []float64{}, TopLogprobs: []map[string]float64{}, TextOffset: []int{}}
	for _, lp := range lps {
		out.Tokens = append(out.Tokens, lp.Token)
		out.TokenLogprobs = append(out.TokenLogprobs, clampLogprob(lp.Logprob))
		top := map[string]float64{}
		for _, alt := range lp.Top {
			if _, dup := top[alt.Token]; !dup {
				top[alt.Token] = clampLogprob(alt.Logprob)
			}
		}
		out.TopLogprobs = append(out.TopLogprobs, top)
		out.TextOffset = append(out.TextOffset, offset)
		offset += len(lp.Token)
	}
	return out
}
