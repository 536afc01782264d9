// Ternary matrix multiplication for BitNet b1.58 on ggml's CPU backend.
//
// The weights stay in ggml's TQ2_0 layout (blocks of 256 codes 0/1/2 for
// -1/0/+1, two bits each, and an f16 scale that BitNet shares across the
// whole tensor). Activations are quantized per token to int8 with one absmax
// scale, the scheme BitNet b1.58 was trained with, so a whole row's dot
// product is integer arithmetic and one multiplication at the end.
#ifndef BITNET_TERNARY_H
#define BITNET_TERNARY_H

#include <stddef.h>
#include <stdint.h>

#include "ggml.h"

#define BITNET_QK 256         // codes per TQ2_0 block
#define BITNET_TQ2_BLOCK 66   // bytes per TQ2_0 block: 64 code bytes + f16 scale
#define BITNET_XQ_HEAD 64     // bytes before each quantized activation row

enum bitnet_level {
	BITNET_LEVEL_AUTO = 0,
	BITNET_LEVEL_AVX2 = 1,
	BITNET_LEVEL_AVX512 = 2,  // AVX-512 BW + VNNI (zmm vpdpbusd)
	BITNET_LEVEL_AVXVNNI = 3, // AVX2 + AVX-VNNI (ymm vpdpbusd: Intel Alder Lake and later, AMD Zen 5)
	BITNET_LEVEL_NEON = 4,         // AArch64 Advanced SIMD (every ARMv8-A CPU)
	BITNET_LEVEL_NEON_DOTPROD = 5, // AArch64 + the ARMv8.2 dot product (sdot)
	// AVX512 with the weights in the 1.6-bit layout (bitnet_pack_t5;
	// ternary_t5.c): also needs AVX-512 VBMI (vpermi2b).
	BITNET_LEVEL_AVX512_T5 = 6,
};

// bitnet_avx512 reports whether a resolved level runs the AVX-512 kernels
// (activations in their order, the Q6_K and attention kernels).
static inline int bitnet_avx512(int level) { return level == BITNET_LEVEL_AVX512 || level == BITNET_LEVEL_AVX512_T5; }

// bitnet_detect returns the best level this CPU runs; bitnet_supports
// whether it runs level (a level of another architecture: never). The
// x86 levels are implemented in ternary.c, the NEON ones in
// ternary_arm64.c; the Q6_K and attention kernels below exist on x86 only.
// bitnet_stream_read reads n bytes at p as fast as the memory allows (a
// checksum, so that the reads cannot be skipped): the bench measures the
// memory bandwidth with it.
uint64_t bitnet_stream_read(const uint8_t *p, size_t n);

int bitnet_detect(void);
int bitnet_supports(int level);

// bitnet_xq_row_bytes is the size of one quantized activation row of k values.
size_t bitnet_xq_row_bytes(int64_t k);

// bitnet_quantize_rows quantizes rows [r0, r1) of x (k floats each, row i at
// x + i*xstride bytes) into xq (bitnet_xq_row_bytes(k) bytes per row).
void bitnet_quantize_rows(int level, const float *x, size_t xstride, int64_t k, uint8_t *xq, int64_t r0, int64_t r1);

// bitnet_pack rearranges a TQ2_0 tensor of m rows of k codes into the
// kernels' layout, in the same number of bytes (out must not overlap tq2).
// It returns 0, writing nothing, when the tensor does not qualify: m not a
// multiple of 4, or blocks with different scales (BitNet has one scale per
// tensor; the converter writes it into every block).
int bitnet_pack(const uint8_t *tq2, int64_t m, int64_t k, uint8_t *out);

// bitnet_t5_bytes is the size of an m x k tensor in the 1.6-bit layout;
// bitnet_pack_t5 writes a TQ2_0 tensor in it (into out, that many bytes),
// returning 0, writing nothing, when bitnet_pack would. bitnet_matmul at
// BITNET_LEVEL_AVX512_T5 reads weights in this layout (bitnet_matmul_t5),
// every other level bitnet_pack's. bitnet_weights_alloc returns memory
// for such weights (2 MB aligned; NULL when there is none), which
// bitnet_weights_free frees. x86-64 only.
size_t bitnet_t5_bytes(int64_t m, int64_t k);
int bitnet_pack_t5(const uint8_t *tq2, int64_t m, int64_t k, uint8_t *out);
void bitnet_matmul_t5(const uint8_t *w, int64_t m, int64_t k, const uint8_t *xq, int64_t n, float *y, size_t ystride,
		      int64_t r0, int64_t r1);
