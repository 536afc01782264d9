package vocab

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// More token types (GGUF tokenizer.ggml.token_type).
const (
	TypeUnknown     int32 = 2
	TypeUserDefined int32 = 4
	TypeByte        int32 = 6
)

// Ids of the fixed tokens of a SentencePiece vocabulary.
const (
	SPMUnknown    = 0
	SPMBOS        = 1
	SPMEOS        = 2
	SPMFirstByte  = 3
	SPMFirstPiece = SPMFirstByte + 256
)

// SPMCharMin is how often a character other than "▁" and printable ASCII
// must occur in the corpus to get a piece.
const SPMCharMin = 3

// ExtraScore is the score BitNet's converter gives added tokens.
const ExtraScore = -1000

// SPMExtras are 1bitLLM's added tokens, in id order after the vocabulary.
var SPMExtras = []string{"<pad>", "</line>"}

// SPMVocab is a SentencePiece vocabulary: Tokens[i] is the text of id i
// ("▁" for spaces), Scores[i] its score and Types[i] its type.
type SPMVocab struct {
	Tokens []string
	Scores []float32
	Types  []int32
	BOS    int32
	EOS    int32
	UNK    int32
	// Learned is the number of learned pieces (ids SPMFirstPiece onwards),
	// Chars the number of single-character pieces (the last before the
	// extras).
	Learned int
	Chars   int
}

const spmSpace = "▁"

// BuildSPM returns a SentencePiece vocabulary in the style of LLaMA-2's (the
// vocabulary of 1bitLLM's bitnet_b1_58-large and -3B) for synthetic test
// models, learned on corpus. It has size tokens (size+2 with extras):
//
//   - id 0 <unk> (TypeUnknown), 1 <s> (BOS) and 2 </s> (EOS) (TypeControl),
//     score 0, as in LLaMA-2;
//   - ids 3..258: the byte tokens <0x00>..<0xFF> (TypeByte, upper-case hex,
//     score 0), as in LLaMA-2;
//   - then the pieces learned on corpus, in the order learned: the corpus is
//     cut into words at whitespace, each word gets SentencePiece's "▁"
//     (U+2581) in front, and BPE training merges the most frequent adjacent
//     pair (weighted by word count; ties: the smaller left piece, then the
//     smaller right piece, comparing strings) while pairs remain, at most
//     MaxMerges times. Pairs with a digit are never merged (LLaMA-2 splits
//     digits) and neither are characters that are not pieces. A merge that
//     spells an existing piece adds none. The n-th new piece (from 1) has
//     score -n, so that SentencePiece's rule (merge the adjacent pair whose
//     concatenation has the highest score) follows the learned order;
//   - then filler pieces up to the requested size: "▁" and two lower-case
//     letters, the two letters alone, then the same with three letters
//     (and so on), skipping existing pieces, with scores continuing
//     downwards. Encoding can still produce
//     them (any adjacent pair that spells a piece is merged, the lowest
//     scores last);
//   - then the single characters, as LLaMA-2 puts them last: "▁", the
//     printable ASCII characters and every other character found at least
//     SPMCharMin times in the corpus's words, the most frequent first (ties:
//     by code point), scores continuing downwards. Other characters (most
//     emoji and CJK in DefaultCorpus) have no piece and are encoded as byte
//     tokens;
//   - with extras, <pad> and </line> (TypeUserDefined, score -1000): the two
//     tokens 1bitLLM's added_tokens.json adds, as microsoft/BitNet's
//     converter (utils/convert-hf-to-gguf-bitnet.py,
//     _set_vocab_sentencepiece) writes them.
//
// The same input always gives the same vocabulary.
func BuildSPM(size int, corpus string, extras bool) (SPMVocab, error) {
	if size > 1<<22 {
		return SPMVocab{}, fmt.Errorf("vocab: %d SentencePiece tokens is too many", size)
	}
	words, order := spmWords(corpus)
	chars := spmChars(words, order)
	if need := SPMFirstPiece + len(chars); size < need {
		return SPMVocab{}, fmt.Errorf("vocab: %d SentencePiece tokens requested; the fixed tokens and the %d characters need %d", size, len(chars), need)
	}
	v := SPMVocab{BOS: SPMBOS, EOS: SPMEOS, UNK: SPMUnknown}
	add := func(tok string, score float32, typ int32) {
		v.Tokens = append(v.Tokens, tok)
		v.Scores = append(v.Scores, score)
		v.Types = append(v.Types, typ)
	}
	add("<unk>", 0, TypeUnknown)
	add("<s>", 0, TypeControl)
	add("</s>", 0, TypeControl)
	for b := range 256 {
		add(fmt.Sprintf("<0x%02X>", b), 0, TypeByte)
	}
	isChar := make(map[string]bool, len(chars))
	for _, c := range chars {
		isChar[c] = true
	}
	room := size - SPMFirstPiece - len(chars)
	learned := spmTrain(words, order, isChar, min(room, MaxMerges))
	score := float32(0)
	for _, p := range learned {
		score--
		add(p, score, TypeNormal)
	}
	v.Learned = len(learned)

	have := make(map[string]bool, size)
	for _, tok := range v.Tokens {
		have[tok] = true
	}
	for _, c := range chars {
		have[c] = true
	}
	fillers := size - len(v.Tokens) - len(chars)
	if err := spmFillers(fillers, have, func(p string) { score--; add(p, score, TypeNormal) }); err != nil {
		return SPMVocab{}, err
	}
	for _, c := range chars {
		score--
		add(c, score, TypeNormal)
	}
	v.Chars = len(chars)
	if extras {
		for _, x := range SPMExtras {
			add(x, ExtraScore, TypeUserDefined)
		}
	}
	return v, nil
}

