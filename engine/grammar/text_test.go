package grammar

import (
	"encoding/json"
	"strings"
	"testing"
)

// feed runs s through a new matcher of g byte by byte; it returns how many
// bytes were accepted and whether the value is then complete.
func feed(g *Grammar, s string) (int, bool) {
	m := g.NewMatcher(testVocab())
	for i := 0; i < len(s); i++ {
		if err := m.AcceptBytes([]byte{s[i]}); err != nil {
			return i, false
		}
	}
	return len(s), m.Complete()
}

// textCase: in is valid (fully accepted and complete), a prefix (fully
// accepted, not complete), or rejected (at byte offset bad).
type textCase struct {
	in     string
	valid  bool
	prefix bool
	bad    int
}

func runTextCases(t *testing.T, g *Grammar, cases []textCase) {
	t.Helper()
	for _, tc := range cases {
		n, complete := feed(g, tc.in)
		switch {
		case tc.valid:
			if n != len(tc.in) || !complete {
				t.Errorf("%q: accepted %d bytes, complete %v; want valid", tc.in, n, complete)
			}
		case tc.prefix:
			if n != len(tc.in) || complete {
				t.Errorf("%q: accepted %d bytes, complete %v; want an incomplete prefix", tc.in, n, complete)
			}
		default:
			if n != tc.bad {
				t.Errorf("%q: rejected at byte %d, want %d", tc.in, n, tc.bad)
			}
		}
	}
}

func ok(s string) textCase          { return textCase{in: s, valid: true} }
func part(s string) textCase        { return textCase{in: s, prefix: true} }
func bad(s string, at int) textCase { return textCase{in: s, bad: at} }

func TestJSONText(t *testing.T) {
	sp := strings.Repeat(" ", 32)
	runTextCases(t, JSONObject(), []textCase{
		ok(`{}`), ok(`{ } `), bad(` {}`, 0), ok(`{"a":1}`), ok(`{"a":[1,2,{"b":null}],"c":true,"d":false}`),
		ok(`{"":""}`), ok(`{"a":"x","a":"y"}`),
		bad(`[]`, 0), bad(`"x"`, 0), bad(`1`, 0), bad(`{} {}`, 3), bad(`{}x`, 2),
		bad(`{"a":1,}`, 7), bad(`{,}`, 1), bad(`{"a" 1}`, 5), bad(`{"a":1 "b":2}`, 7), bad(`{'a':1}`, 1),
		part(`{"a":1`), part(`{"a":tru`), part(`{"a":[`), part(`{"a":"`),
		// numbers
		ok(`{"a":0}`), ok(`{"a":-0}`), ok(`{"a":-12.5e+10}`), ok(`{"a":1E-05}`), ok(`{"a":0.000}`),
		bad(`{"a":01}`, 6), bad(`{"a":-01}`, 7), bad(`{"a":1.}`, 7), bad(`{"a":.5}`, 5), bad(`{"a":-}`, 6),
		bad(`{"a":+1}`, 5), bad(`{"a":1e}`, 7), bad(`{"a":1e+}`, 8), bad(`{"a":0x1}`, 6),
		bad(`{"a":1e123}`, 9), ok(`{"a":123456789012345678}`), bad(`{"a":1234567890123456789}`, 23),
		ok(`{"a":1.` + strings.Repeat("5", 18) + `}`), bad(`{"a":1.`+strings.Repeat("5", 19)+`}`, 25),
		bad(`{"a":NaN}`, 5), bad(`{"a":Infinity}`, 5),
		// literals
		ok(`{"a":true}`), ok(`{"a":null}`), bad(`{"a":nul}`, 8), bad(`{"a":True}`, 5), bad(`{"a":truee}`, 9),
		// strings and escapes
		ok(`{"a":"\" \\ \/ \b \f \n \r \t"}`), ok(`{"a":"\u0041\u00e9\uFFFF\u0000"}`),
		ok(`{"a":"\ud83d\ude00"}`), ok(`{"\uD83D\uDE00":1}`),
		bad(`{"a":"\ud83d"}`, 12), bad(`{"a":"\ud83dx"}`, 12), bad(`{"a":"\ud83d\u0041"}`, 14),
		bad(`{"a":"\udc00"}`, 9), bad(`{"a":"\q"}`, 7), bad(`{"a":"\u12G4"}`, 10), bad(`{"a":"\x"}`, 7),
		bad("{\"a\":\"\x01\"}", 6), bad("{\"a\":\"\n\"}", 6), bad("{\"a\":\"\x1f\"}", 6), ok("{\"a\":\"\x7f\"}"),
		// UTF-8
		ok(`{"a":"café 東京 😀"}`), ok("{\"é\":1}"),
		bad("{\"a\":\"\xff\"}", 6), bad("{\"a\":\"\xc0\x80\"}", 6), bad("{\"a\":\"\xc3\"}", 7),
		bad("{\"a\":\"\xed\xa0\x80\"}", 7), bad("{\"a\":\"\xe0\x80\x80\"}", 7), bad("{\"a\":\"\xf4\x90\x80\x80\"}", 7),
		bad("{\"a\":\"\x80\"}", 6), bad("{\"a\":\"\xf5\"}", 6),
		// whitespace: at most one line break and 32 spaces or tabs per gap
		ok("{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}\n"), ok("{\r\n\"a\"\r\n:\r\n1\r\n}\r\n"), bad("\n{}", 0),
		ok("{" + sp + "}" + sp), bad("{"+sp+" }", 33), bad("{\n\n}", 2), bad("{\r}", 2), bad("{\r\r\n}", 2),
		ok("{\t\t\n\t\t}"), bad("{\n}\n\n", 4), bad("{\f}", 1), bad("{\v}", 1),
	})
}

