package gguf_test

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"os"
	"runtime"
	"sort"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf/ggufttest"
)

// TestMain lowers the fuzzer's default minimization budget from 60 s to
// 5 s per new input (unless -test.fuzzminimizetime is given): the inputs
// are ~10 kB headers, whose minimization always takes the whole budget, and
// the fuzzer explores nothing meanwhile, so with the default a 60 s run
// minimizes one input and fuzzes for a few seconds.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.fuzzminimizetime" })
	if !set && flag.Lookup("test.fuzzminimizetime") != nil {
		flag.Set("test.fuzzminimizetime", "5s")
	}
	os.Exit(m.Run())
}

// maxTail bounds the zero tail a fuzz input may add, so that the files
// stay small enough for the allocation bound to mean something.
const maxTail = 1 << 22

// FuzzRead reads arbitrary bytes as a GGUF file and, when Read accepts
// them, checks them with CheckModel. Neither may panic or allocate more
// than a small multiple of the file size, an accepted file must satisfy
// the invariants the engine relies on, and writing it back with the
// Builder must give a file that reads the same.
//
// The file is head followed by tail zero bytes: Read never looks at
// tensor data, so the seeds are the valid headers with their data sizes,
// which keeps the inputs small for the mutator.
func FuzzRead(f *testing.F) {
	for _, v := range ggufttest.Variants {
		data := tiny(f, v)
		file := mustRead(f, data)
		f.Add(data[:file.DataOffset], uint32(len(data)-int(file.DataOffset)))
	}
	// A valid model with an 8-token vocabulary: a 2 kB header.
	micro := microModel(f)
	mf := mustRead(f, micro)
	if _, err := gguf.CheckModel(mf); err != nil {
		f.Fatalf("micro model: %v", err)
	}
	f.Add(micro[:mf.DataOffset], uint32(len(micro)-int(mf.DataOffset)))
	// Every corrupt file of the table, cut to its header part.
	for _, tc := range badCases() {
		if tc.make == nil {
			continue
		}
		data := tc.make(f)
		head := min(len(data), 12<<10)
		f.Add(data[:head], uint32(min(len(data)-head, maxTail)))
	}
	// Every value type, scalar and array, and every tensor type, aligned to 64.
	f.Add(allTypes(f), uint32(0))
	// Small hand-made files.
	f.Add([]byte{}, uint32(0))
	f.Add([]byte("GGUF"), uint32(0))
	f.Add(newRaw(3, 0, 0).Bytes(), uint32(0))
	f.Add(newRaw(2, 1, 1).str("general.alignment").u32(uint32(gguf.ValUint32)).u32(64).
		tensor("a", gguf.TypeI2_S, 0, 128, 2).Bytes(), uint32(200))

	f.Fuzz(func(t *testing.T, head []byte, tail uint32) {
		tail %= maxTail
		size := int64(len(head)) + int64(tail)
		r := &ggufttest.HeaderFile{Head: head, Size: size}

		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		file, err := gguf.Read(r, size)
		var spec *gguf.Spec
		var cerr error
		if err == nil {
			spec, cerr = gguf.CheckModel(file)
		}
		runtime.ReadMemStats(&m1)
		// The reader's 64 KiB buffer, then a few bytes per byte of file.
		if alloc, limit := m1.TotalAlloc-m0.TotalAlloc, uint64(1<<20+8*size); alloc > limit {
			t.Fatalf("Read+CheckModel of a %d-byte file allocated %d bytes (limit %d)", size, alloc, limit)
		}
		for _, e := range []error{err, cerr} {
			if e != nil && len(e.Error()) > 600 {
				t.Fatalf("error message of %d bytes: %.600s", len(e.Error()), e)
			}
		}
		if err != nil {
			return
		}
		checkFile(t, file, size)
		if cerr == nil {
			checkSpec(t, file, spec)
		}
		// Write it back and read it again.
		again, againSize := rewrite(t, file)
		checkSame(t, file, again)
		if again.DataOffset != file.DataOffset {
			t.Fatalf("rewritten data offset %d, was %d", again.DataOffset, file.DataOffset)
		}
		if againSize > size {
			// Packing and padding the tensors never grows a valid file
			// beyond its size plus the final padding.
			if againSize > size+int64(file.Alignment) {
				t.Fatalf("rewritten file is %d bytes, was %d", againSize, size)
			}
		}
		spec2, cerr2 := gguf.CheckModel(again)
		if (cerr == nil) != (cerr2 == nil) || cerr != nil && cerr.Error() != cerr2.Error() {
			t.Fatalf("CheckModel differs after a rewrite: %v, then %v", cerr, cerr2)
		}
		if cerr == nil && *spec != *spec2 {
			t.Fatalf("spec differs after a rewrite:\n%+v\n%+v", *spec, *spec2)
		}
	})
}

