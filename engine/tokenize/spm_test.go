package tokenize

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf/ggufttest"
)

// TestSPMEncodeHand checks hand-derived encodings on the hand vocabulary.
// Each comment follows the merges: the text gets "▁" in front, spaces
// become "▁", and the adjacent pair spelling the best-scored piece is
// merged first (see handPieces).
func TestSPMEncodeHand(t *testing.T) {
	h := loadHand(t, nil)
	tests := []struct {
		name, in string
		want     []string // token texts
	}{
		{"empty", "", nil},
		// ▁ t h e: ▁t (-1), he (-2), then ▁t+he = ▁the (-3).
		{"word", "the", []string{"▁the"}},
		// ▁the, then ca (-4) beats at (-7); ▁+ca = ▁ca (-5); ▁ca+t = ▁cat.
		{"two words", "the cat", []string{"▁the", "▁cat"}},
		// The prefix is added before the text's own space: ▁▁the. ▁t (-1)
		// goes before ▁▁ (-8), which then no longer exists.
		{"leading space", " the", []string{"▁", "▁the"}},
		{"leading spaces", "  the", []string{"▁▁", "▁the"}},
		{"trailing space", "the ", []string{"▁the", "▁"}},
		// ▁a▁▁b: only ▁▁ is a piece.
		{"two spaces", "a  b", []string{"▁", "a", "▁▁", "b"}},
		// ▁the▁▁cat: ▁ca (-5) is made before ▁▁ (-8) and takes its second ▁.
		{"two spaces between words", "the  cat", []string{"▁the", "▁", "▁cat"}},
		{"only spaces", "   ", []string{"▁▁", "▁▁"}},
		// No newline piece: byte tokens, as LLaMA-2 has it.
		{"newline", "a\nb", []string{"▁", "a", "<0x0A>", "b"}},
		{"newline first", "\nthe", []string{"▁", "<0x0A>", "t", "he"}},
		{"crlf", "the\r\n", []string{"▁the", "<0x0D>", "<0x0A>"}},
		{"tab", "\tx", []string{"▁", "<0x09>", "x"}},
		// Digits stay single; those without a piece are bytes.
		{"digits", "123", []string{"▁", "1", "2", "3"}},
		{"digits bytes", "2024", []string{"▁", "2", "<0x30>", "2", "<0x34>"}},
		// é is a piece; f is a piece; "▁caf" is not.
		{"accent", "café", []string{"▁ca", "f", "é"}},
		{"cjk", "日本", []string{"▁", "<0xE6>", "<0x97>", "<0xA5>", "<0xE6>", "<0x9C>", "<0xAC>"}},
		{"emoji", "🙂!", []string{"▁", "<0xF0>", "<0x9F>", "<0x99>", "<0x82>", "!"}},
		// xy (-20) and yz (-19): the higher score wins though xy is left.
		{"score beats position", "xyz", []string{"▁", "x", "yz"}},
		// ab and bc both -30: the leftmost.
		{"tie leftmost", "abc", []string{"▁", "ab", "c"}},
		{"tie run", "aaa", []string{"▁", "aa", "a"}},
		{"tie run even", "aaaa", []string{"▁", "aa", "aa"}},
		// Invalid UTF-8: llama.cpp's unicode_len_utf8 takes the length the
		// lead byte announces, so "\xc3!" is one symbol (then two bytes).
		{"invalid lead", "a\xc3!", []string{"▁", "a", "<0xC3>", "<0x21>"}},
		{"invalid ff", "\xff", []string{"▁", "<0xFF>"}},
		{"truncated at end", "x\xe6\x97", []string{"▁", "x", "<0xE6>", "<0x97>"}},
		// Spaces are escaped before the cut: an invalid lead byte before a
		// space takes the first byte of its "▁" (E2 96 81), as in llama.cpp.
		{"invalid lead before space", "\xc3 ", []string{"▁", "<0xC3>", "<0xE2>", "<0x96>", "<0x81>"}},
		{"nul", "\x00", []string{"▁", "<0x00>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := h.ids(t, tt.want...)
			for _, enc := range []struct {
				name string
				f    func(string) ([]int32, error)
			}{
				{"Encode", func(s string) ([]int32, error) { return h.tok.Encode(s, false) }},
				{"EncodePlain", h.tok.EncodePlain},
			} {
				got, err := enc.f(tt.in)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("%s(%q) = %v, want %v %q", enc.name, tt.in, got, want, tt.want)
				}
			}
			got, _ := h.tok.Encode(tt.in, true)
			if !slices.Equal(got, append([]int32{1}, want...)) {
				t.Errorf("Encode(%q, addBOS) = %v, want BOS then %v", tt.in, got, want)
			}
		})
	}
}

