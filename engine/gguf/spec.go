package gguf

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Architectures (general.architecture) of the ternary models this engine
// runs. docs/models.md says where each fact comes from.
const (
	// ArchBitNet is BitNet b1.58 2B4T's current file; ArchBitNet25 the
	// older April 2025 upload (with an untied F16 output.weight). Recent
	// bitnet.cpp converters also write ArchBitNet for 1bitLLM's models,
	// which the SentencePiece vocabulary tells apart.
	ArchBitNet   = "bitnet-b1.58"
	ArchBitNet25 = "bitnet-25"
	// ArchBitNetV1 is 1bitLLM's bitnet_b1_58-large and -3B.
	ArchBitNetV1 = "bitnet"
	// ArchLlama is the llama architecture with ternary weights:
	// Llama3-8B-1.58, Falcon3-*-1.58bit, Falcon-E.
	ArchLlama = "llama"
)

// Architectures lists the supported architectures, for error messages.
var Architectures = []string{ArchBitNet, ArchBitNet25, ArchBitNetV1, ArchLlama}

// Family is a graph: which network the weights run through. It is chosen
// from the file's architecture and vocabulary, never from its name.
type Family string

// Families.
const (
	// Family2B4T: ReLU² gated FFN, RMSNorms before the attention output
	// and the down projection, NEOX RoPE, tied output (bitnet.cpp's
	// build_bitnet_158).
	Family2B4T Family = "bitnet-b1.58"
	// FamilyBitNet: 1bitLLM's BitNet b1.58 reproduction: SiLU gated FFN,
	// the same two extra RMSNorms, NEOX RoPE, tied output, optional
	// per-projection scale tensors (build_bitnet).
	FamilyBitNet Family = "bitnet"
	// FamilyLlama: the standard llama graph (SiLU, no extra norms, NORM
	// RoPE on the converter-permuted q and k, tied or untied output).
	FamilyLlama Family = "llama"
)

// FamilyOf returns the family of a supported architecture with the given
// tokenizer model: bitnet-b1.58 with a SentencePiece vocabulary is
// 1bitLLM's model as recent bitnet.cpp converters label it.
func FamilyOf(arch, tokenizer string) Family {
	switch {
	case arch == ArchLlama:
		return FamilyLlama
	case arch == ArchBitNetV1 || tokenizer == TokenizerSPM:
		return FamilyBitNet
	}
	return Family2B4T
}

// SubNorms reports whether the family has attn_sub_norm and ffn_sub_norm.
func (f Family) SubNorms() bool { return f == Family2B4T || f == FamilyBitNet }

// ReLU2 reports whether the gate's activation is ReLU squared (else SiLU).
func (f Family) ReLU2() bool { return f == Family2B4T }

// NeoX reports whether RoPE rotates the halves of each head (NEOX) rather
// than adjacent pairs (NORM).
func (f Family) NeoX() bool { return f != FamilyLlama }

// Tokenizer models (tokenizer.ggml.model).
const (
	TokenizerBPE = "gpt2"  // byte-level BPE
	TokenizerSPM = "llama" // SentencePiece
)

// PreTokenizers maps the accepted tokenizer.ggml.pre values of BPE
// vocabularies to the regex family the tokenizer applies ("" means the
// key is absent, as in 2B4T's file: its vocabulary is LLaMA-3's).
var PreTokenizers = map[string]string{
	"":          "llama3",
	"llama-bpe": "llama3",
	"llama3":    "llama3",
	"llama-v3":  "llama3",
	// Falcon3 and Falcon-E: upstream llama.cpp (TII's PR #10883) maps
	// falcon3 (and falcon-h1, the name it gives Falcon-E's tokenizer) to
	// the LLaMA-3 regex; bitnet.cpp's fork uses a Falcon-style regex
	// instead. docs/models.md: unverified against the HF tokenizer.
	"falcon3":   "llama3",
	"falcon_e":  "llama3",
	"falcon-h1": "llama3",
}

// Projections are the ternary projections of every block.
var Projections = []string{"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"}

// Keys this project adds to the files it converts.
const (
	KeyConverterVersion = "bitnet_desktop.converter_version"
	KeySourceID         = "bitnet_desktop.source_id"
)