// checkFile checks the invariants of a file Read accepted.
func checkFile(t *testing.T, f *gguf.File, size int64) {
	t.Helper()
	if f.Version != 2 && f.Version != 3 {
		t.Fatalf("version %d", f.Version)
	}
	if f.Size != size {
		t.Fatalf("size %d, file %d", f.Size, size)
	}
	a := f.Alignment
	if a == 0 || a&(a-1) != 0 || a > 1<<20 {
		t.Fatalf("alignment %d", a)
	}
	if kv, ok := f.Get("general.alignment"); ok {
		if v, ok := kv.Value.(uint32); !ok || uint64(v) != a {
			t.Fatalf("general.alignment %v (%T), alignment %d", kv.Value, kv.Value, a)
		}
	} else if a != gguf.DefaultAlignment {
		t.Fatalf("alignment %d without general.alignment", a)
	}
	if f.DataOffset%a != 0 || f.DataOffset < 24 {
		t.Fatalf("data offset %d (alignment %d)", f.DataOffset, a)
	}
	for i, kv := range f.KVs {
		got, ok := f.Get(kv.Key)
		if kv.Key == "" || !ok || got.Key != kv.Key || !sameValue(got.Value, kv.Value) {
			t.Fatalf("key %d %q: Get gives %v %v", i, kv.Key, got, ok)
		}
		if kv.Type == gguf.ValArray && (kv.Elem == gguf.ValArray || kv.Elem > gguf.ValFloat64) || kv.Type > gguf.ValFloat64 {
			t.Fatalf("key %q has type %v/%v", kv.Key, kv.Type, kv.Elem)
		}
	}
	if len(f.Tensors) == 0 {
		return
	}
	if f.DataOffset > uint64(size) {
		t.Fatalf("data offset %d past the end %d", f.DataOffset, size)
	}
	order := make([]gguf.TensorInfo, len(f.Tensors))
	copy(order, f.Tensors)
	sort.Slice(order, func(i, j int) bool { return order[i].Offset < order[j].Offset })
	var end uint64
	for i, ti := range order {
		if got, ok := f.Tensor(ti.Name); !ok || got.Offset != ti.Offset {
			t.Fatalf("Tensor(%q) = %v %v", ti.Name, got, ok)
		}
		if len(ti.Shape) < 1 || len(ti.Shape) > 4 || !ti.Type.Known() {
			t.Fatalf("tensor %q: shape %v type %v", ti.Name, ti.Shape, ti.Type)
		}
		n := uint64(1)
		for _, d := range ti.Shape {
			hi, lo := bits.Mul64(n, d)
			if d == 0 || hi != 0 {
				t.Fatalf("tensor %q: shape %v", ti.Name, ti.Shape)
			}
			n = lo
		}
		if want, ok := gguf.TensorSize(ti.Type, n); !ok || want != ti.Size || ti.Elements() != n {
			t.Fatalf("tensor %q: %d bytes for %d %s elements (want %d %v)", ti.Name, ti.Size, n, ti.Type, want, ok)
		}
		if ti.Shape[0]%ti.Type.BlockSize() != 0 || ti.Type == gguf.TypeI2_S && n%128 != 0 {
			t.Fatalf("tensor %q: rows of %d %s", ti.Name, ti.Shape[0], ti.Type)
		}
		if ti.Offset%a != 0 {
			t.Fatalf("tensor %q: offset %d not aligned to %d", ti.Name, ti.Offset, a)
		}
		if i > 0 && ti.Offset < end {
			t.Fatalf("tensor %q at %d overlaps the previous one, which ends at %d", ti.Name, ti.Offset, end)
		}
		start, c1 := bits.Add64(f.DataOffset, ti.Offset, 0)
		stop, c2 := bits.Add64(start, ti.Size, 0)
		if c1 != 0 || c2 != 0 || stop > uint64(size) {
			t.Fatalf("tensor %q: [%d, %d) outside the file of %d bytes", ti.Name, start, stop, size)
		}
		off, n64 := f.DataRange(ti)
		if off < 0 || n64 < 0 || uint64(off) != start || uint64(n64) != ti.Size {
			t.Fatalf("DataRange(%q) = %d, %d", ti.Name, off, n64)
		}
		end = ti.Offset + ti.Size
	}
}

