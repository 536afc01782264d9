// What the architecture-specific kernels (ternary.c for x86-64,
// ternary_arm64.c for AArch64) share with the architecture-independent
// code (ternary_ops.c): the packed weight layout, the quantized activation
// row header and the float epilogue that turns an integer dot product into
// the result. Both kernel families compute the same integer and then the
// same float operations from here, which is what makes them bit-identical.
#ifndef BITNET_TERNARY_IMPL_H
#define BITNET_TERNARY_IMPL_H

#include <string.h>

#include "ternary.h"

#if defined(__x86_64__)
#include <immintrin.h>

// DPBUSD is acc = _mm512_dpbusd_epi32(acc, u, a) as one instruction on
// acc's register (with the intrinsic, GCC copied tile512_4's accumulators
// from register to register, ~23 copies per 64 vpdpbusd).
#define DPBUSD(acc, u, a) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(a))
#endif

// The level to run: AUTO resolves to the best this CPU has.
static inline int resolve(int level) { return level == BITNET_LEVEL_AUTO ? bitnet_detect() : level; }

// half_to_float converts the f16 at p exactly (both conversions are exact:
// every f16 is a float).
static inline float half_to_float(const uint8_t *p) {
	uint16_t h;
	memcpy(&h, p, 2);
#if defined(__x86_64__)
	return _cvtsh_ss(h);
#else
	__fp16 f;
	memcpy(&f, &h, 2);
	return (float)f;
#endif
}

// Quantized row layout: float step (absmax/127), int32 sum of the int8
// values, padding to BITNET_XQ_HEAD, then k int8 values (in natural order,
// except for the AVX-512 kernel: see quantize_row in ternary.c).
static inline float xq_step(const uint8_t *row) {
	float s;
	memcpy(&s, row, sizeof s);
	return s;
}

static inline int32_t xq_sum(const uint8_t *row) {
	int32_t s;
	memcpy(&s, row + 4, sizeof s);
	return s;
}

// result turns the integer dot product of codes (w+1) and int8 activations
// into the float product of the ternary row and the column.
static inline float result(int32_t dot, float wscale, const uint8_t *xrow) {
	return (float)(dot - xq_sum(xrow)) * wscale * xq_step(xrow);
}

// ---- Packed weights ----
//
// bitnet_pack rearranges a TQ2_0 tensor, in the same number of bytes, so
// that the kernels stream it in order and with aligned loads: rows go in
// tiles of 4; a tile holds, block by block, the 64 code bytes of each of
// its 4 rows (256 bytes per block); the f16 scales of all blocks follow
// the codes, row by row. Code byte j of a row's block holds, in bits 2l and
// 2l+1, the code of value 128*(j/32) + 32*l + j%32 of the block (TQ2_0's
// order, unchanged).

#define TILE_ROWS 4
#define BSTRIDE (TILE_ROWS * 64) // bytes between a row's consecutive blocks
#define MAXC 4			 // tokens per kernel call (tile columns)

static inline size_t codes_bytes(int64_t m, int64_t nb) { return (size_t)(m * nb) * 64; }

static inline const uint8_t *tile_row(const uint8_t *w, int64_t nb, int64_t r) {
	return w + (r / TILE_ROWS) * nb * TILE_ROWS * 64 + (r % TILE_ROWS) * 64;
}

static inline float row_scale(const uint8_t *w, int64_t m, int64_t nb, int64_t r) {
	return half_to_float(w + codes_bytes(m, nb) + (size_t)(r * nb) * 2);
}

// share returns thread ith's part [*r0, *r1) of n rows in multiples of
// align; it returns 0 when that part is empty.
static inline int share(int64_t n, int ith, int nth, int64_t align, int64_t *r0, int64_t *r1) {
	const int64_t per = ((n + nth - 1) / nth + align - 1) / align * align;
	*r0 = ith * per;
	*r1 = *r0 + per < n ? *r0 + per : n;
	return *r0 < *r1;
}

typedef void (*tile_fn)(const uint8_t *, int64_t, int64_t, const uint8_t *, size_t, float *, size_t, int64_t, int64_t);

// bitnet_tiles is the architecture's kernels for a resolved level: entry
// c-1 multiplies a tile of rows by c tokens (ternary.c, ternary_arm64.c).
const tile_fn *bitnet_tiles(int level);

#endif
