// What the x86 attention kernels share (ternary.c's decode attention for
// short contexts, attention.c's split and tiled ones): the operands of an
// attention operation, the cells a token sees, and vector helpers.
#ifndef BITNET_ATTENTION_X86_H
#define BITNET_ATTENTION_X86_H

#include "ternary.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

// The attention scale travels in the spare bytes of op_params, after
// ggml's custom op parameters.
#define ATT_SCALE_OFFSET 40
// Then whether f16 values are in rows (bitnet_att.vrows), an int32.
#define ATT_VROWS_OFFSET 44
_Static_assert(3 * sizeof(void *) <= ATT_SCALE_OFFSET, "the scale overlaps ggml's custom op parameters");
_Static_assert(ATT_VROWS_OFFSET + 4 <= GGML_MAX_OP_PARAMS, "the layout flag does not fit op_params");

// att_params stores the scale and the values' layout in dst's op_params.
static inline void att_params(struct ggml_tensor *dst, float scale, int vrows) {
	const int32_t vr = vrows != 0;
	memcpy((char *)dst->op_params + ATT_SCALE_OFFSET, &scale, sizeof scale);
	memcpy((char *)dst->op_params + ATT_VROWS_OFFSET, &vr, sizeof vr);
}

// att_of gathers the operands of attention operation dst: queries, keys,
// values and mask in src, the output and the scale in dst.
static inline struct bitnet_att att_of(const struct ggml_tensor *dst, const struct ggml_tensor *const src[4]) {
	const struct ggml_tensor *q = src[0], *k = src[1], *v = src[2], *mask = src[3];
	struct bitnet_att a = {
		.q = q->data, .q_nb1 = q->nb[1], .q_nb2 = q->nb[2],
		.k = k->data, .k_nb1 = k->nb[1], .k_nb2 = k->nb[2],
		.v = v->data, .v_nb1 = v->nb[1], .v_nb2 = v->nb[2],
		.mask = mask->data, .mask_nb1 = mask->nb[1],
		.out = dst->data, .out_nb1 = dst->nb[1], .out_nb2 = dst->nb[2],
		.hd = q->ne[0], .heads = q->ne[1], .kvheads = k->ne[1], .nkv = k->ne[2],
		.q8 = k->type == GGML_TYPE_Q8_0,
	};
	memcpy(&a.scale, (const char *)dst->op_params + ATT_SCALE_OFFSET, sizeof a.scale);
	int32_t vr;
	memcpy(&vr, (const char *)dst->op_params + ATT_VROWS_OFFSET, sizeof vr);
	a.vrows = a.q8 || vr != 0;
	return a;
}

// bitnet_scratch (attention.c) is the calling thread's scratch memory.
void *bitnet_scratch(size_t n);

#define ATT_MAX_HD 256 // the largest head size the kernels take

