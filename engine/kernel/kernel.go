// Package kernel multiplies BitNet's ternary weights on ggml's CPU backend
// with kernels of its own (ternary.c), added to ollama's graphs as ggml
// custom operations.
//
// ggml's TQ2_0 × Q8_K dot product decodes every weight block again for every
// token and every block scale; BitNet needs neither. These kernels keep the
// TQ2_0 bytes, quantize each token's activations once to int8 with a single
// absmax scale (how BitNet b1.58 was trained), accumulate whole rows in
// integers, and unpack a block of codes once for up to four tokens. With
// AVX-512 VNNI one instruction multiplies 64 codes; on AVX2 CPUs the same
// layout runs with maddubs. On 64-bit ARM (ternary_arm64.c) the same
// packed weights and activations run with NEON, with sdot where the CPU
// has the ARMv8.2 dot product, and give bit for bit the x86 results.
//
// ollama's ml.Tensor and ml.Context do not expose custom operations, so
// this package reads the ggml pointers out of ollama's backend structs
// (pinned at ollama v0.24.0; Bind checks their layout once and the package
// refuses to run on a mismatch) and wraps the results in the same type.
package kernel

/*
#cgo CFLAGS: -std=gnu11
#include <stdlib.h>
#include "ternary.h"

// From ggml-backend.h (ggml's, linked through ollama's ggml package).
_Bool ggml_backend_buffer_is_host(struct ggml_backend_buffer *buffer);
*/
import "C"

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/ollama/ollama/ml"
	_ "github.com/ollama/ollama/ml/backend/ggml" // links ggml, whose ggml_custom_4d the operations call
)

// Level is the instruction set a kernel runs with.
type Level int

// Levels. Auto picks the best the CPU has. The x86-64 levels exist in
// amd64 builds, the NEON ones in arm64 builds (Levels lists them); a level
// of the other architecture is never Supported.
const (
	Auto        Level = C.BITNET_LEVEL_AUTO
	AVX2        Level = C.BITNET_LEVEL_AVX2
	AVX512      Level = C.BITNET_LEVEL_AVX512
	AVXVNNI     Level = C.BITNET_LEVEL_AVXVNNI
	NEON        Level = C.BITNET_LEVEL_NEON
	NEONDotProd Level = C.BITNET_LEVEL_NEON_DOTPROD
	// AVX512T5 is AVX512 with the weights in the 1.6-bit layout
	// (PackedSize), on CPUs that also have AVX-512 VBMI.
	AVX512T5 Level = C.BITNET_LEVEL_AVX512_T5
)

// AVX512 reports whether l runs the AVX-512 kernels (either layout).
func (l Level) AVX512() bool { return l == AVX512 || l == AVX512T5 }

// String is the level's name in ModelInfo.Kernel and the bench.
func (l Level) String() string {
	switch l {
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512-vnni"
	case AVX512T5:
		return "avx512-vnni-1.6bit"
	case AVXVNNI:
		return "avx-vnni"
	case NEON:
		return "neon"
	case NEONDotProd:
		return "neon-dotprod"
	}
	return "auto"
}

// Levels returns this build's levels, the baseline first (the one every
// CPU the build runs on has: AVX2 on x86-64-v3, NEON on ARMv8-A).
func Levels() []Level { return append([]Level(nil), archLevels...) }

// Detect returns the best level of this CPU.
func Detect() Level { return Level(C.bitnet_detect()) }

// Supported reports whether this CPU runs level.
func Supported(l Level) bool { return C.bitnet_supports(C.int(l)) == 1 }

// layout holds where ollama's ggml backend keeps its C pointers.
type layout struct {
	tensorType  reflect.Type // *ggml.Tensor
	contextType reflect.Type // *ggml.Context
	tensorT     uintptr      // offset of Tensor.t (*C.struct_ggml_tensor)
	contextCtx  uintptr      // offset of Context.ctx (*C.struct_ggml_context)
}

var (
	layoutOnce sync.Once
	layoutVal  layout
	layoutErr  error
)

const ggmlPkg = "github.com/ollama/ollama/ml/backend/ggml"

// ggmlField returns the offset of the pointer field name in the struct t
// points to, t a type of ollama's ggml backend.
func ggmlField(t reflect.Type, name string) (uintptr, error) {
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().PkgPath() != ggmlPkg {
		return 0, fmt.Errorf("kernel: %v is not a type of ollama's ggml backend", t)
	}
	f, ok := t.Elem().FieldByName(name)
	if !ok || f.Type.Kind() != reflect.Pointer {
		return 0, fmt.Errorf("kernel: ollama's ggml %s has no pointer field %s (the backend changed)", t.Elem().Name(), name)
	}
	return f.Offset, nil
}

