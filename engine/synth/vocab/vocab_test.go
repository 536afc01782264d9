package vocab

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func build(t *testing.T, regular int, corpus string) Vocab {
	t.Helper()
	v, err := Build(regular, corpus)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestByteTokens(t *testing.T) {
	v := build(t, 1000, DefaultCorpus())
	seen := map[string]bool{}
	for i, tok := range v.Tokens[:256] {
		if utf8.RuneCountInString(tok) != 1 {
			t.Fatalf("byte token %d %q is not one character", i, tok)
		}
		if seen[tok] {
			t.Fatalf("byte token %d %q repeats", i, tok)
		}
		seen[tok] = true
	}
	// Known GPT-2 / LLaMA-3 ids and spellings.
	for id, want := range map[int]string{0: "!", 93: "~", 188: "Ā", 198: "Ċ", 220: "Ġ", 221: "ġ", 255: "Ń"} {
		if v.Tokens[id] != want {
			t.Errorf("token %d is %q, want %q", id, v.Tokens[id], want)
		}
	}
	// Every byte round-trips through the mapping.
	order, char := byteAlphabet()
	var all [256]bool
	for i, b := range order {
		all[b] = true
		if v.Tokens[i] != string(char[b]) {
			t.Fatalf("token %d is %q, want the character of byte 0x%02x", i, v.Tokens[i], b)
		}
	}
	for b, ok := range all {
		if !ok {
			t.Fatalf("byte 0x%02x has no token", b)
		}
	}
}

func checkVocab(t *testing.T, v Vocab, regular int) {
	t.Helper()
	if len(v.Tokens) != regular+NumSpecial || len(v.Types) != len(v.Tokens) {
		t.Fatalf("%d tokens and %d types, want %d", len(v.Tokens), len(v.Types), regular+NumSpecial)
	}
	index := map[string]int{}
	for i, tok := range v.Tokens {
		if j, dup := index[tok]; dup {
			t.Fatalf("token %q at %d and %d", tok, j, i)
		}
		index[tok] = i
		want := TypeNormal
		if i >= regular {
			want = TypeControl
		}
		if v.Types[i] != want {
			t.Fatalf("token %d %q has type %d, want %d", i, tok, v.Types[i], want)
		}
		if i < regular && (strings.Contains(tok, " ") || tok == "") {
			t.Fatalf("regular token %d %q is empty or has a space", i, tok)
		}
	}
	for r, m := range v.Merges {
		left, right, ok := strings.Cut(m, " ")
		if !ok || strings.Contains(right, " ") {
			t.Fatalf("merge %d %q is not \"left right\"", r, m)
		}
		l, okL := index[left]
		rr, okR := index[right]
		res, okM := index[left+right]
		if !okL || !okR || !okM || l >= regular || rr >= regular || res >= regular {
			t.Fatalf("merge %d %q: left %v right %v result %v", r, m, okL, okR, okM)
		}
		if res < 256 {
			t.Fatalf("merge %d %q makes a byte token", r, m)
		}
	}
	if v.BOS != int32(regular) || v.EOS != int32(regular+1) || v.EOT != int32(regular+9) {
		t.Fatalf("BOS %d EOS %d EOT %d for regular %d", v.BOS, v.EOS, v.EOT, regular)
	}
	wantSpecial := map[int]string{
		0: "<|begin_of_text|>", 1: "<|end_of_text|>", 2: "<|reserved_special_token_0|>",
		3: "<|reserved_special_token_1|>", 4: "<|finetune_right_pad_id|>", 5: "<|reserved_special_token_2|>",
		6: "<|start_header_id|>", 7: "<|end_header_id|>", 8: "<|eom_id|>", 9: "<|eot_id|>",
		10: "<|python_tag|>", 11: "<|reserved_special_token_3|>", 255: "<|reserved_special_token_247|>",
	}
	for off, name := range wantSpecial {
		if got := v.Tokens[regular+off]; got != name {
			t.Fatalf("special +%d is %q, want %q", off, got, name)
		}
	}
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name    string
		regular int
		corpus  string
		merges  int // -1: do not check
	}{
		{"bytes only", 256, DefaultCorpus(), 0},
		{"empty corpus", 300, "", 0},
		{"tiny corpus", 300, "aaaa abab", -1},
		{"small", 1000, DefaultCorpus(), 1000 - 256},
		{"default corpus exhausted or capped", 20000, DefaultCorpus(), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := build(t, tt.regular, tt.corpus)
			checkVocab(t, v, tt.regular)
			if tt.merges >= 0 && len(v.Merges) != tt.merges {
				t.Fatalf("%d merges, want %d", len(v.Merges), tt.merges)
			}
			if len(v.Merges) > MaxMerges {
				t.Fatalf("%d merges, above MaxMerges", len(v.Merges))
			}
		})
	}
	if _, err := Build(255, "x"); err == nil || !strings.Contains(err.Error(), "at least the 256") {
		t.Fatalf("Build(255) err = %v", err)
	}
}

func TestMergesLearnFrequentPairs(t *testing.T) {
	// Frequency first: "l o" occurs 6 times, every other pair at most 4.
	v := build(t, 260, "hello hello hello hello lo lo")
	if v.Merges[0] != "l o" || v.Tokens[256] != "lo" {
		t.Fatalf("first merge %q, token 256 %q; want \"l o\", \"lo\"", v.Merges[0], v.Tokens[256])
	}
	// Ties: h-e, e-l, l-l and l-o all occur 4 times; the lowest left id wins
	// ("e" is 68, "h" 71, "l" 75, new tokens 256 and up).
	v = build(t, 260, "hello hello hello hello world")
	want := []string{"e l", "h el", "l o", "hel lo"}
	if !slices.Equal(v.Merges, want) {
		t.Fatalf("merges %q, want %q", v.Merges, want)
	}
}

