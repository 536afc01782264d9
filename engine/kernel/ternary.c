// The x86-64 kernels: AVX2, AVX-VNNI and AVX-512 VNNI ternary matrix
// multiplication, the AVX-512 Q6_K output matrix and the AVX2 attention.
// ternary_arm64.c has the NEON kernels; ternary_ops.c the packing and the
// ggml operations they share.
#if defined(__x86_64__)

#include "ternary.h"
#include "ternary_impl.h"
#include "attention_x86.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define AVXVNNI __attribute__((target("avx2,avxvnni")))

int bitnet_detect(void) {
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) {
		return BITNET_LEVEL_AVX512;
	}
	if (__builtin_cpu_supports("avxvnni")) {
		return BITNET_LEVEL_AVXVNNI;
	}
	return BITNET_LEVEL_AVX2;
}

int bitnet_supports(int level) {
	__builtin_cpu_init();
	switch (level) {
	case BITNET_LEVEL_AVX2:
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	case BITNET_LEVEL_AVXVNNI:
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni");
	case BITNET_LEVEL_AVX512:
		return bitnet_detect() == BITNET_LEVEL_AVX512;
	case BITNET_LEVEL_AVX512_T5:
		return bitnet_detect() == BITNET_LEVEL_AVX512 && __builtin_cpu_supports("avx512vbmi");
	}
	return 0;
}

// Quantized row layout: float step (absmax/127), int32 sum of the int8
// values, padding to BITNET_XQ_HEAD, then k int8 values. For the AVX2
// kernel they are in natural order; for the AVX-512 kernel each 256-value
// block is stored as 4 groups of 64: values 32l..32l+31 then
// 128+32l..128+32l+31, matching the bytes that 2-bit group l of a whole
// TQ2_0 block unpacks to.
static void quantize_row(int level, const float *x, int64_t k, uint8_t *out) {
	__m256 vmax = _mm256_setzero_ps();
	const __m256 sign = _mm256_set1_ps(-0.0f);
	for (int64_t i = 0; i < k; i += 8) {
		vmax = _mm256_max_ps(vmax, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
	}
	__m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
	m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
	m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
	const float amax = _mm_cvtss_f32(m4);
	const float step = amax / 127.0f;
	const float inv = amax > 0 ? 127.0f / amax : 0.0f;
	const __m256 vinv = _mm256_set1_ps(inv);
	const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
	__m256i vsum = _mm256_setzero_si256();
	int8_t *q = (int8_t *)(out + BITNET_XQ_HEAD);
	for (int64_t g = 0; g < k / 32; g++) {
		const float *src = x + g * 32;
		__m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(src + 0), vinv));
		__m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(src + 8), vinv));
		__m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(src + 16), vinv));
		__m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(src + 24), vinv));
		vsum = _mm256_add_epi32(vsum, _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));
		__m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
		p = _mm256_permutevar8x32_epi32(p, perm);
		int64_t dst = g * 32;
		if (bitnet_avx512(level)) {
			const int64_t block = g / 8, within = g % 8, half = within / 4, l = within % 4;
			dst = block * BITNET_QK + l * 64 + half * 32;
		}
		_mm256_storeu_si256((__m256i *)(q + dst), p);
	}
	__m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(vsum), _mm256_extracti128_si256(vsum, 1));
	s4 = _mm_hadd_epi32(s4, s4);
	s4 = _mm_hadd_epi32(s4, s4);
	const int32_t sum = _mm_cvtsi128_si32(s4);
	memset(out, 0, BITNET_XQ_HEAD);
	memcpy(out, &step, sizeof step);
	memcpy(out + 4, &sum, sizeof sum);
}

void bitnet_quantize_rows(int level, const float *x, size_t xstride, int64_t k, uint8_t *xq, int64_t r0, int64_t r1) {
	level = resolve(level);
	const size_t rb = bitnet_xq_row_bytes(k);
	for (int64_t r = r0; r < r1; r++) {
		quantize_row(level, (const float *)((const char *)x + r * xstride), k, xq + r * rb);
	}
}

// ---- AVX-512 VNNI: one zmm holds group l of a whole block (64 codes). ----


AVX512 static inline int32_t hsum512(__m512i v) { return _mm512_reduce_add_epi32(v); }

// reduce16 returns the sums of v[0..15]'s lanes, the sum of v[p] in lane p:
// 45 operations where 16 hsum512 take about 150.
AVX512 static inline __m512i reduce16(const __m512i v[16]) {
	__m512i w[8], x[4];
	for (int k = 0; k < 8; k++) {
		w[k] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * k], v[2 * k + 1]),
					_mm512_unpackhi_epi32(v[2 * k], v[2 * k + 1]));
	}
	for (int k = 0; k < 4; k++) {
		x[k] = _mm512_add_epi32(_mm512_unpacklo_epi64(w[2 * k], w[2 * k + 1]),
					_mm512_unpackhi_epi64(w[2 * k], w[2 * k + 1]));
	}
	// x[k]'s 128-bit lane q holds lane q's partial sums of v[4k..4k+3].
	const __m512i y0 = _mm512_add_epi32(_mm512_shuffle_i32x4(x[0], x[1], 0x88), _mm512_shuffle_i32x4(x[0], x[1], 0xDD));
	const __m512i y1 = _mm512_add_epi32(_mm512_shuffle_i32x4(x[2], x[3], 0x88), _mm512_shuffle_i32x4(x[2], x[3], 0xDD));
	return _mm512_add_epi32(_mm512_shuffle_i32x4(y0, y1, 0x88), _mm512_shuffle_i32x4(y0, y1, 0xDD));
}

