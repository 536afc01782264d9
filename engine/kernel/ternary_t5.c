// The 1.6-bit weight layout (BITNET_LEVEL_AVX512_T5), x86-64 with AVX-512
// VNNI and VBMI: 5 ternary codes a byte where TQ2_0 and the other levels
// keep 4, so that decoding reads 20% fewer bytes of weights per token.
//
// Layout (bitnet_pack_t5): rows in tiles of 4, as in the 2-bit layout; a
// row is blocks of 64 bytes, byte j of block b holding the codes (w+1) of
// the activations the AVX-512 quantization stores at positions
// 320b + 64l + j, l = 0..4 (groups of 64 values; a row of k values has
// k/64 groups, the last block of a row fewer than 5 when k/64 is not a
// multiple of 5). The 5 codes c_l make v = sum c_l 3^l (0..242); a byte
// holds v when v <= 121, else 128 | (242 - v), whose base-3 digits are
// 2 - c_l: a 7-bit index into tables of the digits (vpermi2b: 1 operation
// a digit) and a sign bit that turns a digit d into 2 - d (a masked
// subtraction). The f16 scale of each row (BitNet has one per tensor)
// follows the codes, row by row.
//
// One token is multiplied straight from this layout (t5_dec). Several
// tokens (prefill) are compute bound, where the 2-bit tiles are faster:
// each thread unpacks its rows into the 2-bit layout once per call (into
// its scratch memory, bitnet_scratch) and runs them. The integer dot
// products are those of the other levels, so the results are bit for bit
// the same.
//
// Measured on a Zen 4 (BENCHMARKS.md): the decode kernel does about twice
// the vector work of the 2-bit one per weight, vpermi2b competing with
// vpdpbusd, and is as fast as it (0.94-0.99x), not faster; prefill 0.99x,
// a 20-token follow-up 20 ms slower (the unpacking); 113 MB less memory.
// So it is a choice for memory (--kernel avx512-1.6bit), not the default.
#if defined(__x86_64__)

#include "ternary.h"
#include "ternary_impl.h"
#include "attention_x86.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#include <malloc.h>
#else
#include <sys/mman.h>
#endif

#define T5 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi")))
#define T5_GROUPS 5

// t5_digits[l][i]: digit l of i in base 3 (i <= 121).
static const uint8_t t5_digits[T5_GROUPS][128] __attribute__((aligned(64))) = {
	{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 0, 0, 0, 0, 0, 0},
	{0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0},
	{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0},
	{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0},
	{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0},
};

static inline int64_t t5_blocks(int64_t k) { return (k / 64 + T5_GROUPS - 1) / T5_GROUPS; }

size_t bitnet_t5_bytes(int64_t m, int64_t k) { return (size_t)(m * t5_blocks(k)) * 64 + (size_t)m * 2; }

static inline const uint8_t *t5_row(const uint8_t *w, int64_t nb5, int64_t r) {
	return w + (r / TILE_ROWS) * nb5 * TILE_ROWS * 64 + (r % TILE_ROWS) * 64;
}

static inline float t5_scale(const uint8_t *w, int64_t m, int64_t nb5, int64_t r) {
	return half_to_float(w + (size_t)(m * nb5) * 64 + (size_t)r * 2);
}

int bitnet_pack_t5(const uint8_t *tq2, int64_t m, int64_t k, uint8_t *out) {
	float scale;
	if (m <= 0 || m % TILE_ROWS != 0 || k <= 0 || k % BITNET_QK != 0 || !bitnet_tq2_uniform_scale(tq2, m, k, &scale)) {
		return 0;
	}
	const int64_t nb = k / BITNET_QK, nb5 = t5_blocks(k), groups = k / 64;
	uint8_t *scales = out + (size_t)(m * nb5) * 64;
	for (int64_t r = 0; r < m; r++) {
		const uint8_t *src = tq2 + (size_t)(r * nb) * BITNET_TQ2_BLOCK;
		uint8_t *dst = (uint8_t *)t5_row(out, nb5, r);
		for (int64_t b = 0; b < nb5; b++) {
			// Group g is bits 2(g%4) of the 64 code bytes of TQ2_0 block
			// g/4 (the positions the AVX-512 quantization gives them);
			// a group past the row's end is code 1 (weight 0), never read.
			uint8_t v[64] = {0};
			for (int l = T5_GROUPS - 1; l >= 0; l--) {
				const int64_t g = T5_GROUPS * b + l;
				const uint8_t *q = src + (g / 4) * BITNET_TQ2_BLOCK;
				const int shift = 2 * (int)(g % 4);
				for (int j = 0; j < 64; j++) v[j] = (uint8_t)(v[j] * 3 + (g < groups ? (q[j] >> shift) & 3 : 1));
			}
			for (int j = 0; j < 64; j++) dst[b * TILE_ROWS * 64 + j] = v[j] <= 121 ? v[j] : (uint8_t)(128 | (242 - v[j]));
		}
		memcpy(scales + r * 2, src + 64, 2);
	}
	return 1;
}

