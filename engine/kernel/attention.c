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

#include "ternary_impl.h"
#include "attention_x86.h"

#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ATT512 __attribute__((target("avx512f,avx512bw,avx512vl,f16c,fma")))

#define TR 16	  // rows of a tile (one zmm)
#define TK 64	  // cells per chunk (online softmax; keys and values converted to f32 once per chunk)
#define KB 16	  // cells of keys scored at a time


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

// q8x16 is values [o, o + 16) of a q8_0 row (o a multiple of 16) as f32.
ATT512 static inline __m512 q8x16(const uint8_t *row, int64_t o) {
	const __m512 x = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)q8_at(row, o))));
	return _mm512_mul_ps(x, _mm512_set1_ps(q8_scale(row, o)));
}

int bitnet_att_tile_rows(int64_t heads, int64_t kvheads) {
	const int64_t per = heads / kvheads;
	return per <= TR ? (int)(TR / per * per) : 0;
}

// bitnet_scratch returns this thread's scratch memory of at least n bytes
// (64-byte aligned), kept from call to call: a fresh allocation of this
// size every layer would be fresh pages the kernel zeroes each time. It is
// freed when the thread exits. One operation uses it at a time (the tiled
// attention, the 1.6-bit layout's unpacked rows).
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static _Thread_local struct {
	void *raw; // what malloc returned (freed on exit)
	void *p;   // raw rounded up to 64 bytes
	size_t n;
} scratch_buf;

static void scratch_free(void *raw) { free(raw); }
static void scratch_init(void) { pthread_key_create(&scratch_key, scratch_free); }

// The memory is aligned by hand: MinGW (the Windows build) has no
// aligned_alloc, and _aligned_malloc needs its own free.
void *bitnet_scratch(size_t n) {
	if (scratch_buf.n >= n) return scratch_buf.p;
	pthread_once(&scratch_once, scratch_init);
	free(scratch_buf.raw);
	n = (n + 65535) / 65536 * 65536;
	scratch_buf.raw = malloc(n + 64);
	scratch_buf.p = scratch_buf.raw ? (void *)(((uintptr_t)scratch_buf.raw + 63) & ~(uintptr_t)63) : NULL;
	scratch_buf.n = scratch_buf.raw ? n : 0;
	pthread_setspecific(scratch_key, scratch_buf.raw);
	return scratch_buf.p;
}

// A tile's state between chunks of cells: its queries transposed (qt[d*16
// + r]), its output accumulators (same layout), its rows' running maximum
// and sum of exponentials, and what it sees.
struct tile_state {
	float *qt, *ot;
	__m512 m, l;
	int64_t t0, nt, end;
	__m512i moff; // offset of each row's mask row, in floats
};

// tile_chunk advances tile s over cells [cb, cb + n) of kv head g, whose
// keys (kf[c*HD + d]) and values (vf[d*TK + c], or vf[c*HD + d] with VR:
// values in rows) the caller converted. HD and VR are compile-time
// constants where it is inlined (tile_chunk_128 …), so that every
// broadcast operand is the base register plus an immediate.
__attribute__((always_inline)) ATT512 static inline void tile_chunk(const struct bitnet_att *a, struct tile_state *s,
								      const float *kf, const float *vf, int64_t cb, int64_t n,
								      const int64_t HD, const int VR) {
	float st[TK * TR] __attribute__((aligned(64))); // scores, then probabilities: st[c*16 + r]
	const int64_t nc = s->end - cb < n ? s->end - cb : n;
	const __m512 scale = _mm512_set1_ps(a->scale), ninf = _mm512_set1_ps(-INFINITY);
	const float *mask = (const float *)a->mask + cb;
	__m512 cmax = ninf;
	for (int64_t c0 = 0; c0 < nc; c0 += KB) {
		__m512 acc[KB];
		for (int i = 0; i < KB; i++) acc[i] = _mm512_setzero_ps();
		const float *kb = kf + c0 * HD;
		for (int64_t d = 0; d < HD; d++) {
			const __m512 q = _mm512_load_ps(s->qt + d * TR);
			for (int i = 0; i < KB; i++) acc[i] = _mm512_fmadd_ps(q, _mm512_set1_ps(kb[i * HD + d]), acc[i]);
		}
		for (int64_t i = 0; i < KB; i++) {
			const __m512 sc = c0 + i < nc
				? _mm512_fmadd_ps(acc[i], scale, _mm512_i32gather_ps(s->moff, mask + c0 + i, 4))
				: ninf;
			_mm512_store_ps(st + (c0 + i) * TR, sc);
			cmax = _mm512_max_ps(cmax, sc);
		}
	}
	// Online softmax: rescale what the earlier chunks summed. A row that
	// has seen only -inf keeps the maximum -inf: 0 stands in for it, so
	// that exp(-inf - 0) = 0 and nothing becomes NaN.
	const __m512 mnew = _mm512_max_ps(s->m, cmax);
	const __m512 msafe = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(mnew, ninf, _CMP_EQ_OQ), mnew, _mm512_setzero_ps());
	const __m512 alpha = exp16(_mm512_sub_ps(s->m, msafe));
	__m512 l = _mm512_mul_ps(s->l, alpha);
	const int64_t nc16 = (nc + KB - 1) / KB * KB;
	for (int64_t c = 0; c < nc16; c++) {
		const __m512 p = exp16(_mm512_sub_ps(_mm512_load_ps(st + c * TR), msafe));
		_mm512_store_ps(st + c * TR, p);
		l = _mm512_add_ps(l, p);
	}
	s->l = l;
	s->m = mnew;
	// Values: ot[d] = alpha ot[d] + sum over cells of p[c] v[d][c].
	for (int64_t d0 = 0; d0 < HD; d0 += 16) {
		__m512 acc[16];
		for (int j = 0; j < 16; j++) acc[j] = _mm512_mul_ps(_mm512_load_ps(s->ot + (d0 + j) * TR), alpha);
		const float *vb = VR ? vf + d0 : vf + d0 * TK;
		for (int64_t c = 0; c < nc; c++) {
			const __m512 p = _mm512_load_ps(st + c * TR);
			for (int j = 0; j < 16; j++) {
				acc[j] = _mm512_fmadd_ps(p, _mm512_set1_ps(VR ? vb[c * HD + j] : vb[j * TK + c]), acc[j]);
			}
		}
		for (int j = 0; j < 16; j++) _mm512_store_ps(s->ot + (d0 + j) * TR, acc[j]);
	}
}

