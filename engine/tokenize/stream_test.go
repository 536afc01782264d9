package tokenize

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var multiByteTexts = []string{
	"¿Qué tal, señor Müller?",
	"naïve café, crème brûlée, Łódź",
	"日本語のテキスト、中文字符。한국어",
	"🙂 ok 🚀🚀",
	"family: 👨‍👩‍👧‍👦 done",
	"🇪🇸🇯🇵🇺🇸",
	"👍🏽 ❤️ €25 ∑ᵢ xᵢ",
	"Русский текст: привет. Ελληνικά. עברית. العربية.",
}

// collect feeds ids to a new stream one at a time and returns the pieces
// of Add and, last, what Flush returned.
func collect(t *testing.T, tk *Tokenizer, ids []int32) (pieces []string, flushed string) {
	t.Helper()
	s := tk.NewStream()
	for _, id := range ids {
		p, err := s.Add(id)
		if err != nil {
			t.Fatal(err)
		}
		pieces = append(pieces, p)
	}
	return pieces, s.Flush()
}

func TestStreamEncodedText(t *testing.T) {
	forSizes(t, func(t *testing.T, fx *fixture) {
		for _, text := range multiByteTexts {
			ids, err := fx.tok.EncodePlain(text)
			if err != nil {
				t.Fatal(err)
			}
			pieces, flushed := collect(t, fx.tok, ids)
			for i, p := range pieces {
				if !utf8.ValidString(p) {
					t.Errorf("%q: piece %d %q is not valid UTF-8", text, i, p)
				}
			}
			if flushed != "" {
				t.Errorf("%q: Flush after the whole text = %q", text, flushed)
			}
			if got := strings.Join(pieces, ""); got != text {
				t.Errorf("pieces of %q join to %q", text, got)
			}
		}
	})
}

// TestStreamByteTokens feeds every byte as its own byte token, the worst
// case: each character must come out whole as soon as its last byte
// arrives.
func TestStreamByteTokens(t *testing.T) {
	fx := load(t, 2000)
	for _, text := range multiByteTexts {
		var ids []int32
		for i := range len(text) {
			ids = append(ids, fx.byteID[text[i]])
		}
		pieces, flushed := collect(t, fx.tok, ids)
		var b strings.Builder
		for i, p := range pieces {
			b.WriteString(p)
			// The piece of byte i is the character ending at byte i, or
			// nothing.
			_, size := utf8.DecodeLastRuneInString(text[:i+1])
			end := i+1 == len(text) || utf8.RuneStart(text[i+1])
			want := ""
			if end {
				want = text[i+1-size : i+1]
			}
			if p != want {
				t.Fatalf("%q: piece after byte %d is %q, want %q", text, i, p, want)
			}
		}
		if flushed != "" || b.String() != text {
			t.Fatalf("%q: pieces join to %q, Flush %q", text, b.String(), flushed)
		}
	}
}

// TestStreamFlushTruncated: the stream ends inside a character. Flush turns
// the unfinished bytes into U+FFFD. (It currently gives one U+FFFD per
// byte, e.g. two for the first two bytes of "中"; Python's and Hugging
// Face's errors="replace" decoding give one for a truncated sequence.
// Both are accepted here.)
func TestStreamFlushTruncated(t *testing.T) {
	fx := load(t, 2000)
	for _, tt := range []struct{ prefix, char string }{
		{"x", "é"}, {"", "ñ"}, {"ab", "中"}, {"", "€"}, {"ok ", "🙂"}, {"", "🇪"},
	} {
		for cut := 1; cut < len(tt.char); cut++ {
			text := tt.prefix + tt.char[:cut]
			var ids []int32
			for i := range len(text) {
				ids = append(ids, fx.byteID[text[i]])
			}
			pieces, flushed := collect(t, fx.tok, ids)
			if got := strings.Join(pieces, ""); got != tt.prefix {
				t.Errorf("%q: Add pieces join to %q, want %q", text, got, tt.prefix)
			}
			n := strings.Count(flushed, "\uFFFD")
			if n < 1 || n > cut || strings.ReplaceAll(flushed, "\uFFFD", "") != "" {
				t.Errorf("%q: Flush = %q, want U+FFFD (at most one per byte)", text, flushed)
			}
			if cut == 1 && flushed != "\uFFFD" {
				t.Errorf("%q: Flush = %q, want one U+FFFD", text, flushed)
			}
			if n > 1 {
				t.Logf("%q: Flush gives %d U+FFFD for %d bytes of %q", text, n, cut, tt.char)
			}
		}
	}
	// Flush empties the stream: a new character after it streams normally.
	s := fx.tok.NewStream()
	s.Add(fx.byteID[0xC3])
	if f := s.Flush(); f != "\uFFFD" {
		t.Fatalf("Flush = %q", f)
	}
	if f := s.Flush(); f != "" {
		t.Fatalf("second Flush = %q", f)
	}
	p1, _ := s.Add(fx.byteID[0xC3])
	p2, _ := s.Add(fx.byteID[0xA9])
	if p1 != "" || p2 != "é" {
		t.Fatalf("after Flush: pieces %q %q, want \"\" \"é\"", p1, p2)
	}
}

