package kernel

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/ollama/ollama/ml"
)

// Stand-ins for ollama's ggml Tensor and Context: a pointer field at a
// known offset, as the real structs have.
type fakeTensor struct {
	ml.Tensor
	pad uint64
	t   unsafe.Pointer
}

type otherTensor struct {
	ml.Tensor
	t unsafe.Pointer
}

type fakeContext struct {
	ml.Context
	ctx unsafe.Pointer
}

type otherContext struct {
	ml.Context
	ctx unsafe.Pointer
}

// TestLayoutChecksTypes: offsets learnt from one type are never applied to
// another (before, any value was read at the bound offsets).
func TestLayoutChecksTypes(t *testing.T) {
	tf, _ := reflect.TypeOf(fakeTensor{}).FieldByName("t")
	cf, _ := reflect.TypeOf(fakeContext{}).FieldByName("ctx")
	l := layout{
		tensorType: reflect.TypeOf(&fakeTensor{}), contextType: reflect.TypeOf(&fakeContext{}),
		tensorT: tf.Offset, contextCtx: cf.Offset,
	}
	var target [8]byte
	p := unsafe.Pointer(&target[0])

	tensors := []struct {
		name string
		t    ml.Tensor
		ok   bool
	}{
		{"bound type", &fakeTensor{t: p}, true},
		{"another type", &otherTensor{t: p}, false},
		{"nil pointer of the bound type", (*fakeTensor)(nil), false},
		{"nil interface", nil, false},
		{"no ggml tensor inside", &fakeTensor{}, false},
	}
	for _, tc := range tensors {
		got, err := l.tensor(tc.t)
		if (err == nil) != tc.ok {
			t.Errorf("tensor(%s): err %v", tc.name, err)
		}
		if tc.ok && unsafe.Pointer(got) != p {
			t.Errorf("tensor(%s) = %p, want %p", tc.name, got, p)
		}
	}
	contexts := []struct {
		name string
		c    ml.Context
		ok   bool
	}{
		{"bound type", &fakeContext{ctx: p}, true},
		{"another type", &otherContext{ctx: p}, false},
		{"nil pointer of the bound type", (*fakeContext)(nil), false},
		{"no ggml context inside", &fakeContext{}, false},
	}
	for _, tc := range contexts {
		got, err := l.context(tc.c)
		if (err == nil) != tc.ok {
			t.Errorf("context(%s): err %v", tc.name, err)
		}
		if tc.ok && unsafe.Pointer(got) != p {
			t.Errorf("context(%s) = %p, want %p", tc.name, got, p)
		}
	}
}

// TestPointersRefuseForeignTypes: the public entry points refuse values
// that are not ollama's ggml types instead of reading them.
func TestPointersRefuseForeignTypes(t *testing.T) {
	// bind learns once per process: start and end with nothing learnt.
	reset := func() { layoutOnce, layoutVal, layoutErr = sync.Once{}, layout{}, nil }
	reset()
	t.Cleanup(reset)
	var target [8]byte
	x := &otherTensor{t: unsafe.Pointer(&target[0])}
	if _, _, _, err := pointers(&otherContext{}, x); err == nil {
		t.Error("pointers accepted a foreign tensor type")
	}
	if Fusable(&otherContext{}, x) {
		t.Error("Fusable accepted a foreign tensor type")
	}
	if _, err := MulMatQ6K(&otherContext{}, x, x); err == nil {
		t.Error("MulMatQ6K accepted a foreign tensor type")
	}
}

// TestVendoredHeader: ggml.h here is ggml's header from the pinned ollama
// module, unchanged (the kernels read struct ggml_tensor through it).
func TestVendoredHeader(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/ollama/ollama").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	want, err := os.ReadFile(filepath.Join(dir, "ml", "backend", "ggml", "ggml", "include", "ggml.h"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("ggml.h")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("engine/kernel/ggml.h differs from %s/ml/backend/ggml/ggml/include/ggml.h: copy it again after changing the ollama version", dir)
	}
}
