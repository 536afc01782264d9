// Package synth writes synthetic ternary models in each family's published
// format: BitNet b1.58 2B4T as the official file (GGUF v3, its 24 metadata
// keys, I2_S ternary tensors, a tied F16 embedding, a real byte-level BPE
// vocabulary with the LLaMA-3 special tokens), and the llama-architecture
// ternary models (Falcon3, Falcon-E, Llama3-8B-1.58) as bitnet.cpp's
// converter and llama.cpp's quantizer write them (docs/models.md). The real
// models cannot be downloaded on the build machines; tests use the tiny
// presets and benchmarks the full shapes with random ternary weights (speed
// does not depend on the weight values).
package synth

import (
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/x448/float16"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/synth/vocab"
	"github.com/bitnet-desktop/bitnet-desktop/engine/ternary"
)

// Config is the shape of a synthetic model.
type Config struct {
	// Arch is gguf.ArchBitNet (default), gguf.ArchBitNet25 (adds an
	// untied output.weight) or gguf.ArchLlama.
	Arch     string
	Regular  int // regular tokens; 256 special tokens are added
	Context  int
	Embd     int
	Blocks   int
	FFN      int
	Heads    int
	KVHeads  int
	RopeBase float32
	Seed     uint64
	// EmbedStd is the standard deviation of the embedding values.
	EmbedStd float32
	// Readable shrinks the embedding (and tied output) rows of the special
	// tokens and of the tokens with bytes that are not printable ASCII, so that
	// answers are readable text that runs to the token limit rather than
	// stray bytes (U+FFFD) and early ends.
	Readable bool

	// The llama architecture's files (Falcon3, Falcon-E, Llama3-8B-1.58):
	// Untied adds output.weight; Weights is the ternary type (I2_S as
	// bitnet.cpp publishes, TQ1_0 or TQ2_0 as llama.cpp's quantizer writes:
	// one scale per 256 values, 0 for an all-zero block); Pre is
	// tokenizer.ggml.pre; Template is tokenizer.chat_template ("" for a base
	// model); Specials renames the first special tokens (Falcon3's vocabulary
	// has <|endoftext|> and the chat roles instead of LLaMA-3's), with EOS
	// the index of the end-of-sequence one among them.
	Untied   bool
	Weights  gguf.TensorType
	Pre      string
	Template string
	Specials []string
	EOS      int
	// Scales adds the per-projection scale tensors of the bitnet
	// architecture (blk.N.<proj>.scale, one F32 value; optional in
	// bitnet.cpp's loader, written by no known converter).
	Scales bool
}

