package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const chunkHead = `data: {"id":"chatcmpl-test","object":"chat.completion.chunk","created":1700000000,"model":"bitnet-b1.58-2b4t",`

const hiTimings = `"timings":{"cache_n":0,"prompt_n":4,"prompt_ms":10,"prompt_per_token_ms":2.5,"prompt_per_second":400,` +
	`"predicted_n":5,"predicted_ms":20,"predicted_per_token_ms":4,"predicted_per_second":250}`

func TestStreamExact(t *testing.T) {
	deltaChunk := func(d, usage string) string {
		return chunkHead + `"choices":[{"index":0,"delta":` + d + `,"logprobs":null,"finish_reason":null}]` + usage + "}\n\n"
	}
	build := func(usage string) string {
		var b strings.Builder
		b.WriteString(deltaChunk(`{"role":"assistant","content":""}`, usage))
		for _, piece := range []string{"Echo", ":", " Hi", "."} { // the empty token is skipped
			b.WriteString(deltaChunk(`{"content":"`+piece+`"}`, usage))
		}
		b.WriteString(chunkHead + `"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]` + usage + `,` + hiTimings + "}\n\n")
		if usage != "" {
			b.WriteString(chunkHead + `"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":5,"total_tokens":9,"prompt_tokens_details":{"cached_tokens":0}}}` + "\n\n")
		}
		b.WriteString("data: [DONE]\n\n")
		return b.String()
	}
	tests := []struct {
		name, extra, want string
	}{
		{"plain", `"stream":true`, build("")},
		{"include_usage", `"stream":true,"stream_options":{"include_usage":true}`, build(`,"usage":null`)},
		{"include_usage false", `"stream":true,"stream_options":{"include_usage":false}`, build("")},
	}
	for _, tc := range tests {
		for _, path := range []string{"/v1/chat/completions", "/api/chat"} {
			t.Run(tc.name+path, func(t *testing.T) {
				s := newTestServer(t, Config{}, newFake())
				rec := do(t, s.Handler(), "POST", path, `{"messages":[{"role":"user","content":"Hi"}],"temperature":0,`+tc.extra+`}`)
				if rec.Code != 200 {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
					t.Errorf("Content-Type %q", ct)
				}
				if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
					t.Errorf("Cache-Control %q", cc)
				}
				if got := rec.Body.String(); got != tc.want {
					t.Errorf("stream\n got:\n%s\nwant:\n%s", got, tc.want)
				}
				if !rec.Flushed {
					t.Error("the stream was never flushed")
				}
			})
		}
	}
}

// sseEvents splits a stream into its data payloads.
func sseEvents(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		if !strings.HasPrefix(ev, "data: ") {
			t.Fatalf("event %q is not a data line", ev)
		}
		out = append(out, strings.TrimPrefix(ev, "data: "))
	}
	return out
}

// parseStream concatenates the content deltas of a stream and checks the
// chunk sequence: role first, finish_reason last, then usage, then [DONE].
func parseStream(body string) (text, finish string, u *usage, err error) {
	var evs []string
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		if !strings.HasPrefix(ev, "data: ") {
			return "", "", nil, fmt.Errorf("event %q is not a data line", ev)
		}
		evs = append(evs, strings.TrimPrefix(ev, "data: "))
	}
	if evs[len(evs)-1] != "[DONE]" {
		return "", "", nil, fmt.Errorf("stream does not end with [DONE]: %s", body)
	}
	for i, ev := range evs[:len(evs)-1] {
		var c struct {
			Object  string `json:"object"`
			Choices []struct {
				Delta        map[string]any `json:"delta"`
				FinishReason *string        `json:"finish_reason"`
			} `json:"choices"`
			Usage *usage `json:"usage"`
		}
		if err := json.Unmarshal([]byte(ev), &c); err != nil {
			return "", "", nil, fmt.Errorf("chunk %d: %w: %s", i, err, ev)
		}
		if c.Object != "chat.completion.chunk" {
			return "", "", nil, fmt.Errorf("chunk %d object %q", i, c.Object)
		}
		if len(c.Choices) == 0 {
			if c.Usage == nil || u != nil {
				return "", "", nil, fmt.Errorf("chunk %d: no choices and no (or a second) usage", i)
			}
			u = c.Usage
			continue
		}
		if u != nil {
			return "", "", nil, fmt.Errorf("chunk %d after the usage chunk", i)
		}
		if (i == 0) != (c.Choices[0].Delta["role"] == "assistant") {
			return "", "", nil, fmt.Errorf("chunk %d: role %v", i, c.Choices[0].Delta["role"])
		}
		if s, ok := c.Choices[0].Delta["content"].(string); ok {
			text += s
		}
		switch {
		case c.Choices[0].FinishReason != nil && finish != "":
			return "", "", nil, errors.New("two finish reasons")
		case c.Choices[0].FinishReason != nil:
			finish = *c.Choices[0].FinishReason
		case finish != "":
			return "", "", nil, fmt.Errorf("chunk %d after the finish chunk", i)
		}
	}
	if finish == "" {
		return "", "", nil, errors.New("no finish_reason")
	}
	return text, finish, u, nil
}