#define TILE_CHUNK(NAME, HD, VR)                                                                                  \
	ATT512 static void NAME(const struct bitnet_att *a, struct tile_state *s, const float *kf, const float *vf,     \
				int64_t cb, int64_t n) {                                                              \
		tile_chunk(a, s, kf, vf, cb, n, HD, VR);                                                              \
	}
TILE_CHUNK(tile_chunk_64, 64, 0)
TILE_CHUNK(tile_chunk_128, 128, 0)
TILE_CHUNK(tile_chunk_any, a->hd, 0)
TILE_CHUNK(tile_chunk_64r, 64, 1)
TILE_CHUNK(tile_chunk_128r, 128, 1)
TILE_CHUNK(tile_chunk_anyr, a->hd, 1)
#undef TILE_CHUNK

// bitnet_attention_batch does thread ith's share (of nth) of a batch of
// ntok tokens: tiles of consecutive tokens dealt round-robin; for each kv
// head, the thread walks the cells in chunks, converts each chunk's keys
// and values once, and advances all its tiles over it.
ATT512 void bitnet_attention_batch(const struct bitnet_att *a, int64_t ntok, int ith, int nth) {
	const int64_t hd = a->hd, per = a->heads / a->kvheads;
	const int64_t tt = bitnet_att_tile_rows(a->heads, a->kvheads) / per; // tokens per tile
	const int64_t tiles = (ntok + tt - 1) / tt, mine = tiles > ith ? (tiles - ith + nth - 1) / nth : 0;
	if (mine == 0) return;
	void (*chunk)(const struct bitnet_att *, struct tile_state *, const float *, const float *, int64_t, int64_t) =
		a->vrows ? (hd == 128 ? tile_chunk_128r : hd == 64 ? tile_chunk_64r : tile_chunk_anyr)
			 : (hd == 128 ? tile_chunk_128 : hd == 64 ? tile_chunk_64 : tile_chunk_any);
	// Per tile: queries and accumulators (2 × 16 × hd floats); then the
	// keys and values of one chunk as f32.
	const size_t per_tile = (size_t)(2 * TR * hd), total = (size_t)mine * per_tile + (size_t)(2 * TK * hd);
	const size_t states = ((size_t)mine * sizeof(struct tile_state) + 63) / 64 * 64;
	char *mem = bitnet_scratch(states + total * sizeof(float));
	if (mem == NULL) {
		// Out of memory for a few hundred KB: ggml could not go on
		// either. Leave the output as it is rather than crash here.
		return;
	}
	struct tile_state *ts = (struct tile_state *)mem;
	float *buf = (float *)(mem + states);
	float *kf = buf + (size_t)mine * per_tile, *vf = kf + TK * hd;
	const uint8_t *kbase = (const uint8_t *)a->k;
	for (int64_t g = 0; g < a->kvheads; g++) {
		int64_t gend = 0;
		for (int64_t i = 0; i < mine; i++) {
			struct tile_state *s = &ts[i];
			const int64_t tile = ith + i * nth;
			s->t0 = tile * tt;
			s->nt = ntok - s->t0 < tt ? ntok - s->t0 : tt;
			s->qt = buf + (size_t)i * per_tile;
			s->ot = s->qt + TR * hd;
			s->m = _mm512_set1_ps(-INFINITY);
			s->l = _mm512_setzero_ps();
			s->end = 0;
			int32_t moff[TR] __attribute__((aligned(64)));
			const int64_t rows = s->nt * per;
			for (int64_t r = 0; r < TR; r++) {
				// Rows past the tile's repeat its first (computed, never stored).
				const int64_t rr = r < rows ? r : 0, t = s->t0 + rr / per, h = g * per + rr % per;
				const float *q = (const float *)((const char *)a->q + h * a->q_nb1 + t * a->q_nb2);
				for (int64_t d = 0; d < hd; d++) s->qt[d * TR + r] = q[d];
				moff[r] = (int32_t)((t * a->mask_nb1) / sizeof(float));
			}
			s->moff = _mm512_load_si512(moff);
			for (int64_t t = s->t0; t < s->t0 + s->nt; t++) {
				const int64_t e = visible_end(a, t);
				s->end = e > s->end ? e : s->end;
			}
			gend = s->end > gend ? s->end : gend;
			memset(s->ot, 0, sizeof(float) * (size_t)(TR * hd));
		}
		const uint8_t *kg = kbase + g * a->k_nb1, *vg = value_head(a, g);
		for (int64_t cb = 0; cb < gend; cb += TK) {
			const int64_t n = gend - cb < TK ? gend - cb : TK;
			// Keys: kf[c*hd + d]; cells past n repeat the chunk's first.
			for (int64_t c = 0; c < (n + KB - 1) / KB * KB; c++) {
				const uint8_t *kr = kg + (cb + (c < n ? c : 0)) * a->k_nb2;
				for (int64_t d = 0; d < hd; d += 16) {
					_mm512_store_ps(kf + c * hd + d, a->q8 ? q8x16(kr, d)
									      : _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(kr + 2 * d))));
				}
			}
			// Values: rows (q8_0, or f16 with vrows) as vf[c*hd + d],
			// like the keys; f16 [cells, hd, kv heads] as vf[d*TK + c],
			// zero past n.
			for (int64_t c = 0; c < n && a->vrows; c++) {
				const uint8_t *vr = vg + (cb + c) * a->v_nb2;
				for (int64_t d = 0; d < hd; d += 16) {
					_mm512_store_ps(vf + c * hd + d, a->q8 ? q8x16(vr, d)
									      : _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(vr + 2 * d))));
				}
			}
			for (int64_t d = 0; d < hd && !a->vrows; d++) {
				const uint16_t *vr = (const uint16_t *)(vg + d * a->v_nb1) + cb;
				for (int64_t c = 0; c < TK; c += 16) {
					const __mmask16 k = c + 16 <= n ? 0xFFFF : c >= n ? 0 : (__mmask16)((1u << (n - c)) - 1);
					_mm512_store_ps(vf + d * TK + c, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, vr + c)));
				}
			}
			for (int64_t i = 0; i < mine; i++) {
				if (ts[i].end > cb) chunk(a, &ts[i], kf, vf, cb, n);
			}
		}
		// out = ot / l; rows that saw nothing are 0.
		for (int64_t i = 0; i < mine; i++) {
			struct tile_state *s = &ts[i];
			float inv[TR] __attribute__((aligned(64)));
			_mm512_store_ps(inv, _mm512_maskz_div_ps(_mm512_cmp_ps_mask(s->l, _mm512_setzero_ps(), _CMP_GT_OQ),
								 _mm512_set1_ps(1.0f), s->l));
			for (int64_t r = 0; r < s->nt * per; r++) {
				const int64_t t = s->t0 + r / per, h = g * per + r % per;
				float *out = (float *)((char *)a->out + h * a->out_nb1 + t * a->out_nb2);
				for (int64_t d = 0; d < hd; d++) out[d] = s->ot[d * TR + r] * inv[r];
			}
		}
	}
}

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