// Presets by name.
var presets = map[string]Config{
	// tiny: fast tests; head dim 128 and 4:1 grouped-query attention as 2B4T.
	"tiny": {Regular: 768, Context: 512, Embd: 256, Blocks: 2, FFN: 512, Heads: 2, KVHeads: 1, RopeBase: 500000, EmbedStd: 1},
	// flat: tiny with a small embedding, so that the residual stream is
	// dominated by the blocks and next-token distributions are flat; for
	// tests of sampling variety. (In "tiny" the input token's own embedding
	// dominates and logits are peaked, which makes argmax comparisons
	// against the float64 reference robust.)
	"flat": {Regular: 768, Context: 512, Embd: 256, Blocks: 2, FFN: 512, Heads: 2, KVHeads: 1, RopeBase: 500000, EmbedStd: 0.05},
	// small: a little deeper, for tests of longer contexts. Like tiny, its
	// answers repeat the last token of the prompt (a space in the chat
	// format): the input token's own embedding dominates.
	"small": {Regular: 1024, Context: 2048, Embd: 512, Blocks: 4, FFN: 1024, Heads: 4, KVHeads: 1, RopeBase: 500000, EmbedStd: 1},
	// demo: answers with visible (random) text until the token limit, at a
	// few hundred tokens per second: to try the app and the CLI, and for the
	// end-to-end tests (an answer streams long enough to be watched and
	// stopped). The blocks outweigh the embedding here.
	"demo": {Regular: 1024, Context: 2048, Embd: 512, Blocks: 8, FFN: 2048, Heads: 4, KVHeads: 1, RopeBase: 500000, EmbedStd: 0.03, Readable: true},
	// 2b4t: the real shapes (benchmarks).
	"2b4t": {Regular: 128000, Context: 4096, Embd: 2560, Blocks: 30, FFN: 6912, Heads: 20, KVHeads: 5, RopeBase: 500000, EmbedStd: 0.02},

	// The llama architecture with ternary weights. Tiny ones for tests:
	// llama-tiny as Llama3-8B-1.58 (LLaMA-3 vocabulary, Llama-3 Instruct
	// template, untied output, I2_S), falcon3-tiny and falcon-e-tiny as
	// TII's files (Falcon3's chat template and special tokens; Falcon-E's
	// template is unpublished, so Falcon3's stands in), llama-tq2 and
	// llama-tq1 as llama.cpp's TQ2_0 / TQ1_0 files.
	"llama-tiny":    llamaTiny(gguf.TypeI2_S, "llama-bpe", llama3Template, nil, 1),
	"falcon3-tiny":  llamaTiny(gguf.TypeI2_S, "falcon3", falcon3Template, falcon3Specials, 0),
	"falcon-e-tiny": llamaTiny(gguf.TypeI2_S, "falcon_e", falcon3Template, falcon3Specials, 0),
	"llama-tq2":     llamaTiny(gguf.TypeTQ2_0, "llama-bpe", "", nil, 1),
	"llama-tq1":     llamaTiny(gguf.TypeTQ1_0, "llama-bpe", "", nil, 1),
	// bitnet-tiny: 1bitLLM's bitnet architecture (a base model);
	// bitnet-tiny-scales adds the optional per-projection scales.
	"bitnet-tiny":        bitnetTiny(false),
	"bitnet-tiny-scales": bitnetTiny(true),
	// Full shapes for benchmarks. llama3-8b-1.58: HF1BitLLM's config
	// (4096 hidden, 32 blocks, 32 heads, 8 kv heads, 14336 ffn, 128256
	// tokens, untied). falcon-e-3b: 32 blocks (the published file's 224
	// ternary tensors); the other figures are assumptions for a 3B model
	// (Falcon-E's config was not found): 2560 hidden, 20 heads of 128,
	// 5 kv heads, 9216 ffn, a 32768-token vocabulary, untied.
	"llama3-8b-1.58": {Arch: gguf.ArchLlama, Regular: 128000, Context: 8192, Embd: 4096, Blocks: 32, FFN: 14336, Heads: 32,
		KVHeads: 8, RopeBase: 500000, EmbedStd: 0.02, Untied: true, Weights: gguf.TypeI2_S, Pre: "llama-bpe",
		Template: llama3Template, EOS: 1},
	"falcon-e-3b": {Arch: gguf.ArchLlama, Regular: 32512, Context: 4096, Embd: 2560, Blocks: 32, FFN: 9216, Heads: 20,
		KVHeads: 5, RopeBase: 1000042, EmbedStd: 0.02, Untied: true, Weights: gguf.TypeI2_S, Pre: "falcon_e",
		Template: falcon3Template, Specials: falcon3Specials},
}

// bitnetTiny is a tiny model of 1bitLLM's bitnet architecture: a
// SentencePiece vocabulary of LLaMA-2's layout plus <pad> and </line>, no
// kv grouping, the 10000 RoPE base, no rope.dimension_count key (as
// bitnet.cpp's converter writes it).
func bitnetTiny(scales bool) Config {
	return Config{Arch: gguf.ArchBitNetV1, Regular: 2048, Context: 512, Embd: 256, Blocks: 2, FFN: 512, Heads: 2, KVHeads: 2,
		RopeBase: 10000, EmbedStd: 1, Weights: gguf.TypeI2_S, Scales: scales}
}

// llamaTiny is a tiny llama-architecture model of the given format.
func llamaTiny(w gguf.TensorType, pre, template string, specials []string, eos int) Config {
	return Config{Arch: gguf.ArchLlama, Regular: 768, Context: 512, Embd: 256, Blocks: 2, FFN: 512, Heads: 2, KVHeads: 1,
		RopeBase: 500000, EmbedStd: 1, Untied: true, Weights: w, Pre: pre, Template: template, Specials: specials, EOS: eos}
}

