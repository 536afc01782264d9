package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

var fixedNow = time.Unix(1700000000, 0)

// newTestServer serves f (ready) with fixed ids and times.
func newTestServer(t *testing.T, cfg Config, f *fakeModel) *Server {
	t.Helper()
	return newTestServerSrc(t, cfg, ModelSourceFunc(func() (engine.Model, State) { return f, StateReady }))
}

func newTestServerSrc(t *testing.T, cfg Config, src ModelSource) *Server {
	t.Helper()
	s := New(cfg, src)
	s.now = func() time.Time { return fixedNow }
	s.newID = func() string { return "test" }
	s.created = fixedNow.Unix()
	return s
}

// do sends one request to h; hdr is name, value pairs.
func do(t *testing.T, h http.Handler, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, target, nil)
	} else {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	r.Host = "127.0.0.1:8723"
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			r.Host = hdr[i+1]
			continue
		}
		r.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// apiErr decodes an error envelope, failing on any other shape.
func apiErr(t *testing.T, rec *httptest.ResponseRecorder) errorDetail {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type = %q, want application/json; body %s", ct, rec.Body)
	}
	var raw map[string]map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, rec.Body)
	}
	e, ok := raw["error"]
	if !ok || len(raw) != 1 {
		t.Fatalf("error body %s: want exactly {\"error\":{...}}", rec.Body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := e[k]; !ok {
			t.Errorf("error body %s lacks %q", rec.Body, k)
		}
	}
	var b errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if b.Error.Message == "" {
		t.Errorf("error without message: %s", rec.Body)
	}
	return b.Error
}