// Spec is what the engine needs to know about a model file; every field
// has been checked against the tensors.
type Spec struct {
	Arch     string
	Family   Family
	Vocab    int
	Context  int
	Embd     int
	Blocks   int
	FFN      int
	Heads    int
	KVHeads  int
	HeadDim  int
	RopeDim  int
	Eps      float32
	RopeBase float32
	BOS, EOS int32
	// Tokenizer is tokenizer.ggml.model (TokenizerBPE or TokenizerSPM);
	// Pre the BPE pre-tokenizer's name (a key of PreTokenizers).
	Tokenizer string
	Pre       string
	// AddBOS is tokenizer.ggml.add_bos_token (true when absent).
	AddBOS bool
	// ChatTemplate is tokenizer.chat_template ("" for base models).
	ChatTemplate string
	Scales       bool       // has per-projection scale tensors (FamilyBitNet)
	Untied       bool       // has its own output.weight
	Converted    bool       // written by this project's converter
	Ternary      TensorType // I2_S in official files; TQ2_0 or Q2_K once converted
	Embedding    TensorType // the type of the embedding matrix
	Parameters   int64
	EmbedTensor  string // token_embd.weight, or output.weight in a converted tied file
}

// BlockTensors lists the per-block tensors with their shapes given the
// spec (scale tensors excepted: they are optional).
func (s *Spec) BlockTensors(i int) []TensorInfo {
	e, f := uint64(s.Embd), uint64(s.FFN)
	q, kv := uint64(s.Heads*s.HeadDim), uint64(s.KVHeads*s.HeadDim)
	p := fmt.Sprintf("blk.%d.", i)
	ts := []TensorInfo{
		{Name: p + "attn_norm.weight", Shape: []uint64{e}},
		{Name: p + "attn_q.weight", Shape: []uint64{e, q}},
		{Name: p + "attn_k.weight", Shape: []uint64{e, kv}},
		{Name: p + "attn_v.weight", Shape: []uint64{e, kv}},
		{Name: p + "attn_output.weight", Shape: []uint64{q, e}},
		{Name: p + "ffn_norm.weight", Shape: []uint64{e}},
		{Name: p + "ffn_gate.weight", Shape: []uint64{e, f}},
		{Name: p + "ffn_up.weight", Shape: []uint64{e, f}},
		{Name: p + "ffn_down.weight", Shape: []uint64{f, e}},
	}
	if s.Family.SubNorms() {
		ts = append(ts, TensorInfo{Name: p + "attn_sub_norm.weight", Shape: []uint64{q}},
			TensorInfo{Name: p + "ffn_sub_norm.weight", Shape: []uint64{f}})
	}
	return ts
}

// ScaleTensor is the name of the optional scale of a projection's weight
// ("blk.3.attn_q.weight" -> "blk.3.attn_q.scale").
func ScaleTensor(weight string) string { return strings.TrimSuffix(weight, ".weight") + ".scale" }

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

// OpenModel reads the header of the file at path and checks it with
// CheckModel.
func OpenModel(path string) (*File, *Spec, error) {
	f, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	spec, err := CheckModel(f)
	if err != nil {
		return nil, nil, err
	}
	return f, spec, nil
}

