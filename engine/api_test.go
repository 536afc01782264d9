package engine

import "testing"

func TestDefaultThreads(t *testing.T) {
	for _, tc := range []struct{ cpus, want int }{{0, 1}, {1, 1}, {2, 2}, {3, 2}, {4, 3}, {16, 15}} {
		if got := DefaultThreads(tc.cpus); got != tc.want {
			t.Errorf("DefaultThreads(%d) = %d, want %d", tc.cpus, got, tc.want)
		}
	}
}

// TestKVCacheBytes: 2B4T's cache (30 blocks, 5 kv heads of 128) for 4096
// tokens: 315 MB in f16, 167 MB in q8_0 (34 bytes per 32 values).
func TestKVCacheBytes(t *testing.T) {
	for _, tc := range []struct {
		kv   string
		want int64
	}{{"f16", 314_572_800}, {"", 314_572_800}, {"q8_0", 167_116_800}} {
		if got := KVCacheBytes(30, 5, 128, 4096, tc.kv); got != tc.want {
			t.Errorf("%q: %d, want %d", tc.kv, got, tc.want)
		}
	}
}
