package tokenize

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// SentencePiece (tokenizer.ggml.model = "llama"), as llama.cpp does it.
//
// The source followed is the llama.cpp fork bitnet.cpp runs (vendored in
// ygqdan/BitNet-linux at 3rdparty/llama.cpp, HEAD 6d113cd):
// src/llama-vocab.cpp llama_tokenize_internal (LLAMA_VOCAB_TYPE_SPM case),
// llm_tokenizer_spm_session, tokenizer_st_partition,
// llama_token_to_piece_impl and llama_detokenize_impl; src/llama.cpp
// llm_load_vocab for the defaults and the special-token cache.
//
// Encoding:
//
//   - Encode first splits out special-token text (tokenizer_st_partition):
//     every control, user-defined and unknown token, longest text first,
//     each splitting every remaining text fragment at all its occurrences.
//     EncodePlain splits nothing.
//   - Each text fragment gets a leading " " when add_space_prefix is on
//     (default true for SPM, key tokenizer.ggml.add_space_prefix) and the
//     fragment is the first one or follows a special token; then every " "
//     becomes "▁" (U+2581). Nothing else is normalised.
//   - The fragment is cut into UTF-8 characters by their lead byte
//     (unicode_len_utf8: invalid bytes are one-byte symbols, a truncated
//     sequence takes what is left), and the adjacent pair whose
//     concatenation is a token with the highest score is merged, the
//     leftmost on equal scores, until no pair is a token.
//   - A final symbol that is not a token becomes its bytes' <0xNN> tokens
//     (upper-case hex), else the one-byte token, else the unknown token.
//
// As in llama.cpp, spaces are escaped before the text is cut, so an
// invalid lead byte just before a space takes the first byte of its "▁"
// (the only input, with a typed "▁", that does not decode back as is).
//
// Differences from llama.cpp. Deliberate: EncodePlain leaves user-defined
// tokens such as </line> as text, where llama.cpp splits them out even with
// parse_special off. In cases a LLaMA-2 vocabulary does not reach: merges
// and final symbols only use normal tokens (llama.cpp looks up every token
// type, so a chain of pieces could in principle spell "<s>" or "<0x41>";
// SentencePiece never does); equal-length special tokens are tried in id
// order (llama.cpp's std::sort leaves it unspecified); the LSTRIP/RSTRIP
// attributes llama.cpp sets by model name (phi-3, jina) are not applied; a
// file without token types still decodes "<0xNN>" tokens as bytes; a byte
// without a byte or one-byte token gives one unknown token for its
// character (llama.cpp throws).
//
// Decoding (llama_token_to_piece_impl): a normal token's "▁" become spaces,
// a byte token is its byte, control, user-defined and unknown tokens are
// their text, other types (unused, undefined) are empty. Decode drops one
// leading space from the first token's text when add_space_prefix is on, as
// llama_detokenize_impl does (it strips the first token only: after a
// leading <s> the next token keeps its space, "<s> Hello"). llama.cpp's
// streaming output (common_token_to_piece, lstrip 0, which llama-cli and
// llama-server use for generated tokens) and ollama (SentencePiece.Decode,
// per token) never drop it: NewStream does the same, NewStreamAtStart
// decodes as Decode.
type spm struct {
	pieces   map[string]int32 // normal tokens: what merges can make
	scores   []float32
	maxLen   int        // longest normal token, in bytes
	byteID   [256]int32 // the <0xNN> token of each byte, or -1
	unk      int32      // the unknown token, or -1
	addSpace bool       // add_space_prefix
	split    []special  // what Encode splits out, longest first
	text     []string   // what each token decodes to
}

type special struct {
	text string
	id   int32
}

// Token types of tokenizer.ggml.token_type.
const (
	typeUnknown     = 2
	typeUserDefined = 4
	typeUnused      = 5
	typeByte        = 6
)

