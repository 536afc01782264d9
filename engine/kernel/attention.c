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

// The attention scale travels in the spare bytes of op_params, after
// ggml's custom op parameters (as in ternary.c).
#define TILED_SCALE_OFFSET 40
_Static_assert(3 * sizeof(void *) <= TILED_SCALE_OFFSET, "the scale overlaps ggml's custom op parameters");

// ---- Decoding over a long context: split across threads by cells ----
//
// bitnet_attention (ternary.c) gives each thread whole heads: with 20
// heads over 2 threads one kv head's keys and values are read by both,
// and a thread's share cannot be smaller than a head. Here the cells are
// cut in chunks (flash decoding): a work item is one kv head's query heads
// over one chunk, and leaves per head the chunk's unnormalized weighted
// sum of values, its score maximum and its sum of exponentials; a second
// operation merges the chunks. AVX2 + F16C + FMA, queries and
// probabilities in f32 (as bitnet_attention).

#define AVX2F __attribute__((target("avx2,fma,f16c")))
#define PART_GROUP 4 // query heads of one kv head handled together

AVX2F static inline __m256 exp8p(__m256 x) {
	// ggml's ggml_v_expf for AVX2 (MIT), for x in [-87, 0] (less is 0).
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

AVX2F static inline float hsum8p(__m256 v) {
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

// attention_part does query heads [hs, he) (at most 4, one kv head g) of
// token t over cells [c0, c1): part + (h - hs) * stride floats gets the
// head's hd values of sum_c e^(s_c - m) v_c, then m, then sum_c e^(s_c - m).
// scratch holds 4 × (c1 - c0 + 8) floats.
AVX2F static void attention_part(const struct bitnet_att *a, int64_t t, int64_t g, int64_t hs, int64_t he, int64_t c0,
				 int64_t c1, float *part, int64_t stride, float *scratch) {
	const int64_t hd = a->hd, nh = he - hs, n = c1 - c0, n8 = (n + 7) / 8 * 8;
	const float *mask = (const float *)((const char *)a->mask + t * a->mask_nb1);
	const uint8_t *kg = (const uint8_t *)a->k + g * a->k_nb1;
	const uint8_t *vg = (const uint8_t *)a->v + g * a->v_nb2;
	const float *qh[PART_GROUP];
	for (int64_t i = 0; i < PART_GROUP; i++) {
		qh[i] = (const float *)((const char *)a->q + (hs + (i < nh ? i : 0)) * a->q_nb1 + t * a->q_nb2);
	}
	float mx[PART_GROUP] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
	for (int64_t j = 0; j < n; j++) {
		const uint16_t *kr = (const uint16_t *)(kg + (c0 + j) * a->k_nb2);
		const char *ahead = (const char *)kg + (c0 + j + 6) * a->k_nb2;
		for (int64_t o = 0; o < hd * 2; o += 64) _mm_prefetch(ahead + o, _MM_HINT_T0);
		__m256 acc[PART_GROUP][2];
		for (int i = 0; i < PART_GROUP; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
		for (int64_t d = 0; d < hd; d += 16) {
			const __m256 k0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kr + d)));
			const __m256 k1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kr + d + 8)));
			for (int i = 0; i < PART_GROUP; i++) {
				acc[i][0] = _mm256_fmadd_ps(_mm256_loadu_ps(qh[i] + d), k0, acc[i][0]);
				acc[i][1] = _mm256_fmadd_ps(_mm256_loadu_ps(qh[i] + d + 8), k1, acc[i][1]);
			}
		}
		for (int i = 0; i < PART_GROUP; i++) {
			const float sc = hsum8p(_mm256_add_ps(acc[i][0], acc[i][1])) * a->scale + mask[c0 + j];
			scratch[i * n8 + j] = sc;
			mx[i] = sc > mx[i] ? sc : mx[i];
		}
	}
	float sums[PART_GROUP];
	for (int64_t i = 0; i < PART_GROUP; i++) {
		float *p = scratch + i * n8;
		// A head that sees no cell of the chunk: m = -inf, sum 0, o 0.
		const float m = isinf(mx[i]) ? 0.0f : mx[i];
		const __m256 vm = _mm256_set1_ps(m);
		__m256 vs = _mm256_setzero_ps();
		int64_t j = 0;
		for (; j + 8 <= n; j += 8) {
			const __m256 e = exp8p(_mm256_sub_ps(_mm256_loadu_ps(p + j), vm));
			_mm256_storeu_ps(p + j, e);
			vs = _mm256_add_ps(vs, e);
		}
		float sum = hsum8p(vs);
		for (; j < n; j++) {
			p[j] = isinf(p[j]) ? 0.0f : expf(p[j] - m);
			sum += p[j];
		}
		for (; j < n8; j++) p[j] = 0.0f;
		sums[i] = sum;
	}
	// Weighted values, two dimensions per pass over the cells (each
	// probability vector loaded serves both; 8 accumulators).
	const int64_t n8full = n / 8 * 8;
	for (int64_t d = 0; d < hd; d += 2) {
		const uint16_t *v0 = (const uint16_t *)(vg + d * a->v_nb1) + c0;
		const uint16_t *v1 = (const uint16_t *)(vg + (d + 1) * a->v_nb1) + c0;
		__m256 acc0[PART_GROUP], acc1[PART_GROUP];
		for (int i = 0; i < PART_GROUP; i++) acc0[i] = acc1[i] = _mm256_setzero_ps();
		for (int64_t j = 0; j < n8full; j += 8) {
			const __m256 x0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v0 + j)));
			const __m256 x1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v1 + j)));
			for (int i = 0; i < PART_GROUP; i++) {
				const __m256 p = _mm256_loadu_ps(scratch + i * n8 + j);
				acc0[i] = _mm256_fmadd_ps(p, x0, acc0[i]);
				acc1[i] = _mm256_fmadd_ps(p, x1, acc1[i]);
			}
		}
		for (int64_t i = 0; i < nh; i++) {
			float o0 = hsum8p(acc0[i]), o1 = hsum8p(acc1[i]);
			for (int64_t j = n8full; j < n; j++) {
				o0 += scratch[i * n8 + j] * _cvtsh_ss(v0[j]);
				o1 += scratch[i * n8 + j] * _cvtsh_ss(v1[j]);
			}
			part[i * stride + d] = o0;
			part[i * stride + d + 1] = o1;
		}
	}
	for (int64_t i = 0; i < nh; i++) {
		part[i * stride + hd] = mx[i];
		part[i * stride + hd + 1] = sums[i];
	}
}

