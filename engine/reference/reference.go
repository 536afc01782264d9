// Package reference is a plain-Go float64 implementation of the forward
// pass of every ternary family (gguf.Family), straight from a published
// file's decoded weights: I2_S (one scale per tensor, rows of any length,
// decoded by flat index), TQ2_0 and TQ1_0 (one scale per 256 values).
// Tests compare the ggml engine against it. It is slow and keeps every
// weight as float64: use it on tiny models only.
//
// The families, as bitnet.cpp's fork builds them (docs/models-research.md
// §1.3), all with RMSNorm x/sqrt(mean(x²)+eps)·w and attention scale
// 1/sqrt(head_dim):
//
//   - gguf.Family2B4T: ReLU²(gate)·up, attn_sub_norm before the attention
//     output projection and ffn_sub_norm before the down projection, NEOX
//     RoPE;
//   - gguf.FamilyBitNet: the same with SiLU(gate)·up, and each projection
//     multiplied by its optional blk.N.<proj>.scale right after the matmul
//     (the gate's before SiLU);
//   - gguf.FamilyLlama: SiLU(gate)·up, no sub-norms, NORM RoPE (adjacent
//     pairs of the stored q and k).
//
// The output projection is output.weight when the file has one, else the
// token embedding. That holds for bitnet-25 too, as the engine does,
// although bitnet.cpp's build_bitnet_158 multiplies by the embedding there
// (docs/models-research.md §5.3).
package reference

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/x448/float16"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/ternary"
)

// Rounding makes the reference round where the ggml engine rounds, so the
// two agree to float32 precision instead of to about 1%.
type Rounding struct {
	ActQ8K   bool // activations quantized to 8 bits per 256-element block before ternary matmuls (ggml's Q8_K)
	ActInt8  bool // activations quantized to 8 bits with one absmax scale per token (the ternary kernels, as BitNet trains)
	F16KV    bool // keys and values stored as f16 (the kv cache)
	F16Scale bool // ternary scales rounded to f16 (TQ2_0/Q2_K block scales)
	F16Out   bool // the output projection's input rounded to f16 (an f16 embedding matmul)
	// Q8_0Rows: the projections whose rows are not whole 256-element
	// blocks (Q8_0 in a converted file, which ggml multiplies by Q8_0
	// activations) quantize activations per 32 values instead, whatever
	// ActQ8K and ActInt8 say.
	Q8_0Rows bool
	// F32Attention keeps queries and probabilities in f32 against the f16
	// keys and values of F16KV, as package kernel's attention does (the
	// engine decodes with it when the ternary kernels run); without it
	// they are rounded to f16 as ggml's mul_mat does.
	F32Attention bool
	// F32Probs keeps only the probabilities in f32 (queries rounded to
	// f16): ggml on ARM without FP16 arithmetic (an ARMv8-A build), whose
	// llamafile sgemm multiplies f16 by a contiguous f32 operand as it is
	// (the probabilities, the output projection's input) while the
	// permuted queries are converted to f16 first, as on x86.
	F32Probs bool
}

// Model holds the decoded weights.
type Model struct {
	Spec  *gguf.Spec
	Round Rounding
	// NeoX is the RoPE mode: true rotates the two halves of each head
	// (NEOX: the BitNet families), false adjacent pairs (NORM: llama).
	// Load sets it from the family; tests flip it to show that the
	// engine's choice matters.
	NeoX bool
	// IgnoreScales leaves out the scale tensors (FamilyBitNet), for tests
	// that show the engine comparisons would catch that mistake.
	IgnoreScales bool
	embd         [][]float64 // [vocab][embd]
	output       [][]float64 // output projection rows; embd when tied
	blocks       []block
	norm         []float64
}

type ternaryMat struct {
	rows, cols int
	w          []int8 // rows*cols, row-major (row = output)
	scale      float64
	// blockScales, when set, are the scales of the 256-value blocks of w
	// (TQ2_0, TQ1_0), by flat index; scale is then unused.
	blockScales []float64
	// mul is the value of the projection's scale tensor (FamilyBitNet),
	// hasMul whether the file has one.
	mul    float64
	hasMul bool
}

type block struct {
	attnNorm, attnSub, ffnNorm, ffnSub []float64 // attnSub and ffnSub nil without sub-norms
	q, k, v, o, gate, up, down         ternaryMat
}

