// The AArch64 kernels: ternary matrix multiplication with NEON, at two
// levels chosen at run time (the binary is built for plain ARMv8-A):
//
//   neon          every AArch64 CPU: codes × int8 with smlal into int16,
//                 widened to int32 once per block (the AVX2 kernel's plan);
//   neon-dotprod  CPUs with the ARMv8.2 dot product (Cortex-A55/A75 and
//                 later, Neoverse, Apple M): sdot multiplies 16 codes by 16
//                 int8 and adds groups of 4 into int32 lanes.
//
// They read the same packed weights (ternary_impl.h) and the same
// quantized activations, in natural order, as the x86 AVX2 and AVX-VNNI
// kernels, and compute the same integer per row and token, then the same
// float epilogue (result), so their output is bit for bit that of x86.
//
// The Q6_K output matrix and the attention are left to ggml's NEON code on
// ARM (kernel_arm64.go says so to the graph): on x86 those kernels of ours
// replaced specific slow paths of ggml that were measured, and no ARM
// machine is there to measure whether a port would pay off.
#if defined(__aarch64__)

#include "ternary.h"
#include "ternary_impl.h"

#include <arm_neon.h>

#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#endif

// Functions that use sdot are compiled for it even though the file is
// built for ARMv8-A; they run only where bitnet_detect found the feature.
#if defined(__ARM_FEATURE_DOTPROD)
#define DOTPROD // the whole build targets it (e.g. Apple's arm64 default)
#elif defined(__clang__)
#define DOTPROD __attribute__((target("dotprod")))
#else
#define DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#endif

static int has_dotprod(void) {
#if defined(__linux__)
	return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__APPLE__)
	int v = 0;
	size_t n = sizeof v;
	return sysctlbyname("hw.optional.arm.FEAT_DotProd", &v, &n, NULL, 0) == 0 && v == 1;
#elif defined(__ARM_FEATURE_DOTPROD)
	return 1;
#else
	return 0;
#endif
}

static int has_neon(void) {
#if defined(__linux__)
	return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
#else
	return 1; // macOS and Windows on arm64 require Advanced SIMD
#endif
}

int bitnet_detect(void) { return has_dotprod() ? BITNET_LEVEL_NEON_DOTPROD : BITNET_LEVEL_NEON; }

int bitnet_supports(int level) {
	switch (level) {
	case BITNET_LEVEL_NEON:
		return has_neon();
	case BITNET_LEVEL_NEON_DOTPROD:
		return has_neon() && has_dotprod();
	}
	return 0;
}

// quantize_row is quantize_row of ternary.c for the natural order: the
// same absmax, the same float products, rounded to nearest even (fcvtns,
// as cvtps2dq under the default MXCSR), the same saturation (sqxtn as
// packssdw/packsswb) and the sum of the int32 values before saturation.
static void quantize_row(const float *x, int64_t k, uint8_t *out) {
	float32x4_t vmax = vdupq_n_f32(0.0f);
	for (int64_t i = 0; i < k; i += 4) {
		vmax = vmaxq_f32(vmax, vabsq_f32(vld1q_f32(x + i)));
	}
	const float amax = vmaxvq_f32(vmax);
	const float step = amax / 127.0f;
	const float inv = amax > 0 ? 127.0f / amax : 0.0f;
	const float32x4_t vinv = vdupq_n_f32(inv);
	int32x4_t vsum = vdupq_n_s32(0);
	int8_t *q = (int8_t *)(out + BITNET_XQ_HEAD);
	for (int64_t i = 0; i < k; i += 16) {
		const int32x4_t i0 = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + i + 0), vinv));
		const int32x4_t i1 = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + i + 4), vinv));
		const int32x4_t i2 = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + i + 8), vinv));
		const int32x4_t i3 = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + i + 12), vinv));
		vsum = vaddq_s32(vsum, vaddq_s32(vaddq_s32(i0, i1), vaddq_s32(i2, i3)));
		const int16x8_t lo = vcombine_s16(vqmovn_s32(i0), vqmovn_s32(i1));
		const int16x8_t hi = vcombine_s16(vqmovn_s32(i2), vqmovn_s32(i3));
		vst1q_s8(q + i, vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi)));
	}
	const int32_t sum = vaddvq_s32(vsum);
	memset(out, 0, BITNET_XQ_HEAD);
	memcpy(out, &step, sizeof step);
	memcpy(out + 4, &sum, sizeof sum);
}

