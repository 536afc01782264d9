package tokenize

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bitnet-desktop/bitnet-desktop/engine/synth/vocab"
)

// trickyTexts are the texts every encoding test runs on.
var trickyTexts = []struct{ name, text string }{
	{"empty", ""},
	{"contraction", "don't"},
	{"contraction upper", "I'LL"},
	{"contraction ve", "we've"},
	{"contractions mixed", "She'd've said DON'T, they're sure it's O'Neil's"},
	{"digits", "12345678"},
	{"digits mixed", "Call 5551234 at 9:30, pi is 3.14159, 1e-5, 0x1F"},
	{"blank line", "a\n\nb"},
	{"crlf", "\r\n"},
	{"crlf lines", "line one\r\nline two\r\n\r\nend"},
	{"space run", "a   b"},
	{"only spaces", "     "},
	{"trailing spaces", "end   "},
	{"leading space", " leading"},
	{"spanish", "¿Qué tal, señor Müller?"},
	{"accents", "naïve café, crème brûlée, Ærøskøbing, İstanbul"},
	{"cjk", "日本語のテキスト、中文字符。한국어 텍스트"},
	{"emoji", "🙂 ok 🚀🚀"},
	{"emoji zwj", "family: 👨‍👩‍👧‍👦 done"},
	{"flags", "🇪🇸🇯🇵🇺🇸"},
	{"skin tone and vs16", "👍🏽 ❤️ ☺︎"},
	{"code tabs", "func main() {\n\tif x := 1; x > 0 {\n\t\treturn\n\t}\n}\n"},
	{"tab mid", "a\tb\t\tc"},
	{"nul", "a\x00b"},
	{"nul only", "\x00"},
	{"control bytes", "\x01\x02\x1b[31mred\x1b[0m\x7f\x08\x0c\v"},
	{"nbsp soft hyphen zwsp", "\u00a0x co\u00adop a\u200bb"},
	{"latin1 range", "\u0100\u0120\u0143 ĀĠŃ"}, // the characters GPT-2's byte alphabet uses
	{"invalid ff", "\xff"},
	{"invalid truncated", "abc\xc3"},
	{"invalid truncated 3", "x\xe2\x82y"},
	{"invalid surrogate", "\xed\xa0\x80"},
	{"invalid overlong", "\xc0\xaf"},
	{"invalid continuation run", "\x80\x80\x80 ok"},
	{"repeat l", "lllll"},
	{"repeat a", "aaaaaaaaaa"},
	{"repeat dash", "----------"},
	{"repeat eq", "==== ===== ======"},
	{"special text", "see <|eot_id|> here"},
	{"special text exact", "<|begin_of_text|>"},
	{"angle", "a < b <| c |> <|x|> <<|"},
	{"html", "<div class=\"x\">Hi &amp; bye</div>"},
	{"corpus", vocab.DefaultCorpus()},
}

// roundTripWant is what Decode(Encode(text)) gives. Two known limitations
// of ollama's byte-level BPE (both shared with the reference tokenizer's
// Encode):
//
//   - invalid UTF-8: the pre-tokenizer works on runes, so every byte that is
//     not part of a valid UTF-8 sequence becomes U+FFFD (one per byte, as Go's
//     []rune conversion does) before encoding;
//   - NUL: ollama's Decode skips the NUL byte token (U+0100), so NUL bytes
//     encode (to the byte token of 0x00) but vanish on decoding.
func roundTripWant(text string) string {
	return strings.ReplaceAll(string([]rune(text)), "\x00", "")
}