func streamText(t *testing.T, body string) (text, finish string, u *usage) {
	t.Helper()
	text, finish, u, err := parseStream(body)
	if err != nil {
		t.Fatal(err)
	}
	return text, finish, u
}

func TestStreamEqualsNonStream(t *testing.T) {
	prompts := []string{"Hi", "the quick brown fox", "ünïcødé ✓ test"}
	for _, p := range prompts {
		s := newTestServer(t, Config{}, newFake())
		body := fmt.Sprintf(`{"messages":[{"role":"system","content":"sys"},{"role":"user","content":%q}],"temperature":0`, p)
		rec := do(t, s.Handler(), "POST", "/v1/chat/completions", body+"}")
		var c completion
		if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		rec = do(t, s.Handler(), "POST", "/v1/chat/completions", body+`,"stream":true,"stream_options":{"include_usage":true}}`)
		text, finish, u := streamText(t, rec.Body.String())
		if text != c.Choices[0].Message.Content || finish != c.Choices[0].FinishReason {
			t.Errorf("%q: stream %q/%s, non-stream %q/%s", p, text, finish, c.Choices[0].Message.Content, c.Choices[0].FinishReason)
		}
		if u == nil || *u != c.Usage {
			t.Errorf("%q: stream usage %+v, non-stream %+v", p, u, c.Usage)
		}
	}
}

func TestStreamStopAndLength(t *testing.T) {
	tests := []struct {
		name, extra, text, finish string
	}{
		{"stop string", `"stop":" c"`, "Echo: a b", "stop"},
		{"stop list", `"stop":["zzz","b"]`, "Echo: a ", "stop"},
		{"max_tokens", `"max_tokens":3`, "Echo:", "length"},
		{"max_completion_tokens", `"max_completion_tokens":4`, "Echo: a", "length"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, Config{}, newFake())
			rec := do(t, s.Handler(), "POST", "/v1/chat/completions",
				`{"messages":[{"role":"user","content":"a b c d"}],"stream":true,`+tc.extra+`}`)
			text, finish, _ := streamText(t, rec.Body.String())
			if text != tc.text || finish != tc.finish {
				t.Errorf("got %q/%s, want %q/%s", text, finish, tc.text, tc.finish)
			}
		})
	}
}

