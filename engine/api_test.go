package engine

import "testing"

func TestDefaultThreads(t *testing.T) {
	for _, tc := range []struct{ cpus, want int }{{0, 1}, {1, 1}, {2, 2}, {3, 2}, {4, 3}, {16, 15}} {
		if got := DefaultThreads(tc.cpus); got != tc.want {
			t.Errorf("DefaultThreads(%d) = %d, want %d", tc.cpus, got, tc.want)
		}
	}
}
