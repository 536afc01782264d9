package tokenize

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ollama/ollama/tokenizer"

	"github.com/bitnet-desktop/bitnet-desktop/engine/synth/vocab"
)

func newOllamaSPM(tokens []string, scores []float32, types []int32) tokenizer.SentencePiece {
	return tokenizer.NewSentencePiece(&tokenizer.Vocabulary{
		Values: tokens, Scores: scores, Types: types, BOS: []int32{1}, EOS: []int32{2},
	})
}

func corpusForSPM() string { return vocab.DefaultCorpus() }

// spmTexts are the texts the synthetic-vocabulary tests run on: every
// corpus line, the whole corpus, and the tricky texts.
func spmTexts() []string {
	texts := strings.Split(corpusForSPM(), "\n")
	texts = append(texts, corpusForSPM())
	texts = append(texts, trickyTextsOnly()...)
	return append(texts, roundTripTexts...)
}

func TestSPMSynthRoundTrip(t *testing.T) {
	fx := loadSynthSPM(t)
	specials := fx.tok.Specials()
	hasSpecial := func(s string) bool {
		return slices.ContainsFunc(append(specials, "<unk>"), func(sp string) bool { return strings.Contains(s, sp) })
	}
	for _, text := range spmTexts() {
		ids, err := fx.tok.EncodePlain(text)
		if err != nil {
			t.Fatal(err)
		}
		if err := fx.tok.Check(ids); err != nil {
			t.Fatal(err)
		}
		if got, _ := fx.tok.Decode(ids); got != text {
			t.Errorf("Decode(EncodePlain(%.80q)) = %.80q", text, got)
		}
		enc, _ := fx.tok.Encode(text, true)
		if enc[0] != fx.tok.BOS {
			t.Errorf("Encode(%.40q, addBOS) starts with %d", text, enc[0])
		}
		if !hasSpecial(text) && !slices.Equal(enc[1:], ids) {
			t.Errorf("Encode and EncodePlain differ on %.80q", text)
		}
	}
	// Frequent words are one piece each.
	for _, w := range []string{"the", "and", "model"} {
		ids, _ := fx.tok.EncodePlain(w)
		if len(ids) != 1 || fx.v.Tokens[ids[0]] != "▁"+w {
			t.Errorf("EncodePlain(%q) = %v", w, ids)
		}
	}
	// Rare characters are byte tokens.
	ids, _ := fx.tok.EncodePlain("🙂")
	if len(ids) != 5 || fx.v.Types[ids[1]] != vocab.TypeByte {
		t.Errorf("EncodePlain(🙂) = %v, want ▁ and 4 byte tokens", ids)
	}
	// 1bitLLM's extras are split out by Encode only.
	ids, _ = fx.tok.Encode("a</line>b<pad>", false)
	if !slices.Contains(ids, 32001) || !slices.Contains(ids, 32000) {
		t.Errorf("Encode with </line> and <pad> = %v", ids)
	}
	ids, _ = fx.tok.EncodePlain("a</line>b<pad>")
	if slices.Contains(ids, 32001) || slices.Contains(ids, 32000) {
		t.Errorf("EncodePlain with </line> and <pad> = %v", ids)
	}
}

// TestSPMSynthAgainstNaive compares with the quadratic reference on the
// corpus and random mixes.
func TestSPMSynthAgainstNaive(t *testing.T) {
	fx := loadSynthSPM(t)
	check := func(text string) {
		t.Helper()
		got, _ := fx.tok.EncodePlain(text)
		if want := fx.ref.encode(text); !slices.Equal(got, want) {
			t.Fatalf("EncodePlain(%.80q) = %v, naive reference %v", text, got, want)
		}
	}
	for _, text := range spmTexts() {
		if len(text) < 2000 {
			check(text)
		}
	}
	words := strings.Fields(corpusForSPM())
	state := uint64(0x9E3779B97F4A7C15)
	next := func(n int) int {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return int(state % uint64(n))
	}
	seps := []string{" ", "  ", "", "\n", ", ", "\t"}
	for range 500 {
		var b strings.Builder
		for range 1 + next(10) {
			w := words[next(len(words))]
			if next(4) == 0 { // cut words to reach odd pieces
				w = w[:next(len(w)+1)]
			}
			b.WriteString(w)
			b.WriteString(seps[next(len(seps))])
		}
		check(b.String())
	}
}