func TestRoundTrip(t *testing.T) {
	forSizes(t, func(t *testing.T, fx *fixture) {
		for _, tt := range trickyTexts {
			ids, err := fx.tok.Encode(tt.text, false)
			if err != nil {
				t.Fatalf("%s: Encode: %v", tt.name, err)
			}
			if err := fx.tok.Check(ids); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			got, err := fx.tok.Decode(ids)
			if err != nil {
				t.Fatalf("%s: Decode: %v", tt.name, err)
			}
			if want := roundTripWant(tt.text); got != want {
				t.Errorf("%s: Decode(Encode(%q)) = %q, want %q", tt.name, tt.text, got, want)
			}

			plain, err := fx.tok.EncodePlain(tt.text)
			if err != nil {
				t.Fatalf("%s: EncodePlain: %v", tt.name, err)
			}
			got, err = fx.tok.Decode(plain)
			if err != nil {
				t.Fatalf("%s: Decode: %v", tt.name, err)
			}
			if want := roundTripWant(tt.text); got != want {
				t.Errorf("%s: Decode(EncodePlain(%q)) = %q, want %q", tt.name, tt.text, got, want)
			}
			for _, id := range plain {
				if id >= int32(fx.regular) {
					t.Errorf("%s: EncodePlain gave special id %d", tt.name, id)
				}
			}
			// Without special-token text the two encodings are the same.
			if !fx.hasSpecialText(tt.text) && !slices.Equal(ids, plain) {
				t.Errorf("%s: Encode %v and EncodePlain %v differ", tt.name, ids, plain)
			}
		}
	})
}

// TestKnownLimitations pins the two lossy cases so that a change in them
// (for better or worse) is noticed.
func TestKnownLimitations(t *testing.T) {
	fx := load(t, 128000)
	// NUL: encoded as the byte token of 0x00 (id 188, "Ā"), dropped by Decode.
	ids, err := fx.tok.Encode("\x00", false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []int32{fx.byteID[0]}) || fx.byteID[0] != 188 {
		t.Fatalf("Encode(NUL) = %v, want [%d]", ids, fx.byteID[0])
	}
	if s, _ := fx.tok.Decode(ids); s != "" {
		t.Fatalf("Decode(NUL token) = %q; ollama used to drop NUL, update roundTripWant", s)
	}
	// Invalid UTF-8: each bad byte is encoded as U+FFFD (EF BF BD).
	ids, _ = fx.tok.Encode("\xff\xfe", false)
	want, _ := fx.ref.EncodePlain("\uFFFD\uFFFD")
	if !slices.Equal(ids, want) {
		t.Fatalf("Encode(\\xff\\xfe) = %v, want the tokens of two U+FFFD %v", ids, want)
	}
}

// knownBugSpecialCut: EncodePlain cuts special-token text just after its
// "<", so the pre-tokenizer sees "<" and "|eot_id|>" apart where the
// reference (and Hugging Face / llama.cpp with special parsing off) keep
// the pre-token "<|" (or " [\"<|", ...) whole: the ids differ from the real
// tokenizer's whenever "<|" is a token, as it is in LLaMA-3's vocabulary.
// Set to false once EncodePlain cuts at pre-token boundaries.
const knownBugSpecialCut = false

// knownPlainDiffs returns, for a vocabulary size, the texts of trickyTexts
// whose EncodePlain ids differ from the reference tokenizer's, with the
// reason. Every other text must agree, and every listed one must still
// differ (so that the list stays accurate).
func knownPlainDiffs(regular int) map[string]string {
	known := map[string]string{
		"lllll": tieOrder, // ollama "ll","l","ll"; reference "ll","ll","l"
		"     ": tieOrder, // ollama "   ","  "; reference "  ","   "
	}
	if knownBugSpecialCut {
		known[vocab.DefaultCorpus()] = specialCut // has `"stop": ["<|eot_id|>"]`
		if regular == 128000 {
			// Only this vocabulary has a "<|" token (a filler).
			known["<|begin_of_text|>"] = specialCut // ollama "<","|",...; reference "<|",...
		}
	}
	return known
}

const (
	// ollama's BPE pops equal-rank pairs from a binary heap, which is not
	// stable: in a run of one repeated symbol it does not always merge the
	// leftmost pair first (Hugging Face and the reference do).
	tieOrder = "equal-rank merges not applied leftmost first (ollama heap order)"
	// See knownBugSpecialCut.
	specialCut = "EncodePlain cuts special-token text after its \"<\""
)