// TestSPMSpecialTokens: Encode splits out control, user-defined and
// unknown token text and adds the space prefix after each special token
// (llama_tokenize_internal's is_prev_special); EncodePlain keeps the text.
func TestSPMSpecialTokens(t *testing.T) {
	h := loadHand(t, nil)
	tests := []struct {
		in           string
		encode       []string
		plain        []string
		decodeEncode string // Decode(Encode(in))
	}{
		{"<s>the", []string{"<s>", "▁the"}, []string{"▁", "<", "s", ">", "t", "he"}, "<s> the"},
		{"</s>", []string{"</s>"}, []string{"▁", "<", "/", "s", ">"}, "</s>"},
		{"the</s>cat", []string{"▁the", "</s>", "▁cat"}, []string{"▁the", "<", "/", "s", ">", "ca", "t"}, "the</s> cat"},
		// The text around a special keeps its own spaces, and gets one more
		// after it.
		{"the </s> cat", []string{"▁the", "▁", "</s>", "▁", "▁cat"}, nil, "the </s>  cat"},
		{"</s></s>", []string{"</s>", "</s>"}, nil, "</s></s>"},
		{"<unk>", []string{"<unk>"}, nil, "<unk>"},
		// User-defined tokens are split out too (1bitLLM's <pad>, </line>).
		{"a</line>b", []string{"▁", "a", "</line>", "▁", "b"}, nil, "a</line> b"},
		{"<pad>", []string{"<pad>"}, []string{"▁", "<", "<0x70>", "a", "<0x64>", ">"}, "<pad>"},
		// Near misses stay text.
		{"</s", []string{"▁", "<", "/", "s"}, []string{"▁", "<", "/", "s"}, "</s"},
	}
	for _, tt := range tests {
		got, err := h.tok.Encode(tt.in, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := h.ids(t, tt.encode...); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v %q", tt.in, got, want, tt.encode)
		}
		if s, _ := h.tok.Decode(got); s != tt.decodeEncode {
			t.Errorf("Decode(Encode(%q)) = %q, want %q", tt.in, s, tt.decodeEncode)
		}
		plain, err := h.tok.EncodePlain(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if tt.plain != nil {
			if want := h.ids(t, tt.plain...); !slices.Equal(plain, want) {
				t.Errorf("EncodePlain(%q) = %v, want %v %q", tt.in, plain, want, tt.plain)
			}
		}
		for _, id := range plain {
			if h.tok.IsControl(id) {
				t.Errorf("EncodePlain(%q) has special id %d", tt.in, id)
			}
		}
		if s, _ := h.tok.Decode(plain); s != tt.in {
			t.Errorf("Decode(EncodePlain(%q)) = %q", tt.in, s)
		}
	}
}

// roundTripTexts are texts Decode(EncodePlain(x)) must give back exactly:
// SentencePiece with byte fallback is lossless for any bytes.
var roundTripTexts = []string{
	"", " ", "  ", "\n", "the", " the", "the ", "  the  cat  ", "a\n\nb", "\r\n", "\t\tx",
	"Hello, world!", "¿Qué tal, señor Müller?", "naïve café", "日本語のテキスト", "🙂 ok 🚀🚀",
	"👨‍👩‍👧", "🇪🇸", "\x00", "a\x00b", "\xff", "abc\xc3", "x\xe2\x82y", "\xed\xa0\x80", "\x80\x80 ok",
	"<s>", "</s>", "<pad></line>", "<unk>", "2024-03-15 08:45", "0x1F", "aaaaaaa",
}

// TestSPMMetaSpaceInText pins the lossy cases. A "▁" (U+2581) typed in
// the text is the same as a space once escaped, so it decodes as a space
// (llama.cpp and SentencePiece do the same). An invalid UTF-8 lead byte
// just before a space takes the first byte of the space's "▁" into its
// symbol (llama.cpp escapes, then cuts by lead byte), so that space comes
// back as the bytes of "▁". Text from the app is valid UTF-8.
func TestSPMMetaSpaceInText(t *testing.T) {
	h := loadHand(t, nil)
	ids, _ := h.tok.EncodePlain("a\xc3 b")
	if got, _ := h.tok.Decode(ids); got != "a\xc3▁b" {
		t.Errorf("Decode(EncodePlain(%q)) = %q", "a\xc3 b", got)
	}
	for in, want := range map[string]string{"▁": " ", "▁▁the": "  the", "a▁b": "a b"} {
		ids, _ := h.tok.EncodePlain(in)
		if got, _ := h.tok.Decode(ids); got != want {
			t.Errorf("Decode(EncodePlain(%q)) = %q, want %q", in, got, want)
		}
		sp, _ := h.tok.EncodePlain(strings.ReplaceAll(in, "▁", " "))
		if !slices.Equal(ids, sp) {
			t.Errorf("EncodePlain(%q) = %v, differs from the text with spaces %v", in, ids, sp)
		}
	}
}

// sameText compares a stream's output with Decode's: equal, except that a
// stream may show a run of invalid UTF-8 as several U+FFFD.
func sameText(stream, whole string) bool {
	collapse := func(s string) string {
		for strings.Contains(s, "\uFFFD\uFFFD") {
			s = strings.ReplaceAll(s, "\uFFFD\uFFFD", "\uFFFD")
		}
		return s
	}
	return collapse(stream) == collapse(validText([]byte(whole)))
}

func TestSPMRoundTripHand(t *testing.T) {
	h := loadHand(t, nil)
	for _, text := range append(roundTripTexts, trickyTextsOnly()...) {
		ids, err := h.tok.EncodePlain(text)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := h.tok.Decode(ids); got != text {
			t.Errorf("Decode(EncodePlain(%q)) = %q", text, got)
		}
		if strings.Contains(text, "<") {
			continue // Encode splits special tokens out and adds spaces
		}
		enc, _ := h.tok.Encode(text, false)
		if !slices.Equal(enc, ids) {
			t.Errorf("Encode(%q) = %v, EncodePlain %v", text, enc, ids)
		}
	}
}

func trickyTextsOnly() []string {
	var out []string
	for _, tt := range trickyTexts {
		out = append(out, tt.text)
	}
	return out
}

// TestSPMDecodeHand: how each token type decodes, and the leading space.
func TestSPMDecodeHand(t *testing.T) {
	h := loadHand(t, nil)
	tests := []struct {
		toks []string
		want string
	}{
		{nil, ""},
		{[]string{"▁the"}, "the"}, // the first token's leading space is dropped
		{[]string{"▁the", "▁cat"}, "the cat"},
		{[]string{"▁▁", "▁the"}, "  the"}, // one space only
		{[]string{"t", "he"}, "the"},
		{[]string{"▁"}, ""},
		{[]string{"<0x20>", "x"}, "x"}, // llama.cpp strips a leading space byte token too
		{[]string{"<0xE6>", "<0x97>", "<0xA5>"}, "日"},
		{[]string{"<s>", "▁the"}, "<s> the"}, // only the first token is stripped (llama_detokenize)
		{[]string{"</s>"}, "</s>"},
		{[]string{"<unk>"}, "<unk>"},
		{[]string{"▁the", "</line>", "<pad>"}, "the</line><pad>"},
	}
	for _, tt := range tests {
		got, err := h.tok.Decode(h.ids(t, tt.toks...))
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("Decode(%q) = %q, want %q", tt.toks, got, tt.want)
		}
	}
}