func TestSPMSynthDeterminism(t *testing.T) {
	fx := loadSynthSPM(t)
	v2, err := vocab.BuildSPM(32000, vocab.DefaultCorpus(), true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fx.v, v2) {
		t.Fatal("BuildSPM differs between calls")
	}
	tok2, _ := newSPMTokenizer(t, spmFile(t, spmVocab{v2.Tokens, v2.Scores, v2.Types}, nil))
	text := corpusForSPM()
	a, _ := fx.tok.Encode(text, true)
	for range 3 {
		b, _ := tok2.Encode(text, true)
		if !slices.Equal(a, b) {
			t.Fatal("encodings of the corpus differ")
		}
	}
}

func TestSPMSynthStream(t *testing.T) {
	fx := loadSynthSPM(t)
	for _, text := range spmTexts() {
		ids, _ := fx.tok.EncodePlain(text)
		whole, _ := fx.tok.Decode(ids)
		s := fx.tok.NewStreamAtStart()
		var b strings.Builder
		for _, id := range ids {
			p, err := s.Add(id)
			if err != nil {
				t.Fatal(err)
			}
			if !utf8.ValidString(p) {
				t.Fatalf("%.40q: piece %q is not valid UTF-8", text, p)
			}
			b.WriteString(p)
		}
		b.WriteString(s.Flush())
		if !sameText(b.String(), whole) || (utf8.ValidString(text) && b.String() != whole) {
			t.Errorf("stream of %.60q = %.60q, want %.60q", text, b.String(), whole)
		}
	}
}

func TestSPMSynthConcurrent(t *testing.T) {
	fx := loadSynthSPM(t)
	text := corpusForSPM() + "</line>"
	want, _ := fx.tok.Encode(text, true)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				ids, _ := fx.tok.Encode(text, true)
				if !slices.Equal(ids, want) {
					errs <- "Encode differs"
				}
				s := fx.tok.NewStreamAtStart()
				var b strings.Builder
				for _, id := range ids[1:] {
					p, _ := s.Add(id)
					b.WriteString(p)
				}
				if b.String()+s.Flush() != corpusForSPM()+"</line>" {
					errs <- "stream differs"
				}
				fx.tok.IsStop(int32(g))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// longText returns n characters of mixed text (corpus, tricky texts).
func longText(n int) string {
	var b strings.Builder
	corpus := []rune(vocab.DefaultCorpus())
	tricky := trickyTextsOnly()
	count := 0
	for i := 0; count < n; i++ {
		start := i * 997 % (len(corpus) - 600)
		for _, r := range corpus[start : start+300] {
			if count == n {
				break
			}
			b.WriteRune(r)
			count++
		}
		for _, r := range strings.ToValidUTF8(tricky[i%len(tricky)], "") {
			if count == n || len(tricky[i%len(tricky)]) > 1000 {
				break
			}
			b.WriteRune(r)
			count++
		}
	}
	return b.String()
}

// TestSPMEncodeSpeed: the app counts the tokens of long pastes as the user
// types; 20,000 characters must encode well under 50 ms.
func TestSPMEncodeSpeed(t *testing.T) {
	fx := loadSynthSPM(t)
	text := longText(20000)
	if n := utf8.RuneCountInString(text); n != 20000 {
		t.Fatalf("text of %d characters", n)
	}
	best := time.Hour
	for range 5 {
		start := time.Now()
		if _, err := fx.tok.EncodePlain(text); err != nil {
			t.Fatal(err)
		}
		best = min(best, time.Since(start))
	}
	limit := 50 * time.Millisecond
	if raceEnabled {
		limit *= 10
	}
	t.Logf("EncodePlain of 20,000 characters (%d bytes): %v", len(text), best)
	if best > limit {
		t.Fatalf("EncodePlain of 20,000 characters took %v, want under %v", best, limit)
	}
}

func BenchmarkSPMEncode(b *testing.B) {
	fx := loadSynthSPM(b)
	text := longText(20000)
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

func BenchmarkSPMEncodePlain(b *testing.B) {
	fx := loadSynthSPM(b)
	text := longText(20000)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fx.tok.EncodePlain(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSPMDecode(b *testing.B) {
	fx := loadSynthSPM(b)
	ids, _ := fx.tok.EncodePlain(longText(20000))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fx.tok.Decode(ids); err != nil {
			b.Fatal(err)
		}
	}
}
