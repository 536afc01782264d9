package gguf_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
)

// fill returns n bytes of tensor data that identify tensor i.
func fill(i int, n uint64) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i*31 + j*7 + 1)
	}
	return b
}

func writeBuilder(t testing.TB, b *gguf.Builder) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := b.Write(&buf, func(i int, ti gguf.TensorInfo, w io.Writer) error {
		_, err := w.Write(fill(i, ti.Size))
		return err
	})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

func TestRoundTripValues(t *testing.T) {
	long := strings.Repeat("bitnet ", 20000) // 140 kB, larger than the reader's buffer
	tests := []struct {
		name  string
		value any
		typ   gguf.ValueType
		elem  gguf.ValueType
	}{
		{"uint8", uint8(255), gguf.ValUint8, 0},
		{"int8", int8(-128), gguf.ValInt8, 0},
		{"uint16", uint16(65535), gguf.ValUint16, 0},
		{"int16", int16(-32768), gguf.ValInt16, 0},
		{"uint32", uint32(math.MaxUint32), gguf.ValUint32, 0},
		{"int32", int32(math.MinInt32), gguf.ValInt32, 0},
		{"float32", float32(1e-5), gguf.ValFloat32, 0},
		{"float32 -0", float32(math.Copysign(0, -1)), gguf.ValFloat32, 0},
		{"float32 NaN", float32(math.NaN()), gguf.ValFloat32, 0},
		{"float32 -Inf", float32(math.Inf(-1)), gguf.ValFloat32, 0},
		{"bool true", true, gguf.ValBool, 0},
		{"bool false", false, gguf.ValBool, 0},
		{"string", "gpt2", gguf.ValString, 0},
		{"string empty", "", gguf.ValString, 0},
		{"string unicode", "Ġthe ĊÿΩ 日本 \x00 nul", gguf.ValString, 0},
		{"string long", long, gguf.ValString, 0},
		{"uint64", uint64(math.MaxUint64), gguf.ValUint64, 0},
		{"int64", int64(math.MinInt64), gguf.ValInt64, 0},
		{"float64", 500000.0, gguf.ValFloat64, 0},
		{"float64 NaN", math.NaN(), gguf.ValFloat64, 0},
		{"[]uint8", []uint8{0, 1, 255}, gguf.ValArray, gguf.ValUint8},
		{"[]int8", []int8{-128, 0, 127}, gguf.ValArray, gguf.ValInt8},
		{"[]uint16", []uint16{0, 65535}, gguf.ValArray, gguf.ValUint16},
		{"[]int16", []int16{-32768, 32767}, gguf.ValArray, gguf.ValInt16},
		{"[]uint32", []uint32{0, 1, math.MaxUint32}, gguf.ValArray, gguf.ValUint32},
		{"[]int32", []int32{-1, 1, 3, 6}, gguf.ValArray, gguf.ValInt32},
		{"[]float32", []float32{0, -1.5, float32(math.Inf(1)), float32(math.NaN())}, gguf.ValArray, gguf.ValFloat32},
		{"[]bool", []bool{true, false, true}, gguf.ValArray, gguf.ValBool},
		{"[]string", []string{"Ġ t", "h e", "", long}, gguf.ValArray, gguf.ValString},
		{"[]uint64", []uint64{0, math.MaxUint64}, gguf.ValArray, gguf.ValUint64},
		{"[]int64", []int64{math.MinInt64, math.MaxInt64}, gguf.ValArray, gguf.ValInt64},
		{"[]float64", []float64{math.Pi, -0.0}, gguf.ValArray, gguf.ValFloat64},
		{"[]uint8 empty", []uint8{}, gguf.ValArray, gguf.ValUint8},
		{"[]string empty", []string{}, gguf.ValArray, gguf.ValString},
		{"[]float64 empty", []float64{}, gguf.ValArray, gguf.ValFloat64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &gguf.Builder{}
			b.Add("before", uint32(7))
			b.Add("test.value", tc.value)
			b.Add("after", "end")
			if kv := b.KVs[1]; kv.Type != tc.typ || (tc.typ == gguf.ValArray && kv.Elem != tc.elem) {
				t.Fatalf("Add typed %T as %v/%v, want %v/%v", tc.value, kv.Type, kv.Elem, tc.typ, tc.elem)
			}
			data := writeBuilder(t, b)
			f := mustRead(t, data)
			if len(f.KVs) != 3 || len(f.Tensors) != 0 {
				t.Fatalf("read %d kvs and %d tensors, want 3 and 0", len(f.KVs), len(f.Tensors))
			}
			kv, ok := f.Get("test.value")
			if !ok {
				t.Fatal("key missing")
			}
			if kv.Type != tc.typ || kv.Elem != tc.elem {
				t.Errorf("type %v/%v, want %v/%v", kv.Type, kv.Elem, tc.typ, tc.elem)
			}
			if !sameValue(kv.Value, tc.value) {
				t.Errorf("value %#v (%T), want %#v (%T)", kv.Value, kv.Value, tc.value, tc.value)
			}
			if f.String("after") != "end" {
				t.Errorf("the entry after the value reads %q", f.String("after"))
			}
			if u, ok := f.Uint("before"); !ok || u != 7 {
				t.Errorf("the entry before reads %v %v", u, ok)
			}
			// Header only: 24 bytes + 3 entries, no padding without tensors.
			if f.Version != 3 || f.Alignment != gguf.DefaultAlignment || f.Size != int64(len(data)) {
				t.Errorf("version %d alignment %d size %d", f.Version, f.Alignment, f.Size)
			}
		})
	}
}