void bitnet_quantize_rows(int level, const float *x, size_t xstride, int64_t k, uint8_t *xq, int64_t r0, int64_t r1) {
	(void)level; // both NEON levels read the natural order
	const size_t rb = bitnet_xq_row_bytes(k);
	for (int64_t r = r0; r < r1; r++) {
		quantize_row((const float *)((const char *)x + r * xstride), k, xq + r * rb);
	}
}

// A row's 64 code bytes of a block are read as 4 vectors of 16 (chunk v:
// bytes 16v..16v+15). Group l of chunk v (bits 2l, 2l+1) holds the codes
// of values 128*(v/2) + 32*l + 16*(v%2) + 0..15 of the block: xoff gives
// the offset of those activations.
static inline int xoff(int v, int l) { return (v / 2) * 128 + l * 32 + (v % 2) * 16; }

// ---- neon-dotprod ----

// One token (decode): groups 0-2 are masked in place (codes × 4^l, at
// most 32: a positive int8) and group 3 shifted down, each into an
// accumulator of its own that is scaled back exactly at the end (its lanes
// are sums of multiples of 4^l). Per chunk and row: 3 and + 1 ushr + 4 sdot.
DOTPROD static void dot_tile_1(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb, float *y,
			       size_t ystride, int64_t r, int64_t c) {
	int32x4_t acc[TILE_ROWS][4];
	for (int i = 0; i < TILE_ROWS; i++)
		for (int l = 0; l < 4; l++) acc[i][l] = vdupq_n_s32(0);
	const uint8x16_t m0 = vdupq_n_u8(0x03), m1 = vdupq_n_u8(0x0C), m2 = vdupq_n_u8(0x30);
	const uint8_t *t = tile_row(w, nb, r);
	const int8_t *x = (const int8_t *)(xq + c * xrb + BITNET_XQ_HEAD);
	for (int64_t b = 0; b < nb; b++) {
		const uint8_t *blk = t + b * BSTRIDE;
		const int8_t *xb = x + b * BITNET_QK;
		// Not unrolled: GCC would hoist the loads of all 16 code vectors
		// of the block and spill the accumulators.
#pragma GCC unroll 1
		for (int v = 0; v < 4; v++) {
			const int8x16_t a0 = vld1q_s8(xb + xoff(v, 0)), a1 = vld1q_s8(xb + xoff(v, 1));
			const int8x16_t a2 = vld1q_s8(xb + xoff(v, 2)), a3 = vld1q_s8(xb + xoff(v, 3));
			for (int i = 0; i < TILE_ROWS; i++) {
				const uint8x16_t q = vld1q_u8(blk + i * 64 + v * 16);
				acc[i][0] = vdotq_s32(acc[i][0], vreinterpretq_s8_u8(vandq_u8(q, m0)), a0);
				acc[i][1] = vdotq_s32(acc[i][1], vreinterpretq_s8_u8(vandq_u8(q, m1)), a1);
				acc[i][2] = vdotq_s32(acc[i][2], vreinterpretq_s8_u8(vandq_u8(q, m2)), a2);
				acc[i][3] = vdotq_s32(acc[i][3], vreinterpretq_s8_u8(vshrq_n_u8(q, 6)), a3);
			}
		}
	}
	const uint8_t *xrow = xq + c * xrb;
	float *out = (float *)((char *)y + c * ystride);
	for (int i = 0; i < TILE_ROWS; i++) {
		int32x4_t s = vaddq_s32(acc[i][0], acc[i][3]);
		s = vaddq_s32(s, vshrq_n_s32(acc[i][1], 2));
		s = vaddq_s32(s, vshrq_n_s32(acc[i][2], 4));
		out[r + i] = result(vaddvq_s32(s), row_scale(w, m, nb, r + i), xrow);
	}
}

