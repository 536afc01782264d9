// What every architecture shares: the packing of TQ2_0 weights into the
// kernels' layout and the ggml operations that call the kernels of this CPU
// (bitnet_quantize_rows and bitnet_matmul: ternary.c on x86-64,
// ternary_arm64.c on AArch64).
#include <math.h>

#include "ternary.h"
#include "ternary_impl.h"

size_t bitnet_xq_row_bytes(int64_t k) { return BITNET_XQ_HEAD + (size_t)k; }

int bitnet_tq2_uniform_scale(const uint8_t *w, int64_t rows, int64_t k, float *scale) {
	const int64_t nb = rows * (k / BITNET_QK);
	if (nb == 0) {
		return 0;
	}
	uint16_t first;
	memcpy(&first, w + 64, 2);
	for (int64_t b = 1; b < nb; b++) {
		uint16_t d;
		memcpy(&d, w + b * BITNET_TQ2_BLOCK + 64, 2);
		if (d != first) {
			return 0;
		}
	}
	*scale = half_to_float(w + 64);
	return 1;
}

int bitnet_pack(const uint8_t *tq2, int64_t m, int64_t k, uint8_t *out) {
	float scale;
	if (m <= 0 || m % TILE_ROWS != 0 || k <= 0 || k % BITNET_QK != 0 || !bitnet_tq2_uniform_scale(tq2, m, k, &scale)) {
		return 0;
	}
	const int64_t nb = k / BITNET_QK;
	uint8_t *scales = out + codes_bytes(m, nb);
	for (int64_t r = 0; r < m; r++) {
		const uint8_t *src = tq2 + (size_t)(r * nb) * BITNET_TQ2_BLOCK;
		uint8_t *dst = (uint8_t *)tile_row(out, nb, r);
		for (int64_t b = 0; b < nb; b++) {
			memcpy(dst + b * TILE_ROWS * 64, src + b * BITNET_TQ2_BLOCK, 64);
			memcpy(scales + (size_t)(r * nb + b) * 2, src + b * BITNET_TQ2_BLOCK + 64, 2);
		}
	}
	return 1;
}

// The tokens of a batch are taken in blocks of about TOKEN_BLOCK bytes of
// quantized activations, each block over every row of the range: a block
// stays in the core's L2 cache while the rows pass, where the whole batch
// (a 512-token batch is 1.3 MB at 2560 values a token, 3.5 MB at 6912) was
// read from L3 for every 4 rows. The weights are read once a block, a few
// MB. In-process alternation, 2 threads, 512 tokens: 1.05-1.14x for the
// 2B4T shapes with blocks of 32-256 KB.
#define TOKEN_BLOCK (128 << 10)

void bitnet_matmul(int level, const uint8_t *w, int64_t m, int64_t k, const uint8_t *xq, int64_t n, float *y,
		   size_t ystride, int64_t r0, int64_t r1) {
	level = resolve(level);
#if defined(__x86_64__)
	if (level == BITNET_LEVEL_AVX512_T5) {
		bitnet_matmul_t5(w, m, k, xq, n, y, ystride, r0, r1);
		return;
	}
#endif
	const tile_fn *tiles = bitnet_tiles(level);
	const int64_t nb = k / BITNET_QK;
	const size_t xrb = bitnet_xq_row_bytes(k);
	int64_t cs = (int64_t)(TOKEN_BLOCK / xrb) / MAXC * MAXC;
	if (cs < MAXC) cs = MAXC;
	for (int64_t c0 = 0; c0 < n; c0 += cs) {
		const int64_t c1 = n - c0 < cs ? n : c0 + cs;
		for (int64_t r = r0; r < r1; r += TILE_ROWS) {
			for (int64_t c = c0; c < c1; c += MAXC) {
				const int64_t cn = c1 - c < MAXC ? c1 - c : MAXC;
				tiles[cn - 1](w, m, nb, xq, xrb, y, ystride, r, c);
			}
		}
	}
}

// ---- ggml operations ----

// Operation levels travel in userdata as an integer.
static int op_level(void *userdata) { return (int)(intptr_t)userdata; }

