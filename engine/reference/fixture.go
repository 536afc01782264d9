package reference

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"

	"github.com/x448/float16"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/ternary"
)

// Variant says how Rewrite turns a published synthetic file (an
// engine/synth preset) into a shape engine/synth has no preset for: rows
// that are not whole 256-value blocks or 128-value chunks (1bitLLM-3B's
// ffn_down), other head counts and head dimensions (attention.key_length),
// a tied llama model, per-block TQ scales, another architecture with
// sub-norms and scale tensors added. Tests feed these files to the engine
// and to the reference.
type Variant struct {
	// Arch renames general.architecture and every "<arch>." key; "" keeps
	// it. For gguf.ArchBitNetV1, rope.dimension_count is dropped, as
	// 1bitLLM's converter does not write it.
	Arch string
	// SubNorms adds attn_sub_norm and ffn_sub_norm (values around 1) to a
	// family without them.
	SubNorms bool
	// Scales adds a scale tensor to every projection of every block that
	// has none (the source's are copied in any case), each a different
	// value away from 1: between 0.5 and 0.8 for attn_q, attn_k,
	// attn_output and ffn_down (larger ones would make the blocks outweigh
	// the embedding more, and the 8-bit noise with them), else that or
	// between 1.25 and 2. (With the sub-norms, the scales of attn_v and
	// ffn_up cancel out but for the norms' epsilon, and only the product of
	// attn_q's and attn_k's counts.)
	Scales bool
	// Tied drops output.weight: the embedding is the output projection.
	Tied bool
	// Base drops the chat template.
	Base bool
	// Heads, KVHeads and HeadDim (0 keeps the source's) reshape the
	// attention; a HeadDim other than embedding/heads is written as
	// attention.key_length. FFN (0 keeps) is the feed-forward length; it
	// need only be a multiple of 32 (ffn_down's rows are then stored in
	// I2_S by flat index, as 1bitLLM-3B's 8640-value rows are). Reshaped
	// projections get new random I2_S weights.
	Heads, KVHeads, HeadDim, FFN int
	// InputScale, when not 0, multiplies the token embedding (f16) but
	// not an untied output.weight: the blocks then outweigh the input
	// token in the residual stream, so that greedy continuations vary
	// instead of repeating the last token.
	InputScale float64
	// BlockScales multiplies the scale of every TQ2_0 or TQ1_0 block that
	// is not all zeros by its own factor between 0.5 and 1.5 (as
	// llama.cpp's quantizer writes weights that are not exactly ternary):
	// the engine cannot give such tensors to the ternary kernels.
	BlockScales bool
	// Seed seeds the new values.
	Seed uint64
}

