package grammar

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// benchSchema is a typical structured-output schema.
const benchSchema = `{"type":"object","properties":{
 "name":{"type":"string"},
 "age":{"type":"integer","minimum":0,"maximum":150},
 "status":{"type":"string","enum":["pending","active","inactive","done"]},
 "tags":{"type":"array","items":{"type":"string"}},
 "score":{"type":"number"}},
 "required":["name","age","status","tags","score"],"additionalProperties":false}`

// benchStates are the states benchmarked: a grammar and a prefix.
var benchStates = []struct {
	name, schema, prefix string
}{
	{"start", "", ``},
	{"start_schema", benchSchema, ``},
	{"key_free", "", `{"na`},
	{"key_schema", benchSchema, `{"na`},
	{"string_free", benchSchema, `{"name": "Hello wor`},
	{"string_free_json_object", "", `{"a": "Hello wor`},
	{"after_colon", "", `{"a":`},
	{"after_colon_schema", benchSchema, `{"name":`},
	{"number", benchSchema, `{"name": "x", "age": 4`},
	{"number_free", "", `{"a": 12`},
	{"enum", benchSchema, `{"name": "x", "age": 4, "status": "ac`},
	{"after_value", benchSchema, `{"name": "x"`},
	{"array_string", benchSchema, `{"name": "x", "age": 4, "status": "done", "tags": ["fo`},
}

func benchMatcher(b testing.TB, schema, prefix string) *Matcher {
	v := testVocab()
	g := JSONObject()
	if schema != "" {
		var err error
		if g, err = CompileSchema([]byte(schema)); err != nil {
			b.Fatal(err)
		}
	}
	m := g.NewMatcher(v)
	if err := m.AcceptBytes([]byte(prefix)); err != nil {
		b.Fatal(err)
	}
	return m
}

func BenchmarkMask(b *testing.B) {
	for _, s := range benchStates {
		b.Run(s.name, func(b *testing.B) {
			m := benchMatcher(b, s.schema, s.prefix)
			mask := m.Mask(nil) // warm the caches, as a generation would
			n := 0
			for _, w := range mask {
				for ; w != 0; w &= w - 1 {
					n++
				}
			}
			b.ReportMetric(float64(n), "allowed")
			b.ResetTimer()
			for b.Loop() {
				mask = m.Mask(mask)
			}
		})
	}
}

// BenchmarkMaskCold measures a Mask whose string-state cache entry must be
// built first (the first time a state is met with a vocabulary).
func BenchmarkMaskCold(b *testing.B) {
	for _, s := range []string{"string_free", "enum"} {
		for _, st := range benchStates {
			if st.name != s {
				continue
			}
			b.Run(s, func(b *testing.B) {
				m := benchMatcher(b, st.schema, st.prefix)
				var mask []uint64
				for b.Loop() {
					m.v.cache = newLexCache(256)
					m.gcache = newLexCache(maxGrammarCache)
					mask = m.Mask(mask)
				}
			})
		}
	}
}

func BenchmarkAllows(b *testing.B) {
	for _, s := range benchStates {
		b.Run(s.name, func(b *testing.B) {
			m := benchMatcher(b, s.schema, s.prefix)
			rng := rand.New(rand.NewPCG(1, 1))
			ids := make([]int32, 1024)
			for i := range ids {
				ids[i] = int32(rng.IntN(m.v.Len()))
			}
			b.ResetTimer()
			i := 0
			for b.Loop() {
				m.Allows(ids[i&1023])
				i++
			}
		})
	}
}

// BenchmarkAccept measures a whole constrained generation step (Mask, then
// Accept of an allowed token) over a random walk of the bench schema.
func BenchmarkGenerationStep(b *testing.B) {
	v := testVocab()
	g, err := CompileSchema([]byte(benchSchema))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	m := g.NewMatcher(v)
	var mask []uint64
	var ids []int32
	for b.Loop() {
		if m.Complete() {
			m = g.NewMatcher(v)
		}
		mask = m.Mask(mask)
		ids = bitsToIDs(mask, ids[:0])
		if err := m.Accept(pick(rng, v, ids, modelLong)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewVocab(b *testing.B) {
	toks, special := synthVocab()
	for b.Loop() {
		NewVocab(toks, special)
	}
}

func BenchmarkCompileSchema(b *testing.B) {
	for b.Loop() {
		if _, err := CompileSchema([]byte(benchSchema)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVocabMemory logs the memory a Vocab holds, with its free-string cache
// warmed.
func TestVocabMemory(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	toks, special := synthVocab()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := NewVocab(toks, special)
	m := JSONObject().NewMatcher(v)
	for _, p := range []string{`{"a":"x`, "\xc3", "\xe6", "\xe6\x9d", "\xf0", "\xf0\x9f", "\xf0\x9f\x98", "\xe0", "\xed"} {
		_ = m.AcceptBytes([]byte(p))
		m.Mask(nil)
		m = JSONObject().NewMatcher(v)
		_ = m.AcceptBytes([]byte(`{"a":"x`))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("Vocab of %d tokens: %.1f MB", v.Len(), float64(after.HeapAlloc-before.HeapAlloc)/1e6)
	runtime.KeepAlive(v)
}