func TestCompleteAndCanEnd(t *testing.T) {
	g, err := CompileSchema([]byte(`{"type":"integer"}`))
	if err != nil {
		t.Fatal(err)
	}
	m := g.NewMatcher(testVocab())
	check := func(s string, complete, canEnd bool) {
		t.Helper()
		if err := m.AcceptBytes([]byte(s)); err != nil {
			t.Fatal(err)
		}
		if m.Complete() != complete || m.CanEnd() != canEnd {
			t.Fatalf("after %q: Complete %v CanEnd %v, want %v %v", s, m.Complete(), m.CanEnd(), complete, canEnd)
		}
	}
	check("", false, false)
	if m.AcceptBytes([]byte(" ")) == nil {
		t.Fatal("whitespace before the value accepted")
	}
	check("1", true, false)
	check("2", true, false)
	check(" ", true, true)
	if m.AcceptBytes([]byte("3")) == nil {
		t.Fatal("digit accepted after the number ended")
	}
	// Objects end at their closing brace.
	m = JSONObject().NewMatcher(testVocab())
	if err := m.AcceptBytes([]byte(`{"a":1}`)); err != nil || !m.Complete() || !m.CanEnd() {
		t.Fatalf("object: %v %v %v", err, m.Complete(), m.CanEnd())
	}
	// Only bounded trailing whitespace may follow.
	mask := m.Mask(nil)
	v := testVocab()
	for _, id := range bitsToIDs(mask, nil) {
		if strings.Trim(string(v.toks[id]), " \t\r\n") != "" {
			t.Fatalf("token %q allowed after the end", v.toks[id])
		}
	}
}

func TestSpecialTokens(t *testing.T) {
	v := testVocab()
	m := JSONObject().NewMatcher(v)
	if err := m.AcceptBytes([]byte(`{"a":"`)); err != nil {
		t.Fatal(err)
	}
	mask := m.Mask(nil)
	for id := v.Len() - 8; id < v.Len(); id++ {
		if maskHas(mask, int32(id)) || m.Allows(int32(id)) || m.Accept(int32(id)) == nil {
			t.Fatalf("special token %q allowed", v.toks[id])
		}
	}
	if m.Allows(-1) || m.Allows(int32(v.Len())) || m.Accept(int32(v.Len())) == nil {
		t.Fatal("out of range id allowed")
	}
}

// TestPartialUTF8Tokens: tokens may end inside a character.
func TestPartialUTF8Tokens(t *testing.T) {
	toks := [][]byte{[]byte(`{"a":"caf`), {0xC3}, {0xA9, '"'}, {'}'}, {0xE6, 0x9D}, {0xB1, '"'}, []byte(`"`),
		{0xA9}, []byte(`{"c":"`), []byte(`{"b":"`)}
	v := NewVocab(toks, nil)
	g, err := CompileSchema([]byte(`{"type":"object","properties":{"a":{"type":"string"},"b":{"enum":["é","東"]},"c":{"type":"string","maxLength":1}},"additionalProperties":false}`))
	if err != nil {
		t.Fatal(err)
	}
	run := func(ids ...int32) error {
		m := g.NewMatcher(v)
		for _, id := range ids {
			if !m.Allows(id) {
				mask := m.Mask(nil)
				if maskHas(mask, id) {
					t.Fatalf("mask and Allows disagree on %q", toks[id])
				}
				return errNo
			}
			if err := m.Accept(id); err != nil {
				return err
			}
		}
		if !m.Complete() {
			return errNo
		}
		return nil
	}
	for _, c := range []struct {
		ids []int32
		ok  bool
	}{
		{[]int32{0, 1, 2, 3}, true},  // "café" split after C3
		{[]int32{0, 1, 6}, false},    // C3 then quote: broken character
		{[]int32{0, 1, 7, 7}, false}, // C3 A9 A9: stray continuation
		{[]int32{9, 1, 2, 3}, true},  // enum "é" written as two pieces
		{[]int32{9, 4, 5, 3}, true},  // enum "東"
		{[]int32{9, 4, 7}, false},    // E6 9D A9 is not in the enum
		{[]int32{8, 4, 5, 3}, true},  // one character fits maxLength 1
		{[]int32{8, 1, 7, 1}, false}, // a second character does not
	} {
		err := run(c.ids...)
		if (err == nil) != c.ok {
			t.Errorf("tokens %v: err %v, want ok=%v", c.ids, err, c.ok)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

const errNo = errString("not allowed")

// TestOutputsParse: documents generated by JSONObject always parse.
func TestJSONObjectValidity(t *testing.T) {
	for _, s := range []string{`{"a":"\u0000\ud800\udc00"}`, `{"x":[[],[{}],-0.0e-00]}`} {
		if n, c := feed(JSONObject(), s); n != len(s) || !c {
			t.Fatalf("%q refused", s)
		}
		var x any
		if err := json.Unmarshal([]byte(s), &x); err != nil {
			t.Fatal(err)
		}
	}
}