#define PART_GROUP 4 // query heads of one kv head handled together
// How far ahead the decode kernels prefetch: keys K_AHEAD cells ahead (a
// cell's key row of one kv head is 4 lines, cells 5 rows apart, too far
// apart for the hardware prefetcher), values V_AHEAD dimensions ahead (a
// dimension's row of a chunk is a few lines long, the next one a whole
// context away).
#define K_AHEAD 16
#define V_AHEAD 4

// Values in rows like keys (a q8_0 cache, a->q8, or f16 ones, a->vrows):
// a cell's value row is read whole, so the weighted sum runs over the
// cells with a few output dimensions of the group's heads in registers
// (16 with AVX2, 64 with AVX-512), one pass over the chunk's rows per few
// dimensions, all but the first from cache. f16 values [cells, hd, kv
// heads] are read a dimension at a time.

// f16x8 is values [o, o + 8) of an f16 row as f32.
AVX2F static inline __m256 f16x8(const uint8_t *row, int64_t o) {
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * o)));
}

// key_prefetch fetches the key row of a cell K_AHEAD cells on (a q8_0
// row is 34 bytes a block, not line-aligned: its last byte too).
static inline void key_prefetch(const struct bitnet_att *a, const char *ahead, const int q8) {
	const int64_t bytes = q8 ? a->hd / BITNET_Q8_BLOCK * BITNET_Q8_BYTES : a->hd * 2;
	for (int64_t o = 0; o < bytes; o += 64) _mm_prefetch(ahead + o, _MM_HINT_T0);
	if (q8) _mm_prefetch(ahead + bytes - 1, _MM_HINT_T0);
}

