package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"sort"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the tensor data alignment when general.alignment is absent.
const DefaultAlignment = 32

// KeyAlignment is the metadata key that sets the tensor data alignment. It
// must be a uint32 power of two.
const KeyAlignment = "general.alignment"

// maxAlignment is the largest general.alignment accepted.
const maxAlignment = 1 << 20

// Limits that keep a hostile header from making the reader allocate or loop
// without bound. Real files are far below them.
const (
	maxTensors  = 1 << 16
	maxKVs      = 1 << 16
	maxKeyLen   = 1 << 16
	maxStrLen   = 1 << 24
	maxArrayLen = 1 << 26
	maxDims     = 4
)

// ErrNotGGUF is returned for files that do not start with the GGUF magic.
var ErrNotGGUF = errors.New("not a GGUF file")

// KV is one metadata entry.
type KV struct {
	Key   string
	Type  ValueType
	Elem  ValueType // element type when Type is ValArray
	Value any       // uint8..float64, bool, string, or a slice of one of them
}

// TensorInfo describes one tensor. Shape is in ggml order (ne0 first).
type TensorInfo struct {
	Name   string
	Shape  []uint64
	Type   TensorType
	Offset uint64 // relative to File.DataOffset
	Size   uint64 // bytes
}

// Elements is the number of elements of the tensor.
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is the parsed header of a GGUF file.
type File struct {
	Version    uint32
	KVs        []KV
	Tensors    []TensorInfo
	Alignment  uint64
	DataOffset uint64 // absolute offset of the tensor data section
	Size       int64  // file size
	kvIndex    map[string]int
	tIndex     map[string]int
}

// Open reads and checks the header of the GGUF file at path.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open model: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat model: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not a GGUF file", path)
	}
	return Read(fh, st.Size())
}

// Read parses the header from r, a file of the given size, and checks every
// count, length, type, shape and offset against the size. It reads no tensor
// data.
func Read(r io.ReaderAt, size int64) (*File, error) {
	if size < 0 {
		return nil, fmt.Errorf("negative file size %d", size)
	}
	p := &parser{r: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 1<<16), size: uint64(size)}
	f, err := p.file()
	if err != nil {
		return nil, err
	}
	f.Size = size
	return f, nil
}

type parser struct {
	r    *bufio.Reader
	pos  uint64
	size uint64
	buf  [8]byte
}

func (p *parser) truncated(what string, n uint64) error {
	return fmt.Errorf("truncated: %s needs %d bytes at offset %d, file ends at %d", what, n, p.pos, p.size)
}

func (p *parser) need(what string, n uint64) error {
	if n > p.size || p.pos > p.size-n {
		return p.truncated(what, n)
	}
	return nil
}

func (p *parser) read(what string, b []byte) error {
	if err := p.need(what, uint64(len(b))); err != nil {
		return err
	}
	if _, err := io.ReadFull(p.r, b); err != nil {
		return fmt.Errorf("read %s at offset %d: %w", what, p.pos, err)
	}
	p.pos += uint64(len(b))
	return nil
}

func (p *parser) u32(what string) (uint32, error) {
	if err := p.read(what, p.buf[:4]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p.buf[:4]), nil
}