func TestRoundTripTensors(t *testing.T) {
	tensors := []struct {
		name  string
		typ   gguf.TensorType
		shape []uint64
		size  uint64
	}{
		{"norm", gguf.TypeF32, []uint64{3}, 12},
		{"half", gguf.TypeF16, []uint64{5, 3}, 30},
		{"i2s", gguf.TypeI2_S, []uint64{128, 3}, 96 + 32},
		{"q8", gguf.TypeQ8_0, []uint64{64, 2}, 4 * 34},
		{"q6k", gguf.TypeQ6_K, []uint64{256}, 210},
		{"tq2", gguf.TypeTQ2_0, []uint64{256, 2}, 2 * 66},
		{"q2k", gguf.TypeQ2_K, []uint64{512}, 2 * 84},
		{"bf16", gguf.TypeBF16, []uint64{1}, 2},
		{"four.dims", gguf.TypeF32, []uint64{2, 3, 4, 5}, 480},
		{"tq1", gguf.TypeTQ1_0, []uint64{256}, 54},
	}
	for _, align := range []struct {
		name    string
		kv      any // general.alignment entry, nil for none
		builder uint64
		want    uint64
	}{
		{"default", nil, 0, 32},
		{"kv 64", uint32(64), 0, 64},
		{"builder 64", nil, 64, 64},
		{"both 64", uint32(64), 64, 64},
		{"kv 1", uint32(1), 0, 1},
		{"kv 4096", uint32(4096), 0, 4096},
		{"builder 32", nil, 32, 32},
	} {
		t.Run(align.name, func(t *testing.T) {
			b := &gguf.Builder{Alignment: align.builder}
			b.Add("general.architecture", "test")
			if align.kv != nil {
				b.Add("general.alignment", align.kv)
			}
			for _, tt := range tensors {
				if err := b.AddTensor(tt.name, tt.typ, tt.shape...); err != nil {
					t.Fatal(err)
				}
			}
			data := writeBuilder(t, b)
			f := mustRead(t, data)
			if f.Alignment != align.want {
				t.Fatalf("alignment %d, want %d", f.Alignment, align.want)
			}
			if a, ok := f.Uint("general.alignment"); align.want != 32 && (!ok || a != align.want) {
				t.Errorf("general.alignment = %d %v, want %d (added by Write when missing)", a, ok, align.want)
			}
			if f.DataOffset%align.want != 0 {
				t.Errorf("data offset %d not aligned to %d", f.DataOffset, align.want)
			}
			l := locate(t, data)
			if want := (uint64(l.HeaderEnd) + align.want - 1) / align.want * align.want; f.DataOffset != want {
				t.Errorf("data offset %d, want %d (header ends at %d)", f.DataOffset, want, l.HeaderEnd)
			}
			if len(f.Tensors) != len(tensors) {
				t.Fatalf("%d tensors, want %d", len(f.Tensors), len(tensors))
			}
			var next uint64
			for i, tt := range tensors {
				ti := f.Tensors[i]
				if ti.Name != tt.name || ti.Type != tt.typ || !equalU64(ti.Shape, tt.shape) || ti.Size != tt.size {
					t.Errorf("tensor %d = %s %v %v %d bytes, want %s %v %v %d", i, ti.Name, ti.Type, ti.Shape, ti.Size, tt.name, tt.typ, tt.shape, tt.size)
				}
				if ti.Offset != next {
					t.Errorf("tensor %s at %d, want %d (previous end padded to %d)", ti.Name, ti.Offset, next, align.want)
				}
				next = (ti.Offset + ti.Size + align.want - 1) / align.want * align.want
				if got, ok := f.Tensor(tt.name); !ok || got.Offset != ti.Offset {
					t.Errorf("Tensor(%q) = %v, %v", tt.name, got, ok)
				}
				off, size := f.DataRange(ti)
				if !bytes.Equal(data[off:off+size], fill(i, tt.size)) {
					t.Errorf("tensor %s: data differs", ti.Name)
				}
				if b.Tensors[i].Offset != ti.Offset {
					t.Errorf("Builder offset %d, file %d", b.Tensors[i].Offset, ti.Offset)
				}
			}
			// Every tensor is padded, the last one included (as ggml and gguf-py do).
			if uint64(len(data)) != f.DataOffset+next {
				t.Errorf("file is %d bytes, want %d", len(data), f.DataOffset+next)
			}
		})
	}
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadVersion2(t *testing.T) {
	data := tiny(t, 0)
	f3 := mustRead(t, data)
	putU32(data, 4, 2)
	f2 := mustRead(t, data)
	if f2.Version != 2 || f3.Version != 3 {
		t.Fatalf("versions %d and %d", f2.Version, f3.Version)
	}
	if len(f2.KVs) != len(f3.KVs) || len(f2.Tensors) != len(f3.Tensors) || f2.DataOffset != f3.DataOffset {
		t.Fatal("v2 and v3 headers read differently")
	}
	for i := range f2.KVs {
		if f2.KVs[i].Key != f3.KVs[i].Key || !sameValue(f2.KVs[i].Value, f3.KVs[i].Value) {
			t.Errorf("kv %d differs", i)
		}
	}
	if _, err := gguf.CheckModel(f2); err != nil {
		t.Errorf("CheckModel(v2): %v", err)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.gguf")
	data := tiny(t, 0)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if f.Size != int64(len(data)) || len(f.Tensors) == 0 {
		t.Errorf("Open read size %d, %d tensors", f.Size, len(f.Tensors))
	}

	_, err = gguf.Open(dir)
	wantErr(t, err, "is a folder, not a GGUF file")

	_, err = gguf.Open(filepath.Join(dir, "missing.gguf"))
	wantErr(t, err, "open model")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want an fs.ErrNotExist", err)
	}

	empty := filepath.Join(dir, "empty.gguf")
	os.WriteFile(empty, nil, 0o644)
	_, err = gguf.Open(empty)
	wantErr(t, err, "not a GGUF file")
	if !errors.Is(err, gguf.ErrNotGGUF) {
		t.Errorf("Open(empty) = %v, want ErrNotGGUF", err)
	}

	cut := filepath.Join(dir, "cut.gguf")
	os.WriteFile(cut, data[:len(data)/2], 0o644)
	_, err = gguf.Open(cut)
	wantErr(t, err, "truncated: tensor ")
}

// A reader shorter than the size it claims, or a negative size.
func TestReadLyingSize(t *testing.T) {
	data := tiny(t, 0)
	l := locate(t, data)
	for _, n := range []int{0, 3, 20, l.KVs[3].Value, l.HeaderEnd - 5} {
		_, err := gguf.Read(bytes.NewReader(data[:n]), int64(len(data)))
		if err == nil {
			t.Errorf("reader of %d bytes claiming %d: no error", n, len(data))
		}
	}
	// Read reads no tensor data: a reader that ends inside it is not noticed.
	if _, err := gguf.Read(bytes.NewReader(data[:len(data)/2]), int64(len(data))); err != nil {
		t.Errorf("Read checked tensor data: %v", err)
	}
	_, err := gguf.Read(bytes.NewReader(data), -1)
	wantErr(t, err, "negative file size")
}

func TestReadNoTensors(t *testing.T) {
	b := &gguf.Builder{}
	b.Add("general.architecture", "bitnet-b1.58")
	data := writeBuilder(t, b)
	f := mustRead(t, data)
	if len(f.Tensors) != 0 || len(f.KVs) != 1 {
		t.Fatalf("%d tensors, %d kvs", len(f.Tensors), len(f.KVs))
	}
	_, err := gguf.CheckModel(f)
	wantErr(t, err, "missing or non-integer metadata bitnet-b1.58.context_length")

	// No metadata and no tensors at all: a 24-byte file.
	data = newRaw(3, 0, 0).Bytes()
	if f := mustRead(t, data); len(f.KVs) != 0 {
		t.Error("kvs in an empty file")
	}
}

func TestAccessors(t *testing.T) {
	b := &gguf.Builder{}
	b.Add("s", "text")
	b.Add("u8", uint8(8))
	b.Add("i64", int64(64))
	b.Add("neg", int32(-1))
	b.Add("f32", float32(0.5))
	b.Add("f64", 0.25)
	b.Add("strs", []string{"a", "b"})
	b.Add("ints", []int32{1})
	f := mustRead(t, writeBuilder(t, b))
	if f.String("s") != "text" || f.String("u8") != "" || f.String("none") != "" {
		t.Error("String")
	}
	for key, want := range map[string]uint64{"u8": 8, "i64": 64} {
		if v, ok := f.Uint(key); !ok || v != want {
			t.Errorf("Uint(%s) = %d, %v", key, v, ok)
		}
	}
	for _, key := range []string{"neg", "s", "f32", "ints", "none"} {
		if v, ok := f.Uint(key); ok {
			t.Errorf("Uint(%s) = %d, want not ok", key, v)
		}
	}
	if v, ok := f.Float("f32"); !ok || v != 0.5 {
		t.Error("Float(f32)")
	}
	if v, ok := f.Float("f64"); !ok || v != 0.25 {
		t.Error("Float(f64)")
	}
	if _, ok := f.Float("u8"); ok {
		t.Error("Float(u8)")
	}
	if s := f.Strings("strs"); len(s) != 2 || s[1] != "b" {
		t.Error("Strings")
	}
	if f.Strings("ints") != nil || f.Strings("none") != nil {
		t.Error("Strings of a non-string array")
	}
	if _, ok := f.Tensor("none"); ok {
		t.Error("Tensor(none)")
	}
}

func TestTensorTypes(t *testing.T) {
	types := []struct {
		t          gguf.TensorType
		name       string
		block, per uint64
	}{
		{gguf.TypeF32, "f32", 1, 4}, {gguf.TypeF16, "f16", 1, 2}, {gguf.TypeQ4_0, "q4_0", 32, 18},
		{gguf.TypeQ4_1, "q4_1", 32, 20}, {gguf.TypeQ5_0, "q5_0", 32, 22}, {gguf.TypeQ5_1, "q5_1", 32, 24},
		{gguf.TypeQ8_0, "q8_0", 32, 34}, {gguf.TypeQ8_1, "q8_1", 32, 36}, {gguf.TypeQ2_K, "q2_k", 256, 84},
		{gguf.TypeQ3_K, "q3_k", 256, 110}, {gguf.TypeQ4_K, "q4_k", 256, 144}, {gguf.TypeQ5_K, "q5_k", 256, 176},
		{gguf.TypeQ6_K, "q6_k", 256, 210}, {gguf.TypeQ8_K, "q8_k", 256, 292}, {gguf.TypeBF16, "bf16", 1, 2},
		{gguf.TypeTQ1_0, "tq1_0", 256, 54}, {gguf.TypeTQ2_0, "tq2_0", 256, 66}, {gguf.TypeI2_S, "i2_s", 4, 1},
	}
	for _, tt := range types {
		if !tt.t.Known() || tt.t.String() != tt.name || tt.t.BlockSize() != tt.block {
			t.Errorf("%d: known %v name %q block %d", tt.t, tt.t.Known(), tt.t.String(), tt.t.BlockSize())
		}
		if p, ok := gguf.ParseTensorType(tt.name); !ok || p != tt.t {
			t.Errorf("ParseTensorType(%q) = %v %v", tt.name, p, ok)
		}
		n := tt.block * 1024
		want := n / tt.block * tt.per
		if tt.t == gguf.TypeI2_S {
			want += 32
		}
		if size, ok := gguf.TensorSize(tt.t, n); !ok || size != want {
			t.Errorf("TensorSize(%s, %d) = %d %v, want %d", tt.name, n, size, ok, want)
		}
		if tt.block > 1 {
			if _, ok := gguf.TensorSize(tt.t, n+1); ok {
				t.Errorf("TensorSize(%s, %d) accepted a partial block", tt.name, n+1)
			}
		}
	}
	// The I2_S rule of the official file: 2560x2560 takes 1,638,432 bytes.
	if size, _ := gguf.TensorSize(gguf.TypeI2_S, 2560*2560); size != 2560*2560/4+32 {
		t.Errorf("I2_S 2560x2560 = %d bytes", size)
	}
	for _, id := range []gguf.TensorType{4, 5, 16, 29, 31, 33, 37, 99, 1 << 31} {
		if id.Known() {
			t.Errorf("type %d is known", id)
		}
		if _, ok := gguf.TensorSize(id, 256); ok {
			t.Errorf("TensorSize(%d) ok", id)
		}
		if !strings.HasPrefix(id.String(), "type(") {
			t.Errorf("%d.String() = %q", id, id.String())
		}
	}
	if _, ok := gguf.ParseTensorType("q4_2"); ok {
		t.Error("ParseTensorType(q4_2)")
	}
	if gguf.ValArray.String() != "array" || gguf.ValueType(13).String() != "value_type(13)" {
		t.Error("ValueType.String")
	}
}

// Write refuses descriptions that Read would reject or misread.
func TestBuilderRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(b *gguf.Builder)
		want string
	}{
		{"type mismatch", func(b *gguf.Builder) {
			b.KVs = append(b.KVs, gguf.KV{Key: "x", Type: gguf.ValUint32, Value: uint64(1)})
		}, "metadata x: a Go value of type uint64 cannot be written as GGUF uint32"},
		{"elem mismatch", func(b *gguf.Builder) {
			b.KVs = append(b.KVs, gguf.KV{Key: "x", Type: gguf.ValArray, Elem: gguf.ValInt32, Value: []uint32{1}})
		}, "cannot be written as GGUF array of int32"},
		{"unsupported Go type", func(b *gguf.Builder) {
			b.KVs = append(b.KVs, gguf.KV{Key: "x", Type: gguf.ValInt32, Value: 5})
		}, "a Go value of type int cannot"},
		{"nil value", func(b *gguf.Builder) {
			b.KVs = append(b.KVs, gguf.KV{Key: "x", Type: gguf.ValString})
		}, "a Go value of type <nil> cannot"},
		{"empty key", func(b *gguf.Builder) { b.Add("", uint8(1)) }, "empty key"},
		{"duplicate key", func(b *gguf.Builder) { b.Add("a", uint8(1)) }, `metadata key "a" appears twice`},
		{"long string", func(b *gguf.Builder) { b.Add("big", strings.Repeat("x", 1<<24+1)) }, "longer than the limit"},
		{"alignment uint64", func(b *gguf.Builder) { b.Add("general.alignment", uint64(64)) }, "general.alignment must be a uint32, not uint64"},
		{"alignment conflict", func(b *gguf.Builder) {
			b.Add("general.alignment", uint32(64))
			b.Alignment = 128
		}, "Builder.Alignment 128 differs from general.alignment 64"},
		{"alignment not a power of two", func(b *gguf.Builder) { b.Alignment = 48 }, "alignment 48 is not a power of two"},
		{"alignment kv 0", func(b *gguf.Builder) { b.Add("general.alignment", uint32(0)) }, "general.alignment 0 is not a power of two"},
		{"alignment kv 2 MiB", func(b *gguf.Builder) { b.Add("general.alignment", uint32(2<<20)) }, "general.alignment 2097152 is not a power of two up to 1 MiB"},
		{"duplicate tensor", func(b *gguf.Builder) { b.AddTensor("t", gguf.TypeF32, 4) }, `tensor "t" appears twice`},
		{"wrong size", func(b *gguf.Builder) {
			b.Tensors = append(b.Tensors, gguf.TensorInfo{Name: "u", Type: gguf.TypeI2_S, Shape: []uint64{128}, Size: 32})
		}, "tensor u: Size is 32, but a i2_s tensor of shape [128] takes 64 bytes"},
		{"no dims", func(b *gguf.Builder) {
			b.Tensors = append(b.Tensors, gguf.TensorInfo{Name: "u", Type: gguf.TypeF32, Size: 4})
		}, "tensor u has 0 dimensions"},
		{"zero dim", func(b *gguf.Builder) {
			b.Tensors = append(b.Tensors, gguf.TensorInfo{Name: "u", Type: gguf.TypeF32, Shape: []uint64{4, 0}})
		}, "absurd shape"},
		{"I2_S values", func(b *gguf.Builder) {
			b.Tensors = append(b.Tensors, gguf.TensorInfo{Name: "u", Type: gguf.TypeI2_S, Shape: []uint64{64, 3}, Size: 80})
		}, "I2_S holds 192 values, not a multiple of 128"},
		{"unknown type", func(b *gguf.Builder) {
			b.Tensors = append(b.Tensors, gguf.TensorInfo{Name: "u", Type: 99, Shape: []uint64{4}, Size: 4})
		}, "does not fit type type(99)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &gguf.Builder{}
			b.Add("a", "x")
			if err := b.AddTensor("t", gguf.TypeF32, 4); err != nil {
				t.Fatal(err)
			}
			tc.edit(b)
			var buf bytes.Buffer
			called := false
			err := b.Write(&buf, func(i int, ti gguf.TensorInfo, w io.Writer) error {
				called = true
				_, err := w.Write(make([]byte, ti.Size))
				return err
			})
			wantErr(t, err, tc.want)
			if called || buf.Len() != 0 {
				t.Errorf("Write wrote %d bytes before refusing", buf.Len())
			}
		})
	}

	if err := (&gguf.Builder{}).AddTensor("q", gguf.TypeQ6_K, 100); err == nil {
		t.Error("AddTensor accepted 100 q6_k elements")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Add(int) did not panic")
			}
		}()
		(&gguf.Builder{}).Add("x", 1)
	}()
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after -= len(p)
	return len(p), nil
}