static void op_matmul(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	const struct ggml_tensor *w = dst->src[0];
	const struct ggml_tensor *xq = dst->src[1];
	const int64_t m = w->ne[1];
	const int64_t k = w->ne[0];
	// Split rows in whole tiles.
	int64_t r0, r1;
	if (!share(m, ith, nth, TILE_ROWS, &r0, &r1)) {
		return;
	}
	bitnet_matmul(op_level(userdata), (const uint8_t *)w->data, m, k, (const uint8_t *)xq->data, xq->ne[1],
		      (float *)dst->data, dst->nb[1], r0, r1);
}

// ---- Projections, fused ----
//
// For a few tokens (decoding) one operation does what the graph would
// otherwise do in up to eight, each followed by ggml's barrier: the RMS norm
// of the activations times its weight, their quantization (every thread
// quantizes the few tokens itself, on the stack), the products by one to
// three weights of the same width (q/k/v, gate/up), and then the ReLU² gate
// (relu(gate)² · up) or the residual add. For a batch (prefill) the same
// work is two operations: the norm and the quantization, the threads taking
// tokens, then the products with the gate or the residual add, the threads
// taking rows. Each step is the float operation ggml performs (rms_norm,
// mul, relu, sqr, add in ggml-cpu), in the same order, so the results are
// bit for bit those of the unfused graph.

// The parameters travel in op_params after ggml's custom op parameters.
struct proj_params {
	float eps;
	int32_t flags; // BITNET_PROJ_*, and PROJ_QUANTIZED
	int32_t nw;    // weights
};
#define PROJ_OFFSET 24
// The operation's first operand is x already quantized (a batch: the
// quantize operation did the norm), not F32 rows.
#define PROJ_QUANTIZED 256
_Static_assert(3 * sizeof(void *) <= PROJ_OFFSET, "the parameters overlap ggml's custom op parameters");
_Static_assert(PROJ_OFFSET + sizeof(struct proj_params) <= GGML_MAX_OP_PARAMS, "the parameters do not fit op_params");

// NORM_ROWS rows are normed together: ggml adds a row's squares one after
// the other in a double, a chain of dependent adds the CPU waits on; the
// sums of several rows, each still in ggml's order, interleave.
#define NORM_ROWS 8
_Static_assert(BITNET_FUSED_MAX_TOKENS <= NORM_ROWS, "a fused operation norms its tokens together");

__attribute__((always_inline)) static inline void sums_of_squares(const float *const *x, const int n, int64_t k, double *sum) {
	double s[NORM_ROWS] = {0};
	for (int64_t i = 0; i < k; i++) {
		for (int j = 0; j < n; j++) s[j] += (double)(x[j][i] * x[j][i]);
	}
	for (int j = 0; j < n; j++) sum[j] = s[j];
}

// norm_scales sets scale[j] to the factor ggml's rms_norm multiplies row
// x[j] by, for n <= NORM_ROWS rows of k values.
static void norm_scales(const float *const *x, int n, int64_t k, float eps, float *scale) {
	double sum[NORM_ROWS] = {0};
	// A constant count for each n keeps the sums in registers.
	switch (n) {
	case 1: sums_of_squares(x, 1, k, sum); break;
	case 2: sums_of_squares(x, 2, k, sum); break;
	case 3: sums_of_squares(x, 3, k, sum); break;
	case 4: sums_of_squares(x, 4, k, sum); break;
	case 5: sums_of_squares(x, 5, k, sum); break;
	case 6: sums_of_squares(x, 6, k, sum); break;
	case 7: sums_of_squares(x, 7, k, sum); break;
	default: sums_of_squares(x, NORM_ROWS, k, sum); break;
	}
	for (int j = 0; j < n; j++) {
		const float mean = (float)(sum[j] / (double)k);
		scale[j] = 1.0f / sqrtf(mean + eps);
	}
}