// Partials: [hd + 2, heads, tokens, chunks] f32, pnb1/pnb2/pnb3 bytes
// apart.
struct att_parts {
	float *data;
	size_t nb1, nb2, nb3;
	int64_t chunks;
};

static float *part_at(const struct att_parts *p, int64_t h, int64_t t, int64_t c) {
	return (float *)((char *)p->data + h * p->nb1 + t * p->nb2 + c * p->nb3);
}

// split_items computes thread ith's share (of nth) of the partials: items
// (token, chunk, kv head, group of 4 query heads), dealt round-robin.
static void split_items(const struct bitnet_att *a, int64_t ntok, const struct att_parts *p, int ith, int nth) {
	const int64_t per = a->heads / a->kvheads, subs = (per + PART_GROUP - 1) / PART_GROUP;
	const int64_t len = (a->nkv + p->chunks - 1) / p->chunks;
	float scratch[PART_GROUP * (2 * BITNET_ATT_SPLIT_CHUNK + 8)];
	const int64_t items = ntok * p->chunks * a->kvheads * subs;
	for (int64_t it = ith; it < items; it += nth) {
		const int64_t sub = it % subs, g = it / subs % a->kvheads, c = it / subs / a->kvheads % p->chunks,
			      t = it / subs / a->kvheads / p->chunks;
		const int64_t hs = g * per + sub * PART_GROUP, he = hs + PART_GROUP < (g + 1) * per ? hs + PART_GROUP : (g + 1) * per;
		// Cells past the last visible one (cache padding) are skipped.
		const int64_t end = visible_end(a, t), c0 = c * len, c1 = c0 + len < end ? c0 + len : end;
		float *part = part_at(p, hs, t, c);
		const int64_t stride = (int64_t)(p->nb1 / sizeof(float));
		if (c0 >= c1) {
			for (int64_t i = 0; i < he - hs; i++) {
				memset(part + i * stride, 0, (size_t)a->hd * sizeof(float));
				part[i * stride + a->hd] = -INFINITY;
				part[i * stride + a->hd + 1] = 0;
			}
			continue;
		}
		attention_part(a, t, g, hs, he, c0, c1, part, stride, scratch);
	}
}