func deref(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

const hiRequest = `{"model":"bitnet-b1.58-2b4t","messages":[{"role":"user","content":"Hi"}],"temperature":0}`

func TestChatNonStreamingExact(t *testing.T) {
	for _, path := range []string{"/v1/chat/completions", "/chat/completions", "/api/chat"} {
		t.Run(path, func(t *testing.T) {
			s := newTestServer(t, Config{}, newFake())
			rec := do(t, s.Handler(), "POST", path, hiRequest)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			want := `{"id":"chatcmpl-test","object":"chat.completion","created":1700000000,"model":"bitnet-b1.58-2b4t",` +
				`"choices":[{"index":0,"message":{"role":"assistant","content":"Echo: Hi."},"logprobs":null,"finish_reason":"stop"}],` +
				`"usage":{"prompt_tokens":4,"completion_tokens":5,"total_tokens":9,"prompt_tokens_details":{"cached_tokens":0}},` +
				`"timings":{"cache_n":0,"prompt_n":4,"prompt_ms":10,"prompt_per_token_ms":2.5,"prompt_per_second":400,` +
				`"predicted_n":5,"predicted_ms":20,"predicted_per_token_ms":4,"predicted_per_second":250}}` + "\n"
			if got := rec.Body.String(); got != want {
				t.Errorf("body\n got %s\nwant %s", got, want)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestChatFinishLength(t *testing.T) {
	s := newTestServer(t, Config{}, newFake())
	rec := do(t, s.Handler(), "POST", "/v1/chat/completions",
		`{"messages":[{"role":"user","content":"one two three"}],"max_tokens":2}`)
	var c completion
	if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil || rec.Code != 200 {
		t.Fatalf("status %d, %v: %s", rec.Code, err, rec.Body)
	}
	if c.Choices[0].FinishReason != "length" || c.Choices[0].Message.Content != "Echo:" || c.Usage.CompletionTokens != 2 {
		t.Errorf("got %+v", c)
	}
}

// TestRequestMapping checks how request fields reach engine.Request.
func TestRequestMapping(t *testing.T) {
	seed := int64(42)
	def := engine.DefaultSampling()
	user := []engine.Message{{Role: "user", Content: "Hi"}}
	tests := []struct {
		name string
		body string
		want engine.Request
	}{
		{"minimal", `{"messages":[{"role":"user","content":"Hi"}]}`,
			engine.Request{Messages: user, Sampling: def, Wait: true, NoTrim: true}},
		{"nulls are defaults", `{"model":null,"messages":[{"role":"user","content":"Hi"}],"stream":null,"temperature":null,"top_p":null,"max_tokens":null,"stop":null,"seed":null,"n":null}`,
			engine.Request{Messages: user, Sampling: def, Wait: true, NoTrim: true}},
		{"sampling fields",
			`{"messages":[{"role":"user","content":"Hi"}],"temperature":0,"top_p":0.5,"seed":42,"frequency_penalty":0.25,"presence_penalty":-0.5,"top_k":7,"min_p":0.1,"repeat_penalty":1.1,"n":1}`,
			engine.Request{Messages: user, Wait: true, NoTrim: true, Sampling: engine.Sampling{Temperature: 0, TopK: 7, TopP: 0.5, MinP: 0.1,
				RepeatPenalty: 1.1, FrequencyPenalty: 0.25, PresencePenalty: -0.5, Seed: &seed}}},
		{"max_tokens", `{"messages":[{"role":"user","content":"Hi"}],"max_tokens":12}`,
			engine.Request{Messages: user, Sampling: def, Wait: true, NoTrim: true, MaxTokens: 12}},
		{"max_completion_tokens wins", `{"messages":[{"role":"user","content":"Hi"}],"max_tokens":12,"max_completion_tokens":7}`,
			engine.Request{Messages: user, Sampling: def, Wait: true, NoTrim: true, MaxTokens: 7}},
		{"stop string", `{"messages":[{"role":"user","content":"Hi"}],"stop":"\n\n"}`,
			engine.Request{Messages: user, Sampling: def, Wait: true, NoTrim: true, Stop: []string{"\n\n"}}},
		{"stop list drops empty", `{"messages":[{"role":"user","content":"Hi"}],"stop":["END","","User:"]}`,
			engine.Request{Messages: user, Sampling: def, Wait: true, NoTrim: true, Stop: []string{"END", "User:"}}},
		{"system messages merged first",
			`{"messages":[{"role":"user","content":"Q1"},{"role":"system","content":"S1"},{"role":"assistant","content":"A1"},{"role":"system","content":"S2"},{"role":"user","content":"Hi"}]}`,
			engine.Request{Sampling: def, Wait: true, NoTrim: true, Messages: []engine.Message{
				{Role: "system", Content: "S1\n\nS2"}, {Role: "user", Content: "Q1"}, {Role: "assistant", Content: "A1"}, {Role: "user", Content: "Hi"}}}},
		{"roles and parts",
			`{"messages":[{"role":"developer","content":"Be brief."},{"role":"system","content":[{"type":"text","text":"A"},{"type":"text","text":"B"}]},` +
				`{"role":"user","content":"Q1","name":"bob"},{"role":"assistant","content":null,"tool_calls":[]},{"role":"assistant","content":"A1"},{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
			engine.Request{Sampling: def, Wait: true, NoTrim: true, Messages: []engine.Message{
				{Role: "system", Content: "Be brief.\n\nA\nB"}, {Role: "user", Content: "Q1"},
				{Role: "assistant", Content: ""}, {Role: "assistant", Content: "A1"}, {Role: "user", Content: "Hi"}}}},
		{"unknown fields accepted",
			`{"messages":[{"role":"user","content":"Hi"}],"stream":false,"stream_options":{"include_usage":true},"user":"u1","logprobs":false,` +
				`"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none","response_format":{"type":"text"},"logit_bias":{},"parallel_tool_calls":false,"x_custom":[1,2]}`,
			engine.Request{Messages: user, Sampling: def, Wait: true, NoTrim: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			s := newTestServer(t, Config{}, f)
			rec := do(t, s.Handler(), "POST", "/v1/chat/completions", tc.body)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if got := f.lastRequest(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("engine request\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestNoQueueMeansNoWait(t *testing.T) {
	f := newFake()
	s := newTestServer(t, Config{QueueSize: -1}, f)
	if rec := do(t, s.Handler(), "POST", "/v1/chat/completions", hiRequest); rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	if f.lastRequest().Wait {
		t.Error("Wait set without a queue")
	}
}

func TestBadRequests(t *testing.T) {
	tests := []struct {
		name, body, param string
	}{
		{"invalid JSON", `{"messages":[`, ""},
		{"empty body", ``, ""},
		{"trailing garbage", `{"messages":[{"role":"user","content":"Hi"}]} x`, ""},
		{"not an object", `[1,2]`, ""},
		{"no messages", `{"model":"m"}`, "messages"},
		{"empty messages", `{"messages":[]}`, "messages"},
		{"messages not an array", `{"messages":"Hi"}`, "messages"},
		{"message not an object", `{"messages":["Hi"]}`, "messages"},
		{"tool role", `{"messages":[{"role":"tool","content":"x","tool_call_id":"1"}]}`, "messages[0].role"},
		{"missing role", `{"messages":[{"role":"user","content":"Hi"},{"content":"x"}]}`, "messages[1].role"},
		{"role not a string", `{"messages":[{"role":1,"content":"x"}]}`, "messages.role"},
		{"image part", `{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}}]}]}`, "messages[0].content[1].type"},
		{"text part without text", `{"messages":[{"role":"user","content":[{"type":"text"}]}]}`, "messages[0].content[0].text"},
		{"content a number", `{"messages":[{"role":"user","content":5}]}`, "messages[0].content"},
		{"user content missing", `{"messages":[{"role":"user"}]}`, "messages[0].content"},
		{"user content null", `{"messages":[{"role":"user","content":null}]}`, "messages[0].content"},
		{"n 2", `{"messages":[{"role":"user","content":"Hi"}],"n":2}`, "n"},
		{"n 0", `{"messages":[{"role":"user","content":"Hi"}],"n":0}`, "n"},
		{"temperature a string", `{"messages":[{"role":"user","content":"Hi"}],"temperature":"hot"}`, "temperature"},
		{"temperature too high", `{"messages":[{"role":"user","content":"Hi"}],"temperature":2.5}`, "temperature"},
		{"negative temperature", `{"messages":[{"role":"user","content":"Hi"}],"temperature":-1}`, "temperature"},
		{"top_p too high", `{"messages":[{"role":"user","content":"Hi"}],"top_p":1.5}`, "top_p"},
		{"frequency_penalty", `{"messages":[{"role":"user","content":"Hi"}],"frequency_penalty":3}`, "frequency_penalty"},
		{"presence_penalty", `{"messages":[{"role":"user","content":"Hi"}],"presence_penalty":-2.5}`, "presence_penalty"},
		{"negative top_k", `{"messages":[{"role":"user","content":"Hi"}],"top_k":-1}`, "top_k"},
		{"negative max_tokens", `{"messages":[{"role":"user","content":"Hi"}],"max_tokens":-1}`, "max_tokens"},
		{"negative max_completion_tokens", `{"messages":[{"role":"user","content":"Hi"}],"max_completion_tokens":-5}`, "max_completion_tokens"},
		{"fractional max_tokens", `{"messages":[{"role":"user","content":"Hi"}],"max_tokens":1.5}`, "max_tokens"},
		{"stop a number", `{"messages":[{"role":"user","content":"Hi"}],"stop":5}`, "stop"},
		{"stop list of numbers", `{"messages":[{"role":"user","content":"Hi"}],"stop":[1]}`, "stop"},
		{"seed a string", `{"messages":[{"role":"user","content":"Hi"}],"seed":"x"}`, "seed"},
		{"stream a string", `{"messages":[{"role":"user","content":"Hi"}],"stream":"yes"}`, "stream"},
		{"stream_options not an object", `{"messages":[{"role":"user","content":"Hi"}],"stream":true,"stream_options":true}`, "stream_options"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			s := newTestServer(t, Config{}, f)
			rec := do(t, s.Handler(), "POST", "/v1/chat/completions", tc.body)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", rec.Code, rec.Body)
			}
			e := apiErr(t, rec)
			if e.Type != typeInvalidRequest {
				t.Errorf("type %q", e.Type)
			}
			wantParam := tc.param
			if wantParam == "" {
				wantParam = "<null>"
			}
			if got := deref(e.Param); got != wantParam {
				t.Errorf("param %q, want %q (%s)", got, wantParam, e.Message)
			}
			if len(f.requests) != 0 {
				t.Error("an invalid request reached the engine")
			}
		})
	}
	// The message says what was wrong with the value.
	rec := do(t, newTestServer(t, Config{}, newFake()).Handler(), "POST", "/v1/chat/completions",
		`{"messages":[{"role":"user","content":"Hi"}],"max_tokens":1.5}`)
	if e := apiErr(t, rec); !strings.Contains(e.Message, "got a JSON number 1.5, expected an integer") {
		t.Errorf("message %q", e.Message)
	}
}

func TestContextLengthExceeded(t *testing.T) {
	long := strings.Repeat("word ", 50)
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "non-stream", true: "stream"}[stream], func(t *testing.T) {
			f := newFake()
			f.ctxSize = 32
			s := newTestServer(t, Config{}, f)
			body := `{"messages":[{"role":"user","content":"` + long + `"}],"stream":` + map[bool]string{false: "false", true: "true"}[stream] + `}`
			rec := do(t, s.Handler(), "POST", "/v1/chat/completions", body)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			e := apiErr(t, rec)
			if deref(e.Code) != "context_length_exceeded" || deref(e.Param) != "messages" || e.Type != typeInvalidRequest {
				t.Errorf("error %+v code=%s param=%s", e, deref(e.Code), deref(e.Param))
			}
		})
	}
}

func TestEngineErrors(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		typ    string
		param  string
	}{
		{"busy", engine.Errorf(engine.CodeBusy, nil, "busy"), 429, "busy", typeRateLimit, ""},
		{"not loaded", engine.Errorf(engine.CodeNotLoaded, nil, "unloaded"), 503, "model_not_loaded", typeUnavailable, ""},
		{"invalid request", engine.Errorf(engine.CodeInvalidRequest, nil, "bad stop"), 400, "invalid_request", typeInvalidRequest, ""},
		{"invalid request param", engine.Errorf(engine.CodeInvalidRequest, map[string]any{"param": "top_p"}, "bad"), 400, "invalid_request", typeInvalidRequest, "top_p"},
		{"invalid message", engine.Errorf(engine.CodeInvalidRequest, map[string]any{"index": 2, "role": "assistant"}, "must end with a user message"), 400, "invalid_request", typeInvalidRequest, "messages"},
		{"internal", errors.New("boom"), 500, "internal", typeServer, ""},
		{"io", engine.Wrap(engine.CodeIO, errors.New("disk"), "read"), 500, "io_error", typeServer, ""},
	}
	for _, tc := range tests {
		for _, stream := range []string{"false", "true"} {
			t.Run(tc.name+"/stream="+stream, func(t *testing.T) {
				f := newFake()
				f.failErr = tc.err
				s := newTestServer(t, Config{}, f)
				rec := do(t, s.Handler(), "POST", "/v1/chat/completions",
					`{"messages":[{"role":"user","content":"Hi"}],"stream":`+stream+`}`)
				if rec.Code != tc.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
				}
				e := apiErr(t, rec)
				wantParam := tc.param
				if wantParam == "" {
					wantParam = "<null>"
				}
				if deref(e.Code) != tc.code || e.Type != tc.typ || deref(e.Param) != wantParam {
					t.Errorf("code %s type %s param %s", deref(e.Code), e.Type, deref(e.Param))
				}
				if tc.status == 429 && rec.Header().Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
			})
		}
	}
}

func TestModelState(t *testing.T) {
	f := newFake()
	tests := []struct {
		name        string
		model       engine.Model
		state       State
		health      int
		healthBody  string
		chat        int
		chatCode    string
		models      int // entries in /v1/models
		apiStatus   string
		statusModel bool
	}{
		{"ready", f, StateReady, 200, `{"status":"ok"}`, 200, "", 1, "ready", true},
		{"loading", nil, StateLoading, 503, `{"status":"loading"}`, 503, "model_loading", 1, "loading", false},
		{"none", nil, StateNone, 503, `{"status":"not_loaded"}`, 503, "model_not_loaded", 0, "not_loaded", false},
		{"ready without model", nil, StateReady, 503, `{"status":"not_loaded"}`, 503, "model_not_loaded", 0, "not_loaded", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServerSrc(t, Config{}, ModelSourceFunc(func() (engine.Model, State) { return tc.model, tc.state }))
			h := s.Handler()

			rec := do(t, h, "GET", "/health", "")
			if rec.Code != tc.health || strings.TrimSpace(rec.Body.String()) != tc.healthBody {
				t.Errorf("/health %d %s", rec.Code, rec.Body)
			}

			rec = do(t, h, "POST", "/v1/chat/completions", hiRequest)
			if rec.Code != tc.chat {
				t.Fatalf("chat status %d: %s", rec.Code, rec.Body)
			}
			if tc.chat != 200 {
				if e := apiErr(t, rec); deref(e.Code) != tc.chatCode {
					t.Errorf("chat code %s", deref(e.Code))
				}
			}
			if tc.state == StateLoading && rec.Header().Get("Retry-After") == "" {
				t.Error("503 while loading without Retry-After")
			}

			rec = do(t, h, "GET", "/v1/models", "")
			var list modelList
			if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != 200 || list.Object != "list" {
				t.Fatalf("/v1/models %d %s", rec.Code, rec.Body)
			}
			if len(list.Data) != tc.models {
				t.Errorf("/v1/models has %d entries", len(list.Data))
			}

			rec = do(t, h, "GET", "/api/chat", "")
			var st map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || rec.Code != 200 {
				t.Fatalf("/api/chat %d %s", rec.Code, rec.Body)
			}
			if st["status"] != tc.apiStatus || (st["model"] != nil) != tc.statusModel || st["model_id"] != DefaultModelID {
				t.Errorf("/api/chat %s", rec.Body)
			}
		})
	}
}

func TestModelsEndpoints(t *testing.T) {
	s := newTestServer(t, Config{ModelID: "my-bitnet"}, newFake())
	h := s.Handler()
	for _, path := range []string{"/v1/models", "/models"} {
		rec := do(t, h, "GET", path, "")
		want := `{"object":"list","data":[{"id":"my-bitnet","object":"model","created":1700000000,"owned_by":"bitnet-desktop",` +
			`"meta":{"name":"fake.gguf","architecture":"bitnet-b1.58","parameters":1000,"context_length":4096,"threads":2,` +
			`"weight_type":"tq2_0","embedding_type":"q6_k","size_bytes":1234,"chat":true,"loaded":true}}]}` + "\n"
		if rec.Code != 200 || rec.Body.String() != want {
			t.Errorf("%s: %d\n got %s\nwant %s", path, rec.Code, rec.Body, want)
		}
	}
	rec := do(t, h, "GET", "/v1/models/my-bitnet", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"id":"my-bitnet"`) {
		t.Errorf("retrieve: %d %s", rec.Code, rec.Body)
	}
	rec = do(t, h, "GET", "/v1/models/gpt-4o", "")
	if rec.Code != 404 || deref(apiErr(t, rec).Code) != codeModelNotFound {
		t.Errorf("unknown model: %d %s", rec.Code, rec.Body)
	}
	// No local paths leak through the API.
	for _, path := range []string{"/v1/models", "/api/chat"} {
		if body := do(t, h, "GET", path, "").Body.String(); strings.Contains(body, "/home/") {
			t.Errorf("%s shows a local path: %s", path, body)
		}
	}
}

func TestRoutingErrors(t *testing.T) {
	s := newTestServer(t, Config{}, newFake())
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/v1/chat/completions", 405, "POST"},
		{"DELETE", "/api/chat", 405, "GET, POST"},
		{"POST", "/v1/models", 405, "GET"},
		{"POST", "/health", 405, "GET"},
		{"GET", "/v1/completions", 405, "POST"},
		{"GET", "/v1/embeddings", 404, ""},
		{"GET", "/", 404, ""},
		{"HEAD", "/v1/chat/completions", 405, "POST"},
	}
	for _, tc := range tests {
		rec := do(t, s.Handler(), tc.method, tc.path, "")
		if rec.Code != tc.status || rec.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d Allow=%q", tc.method, tc.path, rec.Code, rec.Header().Get("Allow"))
		}
		apiErr(t, rec)
	}
	if rec := do(t, s.Handler(), "HEAD", "/health", ""); rec.Code != 200 {
		t.Errorf("HEAD /health: %d", rec.Code)
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name, key, method, path, auth string
		status                        int
	}{
		{"no key configured", "", "GET", "/v1/models", "", 200},
		{"no key configured, any key sent", "", "GET", "/v1/models", "Bearer whatever", 200},
		{"missing", "s3cret", "GET", "/v1/models", "", 401},
		{"wrong", "s3cret", "GET", "/v1/models", "Bearer nope", 401},
		{"wrong scheme", "s3cret", "GET", "/v1/models", "Basic s3cret", 401},
		{"prefix of key", "s3cret", "GET", "/v1/models", "Bearer s3cre", 401},
		{"right", "s3cret", "GET", "/v1/models", "Bearer s3cret", 200},
		{"right, lower-case scheme", "s3cret", "GET", "/v1/models", "bearer s3cret", 200},
		{"chat missing", "s3cret", "POST", "/v1/chat/completions", "", 401},
		{"chat right", "s3cret", "POST", "/v1/chat/completions", "Bearer s3cret", 200},
		{"status missing", "s3cret", "GET", "/api/chat", "", 401},
		{"web chat wrong", "s3cret", "POST", "/api/chat", "Bearer x", 401},
		{"unknown path missing", "s3cret", "GET", "/nope", "", 401},
		{"health needs no key", "s3cret", "GET", "/health", "", 200},
		{"health with wrong key", "s3cret", "GET", "/health", "Bearer x", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, Config{APIKey: tc.key}, newFake())
			body := ""
			if tc.method == "POST" {
				body = hiRequest
			}
			var hdr []string
			if tc.auth != "" {
				hdr = []string{"Authorization", tc.auth}
			}
			rec := do(t, s.Handler(), tc.method, tc.path, body, hdr...)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 401 {
				e := apiErr(t, rec)
				if e.Type != typeAuthentication || deref(e.Code) != codeInvalidAPIKey {
					t.Errorf("error %+v", e)
				}
				if strings.Contains(e.Message, "s3cret") {
					t.Error("the error shows the key")
				}
			}
		})
	}
}