func TestStreamMidStreamError(t *testing.T) {
	f := newFake()
	f.failAfter = 2
	s := newTestServer(t, Config{}, f)
	rec := do(t, s.Handler(), "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a b c"}],"stream":true}`)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	evs := sseEvents(t, rec.Body.String())
	if len(evs) != 4 { // role, "Echo", ":", error
		t.Fatalf("events %q", evs)
	}
	last := evs[len(evs)-1]
	var b errorBody
	if err := json.Unmarshal([]byte(last), &b); err != nil || b.Error.Type != typeServer || deref(b.Error.Code) != "internal" {
		t.Errorf("last event %s (%v)", last, err)
	}
	if strings.Contains(rec.Body.String(), "[DONE]") || strings.Contains(rec.Body.String(), "finish_reason\":\"") {
		t.Error("a failed stream ended as if it had finished")
	}
}

// postStream starts a streaming request on a real server and returns the
// response once its headers arrive.
func postStream(ctx context.Context, t *testing.T, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "POST", url+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// TestDisconnectCancels checks that a client that goes away ends its
// generation at once and frees the model for the next request.
func TestDisconnectCancels(t *testing.T) {
	for _, stream := range []bool{true, false} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			f := newFake()
			f.tokenDelay = 2 * time.Millisecond
			s := newTestServer(t, Config{QueueSize: -1}, f)
			ts := httptest.NewServer(s.Handler())
			defer ts.Close()

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			body := fmt.Sprintf(`{"messages":[{"role":"user","content":"forever"}],"stream":%v}`, stream)
			if stream {
				resp := postStream(ctx, t, ts.URL, body)
				defer resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				line, err := bufio.NewReader(resp.Body).ReadString('\n')
				if err != nil || !strings.Contains(line, `"role":"assistant"`) {
					t.Fatalf("first line %q, %v", line, err)
				}
			} else {
				go func() {
					req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/chat/completions", strings.NewReader(body))
					resp, err := http.DefaultClient.Do(req)
					if err == nil {
						resp.Body.Close()
					}
					done <- err
				}()
				waitFor(t, f.started, "the generation to start")
			}
			start := time.Now()
			cancel()
			waitFor(t, f.cancelled, "the engine to see the cancellation")
			if d := time.Since(start); d > time.Second {
				t.Errorf("cancellation took %v", d)
			}
			if !stream {
				if err := waitFor(t, done, "the client"); err == nil {
					t.Error("the cancelled request did not fail on the client")
				}
			}
			// The model is free again: without a queue a stuck generation would give 429.
			deadline := time.Now().Add(5 * time.Second)
			for {
				resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(hiRequest))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the next request still fails: %d %s", resp.StatusCode, b)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// TestQueuedClientDisconnects checks that a request waiting in the queue
// leaves it when its client goes.
func TestQueuedClientDisconnects(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{})
	s := newTestServer(t, Config{QueueSize: 1}, f)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	first := make(chan int, 1)
	go func() {
		resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(hiRequest))
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	waitFor(t, f.started, "the first generation")

	ctx, cancel := context.WithCancel(context.Background())
	queued := make(chan struct{})
	go func() {
		defer close(queued)
		req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/chat/completions", strings.NewReader(hiRequest))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitUntil(t, func() bool { return len(s.slots) == 2 }, "the second request to queue")
	cancel()
	<-queued
	waitUntil(t, func() bool { return len(s.slots) == 1 }, "the queued request to leave")
	close(f.gate)
	if code := waitFor(t, first, "the first request"); code != 200 {
		t.Errorf("first request: %d", code)
	}
}

func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBusyAndQueue(t *testing.T) {
	t.Run("queue full", func(t *testing.T) {
		f := newFake()
		f.gate = make(chan struct{})
		s := newTestServer(t, Config{QueueSize: 1}, f)
		h := s.Handler()
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = do(t, h, "POST", "/v1/chat/completions", hiRequest).Code
			}()
			if i == 0 {
				waitFor(t, f.started, "the first generation")
			}
		}
		waitUntil(t, func() bool { return len(s.slots) == 2 }, "one running and one queued")
		rec := do(t, h, "POST", "/v1/chat/completions", hiRequest)
		if rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("third request: %d Retry-After=%q", rec.Code, rec.Header().Get("Retry-After"))
		}
		if e := apiErr(t, rec); deref(e.Code) != codeQueueFull || e.Type != typeRateLimit {
			t.Errorf("error %+v", e)
		}
		close(f.gate)
		wg.Wait()
		if codes[0] != 200 || codes[1] != 200 {
			t.Errorf("running and queued requests: %v", codes)
		}
	})
	t.Run("no queue", func(t *testing.T) {
		f := newFake()
		f.gate = make(chan struct{})
		s := newTestServer(t, Config{QueueSize: -1}, f)
		h := s.Handler()
		done := make(chan int)
		go func() { done <- do(t, h, "POST", "/v1/chat/completions", hiRequest).Code }()
		waitFor(t, f.started, "the first generation")
		for _, stream := range []string{"false", "true"} {
			rec := do(t, h, "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"stream":`+stream+`}`)
			if rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
				t.Errorf("stream=%s: %d", stream, rec.Code)
			}
		}
		close(f.gate)
		if c := <-done; c != 200 {
			t.Errorf("first: %d", c)
		}
	})
	t.Run("engine busy elsewhere", func(t *testing.T) {
		// The desktop app generates with the same model: without a queue
		// the server answers 429 busy; with one it waits its turn.
		f := newFake()
		f.sem <- struct{}{} // held by "the app"
		s := newTestServer(t, Config{QueueSize: -1}, f)
		rec := do(t, s.Handler(), "POST", "/v1/chat/completions", hiRequest)
		if rec.Code != 429 || deref(apiErr(t, rec).Code) != "busy" {
			t.Errorf("no queue: %d %s", rec.Code, rec.Body)
		}
		s = newTestServer(t, Config{QueueSize: 2}, f)
		done := make(chan int)
		go func() { done <- do(t, s.Handler(), "POST", "/v1/chat/completions", hiRequest).Code }()
		select {
		case c := <-done:
			t.Fatalf("did not wait: %d", c)
		case <-time.After(50 * time.Millisecond):
		}
		<-f.sem // "the app" finishes
		if c := waitFor(t, done, "the queued request"); c != 200 {
			t.Errorf("queued: %d", c)
		}
	})
}