func TestBuildRealSize(t *testing.T) {
	start := time.Now()
	v := build(t, 128000, DefaultCorpus())
	elapsed := time.Since(start)
	checkVocab(t, v, 128000)
	if len(v.Tokens) != 128256 || v.BOS != 128000 || v.EOS != 128001 || v.EOT != 128009 {
		t.Fatalf("%d tokens, BOS %d EOS %d EOT %d", len(v.Tokens), v.BOS, v.EOS, v.EOT)
	}
	t.Logf("Build(128000): %d merges, %v", len(v.Merges), elapsed)
	limit := 3 * time.Second
	if raceEnabled {
		limit *= 10
	}
	if elapsed > limit {
		t.Fatalf("Build(128000) took %v, want under %v", elapsed, limit)
	}
}

func TestDeterminism(t *testing.T) {
	for _, regular := range []int{1000, 5000} {
		a := build(t, regular, DefaultCorpus())
		b := build(t, regular, DefaultCorpus())
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("Build(%d) differs between runs", regular)
		}
	}
	a := build(t, 1000, DefaultCorpus())
	b := build(t, 1000, DefaultCorpus()+" extra words change the merges extra extra extra")
	if reflect.DeepEqual(a.Merges, b.Merges) {
		t.Fatal("a different corpus gave the same merges")
	}
}

func TestDefaultCorpus(t *testing.T) {
	c := DefaultCorpus()
	if len(c) < 3000 || !utf8.ValidString(c) {
		t.Fatalf("corpus: %d bytes, valid UTF-8 %v", len(c), utf8.ValidString(c))
	}
	for _, want := range []string{"didn't", "I'm", "ñ", "¿", "🙂", "func ", "\t", "\r\n", "\n\n", "4096", "日本語"} {
		if !strings.Contains(c, want) {
			t.Errorf("corpus lacks %q", want)
		}
	}
}

func TestPreTokenizer(t *testing.T) {
	re, err := compilePattern()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"I'm here", []string{"I", "'m", " here"}},
		{"DON'T", []string{"DON", "'T"}},
		{"12345", []string{"123", "45"}},
		{"a  b", []string{"a", " ", " b"}},
		{"x!!\n\ny", []string{"x", "!!\n\n", "y"}},
		{"a\r\nb", []string{"a", "\r\n", "b"}},
		{"tabs\there", []string{"tabs", "\there"}},
		{"end  ", []string{"end", "  "}},
		{"<|eot_id|>", []string{"<|", "eot", "_id", "|>"}},
		{"¿Qué?", []string{"¿Qué", "?"}},
		{"🙂 ok", []string{"🙂", " ok"}},
	}
	for _, tt := range tests {
		got, err := split(re, tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("split(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTokenizerRoundTrip(t *testing.T) {
	v := build(t, 128000, DefaultCorpus())
	tok, err := NewTokenizer(v)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"", "Hello, world!", DefaultCorpus(), "<|eot_id|> is plain text here",
		"Nuevo texto: ¿cómo estás? 🚀🚀 \u00a0nbsp\vvtab", "    indented\n\n\ttab",
		"zzqx unseen wordsqq 99999999", "\x00\x01\x7f", "a  b   c",
	}
	for _, text := range texts {
		ids, err := tok.EncodePlain(text)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if id < 0 || id >= v.BOS {
				t.Fatalf("%q encodes to special or invalid id %d", text, id)
			}
		}
		got, err := tok.Decode(ids)
		if err != nil {
			t.Fatal(err)
		}
		if got != text {
			t.Fatalf("round trip of %q gave %q", text, got)
		}
	}
	// The learned merges compress the corpus they were learned on.
	ids, _ := tok.EncodePlain(DefaultCorpus())
	if ratio := float64(len(DefaultCorpus())) / float64(len(ids)); ratio < 3 {
		t.Fatalf("corpus compresses only %.2f bytes/token", ratio)
	}
	// Specials decode to their names.
	if s, err := tok.Decode([]int32{v.BOS, v.EOT}); err != nil || s != "<|begin_of_text|><|eot_id|>" {
		t.Fatalf("Decode(BOS, EOT) = %q, %v", s, err)
	}
	if _, err := tok.Decode([]int32{int32(len(v.Tokens))}); err == nil {
		t.Fatal("Decode accepted an id outside the vocabulary")
	}
}

func TestTokenizerRejectsBadVocab(t *testing.T) {
	good := build(t, 300, "hello hello")
	tests := []struct {
		name   string
		mutate func(*Vocab)
		want   string
	}{
		{"types", func(v *Vocab) { v.Types = v.Types[1:] }, "types"},
		{"missing byte", func(v *Vocab) { v.Tokens[0] = "!!!" }, "no token for byte"},
		{"bad merge", func(v *Vocab) { v.Merges = append(v.Merges, "q z") }, "unknown token"},
		{"merge no space", func(v *Vocab) { v.Merges = append(v.Merges, "qz") }, "no space"},
		{"duplicate", func(v *Vocab) { v.Tokens[299] = v.Tokens[298] }, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Vocab{
				Tokens: slices.Clone(good.Tokens), Types: slices.Clone(good.Types),
				Merges: slices.Clone(good.Merges), BOS: good.BOS, EOS: good.EOS, EOT: good.EOT,
			}
			tt.mutate(&v)
			_, err := NewTokenizer(v)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func BenchmarkBuild128k(b *testing.B) {
	corpus := DefaultCorpus()
	for b.Loop() {
		if _, err := Build(128000, corpus); err != nil {
			b.Fatal(fmt.Errorf("build: %w", err))
		}
	}
}