// Rewrite writes src, a published I2_S, TQ2_0 or TQ1_0 file, to dst as v
// says.
func Rewrite(dst, src string, v Variant) error {
	f, err := gguf.Open(src)
	if err != nil {
		return err
	}
	spec, err := gguf.CheckModel(f)
	if err != nil {
		return err
	}
	if spec.Converted {
		return fmt.Errorf("reference: rewrite needs a published file")
	}
	in, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	arch := cmp.Or(v.Arch, spec.Arch)
	heads, kvHeads := cmp.Or(v.Heads, spec.Heads), cmp.Or(v.KVHeads, spec.KVHeads)
	headDim := cmp.Or(v.HeadDim, spec.HeadDim)
	if v.Heads != 0 && v.HeadDim == 0 {
		headDim = spec.Embd / heads
	}
	ffn := cmp.Or(v.FFN, spec.FFN)
	reshapedAttn := heads != spec.Heads || kvHeads != spec.KVHeads || headDim != spec.HeadDim
	if (reshapedAttn || ffn != spec.FFN) && spec.Ternary != gguf.TypeI2_S {
		return fmt.Errorf("reference: reshaping needs I2_S weights")
	}

	b := &gguf.Builder{}
	for _, kv := range f.KVs {
		key := kv.Key
		if rest, ok := strings.CutPrefix(key, spec.Arch+"."); ok {
			key = arch + "." + rest
			switch rest {
			case "attention.head_count":
				kv.Value = uint32(heads)
			case "attention.head_count_kv":
				kv.Value = uint32(kvHeads)
			case "feed_forward_length":
				kv.Value = uint32(ffn)
			case "rope.dimension_count":
				if arch == gguf.ArchBitNetV1 {
					continue
				}
				kv.Value = uint32(headDim)
			case "attention.key_length", "attention.value_length":
				continue // written below when needed
			}
		}
		switch {
		case key == "general.architecture":
			kv.Value = arch
		case key == "tokenizer.chat_template" && v.Base:
			continue
		}
		kv.Key = key
		b.KVs = append(b.KVs, kv)
	}
	if headDim != spec.Embd/heads || spec.Embd%heads != 0 {
		b.Add(arch+".attention.key_length", uint32(headDim))
		b.Add(arch+".attention.value_length", uint32(headDim))
	}

	// The tensors: copied, or new (data holds what to write).
	e, q, kv, ff := uint64(spec.Embd), uint64(heads*headDim), uint64(kvHeads*headDim), uint64(ffn)
	shapes := map[string][]uint64{
		"attn_q": {e, q}, "attn_k": {e, kv}, "attn_v": {e, kv}, "attn_output": {q, e},
		"ffn_gate": {e, ff}, "ffn_up": {e, ff}, "ffn_down": {ff, e},
		"attn_sub_norm": {q}, "ffn_sub_norm": {ff},
	}
	data := map[string][]byte{}
	srcOf := map[string]gguf.TensorInfo{}
	rng := rand.New(rand.NewPCG(v.Seed, 0x5eed))
	add := func(name string, typ gguf.TensorType, shape []uint64, raw []byte) error {
		if err := b.AddTensor(name, typ, shape...); err != nil {
			return err
		}
		data[name] = raw
		return nil
	}
	norm := func(n uint64) []byte {
		out := make([]byte, 4*n)
		for i := range n {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(float32(1+0.1*rng.NormFloat64())))
		}
		return out
	}
	for _, t := range f.Tensors {
		if t.Name == "output.weight" && v.Tied {
			continue
		}
		blk, proj, isBlock := splitBlock(t.Name)
		isScale := strings.HasSuffix(t.Name, ".scale")
		shape := t.Shape
		if isBlock && !isScale && shapes[proj] != nil {
			shape = shapes[proj]
		}
		var raw []byte
		switch {
		case !slices.Equal(shape, t.Shape) && gguf.IsNorm(t.Name):
			raw = norm(shape[0])
		case !slices.Equal(shape, t.Shape):
			raw = randomI2S(rng, shape)
		case t.Name == "token_embd.weight" && v.InputScale != 0:
			if t.Type != gguf.TypeF16 {
				return fmt.Errorf("reference: InputScale needs an f16 embedding")
			}
			off, size := f.DataRange(t)
			raw = make([]byte, size)
			for i := int64(0); i < size; i += 2 {
				x := float16.Frombits(binary.LittleEndian.Uint16(in[off+i:])).Float32()
				binary.LittleEndian.PutUint16(raw[i:], float16.Fromfloat32(x*float32(v.InputScale)).Bits())
			}
		case v.BlockScales && (t.Type == gguf.TypeTQ2_0 || t.Type == gguf.TypeTQ1_0):
			off, size := f.DataRange(t)
			raw = append([]byte(nil), in[off:off+size]...)
			bs, at := ternary.TQ2_0BlockBytes, 64
			if t.Type == gguf.TypeTQ1_0 {
				bs, at = ternary.TQ1_0BlockBytes, 52
			}
			for i := 0; i < len(raw); i += bs {
				d := float16.Frombits(binary.LittleEndian.Uint16(raw[i+at:])).Float32()
				if d != 0 {
					binary.LittleEndian.PutUint16(raw[i+at:], ternary.F16(d*float32(0.5+rng.Float64())))
				}
			}
		default:
			srcOf[t.Name] = t
		}
		if err := add(t.Name, t.Type, shape, raw); err != nil {
			return err
		}
		if !isBlock || isScale {
			continue
		}
		if _, has := f.Tensor(gguf.ScaleTensor(t.Name)); v.Scales && !has && !gguf.IsNorm(t.Name) {
			s := 0.5 + 0.3*rng.Float64()
			if grow := proj == "ffn_gate" || proj == "attn_v" || proj == "ffn_up"; grow && rng.IntN(2) == 0 {
				s = 1.25 + 0.75*rng.Float64()
			}
			raw := binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(s)))
			if err := add(gguf.ScaleTensor(t.Name), gguf.TypeF32, []uint64{1}, raw); err != nil {
				return err
			}
		}
		// Sub-norms after attn_v and ffn_up, where synth writes 2B4T's.
		if sub := map[string]string{"attn_v": "attn_sub_norm", "ffn_up": "ffn_sub_norm"}[proj]; v.SubNorms && !spec.Family.SubNorms() && sub != "" {
			if err := add(fmt.Sprintf("blk.%d.%s.weight", blk, sub), gguf.TypeF32, shapes[sub], norm(shapes[sub][0])); err != nil {
				return err
			}
		}
	}

	var out bytes.Buffer
	err = b.Write(&out, func(_ int, t gguf.TensorInfo, w io.Writer) error {
		raw := data[t.Name]
		if raw == nil {
			st := srcOf[t.Name]
			off, size := f.DataRange(st)
			raw = in[off : off+size]
		}
		_, err := w.Write(raw)
		return err
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, out.Bytes(), 0o644); err != nil {
		return err
	}
	if _, _, err := gguf.OpenModel(dst); err != nil {
		return fmt.Errorf("reference: the rewritten file does not check: %w", err)
	}
	return nil
}

// randomI2S returns I2_S data of the shape: each value -1, 0 or +1 equally
// likely, the scale about 1/sqrt(row length), as synth writes.
func randomI2S(rng *rand.Rand, shape []uint64) []byte {
	n := shape[0] * shape[1]
	vals := make([]int8, n)
	for i := range vals {
		vals[i] = int8(rng.IntN(3)) - 1
	}
	return ternary.EncodeI2S(vals, float32(1/math.Sqrt(float64(shape[0]))*(1+0.2*rng.Float64())))
}

// splitBlock splits "blk.3.attn_q.weight" into 3 and "attn_q".
func splitBlock(name string) (int, string, bool) {
	var blk int
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return 0, "", false
	}
	num, rest, ok := strings.Cut(rest, ".")
	if _, err := fmt.Sscan(num, &blk); err != nil || !ok {
		return 0, "", false
	}
	proj, _, _ := strings.Cut(rest, ".")
	return blk, proj, true
}