// norm_rows quantizes rows x[0..n), n <= NORM_ROWS, of k values into xq
// (rows xrb bytes apart) after ggml's rms_norm and the multiplication by
// g, in h (k floats).
static void norm_rows(int level, const float *const *x, int n, const float *g, int64_t k, float eps, float *h,
		      uint8_t *xq, size_t xrb) {
	float scale[NORM_ROWS];
	norm_scales(x, n, k, eps, scale);
	for (int j = 0; j < n; j++) {
		for (int64_t i = 0; i < k; i++) h[i] = (x[j][i] * scale[j]) * g[i];
		bitnet_quantize_rows(level, h, 0, k, xq + j * xrb, 0, 1);
	}
}

// op_quantize quantizes rows of x (the threads take rows), after the norm
// (x replaced by rms_norm(x) * g) when its parameters carry
// BITNET_PROJ_NORM.
static void op_quantize(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	const struct ggml_tensor *x = dst->src[0];
	struct proj_params p;
	memcpy(&p, (const char *)dst->op_params + PROJ_OFFSET, sizeof p);
	const int64_t n = x->ne[1], k = x->ne[0];
	int64_t r0, r1;
	if (!share(n, ith, nth, 1, &r0, &r1)) {
		return;
	}
	const int level = op_level(userdata);
	if (!(p.flags & BITNET_PROJ_NORM)) {
		bitnet_quantize_rows(level, (const float *)x->data, x->nb[1], k, (uint8_t *)dst->data, r0, r1);
		return;
	}
	const float *g = (const float *)dst->src[1]->data;
	float h[BITNET_FUSED_MAX_K] __attribute__((aligned(64)));
	const size_t xrb = bitnet_xq_row_bytes(k);
	for (int64_t t0 = r0; t0 < r1; t0 += NORM_ROWS) {
		const int n = r1 - t0 < NORM_ROWS ? (int)(r1 - t0) : NORM_ROWS;
		const float *rows[NORM_ROWS];
		for (int j = 0; j < n; j++) rows[j] = (const float *)((const char *)x->data + (t0 + j) * x->nb[1]);
		norm_rows(level, rows, n, g, k, p.eps, h, (uint8_t *)dst->data + t0 * xrb, xrb);
	}
}

// The operands of a projection: x, then the norm's weight and the residual
// when the flags say so, then the weights.
struct proj {
	struct proj_params p;
	const struct ggml_tensor *x, *g, *res, *w[BITNET_PROJ_MAX_WEIGHTS];
};

static struct proj proj_of(const struct ggml_tensor *dst) {
	struct proj pr = {0};
	memcpy(&pr.p, (const char *)dst->op_params + PROJ_OFFSET, sizeof pr.p);
	int s = 0;
	pr.x = dst->src[s++];
	if (pr.p.flags & BITNET_PROJ_NORM) pr.g = dst->src[s++];
	if (pr.p.flags & BITNET_PROJ_RESIDUAL) pr.res = dst->src[s++];
	for (int i = 0; i < pr.p.nw; i++) pr.w[i] = dst->src[s++];
	return pr;
}