// bind learns the layout of ollama's ggml Tensor and Context from values
// of those types. It is computed once per process: the types are fixed at
// compile time, so this is a constant, not state. Every later use checks
// the dynamic type of the value it reads (layout.tensor, layout.context):
// an offset is only valid for the type it was learnt from.
func bind(t ml.Tensor, ctx ml.Context) (layout, error) {
	layoutOnce.Do(func() {
		tt, ct := reflect.TypeOf(t), reflect.TypeOf(ctx)
		to, err1 := ggmlField(tt, "t")
		co, err2 := ggmlField(ct, "ctx")
		if layoutErr = errors.Join(err1, err2); layoutErr == nil {
			layoutVal = layout{tensorType: tt, contextType: ct, tensorT: to, contextCtx: co}
		}
	})
	return layoutVal, layoutErr
}

// pointers binds the layout and returns the ggml context behind ctx and
// the ggml tensors behind ts, checking that each value is of the bound
// types and not nil.
func pointers(ctx ml.Context, ts ...ml.Tensor) (layout, *C.struct_ggml_context, []*C.struct_ggml_tensor, error) {
	if len(ts) == 0 {
		return layout{}, nil, nil, errors.New("kernel: no tensor")
	}
	l, err := bind(ts[0], ctx)
	if err != nil {
		return l, nil, nil, err
	}
	c, err := l.context(ctx)
	if err != nil {
		return l, nil, nil, err
	}
	out := make([]*C.struct_ggml_tensor, len(ts))
	for i, t := range ts {
		if out[i], err = l.tensor(t); err != nil {
			return l, nil, nil, err
		}
	}
	return l, c, out, nil
}

// tensorPointer returns the ggml tensor behind t, an ollama ggml tensor.
func tensorPointer(t ml.Tensor) (*C.struct_ggml_tensor, error) {
	off, err := ggmlField(reflect.TypeOf(t), "t")
	if err != nil {
		return nil, err
	}
	return *(**C.struct_ggml_tensor)(unsafe.Add(reflect.ValueOf(t).UnsafePointer(), off)), nil
}

// Memory returns the bytes of an allocated tensor in host memory (the CPU
// backend's), or nil. The slice aliases C memory owned by ggml: valid while
// the tensor is.
func Memory(t ml.Tensor) []byte {
	p, err := tensorPointer(t)
	if err != nil || p == nil || p.data == nil || p.buffer == nil || !bool(C.ggml_backend_buffer_is_host(p.buffer)) {
		return nil
	}
	return unsafe.Slice((*byte)(p.data), int(C.ggml_nbytes(p)))
}

// SetData points the weight tensor t at b, memory of AllocWeights that
// holds its packed layout: the kernels read it there, and the backend's
// own memory for t stays allocated but untouched (never resident).
func SetData(t ml.Tensor, b []byte) error {
	p, err := tensorPointer(t)
	if err != nil {
		return err
	}
	if p == nil || len(b) == 0 {
		return errors.New("kernel: no tensor or no memory")
	}
	p.data = unsafe.Pointer(&b[0])
	return nil
}

// tensor returns the ggml tensor behind t, which must be of the bound type.
func (l layout) tensor(t ml.Tensor) (*C.struct_ggml_tensor, error) {
	if reflect.TypeOf(t) != l.tensorType {
		return nil, fmt.Errorf("kernel: a tensor of type %T, not ollama's ggml tensor %v", t, l.tensorType)
	}
	p := reflect.ValueOf(t).UnsafePointer()
	if p == nil {
		return nil, errors.New("kernel: nil tensor")
	}
	c := *(**C.struct_ggml_tensor)(unsafe.Add(p, l.tensorT))
	if c == nil {
		return nil, errors.New("kernel: a tensor without its ggml tensor")
	}
	return c, nil
}

// context returns the ggml context behind ctx, which must be of the bound
// type.
func (l layout) context(ctx ml.Context) (*C.struct_ggml_context, error) {
	if reflect.TypeOf(ctx) != l.contextType {
		return nil, fmt.Errorf("kernel: a context of type %T, not ollama's ggml context %v", ctx, l.contextType)
	}
	p := reflect.ValueOf(ctx).UnsafePointer()
	if p == nil {
		return nil, errors.New("kernel: nil context")
	}
	c := *(**C.struct_ggml_context)(unsafe.Add(p, l.contextCtx))
	if c == nil {
		return nil, errors.New("kernel: a context without its ggml context")
	}
	return c, nil
}

// wrap returns a copy of like (same backend) that points at c.
func (l layout) wrap(like ml.Tensor, c *C.struct_ggml_tensor) ml.Tensor {
	v := reflect.New(l.tensorType.Elem())
	v.Elem().Set(reflect.ValueOf(like).Elem())
	*(**C.struct_ggml_tensor)(unsafe.Add(v.UnsafePointer(), l.tensorT)) = c
	return v.Interface().(ml.Tensor)
}

// Bind checks that this package can read ollama's ggml structures, using
// a tensor and a context of the backend: call it before relying on the
// kernels (packing weights for them).
func Bind(ctx ml.Context, t ml.Tensor) error {
	_, err := bind(t, ctx)
	return err
}