// TestSPMNoSpacePrefix: tokenizer.ggml.add_space_prefix false adds no
// space on encoding and drops none on decoding.
func TestSPMNoSpacePrefix(t *testing.T) {
	h := loadHand(t, func(b *gguf.Builder) { b.Add("tokenizer.ggml.add_space_prefix", false) })
	tests := []struct {
		in   string
		want []string
	}{
		{"the", []string{"t", "he"}},
		{" the", []string{"▁the"}},
		{"the cat", []string{"t", "he", "▁cat"}},
		{"<s>the", []string{"<s>", "t", "he"}},
	}
	for _, tt := range tests {
		got, _ := h.tok.Encode(tt.in, false)
		if want := h.ids(t, tt.want...); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v %q", tt.in, got, want, tt.want)
		}
	}
	for _, text := range roundTripTexts {
		ids, _ := h.tok.EncodePlain(text)
		if got, _ := h.tok.Decode(ids); got != text {
			t.Errorf("Decode(EncodePlain(%q)) = %q", text, got)
		}
	}
	if s, _ := h.tok.Decode(h.ids(t, "▁the")); s != " the" {
		t.Errorf("Decode(▁the) = %q, want the space kept", s)
	}
	on := loadHand(t, func(b *gguf.Builder) { b.Add("tokenizer.ggml.add_space_prefix", true) })
	if ids, _ := on.tok.Encode("the", false); !slices.Equal(ids, on.ids(t, "▁the")) {
		t.Errorf("add_space_prefix true: Encode(the) = %v", ids)
	}
	// A key of another type is an error.
	f := spmFile(t, handVocab(), func(b *gguf.Builder) { b.Add("tokenizer.ggml.add_space_prefix", uint32(1)) })
	spec, err := gguf.CheckModel(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(f, spec); err == nil || !strings.Contains(err.Error(), "add_space_prefix") {
		t.Fatalf("add_space_prefix uint32: err %v", err)
	}
}