func TestEncodePlainMatchesReference(t *testing.T) {
	forSizes(t, func(t *testing.T, fx *fixture) {
		known := knownPlainDiffs(fx.regular)
		for _, tt := range trickyTexts {
			got, err := fx.tok.EncodePlain(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			want, err := fx.ref.EncodePlain(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			reason, isKnown := known[tt.text]
			switch {
			case !isKnown && !slices.Equal(got, want):
				t.Errorf("%s: EncodePlain(%.60q) differs from the reference: %s", tt.name, tt.text,
					fx.diff(t, got, want))
			case isKnown && slices.Equal(got, want):
				t.Errorf("%s: %.60q now agrees with the reference (%s): remove it from knownPlainDiffs", tt.name, tt.text, reason)
			case isKnown:
				t.Logf("%s: known difference (%s): %s", tt.name, reason, fx.diff(t, got, want))
			}
		}
	})
}

// TestPreTokenizerSplits checks the LLaMA-3 pre-tokenizer through the
// tokens: every boundary of the expected pieces must be a token boundary
// (a BPE never merges across pieces). With whole-piece lookup, pieces that
// are tokens come out as one token each.
func TestPreTokenizerSplits(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"don't", []string{"don", "'t"}},
		{"I'LL", []string{"I", "'LL"}},
		{"we've", []string{"we", "'ve"}},
		{"DON'T", []string{"DON", "'T"}},
		{"12345678", []string{"123", "456", "78"}},
		{"a\n\nb", []string{"a", "\n\n", "b"}},
		{"a\r\nb", []string{"a", "\r\n", "b"}},
		{"a   b", []string{"a", "  ", " b"}},
		{"end   ", []string{"end", "   "}},
		{"x!!\n\ny", []string{"x", "!!\n\n", "y"}},
		{"\tif x := 1\n\tgo", []string{"\tif", " x", " :=", " ", "1", "\n", "\tgo"}},
		{"¿Qué tal, señor Müller?", []string{"¿Qué", " tal", ",", " señor", " Müller", "?"}},
		{"日本語 テキスト", []string{"日本語", " テキスト"}},
		{"🙂 ok", []string{"🙂", " ok"}},
		{"a👨‍👩‍👧b", []string{"a", "👨\u200d👩\u200d👧", "b"}},
		{"<|eot_id|>", []string{"<|", "eot", "_id", "|>"}},
	}
	forSizes(t, func(t *testing.T, fx *fixture) {
		for _, tt := range tests {
			ids, err := fx.tok.EncodePlain(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			toks := fx.pieces(t, ids)
			if strings.Join(toks, "") != tt.in {
				t.Fatalf("%q: tokens %q do not spell the text", tt.in, toks)
			}
			tokenEnds := map[int]bool{}
			n := 0
			for _, s := range toks {
				n += len(s)
				tokenEnds[n] = true
			}
			n = 0
			for _, p := range tt.want {
				n += len(p)
				if !tokenEnds[n] {
					t.Errorf("%q: no token boundary after piece %q; tokens %q", tt.in, p, toks)
				}
			}
			// Pieces that are regular tokens are emitted whole. (Not for
			// "<|eot_id|>": EncodePlain cuts it after "<", see
			// TestEncodePlainSpecialText.)
			if strings.Contains(tt.in, "<|") {
				continue
			}
			for _, p := range tt.want {
				ref, _ := fx.ref.EncodePlain(p)
				if len(ref) == 1 && !slices.Contains(toks, p) {
					t.Errorf("%q: piece %q is token %d but the tokens are %q", tt.in, p, ref[0], toks)
				}
			}
		}
	})
}

// TestEncodePlainSpecialText: EncodePlain spells special-token text out as
// plain text (see knownBugSpecialCut).
func TestEncodePlainSpecialText(t *testing.T) {
	fx := load(t, 128000)
	texts := []string{
		"<|eot_id|>",
		"<|begin_of_text|>Hi<|eot_id|>",
		"x<|eot_id|>",
		"a <|start_header_id|>user<|end_header_id|>",
		"<<|eot_id|>>",
		"<|eot_id|><|eot_id|>",
		"<|reserved_special_token_247|>",
		"<|eot_id|>\xff<|eot_id|>",
		"say <|eot_id|>  <|python_tag|>\n\n<|eom_id|>",
	}
	differ := 0
	for _, text := range texts {
		ids, err := fx.tok.EncodePlain(text)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if id >= int32(fx.regular) {
				t.Errorf("EncodePlain(%q) has special id %d", text, id)
			}
		}
		if got, _ := fx.tok.Decode(ids); got != roundTripWant(text) {
			t.Errorf("Decode(EncodePlain(%q)) = %q", text, got)
		}
		want, _ := fx.ref.EncodePlain(text)
		switch {
		case slices.Equal(ids, want):
		case knownBugSpecialCut:
			differ++
			t.Logf("known bug: %q differs from the reference: %s", text, fx.diff(t, ids, want))
		default:
			t.Errorf("EncodePlain(%q) differs from the reference: %s", text, fx.diff(t, ids, want))
		}
	}
	if knownBugSpecialCut && differ == 0 {
		t.Error("EncodePlain agrees with the reference on special-token text: set knownBugSpecialCut to false")
	}
}

