package kernel

// #include "ternary.h"
import "C"

import (
	"runtime"
	"unsafe"
)

// XQRowBytes is the size of one quantized activation row of k values.
func XQRowBytes(k int) int { return int(C.bitnet_xq_row_bytes(C.int64_t(k))) }

// QuantizeRows quantizes n rows of k activations (x holds n*k values) the
// way the Quantize operation does.
func QuantizeRows(level Level, x []float32, k int) []byte {
	n := len(x) / k
	out := make([]byte, n*XQRowBytes(k))
	if n == 0 {
		return out
	}
	C.bitnet_quantize_rows(C.int(level), (*C.float)(unsafe.Pointer(&x[0])), C.size_t(k*4), C.int64_t(k),
		(*C.uint8_t)(unsafe.Pointer(&out[0])), 0, C.int64_t(n))
	return out
}

// Pack rearranges a TQ2_0 tensor of m rows of k codes into the kernels'
// layout (same size). It returns false when the tensor does not qualify:
// m not a multiple of 4, k not a multiple of 256, or blocks with different
// scales.
func Pack(tq2 []byte, m, k int) ([]byte, bool) {
	if m <= 0 || k <= 0 || k%256 != 0 || len(tq2) != m*k/256*66 {
		return nil, false
	}
	out := make([]byte, len(tq2))
	ok := C.bitnet_pack((*C.uint8_t)(unsafe.Pointer(&tq2[0])), C.int64_t(m), C.int64_t(k), (*C.uint8_t)(unsafe.Pointer(&out[0])))
	return out, ok == 1
}

// MatMulRows multiplies m packed rows of k codes (from Pack) by n
// quantized columns from QuantizeRows and returns n*m results, column by
// column, computed in row ranges of chunk rows (a multiple of 4), as
// threads split them.
func MatMulRows(level Level, packed []byte, m, k int, xq []byte, n, chunk int) []float32 {
	y := make([]float32, n*m)
	if n == 0 || m == 0 {
		return y
	}
	for r := 0; r < m; r += chunk {
		C.bitnet_matmul(C.int(level), (*C.uint8_t)(unsafe.Pointer(&packed[0])), C.int64_t(m), C.int64_t(k),
			(*C.uint8_t)(unsafe.Pointer(&xq[0])), C.int64_t(n), (*C.float)(unsafe.Pointer(&y[0])), C.size_t(m*4),
			C.int64_t(r), C.int64_t(min(r+chunk, m)))
	}
	return y
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
	out := make([]float32, tokens*heads*hd)
	// The struct handed to C holds Go pointers: pin what they point to.
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(&q[0])
	pin.Pin(&k[0])
	pin.Pin(&v[0])
	pin.Pin(&mask[0])
	pin.Pin(&out[0])
	a := C.struct_bitnet_att{
		q: unsafe.Pointer(&q[0]), k: unsafe.Pointer(&k[0]), v: unsafe.Pointer(&v[0]), mask: unsafe.Pointer(&mask[0]),
		out:   unsafe.Pointer(&out[0]),
		q_nb1: C.size_t(hd * 4), q_nb2: C.size_t(heads * hd * 4),
		k_nb1: C.size_t(hd * 2), k_nb2: C.size_t(kvheads * hd * 2),
		v_nb1: C.size_t(cells * 2), v_nb2: C.size_t(hd * cells * 2),
		mask_nb1: C.size_t(cells * 4),
		out_nb1:  C.size_t(hd * 4), out_nb2: C.size_t(heads * hd * 4),
		hd: C.int64_t(hd), heads: C.int64_t(heads), kvheads: C.int64_t(kvheads), nkv: C.int64_t(cells),
		scale: C.float(scale),
	}
	switch mode {
	case AttentionSplit:
		chunks := max(int(C.bitnet_att_split_chunks(C.int64_t(cells))), 2)
		parts := make([]float32, (hd+2)*heads*tokens*chunks)
		pin.Pin(&parts[0])
		C.bitnet_attention_split(&a, C.int64_t(tokens), C.int(chunks), (*C.float)(unsafe.Pointer(&parts[0])), C.int(level))
		return out
	case AttentionBatched:
		// As three threads would share it.
		for ith := range 3 {
			C.bitnet_attention_batch(&a, C.int64_t(tokens), C.int(ith), 3)
		}
		return out
	}
	scratch := make([]float32, 4*cells)
	for t := 0; t < tokens; t++ {
		C.bitnet_attention(&a, C.int64_t(t), 0, C.int64_t(heads), (*C.float)(unsafe.Pointer(&scratch[0])))
	}
	return out
}

// StreamRead reads b as fast as the memory allows and returns a checksum
// (the bench's bandwidth measurement).
func StreamRead(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(C.bitnet_stream_read((*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))))
}