func TestCORS(t *testing.T) {
	allowed := []string{"http://localhost:3000", "https://chat.example.com", "http://127.0.0.1:*"}
	tests := []struct {
		name, method, origin string
		origins              []string
		status               int
		acao                 string
	}{
		{"no origin", "GET", "", allowed, 200, ""},
		{"allowed", "GET", "http://localhost:3000", allowed, 200, "http://localhost:3000"},
		{"allowed by pattern", "GET", "http://127.0.0.1:5173", allowed, 200, "http://127.0.0.1:5173"},
		{"other port", "GET", "http://localhost:3001", allowed, 403, ""},
		{"not allowed", "GET", "https://evil.example", allowed, 403, ""},
		{"not allowed POST", "POST", "https://evil.example", allowed, 403, ""},
		{"none configured", "GET", "http://localhost:3000", nil, 403, ""},
		{"star", "GET", "https://anything.example", []string{"*"}, 200, "https://anything.example"},
		{"preflight allowed", "OPTIONS", "https://chat.example.com", allowed, 204, "https://chat.example.com"},
		{"preflight not allowed", "OPTIONS", "https://evil.example", allowed, 403, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, Config{AllowedOrigins: tc.origins, APIKey: "k"}, newFake())
			hdr := []string{}
			if tc.origin != "" {
				hdr = append(hdr, "Origin", tc.origin)
			}
			body := ""
			switch tc.method {
			case "OPTIONS":
				hdr = append(hdr, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type,x-stainless-os")
			default:
				hdr = append(hdr, "Authorization", "Bearer k")
			}
			path := "/v1/models"
			if tc.method == "POST" {
				path, body = "/v1/chat/completions", hiRequest
			}
			rec := do(t, s.Handler(), tc.method, path, body, hdr...)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tc.acao {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tc.acao)
			}
			if tc.status == 403 && deref(apiErr(t, rec).Code) != codeOriginForbidden {
				t.Error("wrong 403 code")
			}
			if tc.method == "OPTIONS" && tc.status == 204 {
				h := rec.Header()
				if h.Get("Access-Control-Allow-Headers") != "authorization,content-type,x-stainless-os" ||
					!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
					t.Errorf("preflight headers %v", h)
				}
			}
		})
	}
}

