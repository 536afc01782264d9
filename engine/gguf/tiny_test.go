package gguf_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf/ggufttest"
	"github.com/bitnet-desktop/bitnet-desktop/engine/ternary"
)

// The 24 metadata keys of the official file, in its order.
var officialKeys = []string{
	"general.architecture", "general.name", "bitnet-b1.58.vocab_size", "bitnet-b1.58.context_length",
	"bitnet-b1.58.embedding_length", "bitnet-b1.58.block_count", "bitnet-b1.58.feed_forward_length",
	"bitnet-b1.58.rope.dimension_count", "bitnet-b1.58.attention.head_count", "bitnet-b1.58.attention.head_count_kv",
	"bitnet-b1.58.attention.layer_norm_rms_epsilon", "bitnet-b1.58.rope.freq_base", "general.file_type",
	"tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
	"tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
	"tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token", "tokenizer.chat_template",
	"general.quantization_version",
}

func TestTinyAccepted(t *testing.T) {
	base := gguf.Spec{
		Arch: gguf.ArchBitNet, Family: gguf.Family2B4T, Tokenizer: gguf.TokenizerBPE, AddBOS: true,
		ChatTemplate: ggufttest.ChatTemplate, Vocab: ggufttest.Vocab, Context: ggufttest.Context, Embd: ggufttest.Embd,
		Blocks: ggufttest.Blocks, FFN: ggufttest.FFN, Heads: ggufttest.Heads, KVHeads: ggufttest.KVHeads,
		HeadDim: ggufttest.HeadDim, RopeDim: ggufttest.HeadDim, Eps: ggufttest.Eps, RopeBase: ggufttest.RopeBase,
		BOS: ggufttest.BOS, EOS: ggufttest.EOS, Ternary: gguf.TypeI2_S, Embedding: gguf.TypeF16,
		EmbedTensor: "token_embd.weight",
	}
	// 2 blocks of 4*256*256 + 3*256*512 + 2*256*128 ternary + 3*256 + 512 norm
	// elements, the embedding and output_norm.
	blockParams := int64(4*256*256/2 + 3*256*512 + 2*256*128 + 3*256 + 512)
	params := 2*blockParams + 256*300 + 256
	tests := []struct {
		v    ggufttest.Variant
		edit func(s *gguf.Spec)
	}{
		{ggufttest.Official, func(s *gguf.Spec) {}},
		{ggufttest.BitNet25, func(s *gguf.Spec) {
			s.Arch = gguf.ArchBitNet25
			s.Untied = true
			s.Parameters += 256 * 300
		}},
		{ggufttest.Converted, func(s *gguf.Spec) {
			s.Converted, s.Ternary, s.Embedding, s.EmbedTensor = true, gguf.TypeTQ2_0, gguf.TypeQ6_K, "output.weight"
		}},
		{ggufttest.ConvertedQ2K, func(s *gguf.Spec) {
			s.Converted, s.Ternary, s.Embedding, s.EmbedTensor = true, gguf.TypeQ2_K, gguf.TypeQ6_K, "output.weight"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.v.String(), func(t *testing.T) {
			want := base
			want.Parameters = params
			tc.edit(&want)
			data := tiny(t, tc.v)
			f := mustRead(t, data)
			spec, err := gguf.CheckModel(f)
			if err != nil {
				t.Fatalf("CheckModel: %v", err)
			}
			if *spec != want {
				t.Errorf("spec\n got %+v\nwant %+v", *spec, want)
			}
			if f.Version != 3 || f.Alignment != 32 {
				t.Errorf("version %d alignment %d", f.Version, f.Alignment)
			}
		})
	}
}

// The official-layout file has the official keys, value types and tensors.
func TestTinyOfficialLayout(t *testing.T) {
	f := mustRead(t, ggufttest.TinyOfficial(t))
	if len(f.KVs) != 24 {
		t.Errorf("%d keys, want 24", len(f.KVs))
	}
	for i, kv := range f.KVs {
		if i < len(officialKeys) && kv.Key != officialKeys[i] {
			t.Errorf("key %d is %s, want %s", i, kv.Key, officialKeys[i])
		}
	}
	types := map[string]gguf.ValueType{
		"bitnet-b1.58.vocab_size": gguf.ValUint32, "bitnet-b1.58.attention.layer_norm_rms_epsilon": gguf.ValFloat32,
		"bitnet-b1.58.rope.freq_base": gguf.ValFloat32, "general.file_type": gguf.ValUint32,
		"tokenizer.ggml.add_bos_token": gguf.ValBool, "tokenizer.chat_template": gguf.ValString,
		"tokenizer.ggml.bos_token_id": gguf.ValUint32,
	}
	for key, typ := range types {
		if kv, _ := f.Get(key); kv.Type != typ {
			t.Errorf("%s is %v, want %v", key, kv.Type, typ)
		}
	}
	if v, _ := f.Uint("general.file_type"); v != 40 {
		t.Errorf("file type %d", v)
	}
	if v, _ := f.Uint("general.quantization_version"); v != 2 {
		t.Errorf("quantization version %d", v)
	}
	if kv, _ := f.Get("tokenizer.ggml.token_type"); kv.Elem != gguf.ValInt32 {
		t.Error("token_type is not int32")
	}
	if kv, _ := f.Get("tokenizer.ggml.scores"); kv.Elem != gguf.ValFloat32 {
		t.Error("scores are not float32")
	}
	if _, ok := f.Get("tokenizer.ggml.pre"); ok {
		t.Error("the official file has no tokenizer.ggml.pre")
	}
	if len(f.Tensors) != 2+11*ggufttest.Blocks {
		t.Errorf("%d tensors", len(f.Tensors))
	}
	if f.Tensors[0].Name != "token_embd.weight" || f.Tensors[len(f.Tensors)-1].Name != "output_norm.weight" {
		t.Errorf("tensor order: first %s, last %s", f.Tensors[0].Name, f.Tensors[len(f.Tensors)-1].Name)
	}
	for _, ti := range f.Tensors {
		want := gguf.TypeI2_S
		switch {
		case gguf.IsNorm(ti.Name):
			want = gguf.TypeF32
		case ti.Name == "token_embd.weight":
			want = gguf.TypeF16
		}
		if ti.Type != want {
			t.Errorf("%s is %s, want %s", ti.Name, ti.Type, want)
		}
		if ti.Type == gguf.TypeI2_S && ti.Size != ti.Elements()/4+32 {
			t.Errorf("%s: %d bytes", ti.Name, ti.Size)
		}
	}
	for _, name := range []string{"output.weight", "rope_freqs.weight", "blk.0.attn_q.bias"} {
		if _, ok := f.Tensor(name); ok {
			t.Errorf("unexpected %s", name)
		}
	}
}

// The tokenizer of the tiny model is consistent: every merge joins two
// tokens into a token, special tokens are control tokens.
func TestTinyTokenizer(t *testing.T) {
	toks := ggufttest.Tokens()
	if len(toks) != ggufttest.Vocab {
		t.Fatalf("%d tokens", len(toks))
	}
	id := map[string]int{}
	for i, tok := range toks {
		if tok == "" {
			t.Errorf("token %d is empty", i)
		}
		if _, dup := id[tok]; dup {
			t.Errorf("token %q twice", tok)
		}
		id[tok] = i
	}
	bytesSeen := map[rune]bool{}
	for _, tok := range toks[:256] {
		r := []rune(tok)
		if len(r) != 1 || bytesSeen[r[0]] {
			t.Errorf("byte token %q", tok)
		}
		bytesSeen[r[0]] = true
	}
	if toks[0] != "!" || toks[255] != string(rune(0x143)) || id["Ġ"] != 220 || id["Ċ"] != 198 {
		t.Errorf("byte tokens not in LLaMA-3 order: %q %q Ġ=%d Ċ=%d", toks[0], toks[255], id["Ġ"], id["Ċ"])
	}
	for rank, m := range ggufttest.Merges() {
		a, b, ok := strings.Cut(m, " ")
		if !ok {
			t.Fatalf("merge %q", m)
		}
		ia, oka := id[a]
		ib, okb := id[b]
		ic, okc := id[a+b]
		if !oka || !okb || !okc || ic != 256+rank || ia >= ic || ib >= ic {
			t.Errorf("merge %d %q: ids %d %d -> %d", rank, m, ia, ib, ic)
		}
	}
	if toks[ggufttest.BOS] != "<|begin_of_text|>" || toks[ggufttest.EOS] != "<|end_of_text|>" || toks[ggufttest.EOT] != "<|eot_id|>" {
		t.Error("special token ids")
	}
	for i, tt := range ggufttest.TokenTypes() {
		if want := int32(1) + 2*int32(btoi(i >= ggufttest.BOS)); tt != want {
			t.Errorf("token %d type %d", i, tt)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// All variants encode the same model: identical ternary weights and
// embedding, whatever the type they are stored as.
func TestTinyVariantsSameWeights(t *testing.T) {
	official := ggufttest.NewBuilder(ggufttest.Official)
	for _, v := range []ggufttest.Variant{ggufttest.BitNet25, ggufttest.Converted, ggufttest.ConvertedQ2K} {
		b := ggufttest.NewBuilder(v)
		for _, ti := range official.Tensors {
			name := ti.Name
			if name == "token_embd.weight" && (v == ggufttest.Converted || v == ggufttest.ConvertedQ2K) {
				name = "output.weight"
			}
			want, err := ggufttest.Values(official, ti.Name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ggufttest.Values(b, name)
			if err != nil {
				t.Fatalf("%v %s: %v", v, name, err)
			}
			if len(got) != len(want) {
				t.Fatalf("%v %s: %d values, want %d", v, name, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%v %s[%d] = %v, official %v", v, name, i, got[i], want[i])
				}
			}
		}
	}
	// The untied output of bitnet-25 is a matrix of its own.
	b25 := ggufttest.NewBuilder(ggufttest.BitNet25)
	emb, _ := ggufttest.Values(b25, "token_embd.weight")
	out, _ := ggufttest.Values(b25, "output.weight")
	if len(emb) != len(out) || emb[0] == out[0] && emb[1] == out[1] && emb[2] == out[2] {
		t.Error("bitnet-25 output.weight repeats the embedding")
	}
	// The weights are ternary with a spread of codes; norms are near 1.
	q, _ := ggufttest.Values(official, "blk.0.attn_q.weight")
	counts := map[float32]int{}
	for _, x := range q {
		counts[x]++
	}
	if len(counts) != 3 {
		t.Errorf("attn_q has %d distinct values, want 3", len(counts))
	}
	norm, _ := ggufttest.Values(official, "blk.1.ffn_sub_norm.weight")
	for _, x := range norm {
		if x < 0.5 || x > 1.5 {
			t.Fatalf("norm weight %v", x)
		}
	}
}

// The tiny files' ternary encodings agree with engine/ternary, which
// engine/convert uses: converting the official I2_S bytes gives the
// converted variants' bytes exactly.
func TestTinyMatchesTernaryPackage(t *testing.T) {
	off := ggufttest.NewBuilder(ggufttest.Official)
	for _, v := range []ggufttest.Variant{ggufttest.Converted, ggufttest.ConvertedQ2K} {
		conv := ggufttest.NewBuilder(v)
		for i, ti := range off.Tensors {
			if ti.Type != gguf.TypeI2_S {
				continue
			}
			src, err := ggufttest.Encode(off, ti)
			if err != nil {
				t.Fatal(err)
			}
			n := int(ti.Elements())
			scale, err := ternary.I2SScale(src, n)
			if err != nil {
				t.Fatal(err)
			}
			out := conv.Tensors[i]
			want, err := ggufttest.Encode(conv, out)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, out.Size)
			if v == ggufttest.Converted {
				ternary.ToTQ2_0(got, src[:n/4], scale)
			} else {
				ternary.ToQ2K(got, src[:n/4], scale)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%v %s: engine/ternary's conversion differs from ggufttest's encoding", v, ti.Name)
			}
			vals := make([]int8, n)
			ternary.DecodeI2S(vals, src[:n/4])
			if !bytes.Equal(ternary.EncodeI2S(vals, scale), src) {
				t.Fatalf("%s: engine/ternary's I2_S round trip differs", ti.Name)
			}
		}
	}
}

// Write does not depend on anything but the description.
func TestTinyDeterministic(t *testing.T) {
	for _, v := range ggufttest.Variants {
		if !bytes.Equal(ggufttest.Tiny(t, v), tiny(t, v)) {
			t.Errorf("%v: two writes differ", v)
		}
	}
}

// TestI2SAnyRowLength: I2_S packs the flat tensor, so rows need not be
// whole blocks (1bitLLM-3B's ffn_down rows are 8640 long); the converter
// writes such tensors as Q8_0.
func TestI2SAnyRowLength(t *testing.T) {
	b := ggufttest.NewBuilder(ggufttest.Official)
	ggufttest.SetKV(b, "bitnet-b1.58.feed_forward_length", uint32(384))
	for i := 0; i < 2; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		ggufttest.SetTensor(b, p+"ffn_gate.weight", gguf.TypeI2_S, 256, 384)
		ggufttest.SetTensor(b, p+"ffn_up.weight", gguf.TypeI2_S, 256, 384)
		ggufttest.SetTensor(b, p+"ffn_sub_norm.weight", gguf.TypeF32, 384)
		ggufttest.SetTensor(b, p+"ffn_down.weight", gguf.TypeI2_S, 384, 256)
	}
	_, spec, err := check(ggufttest.Write(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if spec.FFN != 384 || spec.Ternary != gguf.TypeI2_S {
		t.Errorf("spec %+v", spec)
	}
}
