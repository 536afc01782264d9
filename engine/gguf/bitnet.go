package gguf

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Architectures of BitNet b1.58 files: the current upload and the older
// April 2025 one (which has an untied F16 output.weight).
const (
	ArchBitNet   = "bitnet-b1.58"
	ArchBitNet25 = "bitnet-25"
)

// Keys this project adds to the files it converts.
const (
	KeyConverterVersion = "bitnet_desktop.converter_version"
	KeySourceID         = "bitnet_desktop.source_id"
)

// Spec is what the engine needs to know about a BitNet b1.58 file; every
// field has been checked against the tensors.
type Spec struct {
	Arch        string
	Vocab       int
	Context     int
	Embd        int
	Blocks      int
	FFN         int
	Heads       int
	KVHeads     int
	HeadDim     int
	RopeDim     int
	Eps         float32
	RopeBase    float32
	BOS, EOS    int32
	Untied      bool       // has its own output.weight
	Converted   bool       // written by this project's converter
	Ternary     TensorType // I2_S in official files; TQ2_0 or Q2_K once converted
	Embedding   TensorType // the type of the embedding matrix
	Parameters  int64
	EmbedTensor string // token_embd.weight, or output.weight in a converted tied file
}

// BlockTensors lists the per-block tensors with their shapes given the spec.
func (s *Spec) BlockTensors(i int) []TensorInfo {
	e, f, kv := uint64(s.Embd), uint64(s.FFN), uint64(s.KVHeads*s.HeadDim)
	p := fmt.Sprintf("blk.%d.", i)
	return []TensorInfo{
		{Name: p + "attn_norm.weight", Shape: []uint64{e}},
		{Name: p + "attn_q.weight", Shape: []uint64{e, e}},
		{Name: p + "attn_k.weight", Shape: []uint64{e, kv}},
		{Name: p + "attn_v.weight", Shape: []uint64{e, kv}},
		{Name: p + "attn_sub_norm.weight", Shape: []uint64{e}},
		{Name: p + "attn_output.weight", Shape: []uint64{e, e}},
		{Name: p + "ffn_norm.weight", Shape: []uint64{e}},
		{Name: p + "ffn_gate.weight", Shape: []uint64{e, f}},
		{Name: p + "ffn_up.weight", Shape: []uint64{e, f}},
		{Name: p + "ffn_sub_norm.weight", Shape: []uint64{f}},
		{Name: p + "ffn_down.weight", Shape: []uint64{f, e}},
	}
}

// IsNorm reports whether a tensor name is a norm weight (F32 vector).
func IsNorm(name string) bool { return strings.HasSuffix(name, "norm.weight") }

// Limits on hyperparameters: far above 2B4T, far below what could exhaust
// memory through a hostile header.
const (
	maxVocab   = 1 << 20
	maxEmbd    = 1 << 15
	maxBlocks  = 256
	maxFFN     = 1 << 17
	maxHeads   = 1024
	maxContext = 1 << 20
)

// OpenBitNet reads the header of the file at path and checks it with
// CheckBitNet.
func OpenBitNet(path string) (*File, *Spec, error) {
	f, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	spec, err := CheckBitNet(f)
	if err != nil {
		return nil, nil, err
	}
	return f, spec, nil
}