func TestAllowedOriginCanReadErrors(t *testing.T) {
	s := newTestServer(t, Config{AllowedOrigins: []string{"http://localhost:3000"}, APIKey: "k"}, newFake())
	rec := do(t, s.Handler(), "GET", "/v1/models", "", "Origin", "http://localhost:3000")
	if rec.Code != 401 || rec.Header().Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Errorf("%d %v", rec.Code, rec.Header())
	}
}

func TestHostCheck(t *testing.T) {
	tests := []struct {
		bind, host string
		status     int
	}{
		{"", "127.0.0.1:8723", 200},
		{"", "localhost:8723", 200},
		{"", "[::1]:8723", 200},
		{"127.0.0.1", "evil.example:8723", 403},
		{"localhost", "attacker.example", 403},
		{"0.0.0.0", "my-box.lan:8723", 200},
		{"192.168.1.5", "my-box.lan", 200},
	}
	for _, tc := range tests {
		s := newTestServer(t, Config{Host: tc.bind}, newFake())
		rec := do(t, s.Handler(), "GET", "/v1/models", "", "Host", tc.host)
		if rec.Code != tc.status {
			t.Errorf("bind %q Host %q: %d, want %d", tc.bind, tc.host, rec.Code, tc.status)
		}
	}
}

func TestBodyTooLarge(t *testing.T) {
	s := newTestServer(t, Config{MaxBodyBytes: 256}, newFake())
	big := `{"messages":[{"role":"user","content":"` + strings.Repeat("a", 400) + `"}]}`

	rec := do(t, s.Handler(), "POST", "/v1/chat/completions", big)
	if rec.Code != http.StatusRequestEntityTooLarge || deref(apiErr(t, rec).Code) != codeTooLarge {
		t.Errorf("with Content-Length: %d %s", rec.Code, rec.Body)
	}

	// Without Content-Length (chunked), the reader limit catches it.
	r := httptest.NewRequest("POST", "/v1/chat/completions", struct{ *strings.Reader }{strings.NewReader(big)})
	r.ContentLength = -1
	r.Host = "127.0.0.1"
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, r)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked: %d %s", rec.Code, rec.Body)
	}

	if rec := do(t, s.Handler(), "POST", "/v1/chat/completions", hiRequest); rec.Code != 200 {
		t.Errorf("small body: %d", rec.Code)
	}
}