static void op_project(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	const struct proj pr = proj_of(dst);
	const int level = op_level(userdata);
	const int64_t k = pr.w[0]->ne[0], n = pr.x->ne[1], m = pr.w[0]->ne[1];
	const size_t xrb = bitnet_xq_row_bytes(k);
	uint8_t stack[BITNET_FUSED_MAX_TOKENS * (BITNET_XQ_HEAD + BITNET_FUSED_MAX_K)] __attribute__((aligned(64)));
	const uint8_t *xq = (const uint8_t *)pr.x->data;
	if (!(pr.p.flags & PROJ_QUANTIZED)) {
		if (pr.g != NULL) {
			const float *rows[BITNET_FUSED_MAX_TOKENS];
			for (int64_t t = 0; t < n; t++) rows[t] = (const float *)((const char *)pr.x->data + t * pr.x->nb[1]);
			float h[BITNET_FUSED_MAX_K] __attribute__((aligned(64)));
			norm_rows(level, rows, (int)n, (const float *)pr.g->data, k, pr.p.eps, h, stack, xrb);
		} else {
			bitnet_quantize_rows(level, (const float *)pr.x->data, pr.x->nb[1], k, stack, 0, n);
		}
		xq = stack;
	}
	float *y = (float *)dst->data;
	int64_t r0, r1;
	if (pr.p.flags & BITNET_PROJ_RELU2) {
		// Gate rows into the first m floats of each token, up rows into
		// the second m (the output is the first half).
		const size_t ys = dst->nb[1];
		float *up = y + m;
		if (!share(m, ith, nth, TILE_ROWS, &r0, &r1)) {
			return;
		}
		bitnet_matmul(level, (const uint8_t *)pr.w[0]->data, m, k, xq, n, y, ys, r0, r1);
		bitnet_matmul(level, (const uint8_t *)pr.w[1]->data, m, k, xq, n, up, ys, r0, r1);
		for (int64_t t = 0; t < n; t++) {
			float *yt = (float *)((char *)y + t * ys);
			const float *ut = (const float *)((const char *)up + t * ys);
			for (int64_t r = r0; r < r1; r++) {
				const float a = yt[r] > 0.f ? yt[r] : 0.f;
				yt[r] = (a * a) * ut[r];
			}
		}
		return;
	}
	// Weight i's results are a block of n rows of its m_i values, after
	// the blocks of the weights before it; the threads split the rows of
	// all weights as one range.
	int64_t total = 0;
	for (int i = 0; i < pr.p.nw; i++) total += pr.w[i]->ne[1];
	if (!share(total, ith, nth, TILE_ROWS, &r0, &r1)) {
		return;
	}
	int64_t base = 0;
	float *block = y;
	for (int i = 0; i < pr.p.nw && r0 < r1; i++) {
		const int64_t mi = pr.w[i]->ne[1];
		if (r0 < base + mi) {
			const int64_t hi = r1 < base + mi ? r1 : base + mi;
			bitnet_matmul(level, (const uint8_t *)pr.w[i]->data, mi, k, xq, n, block, (size_t)mi * sizeof(float),
				      r0 - base, hi - base);
			if (pr.res != NULL) {
				for (int64_t t = 0; t < n; t++) {
					float *yt = block + t * mi;
					const float *rt = (const float *)((const char *)pr.res->data + t * pr.res->nb[1]);
					for (int64_t r = r0 - base; r < hi - base; r++) yt[r] = rt[r] + yt[r];
				}
			}
			r0 = hi;
		}
		base += mi;
		block += mi * n;
	}
}

const char *bitnet_op_check(const struct ggml_tensor *w, const struct ggml_tensor *x) {
	if (w->type != GGML_TYPE_TQ2_0) {
		return "weight is not TQ2_0";
	}
	if (w->ne[2] != 1 || w->ne[3] != 1 || w->ne[0] % BITNET_QK != 0 || w->ne[1] % TILE_ROWS != 0) {
		return "weight shape";
	}
	if (x->type != GGML_TYPE_F32 || x->nb[0] != sizeof(float)) {
		return "activations are not contiguous F32 rows";
	}
	if (x->ne[0] != w->ne[0] || x->ne[2] != 1 || x->ne[3] != 1) {
		return "activation shape";
	}
	return NULL;
}

// quantize_op is the quantization of x, after the norm with weight g when g
// is set.
static struct ggml_tensor *quantize_op(struct ggml_context *ctx, struct ggml_tensor *x, struct ggml_tensor *g, float eps,
				       int level) {
	struct ggml_tensor *args[2] = {x, g};
	struct ggml_tensor *t = ggml_custom_4d(ctx, GGML_TYPE_I8, (int64_t)bitnet_xq_row_bytes(x->ne[0]), x->ne[1], 1, 1,
					       args, g != NULL ? 2 : 1, op_quantize, GGML_N_TASKS_MAX,
					       (void *)(intptr_t)resolve(level));
	const struct proj_params p = {eps, g != NULL ? BITNET_PROJ_NORM : 0, 0};
	memcpy((char *)t->op_params + PROJ_OFFSET, &p, sizeof p);
	return t;
}

struct ggml_tensor *bitnet_op_quantize(struct ggml_context *ctx, struct ggml_tensor *x, int level) {
	return quantize_op(ctx, x, NULL, 0.0f, level);
}