// spmWords cuts corpus into "▁"-prefixed words and counts them; order is
// the words in first-occurrence order.
func spmWords(corpus string) (counts map[string]int, order []string) {
	counts = map[string]int{}
	for _, w := range strings.FieldsFunc(corpus, unicode.IsSpace) {
		w = spmSpace + w
		if counts[w] == 0 {
			order = append(order, w)
		}
		counts[w]++
	}
	return counts, order
}

// spmChars returns the characters that get a piece, the most frequent
// first.
func spmChars(counts map[string]int, order []string) []string {
	freq := map[rune]int{}
	for _, w := range order {
		for _, r := range w {
			freq[r] += counts[w]
		}
	}
	var chars []rune
	for r, n := range freq {
		if r == '▁' || (r > ' ' && r < 0x7f) || (n >= SPMCharMin && r != unicode.ReplacementChar) {
			chars = append(chars, r)
		}
	}
	for r := rune('!'); r < 0x7f; r++ { // all of printable ASCII, found or not
		if freq[r] == 0 {
			chars = append(chars, r)
		}
	}
	if freq['▁'] == 0 {
		chars = append(chars, '▁')
	}
	slices.SortFunc(chars, func(a, b rune) int {
		if c := cmp.Compare(freq[b], freq[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	out := make([]string, len(chars))
	for i, r := range chars {
		out[i] = string(r)
	}
	return out
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

// spmTrain learns up to limit new pieces by BPE merges over the words.
func spmTrain(counts map[string]int, order []string, isChar map[string]bool, limit int) []string {
	type sword struct {
		syms  []string
		count int
	}
	type spair [2]string
	mergeable := func(s string) bool { return s != "" && !hasDigit(s) }
	words := make([]sword, 0, len(order))
	pairs := map[spair]int{}
	count := func(w sword, sign int) {
		for i := 1; i < len(w.syms); i++ {
			p := spair{w.syms[i-1], w.syms[i]}
			if !mergeable(p[0]) || !mergeable(p[1]) {
				continue
			}
			if pairs[p] += sign * w.count; pairs[p] == 0 {
				delete(pairs, p)
			}
		}
	}
	for _, text := range order {
		w := sword{count: counts[text]}
		for _, r := range text {
			s := string(r)
			if !isChar[s] {
				s = "" // no piece: a barrier no pair crosses
			}
			w.syms = append(w.syms, s)
		}
		count(w, 1)
		words = append(words, w)
	}
	have := map[string]bool{}
	var learned []string
	for len(learned) < limit && len(pairs) > 0 {
		var best spair
		bestN := 0
		for p, n := range pairs {
			if n > bestN || (n == bestN && (p[0] < best[0] || (p[0] == best[0] && p[1] < best[1]))) {
				best, bestN = p, n
			}
		}
		merged := best[0] + best[1]
		if !have[merged] {
			have[merged] = true
			learned = append(learned, merged)
		}
		for wi := range words {
			w := &words[wi]
			if !slices.Contains(w.syms, best[0]) {
				continue
			}
			count(*w, -1)
			out := w.syms[:0]
			for i := 0; i < len(w.syms); i++ {
				if i+1 < len(w.syms) && w.syms[i] == best[0] && w.syms[i+1] == best[1] {
					out = append(out, merged)
					i++
				} else {
					out = append(out, w.syms[i])
				}
			}
			w.syms = out
			count(*w, 1)
		}
	}
	return learned
}

// spmFillers calls add for n new pieces: "▁" and 2, then 3, ... lower-case
// letters, then the letters alone, skipping pieces in have.
func spmFillers(n int, have map[string]bool, add func(string)) error {
	const alphabet = "abcdefghijklmnopqrstuvwxyz"
	for length := 2; n > 0; length++ {
		if length > 5 {
			return fmt.Errorf("vocab: ran out of SentencePiece filler pieces")
		}
		for _, prefix := range []string{spmSpace, ""} {
			digits := make([]int, length)
			for n > 0 {
				var b strings.Builder
				b.WriteString(prefix)
				for _, d := range digits {
					b.WriteByte(alphabet[d])
				}
				if s := b.String(); !have[s] {
					have[s] = true
					add(s)
					n--
				}
				i := length - 1
				for ; i >= 0; i-- {
					if digits[i]++; digits[i] < len(alphabet) {
						break
					}
					digits[i] = 0
				}
				if i < 0 {
					break
				}
			}
		}
	}
	return nil
}
