package tokenize

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/dlclark/regexp2"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/synth/vocab"
)

// TestPreTokenizerNames: every tokenizer.ggml.pre name CheckModel accepts
// builds a BPE tokenizer, and (all being LLaMA-3's regex today) encodes as
// 2B4T's does.
func TestPreTokenizerNames(t *testing.T) {
	fx := load(t, 2000)
	f := minimalFile(t, fx.v, true)
	text := vocab.DefaultCorpus()
	want, _ := fx.tok.EncodePlain(text)
	for _, name := range slices.Sorted(maps.Keys(gguf.PreTokenizers)) {
		spec := *fx.spec
		spec.Pre = name
		tok, err := New(f, &spec)
		if err != nil {
			t.Fatalf("pre %q: %v", name, err)
		}
		family := gguf.PreTokenizers[name]
		if got := len(tok.pretoks); got != len(PreTokenizerRegexes[family]) {
			t.Fatalf("pre %q: %d regexes, want those of %q", name, got, family)
		}
		if family != "llama3" {
			continue
		}
		got, _ := tok.EncodePlain(text)
		if !slices.Equal(got, want) {
			t.Errorf("pre %q: the corpus encodes differently from 2B4T's", name)
		}
	}
	// Every regex family compiles.
	for family, patterns := range PreTokenizerRegexes {
		if _, err := compilePatterns(patterns); err != nil || len(patterns) == 0 {
			t.Errorf("family %q: %v", family, err)
		}
	}
}

func TestPreTokenizerUnknown(t *testing.T) {
	fx := load(t, 2000)
	f := minimalFile(t, fx.v, true)
	spec := *fx.spec
	spec.Pre = "gpt-4o"
	if _, err := New(f, &spec); err == nil || !strings.Contains(err.Error(), `"gpt-4o"`) {
		t.Fatalf("unknown pre-tokenizer: err %v", err)
	}
	// A name whose regex family tokenize lacks.
	saved := PreTokenizerRegexes["llama3"]
	delete(PreTokenizerRegexes, "llama3")
	defer func() { PreTokenizerRegexes["llama3"] = saved }()
	spec.Pre = "llama-bpe"
	if _, err := New(f, &spec); err == nil || !strings.Contains(err.Error(), "regex family") {
		t.Fatalf("family without regexes: err %v", err)
	}
}

// TestPretokenBounds: the piece ends of one and two regex passes (the
// second splitting what the first left, as ollama and llama.cpp do).
func TestPretokenBounds(t *testing.T) {
	compile := func(ps ...string) []*regexp2.Regexp {
		res, err := compilePatterns(ps)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	ends := func(res []*regexp2.Regexp, s string) []int {
		b, err := pretokenBounds(res, []rune(s))
		if err != nil {
			t.Fatal(err)
		}
		return slices.Sorted(maps.Keys(b))
	}
	// LLaMA-3: "ab", " ", "123", "45", " cd" (\p{N}{1,3} takes no space,
	// so the space before the digits stands alone).
	if got, want := ends(compile(Llama3Pattern), "ab 12345 cd"), []int{2, 3, 6, 8, 11}; !slices.Equal(got, want) {
		t.Errorf("llama3 ends %v, want %v", got, want)
	}
	// Two passes: words first, then single digits inside what is left.
	if got, want := ends(compile(`\p{L}+`, `\p{N}`), "ab12 c"), []int{2, 3, 4, 5, 6}; !slices.Equal(got, want) {
		t.Errorf("two passes ends %v, want %v", got, want)
	}
	// Multi-byte characters: byte offsets.
	if got, want := ends(compile(`\p{L}+`), "é ñ"), []int{2, 3, 5}; !slices.Equal(got, want) {
		t.Errorf("multi-byte ends %v, want %v", got, want)
	}
}

// TestEncodePlainSpecialWithoutAngle: BPE special tokens whose text does
// not start with "<" are also kept as plain text by EncodePlain.
func TestEncodePlainSpecialWithoutAngle(t *testing.T) {
	v, err := vocab.Build(2000, vocab.DefaultCorpus())
	if err != nil {
		t.Fatal(err)
	}
	sep := v.BOS + 2 // <|reserved_special_token_0|>, renamed
	v.Tokens[sep] = "[SEP]"
	ref, err := vocab.NewTokenizer(v)
	if err != nil {
		t.Fatal(err)
	}
	f := minimalFile(t, v, true)
	spec, err := gguf.CheckModel(f)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := New(f, spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"a[SEP]b", "[SEP]", "x [SEP] [SEP]y", "see <|eot_id|> and [SEP]"} {
		plain, _ := tok.EncodePlain(text)
		want, _ := ref.EncodePlain(text)
		if !slices.Equal(plain, want) {
			t.Errorf("EncodePlain(%q) = %v, reference %v", text, plain, want)
		}
		ids, _ := tok.Encode(text, false)
		if !slices.Contains(ids, sep) {
			t.Errorf("Encode(%q) = %v lacks [SEP] %d", text, ids, sep)
		}
	}
}
