// Package ggufttest builds tiny, valid BitNet b1.58 GGUF files for tests,
// in the layout of the official microsoft/bitnet-b1.58-2B-4T-gguf file (the
// same 24 metadata keys, tensor names, types and order) but with tiny
// dimensions, plus the older "bitnet-25" layout and this project's
// converted layout.
//
// Every tensor's contents are deterministic, derived from the tensor's
// name: the ternary weights of blk.N.attn_q.weight are the same whether
// they are written as I2_S, TQ2_0 or Q2_K, and the embedding matrix is made
// of values that F16 and Q6_K both represent exactly, so all variants of the
// tiny model compute the same function. Values returns the exact weights.
//
// The usual entry points are TinyOfficial, TinyBitNet25 and TinyConverted.
// To make a variant, start from NewBuilder, edit it with SetKV, DeleteKV,
// SetTensor and DeleteTensor, and call Write.
package ggufttest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"strings"
	"sync"
	"testing"

	bitternary "github.com/bitnet-desktop/bitnet-desktop/engine/ternary"

	"github.com/x448/float16"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
)

// Variant selects one of the layouts CheckModel accepts.
type Variant int

const (
	// Official is the current official layout: arch bitnet-b1.58, tied F16
	// token_embd.weight, F32 norms, I2_S ternary weights.
	Official Variant = iota
	// BitNet25 is the April 2025 layout: arch bitnet-25 and an untied F16
	// output.weight.
	BitNet25
	// Converted is what engine/convert writes from Official by default:
	// bitnet_desktop.converter_version 1, TQ2_0 ternary weights and the tied
	// embedding stored once, as Q6_K output.weight.
	Converted
	// ConvertedQ2K is Converted with Q2_K ternary weights.
	ConvertedQ2K
)

func (v Variant) String() string {
	switch v {
	case Official:
		return "official"
	case BitNet25:
		return "bitnet-25"
	case Converted:
		return "converted"
	case ConvertedQ2K:
		return "converted-q2_k"
	}
	return fmt.Sprintf("Variant(%d)", int(v))
}

// Variants lists every variant.
var Variants = []Variant{Official, BitNet25, Converted, ConvertedQ2K}

// Hyperparameters of the tiny model (2B4T: 128256, 4096, 2560, 30, 6912,
// 20, 5, 128).
const (
	Vocab    = 300
	Context  = 4096
	Embd     = 256
	Blocks   = 2
	FFN      = 512
	Heads    = 2
	KVHeads  = 1
	HeadDim  = Embd / Heads // 128, as in 2B4T
	Eps      = 1e-5
	RopeBase = 500000
)

// Token ids of the tiny vocabulary: 256 byte tokens, NumMerges merged
// tokens, then LLaMA-3's first 12 special tokens in LLaMA-3's order
// (2B4T: BOS 128000, EOS 128001, EOT 128009).
const (
	NumMerges = 32
	BOS       = 256 + NumMerges // <|begin_of_text|>
	EOS       = BOS + 1         // <|end_of_text|>, also the padding id
	EOT       = BOS + 9         // <|eot_id|>
)

// ConverterSourceID is the bitnet_desktop.source_id of the converted variants.
const ConverterSourceID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// ChatTemplate is the tokenizer.chat_template of the tiny files, in the
// style of the official file's (wrong) template.
const ChatTemplate = "{% for message in messages %}{% if message['role'] == 'user' %}" +
	"{{ 'Human: ' + message['content'] + '\\n\\nBITNETAssistant: ' }}" +
	"{% elif message['role'] == 'assistant' %}{{ message['content'] + '<|end_of_text|>' }}" +
	"{% else %}{{ 'System: ' + message['content'] + '\\n\\n' }}{% endif %}{% endfor %}"

var specialTokens = []string{
	"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
	"<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
	"<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
	"<|reserved_special_token_3|>",
}