// rows8 adds to part + i * stride + [d0, d0 + 16) the weighted value rows
// (q8_0 with q8, else f16) of cells [c0, c0 + n) for the group's heads (p:
// their probabilities, pstride floats apart).
__attribute__((always_inline)) AVX2F static inline void rows8(const struct bitnet_att *a, const uint8_t *vg, int64_t c0,
								 int64_t n, const float *p, int64_t pstride, int64_t d0,
								 int64_t nh, float *part, int64_t stride, const int q8) {
	__m256 acc[PART_GROUP][2];
	for (int i = 0; i < PART_GROUP; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
	for (int64_t j = 0; j < n; j++) {
		const uint8_t *vr = vg + (c0 + j) * a->v_nb2;
		if (d0 == 0) key_prefetch(a, (const char *)vr + K_AHEAD * a->v_nb2, q8);
		const __m256 x0 = q8 ? q8x8(vr, d0) : f16x8(vr, d0), x1 = q8 ? q8x8(vr, d0 + 8) : f16x8(vr, d0 + 8);
		for (int i = 0; i < PART_GROUP; i++) {
			const __m256 pj = _mm256_set1_ps(p[i * pstride + j]);
			acc[i][0] = _mm256_fmadd_ps(pj, x0, acc[i][0]);
			acc[i][1] = _mm256_fmadd_ps(pj, x1, acc[i][1]);
		}
	}
	for (int64_t i = 0; i < nh; i++) {
		_mm256_storeu_ps(part + i * stride + d0, acc[i][0]);
		_mm256_storeu_ps(part + i * stride + d0 + 8, acc[i][1]);
	}
}

// part8 does query heads [hs, he) (at most 4, one kv head g) of token t
// over cells [c0, c1): part + (h - hs) * stride floats gets the head's hd
// values of sum_c e^(s_c - m) v_c, then m, then sum_c e^(s_c - m).
// scratch holds 4 × (c1 - c0 + 8) floats. q8: the cache is q8_0; vrows:
// the values are in rows (always with q8).
__attribute__((always_inline)) AVX2F static inline void part8(const struct bitnet_att *a, int64_t t, int64_t g, int64_t hs,
								 int64_t he, int64_t c0, int64_t c1, float *part, int64_t stride,
								 float *scratch, const int q8, const int vrows) {
	const int64_t hd = a->hd, nh = he - hs, n = c1 - c0, n8 = (n + 7) / 8 * 8;
	const float *mask = (const float *)((const char *)a->mask + t * a->mask_nb1);
	const uint8_t *kg = (const uint8_t *)a->k + g * a->k_nb1;
	const uint8_t *vg = value_head(a, g);
	const float *qh[PART_GROUP];
	for (int64_t i = 0; i < PART_GROUP; i++) {
		qh[i] = (const float *)((const char *)a->q + (hs + (i < nh ? i : 0)) * a->q_nb1 + t * a->q_nb2);
	}
	float mx[PART_GROUP] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
	for (int64_t j = 0; j < n; j++) {
		const uint8_t *kr = kg + (c0 + j) * a->k_nb2;
		key_prefetch(a, (const char *)kg + (c0 + j + K_AHEAD) * a->k_nb2, q8);
		__m256 acc[PART_GROUP][2];
		for (int i = 0; i < PART_GROUP; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
		for (int64_t d = 0; d < hd; d += 16) {
			const __m256 k0 = q8 ? q8x8(kr, d) : f16x8(kr, d);
			const __m256 k1 = q8 ? q8x8(kr, d + 8) : f16x8(kr, d + 8);
			for (int i = 0; i < PART_GROUP; i++) {
				acc[i][0] = _mm256_fmadd_ps(_mm256_loadu_ps(qh[i] + d), k0, acc[i][0]);
				acc[i][1] = _mm256_fmadd_ps(_mm256_loadu_ps(qh[i] + d + 8), k1, acc[i][1]);
			}
		}
		for (int i = 0; i < PART_GROUP; i++) {
			const float sc = hsum8(_mm256_add_ps(acc[i][0], acc[i][1])) * a->scale + mask[c0 + j];
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
			const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(p + j), vm));
			_mm256_storeu_ps(p + j, e);
			vs = _mm256_add_ps(vs, e);
		}
		float sum = hsum8(vs);
		for (; j < n; j++) {
			p[j] = isinf(p[j]) ? 0.0f : expf(p[j] - m);
			sum += p[j];
		}
		for (; j < n8; j++) p[j] = 0.0f;
		sums[i] = sum;
	}
	if (vrows) {
		for (int64_t d0 = 0; d0 < hd; d0 += 16) rows8(a, vg, c0, n, scratch, n8, d0, nh, part, stride, q8);
	}
	// Weighted values, two dimensions per pass over the cells (each
	// probability vector loaded serves both; 8 accumulators).
	const int64_t n8full = n / 8 * 8;
	for (int64_t d = 0; d < hd && !vrows; d += 2) {
		const uint16_t *v0 = (const uint16_t *)(vg + d * a->v_nb1) + c0;
		const uint16_t *v1 = (const uint16_t *)(vg + (d + 1) * a->v_nb1) + c0;
		__m256 acc0[PART_GROUP], acc1[PART_GROUP];
		for (int i = 0; i < PART_GROUP; i++) acc0[i] = acc1[i] = _mm256_setzero_ps();
		const char *pf = d + V_AHEAD < hd ? (const char *)v0 + V_AHEAD * a->v_nb1 : NULL;
		for (int64_t j = 0; j < n8full; j += 8) {
			if (pf && j % 32 == 0) {
				_mm_prefetch(pf + 2 * j, _MM_HINT_T0);
				_mm_prefetch(pf + a->v_nb1 + 2 * j, _MM_HINT_T0);
			}
			const __m256 x0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v0 + j)));
			const __m256 x1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v1 + j)));
			for (int i = 0; i < PART_GROUP; i++) {
				const __m256 p = _mm256_loadu_ps(scratch + i * n8 + j);
				acc0[i] = _mm256_fmadd_ps(p, x0, acc0[i]);
				acc1[i] = _mm256_fmadd_ps(p, x1, acc1[i]);
			}
		}
		for (int64_t i = 0; i < nh; i++) {
			float o0 = hsum8(acc0[i]), o1 = hsum8(acc1[i]);
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

AVX2F static void attention_part(const struct bitnet_att *a, int64_t t, int64_t g, int64_t hs, int64_t he, int64_t c0,
				 int64_t c1, float *part, int64_t stride, float *scratch) {
	part8(a, t, g, hs, he, c0, c1, part, stride, scratch, 0, 0);
}
AVX2F static void attention_part_rows(const struct bitnet_att *a, int64_t t, int64_t g, int64_t hs, int64_t he,
				      int64_t c0, int64_t c1, float *part, int64_t stride, float *scratch) {
	part8(a, t, g, hs, he, c0, c1, part, stride, scratch, 0, 1);
}
AVX2F static void attention_part_q8(const struct bitnet_att *a, int64_t t, int64_t g, int64_t hs, int64_t he, int64_t c0,
				    int64_t c1, float *part, int64_t stride, float *scratch) {
	part8(a, t, g, hs, he, c0, c1, part, stride, scratch, 1, 1);
}

// sum4 returns the sums of the 16 lanes of a, b, c and d, in that order.
ATT512 static inline __m128 sum4(__m512 a, __m512 b, __m512 c, __m512 d) {
	const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
	const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
	// Each 128-bit lane: a, b, c, d partial sums.
	__m512 s = _mm512_add_ps(_mm512_shuffle_ps(ab, cd, 0x44), _mm512_shuffle_ps(ab, cd, 0xEE));
	s = _mm512_add_ps(s, _mm512_shuffle_f32x4(s, s, 0x4E));
	s = _mm512_add_ps(s, _mm512_shuffle_f32x4(s, s, 0xB1));
	return _mm512_castps512_ps128(s);
}

// rows16 is rows8 with AVX-512, for dimensions [d0, d0 + 16 ND).
__attribute__((always_inline)) ATT512 static inline void rows16(const struct bitnet_att *a, const uint8_t *vg, int64_t c0,
								  int64_t n, const float *p, int64_t pstride, int64_t d0,
								  int64_t nh, float *part, int64_t stride, const int ND,
								  const int q8) {
	__m512 acc[PART_GROUP][4];
	for (int i = 0; i < PART_GROUP; i++) {
		for (int u = 0; u < ND; u++) acc[i][u] = _mm512_setzero_ps();
	}
	for (int64_t j = 0; j < n; j++) {
		const uint8_t *vr = vg + (c0 + j) * a->v_nb2;
		if (d0 == 0) key_prefetch(a, (const char *)vr + K_AHEAD * a->v_nb2, q8);
		__m512 pj[PART_GROUP];
		for (int i = 0; i < PART_GROUP; i++) pj[i] = _mm512_set1_ps(p[i * pstride + j]);
		for (int u = 0; u < ND; u++) {
			const __m512 x = q8 ? q8x16(vr, d0 + 16 * u)
					    : _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(vr + 2 * (d0 + 16 * u))));
			for (int i = 0; i < PART_GROUP; i++) acc[i][u] = _mm512_fmadd_ps(pj[i], x, acc[i][u]);
		}
	}
	for (int64_t i = 0; i < nh; i++) {
		for (int u = 0; u < ND; u++) _mm512_storeu_ps(part + i * stride + d0 + 16 * u, acc[i][u]);
	}
}

