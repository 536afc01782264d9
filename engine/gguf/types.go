// Package gguf reads, validates and writes GGUF files in pure Go, so that
// no malformed file ever reaches ggml's C code (which aborts the process on
// bad input).
package gguf

import "fmt"

// TensorType is a ggml tensor type id as stored in GGUF.
type TensorType uint32

// The tensor types this project reads or writes. I2_S is id 36 in
// bitnet.cpp's fork of ggml; the id means nothing to upstream ggml.
const (
	TypeF32   TensorType = 0
	TypeF16   TensorType = 1
	TypeQ4_0  TensorType = 2
	TypeQ4_1  TensorType = 3
	TypeQ5_0  TensorType = 6
	TypeQ5_1  TensorType = 7
	TypeQ8_0  TensorType = 8
	TypeQ8_1  TensorType = 9
	TypeQ2_K  TensorType = 10
	TypeQ3_K  TensorType = 11
	TypeQ4_K  TensorType = 12
	TypeQ5_K  TensorType = 13
	TypeQ6_K  TensorType = 14
	TypeQ8_K  TensorType = 15
	TypeBF16  TensorType = 30
	TypeTQ1_0 TensorType = 34
	TypeTQ2_0 TensorType = 35
	TypeI2_S  TensorType = 36
)

type typeTraits struct {
	name      string
	blockSize uint64 // elements per block
	typeSize  uint64 // bytes per block
}

var traits = map[TensorType]typeTraits{
	TypeF32:   {"f32", 1, 4},
	TypeF16:   {"f16", 1, 2},
	TypeQ4_0:  {"q4_0", 32, 18},
	TypeQ4_1:  {"q4_1", 32, 20},
	TypeQ5_0:  {"q5_0", 32, 22},
	TypeQ5_1:  {"q5_1", 32, 24},
	TypeQ8_0:  {"q8_0", 32, 34},
	TypeQ8_1:  {"q8_1", 32, 36},
	TypeQ2_K:  {"q2_k", 256, 84},
	TypeQ3_K:  {"q3_k", 256, 110},
	TypeQ4_K:  {"q4_k", 256, 144},
	TypeQ5_K:  {"q5_k", 256, 176},
	TypeQ6_K:  {"q6_k", 256, 210},
	TypeQ8_K:  {"q8_k", 256, 292},
	TypeBF16:  {"bf16", 1, 2},
	TypeTQ1_0: {"tq1_0", 256, 54},
	TypeTQ2_0: {"tq2_0", 256, 66},
	TypeI2_S:  {"i2_s", 4, 1}, // plus a 32-byte tail per tensor, see TensorSize
}

// Known reports whether t is a tensor type this package knows.
func (t TensorType) Known() bool { _, ok := traits[t]; return ok }

// BlockSize is the number of elements in one block of t.
func (t TensorType) BlockSize() uint64 { return traits[t].blockSize }

func (t TensorType) String() string {
	if tr, ok := traits[t]; ok {
		return tr.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// I2STail is the number of bytes after the packed codes of an I2_S tensor:
// a float32 scale and 28 unspecified bytes.
const I2STail = 32

// TensorSize returns the number of bytes a tensor of n elements takes.
// ok is false when n is not a whole number of blocks or the type is unknown.
func TensorSize(t TensorType, n uint64) (size uint64, ok bool) {
	tr, known := traits[t]
	if !known || n%tr.blockSize != 0 {
		return 0, false
	}
	size = n / tr.blockSize * tr.typeSize
	if t == TypeI2_S {
		size += I2STail
	}
	return size, true
}

// ParseTensorType maps a name such as "q6_k" to its type.
func ParseTensorType(name string) (TensorType, bool) {
	for t, tr := range traits {
		if tr.name == name {
			return t, true
		}
	}
	return 0, false
}

// ValueType is a GGUF metadata value type.
type ValueType uint32

// GGUF metadata value types.
const (
	ValUint8   ValueType = 0
	ValInt8    ValueType = 1
	ValUint16  ValueType = 2
	ValInt16   ValueType = 3
	ValUint32  ValueType = 4
	ValInt32   ValueType = 5
	ValFloat32 ValueType = 6
	ValBool    ValueType = 7
	ValString  ValueType = 8
	ValArray   ValueType = 9
	ValUint64  ValueType = 10
	ValInt64   ValueType = 11
	ValFloat64 ValueType = 12
)

var valueSizes = map[ValueType]uint64{
	ValUint8: 1, ValInt8: 1, ValUint16: 2, ValInt16: 2, ValUint32: 4, ValInt32: 4,
	ValFloat32: 4, ValBool: 1, ValUint64: 8, ValInt64: 8, ValFloat64: 8,
}

func (v ValueType) String() string {
	names := [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
		"bool", "string", "array", "uint64", "int64", "float64"}
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("value_type(%d)", uint32(v))
}