// Chat templates as the published tokenizer_config.json files carry them
// (docs/models.md; the fixtures of engine/chattmpl name the sources).
const (
	llama3Template  = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
	falcon3Template = "{% for message in messages %}{% if message['role'] == 'system' %}{{ '<|system|>\n' + message['content'] + '\n' }}{% elif message['role'] == 'user' %}{{ '<|user|>\n' + message['content'] + '\n' }}{% elif message['role'] == 'assistant' %}{% if not loop.last %}{{ '<|assistant|>\n' + message['content'] + eos_token + '\n' }}{% else %}{{ '<|assistant|>\n' + message['content'] + eos_token }}{% endif %}{% endif %}{% if loop.last and add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}{% endfor %}"
)

// falcon3Specials are the special tokens Falcon3's chat format uses.
var falcon3Specials = []string{"<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>"}

// Preset returns the named configuration.
func Preset(name string) (Config, error) {
	c, ok := presets[name]
	if !ok {
		return Config{}, fmt.Errorf("unknown preset %q (%s)", name, strings.Join(PresetNames(), ", "))
	}
	if c.Arch == "" {
		c.Arch = gguf.ArchBitNet
	}
	return c, nil
}

// PresetNames lists the presets.
func PresetNames() []string {
	return slices.Sorted(maps.Keys(presets))
}

