package runner

import (
	"strings"
	"testing"

	"github.com/ollama/ollama/ml"

	"github.com/bitnet-desktop/bitnet-desktop/engine/kernel"
)

// TestKernelLevel: --kernel names parse to this build's levels; a level
// the CPU cannot run (every level of the other architecture) is refused
// with a message naming the ones it can, never handed to the kernels.
func TestKernelLevel(t *testing.T) {
	if l, use, err := kernelLevel("auto"); err != nil || !use || l != kernel.Detect() {
		t.Errorf("auto: %v %v %v, want %v", l, use, err, kernel.Detect())
	}
	if _, use, err := kernelLevel("ggml"); err != nil || use {
		t.Errorf("ggml: %v %v", use, err)
	}
	base := kernel.Levels()[0]
	if l, use, err := kernelLevel(base.String()); err != nil || !use || l != base {
		t.Errorf("%v: %v %v %v", base, l, use, err)
	}
	if _, _, err := kernelLevel("sse2"); err == nil || !strings.Contains(err.Error(), "unknown kernel") {
		t.Errorf("sse2: %v", err)
	}
	for name, l := range kernelNames {
		_, _, err := kernelLevel(name)
		if kernel.Supported(l) != (err == nil) {
			t.Errorf("%s: supported %v, error %v", name, kernel.Supported(l), err)
		}
		if err != nil && (!strings.Contains(err.Error(), "cannot run the "+l.String()) || !strings.Contains(err.Error(), base.String())) {
			t.Errorf("%s: the message %q does not name the level and the ones this CPU runs", name, err)
		}
	}
	// Each architecture's levels: one of them is foreign here.
	foreign := "neon"
	if base == kernel.NEON {
		foreign = "avx2"
	}
	if _, _, err := kernelLevel(foreign); err == nil {
		t.Errorf("%s: accepted in a build for %v", foreign, kernel.Levels())
	}
}

// TestKVCacheType: the kv cache types LoadOptions takes, and a clear
// error for another.
func TestKVCacheType(t *testing.T) {
	for _, tc := range []struct {
		name string
		want ml.DType
		ok   bool
	}{{"", ml.DTypeF16, true}, {"f16", ml.DTypeF16, true}, {"q8_0", ml.DTypeQ80, true}, {"q4_0", 0, false}, {"F16", 0, false}} {
		got, err := kvCacheType(tc.name)
		if tc.ok && (err != nil || got != tc.want) || !tc.ok && (err == nil || !strings.Contains(err.Error(), "unknown kv cache type")) {
			t.Errorf("%q: %v %v", tc.name, got, err)
		}
	}
}
