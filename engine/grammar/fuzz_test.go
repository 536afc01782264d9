package grammar

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// fuzzVocab is small so that fuzzing runs many inputs: the 256 single bytes
// and some JSON-shaped tokens.
var fuzzVocab = func() *Vocab {
	var toks [][]byte
	for b := 0; b < 256; b++ {
		toks = append(toks, []byte{byte(b)})
	}
	for _, s := range []string{`{"`, `":`, `",`, `"}`, `":"`, `true`, `null`, `false`, `12`, `-0.5`, `\u00`, "\n  ", `é`, `[{`, `}]`} {
		toks = append(toks, []byte(s))
	}
	return NewVocab(toks, nil)
}()

// FuzzCompile feeds arbitrary bytes to CompileSchema: it must never panic,
// and a compiled grammar must run: random tokens from its masks, then its
// completion, must give a complete document that encoding/json parses.
func FuzzCompile(f *testing.F) {
	files, _ := filepath.Glob("testdata/schemas/*.json")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{`{}`, `true`, `{"type":"string","pattern":"^(a|b)*c{2,3}$"}`,
		`{"enum":[1,"x",{"a":[null]}]}`, `{"allOf":[{"$ref":"#/$defs/a"}],"$defs":{"a":{"type":"integer","minimum":3}}}`,
		`{"type":"number","exclusiveMinimum":0.1,"maximum":0.3,"multipleOf":0.01}`, `{"$ref":"#"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := CompileSchema(data)
		if err != nil {
			return
		}
		rng := rand.New(rand.NewPCG(uint64(len(data)), 1))
		m := g.NewMatcher(fuzzVocab)
		var out []byte
		var mask []uint64
		var ids []int32
		for step := 0; step < 20 && !m.Complete(); step++ {
			mask = m.Mask(mask)
			ids = bitsToIDs(mask, ids[:0])
			if len(ids) == 0 {
				t.Fatalf("dead end after %q", out)
			}
			id := ids[rng.IntN(len(ids))]
			if !m.Allows(id) {
				t.Fatalf("mask and Allows disagree on %q", fuzzVocab.toks[id])
			}
			if err := m.Accept(id); err != nil {
				t.Fatal(err)
			}
			out = append(out, fuzzVocab.toks[id]...)
		}
		c := m.Completion()
		if err := m.AcceptBytes(c); err != nil || !m.Complete() {
			t.Fatalf("completion %q of %q: %v", c, out, err)
		}
		if doc := append(out, c...); !json.Valid(doc) {
			t.Fatalf("invalid JSON %q", doc)
		}
	})
}

// FuzzJSONObject feeds arbitrary bytes to the json_object matcher: whatever
// it accepts must be a prefix of a JSON object that its completion finishes.
func FuzzJSONObject(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e3,"x\u00e9\ud83d\ude00",{"b":null}]}`, "{\n  \"k\": true\n}", `{"":-0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := JSONObject().NewMatcher(fuzzVocab)
		n := 0
		for ; n < len(data); n++ {
			if m.AcceptBytes(data[n:n+1]) != nil {
				break
			}
		}
		if m.Complete() && !json.Valid(data[:n]) {
			t.Fatalf("accepted invalid JSON %q", data[:n])
		}
		c := m.Completion()
		if err := m.AcceptBytes(c); err != nil || !m.Complete() {
			t.Fatalf("completion %q of %q: %v", c, data[:n], err)
		}
		doc := append(append([]byte(nil), data[:n]...), c...)
		var x map[string]any
		if err := json.Unmarshal(doc, &x); err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
	})
}
