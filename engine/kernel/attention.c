// Attention of a batch of tokens (prefill) with AVX-512, tiled: no
// scores matrix of tokens × cells is ever materialised.
//
// ggml's path for a batch multiplies K by Q into a [cells, tokens, heads]
// f32 matrix, runs softmax over it, converts it to f16 and multiplies it by
// V: at 2000 tokens of context that matrix is hundreds of MB per layer, and
// every query head reads its kv head's keys and values again. Here a work
// item is one kv head and a tile of up to 16 query rows (the heads of that
// kv head for a few consecutive tokens: 4 tokens × 4 heads for 2B4T), held
// transposed so that one zmm register holds a value for all 16 rows. Keys
// and values are read once per tile, converted from f16 a block at a time,
// and each cell's score for the 16 rows is one FMA chain of broadcast key
// values; softmax is online over chunks of cells (flash attention), so the
// scratch is a few tens of KB on the stack. Cells past the last one any
// row of the tile sees are skipped.

#if defined(__x86_64__)

#include "ternary.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define ATT512 __attribute__((target("avx512f,avx512bw,avx512vl,f16c,fma")))

#define TR 16	  // rows of a tile (one zmm)
#define TK 256	  // cells per online-softmax chunk
#define SB 32	  // cells of values converted at a time
#define KB 16	  // cells of keys scored at a time
#define MAX_HD 256

// exp16 is ggml's ggml_v_expf for AVX-512 (MIT): e^x, 0 for x = -inf.
ATT512 static inline __m512 exp16(__m512 x) {
	const __m512 r = _mm512_set1_ps(0x1.8p23f);
	const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), r);
	const __m512 n = _mm512_sub_ps(z, r);
	const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f), _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
	const __mmask16 d = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192), _CMP_GT_OQ);
	const __m512 u = _mm512_mul_ps(b, b);
	const __m512 j = _mm512_fmadd_ps(
		_mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
				_mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f))),
		u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0F)));
	const __m512 res = _mm512_scalef_ps(j, n);
	if (_mm512_kortestz(d, d)) {
		return res;
	}
	const __m512 zero = _mm512_setzero_ps();
	const __m512 alt = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(n, zero, _CMP_LE_OQ), _mm512_set1_ps(INFINITY), zero);
	return _mm512_mask_blend_ps(d, res, alt);
}

// visible_end is one past the last cell token t sees (its mask row is not
// -inf there), 0 if it sees none.
static int64_t visible_end(const struct bitnet_att *a, int64_t t) {
	const float *mask = (const float *)((const char *)a->mask + t * a->mask_nb1);
	int64_t end = a->nkv;
	while (end > 0 && isinf(mask[end - 1]) && mask[end - 1] < 0) end--;
	return end;
}

int bitnet_att_tile_rows(int64_t heads, int64_t kvheads) {
	const int64_t per = heads / kvheads;
	return per <= TR ? (int)(TR / per * per) : 0;
}

