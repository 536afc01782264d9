package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// POST /v1/completions: OpenAI's (legacy) text completions, for tools that
// complete text (editors, autocomplete) and for base models. The prompt is
// continued as it is: no chat format.

type completionRequest struct {
	genParams
	Prompt   json.RawMessage `json:"prompt"`
	Echo     *bool           `json:"echo"`
	Suffix   *string         `json:"suffix"`
	Logprobs *int            `json:"logprobs"`
	BestOf   *int            `json:"best_of"`
}

type textCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"` // "text_completion"
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []textChoice `json:"choices"`
	Usage   any          `json:"usage,omitempty"`
	Timings *timings     `json:"timings,omitempty"`
}

type textChoice struct {
	Text         string        `json:"text"`
	Index        int           `json:"index"`
	Logprobs     *textLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

// parseCompletionRequest validates body: the prompts (a string or an array
// of strings) and the engine request each runs with.
func parseCompletionRequest(body []byte) ([]string, engine.Request, chatOptions, *apiError) {
	var cr completionRequest
	if err := json.Unmarshal(body, &cr); err != nil {
		return nil, engine.Request{}, chatOptions{}, jsonError(err)
	}
	var prompts []string
	raw := bytes.TrimSpace(cr.Prompt)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return nil, engine.Request{}, chatOptions{}, badRequest("prompt", codeInvalidValue, "'prompt' is required")
	case raw[0] == '"':
		var p string
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, engine.Request{}, chatOptions{}, badRequest("prompt", codeInvalidValue, "'prompt' is not a valid string")
		}
		prompts = []string{p}
	default:
		if err := json.Unmarshal(raw, &prompts); err != nil || len(prompts) == 0 {
			return nil, engine.Request{}, chatOptions{}, badRequest("prompt", codeInvalidValue, "'prompt' must be a string or a non-empty array of strings")
		}
	}
	if cr.Echo != nil && *cr.Echo {
		return nil, engine.Request{}, chatOptions{}, badRequest("echo", codeInvalidValue, "'echo' is not supported: only false")
	}
	if cr.Suffix != nil && *cr.Suffix != "" {
		return nil, engine.Request{}, chatOptions{}, badRequest("suffix", codeInvalidValue, "'suffix' (insertion) is not supported")
	}
	if cr.BestOf != nil && *cr.BestOf != 1 {
		return nil, engine.Request{}, chatOptions{}, badRequest("best_of", codeInvalidValue, "'best_of' must be 1")
	}
	req := engine.Request{Raw: true, NoTrim: true, MaxTokens: 16} // OpenAI's default for completions
	if err := cr.apply(&req); err != nil {
		return nil, req, chatOptions{}, err
	}
	if cr.Logprobs != nil {
		n := *cr.Logprobs
		if n < 0 || n > engine.MaxTopLogprobs {
			return nil, req, chatOptions{}, badRequest("logprobs", codeInvalidValue, fmt.Sprintf("'logprobs' must be between 0 and %d, got %d", engine.MaxTopLogprobs, n))
		}
		req.Logprobs, req.TopLogprobs = true, n
	}
	return prompts, req, cr.options(), nil
}

// handleCompletions serves POST /v1/completions: each prompt in turn, one
// choice each.
func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	body, aerr := s.readBody(w, r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	prompts, req, opts, aerr := parseCompletionRequest(body)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	ctx, cancel, model, a, ok := s.admit(w, r, opts.model)
	if !ok {
		return
	}
	defer cancel(nil)
	defer s.leave()
	req.Wait = s.wait
	a.id = "cmpl-" + a.id
	if opts.stream {
		s.streamText(ctx, cancel, w, model, prompts, req, opts, a)
		return
	}
	out := textCompletion{ID: a.id, Object: "text_completion", Created: a.created, Model: a.model, Choices: []textChoice{}}
	var total usage
	var last engine.Stats
	for i, p := range prompts {
		req.Prompt = p
		res, err := model.Generate(ctx, req, nil)
		if aerr, gone := generationFailed(ctx, res, err); gone || aerr != nil {
			if !gone {
				writeError(w, aerr)
			}
			return
		}
		reason := finishReason(res.Stats.FinishReason)
		c := textChoice{Text: res.Text, Index: i, FinishReason: &reason}
		if req.Logprobs {
			c.Logprobs = textLogprobsOf(res.Logprobs, 0)
		}
		out.Choices = append(out.Choices, c)
		total.add(usageOf(res.Stats))
		last = res.Stats
	}
	out.Usage = total
	tm := timingsOf(last, a.loadMs)
	out.Timings = &tm
	writeJSON(w, http.StatusOK, out)
}

// streamText answers a completion with server-sent events: text chunks of
// each prompt's choice in turn, a finish chunk per choice, the usage chunk
// when asked, then [DONE].
func (s *Server) streamText(ctx context.Context, cancel context.CancelCauseFunc, w http.ResponseWriter, m engine.Model,
	prompts []string, req engine.Request, opts chatOptions, a answerInfo) {
	ev := &sse{w: w, rc: http.NewResponseController(w)}
	mk := func(c textChoice) textCompletion {
		out := textCompletion{ID: a.id, Object: "text_completion", Created: a.created, Model: a.model, Choices: []textChoice{c}}
		if opts.includeUsage {
			out.Usage = jsonNull
		}
		return out
	}
	started := false
	var total usage
	for i, p := range prompts {
		req.Prompt = p
		var pending []engine.TokenLogprob
		offset := 0
		onToken := func(t engine.Token) {
			if ev.err != nil {
				return
			}
			if !started {
				started = true
				ev.start()
			}
			if t.Logprob != nil {
				pending = append(pending, *t.Logprob)
			}
			if t.Text == "" {
				return
			}
			c := textChoice{Text: t.Text, Index: i}
			if req.Logprobs {
				c.Logprobs = textLogprobsOf(pending, offset)
				pending = pending[:0]
			}
			offset += len(t.Text)
			ev.json(mk(c))
			if ev.err != nil {
				cancel(fmt.Errorf("write to client: %w", ev.err))
			}
		}
		res, err := m.Generate(ctx, req, onToken)
		if aerr, gone := generationFailed(ctx, res, err); gone || aerr != nil {
			if !gone && ev.err == nil {
				ev.fail(started, aerr)
			}
			return
		}
		if !started {
			started = true
			ev.start()
		}
		reason := finishReason(res.Stats.FinishReason)
		last := mk(textChoice{Index: i, FinishReason: &reason})
		if req.Logprobs && len(pending) > 0 {
			// Tokens without text (a stop string held back, a lone
			// control token) still have their logprobs sent.
			last.Choices[0].Logprobs = textLogprobsOf(pending, offset)
		}
		if i == len(prompts)-1 {
			tm := timingsOf(res.Stats, a.loadMs)
			last.Timings = &tm
		}
		ev.json(last)
		total.add(usageOf(res.Stats))
	}
	if opts.includeUsage {
		ev.json(textCompletion{ID: a.id, Object: "text_completion", Created: a.created, Model: a.model, Choices: []textChoice{}, Usage: total})
	}
	ev.data([]byte("[DONE]"))
}