// maxElements keeps the reference away from real-size models.
const maxElements = 64 << 20

// Load decodes a published file (I2_S, TQ2_0 or TQ1_0 weights; f16, f32,
// bf16 or q8_0 embedding and output) of any family.
func Load(path string) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	spec, err := gguf.CheckModel(f)
	if err != nil {
		return nil, err
	}
	if spec.Converted {
		return nil, fmt.Errorf("reference: needs a published file (I2_S, TQ2_0 or TQ1_0), not a converted one")
	}
	if spec.Parameters > maxElements {
		return nil, fmt.Errorf("reference: %d parameters is too many for the float64 reference", spec.Parameters)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	read := func(name string) (gguf.TensorInfo, []byte, error) {
		t, ok := f.Tensor(name)
		if !ok {
			return t, nil, fmt.Errorf("missing %s", name)
		}
		off, size := f.DataRange(t)
		buf := make([]byte, size)
		_, err := io.ReadFull(io.NewSectionReader(fh, off, size), buf)
		return t, buf, err
	}
	vec := func(name string) ([]float64, error) {
		_, b, err := read(name)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(b)/4)
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
		return out, nil
	}
	matrix := func(name string) ([][]float64, error) {
		t, b, err := read(name)
		if err != nil {
			return nil, err
		}
		cols, rows := int(t.Shape[0]), int(t.Shape[1])
		flat, err := decodeFloat(t.Type, b, rows*cols)
		if err != nil {
			return nil, fmt.Errorf("reference: %s: %w", name, err)
		}
		out := make([][]float64, rows)
		for r := range out {
			out[r] = flat[r*cols : (r+1)*cols : (r+1)*cols]
		}
		return out, nil
	}
	tern := func(name string) (ternaryMat, error) {
		t, b, err := read(name)
		if err != nil {
			return ternaryMat{}, err
		}
		n := int(t.Elements())
		m := ternaryMat{cols: int(t.Shape[0]), rows: int(t.Shape[1])}
		switch t.Type {
		case gguf.TypeI2_S:
			s, err := ternary.I2SScale(b, n)
			if err != nil {
				return ternaryMat{}, err
			}
			m.w, m.scale = make([]int8, n), float64(s)
			ternary.DecodeI2S(m.w, b[:n/4])
		case gguf.TypeTQ2_0, gguf.TypeTQ1_0:
			if t.Type == gguf.TypeTQ1_0 {
				tq2 := make([]byte, n/ternary.BlockElems*ternary.TQ2_0BlockBytes)
				ternary.TQ1_0ToTQ2_0(tq2, b)
				b = tq2
			}
			vals, scales := ternary.DecodeTQ2_0(b)
			m.w, m.blockScales = vals, make([]float64, len(scales))
			for i, s := range scales {
				m.blockScales[i] = float64(s)
			}
		default:
			return ternaryMat{}, fmt.Errorf("reference: %s is %s, want i2_s, tq2_0 or tq1_0", name, t.Type)
		}
		if len(m.w) != n {
			return ternaryMat{}, fmt.Errorf("reference: %s decoded to %d values, want %d", name, len(m.w), n)
		}
		if _, ok := f.Tensor(gguf.ScaleTensor(name)); ok && spec.Family == gguf.FamilyBitNet {
			v, err := vec(gguf.ScaleTensor(name))
			if err != nil {
				return ternaryMat{}, err
			}
			m.mul, m.hasMul = v[0], true
		}
		return m, nil
	}

	m := &Model{Spec: spec, NeoX: spec.Family.NeoX()}
	if m.embd, err = matrix("token_embd.weight"); err != nil {
		return nil, err
	}
	m.output = m.embd
	if spec.Untied {
		if m.output, err = matrix("output.weight"); err != nil {
			return nil, err
		}
	}
	if m.norm, err = vec("output_norm.weight"); err != nil {
		return nil, err
	}
	m.blocks = make([]block, spec.Blocks)
	for i := range m.blocks {
		p := fmt.Sprintf("blk.%d.", i)
		b := &m.blocks[i]
		norms := []struct {
			name string
			dst  *[]float64
		}{{"attn_norm", &b.attnNorm}, {"ffn_norm", &b.ffnNorm}}
		if spec.Family.SubNorms() {
			norms = append(norms, []struct {
				name string
				dst  *[]float64
			}{{"attn_sub_norm", &b.attnSub}, {"ffn_sub_norm", &b.ffnSub}}...)
		}
		for _, x := range norms {
			if *x.dst, err = vec(p + x.name + ".weight"); err != nil {
				return nil, err
			}
		}
		for _, x := range []struct {
			name string
			dst  *ternaryMat
		}{{"attn_q", &b.q}, {"attn_k", &b.k}, {"attn_v", &b.v}, {"attn_output", &b.o}, {"ffn_gate", &b.gate}, {"ffn_up", &b.up}, {"ffn_down", &b.down}} {
			if *x.dst, err = tern(p + x.name + ".weight"); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// decodeFloat decodes n values of a float matrix type.
func decodeFloat(typ gguf.TensorType, b []byte, n int) ([]float64, error) {
	out := make([]float64, n)
	switch typ {
	case gguf.TypeF16:
		for i := range out {
			out[i] = float64(float16.Frombits(binary.LittleEndian.Uint16(b[2*i:])).Float32())
		}
	case gguf.TypeF32:
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case gguf.TypeBF16:
		for i := range out {
			out[i] = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16))
		}
	case gguf.TypeQ8_0:
		for blk := 0; blk*ternary.Q8_0BlockElems < n; blk++ {
			q := b[blk*ternary.Q8_0BlockBytes : (blk+1)*ternary.Q8_0BlockBytes]
			d := float64(float16.Frombits(binary.LittleEndian.Uint16(q)).Float32())
			for j := 0; j < ternary.Q8_0BlockElems; j++ {
				out[blk*ternary.Q8_0BlockElems+j] = float64(int8(q[2+j])) * d
			}
		}
	default:
		return nil, fmt.Errorf("type %s, want f16, f32, bf16 or q8_0 (give other types with SetEmbedding/SetOutput)", typ)
	}
	return out, nil
}