// CheckBitNet checks that f is a BitNet b1.58 model this engine can run,
// official (I2_S) or converted, and returns its hyperparameters.
func CheckBitNet(f *File) (*Spec, error) {
	arch := f.String("general.architecture")
	if arch != ArchBitNet && arch != ArchBitNet25 {
		shown := display(arch)
		if arch == "" {
			shown = "(none)"
		}
		return nil, fmt.Errorf("architecture %s is not a BitNet b1.58 model; supported: %s, %s", shown, ArchBitNet, ArchBitNet25)
	}
	s := &Spec{Arch: arch}
	ints := []struct {
		key      string
		dst      *int
		min, max uint64
	}{
		{"context_length", &s.Context, 16, maxContext},
		{"embedding_length", &s.Embd, 128, maxEmbd},
		{"block_count", &s.Blocks, 1, maxBlocks},
		{"feed_forward_length", &s.FFN, 128, maxFFN},
		{"attention.head_count", &s.Heads, 1, maxHeads},
		{"attention.head_count_kv", &s.KVHeads, 1, maxHeads},
		{"rope.dimension_count", &s.RopeDim, 2, 1024},
	}
	for _, k := range ints {
		v, ok := f.Uint(arch + "." + k.key)
		if !ok {
			return nil, fmt.Errorf("missing or non-integer metadata %s.%s", arch, k.key)
		}
		if v < k.min || v > k.max {
			return nil, fmt.Errorf("%s.%s = %d is out of range [%d, %d]", arch, k.key, v, k.min, k.max)
		}
		*k.dst = int(v)
	}
	eps, ok := f.Float(arch + ".attention.layer_norm_rms_epsilon")
	if !ok || !(eps > 0 && eps < 1) {
		return nil, fmt.Errorf("%s.attention.layer_norm_rms_epsilon is missing or not in (0, 1)", arch)
	}
	s.Eps = float32(eps)
	s.RopeBase = 10000
	if base, ok := f.Float(arch + ".rope.freq_base"); ok {
		if !(base > 1 && base < 1e9) || math.IsNaN(base) {
			return nil, fmt.Errorf("%s.rope.freq_base = %v is out of range", arch, base)
		}
		s.RopeBase = float32(base)
	}
	if s.Embd%s.Heads != 0 {
		return nil, fmt.Errorf("embedding length %d is not a multiple of the head count %d", s.Embd, s.Heads)
	}
	s.HeadDim = s.Embd / s.Heads
	if s.Heads%s.KVHeads != 0 {
		return nil, fmt.Errorf("head count %d is not a multiple of the kv head count %d", s.Heads, s.KVHeads)
	}
	if s.RopeDim != s.HeadDim {
		return nil, fmt.Errorf("rope dimension %d differs from the head dimension %d", s.RopeDim, s.HeadDim)
	}
	if s.HeadDim%2 != 0 {
		return nil, fmt.Errorf("head dimension %d is odd", s.HeadDim)
	}

	if err := checkTokenizer(f, s); err != nil {
		return nil, err
	}
	if v, ok := f.Uint(KeyConverterVersion); ok && v > 0 {
		s.Converted = true
	}
	if err := checkTensors(f, s); err != nil {
		return nil, err
	}
	return s, nil
}

func checkTokenizer(f *File, s *Spec) error {
	if m := f.String("tokenizer.ggml.model"); m != "gpt2" {
		return fmt.Errorf("tokenizer %q is not supported; BitNet b1.58 uses gpt2 (byte-level BPE)", shorten(m))
	}
	tokens := f.Strings("tokenizer.ggml.tokens")
	if len(tokens) == 0 {
		return fmt.Errorf("tokenizer.ggml.tokens is missing or not a string array")
	}
	if len(tokens) > maxVocab {
		return fmt.Errorf("vocabulary of %d tokens is absurd", len(tokens))
	}
	s.Vocab = len(tokens)
	if v, ok := f.Uint(s.Arch + ".vocab_size"); ok && int(v) != s.Vocab {
		return fmt.Errorf("%s.vocab_size = %d but the tokenizer has %d tokens", s.Arch, v, s.Vocab)
	}
	if kv, ok := f.Get("tokenizer.ggml.token_type"); ok {
		tt, ok := kv.Value.([]int32)
		if !ok || len(tt) != s.Vocab {
			return fmt.Errorf("tokenizer.ggml.token_type must be %d int32 values", s.Vocab)
		}
	}
	if kv, ok := f.Get("tokenizer.ggml.scores"); ok {
		// llama.cpp reads scores[i] for every token without checking the
		// array's type or length.
		sc, ok := kv.Value.([]float32)
		if !ok || len(sc) != s.Vocab {
			return fmt.Errorf("tokenizer.ggml.scores must be %d float32 values", s.Vocab)
		}
	}
	if kv, ok := f.Get("tokenizer.ggml.merges"); ok {
		if _, ok := kv.Value.([]string); !ok {
			return fmt.Errorf("tokenizer.ggml.merges is not a string array")
		}
	}
	for _, k := range []struct {
		key string
		dst *int32
	}{{"tokenizer.ggml.bos_token_id", &s.BOS}, {"tokenizer.ggml.eos_token_id", &s.EOS}} {
		v, ok := f.Uint(k.key)
		if !ok {
			return fmt.Errorf("missing %s", k.key)
		}
		if v >= uint64(s.Vocab) {
			return fmt.Errorf("%s = %d is outside the vocabulary of %d tokens", k.key, v, s.Vocab)
		}
		*k.dst = int32(v)
	}
	// Optional special tokens: when present they must be token ids.
	for _, key := range []string{"tokenizer.ggml.padding_token_id", "tokenizer.ggml.unknown_token_id",
		"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"} {
		if _, present := f.Get(key); !present {
			continue
		}
		v, ok := f.Uint(key)
		if !ok {
			return fmt.Errorf("%s is not a non-negative integer", key)
		}
		if v >= uint64(s.Vocab) {
			return fmt.Errorf("%s = %d is outside the vocabulary of %d tokens", key, v, s.Vocab)
		}
	}
	return nil
}