// byteValue parses a byte token's text "<0xNN>".
func byteValue(s string) (byte, bool) {
	if len(s) != 6 || s[:3] != "<0x" || s[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(s[3:5], 16, 8)
	return byte(v), err == nil
}

func newSPM(tokens []string, types []int32, hasTypes bool, scores []float32, unk int32, addSpace bool) *spm {
	s := &spm{
		pieces:   make(map[string]int32, len(tokens)),
		scores:   scores,
		unk:      unk,
		addSpace: addSpace,
		text:     make([]string, len(tokens)),
	}
	for i := range s.byteID {
		s.byteID[i] = -1
	}
	byteText := make(map[string]byte, 256)
	for b := range 256 {
		byteText[fmt.Sprintf("<0x%02X>", b)] = byte(b)
	}
	for i, tok := range tokens {
		id := int32(i)
		// llama_byte_to_token_impl looks "<0xNN>" up among all tokens (the
		// last one of a text wins, as in token_to_id).
		if b, ok := byteText[tok]; ok {
			s.byteID[b] = id
		}
		ty := types[i]
		if !hasTypes {
			// Without token types every token is normal; still decode the
			// byte tokens as bytes.
			if _, ok := byteValue(tok); ok {
				ty = typeByte
			}
		}
		switch ty {
		case typeNormal:
			s.pieces[tok] = id
			s.maxLen = max(s.maxLen, len(tok))
			s.text[i] = strings.ReplaceAll(tok, "▁", " ")
		case typeByte:
			if b, ok := byteValue(tok); ok {
				s.text[i] = string([]byte{b})
			} else {
				s.text[i] = tok
			}
		case typeUnknown, typeControl, typeUserDefined:
			s.text[i] = tok
			if tok != "" {
				s.split = append(s.split, special{tok, id})
			}
		}
	}
	slices.SortStableFunc(s.split, func(a, b special) int { return cmp.Compare(len(b.text), len(a.text)) })
	return s
}

// fragment is a piece of text to encode (id < 0) or a special token.
type fragment struct {
	text string
	id   int32
}

// partition splits the special tokens out of text (tokenizer_st_partition).
// Empty text fragments are dropped.
func (s *spm) partition(text string) []fragment {
	frags := []fragment{{text, -1}}
	if text == "" {
		return nil
	}
	for _, sp := range s.split {
		var out []fragment
		changed := false
		for _, f := range frags {
			if f.id >= 0 || !strings.Contains(f.text, sp.text) {
				out = append(out, f)
				continue
			}
			changed = true
			rest := f.text
			for {
				i := strings.Index(rest, sp.text)
				if i < 0 {
					break
				}
				if i > 0 {
					out = append(out, fragment{rest[:i], -1})
				}
				out = append(out, fragment{sp.text, sp.id})
				rest = rest[i+len(sp.text):]
			}
			if rest != "" {
				out = append(out, fragment{rest, -1})
			}
		}
		if changed {
			frags = out
		}
	}
	return frags
}

// encode appends the tokens of text, with the special tokens split out
// when specials is true.
func (s *spm) encode(ids []int32, text string, specials bool) ([]int32, error) {
	var frags []fragment
	switch {
	case text == "":
		return ids, nil
	case specials:
		frags = s.partition(text)
	default:
		frags = []fragment{{text, -1}}
	}
	prevSpecial := true // prefix the first fragment
	var err error
	for _, f := range frags {
		if f.id >= 0 {
			ids = append(ids, f.id)
			prevSpecial = true
			continue
		}
		raw := f.text
		if s.addSpace && prevSpecial {
			raw = " " + raw
		}
		if ids, err = s.encodeFragment(ids, strings.ReplaceAll(raw, " ", "▁")); err != nil {
			return nil, err
		}
		prevSpecial = false
	}
	return ids, nil
}

// symbol is a run of text[off:off+n] in the merge chain.
type symbol struct {
	off, n     int32
	prev, next int32
}

type bigram struct {
	score       float32
	left, right int32
	size        int32
}

// bigramHeap is a max-heap: the highest score first, then the leftmost
// (llm_bigram_spm::comparator).
type bigramHeap []bigram

func (h bigramHeap) less(i, j int) bool {
	return h[i].score > h[j].score || (h[i].score == h[j].score && h[i].left < h[j].left)
}

func (h *bigramHeap) push(b bigram) {
	*h = append(*h, b)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *bigramHeap) pop() bigram {
	q := *h
	top := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q = q[:n]
	for i := 0; ; {
		l, best := 2*i+1, i
		if l < n && q.less(l, best) {
			best = l
		}
		if r := l + 1; r < n && q.less(r, best) {
			best = r
		}
		if best == i {
			break
		}
		q[i], q[best] = q[best], q[i]
		i = best
	}
	*h = q
	return top
}

// utf8Len is llama.cpp's unicode_len_utf8: the length a lead byte announces.
func utf8Len(b byte) int32 {
	switch b >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

// encodeFragment appends the tokens of one escaped text fragment
// (llm_tokenizer_spm_session::tokenize).
func (s *spm) encodeFragment(ids []int32, text string) ([]int32, error) {
	syms := make([]symbol, 0, len(text))
	for off := 0; off < len(text); {
		n := min(utf8Len(text[off]), int32(len(text)-off))
		i := int32(len(syms))
		syms = append(syms, symbol{off: int32(off), n: n, prev: i - 1, next: i + 1})
		off += int(n)
	}
	if len(syms) == 0 {
		return ids, nil
	}
	syms[len(syms)-1].next = -1

	h := make(bigramHeap, 0, len(syms))
	try := func(l, r int32) {
		if l < 0 || r < 0 {
			return
		}
		size := syms[l].n + syms[r].n
		if int(size) > s.maxLen {
			return
		}
		off := syms[l].off
		if id, ok := s.pieces[text[off:off+size]]; ok {
			h.push(bigram{score: s.scores[id], left: l, right: r, size: size})
		}
	}
	for i := 1; i < len(syms); i++ {
		try(int32(i-1), int32(i))
	}
	for len(h) > 0 {
		b := h.pop()
		left, right := &syms[b.left], &syms[b.right]
		// Skip pairs whose symbols changed since they were queued.
		if left.n == 0 || right.n == 0 || left.n+right.n != b.size {
			continue
		}
		left.n += right.n
		right.n = 0
		left.next = right.next
		if right.next >= 0 {
			syms[right.next].prev = b.left
		}
		try(left.prev, b.left)
		try(b.left, left.next)
	}

	for i := int32(0); i != -1; i = syms[i].next {
		sym := syms[i]
		piece := text[sym.off : sym.off+sym.n]
		id, ok := s.pieces[piece]
		if ok {
			ids = append(ids, id)
			continue
		}
		ids, ok = s.fallback(ids, piece)
		if !ok {
			return nil, fmt.Errorf("tokenize: %q has no byte tokens and the vocabulary has no unknown token", piece)
		}
	}
	return ids, nil
}

// fallback appends the tokens of a symbol that is not a token: its bytes'
// <0xNN> tokens (or one-byte tokens, as llama_byte_to_token_impl falls back
// to), else one unknown token for the whole symbol, as SentencePiece
// without byte fallback does (llama.cpp throws there).
func (s *spm) fallback(ids []int32, piece string) ([]int32, bool) {
	n := len(ids)
	for j := range len(piece) {
		c := piece[j]
		if s.byteID[c] >= 0 {
			ids = append(ids, s.byteID[c])
		} else if id, ok := s.pieces[piece[j:j+1]]; ok {
			ids = append(ids, id)
		} else {
			if s.unk < 0 {
				return ids[:n], false
			}
			return append(ids[:n], s.unk), true
		}
	}
	return ids, true
}