// T5_DIGIT sets u to the codes of digit l of the 64 bytes at p (sign mask
// s): the byte loaded into u and looked up in place (vpermi2b overwrites
// its index; loading it again costs less than a register copy).
#define T5_DIGIT(u, p, s, l)                                                                           \
	do {                                                                                          \
		__asm__("vmovdqu64 %1, %0\n\tvpermi2b %3, %2, %0" : "=&v"(u) : "m"(*(const uint8_t(*)[64])(p)), "v"(ta##l), "v"(tb##l)); \
		u = _mm512_mask_sub_epi8(u, s, two, u);                                               \
	} while (0)

#define T5_TABLES                                                                                                  \
	const __m512i ta0 = _mm512_load_si512(t5_digits[0]), tb0 = _mm512_load_si512(t5_digits[0] + 64),         \
		      ta1 = _mm512_load_si512(t5_digits[1]), tb1 = _mm512_load_si512(t5_digits[1] + 64),         \
		      ta2 = _mm512_load_si512(t5_digits[2]), tb2 = _mm512_load_si512(t5_digits[2] + 64),         \
		      ta3 = _mm512_load_si512(t5_digits[3]), tb3 = _mm512_load_si512(t5_digits[3] + 64),         \
		      ta4 = _mm512_load_si512(t5_digits[4]), tb4 = _mm512_load_si512(t5_digits[4] + 64);         \
	const __m512i two = _mm512_set1_epi8(2)

// One token, one tile of 4 rows: per block and row 5 lookups, 5 masked
// subtractions and 5 vpdpbusd on 320 codes (the 2-bit tile: 4 and + 4
// vpdpbusd on 256). Two accumulators a row keep the chains short.
T5 static void t5_dec(const uint8_t *w, int64_t m, int64_t k, const uint8_t *xq, size_t xrb, float *y, size_t ystride,
		      int64_t r, int64_t c) {
	T5_TABLES;
	__m512i a00 = _mm512_setzero_si512(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
	const int64_t nb5 = t5_blocks(k), groups = k / 64;
	const uint8_t *t = t5_row(w, nb5, r);
	const int8_t *x = (const int8_t *)(xq + c * xrb + BITNET_XQ_HEAD);
#define T5_GROUP(l, s)                                                       \
	do {                                                                 \
		const __m512i xa = _mm512_loadu_si512(xb + (l) * 64);        \
		__m512i u0, u1, u2, u3;                                      \
		T5_DIGIT(u0, blk, k0, l);                                    \
		T5_DIGIT(u1, blk + 64, k1, l);                               \
		T5_DIGIT(u2, blk + 128, k2, l);                              \
		T5_DIGIT(u3, blk + 192, k3, l);                              \
		DPBUSD(a0##s, u0, xa);                                       \
		DPBUSD(a1##s, u1, xa);                                       \
		DPBUSD(a2##s, u2, xa);                                       \
		DPBUSD(a3##s, u3, xa);                                       \
	} while (0)
	for (int64_t b = 0; b < nb5; b++) {
		const uint8_t *blk = t + b * TILE_ROWS * 64;
		const int8_t *xb = x + b * T5_GROUPS * 64;
		const __mmask64 k0 = _mm512_movepi8_mask(_mm512_loadu_si512(blk)),
				k1 = _mm512_movepi8_mask(_mm512_loadu_si512(blk + 64)),
				k2 = _mm512_movepi8_mask(_mm512_loadu_si512(blk + 128)),
				k3 = _mm512_movepi8_mask(_mm512_loadu_si512(blk + 192));
		// The last block of a row may hold fewer groups.
		switch (groups - T5_GROUPS * b) {
		default: T5_GROUP(4, 0); /* fallthrough */
		case 4: T5_GROUP(3, 1); /* fallthrough */
		case 3: T5_GROUP(2, 0); /* fallthrough */
		case 2: T5_GROUP(1, 1); /* fallthrough */
		case 1: T5_GROUP(0, 0);
		}
	}
#undef T5_GROUP
	const uint8_t *xrow = xq + c * xrb;
	float *out = (float *)((char *)y + c * ystride);
	out[r] = result(_mm512_reduce_add_epi32(_mm512_add_epi32(a00, a01)), t5_scale(w, m, nb5, r), xrow);
	out[r + 1] = result(_mm512_reduce_add_epi32(_mm512_add_epi32(a10, a11)), t5_scale(w, m, nb5, r + 1), xrow);
	out[r + 2] = result(_mm512_reduce_add_epi32(_mm512_add_epi32(a20, a21)), t5_scale(w, m, nb5, r + 2), xrow);
	out[r + 3] = result(_mm512_reduce_add_epi32(_mm512_add_epi32(a30, a31)), t5_scale(w, m, nb5, r + 3), xrow);
}

// t5_unpack writes rows [r0, r1) of w into out in the 2-bit layout
// (bitnet_pack's, r1 - r0 rows): group g's codes go to bits 2(g%4) of
// block g/4.
T5 static void t5_unpack(const uint8_t *w, int64_t m, int64_t k, int64_t r0, int64_t r1, uint8_t *out) {
	T5_TABLES;
	const int64_t nb5 = t5_blocks(k), groups = k / 64, nb = k / BITNET_QK, rows = r1 - r0;
	for (int64_t r = r0; r < r1; r += TILE_ROWS) {
		const uint8_t *t = t5_row(w, nb5, r);
		uint8_t *o = (uint8_t *)tile_row(out, nb, r - r0);
		for (int64_t g = 0; g < groups; g++) {
			const uint8_t *blk = t + (g / T5_GROUPS) * TILE_ROWS * 64;
			uint8_t *ob = o + (g / 4) * BSTRIDE;
			const __m128i shift = _mm_cvtsi32_si128(2 * (int)(g % 4));
			for (int i = 0; i < TILE_ROWS; i++) {
				const uint8_t *p = blk + i * 64;
				const __mmask64 s = _mm512_movepi8_mask(_mm512_loadu_si512(p));
				__m512i u;
				switch (g % T5_GROUPS) {
				case 0: T5_DIGIT(u, p, s, 0); break;
				case 1: T5_DIGIT(u, p, s, 1); break;
				case 2: T5_DIGIT(u, p, s, 2); break;
				case 3: T5_DIGIT(u, p, s, 3); break;
				default: T5_DIGIT(u, p, s, 4); break;
				}
				u = _mm512_sll_epi16(u, shift);
				if (g % 4 != 0) u = _mm512_or_si512(u, _mm512_loadu_si512(ob + i * 64));
				_mm512_storeu_si512(ob + i * 64, u);
			}
		}
	}
	uint8_t *scales = out + codes_bytes(rows, nb);
	for (int64_t r = r0; r < r1; r++) {
		for (int64_t b = 0; b < nb; b++) memcpy(scales + (size_t)((r - r0) * nb + b) * 2, w + (size_t)(m * nb5) * 64 + (size_t)r * 2, 2);
	}
}

void bitnet_matmul_t5(const uint8_t *w, int64_t m, int64_t k, const uint8_t *xq, int64_t n, float *y, size_t ystride,
		      int64_t r0, int64_t r1) {
	const size_t xrb = bitnet_xq_row_bytes(k);
	if (n == 1) {
		for (int64_t r = r0; r < r1; r += TILE_ROWS) t5_dec(w, m, k, xq, xrb, y, ystride, r, 0);
		return;
	}
	// The rows' 2-bit layout, then the AVX-512 tiles over it, for rows
	// 0.. of the unpacked copy: y shifted by r0 puts their results in
	// place. (On a failed allocation the tokens go one at a time.)
	const int64_t rows = r1 - r0, nb = k / BITNET_QK;
	uint8_t *tmp = bitnet_scratch(codes_bytes(rows, nb) + (size_t)(rows * nb) * 2);
	if (tmp == NULL) {
		for (int64_t c = 0; c < n; c++)
			for (int64_t r = r0; r < r1; r += TILE_ROWS) t5_dec(w, m, k, xq, xrb, y, ystride, r, c);
		return;
	}
	t5_unpack(w, m, k, r0, r1, tmp);
	bitnet_matmul(BITNET_LEVEL_AVX512, tmp, rows, k, xq, n, y + r0, ystride, 0, rows);
}

void *bitnet_weights_alloc(size_t n) {
	// 2 MB aligned, on transparent huge pages where Linux has them (as
	// ggml's weights): the decode streams them.
	void *p = NULL;
#if defined(_WIN32)
	p = _aligned_malloc(n, 2 << 20);
#else
	if (posix_memalign(&p, 2 << 20, n) != 0) return NULL;
#if defined(MADV_HUGEPAGE)
	madvise(p, n, MADV_HUGEPAGE);
#endif
#endif
	return p;
}

void bitnet_weights_free(void *p) {
#if defined(_WIN32)
	_aligned_free(p);
#else
	free(p);
#endif
}

#endif