// bitnet_attention_tile computes the rows of kv head g for tokens
// [t0, t0 + nt): nt × (heads / kvheads) <= 16 rows.
ATT512 void bitnet_attention_tile(const struct bitnet_att *a, int64_t g, int64_t t0, int64_t nt) {
	const int64_t hd = a->hd, per = a->heads / a->kvheads, rows = nt * per;
	float qt[MAX_HD * TR] __attribute__((aligned(64)));   // queries, transposed: qt[d*16 + r]
	float ot[MAX_HD * TR] __attribute__((aligned(64)));   // output accumulators, transposed
	float st[TK * TR] __attribute__((aligned(64)));	      // scores then probabilities of a chunk: st[c*16 + r]
	float kf[KB * MAX_HD] __attribute__((aligned(64)));   // keys of KB cells as f32: kf[c*hd + d]
	float vf[MAX_HD * SB] __attribute__((aligned(64)));   // values of SB cells as f32: vf[d*SB + c]
	int32_t moff[TR] __attribute__((aligned(64)));	      // offset of each row's mask row, in floats

	int64_t end = 0;
	for (int64_t i = 0; i < nt; i++) {
		const int64_t e = visible_end(a, t0 + i);
		end = e > end ? e : end;
	}
	for (int64_t r = 0; r < TR; r++) {
		// Rows past the tile's repeat its first (computed, never stored).
		const int64_t rr = r < rows ? r : 0, t = t0 + rr / per, h = g * per + rr % per;
		const float *q = (const float *)((const char *)a->q + h * a->q_nb1 + t * a->q_nb2);
		for (int64_t d = 0; d < hd; d++) qt[d * TR + r] = q[d];
		moff[r] = (int32_t)((t * a->mask_nb1) / sizeof(float));
	}
	memset(ot, 0, sizeof(float) * (size_t)(hd * TR));
	__m512 mrow = _mm512_set1_ps(-INFINITY), lsum = _mm512_setzero_ps();
	const __m512i vmoff = _mm512_load_si512(moff);
	const __m512 scale = _mm512_set1_ps(a->scale);
	const float *mask = (const float *)a->mask;
	const uint8_t *kg = (const uint8_t *)a->k + g * a->k_nb1;
	const uint8_t *vg = (const uint8_t *)a->v + g * a->v_nb2;

	for (int64_t cb = 0; cb < end; cb += TK) {
		const int64_t n = end - cb < TK ? end - cb : TK;
		// Scores of the chunk, KB cells at a time.
		__m512 cmax = _mm512_set1_ps(-INFINITY);
		for (int64_t c0 = 0; c0 < n; c0 += KB) {
			const int64_t nb = n - c0 < KB ? n - c0 : KB;
			for (int64_t i = 0; i < KB; i++) {
				// Cells past the chunk score a valid row, then get -inf.
				const uint16_t *kr = (const uint16_t *)(kg + (cb + c0 + (i < nb ? i : 0)) * a->k_nb2);
				for (int64_t d = 0; d < hd; d += 16) {
					_mm512_store_ps(kf + i * hd + d, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(kr + d))));
				}
			}
			__m512 acc[KB];
			for (int i = 0; i < KB; i++) acc[i] = _mm512_setzero_ps();
			for (int64_t d = 0; d < hd; d++) {
				const __m512 q = _mm512_load_ps(qt + d * TR);
				for (int i = 0; i < KB; i++) acc[i] = _mm512_fmadd_ps(q, _mm512_set1_ps(kf[i * hd + d]), acc[i]);
			}
			for (int64_t i = 0; i < KB; i++) {
				__m512 s;
				if (i < nb) {
					const __m512 m = _mm512_i32gather_ps(vmoff, mask + cb + c0 + i, 4);
					s = _mm512_fmadd_ps(acc[i], scale, m);
				} else {
					s = _mm512_set1_ps(-INFINITY);
				}
				_mm512_store_ps(st + (c0 + i) * TR, s);
				cmax = _mm512_max_ps(cmax, s);
			}
		}
		// Online softmax: rescale what the earlier chunks summed.
		const __m512 mnew = _mm512_max_ps(mrow, cmax);
		// A row that has seen only -inf keeps max -inf: use 0 there, so
		// that exp(-inf - 0) = 0 and nothing becomes NaN.
		const __m512 msafe = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(mnew, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ), mnew,
							 _mm512_setzero_ps());
		const __m512 alpha = exp16(_mm512_sub_ps(mrow, msafe));
		lsum = _mm512_mul_ps(lsum, alpha);
		for (int64_t d = 0; d < hd; d++) _mm512_store_ps(ot + d * TR, _mm512_mul_ps(_mm512_load_ps(ot + d * TR), alpha));
		const int64_t n16 = (n + KB - 1) / KB * KB;
		for (int64_t c = 0; c < n16; c++) {
			const __m512 p = exp16(_mm512_sub_ps(_mm512_load_ps(st + c * TR), msafe));
			_mm512_store_ps(st + c * TR, p);
			lsum = _mm512_add_ps(lsum, p);
		}
		mrow = mnew;
		// Values: ot[d] += sum over cells of p[c] × v[d][c].
		for (int64_t s0 = 0; s0 < n; s0 += SB) {
			const int64_t ns = n - s0 < SB ? n - s0 : SB;
			const __mmask16 lo = ns >= 16 ? 0xFFFF : (__mmask16)((1u << ns) - 1);
			const __mmask16 hi = ns >= 32 ? 0xFFFF : ns <= 16 ? 0 : (__mmask16)((1u << (ns - 16)) - 1);
			for (int64_t d = 0; d < hd; d++) {
				const uint16_t *vr = (const uint16_t *)(vg + d * a->v_nb1) + cb + s0;
				_mm512_store_ps(vf + d * SB, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lo, vr)));
				_mm512_store_ps(vf + d * SB + 16, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(hi, vr + 16)));
			}
			for (int64_t d0 = 0; d0 < hd; d0 += 16) {
				__m512 acc[16];
				for (int j = 0; j < 16; j++) acc[j] = _mm512_load_ps(ot + (d0 + j) * TR);
				for (int64_t c = 0; c < ns; c++) {
					const __m512 p = _mm512_load_ps(st + (s0 + c) * TR);
					for (int j = 0; j < 16; j++) acc[j] = _mm512_fmadd_ps(p, _mm512_set1_ps(vf[(d0 + j) * SB + c]), acc[j]);
				}
				for (int j = 0; j < 16; j++) _mm512_store_ps(ot + (d0 + j) * TR, acc[j]);
			}
		}
	}
	// out = ot / lsum; rows that saw nothing are 0.
	float inv[TR] __attribute__((aligned(64)));
	_mm512_store_ps(inv, _mm512_maskz_div_ps(_mm512_cmp_ps_mask(lsum, _mm512_setzero_ps(), _CMP_GT_OQ),
						 _mm512_set1_ps(1.0f), lsum));
	for (int64_t r = 0; r < rows; r++) {
		const int64_t t = t0 + r / per, h = g * per + r % per;
		float *out = (float *)((char *)a->out + h * a->out_nb1 + t * a->out_nb2);
		for (int64_t d = 0; d < hd; d++) out[d] = ot[d * TR + r] * inv[r];
	}
}

