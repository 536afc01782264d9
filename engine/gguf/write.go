package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"reflect"
)

// Builder describes a GGUF file to write: metadata, then tensor infos, then
// the tensor data, streamed one tensor at a time.
type Builder struct {
	KVs       []KV
	Tensors   []TensorInfo // Offset is computed by Write; Size is checked
	Alignment uint64       // 0 = DefaultAlignment
}

// Add appends a metadata entry. Value must be one of the types KV.Value
// may hold; arrays are given as Go slices.
func (b *Builder) Add(key string, value any) {
	t, elem := typeOf(value)
	b.KVs = append(b.KVs, KV{Key: key, Type: t, Elem: elem, Value: value})
}

// AddTensor appends a tensor info; its data comes from the callback of Write.
func (b *Builder) AddTensor(name string, typ TensorType, shape ...uint64) error {
	t := TensorInfo{Name: name, Type: typ, Shape: append([]uint64(nil), shape...)}
	size, ok := TensorSize(typ, t.Elements())
	if !ok {
		return fmt.Errorf("tensor %s: shape %v does not fit type %s", name, shape, typ)
	}
	t.Size = size
	b.Tensors = append(b.Tensors, t)
	return nil
}

func typeOf(v any) (ValueType, ValueType) {
	t, elem, ok := valueType(v)
	if !ok {
		panic(fmt.Sprintf("gguf: unsupported metadata value type %T", v))
	}
	return t, elem
}

// valueType returns the GGUF type of a Go metadata value; ok is false for a
// Go type that GGUF cannot hold.
func valueType(v any) (t ValueType, elem ValueType, ok bool) {
	t, elem = valueTypeOf(v)
	return t, elem, t != valNone
}

// valNone marks a Go type with no GGUF type.
const valNone ValueType = 1<<32 - 1

func valueTypeOf(v any) (ValueType, ValueType) {
	switch v.(type) {
	case uint8:
		return ValUint8, 0
	case int8:
		return ValInt8, 0
	case uint16:
		return ValUint16, 0
	case int16:
		return ValInt16, 0
	case uint32:
		return ValUint32, 0
	case int32:
		return ValInt32, 0
	case float32:
		return ValFloat32, 0
	case bool:
		return ValBool, 0
	case string:
		return ValString, 0
	case uint64:
		return ValUint64, 0
	case int64:
		return ValInt64, 0
	case float64:
		return ValFloat64, 0
	case []uint8:
		return ValArray, ValUint8
	case []int8:
		return ValArray, ValInt8
	case []uint16:
		return ValArray, ValUint16
	case []int16:
		return ValArray, ValInt16
	case []uint32:
		return ValArray, ValUint32
	case []int32:
		return ValArray, ValInt32
	case []float32:
		return ValArray, ValFloat32
	case []bool:
		return ValArray, ValBool
	case []string:
		return ValArray, ValString
	case []uint64:
		return ValArray, ValUint64
	case []int64:
		return ValArray, ValInt64
	case []float64:
		return ValArray, ValFloat64
	}
	return valNone, 0
}