// TestSPMStream: the pieces of NewStreamAtStart join to Decode; those of
// NewStream keep the first token's space (llama.cpp's streaming output);
// byte tokens of one character come out together.
func TestSPMStream(t *testing.T) {
	h := loadHand(t, nil)
	for _, text := range append(roundTripTexts, multiByteTexts...) {
		ids, _ := h.tok.EncodePlain(text)
		whole, _ := h.tok.Decode(ids)
		for _, start := range []bool{true, false} {
			s := h.tok.NewStream()
			if start {
				s = h.tok.NewStreamAtStart()
			}
			var b strings.Builder
			for i, id := range ids {
				p, err := s.Add(id)
				if err != nil {
					t.Fatal(err)
				}
				if !utf8.ValidString(p) {
					t.Errorf("%q: piece %d %q is not valid UTF-8", text, i, p)
				}
				b.WriteString(p)
			}
			b.WriteString(s.Flush())
			want := whole
			if !start && len(ids) > 0 {
				if first, _ := h.tok.Piece(ids[0]); strings.HasPrefix(first, " ") {
					want = " " + want
				}
			}
			if !sameText(b.String(), want) || (utf8.ValidString(text) && b.String() != want) {
				t.Errorf("%q (at start %v): stream gives %q, want %q", text, start, b.String(), want)
			}
		}
	}

	// 日 as three byte tokens, fed one at a time.
	ids := h.ids(t, "▁", "<0xE6>", "<0x97>", "<0xA5>", "x")
	for _, tt := range []struct {
		s    *Stream
		want []string
	}{
		{h.tok.NewStreamAtStart(), []string{"", "", "", "日", "x"}},
		{h.tok.NewStream(), []string{" ", "", "", "日", "x"}},
	} {
		var got []string
		for _, id := range ids {
			p, _ := tt.s.Add(id)
			got = append(got, p)
		}
		if !slices.Equal(got, tt.want) || tt.s.Flush() != "" {
			t.Errorf("pieces %q, want %q", got, tt.want)
		}
	}
	// An unfinished character is flushed as U+FFFD.
	s := h.tok.NewStream()
	for _, id := range h.ids(t, "<0xF0>", "<0x9F>") {
		if p, _ := s.Add(id); p != "" {
			t.Fatalf("piece %q before the character is complete", p)
		}
	}
	if got := s.Flush(); got != "\uFFFD" {
		t.Fatalf("Flush = %q", got)
	}
}