// Check reports whether Quantize and MulMat can multiply w by x.
func Check(ctx ml.Context, w, x ml.Tensor) error {
	_, _, p, err := pointers(ctx, w, x)
	if err != nil {
		return err
	}
	if msg := C.bitnet_op_check(p[0], p[1]); msg != nil {
		return errors.New("kernel: " + C.GoString(msg))
	}
	return nil
}

// must is pointers for the operations the graph adds only after Check
// passed: a failure there is a bug.
func must(ctx ml.Context, ts ...ml.Tensor) (layout, *C.struct_ggml_context, []*C.struct_ggml_tensor) {
	l, c, p, err := pointers(ctx, ts...)
	if err != nil {
		panic(err)
	}
	return l, c, p
}

// Quantize adds the operation that quantizes x (F32 rows of k values, one
// per token) for MulMat. One quantized tensor serves every weight that
// multiplies the same activations (q/k/v, gate/up).
func Quantize(ctx ml.Context, x ml.Tensor, level Level) ml.Tensor {
	l, c, p := must(ctx, x)
	return l.wrap(x, C.bitnet_op_quantize(c, p[0], C.int(level)))
}

// MulMat adds the operation w × xq, xq from Quantize with the same level:
// an F32 tensor of w's rows by xq's tokens.
func MulMat(ctx ml.Context, w, xq ml.Tensor, level Level) ml.Tensor {
	l, c, p := must(ctx, w, xq)
	return l.wrap(xq, C.bitnet_op_matmul(c, p[0], p[1], C.int(level)))
}

// Fusable reports whether Project quantizes x inside its one operation: a
// few tokens (decoding).
func Fusable(ctx ml.Context, x ml.Tensor) bool {
	_, _, p, err := pointers(ctx, x)
	return err == nil && C.bitnet_op_fusable(p[0]) == 1
}

// Projection is a product of activations with what surrounds it in the
// graph, fused (Project).
type Projection struct {
	// Weights are one to three packed weights of x's width, multiplied
	// by the same activations (q/k/v, gate/up).
	Weights []ml.Tensor
	// Norm, when set, is the weight of an RMS norm (with Eps) applied to
	// x first: ggml's rms_norm and mul.
	Norm ml.Tensor
	Eps  float32
	// ReLU2 (two weights) makes the result relu(w0 x)² · (w1 x): the
	// ReLU² gate of BitNet b1.58's FFN.
	ReLU2 bool
	// Residual (one weight) makes the result Residual + w x.
	Residual ml.Tensor
}

// Project adds the operation p.Weights × x, quantizing x inside the
// operation (each thread quantizes the few tokens itself), with p's norm
// before and its gate or residual add after: one operation and one barrier
// where the graph would have up to eight, bit for bit the same results.
// A batch of more tokens takes two: the norm and the quantization, the
// threads taking tokens, then the products, the threads taking rows. It
// returns one result per weight, or one with ReLU2 or Residual; an error
// when the operands do not qualify (then the graph multiplies them
// separately).
func Project(ctx ml.Context, x ml.Tensor, p Projection, level Level) ([]ml.Tensor, error) {
	ts := append([]ml.Tensor{x}, p.Weights...)
	flags := C.int(0)
	if p.Norm != nil {
		ts = append(ts, p.Norm)
		flags |= C.BITNET_PROJ_NORM
	}
	if p.Residual != nil {
		ts = append(ts, p.Residual)
		flags |= C.BITNET_PROJ_RESIDUAL
	}
	if p.ReLU2 {
		flags |= C.BITNET_PROJ_RELU2
	}
	l, c, ptrs, err := pointers(ctx, ts...)
	if err != nil {
		return nil, err
	}
	nw := len(p.Weights)
	// The weights go to C as an array (of C pointers: cgo allows it);
	// bitnet_project_check refuses a count that does not fit it.
	var w [C.BITNET_PROJ_MAX_WEIGHTS]*C.struct_ggml_tensor
	copy(w[:], ptrs[1:1+nw])
	var g, res *C.struct_ggml_tensor
	rest := ptrs[1+nw:]
	if p.Norm != nil {
		g, rest = rest[0], rest[1:]
	}
	if p.Residual != nil {
		res = rest[0]
	}
	if msg := C.bitnet_project_check(&w[0], C.int(nw), ptrs[0], g, res, flags); msg != nil {
		return nil, errors.New("kernel: " + C.GoString(msg))
	}
	t := l.wrap(x, C.bitnet_op_project(c, &w[0], C.int(nw), ptrs[0], g, res, C.float(p.Eps), flags, C.int(level)))
	n := x.Dim(1)
	switch {
	case p.ReLU2:
		m := p.Weights[0].Dim(1)
		return []ml.Tensor{t.View(ctx, 0, m, 2*m*4, n)}, nil
	case nw == 1:
		return []ml.Tensor{t}, nil
	}
	out := make([]ml.Tensor, nw)
	off := 0
	for i, wt := range p.Weights {
		m := wt.Dim(1)
		out[i] = t.View(ctx, off*4, m, m*4, n)
		off += m * n
	}
	return out, nil
}
