package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// chatRequest is the body of POST /v1/chat/completions. Fields it does not
// name (tools, logprobs, user, response_format, ...) are accepted and
// ignored, as clients send them whatever the server.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Stream              *bool           `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Stop                json.RawMessage `json:"stop"`
	Seed                *int64          `json:"seed"`
	FrequencyPenalty    *float64        `json:"frequency_penalty"`
	PresencePenalty     *float64        `json:"presence_penalty"`
	N                   *int            `json:"n"`
	// llama.cpp / Ollama extensions.
	TopK          *int     `json:"top_k"`
	MinP          *float64 `json:"min_p"`
	RepeatPenalty *float64 `json:"repeat_penalty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type contentPart struct {
	Type string  `json:"type"`
	Text *string `json:"text"`
}

// chatOptions are the parts of a request that shape the response, not the
// generation.
type chatOptions struct {
	stream       bool
	includeUsage bool
	model        string // the requested model ("" = the loaded one)
}

// parseChatRequest decodes and validates body and maps it to an engine
// request. Errors are 400s naming the offending parameter.
func parseChatRequest(body []byte) (engine.Request, chatOptions, *apiError) {
	var cr chatRequest
	if err := json.Unmarshal(body, &cr); err != nil {
		return engine.Request{}, chatOptions{}, jsonError(err)
	}
	req, err := cr.toEngine()
	if err != nil {
		return engine.Request{}, chatOptions{}, err
	}
	opts := chatOptions{stream: cr.Stream != nil && *cr.Stream, model: strings.TrimSpace(cr.Model)}
	opts.includeUsage = opts.stream && cr.StreamOptions != nil && cr.StreamOptions.IncludeUsage
	return req, opts, nil
}

// jsonError turns a decoding error into a 400.
func jsonError(err error) *apiError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return badRequest("", codeInvalidJSON, "the request body must be a JSON object")
		}
		return badRequest(te.Field, codeInvalidValue,
			fmt.Sprintf("invalid type for '%s': got a JSON %s, expected %s", te.Field, te.Value, jsonKind(te.Type.Kind().String())))
	}
	return badRequest("", codeInvalidJSON, "the request body is not valid JSON: "+err.Error())
}

// jsonKind names a Go kind in JSON terms.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "bool":
		return "a boolean"
	case kind == "string":
		return "a string"
	case kind == "slice":
		return "an array"
	default:
		return "an object"
	}
}

func (cr *chatRequest) toEngine() (engine.Request, *apiError) {
	// A conversation longer than the context is a 400, never silently cut.
	req := engine.Request{NoTrim: true}
	if len(cr.Messages) == 0 {
		return req, badRequest("messages", codeInvalidValue, "'messages' must be a non-empty array")
	}
	// The 2B4T chat format has one system prompt, first: every system (and
	// developer) message is merged into it, in order.
	var system []string
	turns := make([]engine.Message, 0, len(cr.Messages))
	for i, m := range cr.Messages {
		msg, err := m.toEngine(i)
		if err != nil {
			return req, err
		}
		if msg.Role == "system" {
			system = append(system, msg.Content)
			continue
		}
		turns = append(turns, msg)
	}
	if len(system) > 0 {
		req.Messages = append(req.Messages, engine.Message{Role: "system", Content: strings.Join(system, "\n\n")})
	}
	req.Messages = append(req.Messages, turns...)

	if cr.N != nil && *cr.N != 1 {
		return req, badRequest("n", codeInvalidValue, fmt.Sprintf("'n' must be 1 (one choice per request is supported), got %d", *cr.N))
	}

	s := engine.DefaultSampling()
	checks := []struct {
		name     string
		v        *float64
		min, max float64
		dst      *float32
	}{
		{"temperature", cr.Temperature, 0, 2, &s.Temperature},
		{"top_p", cr.TopP, 0, 1, &s.TopP},
		{"min_p", cr.MinP, 0, 1, &s.MinP},
		{"frequency_penalty", cr.FrequencyPenalty, -2, 2, &s.FrequencyPenalty},
		{"presence_penalty", cr.PresencePenalty, -2, 2, &s.PresencePenalty},
		{"repeat_penalty", cr.RepeatPenalty, 0, 10, &s.RepeatPenalty},
	}
	for _, c := range checks {
		if c.v == nil {
			continue
		}
		if math.IsNaN(*c.v) || *c.v < c.min || *c.v > c.max {
			return req, badRequest(c.name, codeInvalidValue,
				fmt.Sprintf("'%s' must be between %g and %g, got %g", c.name, c.min, c.max, *c.v))
		}
		*c.dst = float32(*c.v)
	}
	if cr.TopK != nil {
		if *cr.TopK < 0 {
			return req, badRequest("top_k", codeInvalidValue, fmt.Sprintf("'top_k' must be >= 0, got %d", *cr.TopK))
		}
		s.TopK = *cr.TopK
	}
	if cr.Seed != nil {
		seed := *cr.Seed
		s.Seed = &seed
	}
	req.Sampling = s

	for _, mt := range []struct {
		name string
		v    *int
	}{{"max_tokens", cr.MaxTokens}, {"max_completion_tokens", cr.MaxCompletionTokens}} {
		if mt.v == nil {
			continue
		}
		if *mt.v < 0 {
			return req, badRequest(mt.name, codeInvalidValue, fmt.Sprintf("'%s' must be >= 0, got %d", mt.name, *mt.v))
		}
		// max_completion_tokens (the current name) comes last and wins.
		req.MaxTokens = *mt.v
	}

	stop, err := parseStop(cr.Stop)
	if err != nil {
		return req, err
	}
	req.Stop = stop
	return req, nil
}

func (m chatMessage) toEngine(i int) (engine.Message, *apiError) {
	role := m.Role
	switch role {
	case "system", "user", "assistant":
	case "developer": // OpenAI's newer name for system
		role = "system"
	default:
		return engine.Message{}, badRequest(fmt.Sprintf("messages[%d].role", i), codeInvalidValue,
			fmt.Sprintf("unsupported role %q in messages[%d]: expected system, user or assistant", m.Role, i))
	}
	content, err := parseContent(m.Content, fmt.Sprintf("messages[%d].content", i), role == "assistant")
	if err != nil {
		return engine.Message{}, err
	}
	return engine.Message{Role: role, Content: content}, nil
}

// parseContent accepts a string or an array of {"type":"text","text":...}
// parts (joined with newlines). An assistant's content may be null.
func parseContent(raw json.RawMessage, param string, nullOK bool) (string, *apiError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		if nullOK {
			return "", nil
		}
		return "", badRequest(param, codeInvalidValue, fmt.Sprintf("'%s' is required", param))
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", badRequest(param, codeInvalidValue, fmt.Sprintf("'%s' is not a valid string", param))
		}
		return s, nil
	case '[':
		var parts []contentPart
		if err := json.Unmarshal(raw, &parts); err != nil {
			return "", badRequest(param, codeInvalidValue,
				fmt.Sprintf("'%s' must be a string or an array of {\"type\":\"text\",\"text\":...} parts", param))
		}
		texts := make([]string, 0, len(parts))
		for j, p := range parts {
			pp := fmt.Sprintf("%s[%d]", param, j)
			if p.Type != "text" {
				return "", badRequest(pp+".type", codeInvalidValue,
					fmt.Sprintf("unsupported content part type %q in %s: only \"text\" is supported", p.Type, pp))
			}
			if p.Text == nil {
				return "", badRequest(pp+".text", codeInvalidValue, fmt.Sprintf("'%s.text' is required", pp))
			}
			texts = append(texts, *p.Text)
		}
		return strings.Join(texts, "\n"), nil
	default:
		return "", badRequest(param, codeInvalidValue,
			fmt.Sprintf("'%s' must be a string or an array of text parts", param))
	}
}

// parseStop accepts null, a string or an array of strings. Empty strings
// are dropped.
func parseStop(raw json.RawMessage) ([]string, *apiError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var list []string
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest("stop", codeInvalidValue, "'stop' is not a valid string")
		}
		list = []string{s}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, badRequest("stop", codeInvalidValue, "'stop' must be a string or an array of strings")
	}
	out := list[:0]
	for _, s := range list {
		if s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
