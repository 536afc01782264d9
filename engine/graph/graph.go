// Package graph defines the forward passes of the ternary families on
// ollama's ggml engine (gguf.Family): BitNet b1.58 2B4T (a LLaMA-like
// decoder with two extra RMSNorms, before the attention output projection
// and before the FFN down projection, and a ReLU-squared gated FFN), 1bitLLM's
// BitNet (the same with SiLU and optional per-projection scales) and the
// llama graph with ternary weights (SiLU, no extra norms, NORM RoPE). It
// registers itself with ollama's model registry for those architectures; the
// registry is ollama's (process-wide), so this package holds no state of its
// own.
package graph

import (
	"errors"
	"fmt"
	"math"

	"github.com/ollama/ollama/fs"
	"github.com/ollama/ollama/kvcache"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/ml/nn"
	"github.com/ollama/ollama/ml/nn/rope"
	"github.com/ollama/ollama/model"
	"github.com/ollama/ollama/model/input"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/kernel"
)

// Options are the hyperparameters the graph uses.
type Options struct {
	Hidden, Heads, KVHeads, HeadDim int
	Eps, RopeBase                   float32
	// Family is the graph (gguf.Family): its activation, extra norms and
	// RoPE mode.
	Family gguf.Family
	// Kernel is the instruction set of the ternary kernels (package
	// kernel) for the projections UseKernels enabled.
	Kernel kernel.Level
	// AttentionKernel computes attention with the kernels of package
	// kernel instead of ggml's operations: kernel.Attention for a few tokens
	// (decoding), kernel.AttentionBatch for a batch with AVX-512.
	AttentionKernel bool
	// Unfused keeps the norms, the FFN gate and the residual adds in
	// ggml's operations around the kernels' products instead of
	// kernel.Project's fused operations (the results are the same bit for
	// bit; tests compare the two).
	Unfused bool
	// CacheConfigured is set when the runner gave the kv cache its own
	// configuration (ml.CacheConfig: values in rows, laid out as the keys,
	// and an F32 mask for the attention kernels), not the backend's: ggml's
	// attention then adapts the cached tensors to the backend itself.
	CacheConfigured bool

	fusedOps int // fused operations built so far (FusedOps)
}

// BitLinear is a ternary projection without bias. It multiplies with
// ggml's mul_mat until UseKernels enables the ternary kernel for it. Scale,
// when the file has it (1bitLLM's bitnet architecture, optional), is one
// value the product is multiplied by.
type BitLinear struct {
	Weight ml.Tensor `gguf:"weight"`
	Scale  ml.Tensor `gguf:"scale"`
	fast   bool
}

// project multiplies h by each weight, quantizing h once for all the
// weights that use the ternary kernel.
func project(ctx ml.Context, h ml.Tensor, o *Options, ws ...*BitLinear) []ml.Tensor {
	var xq ml.Tensor
	out := make([]ml.Tensor, len(ws))
	for i, w := range ws {
		out[i] = w.multiply(ctx, h, o, &xq)
		if w.Scale != nil {
			out[i] = out[i].Mul(ctx, w.Scale)
		}
	}
	return out
}

// normProject is project(norm(x)), norm optional, in one fused operation
// when it can be.
func normProject(ctx ml.Context, x ml.Tensor, norm *nn.RMSNorm, o *Options, ws ...*BitLinear) []ml.Tensor {
	if out, ok := o.fused(ctx, x, norm, kernel.Projection{}, ws...); ok {
		return out
	}
	if norm != nil {
		x = norm.Forward(ctx, x, o.Eps)
	}
	return project(ctx, x, o, ws...)
}

// fused is kernel.Project of x by ws with norm (optional) and p's gate or
// residual, when every weight uses the kernel without a scale; ok is false
// otherwise.
func (o *Options) fused(ctx ml.Context, x ml.Tensor, norm *nn.RMSNorm, p kernel.Projection, ws ...*BitLinear) (out []ml.Tensor, ok bool) {
	if o.Unfused {
		return nil, false
	}
	for _, w := range ws {
		if !w.fast || w.Scale != nil {
			return nil, false
		}
		p.Weights = append(p.Weights, w.Weight)
	}
	if norm != nil {
		if norm.Weight == nil {
			return nil, false
		}
		p.Norm, p.Eps = norm.Weight, o.Eps
	}
	out, err := kernel.Project(ctx, x, p, o.Kernel)
	if err != nil {
		return nil, false
	}
	o.fusedOps++
	return out, true
}