void *bitnet_weights_alloc(size_t n);
void bitnet_weights_free(void *p);

// bitnet_matmul computes y[c][r] = sum_k w[r][k] * x[c][k] for weight rows
// [r0, r1) (multiples of 4) and all n columns: w packed by bitnet_pack
// (m rows of k), xq the quantized columns, y column c at y + c*ystride
// bytes.
void bitnet_matmul(int level, const uint8_t *w, int64_t m, int64_t k, const uint8_t *xq, int64_t n, float *y,
		   size_t ystride, int64_t r0, int64_t r1);

// bitnet_tq2_uniform_scale returns 1 and sets *scale when every block of the
// rows x k TQ2_0 tensor at w carries the same scale.
int bitnet_tq2_uniform_scale(const uint8_t *w, int64_t rows, int64_t k, float *scale);

// Graph operations on ggml (ggml_custom_4d): quantize x (F32, [k, n]) and
// multiply a packed weight (ggml type TQ2_0, bytes from bitnet_pack) by the
// quantized activations.
struct ggml_tensor *bitnet_op_quantize(struct ggml_context *ctx, struct ggml_tensor *x, int level);
struct ggml_tensor *bitnet_op_matmul(struct ggml_context *ctx, struct ggml_tensor *w, struct ggml_tensor *xq, int level);

// bitnet_op_project multiplies nw packed weights of the same width by F32
// activations x of at most BITNET_FUSED_MAX_K values, quantizing them
// inside the operation when they are at most BITNET_FUSED_MAX_TOKENS tokens
// (decoding), in an operation before it otherwise (a batch), with:
//   BITNET_PROJ_NORM: x replaced by ggml's rms_norm(x, eps) * g first;
//   BITNET_PROJ_RELU2: two weights, the result relu(w0 x)² · (w1 x), in the
//     first half of each token's row ([2m, n]: the second half is w1 x);
//   BITNET_PROJ_RESIDUAL: one weight, the result res + w x.
// Otherwise the result holds weight i's [m_i, n] block after the blocks of
// the weights before it ([m, n] for one weight). bitnet_project_check
// returns NULL when the operands qualify, or the reason they do not.
#define BITNET_FUSED_MAX_TOKENS 4
#define BITNET_FUSED_MAX_K 8192
#define BITNET_PROJ_MAX_WEIGHTS 3
#define BITNET_PROJ_NORM 1
#define BITNET_PROJ_RELU2 2
#define BITNET_PROJ_RESIDUAL 4
int bitnet_op_fusable(const struct ggml_tensor *x);
const char *bitnet_project_check(struct ggml_tensor *const *w, int nw, const struct ggml_tensor *x,
				 const struct ggml_tensor *g, const struct ggml_tensor *res, int flags);
struct ggml_tensor *bitnet_op_project(struct ggml_context *ctx, struct ggml_tensor *const *w, int nw,
				      struct ggml_tensor *x, struct ggml_tensor *g, struct ggml_tensor *res, float eps,
				      int flags, int level);

// The Q6_K output matrix on AVX-512 BW CPUs (bitnet_detect() ==
// BITNET_LEVEL_AVX512): activations quantized per 256 values
// (bitnet_q8b_row_bytes per row), then y[c][r] = w[r] · x[c] for rows
// [r0, r1) of the Q6_K matrix w (rows wstride bytes apart).
size_t bitnet_q8b_row_bytes(int64_t k);
void bitnet_quantize_q8b_rows(const float *x, size_t xstride, int64_t k, uint8_t *out, int64_t r0, int64_t r1);
void bitnet_matmul_q6k(const uint8_t *w, size_t wstride, int64_t k, const uint8_t *xq, int64_t n, float *y,
		       size_t ystride, int64_t r0, int64_t r1);
const char *bitnet_q6k_check(const struct ggml_tensor *w, const struct ggml_tensor *x);
struct ggml_tensor *bitnet_op_q6k(struct ggml_context *ctx, struct ggml_tensor *w, struct ggml_tensor *x);