// SetEmbedding replaces the embedding (and, when tied, the output
// projection) with rows [vocab][embd], e.g. the dequantized Q6_K matrix a
// converted file runs with, to isolate the graph from that rounding.
func (m *Model) SetEmbedding(rows [][]float64) error {
	if len(rows) != len(m.embd) || len(rows[0]) != len(m.embd[0]) {
		return fmt.Errorf("reference: embedding of %dx%d, want %dx%d", len(rows), len(rows[0]), len(m.embd), len(m.embd[0]))
	}
	tied := &m.output[0] == &m.embd[0]
	m.embd = rows
	if tied {
		m.output = rows
	}
	return nil
}

// SetOutput replaces the output projection of an untied model.
func (m *Model) SetOutput(rows [][]float64) { m.output = rows }

func (m *Model) rmsnorm(x, w []float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	inv := 1 / math.Sqrt(ss/float64(len(x))+float64(m.Spec.Eps))
	out := make([]float64, len(x))
	for i := range x {
		out[i] = x[i] * inv * w[i]
	}
	return out
}

// quantQ8K mimics ggml's quantize_row_q8_K: per 256 elements, scale by
// -127/max (max = the value of largest magnitude), round, clamp to 127.
func quantQ8K(x []float64) []float64 {
	out := make([]float64, len(x))
	for b := 0; b < len(x); b += 256 {
		blk := x[b:min(b+256, len(x))]
		var mx, amax float32
		for _, v := range blk {
			if a := float32(math.Abs(v)); a > amax {
				amax, mx = a, float32(v)
			}
		}
		if amax == 0 {
			continue
		}
		iscale := -127 / mx
		d := 1 / iscale
		for j, v := range blk {
			q := math.RoundToEven(float64(iscale * float32(v)))
			q = math.Min(127, q)
			out[b+j] = q * float64(d)
		}
	}
	return out
}

// quantQ8_0 mimics ggml's quantize_row_q8_0 (x86): per 32 elements, the
// step amax/127 stored as f16, the values multiplied by 127/amax and
// rounded.
func quantQ8_0(x []float64) []float64 {
	out := make([]float64, len(x))
	for b := 0; b < len(x); b += 32 {
		blk := x[b:min(b+32, len(x))]
		var amax float32
		for _, v := range blk {
			amax = max(amax, float32(math.Abs(v)))
		}
		if amax == 0 {
			continue
		}
		d := float64(float16.Fromfloat32(amax / 127).Float32())
		id := 127 / amax
		for j, v := range blk {
			out[b+j] = math.RoundToEven(float64(float32(v)*id)) * d
		}
	}
	return out
}

