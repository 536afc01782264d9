package server

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

func TestCompletions(t *testing.T) {
	f := newFake()
	h := newTestServer(t, Config{}, f).Handler()
	rec := do(t, h, "POST", "/v1/completions", `{"prompt":"Once upon a time","max_tokens":50,"temperature":0}`)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var out textCompletion
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Object != "text_completion" || out.ID != "cmpl-test" || out.Model != "bitnet-b1.58-2b4t" ||
		len(out.Choices) != 1 || out.Choices[0].Logprobs != nil || deref(out.Choices[0].FinishReason) != "stop" {
		t.Errorf("completion %s", rec.Body)
	}
	req := f.lastRequest()
	if !req.Raw || req.Prompt != "Once upon a time" || len(req.Messages) != 0 || !req.NoTrim {
		t.Errorf("engine request %+v", req)
	}
	if !strings.Contains(out.Choices[0].Text, "Once upon a time") {
		t.Errorf("text %q", out.Choices[0].Text)
	}

	// Several prompts: one choice each, usage summed.
	rec = do(t, h, "POST", "/v1/completions", `{"prompt":["a b","c d e"],"max_tokens":3,"logprobs":2}`)
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Choices) != 2 || out.Choices[1].Index != 1 || out.Choices[0].Logprobs == nil ||
		len(out.Choices[0].Logprobs.Tokens) != 3 || len(out.Choices[0].Logprobs.TopLogprobs[0]) != 2 ||
		out.Choices[0].Logprobs.TextOffset[1] != len(out.Choices[0].Logprobs.Tokens[0]) {
		t.Errorf("two prompts: %s", rec.Body)
	}

	// Streaming with usage.
	rec = do(t, h, "POST", "/v1/completions", `{"prompt":"x y","max_tokens":3,"stream":true,"stream_options":{"include_usage":true}}`)
	body := rec.Body.String()
	if !strings.Contains(body, `"object":"text_completion"`) || !strings.Contains(body, `"finish_reason":"length"`) ||
		!strings.Contains(body, `"choices":[],"usage":{"prompt_tokens"`) || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Errorf("stream %s", body)
	}

	// Streaming with logprobs: every token's logprob arrives, also that of
	// a last token without text (the fake's third token is empty).
	rec = do(t, h, "POST", "/v1/completions", `{"prompt":"x y","max_tokens":3,"stream":true,"logprobs":1}`)
	var streamed []string
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var c struct {
			Choices []struct {
				Logprobs *struct {
					Tokens []string `json:"tokens"`
				} `json:"logprobs"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("%v: %s", err, data)
		}
		for _, ch := range c.Choices {
			if ch.Logprobs != nil {
				streamed = append(streamed, ch.Logprobs.Tokens...)
			}
		}
	}
	if want := []string{"Echo", ":", ""}; !slices.Equal(streamed, want) {
		t.Errorf("streamed logprob tokens %q, want %q: %s", streamed, want, rec.Body)
	}

	for _, tc := range []struct{ body, param string }{
		{`{"prompt":"x","suffix":"end"}`, "suffix"},
		{`{"prompt":"x","echo":true}`, "echo"},
		{`{"max_tokens":3}`, "prompt"},
		{`{"prompt":[]}`, "prompt"},
		{`{"prompt":"x","logprobs":21}`, "logprobs"},
		{`{"prompt":"x","best_of":3}`, "best_of"},
	} {
		rec := do(t, h, "POST", "/v1/completions", tc.body)
		if e := apiErr(t, rec); rec.Code != 400 || deref(e.Param) != tc.param {
			t.Errorf("%s: %d %+v", tc.body, rec.Code, e)
		}
	}
}

func TestChatLogprobs(t *testing.T) {
	f := newFake()
	h := newTestServer(t, Config{}, f).Handler()
	rec := do(t, h, "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"logprobs":true,"top_logprobs":2}`)
	var out struct {
		Choices []struct {
			Logprobs *struct {
				Content []struct {
					Token       string  `json:"token"`
					Logprob     float64 `json:"logprob"`
					Bytes       []int   `json:"bytes"`
					TopLogprobs []struct {
						Token string `json:"token"`
					} `json:"top_logprobs"`
				} `json:"content"`
			} `json:"logprobs"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	lp := out.Choices[0].Logprobs
	if lp == nil || len(lp.Content) == 0 || lp.Content[0].Token != "Echo" || len(lp.Content[0].Bytes) != 4 ||
		lp.Content[0].Logprob != -0.1 || len(lp.Content[0].TopLogprobs) != 2 {
		t.Fatalf("logprobs %s", rec.Body)
	}
	if req := f.lastRequest(); !req.Logprobs || req.TopLogprobs != 2 {
		t.Errorf("engine request %+v", req)
	}
	// Streamed: every text chunk carries its tokens' logprobs.
	rec = do(t, h, "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"logprobs":true,"stream":true}`)
	if n := strings.Count(rec.Body.String(), `"logprobs":{"content":[{"token"`); n < 3 {
		t.Errorf("%d chunks with logprobs: %s", n, rec.Body)
	}
	for _, body := range []string{
		`{"messages":[{"role":"user","content":"Hi"}],"top_logprobs":3}`,
		`{"messages":[{"role":"user","content":"Hi"}],"logprobs":true,"top_logprobs":21}`,
	} {
		if rec := do(t, h, "POST", "/v1/chat/completions", body); rec.Code != 400 || deref(apiErr(t, rec).Param) != "top_logprobs" {
			t.Errorf("%s: %d", body, rec.Code)
		}
	}
}

func TestResponseFormat(t *testing.T) {
	f := newFake()
	h := newTestServer(t, Config{}, f).Handler()
	for _, tc := range []struct {
		body string
		want engine.Format
	}{
		{`{"messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_object"}}`, engine.Format{Type: engine.FormatJSONObject}},
		{`{"messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"},"strict":true}}}`,
			engine.Format{Type: engine.FormatJSONSchema, Schema: json.RawMessage(`{"type":"object"}`)}},
		{`{"messages":[{"role":"user","content":"Hi"}],"format":"json"}`, engine.Format{Type: engine.FormatJSONObject}},
		{`{"messages":[{"role":"user","content":"Hi"}],"format":{"type":"string"}}`, engine.Format{Type: engine.FormatJSONSchema, Schema: json.RawMessage(`{"type":"string"}`)}},
		{`{"messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"text"}}`, engine.Format{}},
	} {
		rec := do(t, h, "POST", "/v1/chat/completions", tc.body)
		if rec.Code != 200 {
			t.Errorf("%s: %d %s", tc.body, rec.Code, rec.Body)
			continue
		}
		got := f.lastRequest().Format
		if got.Type != tc.want.Type || string(got.Schema) != string(tc.want.Schema) {
			t.Errorf("%s: format %+v", tc.body, got)
		}
	}
	for _, tc := range []struct{ body, param, msg string }{
		{`{"messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"xml"}}`, "response_format.type", "xml"},
		{`{"messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_schema"}}`, "response_format.json_schema.schema", "required"},
		{`{"messages":[{"role":"user","content":"Hi"}],"format":42}`, "format", "format"},
		// Schemas the engine cannot enforce are refused before queueing,
		// naming the keyword and where it is.
		{`{"messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"not":{}}}}}}}`,
			"response_format.json_schema.schema", "not (at #/properties/a"},
		{`{"messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"string","format":"uri"}}}}`,
			"response_format.json_schema.schema", `"uri"`},
		{`{"messages":[{"role":"user","content":"Hi"}],"format":{"type":"strnig"}}`, "format", "invalid JSON schema"},
		{`{"messages":[{"role":"user","content":"Hi"}],"format":{"type":"integer","minimum":5,"maximum":1}}`, "format", "invalid JSON schema"},
	} {
		rec := do(t, h, "POST", "/v1/chat/completions", tc.body)
		if e := apiErr(t, rec); rec.Code != 400 || deref(e.Param) != tc.param || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: %d %+v", tc.body, rec.Code, e)
		}
	}
	f.mu.Lock()
	n := len(f.requests)
	f.mu.Unlock()
	if n != 5 {
		t.Errorf("%d requests reached the model, want the 5 valid ones", n)
	}
}
