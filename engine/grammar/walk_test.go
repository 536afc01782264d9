package grammar

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ecmaRegexp adapts regexp2 in ECMAScript mode to the validator, so that
// patterns are also checked with ECMA-262 semantics.
type ecmaRegexp struct{ re *regexp2.Regexp }

func (r ecmaRegexp) MatchString(s string) bool {
	ok, err := r.re.MatchString(s)
	return ok && err == nil
}

func (r ecmaRegexp) String() string { return r.re.String() }

// validators compiles schema with the independent validator twice: with Go
// regexps and with ECMAScript regexps (skipped when regexp2 cannot compile a
// pattern). Formats are asserted.
func validators(t testing.TB, schema []byte) []*jsonschema.Schema {
	t.Helper()
	var out []*jsonschema.Schema
	for _, ecma := range []bool{false, true} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if ecma {
			c.UseRegexpEngine(func(s string) (jsonschema.Regexp, error) {
				re, err := regexp2.Compile(s, regexp2.ECMAScript)
				if err != nil {
					return nil, err
				}
				return ecmaRegexp{re}, nil
			})
		}
		if err := c.AddResource("schema.json", doc); err != nil {
			t.Fatal(err)
		}
		sch, err := c.Compile("schema.json")
		if err != nil {
			if ecma {
				t.Logf("ECMAScript validator unavailable: %v", err)
				continue
			}
			t.Fatal(err)
		}
		out = append(out, sch)
	}
	return out
}

// checkDoc parses doc with encoding/json and validates it.
func checkDoc(t testing.TB, vals []*jsonschema.Schema, doc []byte) {
	t.Helper()
	var x any
	if err := json.Unmarshal(doc, &x); err != nil {
		t.Fatalf("output does not parse: %v\n%q", err, doc)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		if err := v.Validate(inst); err != nil {
			t.Fatalf("output is not valid: %v\n%s", err, doc)
		}
	}
}

type walkModel int

const (
	modelUniform walkModel = iota // any allowed token, uniformly
	modelLong                     // prefers long tokens and closing punctuation
	modelCloser                   // strongly prefers tokens that close things
)

func (m walkModel) String() string { return [...]string{"uniform", "long", "closer"}[m] }

func maskHas(mask []uint64, id int32) bool { return mask[id>>6]>>(id&63)&1 != 0 }

func closers(tok []byte) int {
	n := 0
	for _, c := range tok {
		switch c {
		case '"', '}', ']', ',':
			n++
		}
	}
	return n
}

// modelWeights holds per-token weights of the biased models.
var modelWeights = sync.OnceValue(func() [3][]float64 {
	v := testVocab()
	var w [3][]float64
	for m := range w {
		w[m] = make([]float64, v.n)
		for id, tok := range v.toks {
			switch walkModel(m) {
			case modelUniform:
				w[m][id] = 1
			case modelLong:
				w[m][id] = float64(len(tok)) + 30*float64(closers(tok))
			case modelCloser:
				w[m][id] = 1 + float64(len(tok)) + 2000*float64(closers(tok))
			}
		}
	}
	return w
})

// pick chooses a token among ids according to the model.
func pick(rng *rand.Rand, v *Vocab, ids []int32, model walkModel) int32 {
	if model == modelUniform {
		return ids[rng.IntN(len(ids))]
	}
	weights := modelWeights()[model]
	total := 0.0
	for _, id := range ids {
		total += weights[id]
	}
	x := rng.Float64() * total
	for _, id := range ids {
		if x < weights[id] {
			return id
		}
		x -= weights[id]
	}
	return ids[len(ids)-1]
}

// walkStats accumulates counts over all walks, for the test log.
type walkStats struct {
	walks, completed, finished, steps, allowsChecks int
}

