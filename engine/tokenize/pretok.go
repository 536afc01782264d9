package tokenize

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dlclark/regexp2"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
)

// PreTokenizerRegexes maps a regex family, the value side of
// gguf.PreTokenizers, to the regexes ollama's byte-level BPE applies in
// order (each one splits the pieces the previous one left, as llama.cpp's
// unicode_regex_split does). Adding a family is one line here plus the
// mapping of its tokenizer.ggml.pre names in gguf.PreTokenizers.
var PreTokenizerRegexes = map[string][]string{
	"llama3": {Llama3Pattern},
}

// preTokenizerPatterns returns the regexes of the BPE pre-tokenizer named
// pre (a tokenizer.ggml.pre value, "" when the key is absent).
func preTokenizerPatterns(pre string) ([]string, error) {
	family, ok := gguf.PreTokenizers[pre]
	if !ok {
		names := slices.Sorted(maps.Keys(gguf.PreTokenizers))
		return nil, fmt.Errorf("tokenize: pre-tokenizer %q is not supported; supported are %s", pre, strings.Join(names, ", "))
	}
	patterns, ok := PreTokenizerRegexes[family]
	if !ok || len(patterns) == 0 {
		return nil, fmt.Errorf("tokenize: pre-tokenizer %q maps to the regex family %q, which has no regexes", pre, family)
	}
	return patterns, nil
}

// compilePatterns compiles the regexes the way ollama's BPE does (RE2
// option: \s is ASCII whitespace, as in ollama).
func compilePatterns(patterns []string) ([]*regexp2.Regexp, error) {
	res := make([]*regexp2.Regexp, len(patterns))
	for i, p := range patterns {
		re, err := regexp2.Compile(p, regexp2.RE2)
		if err != nil {
			return nil, fmt.Errorf("tokenize: compiling pre-tokenizer regex %d: %w", i, err)
		}
		res[i] = re
	}
	return res, nil
}

// pretokenBounds returns the byte offsets (into string(runes)) where the
// pieces of the BPE's pre-tokenizer end, splitting as ollama's
// BytePairEncoding.split does: each regex in turn splits every piece into
// its matches and the text between them.
func pretokenBounds(res []*regexp2.Regexp, runes []rune) (map[int]bool, error) {
	type span struct{ lo, hi int } // rune offsets
	parts := []span{{0, len(runes)}}
	for _, re := range res {
		var next []span
		for _, p := range parts {
			sub := runes[p.lo:p.hi]
			offset := 0
			m, err := re.FindRunesMatch(sub)
			for ; m != nil && err == nil; m, err = re.FindNextMatch(m) {
				if m.Index > offset {
					next = append(next, span{p.lo + offset, p.lo + m.Index})
				}
				next = append(next, span{p.lo + m.Index, p.lo + m.Index + m.Length})
				offset = m.Index + m.Length
			}
			if err != nil {
				return nil, err
			}
			if offset < len(sub) {
				next = append(next, span{p.lo + offset, p.hi})
			}
		}
		parts = next
	}
	bounds := make(map[int]bool, len(parts))
	pos, at := 0, 0 // byte offset of rune index at
	for _, p := range parts {
		for ; at < p.hi; at++ {
			pos += utf8.RuneLen(runes[at])
		}
		bounds[pos] = true
	}
	return bounds, nil
}