// part16 is part8 with AVX-512: 16 cells a vector, four heads' dot
// products reduced together.
__attribute__((always_inline)) ATT512 static inline void part16(const struct bitnet_att *a, int64_t t, int64_t g, int64_t hs,
								  int64_t he, int64_t c0, int64_t c1, float *part,
								  int64_t stride, float *scratch, const int q8, const int vrows) {
	const int64_t hd = a->hd, nh = he - hs, n = c1 - c0, n16 = (n + 15) / 16 * 16;
	const float *mask = (const float *)((const char *)a->mask + t * a->mask_nb1);
	const uint8_t *kg = (const uint8_t *)a->k + g * a->k_nb1;
	const uint8_t *vg = value_head(a, g);
	const float *qh[PART_GROUP];
	for (int64_t i = 0; i < PART_GROUP; i++) {
		qh[i] = (const float *)((const char *)a->q + (hs + (i < nh ? i : 0)) * a->q_nb1 + t * a->q_nb2);
	}
	__m128 mx = _mm_set1_ps(-INFINITY);
	const __m128 scale = _mm_set1_ps(a->scale);
	for (int64_t j = 0; j < n; j++) {
		const uint8_t *kr = kg + (c0 + j) * a->k_nb2;
		key_prefetch(a, (const char *)kg + (c0 + j + K_AHEAD) * a->k_nb2, q8);
		__m512 acc[PART_GROUP];
		for (int i = 0; i < PART_GROUP; i++) acc[i] = _mm512_setzero_ps();
		for (int64_t d = 0; d < hd; d += 16) {
			const __m512 k = q8 ? q8x16(kr, d) : _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(kr + 2 * d)));
			for (int i = 0; i < PART_GROUP; i++) acc[i] = _mm512_fmadd_ps(_mm512_loadu_ps(qh[i] + d), k, acc[i]);
		}
		const __m128 sc = _mm_fmadd_ps(sum4(acc[0], acc[1], acc[2], acc[3]), scale, _mm_set1_ps(mask[c0 + j]));
		mx = _mm_max_ps(mx, sc);
		float v[4];
		_mm_storeu_ps(v, sc);
		for (int i = 0; i < PART_GROUP; i++) scratch[i * n16 + j] = v[i];
	}
	float mxs[PART_GROUP], sums[PART_GROUP];
	_mm_storeu_ps(mxs, mx);
	for (int64_t i = 0; i < PART_GROUP; i++) {
		float *p = scratch + i * n16;
		for (int64_t j = n; j < n16; j++) p[j] = -INFINITY; // padding: probability 0
		// A head that sees no cell of the chunk: m = -inf, sum 0, o 0.
		const __m512 vm = _mm512_set1_ps(isinf(mxs[i]) ? 0.0f : mxs[i]);
		__m512 vs = _mm512_setzero_ps();
		for (int64_t j = 0; j < n16; j += 16) {
			const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(p + j), vm));
			_mm512_storeu_ps(p + j, e);
			vs = _mm512_add_ps(vs, e);
		}
		sums[i] = _mm512_reduce_add_ps(vs);
	}
	if (vrows) {
		int64_t d0 = 0;
		for (; d0 + 64 <= hd; d0 += 64) rows16(a, vg, c0, n, scratch, n16, d0, nh, part, stride, 4, q8);
		// The rest: 32 or 16 dimensions (hd is a multiple of 16).
		if (hd - d0 >= 32) {
			rows16(a, vg, c0, n, scratch, n16, d0, nh, part, stride, 2, q8);
			d0 += 32;
		}
		if (d0 < hd) rows16(a, vg, c0, n, scratch, n16, d0, nh, part, stride, 1, q8);
	}
	// Weighted values, two dimensions a pass over the cells (8
	// accumulators), 16 cells a vector.
	for (int64_t d = 0; d < hd && !vrows; d += 2) {
		const uint16_t *v0 = (const uint16_t *)(vg + d * a->v_nb1) + c0;
		const uint16_t *v1 = (const uint16_t *)(vg + (d + 1) * a->v_nb1) + c0;
		__m512 acc0[PART_GROUP], acc1[PART_GROUP];
		for (int i = 0; i < PART_GROUP; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
		const char *pf = d + V_AHEAD < hd ? (const char *)v0 + V_AHEAD * a->v_nb1 : NULL;
		for (int64_t j = 0; j < n16; j += 16) {
			if (pf) {
				_mm_prefetch(pf + 2 * j, _MM_HINT_T0);
				_mm_prefetch(pf + a->v_nb1 + 2 * j, _MM_HINT_T0);
			}
			const __mmask16 k = j + 16 <= n ? 0xFFFF : (__mmask16)((1u << (n - j)) - 1);
			const __m512 x0 = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, v0 + j));
			const __m512 x1 = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, v1 + j));
			for (int i = 0; i < PART_GROUP; i++) {
				const __m512 p = _mm512_loadu_ps(scratch + i * n16 + j);
				acc0[i] = _mm512_fmadd_ps(p, x0, acc0[i]);
				acc1[i] = _mm512_fmadd_ps(p, x1, acc1[i]);
			}
		}
		float o0[4], o1[4];
		_mm_storeu_ps(o0, sum4(acc0[0], acc0[1], acc0[2], acc0[3]));
		_mm_storeu_ps(o1, sum4(acc1[0], acc1[1], acc1[2], acc1[3]));
		for (int64_t i = 0; i < nh; i++) {
			part[i * stride + d] = o0[i];
			part[i * stride + d + 1] = o1[i];
		}
	}
	for (int64_t i = 0; i < nh; i++) {
		part[i * stride + hd] = mxs[i];
		part[i * stride + hd + 1] = sums[i];
	}
}