// TestSPMAgainstNaive compares the heap encoder with the quadratic
// reference on the hand vocabulary over many generated texts.
func TestSPMAgainstNaive(t *testing.T) {
	h := loadHand(t, nil)
	v := handVocab()
	ref := newNaiveSPM(v.tokens, v.scores, v.types, true)
	frags := []string{"the", " ", "  ", "cat", "ca", "t", "he", "a", "aa", "b", "c", "x", "y", "z", "xyz",
		"é", "日", "🙂", "\n", "1", "2", "s", "\xff", "\xc3", "f", "▁"}
	// (a typed "▁" decodes as a space: TestSPMMetaSpaceInText)
	state := uint64(0x2545F4914F6CDD1D)
	next := func(n int) int {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return int(state % uint64(n))
	}
	for range 3000 {
		var b strings.Builder
		for range 1 + next(15) {
			b.WriteString(frags[next(len(frags))])
		}
		text := b.String()
		got, err := h.tok.EncodePlain(text)
		if err != nil {
			t.Fatal(err)
		}
		if want := ref.encode(text); !slices.Equal(got, want) {
			t.Fatalf("EncodePlain(%q) = %v, naive reference %v", text, got, want)
		}
		if !utf8.ValidString(text) {
			continue // see TestSPMMetaSpaceInText
		}
		if s, _ := h.tok.Decode(got); s != strings.ReplaceAll(text, "▁", " ") {
			t.Fatalf("Decode(EncodePlain(%q)) = %q", text, s)
		}
	}
}

// TestSPMTokensHand: BOS, EOS, EOT, AddBOS, stops and controls of a
// LLaMA-2-style vocabulary.
func TestSPMTokensHand(t *testing.T) {
	h := loadHand(t, nil)
	tk := h.tok
	if tk.BOS != 1 || tk.EOS != 2 || tk.EOT != -1 || !tk.AddBOS || tk.VocabSize() != len(handVocab().tokens) {
		t.Fatalf("BOS %d EOS %d EOT %d AddBOS %v vocab %d", tk.BOS, tk.EOS, tk.EOT, tk.AddBOS, tk.VocabSize())
	}
	for id, want := range map[int32]bool{2: true, 1: false, 0: false, h.id["<pad>"]: false, h.id["</line>"]: false, h.id["▁the"]: false} {
		if tk.IsStop(id) != want {
			t.Errorf("IsStop(%d) = %v", id, !want)
		}
	}
	for id, want := range map[int32]bool{0: true, 1: true, 2: true, h.id["<pad>"]: true, h.id["</line>"]: true,
		3: false, h.id["▁the"]: false, h.id["a"]: false} {
		if tk.IsControl(id) != want {
			t.Errorf("IsControl(%d) = %v", id, !want)
		}
	}
	if got := tk.Specials(); !slices.Equal(got, []string{"<s>", "</s>", "<pad>", "</line>"}) {
		t.Errorf("Specials() = %q", got)
	}
	// add_bos_token false: AddBOS false, BOS still the id.
	h2 := loadHand(t, func(b *gguf.Builder) { b.Add("tokenizer.ggml.add_bos_token", false) })
	if h2.tok.AddBOS || h2.tok.BOS != 1 {
		t.Errorf("add_bos_token false: AddBOS %v BOS %d", h2.tok.AddBOS, h2.tok.BOS)
	}
	if err := tk.Check([]int32{0, int32(tk.VocabSize())}); err == nil {
		t.Error("Check accepted an id outside the vocabulary")
	}
	if _, err := tk.Decode([]int32{-1}); err == nil {
		t.Error("Decode accepted -1")
	}
	if _, err := tk.NewStream().Add(int32(tk.VocabSize())); err == nil {
		t.Error("Stream.Add accepted an id outside the vocabulary")
	}
}

