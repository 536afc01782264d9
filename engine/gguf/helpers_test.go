package gguf_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf/ggufttest"
)

// The tiny files are built once and shared; tests copy before mutating.
var (
	tinyOnce sync.Once
	tinyData map[ggufttest.Variant][]byte
	tinyErr  error
)

func tiny(t testing.TB, v ggufttest.Variant) []byte {
	t.Helper()
	tinyOnce.Do(func() {
		tinyData = map[ggufttest.Variant][]byte{}
		for _, v := range ggufttest.Variants {
			data, err := ggufttest.Bytes(ggufttest.NewBuilder(v))
			if err != nil {
				tinyErr = fmt.Errorf("%v: %w", v, err)
				return
			}
			tinyData[v] = data
		}
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return bytes.Clone(tinyData[v])
}

// readBytes is Read on an in-memory file.
func readBytes(data []byte) (*gguf.File, error) {
	return gguf.Read(bytes.NewReader(data), int64(len(data)))
}

// mustRead reads a file that must be valid.
func mustRead(t testing.TB, data []byte) *gguf.File {
	t.Helper()
	f, err := readBytes(data)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return f
}

// check runs Read then CheckModel and reports which stage failed.
func check(data []byte) (stage string, spec *gguf.Spec, err error) {
	f, err := readBytes(data)
	if err != nil {
		return "read", nil, err
	}
	spec, err = gguf.CheckModel(f)
	if err != nil {
		return "check", nil, err
	}
	return "", spec, nil
}

// Layout of a GGUF header: the offset of every field, found by walking the
// file independently of the package's parser.
type kvLoc struct {
	Key                string
	KeyLen, Type, Elem int // Elem is -1 unless an array
	Count, Value       int // Count is -1 unless an array
	End                int
}

type tensorLoc struct {
	Name                 string
	NameLen, NDims, Type int
	Dims                 []int
	Offset               int
}

type layout struct {
	tb        testing.TB
	KVs       []kvLoc
	Tensors   []tensorLoc
	HeaderEnd int
}

func (l *layout) kv(key string) kvLoc {
	t := l.tb
	t.Helper()
	for _, kv := range l.KVs {
		if kv.Key == key {
			return kv
		}
	}
	t.Fatalf("layout: no key %s", key)
	return kvLoc{}
}

func (l *layout) tensor(name string) tensorLoc {
	t := l.tb
	t.Helper()
	for _, tl := range l.Tensors {
		if tl.Name == name {
			return tl
		}
	}
	t.Fatalf("layout: no tensor %s", name)
	return tensorLoc{}
}

var valueSize = map[uint32]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

// locate walks a valid GGUF file.
func locate(t testing.TB, data []byte) *layout {
	t.Helper()
	le := binary.LittleEndian
	pos := 8
	u32 := func() int { v := le.Uint32(data[pos:]); pos += 4; return int(v) }
	u64 := func() int { v := le.Uint64(data[pos:]); pos += 8; return int(v) }
	str := func() string { n := u64(); s := string(data[pos : pos+n]); pos += n; return s }
	nT, nKV := u64(), u64()
	l := &layout{tb: t}
	skip := func(typ int) {
		if typ == 8 {
			str()
			return
		}
		sz, ok := valueSize[uint32(typ)]
		if !ok {
			t.Fatalf("locate: value type %d", typ)
		}
		pos += sz
	}
	for i := 0; i < nKV; i++ {
		kv := kvLoc{KeyLen: pos, Elem: -1, Count: -1}
		kv.Key = str()
		kv.Type = pos
		typ := u32()
		if typ == 9 {
			kv.Elem = pos
			et := u32()
			kv.Count = pos
			n := u64()
			kv.Value = pos
			for j := 0; j < n; j++ {
				skip(et)
			}
		} else {
			kv.Value = pos
			skip(typ)
		}
		kv.End = pos
		l.KVs = append(l.KVs, kv)
	}
	for i := 0; i < nT; i++ {
		tl := tensorLoc{NameLen: pos}
		tl.Name = str()
		tl.NDims = pos
		nd := u32()
		for j := 0; j < nd; j++ {
			tl.Dims = append(tl.Dims, pos)
			pos += 8
		}
		tl.Type = pos
		pos += 4
		tl.Offset = pos
		pos += 8
		l.Tensors = append(l.Tensors, tl)
	}
	l.HeaderEnd = pos
	return l
}

func putU32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func putU64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }
func getU64(b []byte, off int) uint64    { return binary.LittleEndian.Uint64(b[off:]) }

// raw builds GGUF bytes by hand, for files the Builder refuses to write.
type raw struct{ bytes.Buffer }

func newRaw(version uint32, nTensors, nKV uint64) *raw {
	r := &raw{}
	r.WriteString("GGUF")
	r.u32(version)
	r.u64(nTensors)
	r.u64(nKV)
	return r
}

func (r *raw) u32(v uint32) *raw {
	binary.Write(&r.Buffer, binary.LittleEndian, v)
	return r
}

func (r *raw) u64(v uint64) *raw {
	binary.Write(&r.Buffer, binary.LittleEndian, v)
	return r
}

func (r *raw) str(s string) *raw {
	r.u64(uint64(len(s)))
	r.WriteString(s)
	return r
}

// tensor writes a tensor info.
func (r *raw) tensor(name string, typ gguf.TensorType, offset uint64, shape ...uint64) *raw {
	r.str(name)
	r.u32(uint32(len(shape)))
	for _, d := range shape {
		r.u64(d)
	}
	r.u32(uint32(typ))
	r.u64(offset)
	return r
}

// pad pads to align and appends n zero bytes of tensor data.
func (r *raw) data(align, n int) *raw {
	for r.Len()%align != 0 {
		r.WriteByte(0)
	}
	r.Write(make([]byte, n))
	return r
}

// sameValue compares metadata values, floats by their bits.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case float32:
		y, ok := b.(float32)
		return ok && math.Float32bits(x) == math.Float32bits(y)
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case []float32:
		y, ok := b.([]float32)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
		return true
	case []float64:
		y, ok := b.([]float64)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return false
			}
		}
		return true
	}
	if reflect.ValueOf(a).Kind() == reflect.Slice && reflect.ValueOf(b).Kind() == reflect.Slice &&
		reflect.ValueOf(a).Len() == 0 && reflect.ValueOf(b).Len() == 0 {
		return reflect.TypeOf(a) == reflect.TypeOf(b)
	}
	return reflect.DeepEqual(a, b)
}

// noPanic runs f and turns a panic into a test error.
func noPanic(t testing.TB, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: panic: %v", what, r)
		}
	}()
	f()
}

func wantErr(t testing.TB, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Errorf("no error, want one containing %q", substr)
		return
	}
	if !strings.Contains(err.Error(), substr) {
		t.Errorf("error %q does not contain %q", err, substr)
	}
}
