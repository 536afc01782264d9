package vocab

import (
	"fmt"
	"strings"

	"github.com/dlclark/regexp2"
)

// Tokenizer is a reference byte-level BPE tokenizer for a Vocab, to check
// other tokenizers (such as ollama's, reading a synthetic GGUF) against and
// to build token sequences in tests. It follows LLaMA-3's tokenizer: the
// Pattern pre-tokenizer, then for each piece the whole piece when it is a
// token (tokenizer.json's ignore_merges, which ollama also does), else the
// merges applied by rank, the lowest rank first and the leftmost on ties.
// It is safe for concurrent use.
//
// Checked against ollama v0.24.0's tokenizer.BytePairEncoding with the same
// vocabulary and Pattern: the ids are equal except that ollama's Encode
// turns special-token text into special tokens (EncodePlain never does),
// ollama does not always merge the leftmost of equal-rank pairs ("lllll"
// can give "ll","l","ll" there and "ll","ll","l" here, as Hugging Face
// tokenizers do), and ollama's Decode drops NUL bytes.
type Tokenizer struct {
	tokens  []string
	regular map[string]int32 // normal tokens only
	merges  map[pair]merge
	re      *regexp2.Regexp
	char    [256]rune
	byteOf  map[rune]byte
	byteID  [256]int32
}

type merge struct {
	rank int
	id   int32
}

// NewTokenizer prepares a Tokenizer for v. It fails when the vocabulary is
// inconsistent: missing byte tokens, a merge of unknown tokens, or a merge
// whose result is not a token.
func NewTokenizer(v Vocab) (*Tokenizer, error) {
	if len(v.Types) != len(v.Tokens) {
		return nil, fmt.Errorf("vocab: %d tokens but %d types", len(v.Tokens), len(v.Types))
	}
	re, err := compilePattern()
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{
		tokens:  v.Tokens,
		regular: make(map[string]int32, len(v.Tokens)),
		merges:  make(map[pair]merge, len(v.Merges)),
		re:      re,
		byteOf:  make(map[rune]byte, 256),
	}
	for i, tok := range v.Tokens {
		if v.Types[i] == TypeNormal {
			if _, dup := t.regular[tok]; dup {
				return nil, fmt.Errorf("vocab: token %q appears twice", tok)
			}
			t.regular[tok] = int32(i)
		}
	}
	_, t.char = byteAlphabet()
	for b, c := range t.char {
		t.byteOf[c] = byte(b)
		id, ok := t.regular[string(c)]
		if !ok {
			return nil, fmt.Errorf("vocab: no token for byte 0x%02x (%q)", b, c)
		}
		t.byteID[b] = id
	}
	for rank, m := range v.Merges {
		left, right, ok := strings.Cut(m, " ")
		if !ok {
			return nil, fmt.Errorf("vocab: merge %d %q has no space", rank, m)
		}
		l, okL := t.regular[left]
		r, okR := t.regular[right]
		id, okM := t.regular[left+right]
		if !okL || !okR || !okM {
			return nil, fmt.Errorf("vocab: merge %d %q joins or makes an unknown token", rank, m)
		}
		if _, dup := t.merges[pair{l, r}]; !dup {
			t.merges[pair{l, r}] = merge{rank: rank, id: id}
		}
	}
	return t, nil
}

// EncodePlain returns the tokens of text. Special-token text such as
// "<|eot_id|>" is encoded as ordinary characters. Invalid UTF-8 is replaced
// by U+FFFD, as ollama's tokenizer does.
func (t *Tokenizer) EncodePlain(text string) ([]int32, error) {
	pieces, err := split(t.re, text)
	if err != nil {
		return nil, err
	}
	var out []int32
	var b strings.Builder
	for _, p := range pieces {
		b.Reset()
		for i := range len(p) {
			b.WriteRune(t.char[p[i]])
		}
		if id, ok := t.regular[b.String()]; ok {
			out = append(out, id)
			continue
		}
		syms := make([]int32, len(p))
		for i := range len(p) {
			syms[i] = t.byteID[p[i]]
		}
		for len(syms) > 1 {
			best, bestAt := merge{rank: -1}, -1
			for i := 1; i < len(syms); i++ {
				if m, ok := t.merges[pair{syms[i-1], syms[i]}]; ok && (bestAt < 0 || m.rank < best.rank) {
					best, bestAt = m, i-1
				}
			}
			if bestAt < 0 {
				break
			}
			syms[bestAt] = best.id
			syms = append(syms[:bestAt+1], syms[bestAt+2:]...)
		}
		out = append(out, syms...)
	}
	return out, nil
}

// Decode returns the text of ids. Special tokens give their names.
func (t *Tokenizer) Decode(ids []int32) (string, error) {
	var b strings.Builder
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.tokens) {
			return "", fmt.Errorf("vocab: token %d outside the vocabulary of %d", id, len(t.tokens))
		}
		tok := t.tokens[id]
		if _, ok := t.regular[tok]; !ok || t.regular[tok] != id {
			b.WriteString(tok)
			continue
		}
		for _, c := range tok {
			by, ok := t.byteOf[c]
			if !ok {
				return "", fmt.Errorf("vocab: token %d %q has a character outside the byte alphabet", id, tok)
			}
			b.WriteByte(by)
		}
	}
	return b.String(), nil
}