// TestEncodePlainRandom compares EncodePlain with the reference on
// pseudo-random mixes of tricky fragments.
func TestEncodePlainRandom(t *testing.T) {
	frags := []string{
		"the", " the", "The", " dog", "'s", "'LL", "n't", " ", "  ", "\t", "\n", "\r\n", "\n\n",
		"1", "23", "4567", ".", ",", "!?", "¿", "é", "ñ", "ü", "中", "語", "🙂", "👨‍👩‍👧", "🇪🇸",
		"\x00", "\x1b", "\u00a0", "{", "}", ":=", "//", "l", "ll", "a", "-", "=", "<", "|", ">",
		"café", "señor", "Müller", "func", "return", "0x1F",
		"<|eot_id|>", "<|begin_of_text|>", "<|reserved_special_token_9|>", "<|", "|>", "\xff",
	}
	forSizes(t, func(t *testing.T, fx *fixture) {
		state := uint64(0x9E3779B97F4A7C15)
		next := func(n int) int {
			state ^= state << 13
			state ^= state >> 7
			state ^= state << 17
			return int(state % uint64(n))
		}
		var b strings.Builder
		mismatches, cut := 0, 0
		const runs = 400
		for range runs {
			b.Reset()
			for range 1 + next(12) {
				b.WriteString(frags[next(len(frags))])
			}
			text := b.String()
			got, _ := fx.tok.EncodePlain(text)
			want, _ := fx.ref.EncodePlain(text)
			dec, _ := fx.tok.Decode(got)
			if dec != roundTripWant(text) {
				t.Errorf("Decode(EncodePlain(%q)) = %q", text, dec)
			}
			if !slices.Equal(got, want) {
				mismatches++
				if knownBugSpecialCut && fx.hasSpecialText(text) {
					cut++
					continue
				}
				if !tieOnly(t, fx, text, got, want) {
					t.Errorf("EncodePlain(%q) differs from the reference: %s", text, fx.diff(t, got, want))
				}
			}
		}
		t.Logf("%d of %d random texts differ from the reference: %d by the special-text cut, the others by equal-rank merge order",
			mismatches, runs, cut)
	})
}

// tieOnly reports whether got and want differ only inside runs of a
// repeated unit (such as "lllll"), the known equal-rank merge order
// difference: cut at the token boundaries the two have in common, every
// segment where they differ must be periodic.
func tieOnly(t *testing.T, fx *fixture, text string, got, want []int32) bool {
	g, w := fx.pieces(t, got), fx.pieces(t, want)
	full := strings.Join(g, "")
	if full != strings.Join(w, "") {
		return false
	}
	ends := func(toks []string) map[int]bool {
		m, n := map[int]bool{}, 0
		for _, s := range toks {
			n += len(s)
			m[n] = true
		}
		return m
	}
	eg, ew := ends(g), ends(w)
	// segments between common boundaries, with the tokens of each side
	start := 0
	var segG, segW []string
	gi, wi, ng, nw := 0, 0, 0, 0
	for end := 1; end <= len(full); end++ {
		if !eg[end] || !ew[end] {
			continue
		}
		segG, segW = segG[:0], segW[:0]
		for gi < len(g) && ng < end {
			segG = append(segG, g[gi])
			ng += len(g[gi])
			gi++
		}
		for wi < len(w) && nw < end {
			segW = append(segW, w[wi])
			nw += len(w[wi])
			wi++
		}
		if !slices.Equal(segG, segW) && !periodic(full[start:end]) {
			t.Logf("segment %q: %q vs %q", full[start:end], segG, segW)
			return false
		}
		start = end
	}
	return true
}

// periodic reports whether s is a shorter string repeated at least twice.
func periodic(s string) bool {
	for n := 1; n <= len(s)/2; n++ {
		if len(s)%n == 0 && strings.Repeat(s[:n], len(s)/n) == s {
			return true
		}
	}
	return false
}

