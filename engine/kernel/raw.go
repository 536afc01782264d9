package kernel

// #include "ternary.h"
import "C"

import "unsafe"

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

// PackedSize is the size of an m x k TQ2_0 tensor in the layout the
// kernels of level read: TQ2_0's own size (bitnet_pack only moves bytes),
// or 1.6 bits a weight at AVX512T5.
func PackedSize(level Level, m, k int) int {
	if level == AVX512T5 {
		return t5Bytes(m, k)
	}
	return m * k / 256 * 66
}

// Pack rearranges a TQ2_0 tensor of m rows of k codes into the layout of
// level's kernels (PackedSize bytes). It returns false when the tensor
// does not qualify: m not a multiple of 4, k not a multiple of 256, or
// blocks with different scales.
func Pack(level Level, tq2 []byte, m, k int) ([]byte, bool) {
	if m <= 0 || k <= 0 || k%256 != 0 {
		return nil, false
	}
	out := make([]byte, PackedSize(level, m, k))
	if !PackInto(level, out, tq2, m, k) {
		return nil, false
	}
	return out, true
}

// PackInto is Pack writing into out (PackedSize bytes: the load passes
// the backend tensor's own memory, or memory of AllocWeights), which it
// leaves unspecified when it returns false.
func PackInto(level Level, out, tq2 []byte, m, k int) bool {
	if m <= 0 || k <= 0 || k%256 != 0 || len(tq2) != m*k/256*66 || len(out) != PackedSize(level, m, k) {
		return false
	}
	if level == AVX512T5 {
		return packT5(out, tq2, m, k)
	}
	return C.bitnet_pack((*C.uint8_t)(unsafe.Pointer(&tq2[0])), C.int64_t(m), C.int64_t(k), (*C.uint8_t)(unsafe.Pointer(&out[0]))) == 1
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

// StreamRead reads b as fast as the memory allows and returns a checksum
// (the bench's bandwidth measurement).
func StreamRead(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(C.bitnet_stream_read((*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))))
}