// FusedOps is the number of kernel.Project operations fused built in the
// model's graphs so far: tests check with it that the fused path ran.
func (o *Options) FusedOps() int { return o.fusedOps }

// multiply is w × h, with h quantized once into *xq for the kernels.
func (w *BitLinear) multiply(ctx ml.Context, h ml.Tensor, o *Options, xq *ml.Tensor) ml.Tensor {
	if !w.fast {
		return w.Weight.Mulmat(ctx, h)
	}
	if kernel.Fusable(ctx, h) {
		out, err := kernel.Project(ctx, h, kernel.Projection{Weights: []ml.Tensor{w.Weight}}, o.Kernel)
		if err != nil {
			panic(err) // as below
		}
		return out[0]
	}
	if err := kernel.Check(ctx, w.Weight, h); err != nil {
		// The weight is packed: ggml cannot multiply it. The graph
		// only passes F32 rows of the right length, so this is a bug.
		panic(err)
	}
	if *xq == nil {
		*xq = kernel.Quantize(ctx, h, o.Kernel)
	}
	return kernel.MulMat(ctx, w.Weight, *xq, o.Kernel)
}

// Model is the network. Field tags name the GGUF tensors. A converted
// tied model stores its one embedding matrix as output.weight, which serves
// both as the token embedding and as the output projection.
type Model struct {
	model.Base

	TokenEmbedding *nn.Embedding `gguf:"token_embd,alt:output"`
	Layers         []Layer       `gguf:"blk"`
	OutputNorm     *nn.RMSNorm   `gguf:"output_norm"`
	Output         *nn.Linear    `gguf:"output,alt:token_embd"`

	Options
	outputKernel bool // the Q6_K output matrix uses kernel.MulMatQ6K
}

// Attention is the self-attention block (SubNorm only in the BitNet
// families).
type Attention struct {
	Query   *BitLinear  `gguf:"attn_q"`
	Key     *BitLinear  `gguf:"attn_k"`
	Value   *BitLinear  `gguf:"attn_v"`
	SubNorm *nn.RMSNorm `gguf:"attn_sub_norm"`
	Output  *BitLinear  `gguf:"attn_output"`
}

// MLP is the gated feed-forward block: ReLU² (2B4T) or SiLU gate, SubNorm
// only in the BitNet families.
type MLP struct {
	Gate    *BitLinear  `gguf:"ffn_gate"`
	Up      *BitLinear  `gguf:"ffn_up"`
	SubNorm *nn.RMSNorm `gguf:"ffn_sub_norm"`
	Down    *BitLinear  `gguf:"ffn_down"`
}

// Layer is one transformer block.
type Layer struct {
	AttentionNorm *nn.RMSNorm `gguf:"attn_norm"`
	Attention     *Attention
	MLPNorm       *nn.RMSNorm `gguf:"ffn_norm"`
	MLP           *MLP
}

// New builds the (empty) model from the file's metadata; ollama fills the
// tensor fields afterwards.
func New(c fs.Config) (model.Model, error) {
	hidden := int(c.Uint("embedding_length"))
	heads := int(c.Uint("attention.head_count"))
	if heads == 0 || (hidden%heads != 0 && c.Uint("attention.key_length") == 0) {
		return nil, fmt.Errorf("graph: head count %d does not divide embedding length %d", heads, hidden)
	}
	m := &Model{
		Layers: make([]Layer, c.Uint("block_count")),
		Options: Options{
			Hidden:   hidden,
			Heads:    heads,
			KVHeads:  int(c.Uint("attention.head_count_kv", uint32(heads))),
			HeadDim:  int(c.Uint("attention.key_length", uint32(hidden/heads))),
			Eps:      c.Float("attention.layer_norm_rms_epsilon", 1e-5),
			RopeBase: c.Float("rope.freq_base", 10000),
			Family:   gguf.FamilyOf(c.Architecture(), c.String("tokenizer.ggml.model")),
		},
	}
	m.Cache = kvcache.NewCausalCache(m.Shift)
	return m, nil
}

