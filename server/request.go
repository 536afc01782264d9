package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/grammar"
)

// genParams are the fields that shape a generation, shared by chat and
// text completions. Fields no request type names are accepted and ignored,
// as clients send them whatever the server.
type genParams struct {
	Model               string          `json:"model"`
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

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	genParams
	Messages []chatMessage `json:"messages"`
	// Structured outputs: OpenAI's response_format, or Ollama's format
	// ("json" or a schema).
	ResponseFormat *responseFormat `json:"response_format"`
	Format         json.RawMessage `json:"format"`
	Logprobs       *bool           `json:"logprobs"`
	TopLogprobs    *int            `json:"top_logprobs"`
}

// responseFormat is OpenAI's response_format.
type responseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema"`
		Strict *bool           `json:"strict"`
	} `json:"json_schema"`
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
	return req, cr.options(), nil
}

// options are the response's shape.
func (g *genParams) options() chatOptions {
	opts := chatOptions{stream: g.Stream != nil && *g.Stream, model: strings.TrimSpace(g.Model)}
	opts.includeUsage = opts.stream && g.StreamOptions != nil && g.StreamOptions.IncludeUsage
	return opts
}

// jsonError turns a decoding error into a 400.
func jsonError(err error) *apiError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return badRequest("", codeInvalidJSON, "the request body must be a JSON object")
		}
		field := strings.TrimPrefix(te.Field, "genParams.") // the embedded struct's name is not the client's
		return badRequest(field, codeInvalidValue,
			fmt.Sprintf("invalid type for '%s': got a JSON %s, expected %s", field, te.Value, jsonKind(te.Type.Kind().String())))
	}
	return badRequest("", codeInvalidJSON, "the request body is not valid JSON: "+err.Error())
}

// jsonKind names a Go kind in JSON terms.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer within range"
	case strings.HasPrefix(kind, "float"):
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

	if err := cr.apply(&req); err != nil {
		return req, err
	}
	if err := cr.format(&req); err != nil {
		return req, err
	}
	if cr.Logprobs != nil && *cr.Logprobs {
		req.Logprobs = true
	}
	if cr.TopLogprobs != nil {
		n := *cr.TopLogprobs
		if n < 0 || n > engine.MaxTopLogprobs {
			return req, badRequest("top_logprobs", codeInvalidValue, fmt.Sprintf("'top_logprobs' must be between 0 and %d, got %d", engine.MaxTopLogprobs, n))
		}
		if n > 0 && !req.Logprobs {
			return req, badRequest("top_logprobs", codeInvalidValue, "'top_logprobs' needs 'logprobs': true")
		}
		req.TopLogprobs = n
	}
	return req, nil
}

// format maps response_format (or Ollama's format) to the engine's Format,
// checking a schema at once: an unsupported keyword is a 400 naming it.
func (cr *chatRequest) format(req *engine.Request) *apiError {
	f, param := engine.Format{}, "response_format"
	switch rf := cr.ResponseFormat; {
	case rf != nil:
		switch rf.Type {
		case "", "text":
		case "json_object":
			f.Type = engine.FormatJSONObject
		case "json_schema":
			if rf.JSONSchema == nil || len(bytes.TrimSpace(rf.JSONSchema.Schema)) == 0 {
				return badRequest("response_format.json_schema.schema", codeInvalidValue, "'response_format.json_schema.schema' is required")
			}
			f = engine.Format{Type: engine.FormatJSONSchema, Schema: rf.JSONSchema.Schema}
			param = "response_format.json_schema.schema"
		default:
			return badRequest("response_format.type", codeInvalidValue,
				fmt.Sprintf("unsupported response_format type %q: expected text, json_object or json_schema", rf.Type))
		}
	case len(bytes.TrimSpace(cr.Format)) > 0 && !bytes.Equal(bytes.TrimSpace(cr.Format), []byte("null")):
		param = "format"
		raw := bytes.TrimSpace(cr.Format)
		switch {
		case bytes.Equal(raw, []byte(`"json"`)):
			f.Type = engine.FormatJSONObject
		case raw[0] == '{':
			f = engine.Format{Type: engine.FormatJSONSchema, Schema: raw}
		case bytes.Equal(raw, []byte(`""`)):
		default:
			return badRequest("format", codeInvalidValue, `'format' must be "json" or a JSON schema object`)
		}
	}
	if _, err := grammar.OfFormat(f); err != nil {
		return badRequest(param, codeInvalidValue, err.Error())
	}
	req.Format = f
	return nil
}

// apply checks the generation parameters and sets them on req.
func (g *genParams) apply(req *engine.Request) *apiError {
	if g.N != nil && *g.N != 1 {
		return badRequest("n", codeInvalidValue, fmt.Sprintf("'n' must be 1 (one choice per request is supported), got %d", *g.N))
	}

	s := engine.DefaultSampling()
	checks := []struct {
		name     string
		v        *float64
		min, max float64
		dst      *float32
	}{
		{"temperature", g.Temperature, 0, 2, &s.Temperature},
		{"top_p", g.TopP, 0, 1, &s.TopP},
		{"min_p", g.MinP, 0, 1, &s.MinP},
		{"frequency_penalty", g.FrequencyPenalty, -2, 2, &s.FrequencyPenalty},
		{"presence_penalty", g.PresencePenalty, -2, 2, &s.PresencePenalty},
		{"repeat_penalty", g.RepeatPenalty, 0, 10, &s.RepeatPenalty},
	}
	for _, c := range checks {
		if c.v == nil {
			continue
		}
		if math.IsNaN(*c.v) || *c.v < c.min || *c.v > c.max {
			return badRequest(c.name, codeInvalidValue,
				fmt.Sprintf("'%s' must be between %g and %g, got %g", c.name, c.min, c.max, *c.v))
		}
		*c.dst = float32(*c.v)
	}
	if g.TopK != nil {
		if *g.TopK < 0 {
			return badRequest("top_k", codeInvalidValue, fmt.Sprintf("'top_k' must be >= 0, got %d", *g.TopK))
		}
		s.TopK = *g.TopK
	}
	if g.Seed != nil {
		seed := *g.Seed
		s.Seed = &seed
	}
	req.Sampling = s

	for _, mt := range []struct {
		name string
		v    *int
	}{{"max_tokens", g.MaxTokens}, {"max_completion_tokens", g.MaxCompletionTokens}} {
		if mt.v == nil {
			continue
		}
		if *mt.v < 0 {
			return badRequest(mt.name, codeInvalidValue, fmt.Sprintf("'%s' must be >= 0, got %d", mt.name, *mt.v))
		}
		// max_completion_tokens (the current name) comes last and wins.
		req.MaxTokens = *mt.v
	}

	stop, err := parseStop(g.Stop)
	if err != nil {
		return err
	}
	req.Stop = stop
	return nil
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
