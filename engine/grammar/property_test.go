package grammar

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestMaskMatchesAllowsExhaustive compares Mask with Allows on every token of
// the vocabulary, in many states (including escapes, partial characters,
// pending CR, ambiguous anyOf states and after the end).
func TestMaskMatchesAllowsExhaustive(t *testing.T) {
	v := testVocab()
	amb := `{"anyOf":[{"type":"object","properties":{"a":{"type":"string","pattern":"^x+$"}},"additionalProperties":false},{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"additionalProperties":false}]}`
	states := []struct{ schema, prefix string }{
		{"", `{"a":"\`}, {"", `{"a":"\u`}, {"", `{"a":"\u0`}, {"", `{"a":"\uD`}, {"", `{"a":"\uD8`}, {"", `{"a":"\uD83`},
		{"", `{"a":"\uD83D\`}, {"", `{"a":"\uD83D\uD`}, {"", `{"a":"\uD83D\uDE`}, {"", `{"a":"\uD83D\uDE0`}, {"", `{"a":"\uD83D`}, {"", `{"a":"\uD83D\u`},
		{"", "{\"a\":\"\xe6"}, {"", "{\"a\":\"\xe6\x9d"}, {"", "{\"a\":\"\xf0"}, {"", "{\r"}, {"", `{"a":-`},
		{"", `{"a":1.`}, {"", `{"a":1e`}, {"", `{"a":tr`}, {"", `{"a":[`}, {"", `{"a":[1,`}, {"", `{"a":{}`}, {"", `{}`},
		{amb, `{"a":"x`}, {amb, `{"a":"xx"`}, {amb, `{`},
		{`{"type":"string","maxLength":3}`, `"ab`}, {`{"type":"string","minLength":40}`, `"ab`},
		{`{"type":"string","pattern":"^[a-z ]+$"}`, `"ab`}, {`{"type":"string","pattern":"^[a-z \"\n]+$"}`, `"ab\`},
		{`{"enum":["a\"b","a\\c",1,12]}`, `"a`}, {`{"enum":["a\"b","a\\c",1,12]}`, `1`},
		{`{"type":"number","minimum":-2.5,"maximum":1000}`, `-2`}, {`{"type":"integer"}`, `12`},
	}
	for _, s := range benchStates {
		states = append(states, struct{ schema, prefix string }{s.schema, s.prefix})
	}
	for _, s := range states {
		g := JSONObject()
		if s.schema != "" {
			g = mustCompile(t, s.schema)
		}
		m := g.NewMatcher(v)
		if err := m.AcceptBytes([]byte(s.prefix)); err != nil {
			t.Fatalf("%q: %v", s.prefix, err)
		}
		mask := m.Mask(nil)
		n := 0
		for id := int32(0); id < int32(v.Len()); id++ {
			a := m.Allows(id)
			if a != maskHas(mask, id) {
				t.Fatalf("%s after %q: token %q: Allows %v, mask %v", s.schema, s.prefix, v.toks[id], a, !a)
			}
			if a {
				n++
			}
		}
		if n == 0 && !m.Complete() {
			t.Fatalf("%s after %q: nothing allowed", s.schema, s.prefix)
		}
		c := m.Completion()
		if err := m.AcceptBytes(c); err != nil || !m.Complete() {
			t.Fatalf("%s after %q: completion %q: %v", s.schema, s.prefix, c, err)
		}
	}
}

// TestIntegerBoundsExact enumerates integers and checks that exactly the
// valid ones are accepted, and that the shortest completion is the shortest
// valid number.
func TestIntegerBoundsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 60; trial++ {
		var parts []string
		lo, hi, mod := int64(-1<<40), int64(1<<40), int64(1)
		if rng.IntN(4) > 0 {
			x := int64(rng.IntN(400) - 200)
			if rng.IntN(2) == 0 {
				parts = append(parts, fmt.Sprintf(`"minimum":%d`, x))
				lo = x
			} else {
				parts = append(parts, fmt.Sprintf(`"exclusiveMinimum":%d.5`, x))
				lo = x + 1 // the smallest integer above x.5 (x >= 0) or above -(|x|+0.5)
				if x < 0 {
					lo = x
				}
			}
		}
		if rng.IntN(4) > 0 {
			x := int64(rng.IntN(400) - 150)
			if rng.IntN(2) == 0 {
				parts = append(parts, fmt.Sprintf(`"maximum":%d`, x))
				hi = x
			} else {
				parts = append(parts, fmt.Sprintf(`"exclusiveMaximum":%d`, x))
				hi = x - 1
			}
		}
		if rng.IntN(3) == 0 {
			mod = int64(2 + rng.IntN(12))
			parts = append(parts, fmt.Sprintf(`"multipleOf":%d`, mod))
		}
		schema := `{"type":"integer"` + strings.Join(append([]string{""}, parts...), ",") + `}`
		g, err := CompileSchema([]byte(schema))
		valid := func(x int64) bool { return x >= lo && x <= hi && x%mod == 0 }
		any := false
		shortest := 100
		for x := int64(-400); x <= 400; x++ {
			if valid(x) {
				any = true
				shortest = min(shortest, len(strconv.FormatInt(x, 10)))
			}
		}
		if lo <= -400 || hi >= 400 {
			any = true
			shortest = min(shortest, 1) // 0, or a one-digit multiple... checked below
		}
		if err != nil {
			if any {
				t.Fatalf("%s: %v", schema, err)
			}
			continue
		}
		for x := int64(-400); x <= 400; x++ {
			s := strconv.FormatInt(x, 10)
			n, complete := feed(g, s)
			if got := n == len(s) && complete; got != valid(x) {
				t.Fatalf("%s: %s accepted=%v", schema, s, got)
			}
		}
		m := g.NewMatcher(testVocab())
		c := m.Completion()
		if x, err := strconv.ParseInt(string(c), 10, 64); err != nil || !valid(x) {
			t.Fatalf("%s: completion %q", schema, c)
		}
		if lo > -400 && hi < 400 && len(c) != shortest {
			t.Fatalf("%s: completion %q, shortest valid has %d bytes", schema, c, shortest)
		}
	}
}

// TestDecimalBoundsExact enumerates decimals with up to three fraction
// digits around the bounds.
func TestDecimalBoundsExact(t *testing.T) {
	for _, tc := range []struct {
		schema string
		valid  func(r *big.Rat) bool
	}{
		{`{"type":"number","minimum":0.25,"exclusiveMaximum":1.5}`, func(r *big.Rat) bool {
			return r.Cmp(big.NewRat(1, 4)) >= 0 && r.Cmp(big.NewRat(3, 2)) < 0
		}},
		{`{"type":"number","exclusiveMinimum":-1.125,"maximum":-0.5}`, func(r *big.Rat) bool {
			return r.Cmp(big.NewRat(-9, 8)) > 0 && r.Cmp(big.NewRat(-1, 2)) <= 0
		}},
		{`{"type":"number","multipleOf":0.01,"minimum":-1,"maximum":2.005}`, func(r *big.Rat) bool {
			h := new(big.Rat).Mul(r, big.NewRat(100, 1))
			return h.IsInt() && r.Cmp(big.NewRat(-1, 1)) >= 0 && r.Cmp(big.NewRat(2005, 1000)) <= 0
		}},
		{`{"type":"number","maximum":0}`, func(r *big.Rat) bool { return r.Sign() <= 0 }},
		{`{"type":"number","exclusiveMinimum":0}`, func(r *big.Rat) bool { return r.Sign() > 0 }},
	} {
		g := mustCompile(t, tc.schema)
		for k := -3500; k <= 3500; k++ {
			for _, digits := range []int{0, 1, 2, 3} {
				den := []int64{1, 10, 100, 1000}[digits]
				if int64(k)%(1000/den) != 0 {
					continue
				}
				r := big.NewRat(int64(k), 1000)
				s := r.FloatString(digits)
				if k < 0 && s[0] != '-' {
					s = "-" + s
				}
				n, complete := feed(g, s)
				if got := n == len(s) && complete; got != tc.valid(r) {
					t.Fatalf("%s: %s accepted=%v", tc.schema, s, got)
				}
			}
		}
		m := g.NewMatcher(testVocab())
		c := m.Completion()
		r, ok := new(big.Rat).SetString(string(c))
		if !ok || !tc.valid(r) {
			t.Fatalf("%s: completion %q", tc.schema, c)
		}
	}
}

// TestRegexMatchesGo compares compiled patterns with Go's regexp (full
// match) on random and generated strings.
func TestRegexMatchesGo(t *testing.T) {
	patterns := []string{`^abc$`, `a|b|cd`, `^[a-c]+-\d{2,4}$`, `(ab|cd)*x?`, `[^aeiou ]{2}`, `\w+(\s\w+)*`,
		`colou?r`, `[0-9a-fA-F]{1,3}`, `(?:x|y)+z`, `é+|東京`, `[α-ω]+`, `.{0,3}`, `a{2}b{1,}c{0,1}`, `\d*\.\d+`,
		`[\-+]?\d+`, `(a|ab)(c|bcd)(d*)`, `[[:upper:]][[:lower:]]*`, `\p{Lu}\p{Ll}+`, `(?i)ab`, `x*`, `[^\d]`,
		`\D\W\S`, `a\.b\\c\/d`, `^$`, `(a(b(c)?)?)?`}
	rng := rand.New(rand.NewPCG(5, 5))
	alphabet := []string{"a", "b", "c", "d", "x", "y", "z", "A", "Z", "0", "1", "9", "-", "+", ".", " ", "_",
		"é", "東", "京", "α", "ω", "/", "\\", "\t", "\n", "F", "r", "o", "u", "l", "e"}
	for _, p := range patterns {
		d, err := compileRegex(p, "")
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if d, err = finishString(d); err != nil || d == nil {
			t.Fatalf("%s: %v %v", p, d, err)
		}
		re := regexp.MustCompile(`^(?:` + p + `)$`)
		match := func(s string) bool {
			st := d.start
			for i := 0; i < len(s); i++ {
				if st = d.step(st, s[i]); st < 0 {
					return false
				}
			}
			return d.accepting(st)
		}
		for k := 0; k < 3000; k++ {
			var b strings.Builder
			for n := rng.IntN(7); n > 0; n-- {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			// Also walk the DFA at random to get matching strings.
			if k%2 == 1 {
				b.Reset()
				st := d.start
				for n := rng.IntN(8); n > 0 || !d.accepting(st); n-- {
					var next []byte
					for x := 0x20; x < 0x7f; x++ {
						if d.step(st, byte(x)) >= 0 {
							next = append(next, byte(x))
						}
					}
					if len(next) == 0 {
						break
					}
					c := next[rng.IntN(len(next))]
					b.WriteByte(c)
					st = d.step(st, c)
					if n < -20 {
						break
					}
				}
			}
			s := b.String()
			if match(s) != re.MatchString(s) {
				t.Fatalf("pattern %q on %q: DFA %v, regexp %v", p, s, match(s), re.MatchString(s))
			}
		}
	}
	// ECMA-262 \s contains non-ASCII spaces that RE2's does not: \S and '.'
	// must not generate them.
	for _, p := range []string{`\S`, `[^a]`} {
		d, _ := compileRegex(p, "")
		for _, r := range []rune{0xA0, 0x2028, 0x3000, 0xFEFF} {
			s := string(r)
			st := d.start
			for i := 0; i < len(s) && st >= 0; i++ {
				st = d.step(st, s[i])
			}
			if st >= 0 && d.accepting(st) {
				t.Errorf("%s matches U+%04X", p, r)
			}
		}
	}
}

// TestConcurrentMatchers runs matchers of shared grammars on a shared vocab
// in parallel (run with -race); cache entries are built concurrently.
func TestConcurrentMatchers(t *testing.T) {
	v := NewVocab(func() [][]byte { toks, _ := synthVocab(); return toks }(), func(id int) bool { return id >= synthVocabSize-8 })
	gs := []*Grammar{JSONObject(), mustCompile(t, benchSchema), mustCompile(t, `{"type":"array","items":{"type":"string","pattern":"^[a-z ]*$","maxLength":12}}`)}
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var st walkStats
			for i := 0; i < 3; i++ {
				randomWalk(t, gs[(w+i)%len(gs)], v, uint64(100+w*10+i), walkModel(i%3), 40, &st)
			}
		}(w)
	}
	wg.Wait()
}

// nestedAnyOf is depth nested anyOf of width objects each: alternative i
// has "k" (the next level, a string at the bottom) and an integer "n<i>",
// so that alternatives overlap until a key tells them apart.
func nestedAnyOf(width, depth int) string {
	schema := `{"type":"string"}`
	for range depth {
		var as []string
		for i := 0; i < width; i++ {
			as = append(as, fmt.Sprintf(`{"type":"object","properties":{"k":%s,"n%d":{"type":"integer"}}}`, schema, i))
		}
		schema = `{"anyOf":[` + strings.Join(as, ",") + `]}`
	}
	return schema
}

// TestAmbiguousAnyOf: nested overlapping alternatives stay bounded and
// valid.
func TestAmbiguousAnyOf(t *testing.T) {
	schema := nestedAnyOf(8, 3)
	g := mustCompile(t, schema)
	vals := validators(t, []byte(schema))
	v := testVocab()
	m := g.NewMatcher(v)
	doc := `{"k":{"k":{"k":"x","n3":1},"n5":2},"n1":3}`
	for i := 0; i < len(doc); i++ {
		if err := m.AcceptBytes([]byte{doc[i]}); err != nil {
			t.Fatalf("%q: %v", doc[:i+1], err)
		}
		if len(m.cfgs) > maxConfigs {
			t.Fatalf("%d configurations", len(m.cfgs))
		}
	}
	if !m.Complete() {
		t.Fatal("not complete")
	}
	checkDoc(t, vals, []byte(doc))
	var st walkStats
	for seed := uint64(1); seed <= 3; seed++ {
		checkDoc(t, vals, randomWalk(t, g, v, seed, modelCloser, 100, &st))
	}
}

// TestAllowsAgreesWithAccept: where the alternatives outnumber maxConfigs,
// Allows, Mask and Accept still agree on every token (a token Allows or
// Mask lets through is one Accept takes).
func TestAllowsAgreesWithAccept(t *testing.T) {
	g := mustCompile(t, nestedAnyOf(12, 3))
	doc := `{"k":{"k":{"k":"x","n3":1},"n5":2},"n1":3}`
	// The vocabulary: every piece of the document of up to 8 bytes.
	seen := map[string]bool{}
	var toks [][]byte
	for i := range doc {
		for n := 1; n <= 8 && i+n <= len(doc); n++ {
			if p := doc[i : i+n]; !seen[p] {
				seen[p] = true
				toks = append(toks, []byte(p))
			}
		}
	}
	v := NewVocab(toks, nil)
	m := g.NewMatcher(v)
	for i := 0; i < len(doc); i++ {
		mask := m.Mask(nil)
		for id, tok := range toks {
			_, accepts := m.advance(tok)
			if allows := m.Allows(int32(id)); allows != accepts {
				t.Fatalf("after %q, token %q: Allows %v, Accept %v", doc[:i], tok, allows, accepts)
			}
			if inMask := mask[id>>6]>>(id&63)&1 != 0; inMask != accepts {
				t.Fatalf("after %q, token %q: in the mask %v, Accept %v", doc[:i], tok, inMask, accepts)
			}
		}
		if err := m.AcceptBytes([]byte{doc[i]}); err != nil {
			t.Fatalf("%q: %v", doc[:i+1], err)
		}
	}
}