// store4x4 writes the results of a full tile, 4 rows by 4 tokens, from its
// accumulators (acc[j*4 + i]: row i, token j): result() of each, the same
// float operations in the same order, 16 at once.
AVX512 static inline void store4x4(const __m512i acc[16], const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq,
				   size_t xrb, float *y, size_t ystride, int64_t r, int64_t c) {
	float ws[16] __attribute__((aligned(64))), step[16] __attribute__((aligned(64)));
	int32_t xs[16] __attribute__((aligned(64)));
	for (int i = 0; i < TILE_ROWS; i++) ws[i] = row_scale(w, m, nb, r + i);
	for (int j = 0; j < 4; j++) {
		const uint8_t *xrow = xq + (c + j) * xrb;
		for (int i = 0; i < TILE_ROWS; i++) {
			ws[j * 4 + i] = ws[i];
			xs[j * 4 + i] = xq_sum(xrow);
			step[j * 4 + i] = xq_step(xrow);
		}
	}
	const __m512i d = _mm512_sub_epi32(reduce16(acc), _mm512_load_si512(xs));
	const __m512 f = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(d), _mm512_load_ps(ws)), _mm512_load_ps(step));
	float *out = (float *)((char *)y + c * ystride) + r;
	_mm_storeu_ps(out, _mm512_castps512_ps128(f));
	_mm_storeu_ps((float *)((char *)out + ystride), _mm512_extractf32x4_ps(f, 1));
	_mm_storeu_ps((float *)((char *)out + 2 * ystride), _mm512_extractf32x4_ps(f, 2));
	_mm_storeu_ps((float *)((char *)out + 3 * ystride), _mm512_extractf32x4_ps(f, 3));
}