ATT512 static void attention_part512(const struct bitnet_att *a, int64_t t, int64_t g, int64_t hs, int64_t he, int64_t c0,
				     int64_t c1, float *part, int64_t stride, float *scratch) {
	part16(a, t, g, hs, he, c0, c1, part, stride, scratch, 0, 0);
}
ATT512 static void attention_part512_rows(const struct bitnet_att *a, int64_t t, int64_t g, int64_t hs, int64_t he,
					  int64_t c0, int64_t c1, float *part, int64_t stride, float *scratch) {
	part16(a, t, g, hs, he, c0, c1, part, stride, scratch, 0, 1);
}
ATT512 static void attention_part512_q8(const struct bitnet_att *a, int64_t t, int64_t g, int64_t hs, int64_t he,
					int64_t c0, int64_t c1, float *part, int64_t stride, float *scratch) {
	part16(a, t, g, hs, he, c0, c1, part, stride, scratch, 1, 1);
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

// touch_cells reads the keys of every kv head of cells [c0, c1), and
// with a q8_0 cache their values, a line at a time, so that they are in
// the cache when a work item needs them. A kv head's key rows are a few
// hundred bytes apart (and not line-aligned in q8_0), a pattern the
// hardware prefetchers do not follow well, while all kv heads of a cell
// range are one contiguous range. (f16 values, [cells, head size, kv
// heads], are read sequentially already.) Loads, not prefetch
// instructions: on this project's AMD EPYC test machine prefetches of the
// same lines did far less (30 layers of a 2048-cell q8_0 cache read from
// memory by one thread: 39 ms with prefetches, 18 ms with loads; f16:
// 21 → 17 ms; BenchmarkAttSplit).
static void touch_cells(const struct bitnet_att *a, int64_t c0, int64_t c1) {
	if (c1 <= c0) return;
	const volatile char *k = (const char *)a->k + c0 * a->k_nb2;
	for (int64_t o = 0; o < (c1 - c0) * (int64_t)a->k_nb2; o += 64) (void)k[o];
	if (a->vrows) {
		const volatile char *v = (const char *)a->v + c0 * a->v_nb2;
		for (int64_t o = 0; o < (c1 - c0) * (int64_t)a->v_nb2; o += 64) (void)v[o];
	}
}

// split_items computes thread ith's share (of nth) of the partials: items
// (token, chunk, kv head, group of 4 query heads) in that order, each
// thread a run of consecutive items (whole chunks, but at the run's ends),
// so that a thread reads a contiguous range of the cache. A token's
// chunks divide the cells it sees (not the padded cache) evenly, so the
// runs are even work.
static void split_items(const struct bitnet_att *a, int64_t ntok, const struct att_parts *p, int level, int ith, int nth) {
	const int64_t per = a->heads / a->kvheads, subs = (per + PART_GROUP - 1) / PART_GROUP;
	float scratch[PART_GROUP * (2 * BITNET_ATT_SPLIT_CHUNK + 16)];
	const int avx512 = bitnet_avx512(level);
	const int64_t per_chunk = a->kvheads * subs, items = ntok * p->chunks * per_chunk;
	const int64_t first = items * ith / nth, last = items * (ith + 1) / nth;
	for (int64_t it = first; it < last; it++) {
		const int64_t sub = it % subs, g = it / subs % a->kvheads, c = it / per_chunk % p->chunks,
			      t = it / per_chunk / p->chunks;
		const int64_t hs = g * per + sub * PART_GROUP, he = hs + PART_GROUP < (g + 1) * per ? hs + PART_GROUP : (g + 1) * per;
		// Cells past the last visible one (cache padding) are skipped.
		const int64_t end = visible_end(a, t), len = (end + p->chunks - 1) / p->chunks;
		const int64_t c0 = c * len < end ? c * len : end, c1 = c0 + len < end ? c0 + len : end;
		if (sub == 0) {
			// The run's first chunk at once; then, a slice per kv head
			// item, the next chunk while this one is computed.
			if (it == first) touch_cells(a, c0, c1);
			if (c + 1 < p->chunks && (it / per_chunk + 1) * per_chunk < last) {
				const int64_t n0 = c1 + len * g / a->kvheads, n1 = c1 + len * (g + 1) / a->kvheads;
				touch_cells(a, n0, n1 < end ? n1 : end);
			}
		}
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
		if (avx512) {
			(a->q8 ? attention_part512_q8 : a->vrows ? attention_part512_rows : attention_part512)(a, t, g, hs, he, c0, c1,
													      part, stride, scratch);
		} else {
			(a->q8 ? attention_part_q8 : a->vrows ? attention_part_rows : attention_part)(a, t, g, hs, he, c0, c1, part,
												     stride, scratch);
		}
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

static void op_attention_split(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	const struct bitnet_att a = att_of(dst, (const struct ggml_tensor *const *)dst->src);
	const struct att_parts p = {.data = dst->data, .nb1 = dst->nb[1], .nb2 = dst->nb[2], .nb3 = dst->nb[3], .chunks = dst->ne[3]};
	split_items(&a, dst->ne[2], &p, (int)(intptr_t)userdata, ith, nth);
}

static void op_attention_merge(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	(void)userdata;
	const struct ggml_tensor *pt = dst->src[0];
	struct bitnet_att a = {.out = dst->data, .out_nb1 = dst->nb[1], .out_nb2 = dst->nb[2], .hd = dst->ne[0], .heads = dst->ne[1]};
	const struct att_parts p = {.data = pt->data, .nb1 = pt->nb[1], .nb2 = pt->nb[2], .nb3 = pt->nb[3], .chunks = pt->ne[3]};
	merge_rows(&a, dst->ne[2], &p, ith, nth);
}

void bitnet_attention_split(const struct bitnet_att *a, int64_t ntok, int chunks, float *parts, int level) {
	const size_t nb1 = (size_t)(a->hd + 2) * sizeof(float), nb2 = nb1 * (size_t)a->heads, nb3 = nb2 * (size_t)ntok;
	const struct att_parts p = {.data = parts, .nb1 = nb1, .nb2 = nb2, .nb3 = nb3, .chunks = chunks};
	split_items(a, ntok, &p, resolve(level), 0, 1);
	merge_rows(a, ntok, &p, 0, 1);
}

int bitnet_att_split_chunks(int64_t nkv, int vrows) {
	const int64_t chunks = nkv / BITNET_ATT_SPLIT_CHUNK;
	if (chunks < 2) return vrows ? 1 : 0; // bitnet_attention reads f16 values [cells, hd, kv heads] only
	return chunks > BITNET_ATT_MAX_CHUNKS ? BITNET_ATT_MAX_CHUNKS : (int)chunks;
}

struct ggml_tensor *bitnet_op_attention_split(struct ggml_context *ctx, struct ggml_tensor *q, struct ggml_tensor *k,
					      struct ggml_tensor *v, struct ggml_tensor *mask, float scale, int chunks, int level,
					      int vrows) {
	struct ggml_tensor *args[4] = {q, k, v, mask};
	struct ggml_tensor *parts = ggml_custom_4d(ctx, GGML_TYPE_F32, q->ne[0] + 2, q->ne[1], q->ne[2], chunks, args, 4,
						   op_attention_split, GGML_N_TASKS_MAX, (void *)(intptr_t)resolve(level));
	att_params(parts, scale, vrows);
	struct ggml_tensor *margs[1] = {parts};
	return ggml_custom_4d(ctx, GGML_TYPE_F32, q->ne[0], q->ne[1], q->ne[2], 1, margs, 1, op_attention_merge,
			      GGML_N_TASKS_MAX, NULL);
}

// ---- The ggml operation ----


static void op_attention_tiled(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	(void)userdata;
	const struct bitnet_att a = att_of(dst, (const struct ggml_tensor *const *)dst->src);
	bitnet_attention_batch(&a, dst->ne[2], ith, nth);
}

const char *bitnet_att_tiled_check(const struct ggml_tensor *q, const struct ggml_tensor *k, const struct ggml_tensor *v,
				   const struct ggml_tensor *mask, int vrows) {
	const char *why = att_operands_check(q, k, v, mask, vrows);
	if (why != NULL) {
		return why;
	}
	if (bitnet_att_tile_rows(q->ne[1], k->ne[1]) == 0) {
		return "more than 16 query heads per kv head";
	}
	if ((uint64_t)mask->nb[1] / sizeof(float) * (uint64_t)q->ne[2] > INT32_MAX) {
		return "mask too large";
	}
	return NULL;
}

struct ggml_tensor *bitnet_op_attention_tiled(struct ggml_context *ctx, struct ggml_tensor *q, struct ggml_tensor *k,
					      struct ggml_tensor *v, struct ggml_tensor *mask, float scale, int vrows) {
	struct ggml_tensor *args[4] = {q, k, v, mask};
	struct ggml_tensor *t = ggml_custom_4d(ctx, GGML_TYPE_F32, q->ne[0], q->ne[1], q->ne[2], 1, args, 4,
					       op_attention_tiled, GGML_N_TASKS_MAX, NULL);
	att_params(t, scale, vrows);
	return t;
}

#endif