// Several tokens (prefill): the groups of a chunk are shifted out once per
// row and multiplied with C tokens; 16 accumulators for 4 rows × 4 tokens.
static inline __attribute__((always_inline)) DOTPROD void dot_tile(const uint8_t *w, int64_t m, int64_t nb,
								   const uint8_t *xq, size_t xrb, float *y,
								   size_t ystride, int64_t r, int64_t c, const int C) {
	int32x4_t acc[TILE_ROWS][MAXC];
	for (int i = 0; i < TILE_ROWS; i++)
		for (int j = 0; j < C; j++) acc[i][j] = vdupq_n_s32(0);
	const uint8x16_t mask = vdupq_n_u8(3);
	const uint8_t *t = tile_row(w, nb, r);
	const int8_t *xc[MAXC];
	for (int j = 0; j < C; j++) xc[j] = (const int8_t *)(xq + (c + j) * xrb + BITNET_XQ_HEAD);
	for (int64_t b = 0; b < nb; b++) {
		const uint8_t *blk = t + b * BSTRIDE;
		for (int v = 0; v < 4; v++) {
			uint8x16_t q[TILE_ROWS];
			for (int i = 0; i < TILE_ROWS; i++) q[i] = vld1q_u8(blk + i * 64 + v * 16);
			for (int l = 0; l < 4; l++) {
				int8x16_t u[TILE_ROWS];
				for (int i = 0; i < TILE_ROWS; i++) {
					const uint8x16_t s = l == 0 ? q[i] : l == 1 ? vshrq_n_u8(q[i], 2) : l == 2 ? vshrq_n_u8(q[i], 4) : vshrq_n_u8(q[i], 6);
					u[i] = vreinterpretq_s8_u8(l == 3 ? s : vandq_u8(s, mask));
				}
				for (int j = 0; j < C; j++) {
					const int8x16_t a = vld1q_s8(xc[j] + b * BITNET_QK + xoff(v, l));
					for (int i = 0; i < TILE_ROWS; i++) acc[i][j] = vdotq_s32(acc[i][j], u[i], a);
				}
			}
		}
	}
	for (int i = 0; i < TILE_ROWS; i++) {
		const float ws = row_scale(w, m, nb, r + i);
		for (int j = 0; j < C; j++) {
			float *out = (float *)((char *)y + (c + j) * ystride);
			out[r + i] = result(vaddvq_s32(acc[i][j]), ws, xq + (c + j) * xrb);
		}
	}
}

#define DOT_TILE(C)                                                                                         \
	DOTPROD static void dot_tile_##C(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb, \
					 float *y, size_t ystride, int64_t r, int64_t c) {                       \
		dot_tile(w, m, nb, xq, xrb, y, ystride, r, c, C);                                               \
	}

DOT_TILE(2)
DOT_TILE(3)
DOT_TILE(4)

static const tile_fn tiles_dot[MAXC] = {dot_tile_1, dot_tile_2, dot_tile_3, dot_tile_4};

// ---- neon (no dot product) ----

