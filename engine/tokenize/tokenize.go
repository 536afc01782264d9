// Package tokenize turns text into token ids and back for the model
// families the engine runs:
//
//   - tokenizer.ggml.model "gpt2": byte-level BPE (ollama's
//     BytePairEncoding) with the pre-tokenizer regexes that
//     gguf.PreTokenizers and PreTokenizerRegexes give for tokenizer.ggml.pre
//     (2B4T's file has no such key; its vocabulary is LLaMA-3's, so it
//     gets the LLaMA-3 regex);
//   - tokenizer.ggml.model "llama": SentencePiece as llama.cpp does it
//     (spm.go), for 1bitLLM's LLaMA-2 vocabulary.
package tokenize

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
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

// Tokenizer encodes and decodes text for one model. It is safe for
// concurrent use.
type Tokenizer struct {
	special  tokenizer.BytePairEncoding // BPE: splits special-token text into special ids
	pretoks  []*regexp2.Regexp          // BPE: the pre-tokenizer regexes, as the BPE compiles them
	spm      *spm                       // SPM
	specials []string                   // the text of every control and user-defined token
	// specialStart marks the first bytes of the specials (BPE's EncodePlain).
	specialStart [256]bool
	vocab        int
	BOS          int32
	EOS          int32
	EOT          int32 // the end-of-turn token (see New), or -1
	// AddBOS is the file's tokenizer.ggml.add_bos_token (true when
	// absent): whether a prompt should start with BOS. Encode adds it only
	// when asked.
	AddBOS  bool
	stops   atomic.Pointer[map[int32]bool] // copied on write by AddStopToken
	control map[int32]bool                 // control, user-defined and unknown tokens
}

// New builds the tokenizer of a checked model file: byte-level BPE for
// spec.Tokenizer "gpt2", SentencePiece for "llama" (see the package
// documentation); any other model is an error.
//
// BOS and EOS are spec's. EOT is tokenizer.ggml.eot_token_id when the file
// has it, else the first of <|eot_id|>, <|im_end|>, <|end|>,
// <end_of_turn>, <|endoftext|>, <EOT> the vocabulary has as a control or
// user-defined token (any type when the file has no token types), else -1.
// IsStop is true for EOS, EOT, tokenizer.ggml.eom_token_id and every
// control or user-defined token spelled as one of those or <|eom_id|>
// (llama.cpp's end-of-generation set, src/llama.cpp llm_load_vocab).
func New(f *gguf.File, spec *gguf.Spec) (*Tokenizer, error) {
	if f == nil || spec == nil {
		return nil, fmt.Errorf("tokenize: no model file or spec")
	}
	tokens := f.Strings("tokenizer.ggml.tokens")
	if len(tokens) == 0 {
		return nil, fmt.Errorf("tokenize: tokenizer.ggml.tokens is missing")
	}
	types := make([]int32, len(tokens))
	hasTypes := false
	if kv, ok := f.Get("tokenizer.ggml.token_type"); ok {
		tt, ok := kv.Value.([]int32)
		if !ok || len(tt) != len(tokens) {
			return nil, fmt.Errorf("tokenize: tokenizer.ggml.token_type must be %d int32 values", len(tokens))
		}
		copy(types, tt)
		hasTypes = true
	} else {
		for i := range types {
			types[i] = typeNormal
		}
	}
	for _, id := range []int32{spec.BOS, spec.EOS} {
		if id < 0 || int(id) >= len(tokens) {
			return nil, fmt.Errorf("tokenize: BOS/EOS id %d is outside the vocabulary of %d tokens", id, len(tokens))
		}
	}
	t := &Tokenizer{vocab: len(tokens), BOS: spec.BOS, EOS: spec.EOS, EOT: -1, AddBOS: spec.AddBOS}
	t.control = map[int32]bool{}
	for i, ty := range types {
		if ty == typeControl || ty == typeUserDefined { // what the BPE splits on
			t.specials = append(t.specials, tokens[i])
			t.control[int32(i)] = true
			if tokens[i] != "" {
				t.specialStart[tokens[i][0]] = true
			}
		}
		if ty == typeUnknown {
			t.control[int32(i)] = true
		}
	}
	var err error
	switch spec.Tokenizer {
	case gguf.TokenizerBPE:
		err = t.newBPE(f, spec, tokens, types)
	case gguf.TokenizerSPM:
		err = t.newSPM(f, tokens, types, hasTypes)
	default:
		err = fmt.Errorf("tokenize: tokenizer model %q is not supported; supported are %q (byte-level BPE) and %q (SentencePiece)",
			spec.Tokenizer, gguf.TokenizerBPE, gguf.TokenizerSPM)
	}
	if err != nil {
		return nil, err
	}
	if err := t.findStops(f, tokens, types, hasTypes); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Tokenizer) newBPE(f *gguf.File, spec *gguf.Spec, tokens []string, types []int32) error {
	patterns, err := preTokenizerPatterns(spec.Pre)
	if err != nil {
		return err
	}
	pretoks, err := compilePatterns(patterns)
	if err != nil {
		return err
	}
	merges := f.Strings("tokenizer.ggml.merges")
	t.special = tokenizer.NewBytePairEncoding(&tokenizer.Vocabulary{
		Values: tokens,
		Types:  types,
		Scores: make([]float32, len(tokens)),
		Merges: merges,
		BOS:    []int32{spec.BOS},
		EOS:    []int32{spec.EOS},
	}, patterns...)
	t.pretoks = pretoks
	return nil
}