func TestSpecialTokens(t *testing.T) {
	forSizes(t, func(t *testing.T, fx *fixture) {
		tk, v := fx.tok, fx.v
		if tk.BOS != v.BOS || tk.EOS != v.EOS || tk.EOT != v.EOT {
			t.Fatalf("BOS %d EOS %d EOT %d, want %d %d %d", tk.BOS, tk.EOS, tk.EOT, v.BOS, v.EOS, v.EOT)
		}
		if tk.BOS != int32(fx.regular) || tk.EOT != int32(fx.regular+9) {
			t.Fatalf("BOS %d EOT %d for %d regular tokens", tk.BOS, tk.EOT, fx.regular)
		}
		if tk.VocabSize() != len(v.Tokens) || tk.VocabSize() != fx.spec.Vocab {
			t.Fatalf("VocabSize %d, want %d", tk.VocabSize(), len(v.Tokens))
		}
		// <|eom_id|> (+8) ends generation too, as in llama.cpp's
		// end-of-generation set; <|start_header_id|> (+6) does not.
		for id, want := range map[int32]bool{tk.EOT: true, tk.EOS: true, tk.BOS: false, 0: false,
			int32(fx.regular + 8): true, int32(fx.regular + 6): false, int32(fx.regular - 1): false, -1: false} {
			if tk.IsStop(id) != want {
				t.Errorf("IsStop(%d) = %v", id, !want)
			}
		}

		text := "<|begin_of_text|>Hi<|eot_id|>"
		hi, _ := fx.ref.EncodePlain("Hi")
		want := append(append([]int32{tk.BOS}, hi...), tk.EOT)
		ids, err := tk.Encode(text, false)
		if err != nil || !slices.Equal(ids, want) {
			t.Fatalf("Encode(%q) = %v, %v; want %v", text, ids, err, want)
		}
		ids, _ = tk.Encode(text, true)
		if !slices.Equal(ids, append([]int32{tk.BOS}, want...)) {
			t.Fatalf("Encode(%q, addBOS) = %v", text, ids)
		}
		if s, _ := tk.Decode(want); s != text {
			t.Fatalf("Decode(%v) = %q, want %q", want, s, text)
		}
		plain, _ := tk.EncodePlain(text)
		for _, id := range plain {
			if id >= int32(fx.regular) {
				t.Fatalf("EncodePlain(%q) = %v has special id %d", text, plain, id)
			}
		}
		if s, _ := tk.Decode(plain); s != text {
			t.Fatalf("Decode(EncodePlain(%q)) = %q", text, s)
		}

		// The chat format of 2B4T.
		chat := "<|begin_of_text|>System: Be brief.<|eot_id|>User: ¿Hola?<|eot_id|>Assistant: "
		ids, _ = tk.Encode(chat, false)
		var specials []int32
		for _, id := range ids {
			if id >= int32(fx.regular) {
				specials = append(specials, id)
			}
		}
		if !slices.Equal(specials, []int32{tk.BOS, tk.EOT, tk.EOT}) || ids[0] != tk.BOS {
			t.Fatalf("chat prompt specials %v", specials)
		}
		if s, _ := tk.Decode(ids); s != chat {
			t.Fatalf("chat prompt decodes to %q", s)
		}

		// Every special token's text is that token, alone, adjacent to
		// others and inside words.
		for k := range vocab.NumSpecial {
			id := int32(fx.regular + k)
			name := v.Tokens[id]
			if ids, _ := tk.Encode(name, false); !slices.Equal(ids, []int32{id}) {
				t.Fatalf("Encode(%q) = %v, want [%d]", name, ids, id)
			}
			if s, _ := tk.Decode([]int32{id}); s != name {
				t.Fatalf("Decode(%d) = %q, want %q", id, s, name)
			}
			plain, _ := tk.EncodePlain("x" + name + "y")
			if slices.ContainsFunc(plain, func(i int32) bool { return i >= int32(fx.regular) }) {
				t.Fatalf("EncodePlain of %q has a special id: %v", name, plain)
			}
		}
		ids, _ = tk.Encode("abc<|eot_id|><|eot_id|>def<|end_of_text|>", false)
		abc, _ := fx.ref.EncodePlain("abc")
		def, _ := fx.ref.EncodePlain("def")
		want = slices.Concat(abc, []int32{tk.EOT, tk.EOT}, def, []int32{tk.EOS})
		if !slices.Equal(ids, want) {
			t.Fatalf("Encode with adjacent specials = %v, want %v", ids, want)
		}
		// Near misses are plain text.
		for _, s := range []string{"<|eot_id|", "<|eot_id>", "<|EOT_ID|>", "< |eot_id|>", "<|eot id|>"} {
			ids, _ := tk.Encode(s, false)
			ref, _ := fx.ref.EncodePlain(s)
			if !slices.Equal(ids, ref) {
				t.Errorf("Encode(%q) = %v, want the plain %v", s, ids, ref)
			}
		}
	})
}