func TestModelHolder(t *testing.T) {
	var h ModelHolder
	if m, st := h.Current(); m != nil || st != StateNone {
		t.Errorf("zero holder: %v %v", m, st)
	}
	h.SetLoading()
	if _, st := h.Current(); st != StateLoading {
		t.Errorf("loading: %v", st)
	}
	f := newFake()
	h.SetReady(f)
	if m, st := h.Current(); m != f || st != StateReady {
		t.Errorf("ready: %v %v", m, st)
	}
	if m := h.Clear(); m != f {
		t.Errorf("Clear returned %v", m)
	}
	if m, st := h.Current(); m != nil || st != StateNone {
		t.Errorf("cleared: %v %v", m, st)
	}
	h.SetReady(nil)
	if _, st := h.Current(); st != StateNone {
		t.Errorf("SetReady(nil): %v", st)
	}
}

func TestConfigDefaultsAndURL(t *testing.T) {
	tests := []struct {
		cfg       Config
		addr, url string
	}{
		{Config{}, "127.0.0.1:8723", "http://127.0.0.1:8723/v1"},
		{Config{Host: "0.0.0.0", Port: 9000}, "0.0.0.0:9000", "http://127.0.0.1:9000/v1"},
		{Config{Host: "::1", Port: 1}, "[::1]:1", "http://[::1]:1/v1"},
		{Config{Host: "localhost"}, "localhost:8723", "http://localhost:8723/v1"},
	}
	for _, tc := range tests {
		s := New(tc.cfg, &ModelHolder{})
		if s.Addr() != tc.addr || s.URL() != tc.url {
			t.Errorf("%+v: Addr %q URL %q", tc.cfg, s.Addr(), s.URL())
		}
	}
	c := New(Config{}, &ModelHolder{}).Config()
	if c.ModelID != DefaultModelID || c.MaxBodyBytes != DefaultMaxBodyBytes || c.QueueSize != DefaultQueueSize || c.Port != DefaultPort {
		t.Errorf("defaults %+v", c)
	}
}
