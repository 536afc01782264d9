package tokenize

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf/ggufttest"
	"github.com/bitnet-desktop/bitnet-desktop/engine/synth/vocab"
)

// spmVocab is a SentencePiece vocabulary for a test file.
type spmVocab struct {
	tokens []string
	scores []float32
	types  []int32
}

// spmFile builds the smallest 1bitLLM-style file (arch bitnet, tokenizer
// llama, no rope.dimension_count) CheckModel accepts for v, with zero
// tensor data. edit may change the metadata before it is written.
func spmFile(tb testing.TB, v spmVocab, edit func(b *gguf.Builder)) *gguf.File {
	tb.Helper()
	const a = gguf.ArchBitNetV1
	const embd, ffn, heads = 128, 128, 2
	nv := len(v.tokens)
	b := &gguf.Builder{}
	b.Add("general.architecture", a)
	b.Add(a+".vocab_size", uint32(nv))
	b.Add(a+".context_length", uint32(2048))
	b.Add(a+".embedding_length", uint32(embd))
	b.Add(a+".block_count", uint32(1))
	b.Add(a+".feed_forward_length", uint32(ffn))
	b.Add(a+".attention.head_count", uint32(heads))
	b.Add(a+".attention.head_count_kv", uint32(heads))
	b.Add(a+".attention.layer_norm_rms_epsilon", float32(1e-5))
	b.Add(a+".rope.freq_base", float32(10000))
	b.Add("tokenizer.ggml.model", "llama")
	b.Add("tokenizer.ggml.pre", "default")
	b.Add("tokenizer.ggml.tokens", v.tokens)
	b.Add("tokenizer.ggml.scores", v.scores)
	if v.types != nil {
		b.Add("tokenizer.ggml.token_type", v.types)
	}
	b.Add("tokenizer.ggml.bos_token_id", uint32(1))
	b.Add("tokenizer.ggml.eos_token_id", uint32(2))
	b.Add("tokenizer.ggml.unknown_token_id", uint32(0))
	if edit != nil {
		edit(b)
	}

	var err error
	add := func(name string, t gguf.TensorType, shape ...uint64) {
		if err == nil {
			err = b.AddTensor(name, t, shape...)
		}
	}
	e, f := uint64(embd), uint64(ffn)
	add("token_embd.weight", gguf.TypeF16, e, uint64(nv))
	add("blk.0.attn_norm.weight", gguf.TypeF32, e)
	add("blk.0.attn_q.weight", gguf.TypeI2_S, e, e)
	add("blk.0.attn_k.weight", gguf.TypeI2_S, e, e)
	add("blk.0.attn_v.weight", gguf.TypeI2_S, e, e)
	add("blk.0.attn_sub_norm.weight", gguf.TypeF32, e)
	add("blk.0.attn_output.weight", gguf.TypeI2_S, e, e)
	add("blk.0.ffn_norm.weight", gguf.TypeF32, e)
	add("blk.0.ffn_gate.weight", gguf.TypeI2_S, e, f)
	add("blk.0.ffn_up.weight", gguf.TypeI2_S, e, f)
	add("blk.0.ffn_sub_norm.weight", gguf.TypeF32, f)
	add("blk.0.ffn_down.weight", gguf.TypeI2_S, f, e)
	add("output_norm.weight", gguf.TypeF32, e)
	if err != nil {
		tb.Fatal(err)
	}
	sf := &ggufttest.HeaderFile{Keep: 8 << 20}
	if err := b.Write(sf, ggufttest.ZeroData); err != nil {
		tb.Fatal(err)
	}
	file, err := gguf.Read(sf, sf.Size)
	if err != nil {
		tb.Fatal(err)
	}
	return file
}

// newSPMTokenizer checks the file as the engine does and builds its
// tokenizer.
func newSPMTokenizer(tb testing.TB, f *gguf.File) (*Tokenizer, *gguf.Spec) {
	tb.Helper()
	spec, err := gguf.CheckModel(f)
	if err != nil {
		tb.Fatal(err)
	}
	if spec.Tokenizer != gguf.TokenizerSPM || spec.Family != gguf.FamilyBitNet {
		tb.Fatalf("spec: tokenizer %q family %q", spec.Tokenizer, spec.Family)
	}
	tok, err := New(f, spec)
	if err != nil {
		tb.Fatal(err)
	}
	return tok, spec
}

// The hand-written vocabulary: LLaMA-2's fixed layout (<unk>, <s>, </s>,
// 256 byte tokens), a few pieces with scores chosen to exercise the merge
// rule, single characters, and 1bitLLM's two user-defined tokens.
var handPieces = []struct {
	text  string
	score float32
}{
	{"▁t", -1}, {"he", -2}, {"▁the", -3}, {"ca", -4}, {"▁ca", -5}, {"▁cat", -6}, {"at", -7}, {"▁▁", -8},
	{"yz", -19}, {"xy", -20}, // "xyz": the higher score wins over the leftmost
	{"ab", -30}, {"bc", -30}, // "abc": equal scores, the leftmost wins
	{"aa", -31},
}

var handChars = []string{"▁", "t", "h", "e", "c", "a", "s", "x", "y", "z", "b", "f", "é", "1", "2", "3", "<", ">", "/", "!"}