// One token (decode): group l is masked in place (codes times 4^l, at
// most 128, still a u8) instead of shifted, with one accumulator per group,
// which is scaled back exactly at the end. Per block and row: 4 and + 4
// vpdpbusd.
AVX512 static void tile512_dec(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb, float *y,
			       size_t ystride, int64_t r, int64_t c) {
	(void)ystride;
	// acc_il: row i, group l (named: see DPBUSD).
	__m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00,
		a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
	const __m512i m0 = _mm512_set1_epi8(3), m1 = _mm512_set1_epi8(3 << 2), m2 = _mm512_set1_epi8(3 << 4),
		      m3 = _mm512_set1_epi8((char)(3 << 6));
	const uint8_t *t = tile_row(w, nb, r);
	const int8_t *x = (const int8_t *)(xq + c * xrb + BITNET_XQ_HEAD);
	for (int64_t b = 0; b < nb; b++) {
		const uint8_t *blk = t + b * BSTRIDE;
		const int8_t *xb = x + b * BITNET_QK;
		const __m512i q0 = _mm512_loadu_si512(blk), q1 = _mm512_loadu_si512(blk + 64),
			      q2 = _mm512_loadu_si512(blk + 128), q3 = _mm512_loadu_si512(blk + 192);
#define GROUP_DEC(l)                                                        \
	do {                                                                \
		const __m512i xa = _mm512_loadu_si512(xb + (l) * 64);       \
		DPBUSD(a0##l, _mm512_and_si512(q0, m##l), xa);              \
		DPBUSD(a1##l, _mm512_and_si512(q1, m##l), xa);              \
		DPBUSD(a2##l, _mm512_and_si512(q2, m##l), xa);              \
		DPBUSD(a3##l, _mm512_and_si512(q3, m##l), xa);              \
	} while (0)
		GROUP_DEC(0);
		GROUP_DEC(1);
		GROUP_DEC(2);
		GROUP_DEC(3);
#undef GROUP_DEC
	}
	const __m512i acc[TILE_ROWS][4] = {{a00, a01, a02, a03}, {a10, a11, a12, a13}, {a20, a21, a22, a23}, {a30, a31, a32, a33}};
	const uint8_t *xrow = xq + c * xrb;
	float *out = (float *)((char *)y + c * ystride);
	for (int i = 0; i < TILE_ROWS; i++) {
		__m512i s = acc[i][0];
		for (int l = 1; l < 4; l++) s = _mm512_add_epi32(s, _mm512_srai_epi32(acc[i][l], 2 * l));
		out[r + i] = result(hsum512(s), row_scale(w, m, nb, r + i), xrow);
	}
}

// Several tokens (prefill): the 4 groups of a block are shifted out once
// and multiplied with C tokens. S accumulators per (row, token) keep the
// vpdpbusd chains independent when C is small.
#define AVX512_TILE(C, S)                                                                                       \
	AVX512 static void tile512_##C(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb,     \
				       float *y, size_t ystride, int64_t r, int64_t c) {                          \
		__m512i acc[TILE_ROWS][C][S];                                                                    \
		for (int i = 0; i < TILE_ROWS; i++)                                                              \
			for (int j = 0; j < C; j++)                                                              \
				for (int s = 0; s < S; s++) acc[i][j][s] = _mm512_setzero_si512();               \
		const __m512i mask = _mm512_set1_epi8(3);                                                        \
		const uint8_t *t = tile_row(w, nb, r);                                                           \
		const int8_t *xc[C];                                                                             \
		for (int j = 0; j < C; j++) xc[j] = (const int8_t *)(xq + (c + j) * xrb + BITNET_XQ_HEAD);       \
		for (int64_t b = 0; b < nb; b++) {                                                               \
			__m512i q[TILE_ROWS];                                                                    \
			for (int i = 0; i < TILE_ROWS; i++) q[i] = _mm512_loadu_si512(t + b * BSTRIDE + i * 64); \
			for (int l = 0; l < 4; l++) {                                                            \
				__m512i u[TILE_ROWS];                                                            \
				for (int i = 0; i < TILE_ROWS; i++)                                              \
					u[i] = _mm512_and_si512(_mm512_srli_epi16(q[i], 2 * l), mask);           \
				for (int j = 0; j < C; j++) {                                                    \
					const __m512i a = _mm512_loadu_si512(xc[j] + b * BITNET_QK + l * 64);    \
					for (int i = 0; i < TILE_ROWS; i++)                                      \
						acc[i][j][l % S] = _mm512_dpbusd_epi32(acc[i][j][l % S], u[i], a); \
				}                                                                                \
			}                                                                                        \
		}                                                                                                \
		for (int i = 0; i < TILE_ROWS; i++) {                                                            \
			const float ws = row_scale(w, m, nb, r + i);                                             \
			for (int j = 0; j < C; j++) {                                                            \
				__m512i s = acc[i][j][0];                                                        \
				for (int k = 1; k < S; k++) s = _mm512_add_epi32(s, acc[i][j][k]);               \
				float *out = (float *)((char *)y + (c + j) * ystride);                           \
				out[r + i] = result(hsum512(s), ws, xq + (c + j) * xrb);                         \
			}                                                                                        \
		}                                                                                                \
	}

AVX512_TILE(2, 2)
AVX512_TILE(3, 1)

#define ROW4(i, u)                                  \
	do {                                        \
		DPBUSD(a##i##0, u, x0);             \
		DPBUSD(a##i##1, u, x1);             \
		DPBUSD(a##i##2, u, x2);             \
		DPBUSD(a##i##3, u, x3);             \
	} while (0)

// The full tile, 4 rows by 4 tokens (tile512_C's arithmetic, with its 16
// accumulators named so that each stays in one register).
AVX512 static void tile512_4(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb, float *y,
			     size_t ystride, int64_t r, int64_t c) {
	__m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00,
		a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
	const __m512i mask = _mm512_set1_epi8(3);
	const uint8_t *t = tile_row(w, nb, r);
	const int8_t *xc0 = (const int8_t *)(xq + c * xrb + BITNET_XQ_HEAD), *xc1 = xc0 + xrb, *xc2 = xc1 + xrb,
		     *xc3 = xc2 + xrb;
	for (int64_t b = 0; b < nb; b++) {
		const uint8_t *blk = t + b * BSTRIDE;
		const __m512i q0 = _mm512_loadu_si512(blk), q1 = _mm512_loadu_si512(blk + 64),
			      q2 = _mm512_loadu_si512(blk + 128), q3 = _mm512_loadu_si512(blk + 192);
		for (int l = 0; l < 4; l++) {
			const int64_t o = b * BITNET_QK + l * 64;
			const __m512i x0 = _mm512_loadu_si512(xc0 + o), x1 = _mm512_loadu_si512(xc1 + o),
				      x2 = _mm512_loadu_si512(xc2 + o), x3 = _mm512_loadu_si512(xc3 + o);
			const __m512i u0 = _mm512_and_si512(_mm512_srli_epi16(q0, 2 * l), mask);
			const __m512i u1 = _mm512_and_si512(_mm512_srli_epi16(q1, 2 * l), mask);
			const __m512i u2 = _mm512_and_si512(_mm512_srli_epi16(q2, 2 * l), mask);
			const __m512i u3 = _mm512_and_si512(_mm512_srli_epi16(q3, 2 * l), mask);
			ROW4(0, u0);
			ROW4(1, u1);
			ROW4(2, u2);
			ROW4(3, u3);
		}
	}
	const __m512i v[16] = {a00, a10, a20, a30, a01, a11, a21, a31, a02, a12, a22, a32, a03, a13, a23, a33};
	store4x4(v, w, m, nb, xq, xrb, y, ystride, r, c);
}

static const tile_fn tiles512[MAXC] = {tile512_dec, tile512_2, tile512_3, tile512_4};

// ---- AVX2: one ymm holds group l of one half block (32 codes). ----

static inline int32_t hsum256(__m256i v) {
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_hadd_epi32(s, s);
	s = _mm_hadd_epi32(s, s);
	return _mm_cvtsi128_si32(s);
}

// Two rows of the tile (i0, i0+1) by C tokens with one ymm per group of a
// half block, shared by the AVX2 and AVX-VNNI kernels, which differ in how
// a block is accumulated: BLOCK_START, MAC (acc/s16 [i][j] += u · a) and
// BLOCK_END, all per (row i, token j).
#define YMM_HALF(NAME, C, ATTR, BLOCK_START, MAC, BLOCK_END)                                                    \
	ATTR static void NAME(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb, float *y,     \
			      size_t ystride, int64_t r, int64_t c, int i0) {                                        \
		__m256i acc[2][C], s16[2][C];                                                                     \
		(void)s16;                                                                                        \
		for (int i = 0; i < 2; i++)                                                                       \
			for (int j = 0; j < C; j++) acc[i][j] = _mm256_setzero_si256();                           \
		const __m256i mask = _mm256_set1_epi8(3);                                                         \
		const __m256i ones = _mm256_set1_epi16(1);                                                        \
		(void)ones;                                                                                       \
		const uint8_t *t = tile_row(w, nb, r);                                                            \
		const int8_t *xc[C];                                                                              \
		for (int j = 0; j < C; j++) xc[j] = (const int8_t *)(xq + (c + j) * xrb + BITNET_XQ_HEAD);        \
		for (int64_t b = 0; b < nb; b++) {                                                                \
			for (int i = 0; i < 2; i++)                                                               \
				for (int j = 0; j < C; j++) BLOCK_START(i, j);                                    \
			for (int h = 0; h < 2; h++) {                                                             \
				__m256i q[2];                                                                     \
				for (int i = 0; i < 2; i++)                                                       \
					q[i] = _mm256_loadu_si256((const __m256i *)(t + b * BSTRIDE + (i0 + i) * 64 + h * 32)); \
				for (int l = 0; l < 4; l++) {                                                     \
					__m256i u[2];                                                             \
					for (int i = 0; i < 2; i++)                                               \
						u[i] = _mm256_and_si256(_mm256_srli_epi16(q[i], 2 * l), mask);    \
					for (int j = 0; j < C; j++) {                                             \
						const __m256i a = _mm256_loadu_si256(                             \
							(const __m256i *)(xc[j] + b * BITNET_QK + h * 128 + l * 32)); \
						for (int i = 0; i < 2; i++) MAC(i, j, u[i], a);                   \
					}                                                                         \
				}                                                                                 \
			}                                                                                         \
			for (int i = 0; i < 2; i++)                                                               \
				for (int j = 0; j < C; j++) BLOCK_END(i, j);                                      \
		}                                                                                                 \
		for (int i = 0; i < 2; i++) {                                                                     \
			const float ws = row_scale(w, m, nb, r + i0 + i);                                         \
			for (int j = 0; j < C; j++) {                                                             \
				float *out = (float *)((char *)y + (c + j) * ystride);                            \
				out[r + i0 + i] = result(hsum256(acc[i][j]), ws, xq + (c + j) * xrb);             \
			}                                                                                         \
		}                                                                                                 \
	}

#define NOTHING(i, j) ((void)0)

// AVX2: maddubs sums pairs into int16 (8 groups of a block stay below
// 2^12), madd widens to int32 once per block.
#define AVX2_START(i, j) (s16[i][j] = _mm256_setzero_si256())
#define AVX2_MAC(i, j, u, a) (s16[i][j] = _mm256_add_epi16(s16[i][j], _mm256_maddubs_epi16(u, a)))
#define AVX2_END(i, j) (acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(s16[i][j], ones)))
#define AVX2_TILE(C) YMM_HALF(half256_##C, C, , AVX2_START, AVX2_MAC, AVX2_END)

// At most 2 rows × 2 tokens: the 16 ymm registers hold 4 int16 and 4 int32
// accumulators and the operands; larger tiles spill.
AVX2_TILE(1)
AVX2_TILE(2)

static void tile256_1(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb, float *y, size_t ystride,
		      int64_t r, int64_t c) {
	half256_1(w, m, nb, xq, xrb, y, ystride, r, c, 0);
	half256_1(w, m, nb, xq, xrb, y, ystride, r, c, 2);
}

static void tile256_2(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb, float *y, size_t ystride,
		      int64_t r, int64_t c) {
	half256_2(w, m, nb, xq, xrb, y, ystride, r, c, 0);
	half256_2(w, m, nb, xq, xrb, y, ystride, r, c, 2);
}

static void tile256_3(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb, float *y, size_t ystride,
		      int64_t r, int64_t c) {
	tile256_2(w, m, nb, xq, xrb, y, ystride, r, c);
	tile256_1(w, m, nb, xq, xrb, y, ystride, r, c + 2);
}

static void tile256_4(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb, float *y, size_t ystride,
		      int64_t r, int64_t c) {
	tile256_2(w, m, nb, xq, xrb, y, ystride, r, c);
	tile256_2(w, m, nb, xq, xrb, y, ystride, r, c + 2);
}

static const tile_fn tiles256[MAXC] = {tile256_1, tile256_2, tile256_3, tile256_4};

// ---- AVX-VNNI: the AVX2 layout (one ymm per group of a half block) with
// vpdpbusd instead of maddubs + madd. ----

// One token: groups masked in place as in tile512_dec; 2 rows at a time
// (8 accumulators, 4 masks and the operands fill the 16 ymm registers).
AVXVNNI static void pair_vnni_dec(const uint8_t *t, int64_t nb, const int8_t *x, int i0, int32_t dot[2]) {
	__m256i acc[2][4];
	for (int i = 0; i < 2; i++)
		for (int l = 0; l < 4; l++) acc[i][l] = _mm256_setzero_si256();
	__m256i mask[4];
	for (int l = 0; l < 4; l++) mask[l] = _mm256_set1_epi8((char)(3 << (2 * l)));
	for (int64_t b = 0; b < nb; b++) {
		for (int h = 0; h < 2; h++) {
			__m256i q[2];
			for (int i = 0; i < 2; i++) q[i] = _mm256_loadu_si256((const __m256i *)(t + b * BSTRIDE + (i0 + i) * 64 + h * 32));
			for (int l = 0; l < 4; l++) {
				const __m256i a = _mm256_loadu_si256((const __m256i *)(x + b * BITNET_QK + h * 128 + l * 32));
				for (int i = 0; i < 2; i++)
					acc[i][l] = _mm256_dpbusd_avx_epi32(acc[i][l], _mm256_and_si256(q[i], mask[l]), a);
			}
		}
	}
	for (int i = 0; i < 2; i++) {
		__m256i s = acc[i][0];
		for (int l = 1; l < 4; l++) s = _mm256_add_epi32(s, _mm256_srai_epi32(acc[i][l], 2 * l));
		dot[i] = hsum256(s);
	}
}

AVXVNNI static void tilevnni_dec(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb, float *y,
				 size_t ystride, int64_t r, int64_t c) {
	const uint8_t *t = tile_row(w, nb, r);
	const int8_t *x = (const int8_t *)(xq + c * xrb + BITNET_XQ_HEAD);
	int32_t dot[4];
	pair_vnni_dec(t, nb, x, 0, dot);
	pair_vnni_dec(t, nb, x, 2, dot + 2);
	float *out = (float *)((char *)y + c * ystride);
	for (int i = 0; i < TILE_ROWS; i++) out[r + i] = result(dot[i], row_scale(w, m, nb, r + i), xq + c * xrb);
}

// Several tokens: 2 rows × C tokens, codes shifted out once per group.
#define VNNI_MAC(i, j, u, a) (acc[i][j] = _mm256_dpbusd_avx_epi32(acc[i][j], u, a))
#define VNNI_TILE(C)                                                                                          \
	YMM_HALF(halfvnni_##C, C, AVXVNNI, NOTHING, VNNI_MAC, NOTHING)                                        \
	AVXVNNI static void tilevnni_##C(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb, \
					 float *y, size_t ystride, int64_t r, int64_t c) {                       \
		halfvnni_##C(w, m, nb, xq, xrb, y, ystride, r, c, 0);                                           \
		halfvnni_##C(w, m, nb, xq, xrb, y, ystride, r, c, 2);                                           \
	}

VNNI_TILE(2)
VNNI_TILE(3)
VNNI_TILE(4)

static const tile_fn tilesvnni[MAXC] = {tilevnni_dec, tilevnni_2, tilevnni_3, tilevnni_4};

const tile_fn *bitnet_tiles(int level) {
	return bitnet_avx512(level) ? tiles512 : level == BITNET_LEVEL_AVXVNNI ? tilesvnni : tiles256;
}

// ---- Q6_K output matrix (AVX-512 BW) ----
//
// ggml multiplies the Q6_K output matrix (the tied embedding, 269 MB, read
// once per token) with an AVX2 kernel that is compute bound on one token.
// This one unpacks a half block (128 six-bit values) into two zmm, with
// maddubs against int8 activations quantized per 256-value block (as
// ggml's Q8_K), the 16 sub-block scales applied with madd, and the -32
// offset folded into precomputed pair sums of the activations.

#define Q6K_BLOCK 210
#define Q8B_QS 64	// offset of the 256 int8 values in a quantized activation block
#define Q8B_PAIRS 320	// offset of the 128 int16 pair sums × 32
#define Q8B_BYTES 576	// bytes per block of 256 activations

size_t bitnet_q8b_row_bytes(int64_t k) { return (size_t)(k / BITNET_QK) * Q8B_BYTES; }

void bitnet_quantize_q8b_rows(const float *x, size_t xstride, int64_t k, uint8_t *out, int64_t r0, int64_t r1) {
	const size_t rb = bitnet_q8b_row_bytes(k);
	for (int64_t r = r0; r < r1; r++) {
		const float *row = (const float *)((const char *)x + r * xstride);
		for (int64_t b = 0; b < k / BITNET_QK; b++) {
			const float *src = row + b * BITNET_QK;
			uint8_t *blk = out + r * rb + b * Q8B_BYTES;
			float amax = 0;
			for (int i = 0; i < BITNET_QK; i++) amax = fmaxf(amax, fabsf(src[i]));
			const float step = amax / 127.0f, inv = amax > 0 ? 127.0f / amax : 0.0f;
			int8_t *q = (int8_t *)(blk + Q8B_QS);
			for (int i = 0; i < BITNET_QK; i++) q[i] = (int8_t)nearbyintf(src[i] * inv);
			int16_t *pairs = (int16_t *)(blk + Q8B_PAIRS);
			for (int i = 0; i < BITNET_QK / 2; i++) pairs[i] = (int16_t)(32 * (q[2 * i] + q[2 * i + 1]));
			memset(blk, 0, Q8B_QS);
			memcpy(blk, &step, sizeof step);
		}
	}
}

AVX512 static float dot_q6k(const uint8_t *w, const uint8_t *xq, int64_t nb) {
	const __m512i m4 = _mm512_set1_epi8(0x0F), m2 = _mm512_set1_epi8(3);
	// Per-lane shifts of the high bits: the first 32 bytes of a half are
	// groups 0 (bits 0-1) and 2 (bits 4-5) of qh, the last 32 groups 1
	// (bits 2-3) and 3 (bits 6-7).
	const __m512i shift_lo = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
	const __m512i shift_hi = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1);
	// Scale index of every int16 lane (a pair of values; 8 lanes per
	// 16-value sub-block): half h, low pair of groups → scales 8h+0..3,
	// high pair → 8h+4..7.
	__m512i sidx[2][2];
	for (int h = 0; h < 2; h++) {
		for (int p = 0; p < 2; p++) {
			int16_t idx[32];
			for (int i = 0; i < 32; i++) idx[i] = (int16_t)(8 * h + 4 * p + i / 8);
			sidx[h][p] = _mm512_loadu_si512(idx);
		}
	}
	__m512 facc = _mm512_setzero_ps();
	for (int64_t b = 0; b < nb; b++) {
		const uint8_t *blk = w + b * Q6K_BLOCK;
		const uint8_t *xb = xq + b * Q8B_BYTES;
		float step;
		memcpy(&step, xb, sizeof step);
		const __m512i sc = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192))));
		__m512i acc = _mm512_setzero_si512();
		for (int h = 0; h < 2; h++) {
			const __m512i ql = _mm512_loadu_si512(blk + h * 64);
			const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 128 + h * 32)));
			const __m512i lo = _mm512_or_si512(_mm512_and_si512(ql, m4),
							   _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, shift_lo), m2), 4));
			const __m512i hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
							   _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, shift_hi), m2), 4));
			const int8_t *a = (const int8_t *)(xb + Q8B_QS + h * 128);
			const int16_t *ps = (const int16_t *)(xb + Q8B_PAIRS + h * 128);
			__m512i plo = _mm512_maddubs_epi16(lo, _mm512_loadu_si512(a));
			__m512i phi = _mm512_maddubs_epi16(hi, _mm512_loadu_si512(a + 64));
			plo = _mm512_sub_epi16(plo, _mm512_loadu_si512(ps));
			phi = _mm512_sub_epi16(phi, _mm512_loadu_si512(ps + 32));
			acc = _mm512_add_epi32(acc, _mm512_madd_epi16(plo, _mm512_permutexvar_epi16(sidx[h][0], sc)));
			acc = _mm512_add_epi32(acc, _mm512_madd_epi16(phi, _mm512_permutexvar_epi16(sidx[h][1], sc)));
		}
		facc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(half_to_float(blk + 208) * step), facc);
	}
	return _mm512_reduce_add_ps(facc);
}