func TestCheck(t *testing.T) {
	fx := load(t, 2000)
	n := int32(fx.tok.VocabSize())
	for _, ids := range [][]int32{{-1}, {n}, {0, 1, n + 5}, {-1 << 31}, {1<<31 - 1}} {
		if err := fx.tok.Check(ids); err == nil {
			t.Errorf("Check(%v) accepted ids outside [0, %d)", ids, n)
		}
		if _, err := fx.tok.Decode(ids); err == nil {
			t.Errorf("Decode(%v) accepted ids outside [0, %d)", ids, n)
		}
		if _, err := fx.tok.NewStream().Add(ids[len(ids)-1]); err == nil {
			t.Errorf("Stream.Add(%d) accepted an id outside [0, %d)", ids[len(ids)-1], n)
		}
	}
	for _, ids := range [][]int32{nil, {}, {0}, {n - 1}, {fx.tok.BOS, fx.tok.EOT}} {
		if err := fx.tok.Check(ids); err != nil {
			t.Errorf("Check(%v): %v", ids, err)
		}
	}
}

// TestNoTokenTypes: a file without tokenizer.ggml.token_type has no special
// tokens to split on; <|eot_id|> is still found by name for IsStop.
func TestNoTokenTypes(t *testing.T) {
	fx := load(t, 2000)
	f := minimalFile(t, fx.v, false)
	tk, err := New(f, fx.spec)
	if err != nil {
		t.Fatal(err)
	}
	if tk.EOT != fx.v.EOT || !tk.IsStop(fx.v.EOT) || !tk.IsStop(fx.v.EOS) {
		t.Fatalf("EOT %d, IsStop(EOT) %v", tk.EOT, tk.IsStop(fx.v.EOT))
	}
	text := "Hi<|eot_id|>"
	ids, _ := tk.Encode(text, false)
	want, _ := fx.ref.EncodePlain(text)
	if !slices.Equal(ids, want) {
		t.Fatalf("Encode(%q) without token types = %v, want the plain %v", text, ids, want)
	}
}

func TestConcurrentEncode(t *testing.T) {
	fx := load(t, 2000)
	done := make(chan []int32, 4)
	text := vocab.DefaultCorpus() + "<|eot_id|>"
	for range 4 {
		go func() {
			ids, _ := fx.tok.Encode(text, true)
			s := fx.tok.NewStream()
			var b strings.Builder
			for _, id := range ids[1 : len(ids)-1] {
				p, _ := s.Add(id)
				b.WriteString(p)
			}
			b.WriteString(s.Flush())
			if b.String() != vocab.DefaultCorpus() {
				ids = nil
			}
			done <- ids
		}()
	}
	first := <-done
	for range 3 {
		if ids := <-done; ids == nil || !slices.Equal(ids, first) {
			t.Fatal("concurrent encodings differ or do not stream back to the text")
		}
	}
	if first == nil || !utf8.ValidString(vocab.DefaultCorpus()) {
		t.Fatal("stream did not give the text back")
	}
}

func TestIsControl(t *testing.T) {
	forSizes(t, func(t *testing.T, fx *fixture) {
		v := fx.v
		for _, id := range []int32{v.BOS, v.EOS, v.EOT, v.BOS + 6, v.BOS + 255} {
			if !fx.tok.IsControl(id) {
				t.Errorf("IsControl(%d) = false", id)
			}
		}
		for _, id := range []int32{0, 100, v.BOS - 1} {
			if fx.tok.IsControl(id) {
				t.Errorf("IsControl(%d) = true", id)
			}
		}
	})
}