int bitnet_op_fusable(const struct ggml_tensor *x) {
	return x->ne[1] <= BITNET_FUSED_MAX_TOKENS && x->ne[0] <= BITNET_FUSED_MAX_K;
}

static int is_f32_rows(const struct ggml_tensor *t) {
	return t->type == GGML_TYPE_F32 && t->nb[0] == sizeof(float) && t->ne[2] == 1 && t->ne[3] == 1;
}

const char *bitnet_project_check(struct ggml_tensor *const *w, int nw, const struct ggml_tensor *x,
				 const struct ggml_tensor *g, const struct ggml_tensor *res, int flags) {
	if (nw < 1 || nw > BITNET_PROJ_MAX_WEIGHTS) {
		return "one to three weights";
	}
	if (x->ne[0] > BITNET_FUSED_MAX_K) {
		return "activations are too wide";
	}
	// Each weight's check covers the activations' type and shape.
	for (int i = 0; i < nw; i++) {
		const char *msg = bitnet_op_check(w[i], x);
		if (msg != NULL) {
			return msg;
		}
	}
	if ((g != NULL) != ((flags & BITNET_PROJ_NORM) != 0) || (res != NULL) != ((flags & BITNET_PROJ_RESIDUAL) != 0)) {
		return "flags and operands disagree";
	}
	if (g != NULL && (g->type != GGML_TYPE_F32 || !ggml_is_contiguous(g) || ggml_nelements(g) != x->ne[0])) {
		return "norm weight is not F32 values of the activations' width";
	}
	if ((flags & BITNET_PROJ_RELU2) && (nw != 2 || w[0]->ne[1] != w[1]->ne[1] || res != NULL)) {
		return "the ReLU² gate takes two weights of the same height and no residual";
	}
	if (res != NULL && (nw != 1 || !is_f32_rows(res) || res->ne[0] != w[0]->ne[1] || res->ne[1] != x->ne[1])) {
		return "residual is not F32 rows of the result's shape";
	}
	return NULL;
}

struct ggml_tensor *bitnet_op_project(struct ggml_context *ctx, struct ggml_tensor *const *w, int nw,
				      struct ggml_tensor *x, struct ggml_tensor *g, struct ggml_tensor *res, float eps,
				      int flags, int level) {
	struct ggml_tensor *args[3 + BITNET_PROJ_MAX_WEIGHTS];
	int na = 0;
	if (x->ne[1] > BITNET_FUSED_MAX_TOKENS) {
		// A batch: quantized (and normed) first, by tokens.
		x = quantize_op(ctx, x, g, eps, level);
		g = NULL;
		flags = (flags & ~BITNET_PROJ_NORM) | PROJ_QUANTIZED;
	}
	args[na++] = x;
	if (g != NULL) args[na++] = g;
	if (res != NULL) args[na++] = res;
	int64_t rows = 0;
	for (int i = 0; i < nw; i++) {
		args[na++] = w[i];
		rows += w[i]->ne[1];
	}
	// [rows, n]: one weight's result, or the gate's and up's rows per token
	// (the two weights have the same height); the blocks of several
	// weights are one flat row.
	int64_t ne0 = rows, ne1 = x->ne[1];
	if (nw > 1 && !(flags & BITNET_PROJ_RELU2)) {
		ne0 = rows * x->ne[1];
		ne1 = 1;
	}
	struct ggml_tensor *t = ggml_custom_4d(ctx, GGML_TYPE_F32, ne0, ne1, 1, 1, args, na, op_project, GGML_N_TASKS_MAX,
					       (void *)(intptr_t)resolve(level));
	const struct proj_params p = {eps, flags, nw};
	memcpy((char *)t->op_params + PROJ_OFFSET, &p, sizeof p);
	return t;
}

struct ggml_tensor *bitnet_op_matmul(struct ggml_context *ctx, struct ggml_tensor *w, struct ggml_tensor *xq, int level) {
	struct ggml_tensor *args[2] = {w, xq};
	return ggml_custom_4d(ctx, GGML_TYPE_F32, w->ne[1], xq->ne[1], 1, 1, args, 2, op_matmul, GGML_N_TASKS_MAX,
			      (void *)(intptr_t)resolve(level));
}