// CheckModel checks that f is a ternary model this engine can run, as
// published (I2_S, TQ1_0 or TQ2_0 weights) or converted, and returns its
// hyperparameters.
func CheckModel(f *File) (*Spec, error) {
	arch := f.String("general.architecture")
	if !slices.Contains(Architectures, arch) {
		shown := display(arch)
		if arch == "" {
			shown = "(none)"
		}
		return nil, fmt.Errorf("architecture %s is not supported; supported are %s (ternary weights)", shown, strings.Join(Architectures, ", "))
	}
	s := &Spec{Arch: arch, Tokenizer: f.String("tokenizer.ggml.model")}
	s.Family = FamilyOf(arch, s.Tokenizer)
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
		{"attention.key_length", &s.HeadDim, 2, 1024},
	}
	for _, k := range ints {
		v, ok := f.Uint(arch + "." + k.key)
		if !ok {
			_, present := f.Get(arch + "." + k.key)
			switch {
			case !present && k.key == "attention.head_count_kv":
				continue // defaults to head_count (llama.cpp)
			case !present && (k.key == "rope.dimension_count" || k.key == "attention.key_length"):
				continue // default: the head dimension (1bitLLM's files have none)
			}
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
	if s.KVHeads == 0 {
		s.KVHeads = s.Heads
	}
	if s.HeadDim == 0 {
		if s.Embd%s.Heads != 0 {
			return nil, fmt.Errorf("embedding length %d is not a multiple of the head count %d", s.Embd, s.Heads)
		}
		s.HeadDim = s.Embd / s.Heads
	}
	if s.RopeDim == 0 {
		s.RopeDim = s.HeadDim
	}
	if s.Heads%s.KVHeads != 0 {
		return nil, fmt.Errorf("head count %d is not a multiple of the kv head count %d", s.Heads, s.KVHeads)
	}
	if s.RopeDim != s.HeadDim {
		return nil, fmt.Errorf("rope dimension %d differs from the head dimension %d (partial RoPE is not supported)", s.RopeDim, s.HeadDim)
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
	switch s.Tokenizer {
	case TokenizerBPE:
		if _, ok := f.Get("tokenizer.ggml.merges"); !ok {
			return fmt.Errorf("a gpt2 (BPE) vocabulary needs tokenizer.ggml.merges")
		}
		s.Pre = f.String("tokenizer.ggml.pre")
		if _, ok := PreTokenizers[s.Pre]; !ok || (s.Pre == "" && s.Family != Family2B4T) {
			names := slices.Sorted(maps.Keys(PreTokenizers))[1:]
			return fmt.Errorf("pre-tokenizer %q is not supported; supported are %s", shorten(s.Pre), strings.Join(names, ", "))
		}
	case TokenizerSPM:
		if _, ok := f.Get("tokenizer.ggml.scores"); !ok {
			return fmt.Errorf("a SentencePiece (llama) vocabulary needs tokenizer.ggml.scores")
		}
	default:
		return fmt.Errorf("tokenizer %q is not supported; supported are gpt2 (byte-level BPE) and llama (SentencePiece)", shorten(s.Tokenizer))
	}
	s.AddBOS = true
	if kv, ok := f.Get("tokenizer.ggml.add_bos_token"); ok {
		b, isBool := kv.Value.(bool)
		if !isBool {
			return fmt.Errorf("tokenizer.ggml.add_bos_token is not a boolean")
		}
		s.AddBOS = b
	}
	if kv, ok := f.Get("tokenizer.chat_template"); ok {
		t, isString := kv.Value.(string)
		if !isString {
			return fmt.Errorf("tokenizer.chat_template is not a string")
		}
		s.ChatTemplate = t
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
		if _, present := f.Get(k.key); !present && s.Tokenizer == TokenizerSPM {
			// SentencePiece defaults (llama.cpp): <s> = 1, </s> = 2.
			v, ok = map[bool]uint64{true: 1, false: 2}[k.dst == &s.BOS], true
		}
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
	scales := map[string]bool{} // optional per-projection scales
	for i := 0; i < s.Blocks; i++ {
		for _, t := range s.BlockTensors(i) {
			add(t.Name, t.Shape)
			if s.Family == FamilyBitNet && !IsNorm(t.Name) {
				scales[ScaleTensor(t.Name)] = true
			}
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
		if scales[t.Name] {
			if t.Type != TypeF32 || len(t.Shape) != 1 || t.Shape[0] != 1 {
				return fmt.Errorf("scale tensor %s must be one f32 value, not %s %v", t.Name, t.Type, t.Shape)
			}
			s.Scales = true
			s.Parameters++
			continue
		}
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

// Weight types of the ternary projections: as published, and as this
// project's converter writes them (Q8_0 only for rows that are not whole
// 256-element blocks, such as 1bitLLM-3B's).
var (
	publishedTernary = []TensorType{TypeI2_S, TypeTQ1_0, TypeTQ2_0}
	convertedTernary = []TensorType{TypeTQ2_0, TypeTQ1_0, TypeQ2_K, TypeQ8_0}
)

func checkTernary(s *Spec, t TensorInfo) error {
	allowed := publishedTernary
	if s.Converted {
		allowed = convertedTernary
	}
	if !slices.Contains(allowed, t.Type) {
		if s.Family == FamilyLlama && !s.Converted {
			return fmt.Errorf("tensor %s has type %s: this llama model is not ternary (1.58-bit); BitNet Desktop runs ternary weights (%v)", t.Name, t.Type, allowed)
		}
		return fmt.Errorf("tensor %s has type %s, want %v", t.Name, t.Type, allowed)
	}
	// A converted file may mix TQ2_0 and Q8_0 (rows of other lengths).
	if s.Ternary == 0 || (s.Ternary == TypeQ8_0 && t.Type != TypeQ8_0) {
		s.Ternary = t.Type
	} else if s.Ternary != t.Type && !(s.Converted && t.Type == TypeQ8_0) {
		return fmt.Errorf("tensor %s has type %s while others are %s", t.Name, t.Type, s.Ternary)
	}
	if t.Type == TypeI2_S && t.Elements()%128 != 0 {
		return fmt.Errorf("tensor %s: %d elements are not whole 128-element I2_S chunks", t.Name, t.Elements())
	}
	if bs := t.Type.BlockSize(); t.Type != TypeI2_S && t.Shape[0]%bs != 0 {
		return fmt.Errorf("tensor %s: rows of %d elements are not whole %s blocks", t.Name, t.Shape[0], t.Type)
	}
	return nil
}