// TestSPMWithoutTokenTypes: a file without tokenizer.ggml.token_type has
// only normal tokens: nothing is split out, but <0xNN> tokens still decode
// (and encode) as bytes.
func TestSPMWithoutTokenTypes(t *testing.T) {
	v := handVocab()
	v.types = nil
	tok, _ := newSPMTokenizer(t, spmFile(t, v, nil))
	for _, text := range []string{"the cat", "日本\n", "</s>x"} {
		ids, _ := tok.Encode(text, false)
		if got, _ := tok.Decode(ids); got != text {
			t.Errorf("Decode(Encode(%q)) = %q (ids %v)", text, got, ids)
		}
	}
	if tok.IsStop(2) != true || tok.IsControl(2) {
		t.Errorf("EOS: IsStop %v IsControl %v", tok.IsStop(2), tok.IsControl(2))
	}
}

// TestSPMByteFallbackToUnknown: without byte tokens a character that is
// not a piece becomes one unknown token.
func TestSPMByteFallbackToUnknown(t *testing.T) {
	v := spmVocab{}
	for i, s := range []string{"<unk>", "<s>", "</s>", "▁", "a", "▁a"} {
		typ := int32(typeNormal)
		if i == 0 {
			typ = typeUnknown
		} else if i < 3 {
			typ = typeControl
		}
		v.tokens, v.scores, v.types = append(v.tokens, s), append(v.scores, float32(-i)), append(v.types, typ)
	}
	tok, _ := newSPMTokenizer(t, spmFile(t, v, nil))
	ids, err := tok.EncodePlain("a日a")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{5, 0, 4}; !slices.Equal(ids, want) {
		t.Fatalf("EncodePlain(a日a) = %v, want %v", ids, want)
	}
}

// TestSPMAgainstOllama cross-checks the encoder with ollama's
// tokenizer.SentencePiece (an independent merge loop over the same rule)
// on the synthetic vocabulary. ollama adds no space prefix, so it is given
// " " + text; it also looks every token type up (fine: the corpus spells
// no special token).
func TestSPMAgainstOllama(t *testing.T) {
	fx := loadSynthSPM(t)
	ol := newOllamaSPM(fx.v.Tokens, fx.v.Scores, fx.v.Types)
	lines := strings.Split(corpusForSPM(), "\n")
	for _, line := range lines {
		got, err := fx.tok.EncodePlain(line)
		if err != nil {
			t.Fatal(err)
		}
		if line == "" {
			continue
		}
		want, err := ol.Encode(" "+line, false)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("EncodePlain(%q) = %v, ollama %v", line, got, want)
		}
	}
}

// TestSPMFileKeysChecked: New rejects what it cannot use.
func TestSPMFileKeysChecked(t *testing.T) {
	v := handVocab()
	f := spmFile(t, v, nil)
	spec, err := gguf.CheckModel(f)
	if err != nil {
		t.Fatal(err)
	}
	bad := *spec
	bad.Tokenizer = "bert"
	if _, err := New(f, &bad); err == nil || !strings.Contains(err.Error(), "bert") {
		t.Errorf("tokenizer bert: %v", err)
	}
	if _, err := New(f, nil); err == nil {
		t.Error("nil spec accepted")
	}
	// Scores missing (a spec CheckModel would not give).
	b := &gguf.Builder{}
	b.Add("tokenizer.ggml.tokens", v.tokens)
	b.Add("tokenizer.ggml.token_type", v.types)
	nf, err := gguf.Read(headerOnly(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(nf, spec); err == nil || !strings.Contains(err.Error(), "scores") {
		t.Errorf("no scores: %v", err)
	}
	// An eot_token_id outside the vocabulary.
	f2 := spmFile(t, v, func(b *gguf.Builder) { b.Add("tokenizer.ggml.eot_token_id", uint32(len(v.tokens))) })
	if _, err := New(f2, spec); err == nil {
		t.Error("eot_token_id outside the vocabulary accepted")
	}
}

// headerOnly writes a tensorless header and returns a reader for gguf.Read.
func headerOnly(t *testing.T, b *gguf.Builder) (*ggufttest.HeaderFile, int64) {
	t.Helper()
	sf := &ggufttest.HeaderFile{Keep: 8 << 20}
	if err := b.Write(sf, ggufttest.ZeroData); err != nil {
		t.Fatal(err)
	}
	return sf, sf.Size
}
