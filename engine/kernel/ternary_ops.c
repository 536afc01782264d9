// What every architecture shares: the packing of TQ2_0 weights into the
// kernels' layout and the ggml operations that call the kernels of this CPU
// (bitnet_quantize_rows and bitnet_matmul: ternary.c on x86-64,
// ternary_arm64.c on AArch64).
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

void bitnet_matmul(int level, const uint8_t *w, int64_t m, int64_t k, const uint8_t *xq, int64_t n, float *y,
		   size_t ystride, int64_t r0, int64_t r1) {
	const tile_fn *tiles = bitnet_tiles(resolve(level));
	const int64_t nb = k / BITNET_QK;
	const size_t xrb = bitnet_xq_row_bytes(k);
	for (int64_t r = r0; r < r1; r += TILE_ROWS) {
		for (int64_t c = 0; c < n; c += MAXC) {
			const int64_t cn = n - c < MAXC ? n - c : MAXC;
			tiles[cn - 1](w, m, nb, xq, xrb, y, ystride, r, c);
		}
	}
}

// ---- ggml operations ----

// Operation levels travel in userdata as an integer.
static int op_level(void *userdata) { return (int)(intptr_t)userdata; }

static void op_quantize(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	const struct ggml_tensor *x = dst->src[0];
	const int64_t n = x->ne[1];
	int64_t r0, r1;
	if (!share(n, ith, nth, 1, &r0, &r1)) {
		return;
	}
	bitnet_quantize_rows(op_level(userdata), (const float *)x->data, x->nb[1], x->ne[0], (uint8_t *)dst->data, r0, r1);
}

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

// A product of a few tokens quantizes them in every thread, on the stack:
// cheaper than a separate operation and the barrier after it.
static void op_matmul_f32(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	const struct ggml_tensor *w = dst->src[0];
	const struct ggml_tensor *x = dst->src[1];
	const int64_t m = w->ne[1];
	const int64_t k = w->ne[0];
	const int64_t n = x->ne[1];
	int64_t r0, r1;
	if (!share(m, ith, nth, TILE_ROWS, &r0, &r1)) {
		return;
	}
	const int level = op_level(userdata);
	uint8_t xq[BITNET_FUSED_MAX_TOKENS * (BITNET_XQ_HEAD + BITNET_FUSED_MAX_K)] __attribute__((aligned(64)));
	bitnet_quantize_rows(level, (const float *)x->data, x->nb[1], k, xq, 0, n);
	bitnet_matmul(level, (const uint8_t *)w->data, m, k, xq, n, (float *)dst->data, dst->nb[1], r0, r1);
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

struct ggml_tensor *bitnet_op_quantize(struct ggml_context *ctx, struct ggml_tensor *x, int level) {
	struct ggml_tensor *args[1] = {x};
	return ggml_custom_4d(ctx, GGML_TYPE_I8, (int64_t)bitnet_xq_row_bytes(x->ne[0]), x->ne[1], 1, 1, args, 1,
			      op_quantize, GGML_N_TASKS_MAX, (void *)(intptr_t)resolve(level));
}

int bitnet_op_fusable(const struct ggml_tensor *x) {
	return x->ne[1] <= BITNET_FUSED_MAX_TOKENS && x->ne[0] <= BITNET_FUSED_MAX_K;
}

struct ggml_tensor *bitnet_op_matmul_f32(struct ggml_context *ctx, struct ggml_tensor *w, struct ggml_tensor *x, int level) {
	struct ggml_tensor *args[2] = {w, x};
	return ggml_custom_4d(ctx, GGML_TYPE_F32, w->ne[1], x->ne[1], 1, 1, args, 2, op_matmul_f32, GGML_N_TASKS_MAX,
			      (void *)(intptr_t)resolve(level));
}

struct ggml_tensor *bitnet_op_matmul(struct ggml_context *ctx, struct ggml_tensor *w, struct ggml_tensor *xq, int level) {
	struct ggml_tensor *args[2] = {w, xq};
	return ggml_custom_4d(ctx, GGML_TYPE_F32, w->ne[1], xq->ne[1], 1, 1, args, 2, op_matmul, GGML_N_TASKS_MAX,
			      (void *)(intptr_t)resolve(level));
}