// checkSpec checks what CheckModel promises about an accepted file.
func checkSpec(t *testing.T, f *gguf.File, s *gguf.Spec) {
	t.Helper()
	if s.Arch != gguf.ArchBitNet && s.Arch != gguf.ArchBitNet25 || f.String("general.architecture") != s.Arch {
		t.Fatalf("arch %q", s.Arch)
	}
	if s.Heads <= 0 || s.KVHeads <= 0 || s.Embd != s.Heads*s.HeadDim || s.Heads%s.KVHeads != 0 ||
		s.RopeDim != s.HeadDim || s.HeadDim%2 != 0 || s.Blocks < 1 || s.FFN < 1 || s.Context < 1 {
		t.Fatalf("inconsistent spec %+v", *s)
	}
	if !(s.Eps > 0 && s.Eps < 1) || !(s.RopeBase > 1) {
		t.Fatalf("eps %v rope base %v", s.Eps, s.RopeBase)
	}
	toks := f.Strings("tokenizer.ggml.tokens")
	if s.Vocab < 1 || len(toks) != s.Vocab || s.BOS < 0 || int(s.BOS) >= s.Vocab || s.EOS < 0 || int(s.EOS) >= s.Vocab {
		t.Fatalf("vocab %d (%d tokens), bos %d, eos %d", s.Vocab, len(toks), s.BOS, s.EOS)
	}
	if kv, ok := f.Get("tokenizer.ggml.scores"); ok {
		if sc, ok := kv.Value.([]float32); !ok || len(sc) != s.Vocab {
			t.Fatal("scores accepted with the wrong type or length")
		}
	}
	switch {
	case !s.Converted && s.Ternary == gguf.TypeI2_S:
	case s.Converted && (s.Ternary == gguf.TypeTQ2_0 || s.Ternary == gguf.TypeQ2_K):
	default:
		t.Fatalf("converted %v with ternary type %v", s.Converted, s.Ternary)
	}
	shape := func(name string, want ...uint64) gguf.TensorInfo {
		ti, ok := f.Tensor(name)
		if !ok || !equalU64(ti.Shape, want) {
			t.Fatalf("tensor %s: %v %v, want shape %v", name, ti.Shape, ok, want)
		}
		return ti
	}
	emb := shape(s.EmbedTensor, uint64(s.Embd), uint64(s.Vocab))
	if emb.Type != s.Embedding {
		t.Fatalf("embedding type %v, spec %v", emb.Type, s.Embedding)
	}
	want := 11*s.Blocks + 2
	if s.Untied {
		want++
		shape("output.weight", uint64(s.Embd), uint64(s.Vocab))
		if s.EmbedTensor != "token_embd.weight" {
			t.Fatal("untied without token_embd.weight")
		}
	}
	if s.Arch == gguf.ArchBitNet25 && !s.Untied && !s.Converted {
		t.Fatal("tied bitnet-25 accepted")
	}
	shape("output_norm.weight", uint64(s.Embd))
	var params int64
	for i := 0; i < s.Blocks; i++ {
		for _, bt := range s.BlockTensors(i) {
			ti := shape(bt.Name, bt.Shape...)
			wantType := s.Ternary
			if gguf.IsNorm(bt.Name) {
				wantType = gguf.TypeF32
			}
			if ti.Type != wantType {
				t.Fatalf("tensor %s has type %v", bt.Name, ti.Type)
			}
		}
	}
	if len(f.Tensors) != want {
		t.Fatalf("%d tensors, want %d", len(f.Tensors), want)
	}
	for _, ti := range f.Tensors {
		params += int64(ti.Elements())
	}
	if params != s.Parameters {
		t.Fatalf("parameters %d, spec %d", params, s.Parameters)
	}
}

// rewriteBuf is handed to Builder.Write, which then uses it instead of
// allocating (and zeroing) a 1 MiB buffer per call: the fuzz target runs
// sequentially in each worker.
var rewriteBuf = bufio.NewWriterSize(io.Discard, 1<<20)

// allTypes is a file with a metadata entry of every scalar and array type
// and a tensor of every tensor type, with general.alignment 64.
func allTypes(t testing.TB) []byte {
	b := &gguf.Builder{}
	b.Add("general.alignment", uint32(64))
	for i, v := range []any{uint8(1), int8(-2), uint16(3), int16(-4), uint32(5), int32(-6), float32(7.5), true,
		"eight", uint64(9), int64(-10), 11.5, []uint8{1, 2}, []int8{-1, 2}, []uint16{3, 4}, []int16{-5, 6},
		[]uint32{7, 8}, []int32{-9, 10}, []float32{1.5, -2.5}, []bool{true, false}, []string{"a b", ""},
		[]uint64{11, 12}, []int64{-13, 14}, []float64{0.25, -0.5}, []string{}} {
		b.Add(fmt.Sprintf("k%d", i), v)
	}
	types := []gguf.TensorType{gguf.TypeF32, gguf.TypeF16, gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0,
		gguf.TypeQ5_1, gguf.TypeQ8_0, gguf.TypeQ8_1, gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K, gguf.TypeQ5_K,
		gguf.TypeQ6_K, gguf.TypeQ8_K, gguf.TypeBF16, gguf.TypeTQ1_0, gguf.TypeTQ2_0, gguf.TypeI2_S}
	for i, typ := range types {
		shape := []uint64{256}
		if i%3 == 1 {
			shape = []uint64{256, 2, 1}
		}
		if err := b.AddTensor(fmt.Sprintf("t%d", i), typ, shape...); err != nil {
			t.Fatal(err)
		}
	}
	return writeBuilder(t, b)
}