// merge_rows combines the chunks of (head, token) rows ith, ith + nth, …
static void merge_rows(const struct bitnet_att *a, int64_t ntok, const struct att_parts *p, int ith, int nth) {
	const int64_t hd = a->hd;
	for (int64_t r = ith; r < a->heads * ntok; r += nth) {
		const int64_t h = r % a->heads, t = r / a->heads;
		float mx = -INFINITY;
		for (int64_t c = 0; c < p->chunks; c++) {
			const float m = part_at(p, h, t, c)[hd];
			mx = m > mx ? m : mx;
		}
		float *out = (float *)((char *)a->out + h * a->out_nb1 + t * a->out_nb2);
		memset(out, 0, (size_t)hd * sizeof(float));
		if (isinf(mx)) continue; // the token sees no cell
		float sum = 0;
		for (int64_t c = 0; c < p->chunks; c++) {
			const float *ph = part_at(p, h, t, c);
			if (isinf(ph[hd])) continue;
			const float w = expf(ph[hd] - mx);
			sum += w * ph[hd + 1];
			for (int64_t d = 0; d < hd; d++) out[d] += w * ph[d];
		}
		for (int64_t d = 0; d < hd; d++) out[d] /= sum;
	}
}

static struct bitnet_att att_of(const struct ggml_tensor *dst, const struct ggml_tensor *const src[4]) {
	const struct ggml_tensor *q = src[0], *k = src[1], *v = src[2], *mask = src[3];
	struct bitnet_att a = {
		.q = q->data, .q_nb1 = q->nb[1], .q_nb2 = q->nb[2],
		.k = k->data, .k_nb1 = k->nb[1], .k_nb2 = k->nb[2],
		.v = v->data, .v_nb1 = v->nb[1], .v_nb2 = v->nb[2],
		.mask = mask->data, .mask_nb1 = mask->nb[1],
		.out = dst->data, .out_nb1 = dst->nb[1], .out_nb2 = dst->nb[2],
		.hd = q->ne[0], .heads = q->ne[1], .kvheads = k->ne[1], .nkv = k->ne[2],
	};
	memcpy(&a.scale, (const char *)dst->op_params + TILED_SCALE_OFFSET, sizeof a.scale);
	return a;
}

static void op_attention_split(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	(void)userdata;
	const struct bitnet_att a = att_of(dst, (const struct ggml_tensor *const *)dst->src);
	const struct att_parts p = {.data = dst->data, .nb1 = dst->nb[1], .nb2 = dst->nb[2], .nb3 = dst->nb[3], .chunks = dst->ne[3]};
	split_items(&a, dst->ne[2], &p, ith, nth);
}

static void op_attention_merge(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	(void)userdata;
	const struct ggml_tensor *pt = dst->src[0];
	struct bitnet_att a = {.out = dst->data, .out_nb1 = dst->nb[1], .out_nb2 = dst->nb[2], .hd = dst->ne[0], .heads = dst->ne[1]};
	const struct att_parts p = {.data = pt->data, .nb1 = pt->nb[1], .nb2 = pt->nb[2], .nb3 = pt->nb[3], .chunks = pt->ne[3]};
	merge_rows(&a, dst->ne[2], &p, ith, nth);
}

void bitnet_attention_split(const struct bitnet_att *a, int64_t ntok, int chunks, float *parts) {
	const size_t nb1 = (size_t)(a->hd + 2) * sizeof(float), nb2 = nb1 * (size_t)a->heads, nb3 = nb2 * (size_t)ntok;
	const struct att_parts p = {.data = parts, .nb1 = nb1, .nb2 = nb2, .nb3 = nb3, .chunks = chunks};
	split_items(a, ntok, &p, 0, 1);
	merge_rows(a, ntok, &p, 0, 1);
}

int bitnet_att_split_chunks(int64_t nkv) {
	const int64_t chunks = nkv / BITNET_ATT_SPLIT_CHUNK;
	return chunks < 2 ? 0 : chunks > BITNET_ATT_MAX_CHUNKS ? BITNET_ATT_MAX_CHUNKS : (int)chunks;
}

struct ggml_tensor *bitnet_op_attention_split(struct ggml_context *ctx, struct ggml_tensor *q, struct ggml_tensor *k,
					      struct ggml_tensor *v, struct ggml_tensor *mask, float scale, int chunks) {
	struct ggml_tensor *args[4] = {q, k, v, mask};
	struct ggml_tensor *parts = ggml_custom_4d(ctx, GGML_TYPE_F32, q->ne[0] + 2, q->ne[1], q->ne[2], chunks, args, 4,
						   op_attention_split, GGML_N_TASKS_MAX, NULL);
	memcpy((char *)parts->op_params + TILED_SCALE_OFFSET, &scale, sizeof scale);
	struct ggml_tensor *margs[1] = {parts};
	return ggml_custom_4d(ctx, GGML_TYPE_F32, q->ne[0], q->ne[1], q->ne[2], 1, margs, 1, op_attention_merge,
			      GGML_N_TASKS_MAX, NULL);
}

// ---- The ggml operation ----


static void op_attention_tiled(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	(void)userdata;
	const struct ggml_tensor *q = dst->src[0];
	struct bitnet_att a = att_of(dst, (const struct ggml_tensor *const *)dst->src);
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