// ---- The ggml operation ----

// The attention scale travels in the spare bytes of op_params, after
// ggml's custom op parameters (as in ternary.c).
#define TILED_SCALE_OFFSET 40
_Static_assert(3 * sizeof(void *) <= TILED_SCALE_OFFSET, "the scale overlaps ggml's custom op parameters");

static void op_attention_tiled(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	(void)userdata;
	const struct ggml_tensor *q = dst->src[0], *k = dst->src[1], *v = dst->src[2], *mask = dst->src[3];
	struct bitnet_att a = {
		.q = q->data, .q_nb1 = q->nb[1], .q_nb2 = q->nb[2],
		.k = k->data, .k_nb1 = k->nb[1], .k_nb2 = k->nb[2],
		.v = v->data, .v_nb1 = v->nb[1], .v_nb2 = v->nb[2],
		.mask = mask->data, .mask_nb1 = mask->nb[1],
		.out = dst->data, .out_nb1 = dst->nb[1], .out_nb2 = dst->nb[2],
		.hd = q->ne[0], .heads = q->ne[1], .kvheads = k->ne[1], .nkv = k->ne[2],
	};
	memcpy(&a.scale, (const char *)dst->op_params + TILED_SCALE_OFFSET, sizeof a.scale);
	const int64_t ntok = q->ne[2], per = a.heads / a.kvheads;
	const int64_t tt = bitnet_att_tile_rows(a.heads, a.kvheads) / per; // tokens per tile
	const int64_t tiles = (ntok + tt - 1) / tt;
	// Items tile by tile, kv heads within a tile; dealt round-robin, so
	// that both threads get early (short) and late (long) tokens.
	for (int64_t it = ith; it < tiles * a.kvheads; it += nth) {
		const int64_t tile = it / a.kvheads, g = it % a.kvheads;
		const int64_t t0 = tile * tt, nt = ntok - t0 < tt ? ntok - t0 : tt;
		bitnet_attention_tile(&a, g, t0, nt);
	}
}

const char *bitnet_att_tiled_check(const struct ggml_tensor *q, const struct ggml_tensor *k, const struct ggml_tensor *v,
				   const struct ggml_tensor *mask) {
	if (q->type != GGML_TYPE_F32 || q->nb[0] != sizeof(float) || q->ne[3] != 1) {
		return "queries are not F32";
	}
	if (q->ne[0] % 16 != 0 || q->ne[0] > MAX_HD) {
		return "head size";
	}
	if (k->type != GGML_TYPE_F16 || k->nb[0] != 2 || k->ne[0] != q->ne[0] || k->ne[1] == 0 || q->ne[1] % k->ne[1] != 0) {
		return "keys are not f16 [head size, kv heads, cells]";
	}
	if (bitnet_att_tile_rows(q->ne[1], k->ne[1]) == 0) {
		return "more than 16 query heads per kv head";
	}
	if (v->type != GGML_TYPE_F16 || v->nb[0] != 2 || v->ne[0] != k->ne[2] || v->ne[1] != q->ne[0] || v->ne[2] != k->ne[1]) {
		return "values are not f16 [cells, head size, kv heads]";
	}
	if (mask->type != GGML_TYPE_F32 || mask->nb[0] != sizeof(float) || mask->ne[0] != k->ne[2] || mask->ne[1] < q->ne[2]) {
		return "mask is not F32 [cells, tokens]";
	}
	if ((uint64_t)mask->nb[1] / sizeof(float) * (uint64_t)q->ne[2] > INT32_MAX) {
		return "mask too large";
	}
	return NULL;
}

struct ggml_tensor *bitnet_op_attention_tiled(struct ggml_context *ctx, struct ggml_tensor *q, struct ggml_tensor *k,
					      struct ggml_tensor *v, struct ggml_tensor *mask, float scale) {
	struct ggml_tensor *args[4] = {q, k, v, mask};
	struct ggml_tensor *t = ggml_custom_4d(ctx, GGML_TYPE_F32, q->ne[0], q->ne[1], q->ne[2], 1, args, 4,
					       op_attention_tiled, GGML_N_TASKS_MAX, NULL);
	memcpy((char *)t->op_params + TILED_SCALE_OFFSET, &scale, sizeof scale);
	return t;
}

#endif
