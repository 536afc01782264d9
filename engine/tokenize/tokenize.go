// Package tokenize is the 2B4T tokenizer: byte-level BPE over the file's
// LLaMA-3 vocabulary with the LLaMA-3 pre-tokenizer regex (the official file
// has no tokenizer.ggml.pre key, so it must be set here).
package tokenize

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
	"github.com/ollama/ollama/tokenizer"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
)

// Llama3Pattern is the LLaMA-3 pre-tokenizer regex the model was trained with.
const Llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// Token type values of tokenizer.ggml.token_type.
const (
	typeNormal  = 1
	typeControl = 3
)

// Tokenizer encodes and decodes text for one model.
type Tokenizer struct {
	special  tokenizer.BytePairEncoding // splits special-token text into special ids
	specials []string                   // the text of every special token
	pretok   *regexp2.Regexp            // Llama3Pattern, as the BPE compiles it
	vocab    int
	BOS      int32
	EOS      int32
	EOT      int32 // <|eot_id|>, or -1
	stops    map[int32]bool
	control  map[int32]bool // control and user-defined tokens
}

// New builds the tokenizer from a checked BitNet file.
func New(f *gguf.File, spec *gguf.Spec) (*Tokenizer, error) {
	tokens := f.Strings("tokenizer.ggml.tokens")
	merges := f.Strings("tokenizer.ggml.merges")
	types := make([]int32, len(tokens))
	if kv, ok := f.Get("tokenizer.ggml.token_type"); ok {
		copy(types, kv.Value.([]int32))
	} else {
		for i := range types {
			types[i] = typeNormal
		}
	}
	bpe := tokenizer.NewBytePairEncoding(&tokenizer.Vocabulary{
		Values: tokens,
		Types:  types,
		Scores: make([]float32, len(tokens)),
		Merges: merges,
		BOS:    []int32{spec.BOS},
		EOS:    []int32{spec.EOS},
	}, Llama3Pattern)
	t := &Tokenizer{special: bpe, vocab: len(tokens), BOS: spec.BOS, EOS: spec.EOS, EOT: -1,
		pretok: regexp2.MustCompile(Llama3Pattern, regexp2.RE2)}
	t.control = map[int32]bool{}
	for i, ty := range types {
		if ty == typeControl || ty == 4 { // control or user-defined: what the BPE splits on
			t.specials = append(t.specials, tokens[i])
			t.control[int32(i)] = true
		}
	}
	for i, s := range tokens {
		if s == "<|eot_id|>" {
			t.EOT = int32(i)
			break
		}
	}
	t.stops = map[int32]bool{t.EOS: true}
	if t.EOT >= 0 {
		t.stops[t.EOT] = true
	}
	return t, nil
}

// VocabSize is the number of tokens.
func (t *Tokenizer) VocabSize() int { return t.vocab }

// IsStop reports whether id ends the model's turn (<|eot_id|> or EOS).
func (t *Tokenizer) IsStop(id int32) bool { return t.stops[id] }

// IsControl reports whether id is a control token (such as
// <|start_header_id|>), which has no text of its own in an answer.
func (t *Tokenizer) IsControl(id int32) bool { return t.control[id] }

// Encode tokenizes text, turning special-token text such as
// "<|begin_of_text|>" into its id. addBOS prepends BOS.
func (t *Tokenizer) Encode(text string, addBOS bool) ([]int32, error) {
	ids, err := t.special.Encode(text, false)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	if addBOS {
		ids = append([]int32{t.BOS}, ids...)
	}
	return ids, nil
}

// EncodePlain tokenizes text as plain text: special-token text in it is
// spelled out, never turned into a control token. Used for message content.
//
// One BPE serves both ways (a second would double the vocabulary maps): the
// text is cut inside every special-token text in it, so the BPE never sees
// one whole. The cuts are made at pre-tokenizer boundaries, so the tokens
// are those of the whole text encoded without special tokens. Text without
// special-token text is encoded as is.
func (t *Tokenizer) EncodePlain(text string) ([]int32, error) {
	var ids []int32
	for _, seg := range t.plainSegments(text) {
		part, err := t.special.Encode(seg, false)
		if err != nil {
			return nil, fmt.Errorf("tokenize: %w", err)
		}
		ids = append(ids, part...)
	}
	return ids, nil
}