// knownBugStreamInvalidUTF8: Stream.Add passes bytes that can never become
// a character (0xFF, a stray continuation byte, a lead byte followed by
// ASCII or another lead byte) through unchanged, so its pieces are not
// always valid UTF-8, while Flush replaces such bytes with U+FFFD. A model
// (especially a synthetic or high-temperature one) can emit any byte
// tokens in any order. Set to false once Add replaces them.
const knownBugStreamInvalidUTF8 = false

func TestStreamInvalidBytes(t *testing.T) {
	fx := load(t, 2000)
	type streamCase struct {
		ids   []int32
		bytes string // what the ids decode to
	}
	var tests []streamCase
	for _, bs := range []string{
		"\xff" + "a",
		"\x80" + "a",
		"\xc3" + "a",     // lead byte then ASCII
		"\xc3\xe4\xb8",   // lead byte then another lead byte
		"\xe4\xb8" + "x", // truncated 3-byte character then ASCII
		"\xc0\xaf",       // overlong "/"
		"\xed\xa0\x80",   // UTF-16 surrogate
	} {
		var ids []int32
		for i := range len(bs) {
			ids = append(ids, fx.byteID[bs[i]])
		}
		tests = append(tests, streamCase{ids, bs})
	}
	// A special token after a lead byte.
	tests = append(tests, streamCase{[]int32{fx.byteID[0xC3], fx.tok.EOT}, "\xc3<|eot_id|>"})

	invalid := 0
	for _, tt := range tests {
		pieces, flushed := collect(t, fx.tok, tt.ids)
		pieces = append(pieces, flushed)
		for _, p := range pieces {
			if !utf8.ValidString(p) {
				invalid++
				if knownBugStreamInvalidUTF8 {
					t.Logf("known bug: % x streams as %q", tt.bytes, pieces)
				} else {
					t.Errorf("% x streams as %q: not valid UTF-8", tt.bytes, pieces)
				}
				break
			}
		}
		// Whatever the pieces, the valid characters all come through, in
		// order, and nothing else but U+FFFD.
		joined := strings.ReplaceAll(strings.ToValidUTF8(strings.Join(pieces, ""), ""), "\uFFFD", "")
		if want := strings.ToValidUTF8(tt.bytes, ""); joined != want {
			t.Errorf("% x: pieces %q lose or add characters (want %q)", tt.bytes, pieces, want)
		}
	}
	if knownBugStreamInvalidUTF8 && invalid == 0 {
		t.Error("Stream no longer emits invalid UTF-8: set knownBugStreamInvalidUTF8 to false")
	}
}

// TestStreamSpecial: Add decodes a special token to its text; callers must
// test IsStop before adding a token.
func TestStreamSpecial(t *testing.T) {
	fx := load(t, 2000)
	s := fx.tok.NewStream()
	if p, err := s.Add(fx.tok.EOT); err != nil || p != "<|eot_id|>" {
		t.Fatalf("Add(EOT) = %q, %v", p, err)
	}
	if f := s.Flush(); f != "" {
		t.Fatalf("Flush = %q", f)
	}
}

func TestCompletePrefix(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"a", 1},
		{"\xc3", 0},
		{"\xc3\xa9", 2},
		{"x\xc3", 1},
		{"\xe4", 0},
		{"\xe4\xb8", 0},
		{"\xe4\xb8\xad", 3},
		{"\xf0", 0},
		{"\xf0\x9f", 0},
		{"\xf0\x9f\x99", 0},
		{"\xf0\x9f\x99\x82", 4},
		{"ok \xf0\x9f\x99", 3},
		{"\xe4\xb8\xad\xf0\x9f", 3},
		{"\xf0\x9f\x99\x82\xf0\x9f\x99\x82", 8},
		// Bytes that cannot start or continue a character are complete
		// (invalid) sequences: they are passed on.
		{"\xff", 1},
		{"\x80", 1},
		{"\x80\x80\x80\x80", 4},
		{"\xc0", 1},     // never valid: utf8.FullRune reports it complete
		{"\xe0\x80", 2}, // E0 needs A0..BF next: complete (invalid)
		{"\xc3\xe4", 1}, // the C3 can no longer complete
		{"\xc3\xe4\xb8", 1},
	}
	for _, tt := range tests {
		if got := completePrefix([]byte(tt.in)); got != tt.want {
			t.Errorf("completePrefix(% x) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