void bitnet_matmul_q6k(const uint8_t *w, size_t wstride, int64_t k, const uint8_t *xq, int64_t n, float *y,
		       size_t ystride, int64_t r0, int64_t r1) {
	const int64_t nb = k / BITNET_QK;
	const size_t xrb = bitnet_q8b_row_bytes(k);
	for (int64_t r = r0; r < r1; r++) {
		for (int64_t c = 0; c < n; c++) {
			((float *)((char *)y + c * ystride))[r] = dot_q6k(w + r * wstride, xq + c * xrb, nb);
		}
	}
}

// ---- Attention for a few tokens (decoding) ----
//
// ggml's path for one token reads the f16 keys with its generic f16 dot
// product and writes the probabilities out as f16 for a second mul_mat;
// at 2048 tokens of context that is a third of a token's time. This does
// scores, softmax and the weighted sum of values per head in one pass
// over keys and values, AVX2 + F16C + FMA (every x86-64-v3 CPU), queries
// and probabilities kept in f32, masked cells skipped.

#define ATT_GROUP 4 // query heads of one kv head handled together (the code assumes 4)

void bitnet_attention(const struct bitnet_att *a, int64_t t, int64_t h0, int64_t h1, float *scratch) {
	const int64_t hd = a->hd, nkv = a->nkv, per_kv = a->heads / a->kvheads;
	const float *mask = (const float *)((const char *)a->mask + t * a->mask_nb1);
	// Cells past the last visible one (padding, other sequences) are skipped.
	const int64_t end = visible_end(a, t);
	const int64_t end8 = (end + 7) / 8 * 8 <= nkv ? (end + 7) / 8 * 8 : nkv;
	if (end == 0) { // nothing visible (not produced by a causal mask)
		for (int64_t h = h0; h < h1; h++) {
			memset((char *)a->out + h * a->out_nb1 + t * a->out_nb2, 0, (size_t)hd * sizeof(float));
		}
		return;
	}
	for (int64_t hs = h0; hs < h1;) {
		const int64_t g = hs / per_kv;
		int64_t he = (g + 1) * per_kv < h1 ? (g + 1) * per_kv : h1;
		if (he - hs > ATT_GROUP) he = hs + ATT_GROUP;
		const int64_t nh = he - hs;
		const uint8_t *kg = (const uint8_t *)a->k + g * a->k_nb1;
		const uint8_t *vg = value_head(a, g);
		float sums[ATT_GROUP];
		const float *qh[ATT_GROUP];
		for (int64_t i = 0; i < ATT_GROUP; i++) {
			// Missing heads of a short group repeat the first (computed, not stored).
			qh[i] = (const float *)((const char *)a->q + (hs + (i < nh ? i : 0)) * a->q_nb1 + t * a->q_nb2);
		}
		// Scores: a key row is loaded once for the group's (up to 4) heads.
		float mx[ATT_GROUP] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
		for (int64_t j = 0; j < end; j++) {
			const uint16_t *kr = (const uint16_t *)(kg + j * a->k_nb2);
			// Key rows are a stride apart (all kv heads of a cell are
			// adjacent): fetch a few cells ahead.
			const char *ahead = (const char *)kg + (j + 6) * a->k_nb2;
			for (int64_t o = 0; o < hd * 2; o += 64) _mm_prefetch(ahead + o, _MM_HINT_T0);
			__m256 acc[ATT_GROUP][2];
			for (int i = 0; i < ATT_GROUP; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
			for (int64_t d = 0; d < hd; d += 16) {
				const __m256 k0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kr + d)));
				const __m256 k1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kr + d + 8)));
				for (int i = 0; i < ATT_GROUP; i++) {
					acc[i][0] = _mm256_fmadd_ps(_mm256_loadu_ps(qh[i] + d), k0, acc[i][0]);
					acc[i][1] = _mm256_fmadd_ps(_mm256_loadu_ps(qh[i] + d + 8), k1, acc[i][1]);
				}
			}
			for (int i = 0; i < ATT_GROUP; i++) {
				const float sc = hsum8(_mm256_add_ps(acc[i][0], acc[i][1])) * a->scale + mask[j];
				scratch[i * nkv + j] = sc;
				mx[i] = sc > mx[i] ? sc : mx[i];
			}
		}
		for (int64_t i = 0; i < nh; i++) {
			float *p = scratch + i * nkv;
			// Softmax over [0, end); zeros up to end8 for the vector loop below.
			const __m256 vmx = _mm256_set1_ps(mx[i]);
			__m256 vs = _mm256_setzero_ps();
			int64_t j = 0;
			for (; j + 8 <= end; j += 8) {
				const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(p + j), vmx));
				_mm256_storeu_ps(p + j, e);
				vs = _mm256_add_ps(vs, e);
			}
			float sum = hsum8(vs);
			for (; j < end; j++) {
				p[j] = isinf(p[j]) ? 0.0f : expf(p[j] - mx[i]);
				sum += p[j];
			}
			for (; j < end8; j++) p[j] = 0.0f;
			sums[i] = sum;
		}
		// Weighted values: for each output dimension, one pass over the
		// cells serves the group's heads (always 4 accumulators, so they
		// stay in registers; rows of missing heads are zero).
		for (int64_t i = nh; i < ATT_GROUP; i++) memset(scratch + i * nkv, 0, (size_t)end8 * sizeof(float));
		for (int64_t d = 0; d < hd; d++) {
			const uint16_t *vr = (const uint16_t *)(vg + d * a->v_nb1);
			__m256 acc[ATT_GROUP];
			for (int i = 0; i < ATT_GROUP; i++) acc[i] = _mm256_setzero_ps();
			int64_t j = 0;
			for (; j + 8 <= end8; j += 8) {
				const __m256 vv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vr + j)));
				for (int i = 0; i < ATT_GROUP; i++) acc[i] = _mm256_fmadd_ps(_mm256_loadu_ps(scratch + i * nkv + j), vv, acc[i]);
			}
			for (int64_t i = 0; i < nh; i++) {
				float o = hsum8(acc[i]);
				for (int64_t jj = j; jj < end; jj++) o += scratch[i * nkv + jj] * _cvtsh_ss(vr[jj]);
				float *out = (float *)((char *)a->out + (hs + i) * a->out_nb1 + t * a->out_nb2);
				out[d] = o / sums[i];
			}
		}
		hs = he;
	}
}