func (t *Tokenizer) specialSpans(text string) [][2]int {
	var spans [][2]int
	for i := 0; i < len(text); i++ {
		if text[i] != '<' {
			continue
		}
		for _, sp := range t.specials {
			if strings.HasPrefix(text[i:], sp) {
				spans = append(spans, [2]int{i, i + len(sp)})
				break
			}
		}
	}
	return spans
}

func (t *Tokenizer) plainSegments(text string) []string {
	if len(t.specialSpans(text)) == 0 {
		return []string{text}
	}
	// The BPE pre-tokenizes runes: invalid UTF-8 becomes U+FFFD there, so
	// do it first to keep byte offsets the same.
	runes := []rune(text)
	text = string(runes)
	spans := t.specialSpans(text)
	// Byte offsets where pre-tokens end.
	bounds := map[int]bool{}
	pos, at := 0, 0 // byte offset of rune index at
	m, err := t.pretok.FindRunesMatch(runes)
	for ; m != nil && err == nil; m, err = t.pretok.FindNextMatch(m) {
		for ; at < m.Index+m.Length; at++ {
			pos += utf8.RuneLen(runes[at])
		}
		bounds[pos] = true
	}
	var segs []string
	start := 0
	for _, sp := range spans {
		cut := sp[0] + 1 // fallback: a pre-token holds the whole special text
		for b := sp[0] + 1; b < sp[1]; b++ {
			if bounds[b] {
				cut = b
				break
			}
		}
		if err != nil {
			cut = sp[0] + 1
		}
		segs = append(segs, text[start:cut])
		start = cut
	}
	return append(segs, text[start:])
}

// Check returns an error if any id is outside the vocabulary (ggml aborts
// the process on such ids).
func (t *Tokenizer) Check(ids []int32) error {
	for i, id := range ids {
		if id < 0 || int(id) >= t.vocab {
			return fmt.Errorf("token %d at position %d is outside the vocabulary of %d", id, i, t.vocab)
		}
	}
	return nil
}

// Decode returns the bytes of the tokens (possibly ending inside a UTF-8
// character).
func (t *Tokenizer) Decode(ids []int32) (string, error) {
	if err := t.Check(ids); err != nil {
		return "", err
	}
	return t.special.Decode(ids)
}

// Stream turns tokens into text pieces that never split a UTF-8 character.
type Stream struct {
	t       *Tokenizer
	pending []byte
}

// NewStream starts a decoding stream.
func (t *Tokenizer) NewStream() *Stream { return &Stream{t: t} }

// Add decodes one token and returns the complete characters now available.
func (s *Stream) Add(id int32) (string, error) {
	b, err := s.t.Decode([]int32{id})
	if err != nil {
		return "", err
	}
	s.pending = append(s.pending, b...)
	n := completePrefix(s.pending)
	out := validText(s.pending[:n])
	s.pending = append(s.pending[:0], s.pending[n:]...)
	return out, nil
}

// Flush returns what is left (invalid bytes become U+FFFD).
func (s *Stream) Flush() string {
	out := validText(s.pending)
	s.pending = s.pending[:0]
	return out
}

// validText returns b with every run of invalid UTF-8 replaced by one U+FFFD
// (as a truncated character shows in other decoders).
func validText(b []byte) string {
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// completePrefix returns the length of the longest prefix of b that does not
// end inside a UTF-8 sequence that could still be completed.
func completePrefix(b []byte) int {
	// Look back at most 3 bytes for an unfinished sequence start.
	for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
		c := b[i]
		if c < 0x80 {
			return len(b)
		}
		if c >= 0xC0 { // a start byte
			need := 2
			switch {
			case c >= 0xF0:
				need = 4
			case c >= 0xE0:
				need = 3
			}
			if len(b)-i < need && utf8.FullRune(b[i:]) == false {
				return i
			}
			return len(b)
		}
	}
	return len(b)
}