// Merge pairs in rank order, in GPT-2 byte-level form (Ġ is a space).
var mergePairs = [NumMerges][2]string{
	{"Ġ", "t"}, {"h", "e"}, {"i", "n"}, {"Ġ", "a"}, {"e", "r"}, {"o", "n"}, {"Ġt", "he"}, {"r", "e"},
	{"a", "t"}, {"e", "n"}, {"Ġ", "s"}, {"o", "r"}, {"i", "s"}, {"Ġ", "w"}, {"Ġ", "o"}, {"e", "s"},
	{"in", "g"}, {"Ġ", "c"}, {"Ġ", "b"}, {"Ġ", "f"}, {"a", "n"}, {"Ġ", "m"}, {"Ġ", "h"}, {"l", "l"},
	{"Ġ", "p"}, {"Ġo", "f"}, {"an", "d"}, {"Ġ", "and"}, {"Ġ", "i"}, {"Ġi", "s"}, {"Ġ", "H"}, {"e", "l"},
}

// ByteTokens returns the 256 byte tokens in LLaMA-3 (tiktoken) order: token
// i is GPT-2's byte-to-unicode image of the i-th byte of the order
// '!'..'~', '¡'..'¬', '®'..'ÿ', then the remaining bytes 0..255.
func ByteTokens() []string {
	var bs []int
	for b := '!'; b <= '~'; b++ {
		bs = append(bs, int(b))
	}
	for b := '¡'; b <= '¬'; b++ {
		bs = append(bs, int(b))
	}
	for b := '®'; b <= 'ÿ'; b++ {
		bs = append(bs, int(b))
	}
	in := map[int]bool{}
	for _, b := range bs {
		in[b] = true
	}
	out := make([]string, 0, 256)
	for _, b := range bs {
		out = append(out, string(rune(b)))
	}
	n := 0
	for b := 0; b < 256; b++ {
		if !in[b] {
			out = append(out, string(rune(256+n)))
			n++
		}
	}
	return out
}

// Tokens returns the tiny vocabulary (Vocab strings).
func Tokens() []string {
	toks := ByteTokens()
	for _, m := range mergePairs {
		toks = append(toks, m[0]+m[1])
	}
	return append(toks, specialTokens...)
}

// Merges returns the tiny BPE merges ("a b"), in rank order.
func Merges() []string {
	out := make([]string, len(mergePairs))
	for i, m := range mergePairs {
		out[i] = m[0] + " " + m[1]
	}
	return out
}

// TokenTypes returns tokenizer.ggml.token_type: 1 (normal) for byte and
// merged tokens, 3 (control) for the special tokens.
func TokenTypes() []int32 {
	tt := make([]int32, Vocab)
	for i := range tt {
		tt[i] = 1
		if i >= BOS {
			tt[i] = 3
		}
	}
	return tt
}

// NewBuilder returns the description of the tiny model in the given layout:
// its metadata and tensor infos in file order. Write it with Write.
func NewBuilder(v Variant) *gguf.Builder {
	arch := gguf.ArchBitNet
	if v == BitNet25 {
		arch = gguf.ArchBitNet25
	}
	b := &gguf.Builder{}
	b.Add("general.architecture", arch)
	b.Add("general.name", "tiny "+arch+" (test)")
	b.Add(arch+".vocab_size", uint32(Vocab))
	b.Add(arch+".context_length", uint32(Context))
	b.Add(arch+".embedding_length", uint32(Embd))
	b.Add(arch+".block_count", uint32(Blocks))
	b.Add(arch+".feed_forward_length", uint32(FFN))
	b.Add(arch+".rope.dimension_count", uint32(HeadDim))
	b.Add(arch+".attention.head_count", uint32(Heads))
	b.Add(arch+".attention.head_count_kv", uint32(KVHeads))
	b.Add(arch+".attention.layer_norm_rms_epsilon", float32(Eps))
	b.Add(arch+".rope.freq_base", float32(RopeBase))
	b.Add("general.file_type", uint32(40))
	b.Add("tokenizer.ggml.model", "gpt2")
	b.Add("tokenizer.ggml.tokens", Tokens())
	b.Add("tokenizer.ggml.scores", make([]float32, Vocab))
	b.Add("tokenizer.ggml.token_type", TokenTypes())
	b.Add("tokenizer.ggml.merges", Merges())
	b.Add("tokenizer.ggml.bos_token_id", uint32(BOS))
	b.Add("tokenizer.ggml.eos_token_id", uint32(EOS))
	b.Add("tokenizer.ggml.padding_token_id", uint32(EOS))
	b.Add("tokenizer.ggml.add_bos_token", true)
	b.Add("tokenizer.chat_template", ChatTemplate)
	b.Add("general.quantization_version", uint32(2))

	ternary, embd, embdName := gguf.TypeI2_S, gguf.TypeF16, "token_embd.weight"
	if v == Converted || v == ConvertedQ2K {
		// As engine/convert's plan: drop general.file_type, add ours; the
		// tied embedding becomes a Q6_K output.weight.
		DeleteKV(b, "general.file_type")
		ftype := uint32(37) // llama.cpp's MOSTLY_TQ2_0
		ternary = gguf.TypeTQ2_0
		if v == ConvertedQ2K {
			ternary, ftype = gguf.TypeQ2_K, 10
		}
		b.Add("general.file_type", ftype)
		b.Add(gguf.KeyConverterVersion, uint32(1))
		b.Add(gguf.KeySourceID, ConverterSourceID)
		embd, embdName = gguf.TypeQ6_K, "output.weight"
	}
	addTensors(b, ternary, embd, embdName, v == BitNet25)
	return b
}

