package tokenize

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bitnet-desktop/bitnet-desktop/engine/synth/vocab"
)

// benchText is 4 KB of mixed text: prose, Spanish, CJK, emoji, code, digits.
func benchText() string {
	var b strings.Builder
	corpus := vocab.DefaultCorpus()
	for i := 0; b.Len() < 4096; i++ {
		b.WriteString(corpus[i*997%(len(corpus)-600):][:300])
		b.WriteString(trickyTexts[i%len(trickyTexts)].text)
	}
	s := strings.ToValidUTF8(strings.ReplaceAll(b.String(), "\x00", ""), "")
	s = s[:4096]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func BenchmarkEncode(b *testing.B) {
	fx := load(b, 128000)
	text := benchText()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	var n int
	for b.Loop() {
		ids, err := fx.tok.Encode(text, true)
		if err != nil {
			b.Fatal(err)
		}
		n = len(ids)
	}
	b.ReportMetric(float64(n), "tokens")
}

func BenchmarkEncodePlain(b *testing.B) {
	fx := load(b, 128000)
	text := benchText()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fx.tok.EncodePlain(text); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBenchText(t *testing.T) {
	s := benchText()
	if len(s) < 4090 || !utf8.ValidString(s) {
		t.Fatalf("bench text: %d bytes, valid %v", len(s), utf8.ValidString(s))
	}
}