// Validate checks that every tensor the graph uses was found in the file.
func (m *Model) Validate() error {
	if m.TokenEmbedding == nil || m.TokenEmbedding.Weight == nil {
		return errors.New("bitnet: missing token embedding")
	}
	if m.Output == nil || m.Output.Weight == nil {
		return errors.New("bitnet: missing output projection")
	}
	if m.OutputNorm == nil || m.OutputNorm.Weight == nil {
		return errors.New("bitnet: missing output_norm")
	}
	sub := m.Family.SubNorms()
	for i, l := range m.Layers {
		if l.AttentionNorm == nil || l.MLPNorm == nil || l.Attention == nil || l.MLP == nil ||
			l.Attention.Query == nil || l.Attention.Key == nil || l.Attention.Value == nil ||
			(sub && l.Attention.SubNorm == nil) || l.Attention.Output == nil ||
			l.MLP.Gate == nil || l.MLP.Up == nil || (sub && l.MLP.SubNorm == nil) || l.MLP.Down == nil {
			return fmt.Errorf("graph: block %d is missing tensors", i)
		}
	}
	return nil
}

// rope rotates q or k: NEOX (halves of each head) in the BitNet families,
// NORM (adjacent pairs, on the q and k the llama converter permuted) in
// llama.
func (o *Options) rope(ctx ml.Context, t, positions ml.Tensor) ml.Tensor {
	if o.Family.NeoX() {
		return nn.RoPE(ctx, t, positions, o.HeadDim, o.RopeBase, 1, rope.WithTypeNeoX())
	}
	return nn.RoPE(ctx, t, positions, o.HeadDim, o.RopeBase, 1)
}

// Shift re-rotates cached keys when the cache moves tokens.
func (m *Model) Shift(ctx ml.Context, layer int, key, shift ml.Tensor) (ml.Tensor, error) {
	return m.rope(ctx, key, shift), nil
}

// Forward runs the attention block on norm(x). With residual set it
// returns residual + the block's output and added true when it could add
// it in the output projection's operation.
func (a *Attention) Forward(ctx ml.Context, x ml.Tensor, norm *nn.RMSNorm, positions ml.Tensor, cache kvcache.Cache, o *Options, residual ml.Tensor) (out ml.Tensor, added bool) {
	batch := x.Dim(1)
	qkv := normProject(ctx, x, norm, o, a.Query, a.Key, a.Value)
	q := qkv[0].Reshape(ctx, o.HeadDim, o.Heads, batch)
	k := qkv[1].Reshape(ctx, o.HeadDim, o.KVHeads, batch)
	v := qkv[2].Reshape(ctx, o.HeadDim, o.KVHeads, batch)
	q = o.rope(ctx, q, positions)
	k = o.rope(ctx, k, positions)
	att := o.attention(ctx, q, k, v, cache).Reshape(ctx, o.HeadDim*o.Heads, batch)
	if residual != nil {
		if out, ok := o.fused(ctx, att, a.SubNorm, kernel.Projection{Residual: residual}, a.Output); ok {
			return out[0], true
		}
	}
	return normProject(ctx, att, a.SubNorm, o, a.Output)[0], false
}

// attention is nn.Attention, with kernel.Attention in place of ggml's
// operations when AttentionKernel is set and the cached tensors fit it (a
// few tokens: decoding), kernel.AttentionBatch for a batch.
func (o *Options) attention(ctx ml.Context, q, k, v ml.Tensor, cache kvcache.Cache) ml.Tensor {
	scale := 1 / math.Sqrt(float64(o.HeadDim))
	if cache == nil {
		return nn.Attention(ctx, q, k, v, scale, cache)
	}
	ctx.Forward(q)
	ctx.Forward(k, v)
	cache.Put(ctx, k, v)
	key, value, mask := cache.Get(ctx)
	if o.AttentionKernel {
		if att, err := kernel.Attention(ctx, q, key, value, mask, float32(scale), o.Kernel, o.CacheConfigured); err == nil {
			return att
		}
		// A batch (prefill): the tiled kernel, with the AVX-512 kernels
		// only (--kernel avx2 and avxvnni run what those CPUs get).
		if o.Kernel.AVX512() {
			if att, err := kernel.AttentionBatch(ctx, q, key, value, mask, float32(scale), o.CacheConfigured); err == nil {
				return att
			}
		}
	}
	return q.(ml.ScaledDotProductAttention).ScaledDotProductAttention(ctx, key, value, mask, nil, nil, scale, !o.CacheConfigured)
}