// Attention of a few tokens over f16 keys [hd, kvheads, nkv] and values
// [nkv, hd, kvheads] (ollama's PermutedV cache layout) with an F32 mask
// [nkv, tokens]: out[:, h, t] = softmax(scale q[:, h, t]·K + mask) V.
// With q8 set, keys and values are both q8_0 blocks (ggml's block_q8_0:
// an f16 scale, then 32 int8) laid out alike, [hd, kvheads, nkv]: v_nb1
// is the distance between kv heads and v_nb2 between cells, as for keys
// (the split and tiled kernels read that; bitnet_attention does not).
// With vrows set (always with q8), f16 values are laid out so too: rows
// per cell, as the runner's cache keeps them for these kernels (ollama's
// PermutedV layout writes into every row of the whole cache from the
// first token). The checks and operations below take vrows: the layout of
// an f16 value tensor cannot always be told from its shape.
// bitnet_attention does heads [h0, h1) of token t (scratch: 4 × nkv
// floats).
#define BITNET_ATT_MAX_KV 4096
#define BITNET_Q8_BLOCK 32 // values per q8_0 block
#define BITNET_Q8_BYTES 34 // bytes per q8_0 block
struct bitnet_att {
	const void *q, *k, *v, *mask;
	void *out;
	size_t q_nb1, q_nb2, k_nb1, k_nb2, v_nb1, v_nb2, mask_nb1, out_nb1, out_nb2;
	int64_t hd, heads, kvheads, nkv;
	float scale;
	int q8, vrows;
};
void bitnet_attention(const struct bitnet_att *a, int64_t t, int64_t h0, int64_t h1, float *scratch);
const char *bitnet_att_check(const struct ggml_tensor *q, const struct ggml_tensor *k, const struct ggml_tensor *v,
			     const struct ggml_tensor *mask, int vrows);
struct ggml_tensor *bitnet_op_attention(struct ggml_context *ctx, struct ggml_tensor *q, struct ggml_tensor *k,
					struct ggml_tensor *v, struct ggml_tensor *mask, float scale);

// Attention of a batch of tokens (prefill; attention.c), AVX-512 F/BW/VL
// CPUs: tiles of up to 16 query rows (bitnet_att_tile_rows: the heads of
// one kv head for a few tokens; 0 when a kv head has more than 16) with
// online softmax over chunks of cells. bitnet_attention_batch does thread
// ith's share of nth.
int bitnet_att_tile_rows(int64_t heads, int64_t kvheads);
void bitnet_attention_batch(const struct bitnet_att *a, int64_t ntok, int ith, int nth);
const char *bitnet_att_tiled_check(const struct ggml_tensor *q, const struct ggml_tensor *k, const struct ggml_tensor *v,
				   const struct ggml_tensor *mask, int vrows);
struct ggml_tensor *bitnet_op_attention_tiled(struct ggml_context *ctx, struct ggml_tensor *q, struct ggml_tensor *k,
					      struct ggml_tensor *v, struct ggml_tensor *mask, float scale, int vrows);

// Attention of a few tokens over a long context (attention.c), split by
// cells across threads: chunks of at least BITNET_ATT_SPLIT_CHUNK cells
// (bitnet_att_split_chunks gives how many, 0 for a context too short to
// split), each leaving partial sums that a second operation merges. The
// tensors are those of bitnet_att_check; a q8_0 cache (q8) and f16 values
// in rows (vrows) are read by this kernel only: for them, a short context
// is one chunk.
#define BITNET_ATT_SPLIT_CHUNK 256
#define BITNET_ATT_MAX_CHUNKS 16
int bitnet_att_split_chunks(int64_t nkv, int vrows);
// bitnet_attention_split runs both operations in the calling thread (tests);
// parts holds (hd + 2) × heads × ntok × chunks floats.
void bitnet_attention_split(const struct bitnet_att *a, int64_t ntok, int chunks, float *parts, int level);
struct ggml_tensor *bitnet_op_attention_split(struct ggml_context *ctx, struct ggml_tensor *q, struct ggml_tensor *k,
					      struct ggml_tensor *v, struct ggml_tensor *mask, float scale, int chunks, int level,
					      int vrows);

// bitnet_op_check returns NULL when x can be quantized by bitnet_op_quantize,
// or the reason it cannot.
const char *bitnet_op_check(const struct ggml_tensor *w, const struct ggml_tensor *x);

#endif