func TestBuilderWriteErrors(t *testing.T) {
	newB := func() *gguf.Builder {
		b := &gguf.Builder{}
		b.Add("a", "x")
		b.AddTensor("t", gguf.TypeF32, 4)
		b.AddTensor("u", gguf.TypeF32, 4)
		return b
	}
	err := newB().Write(io.Discard, func(i int, ti gguf.TensorInfo, w io.Writer) error {
		_, err := w.Write(make([]byte, ti.Size-1))
		return err
	})
	wantErr(t, err, "write tensor t: wrote 15 bytes, want 16")

	err = newB().Write(io.Discard, func(i int, ti gguf.TensorInfo, w io.Writer) error {
		if i == 1 {
			return errors.New("source gone")
		}
		_, err := w.Write(make([]byte, ti.Size))
		return err
	})
	wantErr(t, err, "write tensor u: source gone")

	// The 1 MiB buffer hides the failure until the flush.
	err = newB().Write(&failWriter{}, func(i int, ti gguf.TensorInfo, w io.Writer) error {
		_, err := w.Write(make([]byte, ti.Size))
		return err
	})
	wantErr(t, err, "disk full")

	// Writes beyond the buffer fail during the data.
	b := &gguf.Builder{}
	b.AddTensor("big", gguf.TypeF32, 1<<19)
	err = b.Write(&failWriter{after: 100}, func(i int, ti gguf.TensorInfo, w io.Writer) error {
		_, err := w.Write(make([]byte, ti.Size))
		return err
	})
	wantErr(t, err, "disk full")
}