func (p *parser) u64(what string) (uint64, error) {
	if err := p.read(what, p.buf[:8]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(p.buf[:8]), nil
}

func (p *parser) str(what string, limit uint64) (string, error) {
	return p.strAt(what, -1, limit)
}

// strAt reads a string called what, or what[i] when i >= 0. The name is
// only formatted on error: string arrays hold hundreds of thousands of
// strings.
func (p *parser) strAt(what string, i int, limit uint64) (string, error) {
	name := func() string {
		if i < 0 {
			return what
		}
		return fmt.Sprintf("%s[%d]", what, i)
	}
	if err := p.need("", 8); err != nil {
		return "", p.truncated(name()+" length", 8)
	}
	if _, err := io.ReadFull(p.r, p.buf[:8]); err != nil {
		return "", fmt.Errorf("read %s length at offset %d: %w", name(), p.pos, err)
	}
	p.pos += 8
	n := binary.LittleEndian.Uint64(p.buf[:8])
	if n > limit {
		return "", fmt.Errorf("%s at offset %d is %d bytes long, more than the limit of %d", name(), p.pos-8, n, limit)
	}
	if err := p.need("", n); err != nil {
		return "", p.truncated(name(), n)
	}
	var s string
	if n <= uint64(p.r.Size()) {
		b, err := p.r.Peek(int(n))
		if err != nil {
			return "", fmt.Errorf("read %s at offset %d: %w", name(), p.pos, err)
		}
		s = string(b)
		p.r.Discard(int(n))
	} else {
		b := make([]byte, n)
		if _, err := io.ReadFull(p.r, b); err != nil {
			return "", fmt.Errorf("read %s at offset %d: %w", name(), p.pos, err)
		}
		s = string(b)
	}
	p.pos += n
	return s, nil
}

func (p *parser) file() (*File, error) {
	var magic [4]byte
	if err := p.read("magic", magic[:]); err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotGGUF, err)
	}
	if string(magic[:]) != Magic {
		return nil, fmt.Errorf("%w: the file starts with %q", ErrNotGGUF, magic[:])
	}
	version, err := p.u32("version")
	if err != nil {
		return nil, err
	}
	if version != 2 && version != 3 {
		return nil, fmt.Errorf("GGUF version %d is not supported (only 2 and 3)", version)
	}
	nTensors, err := p.u64("tensor count")
	if err != nil {
		return nil, err
	}
	nKV, err := p.u64("metadata count")
	if err != nil {
		return nil, err
	}
	if nTensors > maxTensors {
		return nil, fmt.Errorf("tensor count %d is absurd (limit %d)", nTensors, maxTensors)
	}
	if nKV > maxKVs {
		return nil, fmt.Errorf("metadata count %d is absurd (limit %d)", nKV, maxKVs)
	}
	// Every entry takes at least 8+4+1 bytes and every tensor 8+4+8+4+8.
	if err := p.need(fmt.Sprintf("%d metadata entries and %d tensor infos", nKV, nTensors), nKV*13+nTensors*32); err != nil {
		return nil, err
	}

	f := &File{Version: version, Alignment: DefaultAlignment, kvIndex: map[string]int{}, tIndex: map[string]int{}}
	for i := uint64(0); i < nKV; i++ {
		kv, err := p.kv()
		if err != nil {
			return nil, fmt.Errorf("metadata entry %d: %w", i, err)
		}
		if _, dup := f.kvIndex[kv.Key]; dup {
			return nil, fmt.Errorf("metadata key %q appears twice", shorten(kv.Key))
		}
		f.kvIndex[kv.Key] = len(f.KVs)
		f.KVs = append(f.KVs, kv)
	}
	if kv, ok := f.Get(KeyAlignment); ok {
		// ggml reads this key with gguf_get_val_u32, which aborts the
		// process on any other type, and ollama's reader silently falls
		// back to 32 for any other type: only a uint32 is acceptable.
		a, ok := kv.Value.(uint32)
		if !ok {
			return nil, fmt.Errorf("%s must be a uint32, not %s", KeyAlignment, typeName(kv))
		}
		if a == 0 || a > maxAlignment || a&(a-1) != 0 {
			return nil, fmt.Errorf("%s %d is not a power of two up to 1 MiB", KeyAlignment, a)
		}
		f.Alignment = uint64(a)
	}

	for i := uint64(0); i < nTensors; i++ {
		t, err := p.tensor()
		if err != nil {
			return nil, fmt.Errorf("tensor info %d: %w", i, err)
		}
		if _, dup := f.tIndex[t.Name]; dup {
			return nil, fmt.Errorf("tensor %q appears twice", shorten(t.Name))
		}
		f.tIndex[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}

	f.DataOffset = alignUp(p.pos, f.Alignment)
	if f.DataOffset > p.size && nTensors > 0 {
		return nil, fmt.Errorf("truncated: tensor data should start at offset %d, file ends at %d", f.DataOffset, p.size)
	}
	if err := f.checkTensorRanges(p.size); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *File) checkTensorRanges(size uint64) error {
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	// Stable: of two tensors at one offset, the later one is reported.
	sort.SliceStable(order, func(a, b int) bool { return f.Tensors[order[a]].Offset < f.Tensors[order[b]].Offset })
	var end uint64
	var prev string
	for _, i := range order {
		t := f.Tensors[i]
		name := display(t.Name)
		if t.Offset%f.Alignment != 0 {
			return fmt.Errorf("tensor %s: offset %d is not a multiple of the alignment %d", name, t.Offset, f.Alignment)
		}
		if t.Offset < end {
			return fmt.Errorf("tensor %s overlaps tensor %s", name, prev)
		}
		start, ok := addU64(f.DataOffset, t.Offset)
		stop, ok2 := addU64(start, t.Size)
		if !ok || !ok2 {
			return fmt.Errorf("truncated: tensor %s needs %d bytes at data offset %d, far past the end of the file at %d", name, t.Size, t.Offset, size)
		}
		if stop > size {
			return fmt.Errorf("truncated: tensor %s needs %d bytes at offset %d, file ends at %d", name, t.Size, start, size)
		}
		end = t.Offset + t.Size
		prev = name
	}
	return nil
}

