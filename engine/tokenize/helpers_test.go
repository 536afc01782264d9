package tokenize

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf/ggufttest"
	"github.com/bitnet-desktop/bitnet-desktop/engine/synth"
	"github.com/bitnet-desktop/bitnet-desktop/engine/synth/vocab"
)

// fixture is a tokenizer read from a synthetic GGUF file together with the
// vocabulary it was made from and the independent reference tokenizer.
type fixture struct {
	regular int
	v       vocab.Vocab
	ref     *vocab.Tokenizer
	tok     *Tokenizer
	spec    *gguf.Spec
	byteID  [256]int32 // the single-byte token of every byte
}

// Vocabulary sizes the tests run with: a small one where most text splits
// into many tokens (and multi-byte characters into byte tokens), and the
// real size (128000 regular + 256 special), mostly 2- and 3-byte fillers.
var sizes = []int{2000, 128000}

var (
	fixMu    sync.Mutex
	fixtures = map[int]*fixture{}
)

// load returns the (cached) fixture for a vocabulary of regular tokens. The
// 2000-token one is read from a complete synthetic model written by
// synth.Write (the path the engine uses); the 128000-token one from a
// minimal file made with gguf.Builder whose tensor data is left sparse, so
// that the 65 MB embedding is never allocated.
func load(tb testing.TB, regular int) *fixture {
	tb.Helper()
	fixMu.Lock()
	defer fixMu.Unlock()
	if fx, ok := fixtures[regular]; ok {
		return fx
	}
	v, err := vocab.Build(regular, vocab.DefaultCorpus())
	if err != nil {
		tb.Fatal(err)
	}
	ref, err := vocab.NewTokenizer(v)
	if err != nil {
		tb.Fatal(err)
	}
	var f *gguf.File
	if regular <= 4096 {
		f = synthFile(tb, regular)
	} else {
		f = minimalFile(tb, v, true)
	}
	spec, err := gguf.CheckModel(f)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := New(f, spec)
	if err != nil {
		tb.Fatal(err)
	}
	fx := &fixture{regular: regular, v: v, ref: ref, tok: tok, spec: spec, byteID: byteTokens(tb, v)}
	fixtures[regular] = fx
	return fx
}