func addTensors(b *gguf.Builder, ternary, embd gguf.TensorType, embdName string, untied bool) {
	SetTensor(b, embdName, embd, Embd, Vocab)
	spec := gguf.Spec{Family: gguf.Family2B4T, Embd: Embd, FFN: FFN, Heads: Heads, KVHeads: KVHeads, HeadDim: HeadDim}
	for i := 0; i < Blocks; i++ {
		for _, t := range spec.BlockTensors(i) {
			typ := ternary
			if gguf.IsNorm(t.Name) {
				typ = gguf.TypeF32
			}
			SetTensor(b, t.Name, typ, t.Shape...)
		}
	}
	SetTensor(b, "output_norm.weight", gguf.TypeF32, Embd)
	if untied {
		SetTensor(b, "output.weight", embd, Embd, Vocab)
	}
}

// Tiny returns the bytes of the tiny model in the given layout.
func Tiny(tb testing.TB, v Variant) []byte {
	tb.Helper()
	return Write(tb, NewBuilder(v))
}

// TinyOfficial returns a tiny model in the official layout (arch
// bitnet-b1.58, F16 tied embedding, I2_S weights).
func TinyOfficial(tb testing.TB) []byte { tb.Helper(); return Tiny(tb, Official) }

// TinyBitNet25 returns a tiny model in the older bitnet-25 layout (untied
// F16 output.weight).
func TinyBitNet25(tb testing.TB) []byte { tb.Helper(); return Tiny(tb, BitNet25) }

// TinyConverted returns a tiny model in the converted layout (TQ2_0
// weights, Q6_K tied embedding stored as output.weight).
func TinyConverted(tb testing.TB) []byte { tb.Helper(); return Tiny(tb, Converted) }

// Write writes b with deterministic tensor contents (see Encode) and
// returns the file. It fails the test if b cannot be written.
func Write(tb testing.TB, b *gguf.Builder) []byte {
	tb.Helper()
	out, err := Bytes(b)
	if err != nil {
		tb.Fatalf("ggufttest: %v", err)
	}
	return out
}