func checkTensors(f *File, s *Spec) error {
	// The expected tensors, in a fixed order so that the first missing one
	// is always the same.
	want := map[string][]uint64{}
	var order []string
	add := func(name string, shape []uint64) {
		want[name] = shape
		order = append(order, name)
	}
	embShape := []uint64{uint64(s.Embd), uint64(s.Vocab)}
	_, hasTok := f.Tensor("token_embd.weight")
	_, hasOut := f.Tensor("output.weight")
	switch {
	case hasTok:
		add("token_embd.weight", embShape)
		s.EmbedTensor = "token_embd.weight"
	case hasOut && s.Converted:
		// A converted tied model keeps the one matrix as output.weight so
		// that ollama's backend does not load it twice.
		s.EmbedTensor = "output.weight"
	default:
		return fmt.Errorf("missing tensor token_embd.weight")
	}
	for i := 0; i < s.Blocks; i++ {
		for _, t := range s.BlockTensors(i) {
			add(t.Name, t.Shape)
		}
	}
	add("output_norm.weight", []uint64{uint64(s.Embd)})
	if hasOut {
		add("output.weight", embShape)
		s.Untied = hasTok
	}
	if s.Arch == ArchBitNet25 && !s.Untied && !s.Converted {
		return fmt.Errorf("%s model without output.weight", ArchBitNet25)
	}

	for _, t := range f.Tensors {
		shape, ok := want[t.Name]
		if !ok {
			return fmt.Errorf("unexpected tensor %s", display(t.Name))
		}
		if !slices.Equal(t.Shape, shape) {
			return fmt.Errorf("tensor %s has shape %v, want %v", t.Name, t.Shape, shape)
		}
		s.Parameters += int64(t.Elements())
		switch {
		case IsNorm(t.Name):
			if t.Type != TypeF32 {
				return fmt.Errorf("tensor %s has type %s, want f32", t.Name, t.Type)
			}
		case t.Name == "token_embd.weight" || t.Name == "output.weight":
			switch t.Type {
			case TypeF16, TypeF32, TypeBF16, TypeQ8_0, TypeQ6_K, TypeQ5_K, TypeQ4_K:
			default:
				return fmt.Errorf("tensor %s has type %s; the embedding must be f16, f32, bf16, q8_0, q6_k, q5_k or q4_k", t.Name, t.Type)
			}
			if t.Type.BlockSize() > 1 && uint64(s.Embd)%t.Type.BlockSize() != 0 {
				return fmt.Errorf("tensor %s: rows of %d are not whole %s blocks", t.Name, s.Embd, t.Type)
			}
			if t.Name == s.EmbedTensor {
				s.Embedding = t.Type
			}
		default:
			if err := checkTernary(s, t); err != nil {
				return err
			}
		}
	}
	for _, name := range order {
		if _, ok := f.Tensor(name); !ok {
			return fmt.Errorf("missing tensor %s", name)
		}
	}
	return nil
}

func checkTernary(s *Spec, t TensorInfo) error {
	allowed := []TensorType{TypeI2_S}
	if s.Converted {
		allowed = []TensorType{TypeTQ2_0, TypeTQ1_0, TypeQ2_K}
	}
	ok := false
	for _, a := range allowed {
		ok = ok || t.Type == a
	}
	if !ok {
		return fmt.Errorf("tensor %s has type %s, want %v", t.Name, t.Type, allowed)
	}
	if s.Ternary == 0 {
		s.Ternary = t.Type
	} else if s.Ternary != t.Type {
		return fmt.Errorf("tensor %s has type %s while others are %s", t.Name, t.Type, s.Ternary)
	}
	// The conversion writes 256-element blocks.
	if t.Shape[0]%256 != 0 {
		return fmt.Errorf("tensor %s: rows of %d elements are not a multiple of 256", t.Name, t.Shape[0])
	}
	return nil
}