// TestConcurrentRequests runs streaming and non-streaming requests at once
// (run with -race): each gets its own answer.
func TestConcurrentRequests(t *testing.T) {
	f := newFake()
	s := newTestServer(t, Config{QueueSize: 16}, f)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			word := fmt.Sprintf("w%d", i)
			stream := i%2 == 0
			body := fmt.Sprintf(`{"messages":[{"role":"user","content":%q}],"stream":%v}`, word, stream)
			resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 {
				errs <- fmt.Errorf("request %d: %d %v %s", i, resp.StatusCode, err, b)
				return
			}
			var text string
			if stream {
				if text, _, _, err = parseStream(string(b)); err != nil {
					errs <- fmt.Errorf("request %d: %w", i, err)
					return
				}
			} else {
				var c completion
				if err := json.Unmarshal(b, &c); err != nil {
					errs <- err
					return
				}
				text = c.Choices[0].Message.Content
			}
			if want := "Echo: " + word + "."; text != want {
				errs <- fmt.Errorf("request %d got %q, want %q", i, text, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(s.slots) != 0 {
		t.Errorf("%d slots still held", len(s.slots))
	}
}

// TestServeAndShutdown runs the real listener: Shutdown (or the end of
// Serve's context) ends an open stream with an error event, the generation
// is cancelled and Serve returns nil.
func TestServeAndShutdown(t *testing.T) {
	for _, how := range []string{"Shutdown", "context"} {
		t.Run(how, func(t *testing.T) {
			f := newFake()
			f.tokenDelay = time.Millisecond
			s := newTestServer(t, Config{}, f)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			serveCtx, stopServe := context.WithCancel(context.Background())
			defer stopServe()
			served := make(chan error, 1)
			go func() { served <- s.Serve(serveCtx, ln) }()
			url := "http://" + ln.Addr().String()
			resp := postStream(context.Background(), t, url, `{"messages":[{"role":"user","content":"forever"}],"stream":true}`)
			defer resp.Body.Close()
			if s.URL() != url+"/v1" {
				t.Errorf("URL %q", s.URL())
			}
			br := bufio.NewReader(resp.Body)
			if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, "assistant") {
				t.Fatalf("first line %q %v", line, err)
			}
			if how == "Shutdown" {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := s.Shutdown(ctx); err != nil {
					t.Fatalf("Shutdown: %v", err)
				}
			} else {
				stopServe()
				if err := waitFor(t, served, "Serve to return"); err != nil {
					t.Errorf("Serve: %v", err)
				}
				// Serve returned after the graceful shutdown: the generation has ended.
				select {
				case <-f.cancelled:
				default:
					t.Error("Serve returned before the generation ended")
				}
			}
			rest, _ := io.ReadAll(br)
			evs := strings.Split(strings.TrimSpace(string(rest)), "\n\n")
			if last := evs[len(evs)-1]; !strings.Contains(last, `"code":"shutting_down"`) {
				t.Errorf("last event %q", last)
			}
			if how == "Shutdown" {
				if err := waitFor(t, served, "Serve to return"); err != nil {
					t.Errorf("Serve: %v", err)
				}
			}
			if err := s.Serve(context.Background(), ln); err == nil {
				t.Error("a second Serve succeeded")
			}
		})
	}
}

func TestListenAndServeContext(t *testing.T) {
	port := freePort(t)
	s := New(Config{Port: port}, &ModelHolder{})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.ListenAndServe(ctx) }()
	waitUntil(t, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 503
	}, "the server to answer")
	cancel()
	if err := waitFor(t, served, "ListenAndServe to return"); err != nil {
		t.Errorf("ListenAndServe: %v", err)
	}
	// The port is taken: ListenAndServe reports it at once.
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := New(Config{Port: port}, &ModelHolder{}).ListenAndServe(context.Background()); err == nil {
		t.Error("no error for a port in use")
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