func handVocab() spmVocab {
	v := spmVocab{}
	add := func(text string, score float32, typ int32) {
		v.tokens = append(v.tokens, text)
		v.scores = append(v.scores, score)
		v.types = append(v.types, typ)
	}
	add("<unk>", 0, typeUnknown)
	add("<s>", 0, typeControl)
	add("</s>", 0, typeControl)
	for b := range 256 {
		add(fmt.Sprintf("<0x%02X>", b), 0, typeByte)
	}
	for _, p := range handPieces {
		add(p.text, p.score, typeNormal)
	}
	for i, c := range handChars {
		add(c, float32(-100-i), typeNormal)
	}
	add("<pad>", -1000, typeUserDefined)
	add("</line>", -1000, typeUserDefined)
	return v
}

// hand is the tokenizer of handVocab with the ids of its tokens by text.
type hand struct {
	tok *Tokenizer
	id  map[string]int32
}

func loadHand(tb testing.TB, edit func(b *gguf.Builder)) hand {
	tb.Helper()
	v := handVocab()
	tok, _ := newSPMTokenizer(tb, spmFile(tb, v, edit))
	h := hand{tok: tok, id: map[string]int32{}}
	for i, s := range v.tokens {
		h.id[s] = int32(i)
	}
	return h
}

// ids spells token ids by text: "<0x0A>" for byte tokens, "▁the" for
// pieces.
func (h hand) ids(tb testing.TB, texts ...string) []int32 {
	tb.Helper()
	out := make([]int32, len(texts))
	for i, s := range texts {
		id, ok := h.id[s]
		if !ok {
			tb.Fatalf("no token %q in the hand vocabulary", s)
		}
		out[i] = id
	}
	return out
}

// synthSPM is a tokenizer over vocab.BuildSPM's LLaMA-2-sized vocabulary
// with 1bitLLM's extras, read from a file.
type synthSPM struct {
	v   vocab.SPMVocab
	tok *Tokenizer
	ref *naiveSPM
}

var (
	synthOnce sync.Once
	synthFix  synthSPM
	synthErr  error
)

func loadSynthSPM(tb testing.TB) synthSPM {
	tb.Helper()
	synthOnce.Do(func() {
		v, err := vocab.BuildSPM(32000, vocab.DefaultCorpus(), true)
		if err != nil {
			synthErr = err
			return
		}
		f := spmFile(tb, spmVocab{v.Tokens, v.Scores, v.Types}, nil)
		spec, err := gguf.CheckModel(f)
		if err != nil {
			synthErr = err
			return
		}
		tok, err := New(f, spec)
		if err != nil {
			synthErr = err
			return
		}
		synthFix = synthSPM{v: v, tok: tok, ref: newNaiveSPM(v.Tokens, v.Scores, v.Types, true)}
	})
	if synthErr != nil {
		tb.Fatal(synthErr)
	}
	return synthFix
}

// naiveSPM is an independent, quadratic SentencePiece encoder written from
// the rule alone: prefix " " (when addSpace), spaces to "▁", cut into
// characters by UTF-8 lead byte, then repeatedly merge the adjacent pair
// whose concatenation is a normal token with the highest score (the
// leftmost of equal ones), then byte tokens for what is not a token. No
// special tokens.
type naiveSPM struct {
	pieces   map[string]int32
	scores   []float32
	bytes    map[byte]int32
	addSpace bool
}

func newNaiveSPM(tokens []string, scores []float32, types []int32, addSpace bool) *naiveSPM {
	n := &naiveSPM{pieces: map[string]int32{}, scores: scores, bytes: map[byte]int32{}, addSpace: addSpace}
	for i, s := range tokens {
		switch types[i] {
		case typeNormal:
			n.pieces[s] = int32(i)
		case typeByte:
			var b byte
			if _, err := fmt.Sscanf(s, "<0x%02X>", &b); err == nil {
				n.bytes[b] = int32(i)
			}
		}
	}
	return n
}

func (n *naiveSPM) encode(text string) []int32 {
	if text == "" {
		return nil
	}
	if n.addSpace {
		text = " " + text
	}
	text = strings.ReplaceAll(text, " ", "▁")
	var syms []string
	for i := 0; i < len(text); {
		l := 1
		switch c := text[i]; {
		case c >= 0xF0:
			l = 4
		case c >= 0xE0:
			l = 3
		case c >= 0xC0:
			l = 2
		}
		l = min(l, len(text)-i)
		syms = append(syms, text[i:i+l])
		i += l
	}
	for {
		best := -1
		var bestScore float32
		for i := 0; i+1 < len(syms); i++ {
			if id, ok := n.pieces[syms[i]+syms[i+1]]; ok && (best < 0 || n.scores[id] > bestScore) {
				best, bestScore = i, n.scores[id]
			}
		}
		if best < 0 {
			break
		}
		syms[best] += syms[best+1]
		syms = append(syms[:best+1], syms[best+2:]...)
	}
	var ids []int32
	for _, s := range syms {
		if id, ok := n.pieces[s]; ok {
			ids = append(ids, id)
			continue
		}
		for i := range len(s) {
			ids = append(ids, n.bytes[s[i]])
		}
	}
	return ids
}
