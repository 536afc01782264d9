// Package vocab builds byte-level BPE vocabularies in the GPT-2 / LLaMA-3
// style for synthetic test models, since the real LLaMA-3 vocabulary cannot
// be downloaded here.
//
// A vocabulary built with Build(regular, corpus) has regular+256 tokens:
//
//   - ids 0..255: the 256 byte tokens, spelled with GPT-2's bytes_to_unicode
//     alphabet and in that mapping's order (as in GPT-2 and LLaMA-3: "!" is 0,
//     the space "Ġ" is 220, the newline "Ċ" is 198);
//   - then one token per merge learned on corpus: the corpus is split with
//     LLaMA-3's pre-tokenizer regex (Pattern), and standard BPE training
//     merges the most frequent adjacent pair over all words (weighted by how
//     often each word occurs; ties go to the pair with the lowest left id,
//     then the lowest right id) while pairs remain, at most MaxMerges times;
//   - then filler tokens up to id regular-1: distinct strings of 2, then 3
//     ASCII characters (letters first, in the mapped alphabet, so " ab" is
//     "Ġab") that no merge produces. A tokenizer still emits one when a whole
//     pre-tokenized piece equals it, as LLaMA-3's ignore_merges does. A few
//     KB of corpus give about 1500 merges, so Build(128000, DefaultCorpus())
//     is mostly fillers: it gives a synthetic model the real vocabulary size;
//   - ids regular..regular+255: LLaMA-3.1's 256 special tokens in its order:
//     <|begin_of_text|> (BOS, +0), <|end_of_text|> (EOS, +1),
//     <|reserved_special_token_0|>, <|reserved_special_token_1|>,
//     <|finetune_right_pad_id|> (+4), <|reserved_special_token_2|>,
//     <|start_header_id|>, <|end_header_id|>, <|eom_id|> (+8),
//     <|eot_id|> (EOT, +9), <|python_tag|> (+10), then
//     <|reserved_special_token_3|> to <|reserved_special_token_247|>.
//
// Types follow GGUF's tokenizer.ggml.token_type: TypeNormal for the regular
// tokens, TypeControl for the specials. Merges are "left right" in the mapped
// alphabet, as tokenizer.ggml.merges stores them.
//
// The same input always gives the same vocabulary.
//
// BuildSPM (spm.go) builds SentencePiece vocabularies in LLaMA-2's layout
// instead.
package vocab

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/dlclark/regexp2"
)

// Pattern is LLaMA-3's pre-tokenizer regex. It is compiled with regexp2's
// RE2 option, as ollama does, so \s means ASCII whitespace.
const Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// MaxMerges caps the merges Build learns, to keep it fast.
const MaxMerges = 4000

// NumSpecial is the number of special tokens after the regular ones.
const NumSpecial = 256

// Token types (GGUF tokenizer.ggml.token_type).
const (
	TypeNormal  int32 = 1
	TypeControl int32 = 3
)

// Offsets of the special tokens the engine uses, from the first special id.
const (
	OffsetBOS = 0
	OffsetEOS = 1
	OffsetEOT = 9
)

// Vocab is a complete vocabulary: Tokens[i] is the text of id i in the
// mapped alphabet, Types[i] its type.
type Vocab struct {
	Tokens []string
	Types  []int32
	Merges []string
	BOS    int32
	EOS    int32
	EOT    int32
}

//go:embed corpus.txt
var corpusText string

// DefaultCorpus returns a few KB of varied text: English and Spanish prose,
// digits, contractions, punctuation, accents, other scripts, code, emoji,
// blank lines, tabs, and CRLF line endings.
func DefaultCorpus() string {
	// Normalise in case a checkout turned the file's LF into CRLF, then add
	// CRLF lines explicitly, so the corpus is the same everywhere.
	text := strings.ReplaceAll(corpusText, "\r\n", "\n")
	return text + "Windows line endings follow.\r\nLine one.\r\nLine two.\r\n\r\nThe end.\r\n"
}

// specialNames returns LLaMA-3.1's 256 special token names in id order.
func specialNames() []string {
	names := []string{
		"<|begin_of_text|>",
		"<|end_of_text|>",
		"<|reserved_special_token_0|>",
		"<|reserved_special_token_1|>",
		"<|finetune_right_pad_id|>",
		"<|reserved_special_token_2|>",
		"<|start_header_id|>",
		"<|end_header_id|>",
		"<|eom_id|>",
		"<|eot_id|>",
		"<|python_tag|>",
	}
	for i := 3; len(names) < NumSpecial; i++ {
		names = append(names, fmt.Sprintf("<|reserved_special_token_%d|>", i))
	}
	return names
}

