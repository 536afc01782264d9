// Package reference is a plain-Go float64 implementation of the BitNet
// b1.58 2B4T forward pass, straight from the official file's decoded I2_S
// weights. Tests compare the ggml engine against it. It is slow and keeps
// every weight as float64: use it on tiny models only.
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
}

// Model holds the decoded weights.
type Model struct {
	Spec   *gguf.Spec
	Round  Rounding
	embd   [][]float64 // [vocab][embd]
	output [][]float64 // output projection rows; embd when tied
	blocks []block
	norm   []float64
}

type ternaryMat struct {
	rows, cols int
	w          []int8 // rows*cols, row-major (row = output)
	scale      float64
}

type block struct {
	attnNorm, attnSub, ffnNorm, ffnSub []float64
	q, k, v, o, gate, up, down         ternaryMat
}

// maxElements keeps the reference away from real-size models.
const maxElements = 64 << 20

// Load decodes an official-format (I2_S) file.
func Load(path string) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	spec, err := gguf.CheckModel(f)
	if err != nil {
		return nil, err
	}
	if spec.Converted || spec.Ternary != gguf.TypeI2_S {
		return nil, fmt.Errorf("reference: needs an official I2_S file")
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
	mat16 := func(name string) ([][]float64, error) {
		t, b, err := read(name)
		if err != nil {
			return nil, err
		}
		if t.Type != gguf.TypeF16 {
			return nil, fmt.Errorf("reference: %s is %s, want f16", name, t.Type)
		}
		cols, rows := int(t.Shape[0]), int(t.Shape[1])
		out := make([][]float64, rows)
		for r := range out {
			out[r] = make([]float64, cols)
			for c := range out[r] {
				out[r][c] = float64(float16.Frombits(binary.LittleEndian.Uint16(b[2*(r*cols+c):])).Float32())
			}
		}
		return out, nil
	}
	tern := func(name string) (ternaryMat, error) {
		t, b, err := read(name)
		if err != nil {
			return ternaryMat{}, err
		}
		n := int(t.Elements())
		s, err := ternary.I2SScale(b, n)
		if err != nil {
			return ternaryMat{}, err
		}
		m := ternaryMat{cols: int(t.Shape[0]), rows: int(t.Shape[1]), w: make([]int8, n), scale: float64(s)}
		ternary.DecodeI2S(m.w, b[:n/4])
		return m, nil
	}

	m := &Model{Spec: spec}
	if m.embd, err = mat16("token_embd.weight"); err != nil {
		return nil, err
	}
	m.output = m.embd
	if spec.Untied {
		if m.output, err = mat16("output.weight"); err != nil {
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
		for _, x := range []struct {
			name string
			dst  *[]float64
		}{{"attn_norm", &b.attnNorm}, {"attn_sub_norm", &b.attnSub}, {"ffn_norm", &b.ffnNorm}, {"ffn_sub_norm", &b.ffnSub}} {
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

func (m *Model) matvec(t ternaryMat, x []float64) []float64 {
	switch {
	case m.Round.ActQ8K:
		x = quantQ8K(x)
	case m.Round.ActInt8:
		x = quantInt8(x)
	}
	s := t.scale
	if m.Round.F16Scale {
		s = float64(ternary.RoundScale(float32(s)))
	}
	out := make([]float64, t.rows)
	for r := 0; r < t.rows; r++ {
		row := t.w[r*t.cols : (r+1)*t.cols]
		var acc float64
		for c, w := range row {
			acc += float64(w) * x[c]
		}
		out[r] = acc * s
	}
	return out
}

func f16(v float64) float64 { return float64(float16.Fromfloat32(float32(v)).Float32()) }

func (m *Model) rope(x []float64, pos int) {
	d := m.Spec.HeadDim
	half := d / 2
	for h := 0; h < len(x)/d; h++ {
		v := x[h*d : (h+1)*d]
		for i := 0; i < half; i++ {
			theta := float64(pos) * math.Pow(float64(m.Spec.RopeBase), -2*float64(i)/float64(d))
			c, s := math.Cos(theta), math.Sin(theta)
			a, b := v[i], v[i+half]
			v[i], v[i+half] = a*c-b*s, a*s+b*c
		}
	}
}

// Forward returns the logits at every position of tokens.
func (m *Model) Forward(tokens []int32) ([][]float64, error) {
	sp := m.Spec
	hd, nh, nkv := sp.HeadDim, sp.Heads, sp.KVHeads
	keys := make([][][]float64, sp.Blocks) // [block][pos][kv*hd]
	vals := make([][][]float64, sp.Blocks)
	var logits [][]float64
	for pos, tok := range tokens {
		if tok < 0 || int(tok) >= len(m.embd) {
			return nil, fmt.Errorf("token %d outside the vocabulary", tok)
		}
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
				if m.Round.F16KV {
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
					if m.Round.F16KV {
						w = f16(w) // and f16 values by f16-rounded probabilities
					}
					for i := range out {
						out[i] += w * vp[i]
					}
				}
			}
			att = m.rmsnorm(att, b.attnSub)
			o := m.matvec(b.o, att)
			for i := range x {
				x[i] += o[i]
			}
			h = m.rmsnorm(x, b.ffnNorm)
			g, u := m.matvec(b.gate, h), m.matvec(b.up, h)
			for i := range g {
				r := math.Max(0, g[i])
				g[i] = r * r * u[i]
			}
			g = m.rmsnorm(g, b.ffnSub)
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
		logits = append(logits, row)
	}
	return logits, nil
}