// WriteFile writes the model to path (through a temporary file).
func WriteFile(path string, c Config) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := Write(tmp, c); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// Write writes the model to w.
func Write(w io.Writer, c Config) error {
	if c.Arch == "" {
		c.Arch = gguf.ArchBitNet
	}
	if c.Embd%256 != 0 || c.FFN%256 != 0 || c.Heads == 0 || c.Embd%c.Heads != 0 || c.KVHeads == 0 || c.Heads%c.KVHeads != 0 {
		return fmt.Errorf("synth: unusable shape %+v (rows must be multiples of 256)", c)
	}
	if c.Arch == gguf.ArchBitNetV1 {
		return writeBitNetV1(w, c)
	}
	v, err := vocab.Build(c.Regular, vocab.DefaultCorpus())
	if err != nil {
		return fmt.Errorf("synth: vocabulary: %w", err)
	}
	llama := c.Arch == gguf.ArchLlama
	if llama {
		// Specials first renamed, then BOS/EOS as the family has them.
		for i, name := range c.Specials {
			v.Tokens[c.Regular+i] = name
		}
		v.EOS = int32(c.Regular + c.EOS)
	}
	nv := len(v.Tokens)
	a := c.Arch
	headDim := c.Embd / c.Heads
	b := &gguf.Builder{}
	b.Add("general.architecture", a)
	b.Add("general.name", "bitnet-synthetic")
	b.Add(a+".vocab_size", uint32(nv))
	b.Add(a+".context_length", uint32(c.Context))
	b.Add(a+".embedding_length", uint32(c.Embd))
	b.Add(a+".block_count", uint32(c.Blocks))
	b.Add(a+".feed_forward_length", uint32(c.FFN))
	b.Add(a+".rope.dimension_count", uint32(headDim))
	b.Add(a+".attention.head_count", uint32(c.Heads))
	b.Add(a+".attention.head_count_kv", uint32(c.KVHeads))
	b.Add(a+".attention.layer_norm_rms_epsilon", float32(1e-5))
	b.Add(a+".rope.freq_base", c.RopeBase)
	// llama.cpp's file types: 40 = I2_S (bitnet.cpp), 36 = TQ1_0, 37 = TQ2_0.
	b.Add("general.file_type", map[gguf.TensorType]uint32{gguf.TypeTQ1_0: 36, gguf.TypeTQ2_0: 37}[c.Weights]|cond(c.Weights == 0 || c.Weights == gguf.TypeI2_S, 40))
	b.Add("tokenizer.ggml.model", "gpt2")
	if llama {
		b.Add("tokenizer.ggml.pre", c.Pre)
	}
	b.Add("tokenizer.ggml.tokens", v.Tokens)
	b.Add("tokenizer.ggml.scores", make([]float32, nv))
	b.Add("tokenizer.ggml.token_type", v.Types)
	b.Add("tokenizer.ggml.merges", v.Merges)
	b.Add("tokenizer.ggml.bos_token_id", uint32(v.BOS))
	b.Add("tokenizer.ggml.eos_token_id", uint32(v.EOS))
	b.Add("tokenizer.ggml.padding_token_id", uint32(v.EOS))
	b.Add("tokenizer.ggml.add_bos_token", true)
	switch {
	case !llama:
		// The official file carries this (wrong) template; engines must ignore it.
		b.Add("tokenizer.chat_template", "{% for message in messages %}{{ 'Human: ' + message['content'] + 'BITNETAssistant: ' }}{% endfor %}")
	case c.Template != "":
		b.Add("tokenizer.chat_template", c.Template)
	}
	b.Add("general.quantization_version", uint32(2))

	ternaryType := gguf.TypeI2_S
	if llama && c.Weights != 0 {
		ternaryType = c.Weights
	}
	e, f, kv := uint64(c.Embd), uint64(c.FFN), uint64(c.KVHeads*headDim)
	add := func(name string, t gguf.TensorType, shape ...uint64) {
		if err == nil {
			err = b.AddTensor(name, t, shape...)
		}
	}
	add("token_embd.weight", gguf.TypeF16, e, uint64(nv))
	for i := 0; i < c.Blocks; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		add(p+"attn_norm.weight", gguf.TypeF32, e)
		add(p+"attn_q.weight", ternaryType, e, e)
		add(p+"attn_k.weight", ternaryType, e, kv)
		add(p+"attn_v.weight", ternaryType, e, kv)
		if !llama {
			add(p+"attn_sub_norm.weight", gguf.TypeF32, e)
		}
		add(p+"attn_output.weight", ternaryType, e, e)
		add(p+"ffn_norm.weight", gguf.TypeF32, e)
		add(p+"ffn_gate.weight", ternaryType, e, f)
		add(p+"ffn_up.weight", ternaryType, e, f)
		if !llama {
			add(p+"ffn_sub_norm.weight", gguf.TypeF32, f)
		}
		add(p+"ffn_down.weight", ternaryType, f, e)
	}
	add("output_norm.weight", gguf.TypeF32, e)
	if a == gguf.ArchBitNet25 || (llama && c.Untied) {
		add("output.weight", gguf.TypeF16, e, uint64(nv))
	}
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}

	quiet := func(int) bool { return false }
	if c.Readable {
		unreadable := make([]bool, nv)
		for id, tok := range v.Tokens {
			bs, ok := vocab.Bytes(tok)
			unreadable[id] = !ok || v.Types[id] != vocab.TypeNormal
			for _, b := range bs {
				unreadable[id] = unreadable[id] || !(b >= ' ' && b <= '~' || b == '\n')
			}
		}
		quiet = func(id int) bool { return unreadable[id] }
	}
	return writeTensors(w, b, c, quiet)
}

// writeTensors writes the data of b's tensors: random weights of the
// configured scale, one generator per tensor.
func writeTensors(w io.Writer, b *gguf.Builder, c Config, quiet func(int) bool) error {
	return b.Write(w, func(i int, t gguf.TensorInfo, w io.Writer) error {
		// One generator per tensor, seeded by the model seed and the
		// tensor's index, so each tensor is reproducible on its own.
		rng := rand.New(rand.NewPCG(c.Seed, uint64(i)+1))
		switch {
		case strings.HasSuffix(t.Name, ".scale"):
			return writeF32(w, float32(0.5+rng.Float64()))
		case t.Type == gguf.TypeF32:
			return writeNorm(w, rng, t)
		case t.Type == gguf.TypeF16:
			if t.Name == "output.weight" {
				// An untied output that resembles the embedding (as trained
				// ones do), plus its own noise, so that logits are peaked
				// like a real model's rather than near-ties.
				return writeEmbedding(w, rand.New(rand.NewPCG(c.Seed, 1)), t, c.EmbedStd, rng, 0.3, quiet)
			}
			return writeEmbedding(w, rng, t, c.EmbedStd, nil, 0, quiet)
		default:
			return writeTernary(w, rng, t)
		}
	})
}