// Bytes returns the bytes a regular token stands for (its characters
// mapped back through GPT-2's bytes_to_unicode), or false for a token
// with other characters (a special token).
func Bytes(token string) ([]byte, bool) {
	_, char := byteAlphabet()
	inv := make(map[rune]byte, 256)
	for b, r := range char {
		inv[r] = byte(b)
	}
	out := make([]byte, 0, len(token))
	for _, r := range token {
		b, ok := inv[r]
		if !ok {
			return nil, false
		}
		out = append(out, b)
	}
	return out, true
}

// byteAlphabet returns GPT-2's bytes_to_unicode: order lists the bytes in
// the order of their tokens (printable bytes first, then the rest), and
// char[b] is the character that spells byte b.
func byteAlphabet() (order [256]byte, char [256]rune) {
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	n, extra := 0, 0
	for b := range 256 {
		if printable(b) {
			order[n] = byte(b)
			char[b] = rune(b)
			n++
		}
	}
	for b := range 256 {
		if !printable(b) {
			order[n] = byte(b)
			char[b] = rune(256 + extra)
			n++
			extra++
		}
	}
	return order, char
}

// compilePattern compiles Pattern the way ollama does.
func compilePattern() (*regexp2.Regexp, error) {
	re, err := regexp2.Compile(Pattern, regexp2.RE2)
	if err != nil {
		return nil, fmt.Errorf("vocab: compiling the pre-tokenizer regex: %w", err)
	}
	return re, nil
}

// split pre-tokenizes text the way ollama's BytePairEncoding does: the
// matches of re, and any text between them (the LLaMA-3 pattern leaves
// none). Text is handled as runes, so invalid UTF-8 becomes U+FFFD.
func split(re *regexp2.Regexp, text string) ([]string, error) {
	r := []rune(text)
	var out []string
	offset := 0
	m, err := re.FindRunesMatch(r)
	for ; m != nil && err == nil; m, err = re.FindNextMatch(m) {
		if m.Index > offset {
			out = append(out, string(r[offset:m.Index]))
		}
		out = append(out, m.String())
		offset = m.Index + m.Length
	}
	if err != nil {
		return nil, fmt.Errorf("vocab: pre-tokenizing: %w", err)
	}
	if offset < len(r) {
		out = append(out, string(r[offset:]))
	}
	return out, nil
}

// Build returns a vocabulary with regular regular tokens followed by the 256
// special tokens, its merges learned on corpus (see the package
// documentation). regular must be at least 256.
func Build(regular int, corpus string) (Vocab, error) {
	if regular < 256 {
		return Vocab{}, fmt.Errorf("vocab: %d regular tokens requested, at least the 256 byte tokens are needed", regular)
	}
	if regular > 1<<30 {
		return Vocab{}, fmt.Errorf("vocab: %d regular tokens is too many", regular)
	}
	re, err := compilePattern()
	if err != nil {
		return Vocab{}, err
	}

	order, char := byteAlphabet()
	tokens := make([]string, 0, regular+NumSpecial)
	index := make(map[string]int32, regular+NumSpecial)
	var byteID [256]int32
	for _, b := range order {
		byteID[b] = int32(len(tokens))
		index[string(char[b])] = int32(len(tokens))
		tokens = append(tokens, string(char[b]))
	}

	pieces, err := split(re, corpus)
	if err != nil {
		return Vocab{}, err
	}
	tokens, merges := train(tokens, index, byteID, pieces, regular)

	if err := addFillers(&tokens, index, char, regular); err != nil {
		return Vocab{}, err
	}

	types := make([]int32, regular, regular+NumSpecial)
	for i := range types {
		types[i] = TypeNormal
	}
	for _, name := range specialNames() {
		if _, dup := index[name]; dup {
			return Vocab{}, fmt.Errorf("vocab: special token %s is also a regular token", name)
		}
		index[name] = int32(len(tokens))
		tokens = append(tokens, name)
		types = append(types, TypeControl)
	}
	return Vocab{
		Tokens: tokens,
		Types:  types,
		Merges: merges,
		BOS:    int32(regular + OffsetBOS),
		EOS:    int32(regular + OffsetEOS),
		EOT:    int32(regular + OffsetEOT),
	}, nil
}