// quantInt8 rounds x as package kernel does: int8 values with one step,
// the largest magnitude / 127, in float32 arithmetic.
func quantInt8(x []float64) []float64 {
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(v)))
	}
	out := make([]float64, len(x))
	if amax == 0 {
		return out
	}
	inv, step := 127/amax, amax/127
	for i, v := range x {
		out[i] = math.RoundToEven(float64(float32(v)*inv)) * float64(step)
	}
	return out
}

// matvec is t × x, times the projection's scale tensor when it has one.
func (m *Model) matvec(t ternaryMat, x []float64) []float64 {
	switch {
	case m.Round.Q8_0Rows && t.cols%ternary.BlockElems != 0:
		x = quantQ8_0(x)
	case m.Round.ActQ8K:
		x = quantQ8K(x)
	case m.Round.ActInt8:
		x = quantInt8(x)
	}
	out := make([]float64, t.rows)
	if t.blockScales != nil {
		m.matvecBlocks(t, x, out)
	} else {
		s := t.scale
		if m.Round.F16Scale {
			s = float64(ternary.RoundScale(float32(s)))
		}
		for r := 0; r < t.rows; r++ {
			row := t.w[r*t.cols : (r+1)*t.cols]
			var acc float64
			for c, w := range row {
				acc += float64(w) * x[c]
			}
			out[r] = acc * s
		}
	}
	if t.hasMul && !m.IgnoreScales {
		for r := range out {
			out[r] *= t.mul
		}
	}
	return out
}

// matvecBlocks multiplies weights with one scale per 256 values (rows are
// whole blocks: gguf.CheckModel requires it of TQ2_0 and TQ1_0).
func (m *Model) matvecBlocks(t ternaryMat, x, out []float64) {
	const bs = ternary.BlockElems
	for r := 0; r < t.rows; r++ {
		var sum float64
		for c0 := 0; c0 < t.cols; c0 += bs {
			base := r*t.cols + c0
			var acc float64
			for c, w := range t.w[base : base+bs] {
				acc += float64(w) * x[c0+c]
			}
			s := t.blockScales[base/bs]
			if m.Round.F16Scale {
				s = float64(ternary.RoundScale(float32(s)))
			}
			sum += acc * s
		}
		out[r] = sum
	}
}

func f16(v float64) float64 { return float64(float16.Fromfloat32(float32(v)).Float32()) }

// rope rotates every head of x by the angles of position pos: pair i of a
// head (0 <= i < head_dim/2) turns by pos·base^(-2i/head_dim). NEOX pairs
// element i with i+head_dim/2, NORM element 2i with 2i+1.
func (m *Model) rope(x []float64, pos int) {
	d := m.Spec.HeadDim
	half := d / 2
	for h := 0; h < len(x)/d; h++ {
		v := x[h*d : (h+1)*d]
		for i := 0; i < half; i++ {
			theta := float64(pos) * math.Pow(float64(m.Spec.RopeBase), -2*float64(i)/float64(d))
			c, s := math.Cos(theta), math.Sin(theta)
			i0, i1 := i, i+half
			if !m.NeoX {
				i0, i1 = 2*i, 2*i+1
			}
			a, b := v[i0], v[i1]
			v[i0], v[i1] = a*c-b*s, a*s+b*c
		}
	}
}

// State is the key-value cache of one sequence: Step appends to it.
type State struct {
	keys, vals [][][]float64 // [block][pos][kv heads*head_dim]
}

// NewState returns an empty sequence.
func (m *Model) NewState() *State {
	return &State{keys: make([][][]float64, m.Spec.Blocks), vals: make([][][]float64, m.Spec.Blocks)}
}

// Len is the number of tokens in the sequence.
func (s *State) Len() int { return len(s.keys[0]) }

// Forward returns the logits at every position of tokens.
func (m *Model) Forward(tokens []int32) ([][]float64, error) {
	st := m.NewState()
	var logits [][]float64
	for _, tok := range tokens {
		row, err := m.Step(st, tok)
		if err != nil {
			return nil, err
		}
		logits = append(logits, row)
	}
	return logits, nil
}

