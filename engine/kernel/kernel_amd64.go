package kernel

// The x86-64 build: the AVX2, AVX-VNNI and AVX-512 levels, and the Q6_K
// output and attention kernels, which exist on x86 only (ternary.c).

/*
#include "ternary.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/ollama/ollama/ml"
)

// archLevels are this build's levels, the baseline (x86-64-v3) first.
var archLevels = []Level{AVX2, AVXVNNI, AVX512, AVX512T5}

// HasAttention reports whether this build has the attention kernel
// (Attention); without it the graph uses ggml's attention.
func HasAttention() bool { return true }

// MulMatQ6K adds w × x for the Q6_K output matrix w on AVX-512 CPUs (two
// operations: quantize x per 256 values, multiply), for a few tokens (the
// logits of the last position). It returns an error, adding nothing, when
// w or x do not fit: the caller then uses ggml's mul_mat.
func MulMatQ6K(ctx ml.Context, w, x ml.Tensor) (ml.Tensor, error) {
	l, c, p, err := pointers(ctx, w, x)
	if err != nil {
		return nil, err
	}
	if msg := C.bitnet_q6k_check(p[0], p[1]); msg != nil {
		return nil, errors.New("kernel: " + C.GoString(msg))
	}
	return l.wrap(x, C.bitnet_op_q6k(c, p[0], p[1])), nil
}

// Attention adds softmax(scale·q·K + mask)·V for a few tokens (decoding;
// from 512 cells on split by cells across the threads, then merged)
// over the kv cache's f16 keys [head size, kv heads, cells] and values
// [cells, head size, kv heads] (ollama's layout for ggml's CPU path) or,
// with vrows, laid out as the keys, or q8_0 keys and values both [head
// size, kv heads, cells], and an F32 mask [cells, tokens]; q is [head
// size, heads, tokens]. The result is [head size, heads, tokens]. It
// returns an error, adding nothing, when the tensors do not fit: the
// caller then uses ggml's attention.
func Attention(ctx ml.Context, q, k, v, mask ml.Tensor, scale float32, level Level, vrows bool) (ml.Tensor, error) {
	if mask == nil {
		return nil, errors.New("kernel: attention needs a mask")
	}
	l, c, p, err := pointers(ctx, q, k, v, mask)
	if err != nil {
		return nil, err
	}
	rows := C.int(0)
	if vrows || p[1]._type == C.GGML_TYPE_Q8_0 {
		rows = 1
	}
	if msg := C.bitnet_att_check(p[0], p[1], p[2], p[3], rows); msg != nil {
		return nil, errors.New("kernel: " + C.GoString(msg))
	}
	// A long context (any with values in rows) is split by cells across
	// the threads.
	if chunks := C.bitnet_att_split_chunks(p[1].ne[2], rows); chunks > 0 {
		return l.wrap(q, C.bitnet_op_attention_split(c, p[0], p[1], p[2], p[3], C.float(scale), chunks, C.int(level), rows)), nil
	}
	return l.wrap(q, C.bitnet_op_attention(c, p[0], p[1], p[2], p[3], C.float(scale))), nil
}

// AttentionBatch is Attention for a batch of tokens (prefill), tiled
// (attention.c): no [cells, tokens, heads] scores matrix, each kv head's
// keys and values read once per tile of 16 query rows. It needs AVX-512
// (F, BW, VL): on other CPUs, or when the tensors do not fit, it returns an
// error, adding nothing, and the caller uses ggml's attention.
func AttentionBatch(ctx ml.Context, q, k, v, mask ml.Tensor, scale float32, vrows bool) (ml.Tensor, error) {
	if Detect() != AVX512 {
		return nil, errors.New("kernel: batch attention needs AVX-512")
	}
	if mask == nil {
		return nil, errors.New("kernel: attention needs a mask")
	}
	l, c, p, err := pointers(ctx, q, k, v, mask)
	if err != nil {
		return nil, err
	}
	rows := C.int(0)
	if vrows {
		rows = 1
	}
	if msg := C.bitnet_att_tiled_check(p[0], p[1], p[2], p[3], rows); msg != nil {
		return nil, errors.New("kernel: " + C.GoString(msg))
	}
	return l.wrap(q, C.bitnet_op_attention_tiled(c, p[0], p[1], p[2], p[3], C.float(scale), rows)), nil
}

// MatMulQ6K multiplies m Q6_K rows of k values by the n rows of x (k
// floats each) with the AVX-512 kernel and returns n*m results, column by
// column.
func MatMulQ6K(w []byte, m, k int, x []float32) []float32 {
	n := len(x) / k
	y := make([]float32, n*m)
	if n == 0 || m == 0 {
		return y
	}
	xq := make([]byte, n*int(C.bitnet_q8b_row_bytes(C.int64_t(k))))
	C.bitnet_quantize_q8b_rows((*C.float)(unsafe.Pointer(&x[0])), C.size_t(k*4), C.int64_t(k), (*C.uint8_t)(unsafe.Pointer(&xq[0])), 0, C.int64_t(n))
	C.bitnet_matmul_q6k((*C.uint8_t)(unsafe.Pointer(&w[0])), C.size_t(k/256*210), C.int64_t(k), (*C.uint8_t)(unsafe.Pointer(&xq[0])),
		C.int64_t(n), (*C.float)(unsafe.Pointer(&y[0])), C.size_t(m*4), 0, C.int64_t(m))
	return y
}

// AttentionMode picks an attention kernel for AttentionRaw.
type AttentionMode int

// Attention kernels: a few tokens by heads (bitnet_attention), a few
// tokens split by cells (at least 2 chunks), a batch in tiles (AVX-512).
const (
	AttentionHeads AttentionMode = iota
	AttentionSplit
	AttentionBatched
)

// AttentionRaw runs an attention kernel on plain slices: q [tokens][heads][hd],
// k [cells][kvheads][hd] and v [kvheads][hd][cells] as f16 bits, mask
// [tokens][cells]. It returns [tokens][heads][hd].
func AttentionRaw(q []float32, k, v []uint16, mask []float32, hd, heads, kvheads, cells, tokens int, scale float32, mode AttentionMode, level Level) []float32 {
	return attentionRawF16(q, k, v, mask, hd, heads, kvheads, cells, tokens, scale, mode, level, false)
}

// AttentionRawRows is AttentionRaw with the values laid out as the keys:
// v [cells][kvheads][hd] f16 bits (split and batched modes).
func AttentionRawRows(q []float32, k, v []uint16, mask []float32, hd, heads, kvheads, cells, tokens int, scale float32, mode AttentionMode, level Level) []float32 {
	return attentionRawF16(q, k, v, mask, hd, heads, kvheads, cells, tokens, scale, mode, level, true)
}

// attentionRawF16 is AttentionRaw (rows false) or AttentionRawRows.
func attentionRawF16(q []float32, k, v []uint16, mask []float32, hd, heads, kvheads, cells, tokens int, scale float32, mode AttentionMode, level Level, rows bool) []float32 {
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(&k[0])
	pin.Pin(&v[0])
	a := C.struct_bitnet_att{
		k: unsafe.Pointer(&k[0]), v: unsafe.Pointer(&v[0]),
		k_nb1: C.size_t(hd * 2), k_nb2: C.size_t(kvheads * hd * 2),
		v_nb1: C.size_t(cells * 2), v_nb2: C.size_t(hd * cells * 2),
	}
	if rows {
		a.v_nb1, a.v_nb2, a.vrows = a.k_nb1, a.k_nb2, 1
	}
	return attentionRaw(&pin, &a, q, mask, hd, heads, kvheads, cells, tokens, scale, mode, level)
}

// AttentionRawQ8 is AttentionRaw over a q8_0 cache: k and v both
// [cells][kvheads][hd/32 blocks of 34 bytes] (split and batched modes).
func AttentionRawQ8(q []float32, k, v []byte, mask []float32, hd, heads, kvheads, cells, tokens int, scale float32, mode AttentionMode, level Level) []float32 {
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(&k[0])
	pin.Pin(&v[0])
	row := hd / 32 * 34
	a := C.struct_bitnet_att{
		k: unsafe.Pointer(&k[0]), v: unsafe.Pointer(&v[0]),
		k_nb1: C.size_t(row), k_nb2: C.size_t(kvheads * row),
		v_nb1: C.size_t(row), v_nb2: C.size_t(kvheads * row),
		q8: 1, vrows: 1,
	}
	return attentionRaw(&pin, &a, q, mask, hd, heads, kvheads, cells, tokens, scale, mode, level)
}

// attentionRaw completes a (keys and values set, pinned) and runs it.
func attentionRaw(pin *runtime.Pinner, a *C.struct_bitnet_att, q, mask []float32, hd, heads, kvheads, cells, tokens int, scale float32, mode AttentionMode, level Level) []float32 {
	out := make([]float32, tokens*heads*hd)
	// The struct handed to C holds Go pointers: pin what they point to.
	pin.Pin(&q[0])
	pin.Pin(&mask[0])
	pin.Pin(&out[0])
	a.q, a.mask, a.out = unsafe.Pointer(&q[0]), unsafe.Pointer(&mask[0]), unsafe.Pointer(&out[0])
	a.q_nb1, a.q_nb2 = C.size_t(hd*4), C.size_t(heads*hd*4)
	a.mask_nb1 = C.size_t(cells * 4)
	a.out_nb1, a.out_nb2 = C.size_t(hd*4), C.size_t(heads*hd*4)
	a.hd, a.heads, a.kvheads, a.nkv = C.int64_t(hd), C.int64_t(heads), C.int64_t(kvheads), C.int64_t(cells)
	a.scale = C.float(scale)
	switch mode {
	case AttentionSplit:
		chunks := int(C.bitnet_att_split_chunks(C.int64_t(cells), a.vrows))
		if a.q8 == 0 {
			chunks = max(chunks, 2) // a short f16 context is split too
		}
		parts := make([]float32, (hd+2)*heads*tokens*chunks)
		pin.Pin(&parts[0])
		C.bitnet_attention_split(a, C.int64_t(tokens), C.int(chunks), (*C.float)(unsafe.Pointer(&parts[0])), C.int(level))
		return out
	case AttentionBatched:
		// As three threads would share it.
		for ith := range 3 {
			C.bitnet_attention_batch(a, C.int64_t(tokens), C.int(ith), 3)
		}
		return out
	}
	scratch := make([]float32, 4*cells)
	for t := 0; t < tokens; t++ {
		C.bitnet_attention(a, C.int64_t(t), 0, C.int64_t(heads), (*C.float)(unsafe.Pointer(&scratch[0])))
	}
	return out
}

// t5Bytes is the size of an m x k tensor in the 1.6-bit layout.
func t5Bytes(m, k int) int { return int(C.bitnet_t5_bytes(C.int64_t(m), C.int64_t(k))) }

// packT5 writes the TQ2_0 tensor tq2 into out in the 1.6-bit layout.
func packT5(out, tq2 []byte, m, k int) bool {
	return C.bitnet_pack_t5((*C.uint8_t)(unsafe.Pointer(&tq2[0])), C.int64_t(m), C.int64_t(k), (*C.uint8_t)(unsafe.Pointer(&out[0]))) == 1
}

// Weights is memory for weights in a layout of their own (AVX512T5's,
// smaller than the backend's TQ2_0 tensors, whose memory then stays
// untouched), outside Go's heap: ggml keeps pointers into it.
type Weights struct {
	p unsafe.Pointer
	n int
}

// AllocWeights returns n bytes of such memory.
func AllocWeights(n int) (*Weights, error) {
	if n <= 0 {
		return nil, errors.New("kernel: no weights to allocate")
	}
	p := C.bitnet_weights_alloc(C.size_t(n))
	if p == nil {
		return nil, fmt.Errorf("kernel: cannot allocate %d MB for the weights", n>>20)
	}
	return &Weights{p: p, n: n}, nil
}

// Holds reports whether b starts in the memory.
func (w *Weights) Holds(b []byte) bool {
	if w == nil || w.p == nil || len(b) == 0 {
		return false
	}
	p, s := uintptr(unsafe.Pointer(&b[0])), uintptr(w.p)
	return p >= s && p < s+uintptr(w.n)
}

// Bytes returns the memory, valid until Free.
func (w *Weights) Bytes() []byte { return unsafe.Slice((*byte)(w.p), w.n) }

// Free frees the memory; no tensor may point into it any more (close the
// backend first).
func (w *Weights) Free() {
	if w != nil && w.p != nil {
		C.bitnet_weights_free(w.p)
		w.p = nil
	}
}