// att_operands_check is what every attention kernel needs of its operands:
// F32 queries [head size, heads, tokens]; f16 keys [head size, kv heads,
// cells] with f16 values as ollama's cache keeps them for ggml's CPU path
// (PermutedV: [cells, head size, kv heads], cells contiguous) or, with
// vrows, laid out as the keys; or q8_0 keys and values both [head size, kv
// heads, cells] (the runner's q8_0 cache); an F32 mask [cells, tokens].
// NULL when they fit, else what does not.
static inline const char *att_operands_check(const struct ggml_tensor *q, const struct ggml_tensor *k,
					     const struct ggml_tensor *v, const struct ggml_tensor *mask, int vrows) {
	if (q->type != GGML_TYPE_F32 || q->nb[0] != sizeof(float) || q->ne[3] != 1) {
		return "queries are not F32";
	}
	if (q->ne[0] % 16 != 0 || q->ne[0] > ATT_MAX_HD) {
		return "head size";
	}
	if (k->ne[0] != q->ne[0] || k->ne[1] == 0 || q->ne[1] % k->ne[1] != 0) {
		return "keys are not [head size, kv heads, cells]";
	}
	if (k->type == GGML_TYPE_Q8_0) {
		if (q->ne[0] % BITNET_Q8_BLOCK != 0 || k->nb[0] != BITNET_Q8_BYTES) {
			return "keys are not q8_0 [head size, kv heads, cells]";
		}
		if (v->type != GGML_TYPE_Q8_0 || v->nb[0] != BITNET_Q8_BYTES || v->ne[0] != k->ne[0] || v->ne[1] != k->ne[1] ||
		    v->ne[2] != k->ne[2]) {
			return "values are not q8_0 [head size, kv heads, cells]";
		}
	} else if (k->type != GGML_TYPE_F16 || k->nb[0] != 2) {
		return "keys are neither f16 nor q8_0";
	} else if (vrows) {
		if (v->type != GGML_TYPE_F16 || v->nb[0] != 2 || v->ne[0] != k->ne[0] || v->ne[1] != k->ne[1] || v->ne[2] != k->ne[2]) {
			return "values are not f16 [head size, kv heads, cells]";
		}
	} else if (v->type != GGML_TYPE_F16 || v->nb[0] != 2 || v->ne[0] != k->ne[2] || v->ne[1] != q->ne[0] || v->ne[2] != k->ne[1]) {
		return "values are not f16 [cells, head size, kv heads]";
	}
	if (mask->type != GGML_TYPE_F32 || mask->nb[0] != sizeof(float) || mask->ne[0] != k->ne[2] || mask->ne[1] < q->ne[2]) {
		return "mask is not F32 [cells, tokens]";
	}
	return NULL;
}

// visible_end is one past the last cell token t sees (its mask row is not
// -inf there), 0 if it sees none.
static inline int64_t visible_end(const struct bitnet_att *a, int64_t t) {
	const float *mask = (const float *)((const char *)a->mask + t * a->mask_nb1);
	int64_t end = a->nkv;
	while (end > 0 && isinf(mask[end - 1]) && mask[end - 1] < 0) end--;
	return end;
}

#define AVX2F __attribute__((target("avx2,fma,f16c")))

// exp8 is ggml's ggml_v_expf for AVX2 (MIT), for x in [-87, 0]; less is 0.
AVX2F static inline __m256 exp8(__m256 x) {
	const __m256 lo = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_LT_OQ);
	x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
	const __m256 r = _mm256_set1_ps(0x1.8p23f);
	const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
	const __m256 n = _mm256_sub_ps(z, r);
	const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f), _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
	const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
	const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1))));
	const __m256 u = _mm256_mul_ps(b, b);
	const __m256 j = _mm256_fmadd_ps(
		_mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
				_mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
		u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
	return _mm256_andnot_ps(lo, _mm256_fmadd_ps(j, k, k));
}

// hsum8 is the sum of v's 8 lanes.
AVX2F static inline float hsum8(__m256 v) {
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

// value_head is kv head g's values: f16 values [cells, head size, kv
// heads] have a kv head every v_nb2 bytes, values in rows (q8_0, or f16
// with vrows: laid out like keys) every v_nb1.
static inline const uint8_t *value_head(const struct bitnet_att *a, int64_t g) {
	return (const uint8_t *)a->v + g * (a->vrows ? a->v_nb1 : a->v_nb2);
}

// q8_scale is the f16 scale of the q8_0 block holding value o of row;
// q8_at points at value o's int8.
AVX2F static inline float q8_scale(const uint8_t *row, int64_t o) {
	uint16_t h;
	memcpy(&h, row + o / BITNET_Q8_BLOCK * BITNET_Q8_BYTES, sizeof h);
	return _cvtsh_ss(h);
}
static inline const uint8_t *q8_at(const uint8_t *row, int64_t o) {
	return row + o / BITNET_Q8_BLOCK * BITNET_Q8_BYTES + 2 + o % BITNET_Q8_BLOCK;
}

// q8x8 is values [o, o + 8) of a q8_0 row (o a multiple of 8) as f32:
// exact, an int8 times an f16 fits in a float's 24-bit significand.
AVX2F static inline __m256 q8x8(const uint8_t *row, int64_t o) {
	const __m256 x = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)q8_at(row, o))));
	return _mm256_mul_ps(x, _mm256_set1_ps(q8_scale(row, o)));
}

#endif