func (p *parser) kv() (KV, error) {
	key, err := p.str("key", maxKeyLen)
	if err != nil {
		return KV{}, err
	}
	if key == "" {
		// ggml asserts (aborts) on an empty key.
		return KV{}, fmt.Errorf("empty key at offset %d", p.pos-8)
	}
	name := display(key) // for messages: a hostile key can be 64 KiB of anything
	vt, err := p.u32("value type of " + name)
	if err != nil {
		return KV{}, err
	}
	kv := KV{Key: key, Type: ValueType(vt)}
	if kv.Type == ValArray {
		et, err := p.u32("array type of " + name)
		if err != nil {
			return KV{}, err
		}
		kv.Elem = ValueType(et)
		kv.Value, err = p.array(name, kv.Elem)
		return kv, err
	}
	kv.Value, err = p.scalar(name, kv.Type)
	return kv, err
}

func (p *parser) scalar(key string, t ValueType) (any, error) {
	if t == ValString {
		return p.str("value of "+key, maxStrLen)
	}
	n, ok := valueSizes[t]
	if !ok {
		return nil, fmt.Errorf("key %s: unknown value type %d", key, uint32(t))
	}
	if err := p.read("value of "+key, p.buf[:n]); err != nil {
		return nil, err
	}
	return decodeScalar(t, p.buf[:n]), nil
}

func decodeScalar(t ValueType, b []byte) any {
	le := binary.LittleEndian
	switch t {
	case ValUint8:
		return b[0]
	case ValInt8:
		return int8(b[0])
	case ValUint16:
		return le.Uint16(b)
	case ValInt16:
		return int16(le.Uint16(b))
	case ValUint32:
		return le.Uint32(b)
	case ValInt32:
		return int32(le.Uint32(b))
	case ValFloat32:
		return math.Float32frombits(le.Uint32(b))
	case ValBool:
		return b[0] != 0
	case ValUint64:
		return le.Uint64(b)
	case ValInt64:
		return int64(le.Uint64(b))
	case ValFloat64:
		return math.Float64frombits(le.Uint64(b))
	}
	return nil
}

func (p *parser) array(key string, et ValueType) (any, error) {
	n, err := p.u64("array length of " + key)
	if err != nil {
		return nil, err
	}
	if n > maxArrayLen {
		return nil, fmt.Errorf("key %s: array length %d is absurd (limit %d)", key, n, maxArrayLen)
	}
	switch et {
	case ValArray:
		return nil, fmt.Errorf("key %s: nested arrays are not supported", key)
	case ValString:
		if err := p.need(fmt.Sprintf("%d strings of %s", n, key), n*8); err != nil {
			return nil, err
		}
		out := make([]string, n)
		for i := range out {
			if out[i], err = p.strAt(key, i, maxStrLen); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	es, ok := valueSizes[et]
	if !ok {
		return nil, fmt.Errorf("key %s: unknown array element type %d", key, uint32(et))
	}
	if err := p.need(fmt.Sprintf("array %s of %d %s", key, n, et), n*es); err != nil {
		return nil, err
	}
	raw := make([]byte, n*es)
	if err := p.read("array "+key, raw); err != nil {
		return nil, err
	}
	return decodeArray(et, raw, int(n)), nil
}

func decodeArray(et ValueType, raw []byte, n int) any {
	le := binary.LittleEndian
	switch et {
	case ValUint8:
		return raw
	case ValInt8:
		return decodeEach(raw, n, 1, func(b []byte) int8 { return int8(b[0]) })
	case ValUint16:
		return decodeEach(raw, n, 2, le.Uint16)
	case ValInt16:
		return decodeEach(raw, n, 2, func(b []byte) int16 { return int16(le.Uint16(b)) })
	case ValUint32:
		return decodeEach(raw, n, 4, le.Uint32)
	case ValInt32:
		return decodeEach(raw, n, 4, func(b []byte) int32 { return int32(le.Uint32(b)) })
	case ValFloat32:
		return decodeEach(raw, n, 4, func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) })
	case ValBool:
		return decodeEach(raw, n, 1, func(b []byte) bool { return b[0] != 0 })
	case ValUint64:
		return decodeEach(raw, n, 8, le.Uint64)
	case ValInt64:
		return decodeEach(raw, n, 8, func(b []byte) int64 { return int64(le.Uint64(b)) })
	case ValFloat64:
		return decodeEach(raw, n, 8, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) })
	}
	return nil
}

