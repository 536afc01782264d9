#include "ternary.h"

// A 32-byte vector of the compiler's vector extension: AVX2 loads on
// x86-64-v3, NEON pairs on ARM; aligned(1) allows any address.
typedef uint64_t bitnet_v4u64 __attribute__((vector_size(32), aligned(1)));

uint64_t bitnet_stream_read(const uint8_t *p, size_t n) {
	bitnet_v4u64 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
	size_t i = 0;
	for (; i + 128 <= n; i += 128) {
		a0 += *(const bitnet_v4u64 *)(p + i);
		a1 += *(const bitnet_v4u64 *)(p + i + 32);
		a2 += *(const bitnet_v4u64 *)(p + i + 64);
		a3 += *(const bitnet_v4u64 *)(p + i + 96);
	}
	uint64_t s = 0;
	for (; i < n; i++) {
		s += p[i];
	}
	bitnet_v4u64 t = a0 + a1 + a2 + a3;
	return s + t[0] + t[1] + t[2] + t[3];
}