// synthFile writes synth's tiny model with the given vocabulary size to
// memory and reads its header.
func synthFile(tb testing.TB, regular int) *gguf.File {
	tb.Helper()
	c, err := synth.Preset("tiny")
	if err != nil {
		tb.Fatal(err)
	}
	c.Regular = regular
	var buf bytes.Buffer
	if err := synth.Write(&buf, c); err != nil {
		tb.Fatal(err)
	}
	f, err := gguf.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// minimalFile builds the smallest file CheckModel accepts for v: the
// metadata keys of the official file (token types only when withTypes) and
// one block of tiny tensors, all zero.
func minimalFile(tb testing.TB, v vocab.Vocab, withTypes bool) *gguf.File {
	tb.Helper()
	const a = gguf.ArchBitNet
	const embd, ffn, heads, kvHeads = 256, 256, 2, 1
	nv := len(v.Tokens)
	b := &gguf.Builder{}
	b.Add("general.architecture", a)
	b.Add(a+".vocab_size", uint32(nv))
	b.Add(a+".context_length", uint32(4096))
	b.Add(a+".embedding_length", uint32(embd))
	b.Add(a+".block_count", uint32(1))
	b.Add(a+".feed_forward_length", uint32(ffn))
	b.Add(a+".rope.dimension_count", uint32(embd/heads))
	b.Add(a+".attention.head_count", uint32(heads))
	b.Add(a+".attention.head_count_kv", uint32(kvHeads))
	b.Add(a+".attention.layer_norm_rms_epsilon", float32(1e-5))
	b.Add(a+".rope.freq_base", float32(500000))
	b.Add("tokenizer.ggml.model", "gpt2")
	b.Add("tokenizer.ggml.tokens", v.Tokens)
	b.Add("tokenizer.ggml.scores", make([]float32, nv))
	if withTypes {
		b.Add("tokenizer.ggml.token_type", v.Types)
	}
	b.Add("tokenizer.ggml.merges", v.Merges)
	b.Add("tokenizer.ggml.bos_token_id", uint32(v.BOS))
	b.Add("tokenizer.ggml.eos_token_id", uint32(v.EOS))
	b.Add("tokenizer.ggml.padding_token_id", uint32(v.EOS))
	b.Add("tokenizer.ggml.add_bos_token", true)

	var err error
	add := func(name string, t gguf.TensorType, shape ...uint64) {
		if err == nil {
			err = b.AddTensor(name, t, shape...)
		}
	}
	e, f, kv := uint64(embd), uint64(ffn), uint64(kvHeads*embd/heads)
	add("token_embd.weight", gguf.TypeF16, e, uint64(nv))
	add("blk.0.attn_norm.weight", gguf.TypeF32, e)
	add("blk.0.attn_q.weight", gguf.TypeI2_S, e, e)
	add("blk.0.attn_k.weight", gguf.TypeI2_S, e, kv)
	add("blk.0.attn_v.weight", gguf.TypeI2_S, e, kv)
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

	sf := &ggufttest.HeaderFile{Keep: 16 << 20}
	err = b.Write(sf, ggufttest.ZeroData)
	if err != nil {
		tb.Fatal(err)
	}
	file, err := gguf.Read(sf, sf.Size)
	if err != nil {
		tb.Fatal(err)
	}
	if file.DataOffset > uint64(len(sf.Head)) {
		tb.Fatalf("header of %d bytes is longer than the %d kept", file.DataOffset, len(sf.Head))
	}
	return file
}

// gpt2Char is GPT-2's bytes_to_unicode, written out from its definition
// (printable Latin-1 bytes spell themselves, the other 68 bytes are spelled
// with U+0100 onwards in byte order).
func gpt2Char(b byte) rune {
	switch {
	case b <= 0x20:
		return rune(b) + 0x100
	case b >= 0x7f && b <= 0xa0:
		return rune(b) + 0xa2
	case b == 0xad:
		return 0x143
	}
	return rune(b)
}

func byteTokens(tb testing.TB, v vocab.Vocab) (ids [256]int32) {
	index := make(map[string]int32, 256)
	for i, s := range v.Tokens[:256] {
		index[s] = int32(i)
	}
	for b := range 256 {
		id, ok := index[string(gpt2Char(byte(b)))]
		if !ok {
			tb.Fatalf("no byte token for 0x%02x", b)
		}
		ids[b] = id
	}
	return ids
}

// pieces decodes every token on its own.
func (fx *fixture) pieces(tb testing.TB, ids []int32) []string {
	tb.Helper()
	out := make([]string, len(ids))
	for i, id := range ids {
		s, err := fx.tok.Decode([]int32{id})
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = s
	}
	return out
}

func forSizes(t *testing.T, f func(t *testing.T, fx *fixture)) {
	for _, n := range sizes {
		t.Run(fmt.Sprintf("vocab%d", n), func(t *testing.T) {
			f(t, load(t, n))
		})
	}
}

// diff shows the decoded tokens of got and want around their first
// difference.
func (fx *fixture) diff(tb testing.TB, got, want []int32) string {
	tb.Helper()
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-3)
	g, w := got[lo:min(len(got), i+6)], want[lo:min(len(want), i+6)]
	return fmt.Sprintf("from token %d:\n\t got %v %q\n\twant %v %q", lo, g, fx.pieces(tb, g), w, fx.pieces(tb, w))
}

// hasSpecialText reports whether text contains the text of a special token.
func (fx *fixture) hasSpecialText(text string) bool {
	for _, name := range fx.v.Tokens[fx.regular:] {
		if strings.Contains(text, name) {
			return true
		}
	}
	return false
}
