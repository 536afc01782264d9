package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/grammar"
)

// validator compiles a schema with an independent JSON Schema validator
// (formats asserted).
func validator(t *testing.T, schema []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkAnswer checks a structured answer: a finished one parses and is
// valid; one cut by the token limit is a prefix of a valid document (a
// fresh matcher accepts its text).
func checkAnswer(t *testing.T, g *grammar.Grammar, v *jsonschema.Schema, vocab *grammar.Vocab, res engine.Result) bool {
	t.Helper()
	switch res.Stats.FinishReason {
	case engine.FinishStop:
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(res.Text))
		if err != nil {
			t.Fatalf("answer does not parse: %v\n%q", err, res.Text)
		}
		if v != nil {
			if err := v.Validate(inst); err != nil {
				t.Fatalf("answer is not valid: %v\n%s", err, res.Text)
			}
		}
		return true
	case engine.FinishLength:
		m := g.NewMatcher(vocab)
		if err := m.AcceptBytes([]byte(res.Text)); err != nil {
			t.Fatalf("a cut answer is not a prefix of a valid document: %v\n%q", err, res.Text)
		}
		return false
	}
	t.Fatalf("finish reason %q", res.Stats.FinishReason)
	return false
}

// TestStructuredOutputs decodes every schema of engine/grammar's corpus
// with a tiny model of 2B4T's vocabulary (and every fourth with one of
// Falcon3's), sampling at temperature 1 from flat distributions, and
// validates every answer. A random model rarely closes a free string, so
// some answers are cut by the token limit: those must be valid prefixes.
func TestStructuredOutputs(t *testing.T) {
	files, err := filepath.Glob("../grammar/testdata/schemas/*.json")
	if err != nil || len(files) < 30 {
		t.Fatalf("schema corpus: %d files, %v", len(files), err)
	}
	models := []struct {
		preset string
		every  int
	}{{"flat", 1}, {"falcon3-tiny", 4}}
	finished, cut := 0, 0
	for _, mc := range models {
		m := load(t, tinyModel(t, mc.preset, 3, ""), engine.LoadOptions{})
		for i, f := range files {
			if i%mc.every != 0 {
				continue
			}
			schema, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			name := mc.preset + "/" + filepath.Base(f)
			t.Run(name, func(t *testing.T) {
				g, err := grammar.CompileSchema(schema)
				if err != nil {
					t.Fatal(err)
				}
				req := engine.Request{Messages: chat("Answer in JSON."), MaxTokens: 160, Sampling: seeded(int64(i + 1)),
					Format: engine.Format{Type: engine.FormatJSONSchema, Schema: schema}}
				res, err := m.Generate(context.Background(), req, nil)
				if err != nil {
					t.Fatal(err)
				}
				if checkAnswer(t, g, validator(t, schema), m.vocab, res) {
					finished++
				} else {
					cut++
				}
			})
		}
	}
	t.Logf("%d answers finished and valid, %d cut by the token limit and valid prefixes", finished, cut)
	if finished < (finished+cut)/3 {
		t.Errorf("only %d of %d answers finished within 160 tokens", finished, finished+cut)
	}
}

// TestJSONObject: "json_object" answers are JSON objects.
func TestJSONObject(t *testing.T) {
	m := load(t, tinyModel(t, "flat", 5, ""), engine.LoadOptions{})
	g := grammar.JSONObject()
	for seed := range int64(8) {
		sampling := seeded(seed)
		if seed == 0 {
			sampling = greedy()
		}
		req := engine.Request{Messages: chat("JSON please"), MaxTokens: 200, Sampling: sampling,
			Format: engine.Format{Type: engine.FormatJSONObject}}
		res, err := m.Generate(context.Background(), req, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkAnswer(t, g, nil, m.vocab, res)
		if !strings.HasPrefix(strings.TrimSpace(res.Text), "{") {
			t.Fatalf("answer %q is not an object", res.Text)
		}
		if res.Stats.FinishReason == engine.FinishStop && !json.Valid([]byte(res.Text)) {
			t.Fatalf("answer %q", res.Text)
		}
	}
}

// TestStructuredLogprobs: logprobs under a constraint cover the allowed
// tokens only, and the streamed text is the answer.
func TestStructuredLogprobs(t *testing.T) {
	m := load(t, tinyModel(t, "flat", 6, ""), engine.LoadOptions{})
	schema := []byte(`{"type":"object","properties":{"ok":{"type":"boolean"},"n":{"type":"integer","minimum":0,"maximum":9}},"required":["ok","n"],"additionalProperties":false}`)
	var streamed strings.Builder
	res, err := m.Generate(context.Background(), engine.Request{Messages: chat("x"), MaxTokens: 100, Sampling: seeded(2),
		Format: engine.Format{Type: engine.FormatJSONSchema, Schema: schema}, Logprobs: true, TopLogprobs: 5},
		func(tok engine.Token) { streamed.WriteString(tok.Text) })
	if err != nil {
		t.Fatal(err)
	}
	if streamed.String() != res.Text {
		t.Fatalf("streamed %q, answer %q", streamed.String(), res.Text)
	}
	g, _ := grammar.CompileSchema(schema)
	if !checkAnswer(t, g, validator(t, schema), m.vocab, res) {
		t.Fatalf("a 3-key object did not finish in 100 tokens: %q", res.Text)
	}
	mt := g.NewMatcher(m.vocab)
	for i, lp := range res.Logprobs {
		for _, alt := range lp.Top {
			if !mt.Allows(alt.ID) && !m.tok.IsStop(alt.ID) {
				t.Fatalf("token %d: alternative %q is not allowed here", i, alt.Token)
			}
		}
		if lp.Logprob > 0 {
			t.Fatalf("logprob %v > 0", lp.Logprob)
		}
		if !m.tok.IsStop(lp.ID) {
			if err := mt.Accept(lp.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestBadSchemas: schemas the grammar cannot enforce are refused before
// anything is generated, naming the keyword and where it is.
func TestBadSchemas(t *testing.T) {
	m := load(t, tinyModel(t, "tiny", 1, ""), engine.LoadOptions{})
	for _, tc := range []struct{ schema, want string }{
		{`{"type":"object","properties":{"a":{"not":{"type":"string"}}}}`, "#/properties/a"},
		{`{"type":"string","format":"uri"}`, "uri"},
		{`{"type":"strin"}`, "invalid JSON schema"},
		{`{"type":`, "invalid JSON schema"},
	} {
		_, err := m.Generate(context.Background(), engine.Request{Messages: chat("x"), MaxTokens: 5,
			Format: engine.Format{Type: engine.FormatJSONSchema, Schema: json.RawMessage(tc.schema)}}, nil)
		if engine.CodeOf(err) != engine.CodeInvalidRequest || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want invalid_request mentioning %q", tc.schema, err, tc.want)
		}
	}
}