type pair [2]int32

type word struct {
	syms  []int32
	count int
}

// train learns BPE merges on the pre-tokenized pieces, appending the new
// tokens to tokens (and index) until there are regular tokens, MaxMerges
// merges, or no pair left.
func train(tokens []string, index map[string]int32, byteID [256]int32, pieces []string, regular int) ([]string, []string) {
	counts := make(map[string]int)
	var order []string // first occurrence order, for determinism
	for _, p := range pieces {
		if counts[p] == 0 {
			order = append(order, p)
		}
		counts[p]++
	}
	words := make([]word, 0, len(order))
	pairs := make(map[pair]int)
	for _, p := range order {
		w := word{count: counts[p]}
		for _, b := range []byte(p) {
			w.syms = append(w.syms, byteID[b])
		}
		for i := 1; i < len(w.syms); i++ {
			pairs[pair{w.syms[i-1], w.syms[i]}] += w.count
		}
		words = append(words, w)
	}

	var merges []string
	for len(tokens) < regular && len(merges) < MaxMerges && len(pairs) > 0 {
		var best pair
		bestN := 0
		for p, n := range pairs {
			if n > bestN || (n == bestN && (p[0] < best[0] || (p[0] == best[0] && p[1] < best[1]))) {
				best, bestN = p, n
			}
		}
		left, right := tokens[best[0]], tokens[best[1]]
		merged := left + right
		id, ok := index[merged]
		if !ok { // two merge paths can spell the same token: reuse it
			id = int32(len(tokens))
			index[merged] = id
			tokens = append(tokens, merged)
		}
		merges = append(merges, left+" "+right)

		for wi := range words {
			w := &words[wi]
			if !contains(w.syms, best) {
				continue
			}
			for i := 1; i < len(w.syms); i++ {
				p := pair{w.syms[i-1], w.syms[i]}
				if pairs[p] -= w.count; pairs[p] == 0 {
					delete(pairs, p)
				}
			}
			out := w.syms[:0]
			for i := 0; i < len(w.syms); i++ {
				if i+1 < len(w.syms) && w.syms[i] == best[0] && w.syms[i+1] == best[1] {
					out = append(out, id)
					i++
				} else {
					out = append(out, w.syms[i])
				}
			}
			w.syms = out
			for i := 1; i < len(w.syms); i++ {
				pairs[pair{w.syms[i-1], w.syms[i]}] += w.count
			}
		}
	}
	return tokens, merges
}

func contains(syms []int32, p pair) bool {
	for i := 1; i < len(syms); i++ {
		if syms[i-1] == p[0] && syms[i] == p[1] {
			return true
		}
	}
	return false
}

// fillerAlphabet is the bytes filler tokens are made of: letters first so
// that a synthetic model's random output looks like text.
const fillerAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"-_()[]{}<>/\\|@#$%^&*+=~`"

// addFillers appends distinct tokens until there are regular of them: every
// string of 2, then 3, ... bytes of fillerAlphabet that is not a token yet,
// in order. None of them is produced by a merge (all merges are learned).
func addFillers(tokens *[]string, index map[string]int32, char [256]rune, regular int) error {
	alpha := []rune{}
	for i := range len(fillerAlphabet) {
		alpha = append(alpha, char[fillerAlphabet[i]])
	}
	digits := make([]int, 2)
	for len(*tokens) < regular {
		var b strings.Builder
		for _, d := range digits {
			b.WriteRune(alpha[d])
		}
		s := b.String()
		if _, ok := index[s]; !ok {
			index[s] = int32(len(*tokens))
			*tokens = append(*tokens, s)
		}
		// Next string of the same length, or the first of the next length.
		i := len(digits) - 1
		for ; i >= 0; i-- {
			digits[i]++
			if digits[i] < len(alpha) {
				break
			}
			digits[i] = 0
		}
		if i < 0 {
			if len(digits) >= 6 {
				return fmt.Errorf("vocab: ran out of filler tokens at %d", len(*tokens))
			}
			digits = make([]int, len(digits)+1)
		}
	}
	return nil
}