// Rows i0..i0+R-1 of the tile by C tokens. smlal multiplies 8 codes (0-2)
// by 8 int8 into int16 lanes; a block adds 32 products of at most 254 to a
// lane (8128 < 2^15), then sadalp widens the pairs into int32.
static inline __attribute__((always_inline)) void neon_rows(const uint8_t *w, int64_t m, int64_t nb,
							    const uint8_t *xq, size_t xrb, float *y, size_t ystride,
							    int64_t r, int64_t c, const int i0, const int R,
							    const int C) {
	int32x4_t acc[TILE_ROWS][MAXC];
	for (int i = 0; i < R; i++)
		for (int j = 0; j < C; j++) acc[i][j] = vdupq_n_s32(0);
	const uint8x16_t mask = vdupq_n_u8(3);
	const uint8_t *t = tile_row(w, nb, r);
	const int8_t *xc[MAXC];
	for (int j = 0; j < C; j++) xc[j] = (const int8_t *)(xq + (c + j) * xrb + BITNET_XQ_HEAD);
	for (int64_t b = 0; b < nb; b++) {
		const uint8_t *blk = t + b * BSTRIDE;
		int16x8_t s16[TILE_ROWS][MAXC];
		for (int i = 0; i < R; i++)
			for (int j = 0; j < C; j++) s16[i][j] = vdupq_n_s16(0);
		for (int v = 0; v < 4; v++) {
			uint8x16_t q[TILE_ROWS];
			for (int i = 0; i < R; i++) q[i] = vld1q_u8(blk + (i0 + i) * 64 + v * 16);
			for (int l = 0; l < 4; l++) {
				int8x16_t u[TILE_ROWS];
				for (int i = 0; i < R; i++) {
					const uint8x16_t s = l == 0 ? q[i] : l == 1 ? vshrq_n_u8(q[i], 2) : l == 2 ? vshrq_n_u8(q[i], 4) : vshrq_n_u8(q[i], 6);
					u[i] = vreinterpretq_s8_u8(l == 3 ? s : vandq_u8(s, mask));
				}
				for (int j = 0; j < C; j++) {
					const int8x16_t a = vld1q_s8(xc[j] + b * BITNET_QK + xoff(v, l));
					for (int i = 0; i < R; i++) {
						s16[i][j] = vmlal_s8(s16[i][j], vget_low_s8(u[i]), vget_low_s8(a));
						s16[i][j] = vmlal_high_s8(s16[i][j], u[i], a);
					}
				}
			}
		}
		for (int i = 0; i < R; i++)
			for (int j = 0; j < C; j++) acc[i][j] = vpadalq_s16(acc[i][j], s16[i][j]);
	}
	for (int i = 0; i < R; i++) {
		const float ws = row_scale(w, m, nb, r + i0 + i);
		for (int j = 0; j < C; j++) {
			float *out = (float *)((char *)y + (c + j) * ystride);
			out[r + i0 + i] = result(vaddvq_s32(acc[i][j]), ws, xq + (c + j) * xrb);
		}
	}
}

// 4 rows for one or two tokens, 2 rows (twice) for three or four: 2 × R × C
// accumulators and the operands fit in the 32 vector registers.
static void neon_tile_1(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb, float *y, size_t ystride,
			int64_t r, int64_t c) {
	neon_rows(w, m, nb, xq, xrb, y, ystride, r, c, 0, 4, 1);
}

static void neon_tile_2(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb, float *y, size_t ystride,
			int64_t r, int64_t c) {
	neon_rows(w, m, nb, xq, xrb, y, ystride, r, c, 0, 4, 2);
}

static void neon_tile_3(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb, float *y, size_t ystride,
			int64_t r, int64_t c) {
	neon_rows(w, m, nb, xq, xrb, y, ystride, r, c, 0, 2, 3);
	neon_rows(w, m, nb, xq, xrb, y, ystride, r, c, 2, 2, 3);
}

static void neon_tile_4(const uint8_t *w, int64_t m, int64_t nb, const uint8_t *xq, size_t xrb, float *y, size_t ystride,
			int64_t r, int64_t c) {
	neon_rows(w, m, nb, xq, xrb, y, ystride, r, c, 0, 2, 4);
	neon_rows(w, m, nb, xq, xrb, y, ystride, r, c, 2, 2, 4);
}

static const tile_fn tiles_neon[MAXC] = {neon_tile_1, neon_tile_2, neon_tile_3, neon_tile_4};

// Anything but neon-dotprod runs the plain NEON kernel, which every
// AArch64 CPU can (the Go side refuses levels this CPU lacks).
const tile_fn *bitnet_tiles(int level) { return level == BITNET_LEVEL_NEON_DOTPROD ? tiles_dot : tiles_neon; }

#endif // __aarch64__