// Greedy returns the n tokens that follow prompt when each next token is
// the argmax of the logits (ties to the lowest id, as package sample's
// greedy decoding).
func (m *Model) Greedy(prompt []int32, n int) ([]int32, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("reference: empty prompt")
	}
	st := m.NewState()
	var row []float64
	var err error
	for _, tok := range prompt {
		if row, err = m.Step(st, tok); err != nil {
			return nil, err
		}
	}
	var out []int32
	for len(out) < n {
		best := 0
		for i := range row {
			if row[i] > row[best] {
				best = i
			}
		}
		out = append(out, int32(best))
		if len(out) == n {
			break
		}
		if row, err = m.Step(st, int32(best)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Step runs tok at the next position of st and returns its logits.
func (m *Model) Step(st *State, tok int32) ([]float64, error) {
	sp := m.Spec
	hd, nh, nkv := sp.HeadDim, sp.Heads, sp.KVHeads
	if tok < 0 || int(tok) >= len(m.embd) {
		return nil, fmt.Errorf("token %d outside the vocabulary", tok)
	}
	pos := st.Len()
	keys, vals := st.keys, st.vals
	x := append([]float64(nil), m.embd[tok]...)
	for bi := range m.blocks {
		b := &m.blocks[bi]
		h := m.rmsnorm(x, b.attnNorm)
		q, k, v := m.matvec(b.q, h), m.matvec(b.k, h), m.matvec(b.v, h)
		m.rope(q, pos)
		m.rope(k, pos)
		if m.Round.F16KV {
			for i := range k {
				k[i], v[i] = f16(k[i]), f16(v[i])
			}
		}
		keys[bi] = append(keys[bi], k)
		vals[bi] = append(vals[bi], v)
		att := make([]float64, nh*hd)
		scale := 1 / math.Sqrt(float64(hd))
		for head := 0; head < nh; head++ {
			kvh := head / (nh / nkv)
			qh := append([]float64(nil), q[head*hd:(head+1)*hd]...)
			if m.Round.F16KV && !m.Round.F32Attention {
				// ggml multiplies f16 keys by f16-rounded queries.
				for i := range qh {
					qh[i] = f16(qh[i])
				}
			}
			scores := make([]float64, pos+1)
			mx := math.Inf(-1)
			for p := 0; p <= pos; p++ {
				kp := keys[bi][p][kvh*hd : (kvh+1)*hd]
				var dot float64
				for i := range qh {
					dot += qh[i] * kp[i]
				}
				scores[p] = dot * scale
				mx = math.Max(mx, scores[p])
			}
			var sum float64
			for p := range scores {
				scores[p] = math.Exp(scores[p] - mx)
				sum += scores[p]
			}
			out := att[head*hd : (head+1)*hd]
			for p := range scores {
				vp := vals[bi][p][kvh*hd : (kvh+1)*hd]
				w := scores[p] / sum
				if m.Round.F16KV && !m.Round.F32Attention && !m.Round.F32Probs {
					w = f16(w) // and f16 values by f16-rounded probabilities
				}
				for i := range out {
					out[i] += w * vp[i]
				}
			}
		}
		if b.attnSub != nil {
			att = m.rmsnorm(att, b.attnSub)
		}
		o := m.matvec(b.o, att)
		for i := range x {
			x[i] += o[i]
		}
		h = m.rmsnorm(x, b.ffnNorm)
		g, u := m.matvec(b.gate, h), m.matvec(b.up, h)
		if sp.Family.ReLU2() {
			for i := range g {
				r := math.Max(0, g[i])
				g[i] = r * r * u[i]
			}
		} else {
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i] // SiLU(gate)·up
			}
		}
		if b.ffnSub != nil {
			g = m.rmsnorm(g, b.ffnSub)
		}
		d := m.matvec(b.down, g)
		for i := range x {
			x[i] += d[i]
		}
	}
	h := m.rmsnorm(x, m.norm)
	if m.Round.F16Out {
		for i := range h {
			h[i] = f16(h[i])
		}
	}
	row := make([]float64, len(m.output))
	for t, e := range m.output {
		var acc float64
		for i := range e {
			acc += e[i] * h[i]
		}
		row[t] = acc
	}
	return row, nil
}