// ---- ggml operations of the Q6_K and attention kernels (ternary_ops.c has the others) ----

static void op_quantize_q8b(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	(void)userdata;
	const struct ggml_tensor *x = dst->src[0];
	const int64_t n = x->ne[1];
	int64_t r0, r1;
	if (share(n, ith, nth, 1, &r0, &r1)) {
		bitnet_quantize_q8b_rows((const float *)x->data, x->nb[1], x->ne[0], (uint8_t *)dst->data, r0, r1);
	}
}

static void op_matmul_q6k(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	(void)userdata;
	const struct ggml_tensor *w = dst->src[0];
	const struct ggml_tensor *xq = dst->src[1];
	const int64_t m = w->ne[1];
	int64_t r0, r1;
	if (share(m, ith, nth, 1, &r0, &r1)) {
		bitnet_matmul_q6k((const uint8_t *)w->data, w->nb[1], w->ne[0], (const uint8_t *)xq->data, xq->ne[1],
				  (float *)dst->data, dst->nb[1], r0, r1);
	}
}

const char *bitnet_q6k_check(const struct ggml_tensor *w, const struct ggml_tensor *x) {
	if (w->type != GGML_TYPE_Q6_K || w->ne[2] != 1 || w->ne[3] != 1 || w->ne[0] % BITNET_QK != 0) {
		return "weight is not a Q6_K matrix";
	}
	if (x->type != GGML_TYPE_F32 || x->nb[0] != sizeof(float) || x->ne[0] != w->ne[0] || x->ne[2] != 1 || x->ne[3] != 1) {
		return "activations are not F32 rows of the weight's width";
	}
	// The kernel walks the matrix once per token: for logits of many
	// positions (perplexity) ggml's tiled mul_mat is the faster one.
	if (x->ne[1] > BITNET_FUSED_MAX_TOKENS) {
		return "too many tokens";
	}
	return NULL;
}