// decodeEach decodes n little-endian values of size bytes each.
func decodeEach[T any](raw []byte, n, size int, dec func([]byte) T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = dec(raw[size*i:])
	}
	return out
}

func (p *parser) tensor() (TensorInfo, error) {
	tname, err := p.str("tensor name", 1024)
	if err != nil {
		return TensorInfo{}, err
	}
	name := display(tname) // for messages
	nd, err := p.u32("dimension count of " + name)
	if err != nil {
		return TensorInfo{}, err
	}
	if nd == 0 || nd > maxDims {
		return TensorInfo{}, fmt.Errorf("tensor %s has %d dimensions (1 to %d allowed)", name, nd, maxDims)
	}
	t := TensorInfo{Name: tname, Shape: make([]uint64, nd)}
	n := uint64(1)
	for i := range t.Shape {
		if t.Shape[i], err = p.u64("shape of " + name); err != nil {
			return TensorInfo{}, err
		}
		hi, lo := bits.Mul64(n, t.Shape[i])
		if t.Shape[i] == 0 || hi != 0 || lo > 1<<40 {
			return TensorInfo{}, fmt.Errorf("tensor %s has an absurd shape %v", name, t.Shape[:i+1])
		}
		n = lo
	}
	typ, err := p.u32("type of " + name)
	if err != nil {
		return TensorInfo{}, err
	}
	t.Type = TensorType(typ)
	if !t.Type.Known() {
		return TensorInfo{}, fmt.Errorf("tensor %s has unknown type %d", name, typ)
	}
	// I2_S packs the whole tensor in blocks of 128 values (a block may
	// span rows: 1bitLLM-3B's ffn_down rows hold 8640).
	if t.Type == TypeI2_S && n%128 != 0 {
		return TensorInfo{}, fmt.Errorf("tensor %s: I2_S holds %d values, not a multiple of 128", name, n)
	}
	if t.Shape[0]%t.Type.BlockSize() != 0 {
		return TensorInfo{}, fmt.Errorf("tensor %s: rows of %d elements are not whole %s blocks of %d", name, t.Shape[0], t.Type, t.Type.BlockSize())
	}
	var ok bool
	if t.Size, ok = TensorSize(t.Type, n); !ok {
		return TensorInfo{}, fmt.Errorf("tensor %s: %d elements do not fit type %s", name, n, t.Type)
	}
	if t.Offset, err = p.u64("offset of " + name); err != nil {
		return TensorInfo{}, err
	}
	return t, nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

func addU64(a, b uint64) (uint64, bool) {
	s, c := bits.Add64(a, b, 0)
	return s, c == 0
}

func asUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	}
	return 0, false
}

// Get returns the metadata entry for key.
func (f *File) Get(key string) (KV, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return KV{}, false
	}
	return f.KVs[i], true
}

// Tensor returns the tensor called name.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.tIndex[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// String returns a string value, or "" when absent or of another type.
func (f *File) String(key string) string {
	kv, _ := f.Get(key)
	s, _ := kv.Value.(string)
	return s
}

// Uint returns a non-negative integer value of any integer type.
func (f *File) Uint(key string) (uint64, bool) {
	kv, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return asUint(kv.Value)
}

// Float returns a float value (float32 or float64).
func (f *File) Float(key string) (float64, bool) {
	kv, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	switch x := kv.Value.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// Strings returns a string array value.
func (f *File) Strings(key string) []string {
	kv, _ := f.Get(key)
	s, _ := kv.Value.([]string)
	return s
}

// DataRange returns the absolute byte range of a tensor's data.
func (f *File) DataRange(t TensorInfo) (offset int64, size int64) {
	return int64(f.DataOffset + t.Offset), int64(t.Size)
}

// typeName describes the GGUF type of a metadata value, e.g. "uint64" or
// "array of uint32".
func typeName(kv KV) string {
	if kv.Type == ValArray {
		return "array of " + kv.Elem.String()
	}
	return kv.Type.String()
}

// display returns a key or tensor name as error messages show it: as is
// when short and printable, else quoted and cut to 64 bytes.
func display(s string) string {
	if len(s) <= 64 && utf8.ValidString(s) {
		printable := true
		for _, r := range s {
			if !unicode.IsPrint(r) {
				printable = false
				break
			}
		}
		if printable {
			return s
		}
	}
	return strconv.Quote(shorten(s))
}

// shorten cuts s to 64 bytes, marking the cut with "...".
func shorten(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "..."
}