// writeBitNetV1 writes a model of 1bitLLM's bitnet architecture as
// bitnet.cpp's converter does (docs/models.md): a SentencePiece vocabulary,
// no rope.dimension_count, a tied F16 embedding, the two sub-norms, I2_S
// projections, optionally their scale tensors.
func writeBitNetV1(w io.Writer, c Config) error {
	v, err := vocab.BuildSPM(c.Regular, vocab.DefaultCorpus(), true)
	if err != nil {
		return fmt.Errorf("synth: vocabulary: %w", err)
	}
	nv := len(v.Tokens)
	a := c.Arch
	b := &gguf.Builder{}
	b.Add("general.architecture", a)
	b.Add("general.name", "bitnet-synthetic")
	b.Add(a+".vocab_size", uint32(nv))
	b.Add(a+".context_length", uint32(c.Context))
	b.Add(a+".embedding_length", uint32(c.Embd))
	b.Add(a+".feed_forward_length", uint32(c.FFN))
	b.Add(a+".block_count", uint32(c.Blocks))
	b.Add(a+".attention.head_count", uint32(c.Heads))
	b.Add(a+".attention.head_count_kv", uint32(c.KVHeads))
	b.Add(a+".rope.freq_base", c.RopeBase)
	b.Add(a+".attention.layer_norm_rms_epsilon", float32(1e-5))
	b.Add(a+".rope.scaling.type", "linear")
	b.Add(a+".rope.scaling.factor", float32(1))
	b.Add("general.file_type", uint32(40))
	b.Add("tokenizer.ggml.model", "llama")
	b.Add("tokenizer.ggml.tokens", v.Tokens)
	b.Add("tokenizer.ggml.scores", v.Scores)
	b.Add("tokenizer.ggml.token_type", v.Types)
	b.Add("tokenizer.ggml.bos_token_id", uint32(v.BOS))
	b.Add("tokenizer.ggml.eos_token_id", uint32(v.EOS))
	b.Add("tokenizer.ggml.unknown_token_id", uint32(v.UNK))
	b.Add("tokenizer.ggml.add_bos_token", true)
	b.Add("tokenizer.ggml.add_eos_token", false)
	b.Add("general.quantization_version", uint32(2))
	e, f, kv := uint64(c.Embd), uint64(c.FFN), uint64(c.KVHeads*(c.Embd/c.Heads))
	add := func(name string, t gguf.TensorType, shape ...uint64) {
		if err == nil {
			err = b.AddTensor(name, t, shape...)
		}
	}
	add("token_embd.weight", gguf.TypeF16, e, uint64(nv))
	for i := 0; i < c.Blocks; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		add(p+"attn_norm.weight", gguf.TypeF32, e)
		add(p+"attn_q.weight", gguf.TypeI2_S, e, e)
		add(p+"attn_k.weight", gguf.TypeI2_S, e, kv)
		add(p+"attn_v.weight", gguf.TypeI2_S, e, kv)
		add(p+"attn_sub_norm.weight", gguf.TypeF32, e)
		add(p+"attn_output.weight", gguf.TypeI2_S, e, e)
		add(p+"ffn_norm.weight", gguf.TypeF32, e)
		add(p+"ffn_gate.weight", gguf.TypeI2_S, e, f)
		add(p+"ffn_up.weight", gguf.TypeI2_S, e, f)
		add(p+"ffn_sub_norm.weight", gguf.TypeF32, f)
		add(p+"ffn_down.weight", gguf.TypeI2_S, f, e)
		if c.Scales {
			for _, proj := range gguf.Projections {
				add(p+proj+".scale", gguf.TypeF32, 1)
			}
		}
	}
	add("output_norm.weight", gguf.TypeF32, e)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return writeTensors(w, b, c, func(int) bool { return false })
}