struct ggml_tensor *bitnet_op_q6k(struct ggml_context *ctx, struct ggml_tensor *w, struct ggml_tensor *x) {
	struct ggml_tensor *qargs[1] = {x};
	struct ggml_tensor *xq = ggml_custom_4d(ctx, GGML_TYPE_I8, (int64_t)bitnet_q8b_row_bytes(x->ne[0]), x->ne[1], 1, 1,
						qargs, 1, op_quantize_q8b, GGML_N_TASKS_MAX, NULL);
	struct ggml_tensor *args[2] = {w, xq};
	return ggml_custom_4d(ctx, GGML_TYPE_F32, w->ne[1], x->ne[1], 1, 1, args, 2, op_matmul_q6k, GGML_N_TASKS_MAX, NULL);
}

static void op_attention(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	(void)userdata;
	const struct bitnet_att a = att_of(dst, (const struct ggml_tensor *const *)dst->src);
	const int64_t ntok = dst->src[0]->ne[2];
	// Heads (of all tokens) in equal shares.
	int64_t r0, r1;
	if (!share(ntok * a.heads, ith, nth, 1, &r0, &r1)) {
		return;
	}
	float scratch[ATT_GROUP * BITNET_ATT_MAX_KV];
	for (int64_t t = r0 / a.heads; t <= (r1 - 1) / a.heads; t++) {
		const int64_t lo = t * a.heads > r0 ? t * a.heads : r0, hi = (t + 1) * a.heads < r1 ? (t + 1) * a.heads : r1;
		bitnet_attention(&a, t, lo - t * a.heads, hi - t * a.heads, scratch);
	}
}

const char *bitnet_att_check(const struct ggml_tensor *q, const struct ggml_tensor *k, const struct ggml_tensor *v,
			     const struct ggml_tensor *mask, int vrows) {
	if (q->ne[2] > BITNET_FUSED_MAX_TOKENS) {
		return "too many tokens";
	}
	if (k->ne[2] > BITNET_ATT_MAX_KV) {
		return "too many cells";
	}
	return att_operands_check(q, k, v, mask, vrows);
}

struct ggml_tensor *bitnet_op_attention(struct ggml_context *ctx, struct ggml_tensor *q, struct ggml_tensor *k,
					struct ggml_tensor *v, struct ggml_tensor *mask, float scale) {
	struct ggml_tensor *args[4] = {q, k, v, mask};
	struct ggml_tensor *t = ggml_custom_4d(ctx, GGML_TYPE_F32, q->ne[0], q->ne[1], q->ne[2], 1, args, 4, op_attention,
					       GGML_N_TASKS_MAX, NULL);
	att_params(t, scale, 0);
	return t;
}

#endif // __x86_64__