func (t *Tokenizer) newSPM(f *gguf.File, tokens []string, types []int32, hasTypes bool) error {
	kv, ok := f.Get("tokenizer.ggml.scores")
	scores, isFloats := kv.Value.([]float32)
	if !ok || !isFloats || len(scores) != len(tokens) {
		return fmt.Errorf("tokenize: a SentencePiece vocabulary needs tokenizer.ggml.scores, %d float32 values", len(tokens))
	}
	addSpace := true // llama.cpp's SPM default
	if kv, ok := f.Get("tokenizer.ggml.add_space_prefix"); ok {
		b, isBool := kv.Value.(bool)
		if !isBool {
			return fmt.Errorf("tokenize: tokenizer.ggml.add_space_prefix is not a boolean")
		}
		addSpace = b
	}
	unk := int32(-1)
	if v, ok := f.Uint("tokenizer.ggml.unknown_token_id"); ok && v < uint64(len(tokens)) {
		unk = int32(v)
	} else {
		for i, ty := range types {
			if ty == typeUnknown {
				unk = int32(i)
				break
			}
		}
	}
	t.spm = newSPM(tokens, types, hasTypes, scores, unk, addSpace)
	return nil
}

// VocabSize is the number of tokens.
func (t *Tokenizer) VocabSize() int { return t.vocab }

// IsStop reports whether id ends the model's turn (see New and
// AddStopToken).
func (t *Tokenizer) IsStop(id int32) bool { return (*t.stops.Load())[id] }

// IsControl reports whether id is a control, user-defined or unknown token
// (such as <|start_header_id|>), which has no text of its own in an answer.
func (t *Tokenizer) IsControl(id int32) bool { return t.control[id] }

// Specials returns the texts of the control and user-defined tokens, in id
// order: the text Encode turns into special ids (SentencePiece also splits
// out the unknown token's text) and EncodePlain never does.
func (t *Tokenizer) Specials() []string { return append([]string(nil), t.specials...) }

// Encode tokenizes text, turning special-token text such as
// "<|begin_of_text|>" into its id. addBOS prepends BOS.
func (t *Tokenizer) Encode(text string, addBOS bool) ([]int32, error) {
	if t.spm != nil {
		var ids []int32
		if addBOS {
			ids = append(ids, t.BOS)
		}
		return t.spm.encode(ids, text, true)
	}
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
//
// SentencePiece encodes the text as one fragment with no special tokens
// at all (a leading space is added when add_space_prefix is on, as for any
// text that starts a fragment).
func (t *Tokenizer) EncodePlain(text string) ([]int32, error) {
	if t.spm != nil {
		return t.spm.encode(nil, text, false)
	}
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
		if !t.specialStart[text[i]] {
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
	bounds, err := pretokenBounds(t.pretoks, runes)
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
// character). Special tokens give their text. SentencePiece drops one
// leading space from the first token when add_space_prefix is on
// (llama_detokenize), so Decode(EncodePlain(x)) is x.
func (t *Tokenizer) Decode(ids []int32) (string, error) {
	if err := t.Check(ids); err != nil {
		return "", err
	}
	if t.spm == nil {
		return t.special.Decode(ids)
	}
	var b strings.Builder
	for i, id := range ids {
		p := t.spm.text[id]
		if i == 0 && t.spm.addSpace {
			p = strings.TrimPrefix(p, " ")
		}
		b.WriteString(p)
	}
	return b.String(), nil
}

// Piece is the text of one token as llama.cpp's token-to-piece gives it
// (no space dropped).
func (t *Tokenizer) Piece(id int32) (string, error) {
	if err := t.Check([]int32{id}); err != nil {
		return "", err
	}
	if t.spm == nil {
		return t.special.Decode([]int32{id})
	}
	return t.spm.text[id], nil
}

// Stream turns tokens into text pieces that never split a UTF-8 character
// (byte tokens that together spell one character come out together).
type Stream struct {
	t       *Tokenizer
	pending []byte
	strip   bool // drop one leading space from the next token's text
}

// NewStream starts a decoding stream for tokens that continue a text, such
// as the tokens generated after a prompt: every token gives its whole text,
// a SentencePiece token's leading space included, as llama.cpp's streaming
// output (common_token_to_piece) and ollama give it.
func (t *Tokenizer) NewStream() *Stream { return &Stream{t: t} }

// NewStreamAtStart starts a decoding stream for tokens that start a text:
// the pieces join to what Decode gives for all the tokens (with
// SentencePiece and add_space_prefix on, the first token loses one
// leading space).
func (t *Tokenizer) NewStreamAtStart() *Stream {
	return &Stream{t: t, strip: t.spm != nil && t.spm.addSpace}
}

// Add decodes one token and returns the complete characters now available.
func (s *Stream) Add(id int32) (string, error) {
	p, err := s.t.Piece(id)
	if err != nil {
		return "", err
	}
	if s.strip {
		p = strings.TrimPrefix(p, " ")
		s.strip = false
	}
	s.pending = append(s.pending, p...)
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

// Pieces returns every token's bytes as a generated token adds them to the
// text (NewStream: a SentencePiece token keeps its leading space, a byte
// token is its byte); control tokens, which are not text, get nil. This is
// the vocabulary constrained decoding matches against (package grammar).
func (t *Tokenizer) Pieces() ([][]byte, error) {
	out := make([][]byte, t.vocab)
	for id := range int32(t.vocab) {
		if t.control[id] {
			continue
		}
		p, err := t.Piece(id)
		if err != nil {
			return nil, err
		}
		out[id] = []byte(p)
	}
	return out, nil
}

// StopIDs lists the stop tokens (IsStop) in increasing order.
func (t *Tokenizer) StopIDs() []int32 {
	stops := *t.stops.Load()
	ids := make([]int32, 0, len(stops))
	for id, on := range stops {
		if on {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