// Write writes the file to w. data is called once per tensor, in order, and
// must write exactly that tensor's Size bytes.
//
// Write refuses (with an error, before writing anything) a description that
// Read would reject or misread: a key that is empty or appears twice, a
// value whose Go type does not match its Type/Elem, a tensor name that
// appears twice, a shape or Size that does not fit the tensor type, or an
// alignment that is not a power of two up to 1 MiB.
//
// The alignment is b.Alignment, or the general.alignment entry of b.KVs
// (which must then be a uint32 and agree with b.Alignment when both are
// set). When b.Alignment is not the default and b.KVs has no
// general.alignment, Write adds that entry (uint32) after the others, so
// that readers use the alignment the file was written with.
//
// Like ggml and gguf-py, Write pads every tensor, the last one included, to
// a multiple of the alignment.
func (b *Builder) Write(w io.Writer, data func(i int, t TensorInfo, w io.Writer) error) error {
	kvs, align, err := b.check()
	if err != nil {
		return fmt.Errorf("write gguf: %w", err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := &countWriter{w: bw}
	e := &encoder{w: cw}
	e.raw([]byte(Magic))
	e.u32(3)
	e.u64(uint64(len(b.Tensors)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.Key)
		e.u32(uint32(kv.Type))
		if kv.Type == ValArray {
			e.u32(uint32(kv.Elem))
			e.array(kv.Value)
		} else {
			e.scalar(kv.Value)
		}
	}
	var off uint64
	for i := range b.Tensors {
		t := &b.Tensors[i]
		t.Offset = off
		e.str(t.Name)
		e.u32(uint32(len(t.Shape)))
		for _, d := range t.Shape {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(t.Offset)
		off = alignUp(off+t.Size, align)
	}
	e.pad(align)
	if e.err != nil {
		return fmt.Errorf("write gguf header: %w", e.err)
	}
	for i, t := range b.Tensors {
		start := cw.n
		if err := data(i, t, cw); err != nil {
			return fmt.Errorf("write tensor %s: %w", t.Name, err)
		}
		if got := cw.n - start; got != t.Size {
			return fmt.Errorf("write tensor %s: wrote %d bytes, want %d", t.Name, got, t.Size)
		}
		e.pad(align)
		if e.err != nil {
			return fmt.Errorf("write padding after %s: %w", t.Name, e.err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write gguf: %w", err)
	}
	return nil
}

// check validates the description and returns the metadata to write (b.KVs,
// plus general.alignment when it must be added) and the alignment.
func (b *Builder) check() ([]KV, uint64, error) {
	kvs := b.KVs
	seen := make(map[string]bool, len(kvs))
	var alignKV *KV
	for i := range kvs {
		kv := &kvs[i]
		if kv.Key == "" {
			return nil, 0, fmt.Errorf("metadata entry %d has an empty key", i)
		}
		if len(kv.Key) > maxKeyLen {
			return nil, 0, fmt.Errorf("metadata key %q is %d bytes long, more than the limit of %d", shorten(kv.Key), len(kv.Key), maxKeyLen)
		}
		if seen[kv.Key] {
			return nil, 0, fmt.Errorf("metadata key %q appears twice", shorten(kv.Key))
		}
		seen[kv.Key] = true
		t, elem, ok := valueType(kv.Value)
		if !ok || t != kv.Type || (t == ValArray && elem != kv.Elem) {
			return nil, 0, fmt.Errorf("metadata %s: a Go value of type %T cannot be written as GGUF %s", kv.Key, kv.Value, typeName(*kv))
		}
		if err := checkValueLen(kv); err != nil {
			return nil, 0, err
		}
		if kv.Key == KeyAlignment {
			alignKV = kv
		}
	}
	align := b.Alignment
	if alignKV != nil {
		a, ok := alignKV.Value.(uint32)
		if !ok {
			return nil, 0, fmt.Errorf("%s must be a uint32, not %s", KeyAlignment, typeName(*alignKV))
		}
		if a == 0 || a > maxAlignment || a&(a-1) != 0 {
			return nil, 0, fmt.Errorf("%s %d is not a power of two up to 1 MiB", KeyAlignment, a)
		}
		if align != 0 && align != uint64(a) {
			return nil, 0, fmt.Errorf("Builder.Alignment %d differs from %s %d", align, KeyAlignment, a)
		}
		align = uint64(a)
	}
	if align == 0 {
		align = DefaultAlignment
	}
	if align > maxAlignment || align&(align-1) != 0 {
		return nil, 0, fmt.Errorf("alignment %d is not a power of two up to 1 MiB", align)
	}
	if alignKV == nil && align != DefaultAlignment {
		kvs = append(kvs[:len(kvs):len(kvs)], KV{Key: KeyAlignment, Type: ValUint32, Value: uint32(align)})
	}

	names := make(map[string]bool, len(b.Tensors))
	for _, t := range b.Tensors {
		if names[t.Name] {
			return nil, 0, fmt.Errorf("tensor %q appears twice", shorten(t.Name))
		}
		names[t.Name] = true
		if len(t.Name) > 1024 {
			return nil, 0, fmt.Errorf("tensor name %q is longer than 1024 bytes", shorten(t.Name))
		}
		if len(t.Shape) == 0 || len(t.Shape) > maxDims {
			return nil, 0, fmt.Errorf("tensor %s has %d dimensions (1 to %d allowed)", t.Name, len(t.Shape), maxDims)
		}
		n := uint64(1)
		for _, d := range t.Shape {
			hi, lo := bits.Mul64(n, d)
			if d == 0 || hi != 0 || lo > 1<<40 {
				return nil, 0, fmt.Errorf("tensor %s has an absurd shape %v", t.Name, t.Shape)
			}
			n = lo
		}
		if t.Type == TypeI2_S && n%128 != 0 {
			return nil, 0, fmt.Errorf("tensor %s: I2_S holds %d values, not a multiple of 128", t.Name, n)
		}
		if t.Type.Known() && t.Shape[0]%t.Type.BlockSize() != 0 {
			return nil, 0, fmt.Errorf("tensor %s: rows of %d elements are not whole %s blocks of %d", t.Name, t.Shape[0], t.Type, t.Type.BlockSize())
		}
		size, ok := TensorSize(t.Type, n)
		if !ok {
			return nil, 0, fmt.Errorf("tensor %s: shape %v does not fit type %s", t.Name, t.Shape, t.Type)
		}
		if t.Size != size {
			return nil, 0, fmt.Errorf("tensor %s: Size is %d, but a %s tensor of shape %v takes %d bytes", t.Name, t.Size, t.Type, t.Shape, size)
		}
	}
	return kvs, align, nil
}

// checkValueLen applies the reader's length limits, so that Write never
// produces a file that Read refuses.
func checkValueLen(kv *KV) error {
	switch v := kv.Value.(type) {
	case string:
		if len(v) > maxStrLen {
			return fmt.Errorf("metadata %s: string of %d bytes is longer than the limit of %d", kv.Key, len(v), maxStrLen)
		}
	case []string:
		if len(v) > maxArrayLen {
			return fmt.Errorf("metadata %s: array of %d values is longer than the limit of %d", kv.Key, len(v), maxArrayLen)
		}
		for i, s := range v {
			if len(s) > maxStrLen {
				return fmt.Errorf("metadata %s[%d]: string of %d bytes is longer than the limit of %d", kv.Key, i, len(s), maxStrLen)
			}
		}
	default:
		if n := reflectLen(v); n > maxArrayLen {
			return fmt.Errorf("metadata %s: array of %d values is longer than the limit of %d", kv.Key, n, maxArrayLen)
		}
	}
	return nil
}

func reflectLen(v any) int {
	if r := reflect.ValueOf(v); r.Kind() == reflect.Slice {
		return r.Len()
	}
	return 0
}

type countWriter struct {
	w io.Writer
	n uint64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += uint64(n)
	return n, err
}

type encoder struct {
	w   *countWriter
	err error
	buf [8]byte
}

func (e *encoder) raw(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], v)
	e.raw(e.buf[:4])
}

func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:8], v)
	e.raw(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.raw([]byte(s))
}

func (e *encoder) pad(align uint64) {
	if n := alignUp(e.w.n, align) - e.w.n; n > 0 {
		e.raw(make([]byte, n))
	}
}

func (e *encoder) scalar(v any) {
	switch x := v.(type) {
	case uint8:
		e.raw([]byte{x})
	case int8:
		e.raw([]byte{byte(x)})
	case bool:
		if x {
			e.raw([]byte{1})
		} else {
			e.raw([]byte{0})
		}
	case uint16:
		binary.LittleEndian.PutUint16(e.buf[:2], x)
		e.raw(e.buf[:2])
	case int16:
		binary.LittleEndian.PutUint16(e.buf[:2], uint16(x))
		e.raw(e.buf[:2])
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	case string:
		e.str(x)
	default:
		e.err = fmt.Errorf("unsupported value type %T", v)
	}
}

func (e *encoder) array(v any) {
	switch x := v.(type) {
	case []uint8:
		e.u64(uint64(len(x)))
		e.raw(x)
	case []string:
		e.u64(uint64(len(x)))
		for _, s := range x {
			e.str(s)
		}
	default:
		each(v, func(n int) { e.u64(uint64(n)) }, e.scalar)
	}
}

func each(v any, count func(int), f func(any)) {
	switch x := v.(type) {
	case []int8:
		count(len(x))
		for _, y := range x {
			f(y)
		}
	case []uint16:
		count(len(x))
		for _, y := range x {
			f(y)
		}
	case []int16:
		count(len(x))
		for _, y := range x {
			f(y)
		}
	case []uint32:
		count(len(x))
		for _, y := range x {
			f(y)
		}
	case []int32:
		count(len(x))
		for _, y := range x {
			f(y)
		}
	case []float32:
		count(len(x))
		for _, y := range x {
			f(y)
		}
	case []bool:
		count(len(x))
		for _, y := range x {
			f(y)
		}
	case []uint64:
		count(len(x))
		for _, y := range x {
			f(y)
		}
	case []int64:
		count(len(x))
		for _, y := range x {
			f(y)
		}
	case []float64:
		count(len(x))
		for _, y := range x {
			f(y)
		}
	}
}