// microModel is the official tiny model with an 8-token vocabulary.
func microModel(t testing.TB) []byte {
	b := ggufttest.NewBuilder(ggufttest.Official)
	toks := []string{"a", "b", "c", "Ġ", "ab", "Ġab", "<|begin_of_text|>", "<|end_of_text|>"}
	ggufttest.SetKV(b, "bitnet-b1.58.vocab_size", uint32(len(toks)))
	ggufttest.SetKV(b, "tokenizer.ggml.tokens", toks)
	ggufttest.SetKV(b, "tokenizer.ggml.scores", make([]float32, len(toks)))
	ggufttest.SetKV(b, "tokenizer.ggml.token_type", []int32{1, 1, 1, 1, 1, 1, 3, 3})
	ggufttest.SetKV(b, "tokenizer.ggml.merges", []string{"a b", "Ġ ab"})
	ggufttest.SetKV(b, "tokenizer.ggml.bos_token_id", uint32(6))
	ggufttest.SetKV(b, "tokenizer.ggml.eos_token_id", uint32(7))
	ggufttest.SetKV(b, "tokenizer.ggml.padding_token_id", uint32(7))
	ggufttest.SetKV(b, "tokenizer.chat_template", "{{ messages }}")
	ggufttest.SetTensor(b, "token_embd.weight", gguf.TypeF16, ggufttest.Embd, uint64(len(toks)))
	return ggufttest.Write(t, b)
}

// rewrite writes f's metadata and tensor infos with the Builder (tensor
// data zero) and reads the result.
func rewrite(t *testing.T, f *gguf.File) (*gguf.File, int64) {
	t.Helper()
	b := &gguf.Builder{KVs: f.KVs}
	for _, ti := range f.Tensors {
		b.Tensors = append(b.Tensors, gguf.TensorInfo{Name: ti.Name, Shape: ti.Shape, Type: ti.Type, Size: ti.Size})
	}
	// The header is as long as the original one: keep that much.
	w := &ggufttest.HeaderFile{Keep: int(f.DataOffset)}
	rewriteBuf.Reset(w)
	err := b.Write(rewriteBuf, ggufttest.ZeroData)
	if err != nil {
		t.Fatalf("the Builder refuses what Read accepted: %v", err)
	}
	again, err := gguf.Read(w, w.Size)
	if err != nil {
		t.Fatalf("Read refuses what the Builder wrote from an accepted file: %v", err)
	}
	return again, w.Size
}

// checkSame compares two files' metadata and tensor infos.
func checkSame(t *testing.T, a, b *gguf.File) {
	t.Helper()
	if len(a.KVs) != len(b.KVs) || len(a.Tensors) != len(b.Tensors) || a.Alignment != b.Alignment {
		t.Fatalf("%d/%d kvs, %d/%d tensors, alignment %d/%d", len(a.KVs), len(b.KVs), len(a.Tensors), len(b.Tensors), a.Alignment, b.Alignment)
	}
	for i := range a.KVs {
		x, y := a.KVs[i], b.KVs[i]
		if x.Key != y.Key || x.Type != y.Type || x.Elem != y.Elem || !sameValue(x.Value, y.Value) {
			t.Fatalf("kv %d: %s", i, describeDiff(x, y))
		}
	}
	var off uint64
	for i := range a.Tensors {
		x, y := a.Tensors[i], b.Tensors[i]
		if x.Name != y.Name || x.Type != y.Type || x.Size != y.Size || !equalU64(x.Shape, y.Shape) {
			t.Fatalf("tensor %d: %+v / %+v", i, x, y)
		}
		if y.Offset != off {
			t.Fatalf("rewritten tensor %s at %d, want %d", y.Name, y.Offset, off)
		}
		off = (off + y.Size + b.Alignment - 1) / b.Alignment * b.Alignment
	}
}

func describeDiff(x, y gguf.KV) string {
	short := func(v any) string {
		s := fmt.Sprint(v)
		if len(s) > 100 {
			s = s[:100] + "..."
		}
		return s
	}
	return fmt.Sprintf("%q %v/%v %s became %q %v/%v %s", x.Key, x.Type, x.Elem, short(x.Value), y.Key, y.Type, y.Elem, short(y.Value))
}