// Bytes is Write for callers without a testing.TB.
func Bytes(b *gguf.Builder) ([]byte, error) {
	var buf bytes.Buffer
	err := b.Write(&buf, func(_ int, t gguf.TensorInfo, w io.Writer) error {
		data, err := Encode(b, t)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	return buf.Bytes(), err
}

// SetKV sets key to value (a Go value gguf.Builder.Add accepts), in place
// when the key exists, else appended.
func SetKV(b *gguf.Builder, key string, value any) {
	for i := range b.KVs {
		if b.KVs[i].Key == key {
			n := len(b.KVs)
			b.Add(key, value)
			b.KVs[i] = b.KVs[n]
			b.KVs = b.KVs[:n]
			return
		}
	}
	b.Add(key, value)
}

// DeleteKV removes key; it reports whether it was present.
// SetArch sets general.architecture and renames every key prefixed with
// the old architecture.
func SetArch(b *gguf.Builder, arch string) {
	old := ""
	for _, kv := range b.KVs {
		if kv.Key == "general.architecture" {
			old, _ = kv.Value.(string)
		}
	}
	for i := range b.KVs {
		if old != "" && strings.HasPrefix(b.KVs[i].Key, old+".") {
			b.KVs[i].Key = arch + strings.TrimPrefix(b.KVs[i].Key, old)
		}
	}
	SetKV(b, "general.architecture", arch)
}

func DeleteKV(b *gguf.Builder, key string) bool {
	for i := range b.KVs {
		if b.KVs[i].Key == key {
			b.KVs = append(b.KVs[:i:i], b.KVs[i+1:]...)
			return true
		}
	}
	return false
}

// RenameKV renames a key in place; it reports whether it was present.
func RenameKV(b *gguf.Builder, from, to string) bool {
	for i := range b.KVs {
		if b.KVs[i].Key == from {
			b.KVs[i].Key = to
			return true
		}
	}
	return false
}

// SetTensor sets the type and shape of the named tensor (and its Size), in
// place when it exists, else appended. It panics when the shape does not fit
// the type, which is a mistake in the test.
func SetTensor(b *gguf.Builder, name string, typ gguf.TensorType, shape ...uint64) {
	n := len(b.Tensors)
	if err := b.AddTensor(name, typ, shape...); err != nil {
		panic("ggufttest: " + err.Error())
	}
	for i := 0; i < n; i++ {
		if b.Tensors[i].Name == name {
			b.Tensors[i] = b.Tensors[n]
			b.Tensors = b.Tensors[:n]
			return
		}
	}
}

// DeleteTensor removes the named tensor; it reports whether it was present.
func DeleteTensor(b *gguf.Builder, name string) bool {
	for i := range b.Tensors {
		if b.Tensors[i].Name == name {
			b.Tensors = append(b.Tensors[:i:i], b.Tensors[i+1:]...)
			return true
		}
	}
	return false
}

// RenameTensor renames a tensor in place; it reports whether it was present.
func RenameTensor(b *gguf.Builder, from, to string) bool {
	for i := range b.Tensors {
		if b.Tensors[i].Name == from {
			b.Tensors[i].Name = to
			return true
		}
	}
	return false
}

// role is what a tensor's contents are derived from.
type role int

const (
	roleNorm role = iota
	roleEmbedding
	roleTernary
)

// source returns the role of the named tensor of b and the name its
// contents derive from. A tied converted model stores the embedding as
// output.weight: it gets token_embd.weight's values.
func source(b *gguf.Builder, name string) (role, string) {
	switch {
	case gguf.IsNorm(name):
		return roleNorm, name
	case name == "token_embd.weight":
		return roleEmbedding, name
	case name == "output.weight":
		for _, t := range b.Tensors {
			if t.Name == "token_embd.weight" {
				return roleEmbedding, name // untied: its own values
			}
		}
		return roleEmbedding, "token_embd.weight"
	}
	return roleTernary, name
}

// rng is splitmix64, seeded from a name.
type rng uint64

func newRNG(name string) *rng {
	h := fnv.New64a()
	h.Write([]byte(name))
	r := rng(h.Sum64())
	return &r
}

func (r *rng) next() uint64 {
	*r += 0x9e3779b97f4a7c15
	z := uint64(*r)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// ternary returns the ternary weights (-1, 0, +1) and the scale of a tensor
// of n elements. The scale is a multiple of 1/1024, exact in F16.
func ternaryValues(name string, n uint64) ([]int8, float32) {
	r := newRNG("ternary:" + name)
	scale := float32(16+r.intn(48)) / 1024
	vals := make([]int8, n)
	for i := range vals {
		vals[i] = int8(r.intn(3)) - 1
	}
	return vals, scale
}

// normValues returns norm weights near 1.
func normValues(name string, n uint64) []float32 {
	r := newRNG("norm:" + name)
	out := make([]float32, n)
	for i := range out {
		out[i] = 0.75 + float32(r.intn(512))/1024
	}
	return out
}

// q6k returns the Q6_K encoding of the embedding values of a tensor of n
// elements (rounded up to whole blocks): d = 2^-12, sub-block scales 1..63,
// so every value is an integer times 2^-12 of magnitude at most 2016, which
// F16 represents exactly.
func q6k(name string, n uint64) []byte {
	r := newRNG("embedding:" + name)
	nb := (n + 255) / 256
	out := make([]byte, nb*210)
	d := float16.Fromfloat32(1.0 / 4096).Bits()
	for i := uint64(0); i < nb; i++ {
		blk := out[i*210 : (i+1)*210]
		ql, qh, sc := blk[:128], blk[128:192], blk[192:208]
		for j := range sc {
			sc[j] = byte(1 + r.intn(63))
		}
		for j := range ql {
			ql[j] = byte(r.next())
		}
		for j := range qh {
			qh[j] = byte(r.next())
		}
		binary.LittleEndian.PutUint16(blk[208:], d)
	}
	return out
}

// Encode returns the contents of tensor t of b: t.Size bytes derived from
// the tensor's name (see the package comment). Norms are values near 1,
// the embedding values exact in both F16 and Q6_K, the others ternary
// weights with one scale. Types without an encoder here get pseudo-random
// bytes.
func Encode(b *gguf.Builder, t gguf.TensorInfo) ([]byte, error) {
	n := t.Elements()
	size, ok := gguf.TensorSize(t.Type, n)
	if !ok || size != t.Size {
		return nil, fmt.Errorf("tensor %s: size %d does not fit %s %v", t.Name, t.Size, t.Type, t.Shape)
	}
	rl, src := source(b, t.Name)
	key := fmt.Sprintf("%d|%s|%s|%d|%d", rl, src, t.Name, t.Type, n)
	if data, ok := encoded.Load(key); ok {
		return bytes.Clone(data.([]byte)), nil
	}
	data, err := encode(b, t, rl, src, n, size)
	if err != nil {
		return nil, err
	}
	if size <= 1<<20 {
		encoded.Store(key, data)
		data = bytes.Clone(data)
	}
	return data, nil
}

// encoded caches Encode's results: tests build many variants of the same
// tiny model.
var encoded sync.Map

func encode(b *gguf.Builder, t gguf.TensorInfo, rl role, src string, n, size uint64) ([]byte, error) {
	switch t.Type {
	case gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16:
		vals := floatValues(b, rl, src, n)
		out := make([]byte, size)
		for i, v := range vals {
			switch t.Type {
			case gguf.TypeF32:
				binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
			case gguf.TypeF16:
				binary.LittleEndian.PutUint16(out[2*i:], float16.Fromfloat32(v).Bits())
			default:
				binary.LittleEndian.PutUint16(out[2*i:], uint16(math.Float32bits(v)>>16))
			}
		}
		return out, nil
	case gguf.TypeQ6_K:
		if rl == roleEmbedding {
			return q6k(src, n)[:size], nil
		}
	case gguf.TypeI2_S, gguf.TypeTQ2_0, gguf.TypeQ2_K:
		vals, scale := ternaryValues(src, n)
		switch t.Type {
		case gguf.TypeI2_S:
			return bitternary.EncodeI2S(vals, scale), nil
		case gguf.TypeTQ2_0:
			return EncodeTQ2_0(vals, scale), nil
		default:
			return EncodeQ2K(vals, scale), nil
		}
	}
	out := make([]byte, size)
	r := newRNG("bytes:" + t.Name)
	for i := range out {
		out[i] = byte(r.next())
	}
	return out, nil
}

func floatValues(b *gguf.Builder, rl role, src string, n uint64) []float32 {
	switch rl {
	case roleNorm:
		return normValues(src, n)
	case roleEmbedding:
		return DequantQ6K(q6k(src, n))[:n]
	}
	vals, scale := ternaryValues(src, n)
	out := make([]float32, n)
	for i, v := range vals {
		out[i] = float32(v) * scale
	}
	return out
}

// Values returns the float values the named tensor of b holds once written
// with Write (dequantized for I2_S, TQ2_0, Q2_K, Q6_K, Q8_0, F16, BF16, F32).
func Values(b *gguf.Builder, name string) ([]float32, error) {
	for _, t := range b.Tensors {
		if t.Name == name {
			data, err := Encode(b, t)
			if err != nil {
				return nil, err
			}
			return Decode(t.Type, data, t.Elements())
		}
	}
	return nil, fmt.Errorf("no tensor %s", name)
}

// Decode dequantizes n elements of the given type, following ggml's
// reference dequantizers (and bitnet.cpp's I2_S layout).
func Decode(typ gguf.TensorType, data []byte, n uint64) ([]float32, error) {
	size, ok := gguf.TensorSize(typ, n)
	if !ok || uint64(len(data)) < size {
		return nil, fmt.Errorf("%d bytes cannot hold %d %s elements", len(data), n, typ)
	}
	out := make([]float32, n)
	le := binary.LittleEndian
	f16 := func(b []byte) float32 { return float16.Frombits(le.Uint16(b)).Float32() }
	switch typ {
	case gguf.TypeF32:
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(data[4*i:]))
		}
	case gguf.TypeF16:
		for i := range out {
			out[i] = f16(data[2*i:])
		}
	case gguf.TypeBF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(le.Uint16(data[2*i:])) << 16)
		}
	case gguf.TypeQ8_0:
		for i := uint64(0); i < n/32; i++ {
			blk := data[i*34:]
			d := f16(blk)
			for j := uint64(0); j < 32; j++ {
				out[i*32+j] = d * float32(int8(blk[2+j]))
			}
		}
	case gguf.TypeI2_S:
		scale := math.Float32frombits(le.Uint32(data[n/4:]))
		for c := uint64(0); c < n/128; c++ {
			for m := uint64(0); m < 32; m++ {
				b := data[c*32+m]
				for l := uint64(0); l < 4; l++ {
					code := b >> (6 - 2*l) & 3
					out[c*128+32*l+m] = scale * [4]float32{-1, 0, 1, 0}[code]
				}
			}
		}
	case gguf.TypeTQ2_0:
		for i := uint64(0); i < n/256; i++ {
			blk := data[i*66:]
			d := f16(blk[64:])
			for e := uint64(0); e < 256; e++ {
				q := blk[e/128*32+e%32] >> (2 * (e % 128 / 32)) & 3
				out[i*256+e] = float32(int(q)-1) * d
			}
		}
	case gguf.TypeQ2_K:
		for i := uint64(0); i < n/256; i++ {
			blk := data[i*84:]
			d, dmin := f16(blk[80:]), f16(blk[82:])
			for e := uint64(0); e < 256; e++ {
				sc := blk[e/16]
				q := blk[16+e/128*32+e%32] >> (2 * (e % 128 / 32)) & 3
				out[i*256+e] = d*float32(sc&15)*float32(q) - dmin*float32(sc>>4)
			}
		}
	case gguf.TypeQ6_K:
		copy(out, DequantQ6K(data[:size]))
	default:
		return nil, fmt.Errorf("ggufttest cannot decode %s", typ)
	}
	return out, nil
}