func writeF32(w io.Writer, v float32) error {
	u := math.Float32bits(v)
	_, err := w.Write([]byte{byte(u), byte(u >> 8), byte(u >> 16), byte(u >> 24)})
	return err
}

func writeNorm(w io.Writer, rng *rand.Rand, t gguf.TensorInfo) error {
	buf := make([]byte, 4*t.Elements())
	for i := range t.Elements() {
		v := float32(1 + 0.1*rng.NormFloat64())
		u := math.Float32bits(v)
		buf[4*i], buf[4*i+1], buf[4*i+2], buf[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	_, err := w.Write(buf)
	return err
}

// writeEmbedding writes normal values of the given std; with a noise
// generator, each value gets noise*std of extra independent noise. Rows for
// which quiet is true are scaled down 20 times.
func writeEmbedding(w io.Writer, rng *rand.Rand, t gguf.TensorInfo, std float32, noiseRng *rand.Rand, noise float64, quiet func(int) bool) error {
	cols := t.Shape[0]
	row := make([]byte, 2*cols)
	for r := uint64(0); r < t.Shape[1]; r++ {
		s := std
		if quiet(int(r)) {
			s /= 20
		}
		for i := uint64(0); i < cols; i++ {
			v := rng.NormFloat64()
			if noiseRng != nil {
				v += noise * noiseRng.NormFloat64()
			}
			h := float16.Fromfloat32(float32(v) * s).Bits()
			row[2*i], row[2*i+1] = byte(h), byte(h>>8)
		}
		if _, err := w.Write(row); err != nil {
			return err
		}
	}
	return nil
}

// validBytes are the 81 bytes whose four codes are all in {0, 1, 2}.
var validBytes = func() (out [81]byte) {
	n := 0
	for b := 0; b < 256; b++ {
		ok := true
		for l := 0; l < 4; l++ {
			ok = ok && (b>>(2*l))&3 != 3
		}
		if ok {
			out[n] = byte(b)
			n++
		}
	}
	return out
}()

// writeTernary writes random ternary weights (each of -1, 0, +1 equally
// likely) with one scale of about 1/sqrt(input size), like a trained layer,
// in the tensor's type: I2_S codes and the scale, or TQ2_0 / TQ1_0 blocks
// (the same values) whose scale is the block's absmax, as llama.cpp's
// quantizer writes them.
func writeTernary(w io.Writer, rng *rand.Rand, t gguf.TensorInfo) error {
	n := t.Elements()
	codes := make([]byte, n/4)
	for i := uint64(0); i < uint64(len(codes)); i += 8 {
		r := rng.Uint64()
		for j := uint64(0); j < 8 && i+j < uint64(len(codes)); j++ {
			codes[i+j] = validBytes[(r>>(8*j))&0xFF%81]
		}
	}
	scale := float32(1 / math.Sqrt(float64(t.Shape[0])) * (1 + 0.2*rng.Float64()))
	if t.Type != gguf.TypeI2_S {
		vals := make([]int8, n)
		ternary.DecodeI2S(vals, codes)
		d := make([]uint16, n/ternary.BlockElems)
		for b := range d {
			if slices.ContainsFunc(vals[b*ternary.BlockElems:(b+1)*ternary.BlockElems], func(v int8) bool { return v != 0 }) {
				d[b] = ternary.F16(scale)
			}
		}
		out := make([]byte, t.Size)
		if t.Type == gguf.TypeTQ1_0 {
			ternary.EncodeTQ1_0(out, vals, d)
		} else {
			for b := range d {
				ternary.EncodeTQ2_0(out[b*ternary.TQ2_0BlockBytes:(b+1)*ternary.TQ2_0BlockBytes], vals[b*ternary.BlockElems:(b+1)*ternary.BlockElems], d[b])
			}
		}
		_, err := w.Write(out)
		return err
	}
	if _, err := w.Write(codes); err != nil {
		return err
	}
	tail := make([]byte, gguf.I2STail)
	u := math.Float32bits(scale)
	tail[0], tail[1], tail[2], tail[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	_, err := w.Write(tail)
	return err
}

func cond(ok bool, v uint32) uint32 {
	if ok {
		return v
	}
	return 0
}