// Forward runs the feed-forward block with its residual:
// x + down(subnorm(act(gate h) * up h)), h = norm(x), with act ReLU² (2B4T)
// or SiLU, the sub-norm in the BitNet families.
func (f *MLP) Forward(ctx ml.Context, x ml.Tensor, norm *nn.RMSNorm, o *Options) ml.Tensor {
	var act ml.Tensor
	if o.Family.ReLU2() {
		if out, ok := o.fused(ctx, x, norm, kernel.Projection{ReLU2: true}, f.Gate, f.Up); ok {
			act = out[0]
		}
	}
	if act == nil {
		gu := normProject(ctx, x, norm, o, f.Gate, f.Up)
		if o.Family.ReLU2() {
			act = gu[0].RELU(ctx).Sqr(ctx).Mul(ctx, gu[1])
		} else {
			act = gu[0].SILU(ctx, gu[1])
		}
	}
	if out, ok := o.fused(ctx, act, f.SubNorm, kernel.Projection{Residual: x}, f.Down); ok {
		return out[0]
	}
	return x.Add(ctx, normProject(ctx, act, f.SubNorm, o, f.Down)[0])
}

// Forward runs one block. outputs, when set, prunes the batch to the rows
// whose logits are wanted (done in the last block).
func (l *Layer) Forward(ctx ml.Context, x, positions, outputs ml.Tensor, cache kvcache.Cache, o *Options) ml.Tensor {
	residual := x
	if outputs != nil {
		residual = nil // the rows are pruned before the add
	}
	h, added := l.Attention.Forward(ctx, x, l.AttentionNorm, positions, cache, o, residual)
	if !added {
		if outputs != nil {
			h = h.Rows(ctx, outputs)
			x = x.Rows(ctx, outputs)
		}
		h = x.Add(ctx, h)
	}
	return l.MLP.Forward(ctx, h, l.MLPNorm, o)
}

// Forward computes the logits of batch.Outputs.
func (m *Model) Forward(ctx ml.Context, batch input.Batch) (ml.Tensor, error) {
	positions := ctx.Input().FromInts(batch.Positions, len(batch.Positions))
	x := m.TokenEmbedding.Forward(ctx, batch.Inputs)
	for i := range m.Layers {
		m.Cache.SetLayer(i)
		var outputs ml.Tensor
		if i == len(m.Layers)-1 {
			outputs = batch.Outputs
		}
		x = m.Layers[i].Forward(ctx, x, positions, outputs, m.Cache, &m.Options)
	}
	x = m.OutputNorm.Forward(ctx, x, m.Eps)
	if m.outputKernel {
		if t, err := kernel.MulMatQ6K(ctx, m.Output.Weight, x); err == nil {
			return t, nil
		}
	}
	return m.Output.Forward(ctx, x), nil
}

// UseKernels switches the ternary projections whose weights were packed
// for the ternary kernels (kernel.Pack; packed reports them by tensor name)
// to those kernels at level; the others keep ggml's mul_mat. A packed
// weight must use the kernel: ggml cannot read the packed layout. It
// returns how many projections switched.
func (m *Model) UseKernels(level kernel.Level, packed func(name string) bool) int {
	m.Kernel = level
	// The attention kernel exists on x86 only (kernel.HasAttention):
	// elsewhere ggml's attention runs, as with --kernel ggml.
	m.AttentionKernel = kernel.HasAttention()
	// The output matrix keeps ggml's layout; with AVX-512 a Q6_K one is
	// multiplied by kernel.MulMatQ6K (other types keep ggml's mul_mat).
	m.outputKernel = level.AVX512()
	n := 0
	for i := range m.Layers {
		l := &m.Layers[i]
		for _, p := range []struct {
			name string
			w    *BitLinear
		}{
			{"attn_q", l.Attention.Query}, {"attn_k", l.Attention.Key}, {"attn_v", l.Attention.Value},
			{"attn_output", l.Attention.Output}, {"ffn_gate", l.MLP.Gate}, {"ffn_up", l.MLP.Up}, {"ffn_down", l.MLP.Down},
		} {
			p.w.fast = packed(fmt.Sprintf("blk.%d.%s.weight", i, p.name))
			if p.w.fast {
				n++
			}
		}
	}
	return n
}

func init() {
	for _, arch := range gguf.Architectures {
		model.Register(arch, New)
	}
}