// DequantQ6K is ggml's dequantize_row_q6_K.
func DequantQ6K(data []byte) []float32 {
	out := make([]float32, len(data)/210*256)
	for i := 0; i < len(data)/210; i++ {
		blk := data[i*210 : (i+1)*210]
		d := float16.Frombits(binary.LittleEndian.Uint16(blk[208:])).Float32()
		y := out[i*256:]
		for c := 0; c < 2; c++ {
			ql, qh, sc := blk[64*c:], blk[128+32*c:], blk[192+8*c:]
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int8(ql[l]&0xF|(qh[l]>>0&3)<<4) - 32
				q2 := int8(ql[l+32]&0xF|(qh[l]>>2&3)<<4) - 32
				q3 := int8(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int8(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				y[128*c+l] = d * float32(int8(sc[is])) * float32(q1)
				y[128*c+l+32] = d * float32(int8(sc[is+2])) * float32(q2)
				y[128*c+l+64] = d * float32(int8(sc[is+4])) * float32(q3)
				y[128*c+l+96] = d * float32(int8(sc[is+6])) * float32(q4)
			}
		}
	}
	return out
}

// ternaryQS packs 256 ternary values the way TQ2_0 and Q2_K do: in each
// 128-element half, byte m holds elements m, 32+m, 64+m, 96+m from the low
// bits up, as value+1.
func ternaryQS(dst []byte, vals []int8) {
	for h := 0; h < 2; h++ {
		for m := 0; m < 32; m++ {
			var b byte
			for l := 0; l < 4; l++ {
				b |= byte(vals[h*128+32*l+m]+1) << (2 * l)
			}
			dst[h*32+m] = b
		}
	}
}

// EncodeTQ2_0 packs ternary values (len a multiple of 256) as TQ2_0 blocks
// with d = scale (as F16).
func EncodeTQ2_0(vals []int8, scale float32) []byte {
	nb := len(vals) / 256
	out := make([]byte, nb*66)
	d := float16.Fromfloat32(scale).Bits()
	for i := 0; i < nb; i++ {
		ternaryQS(out[i*66:], vals[i*256:])
		binary.LittleEndian.PutUint16(out[i*66+64:], d)
	}
	return out
}

// EncodeQ2K packs ternary values (len a multiple of 256) as Q2_K blocks:
// every sub-block scale and min 1, d = dmin = scale, so that a value is
// scale*q - scale.
func EncodeQ2K(vals []int8, scale float32) []byte {
	nb := len(vals) / 256
	out := make([]byte, nb*84)
	d := float16.Fromfloat32(scale).Bits()
	for i := 0; i < nb; i++ {
		blk := out[i*84:]
		for j := 0; j < 16; j++ {
			blk[j] = 0x11
		}
		ternaryQS(blk[16:], vals[i*256:])
		binary.LittleEndian.PutUint16(blk[80:], d)
		binary.LittleEndian.PutUint16(blk[82:], d)
	}
	return out
}

// IsTernaryName reports whether a tensor name is one of the ternary
// projection matrices of a block.
func IsTernaryName(name string) bool {
	return strings.HasPrefix(name, "blk.") && !gguf.IsNorm(name)
}

// HeaderFile is an in-memory file for big generated models: it keeps the
// first Keep bytes written (the header) and counts the rest, which read
// back as zeros.
type HeaderFile struct {
	Head []byte
	Keep int
	Size int64
}

// Write keeps the head and counts everything.
func (s *HeaderFile) Write(p []byte) (int, error) {
	if room := s.Keep - len(s.Head); room > 0 {
		s.Head = append(s.Head, p[:min(room, len(p))]...)
	}
	s.Size += int64(len(p))
	return len(p), nil
}

// ReadAt reads the kept head, and zeros after it up to Size.
func (s *HeaderFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset")
	}
	if off >= s.Size {
		return 0, io.EOF
	}
	n := len(p)
	var err error
	if int64(n) > s.Size-off {
		n, err = int(s.Size-off), io.EOF
	}
	c := 0
	if off < int64(len(s.Head)) {
		c = copy(p[:n], s.Head[off:])
	}
	clear(p[c:n])
	return n, err
}

var zeroBlock = make([]byte, 64<<10)

// ZeroData is a gguf.Builder.Write data callback that writes zeros for
// every tensor (for headers whose data does not matter).
func ZeroData(_ int, t gguf.TensorInfo, w io.Writer) error {
	for left := t.Size; left > 0; {
		n := min(left, uint64(len(zeroBlock)))
		if _, err := w.Write(zeroBlock[:n]); err != nil {
			return err
		}
		left -= n
	}
	return nil
}