// randomWalk generates up to steps tokens with a random model, checking at
// every step that Allows agrees with the Mask on sampled tokens, that the
// chosen token is accepted, and (every few steps) that the state can still be
// completed. It returns the document, completed with Completion when the step
// limit was hit.
func randomWalk(t testing.TB, g *Grammar, v *Vocab, seed uint64, model walkModel, steps int, st *walkStats) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, uint64(model)+100))
	m := g.NewMatcher(v)
	var out []byte
	var mask []uint64
	var ids []int32
	st.walks++
	for step := 0; ; step++ {
		if m.CanEnd() || m.Complete() && rng.IntN(3) == 0 {
			st.completed++
			return out
		}
		if step == steps {
			break
		}
		mask = m.Mask(mask)
		ids = bitsToIDs(mask, ids[:0])
		if len(ids) == 0 {
			if m.Complete() {
				st.completed++
				return out
			}
			t.Fatalf("dead end: no token allowed after %q", out)
		}
		// Allows must agree with the mask: on special tokens, random tokens
		// and random allowed tokens.
		for k := 0; k < 48; k++ {
			var id int32
			switch {
			case k < 2:
				id = int32(v.n - 1 - rng.IntN(8))
			case k < 32:
				id = int32(rng.IntN(v.n))
			default:
				id = ids[rng.IntN(len(ids))]
			}
			if m.Allows(id) != maskHas(mask, id) {
				t.Fatalf("Allows(%d %q) = %v, mask says %v, after %q", id, v.toks[id], m.Allows(id), maskHas(mask, id), out)
			}
			st.allowsChecks++
		}
		id := pick(rng, v, ids, model)
		if err := m.Accept(id); err != nil {
			t.Fatalf("Accept(%q) after %q: %v", v.toks[id], out, err)
		}
		out = append(out, v.toks[id]...)
		st.steps++
		if step%7 == 0 {
			c := m.Clone()
			comp := c.Completion()
			if err := c.AcceptBytes(comp); err != nil || !c.Complete() {
				t.Fatalf("cannot complete %q with %q: %v", out, comp, err)
			}
		}
	}
	comp := m.Completion()
	if err := m.AcceptBytes(comp); err != nil {
		t.Fatalf("completion %q of %q refused: %v", comp, out, err)
	}
	if !m.Complete() {
		t.Fatalf("completion %q of %q does not complete", comp, out)
	}
	st.finished++
	return append(out, comp...)
}

type corpusCase struct {
	name   string
	schema []byte
}

func loadCorpus(t testing.TB) []corpusCase {
	files, err := filepath.Glob("testdata/schemas/*.json")
	if err != nil || len(files) < 30 {
		t.Fatalf("corpus: %v (%d files)", err, len(files))
	}
	var cs []corpusCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, corpusCase{strings.TrimSuffix(filepath.Base(f), ".json"), b})
	}
	return cs
}

func TestRandomWalks(t *testing.T) {
	v := testVocab()
	seeds, steps := 5, 300
	switch {
	case raceOn:
		seeds, steps = 1, 80
	case testing.Short():
		seeds, steps = 2, 120
	}
	cases := append(loadCorpus(t), corpusCase{"json_object", nil})
	var total walkStats
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var g *Grammar
			var vals []*jsonschema.Schema
			if tc.schema == nil {
				g = JSONObject()
				vals = validators(t, []byte(`{"type":"object"}`))
			} else {
				var err error
				if g, err = CompileSchema(tc.schema); err != nil {
					t.Fatal(err)
				}
				vals = validators(t, tc.schema)
			}
			var st walkStats
			for seed := uint64(1); seed <= uint64(seeds); seed++ {
				for _, model := range []walkModel{modelUniform, modelLong, modelCloser} {
					doc := randomWalk(t, g, v, seed, model, steps, &st)
					checkDoc(t, vals, doc)
					if seed == 1 && testing.Verbose() {
						t.Logf("%s: %.300q", model, doc)
					}
				}
			}
			total.walks += st.walks
			total.completed += st.completed
			total.finished += st.finished
			total.steps += st.steps
			total.allowsChecks += st.allowsChecks
		})
	}
	t.Logf("%d walks (%d completed by the model, %d finished with Completion), %d steps, %d Allows/Mask checks",
		total.walks, total.completed, total.finished, total.steps, total.allowsChecks)
}
