package gguf_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf/ggufttest"
)

// badCase is a mutation of a valid tiny file and the error it must cause.
type badCase struct {
	name  string
	stage string // "read" or "check": which call must fail
	want  string // a substring of the error
	make  func(t testing.TB) []byte
}

// patch mutates the bytes of the official tiny file, given its layout.
func patch(f func(data []byte, l *layout)) func(t testing.TB) []byte {
	return func(t testing.TB) []byte {
		data := tiny(t, ggufttest.Official)
		f(data, locate(t, data))
		return data
	}
}

// edit mutates the description of a tiny file and writes it.
func edit(v ggufttest.Variant, f func(b *gguf.Builder)) func(t testing.TB) []byte {
	return func(t testing.TB) []byte {
		b := ggufttest.NewBuilder(v)
		f(b)
		return ggufttest.Write(t, b)
	}
}

func official(f func(b *gguf.Builder)) func(t testing.TB) []byte { return edit(ggufttest.Official, f) }

const arch = "bitnet-b1.58."

// tensorEnd is the absolute end of a tensor's data in the official file.
func tensorEnd(t testing.TB, data []byte, name string) (start, end int) {
	f := mustRead(t, data)
	ti, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("no tensor %s", name)
	}
	off, size := f.DataRange(ti)
	return int(off), int(off + size)
}

func badCases() []badCase {
	cases := []badCase{
		// The magic and the version.
		{"empty file", "read", "not a GGUF file", func(testing.TB) []byte { return nil }},
		{"3-byte file", "read", "not a GGUF file", func(testing.TB) []byte { return []byte("GGU") }},
		{"wrong magic", "read", "not a GGUF file: the file starts with \"GGML\"", patch(func(d []byte, l *layout) { copy(d, "GGML") })},
		{"lowercase magic", "read", "not a GGUF file", patch(func(d []byte, l *layout) { copy(d, "gguf") })},
		{"version 1", "read", "GGUF version 1 is not supported (only 2 and 3)", patch(func(d []byte, l *layout) { putU32(d, 4, 1) })},
		{"version 4", "read", "GGUF version 4 is not supported", patch(func(d []byte, l *layout) { putU32(d, 4, 4) })},
		{"version 0", "read", "GGUF version 0 is not supported", patch(func(d []byte, l *layout) { putU32(d, 4, 0) })},
		{"big-endian version", "read", "GGUF version 50331648 is not supported", patch(func(d []byte, l *layout) { putU32(d, 4, 3<<24) })},
		{"header cut in version", "read", "truncated: version needs 4 bytes at offset 4, file ends at 6", func(t testing.TB) []byte { return tiny(t, 0)[:6] }},

		// Counts.
		{"absurd tensor count", "read", "tensor count 1099511627776 is absurd (limit 65536)", patch(func(d []byte, l *layout) { putU64(d, 8, 1<<40) })},
		{"tensor count 2^64-1", "read", "tensor count 18446744073709551615 is absurd", patch(func(d []byte, l *layout) { putU64(d, 8, math.MaxUint64) })},
		{"tensor count at the limit", "read", "truncated: ", patch(func(d []byte, l *layout) { putU64(d, 8, 1<<16) })},
		{"absurd kv count", "read", "metadata count 1099511627776 is absurd (limit 65536)", patch(func(d []byte, l *layout) { putU64(d, 16, 1<<40) })},
		{"kv count at the limit", "read", "truncated: 65536 metadata entries and 24 tensor infos needs", patch(func(d []byte, l *layout) { putU64(d, 16, 1<<16) })},

		// Strings.
		{"absurd key length", "read", "metadata entry 1: key at offset 76 is 1099511627776 bytes long, more than the limit of 65536",
			patch(func(d []byte, l *layout) { putU64(d, l.KVs[1].KeyLen, 1<<40) })},
		{"key length 2^64-1", "read", "is 18446744073709551615 bytes long",
			patch(func(d []byte, l *layout) { putU64(d, l.KVs[0].KeyLen, math.MaxUint64) })},
		{"key past the end", "read", "metadata entry 23: truncated: key needs 60000 bytes at offset", func(t testing.TB) []byte {
			data := tiny(t, ggufttest.Official)
			l := locate(t, data)
			putU64(data, l.KVs[23].KeyLen, 60000)
			return data[:l.KVs[23].End+1000]
		}},
		{"long key in messages", "read", `...": unknown value type`,
			patch(func(d []byte, l *layout) { putU64(d, l.KVs[23].KeyLen, 60000) })},
		{"absurd string length", "read", "value of general.name at offset", patch(func(d []byte, l *layout) {
			putU64(d, l.kv("general.name").Value, 1<<40)
		})},
		{"string past the end", "read", "truncated: value of tokenizer.chat_template needs 16777216 bytes", patch(func(d []byte, l *layout) {
			putU64(d, l.kv("tokenizer.chat_template").Value, 1<<24)
		})},
		{"token string past the end", "read", "truncated: tokenizer.ggml.tokens[2] needs 1000000 bytes", patch(func(d []byte, l *layout) {
			kv := l.kv("tokenizer.ggml.tokens")
			putU64(d, kv.Value+2*9, 1000000) // tokens 0 and 1 are one byte long
		})},
		{"absurd token string", "read", "tokenizer.ggml.tokens[0] at offset", patch(func(d []byte, l *layout) {
			putU64(d, l.kv("tokenizer.ggml.tokens").Value, 1<<60)
		})},

		// Arrays.
		{"absurd array length", "read", "key tokenizer.ggml.tokens: array length 1099511627776 is absurd (limit 67108864)", patch(func(d []byte, l *layout) {
			putU64(d, l.kv("tokenizer.ggml.tokens").Count, 1<<40)
		})},
		{"array length 2^64-1", "read", "array length 18446744073709551615 is absurd", patch(func(d []byte, l *layout) {
			putU64(d, l.kv("tokenizer.ggml.scores").Count, math.MaxUint64)
		})},
		{"string array past the end", "read", "truncated: 33554432 strings of tokenizer.ggml.merges needs 268435456 bytes", patch(func(d []byte, l *layout) {
			putU64(d, l.kv("tokenizer.ggml.merges").Count, 1<<25)
		})},
		{"number array past the end", "read", "truncated: array tokenizer.ggml.scores of 16777216 float32 needs 67108864 bytes", patch(func(d []byte, l *layout) {
			putU64(d, l.kv("tokenizer.ggml.scores").Count, 1<<24)
		})},
		{"unknown value type", "read", "key general.name: unknown value type 13", patch(func(d []byte, l *layout) {
			putU32(d, l.kv("general.name").Type, 13)
		})},
		{"value type 2^32-1", "read", "unknown value type 4294967295", patch(func(d []byte, l *layout) {
			putU32(d, l.kv("general.quantization_version").Type, math.MaxUint32)
		})},
		{"unknown array element type", "read", "key tokenizer.ggml.tokens: unknown array element type 13", patch(func(d []byte, l *layout) {
			putU32(d, l.kv("tokenizer.ggml.tokens").Elem, 13)
		})},
		{"nested array", "read", "key tokenizer.ggml.token_type: nested arrays are not supported", patch(func(d []byte, l *layout) {
			putU32(d, l.kv("tokenizer.ggml.token_type").Elem, 9)
		})},
		{"duplicate key", "read", `metadata key "tokenizer.ggml.bos_token_id" appears twice`, patch(func(d []byte, l *layout) {
			kv := l.kv("tokenizer.ggml.eos_token_id")
			copy(d[kv.KeyLen+8:], "tokenizer.ggml.bos_token_id")
		})},
		{"empty key", "read", "metadata entry 24: empty key at offset", func(t testing.TB) []byte {
			// Key "\x0a\0\0\0" (uint32 entry) with its length patched to 0
			// reads as an empty key of type uint64 (0x0a) over the same bytes.
			b := ggufttest.NewBuilder(ggufttest.Official)
			b.Add("\x0a\x00\x00\x00", uint32(0))
			data := ggufttest.Write(t, b)
			putU64(data, locate(t, data).KVs[24].KeyLen, 0)
			return data
		}},

		// Tensor infos.
		{"five dimensions", "read", "tensor info 1: tensor blk.0.attn_norm.weight has 5 dimensions (1 to 4 allowed)", patch(func(d []byte, l *layout) {
			putU32(d, l.tensor("blk.0.attn_norm.weight").NDims, 5)
		})},
		{"zero dimensions", "read", "has 0 dimensions", patch(func(d []byte, l *layout) {
			putU32(d, l.tensor("output_norm.weight").NDims, 0)
		})},
		{"2^32-1 dimensions", "read", "has 4294967295 dimensions", patch(func(d []byte, l *layout) {
			putU32(d, l.tensor("token_embd.weight").NDims, math.MaxUint32)
		})},
		{"shape product overflows", "read", "tensor token_embd.weight has an absurd shape [4294967296 4294967296]", patch(func(d []byte, l *layout) {
			tl := l.tensor("token_embd.weight")
			putU64(d, tl.Dims[0], 1<<32)
			putU64(d, tl.Dims[1], 1<<32)
		})},
		{"shape dim 2^64-1", "read", "absurd shape [18446744073709551615]", patch(func(d []byte, l *layout) {
			putU64(d, l.tensor("token_embd.weight").Dims[0], math.MaxUint64)
		})},
		{"shape of 2^41 elements", "read", "absurd shape [256 8589934592]", patch(func(d []byte, l *layout) {
			putU64(d, l.tensor("blk.0.attn_q.weight").Dims[1], 1<<33)
		})},
		{"zero dim", "read", "absurd shape [256 0]", patch(func(d []byte, l *layout) {
			putU64(d, l.tensor("blk.0.attn_q.weight").Dims[1], 0)
		})},
		{"unknown tensor type 99", "read", "tensor blk.0.attn_q.weight has unknown type 99", patch(func(d []byte, l *layout) {
			putU32(d, l.tensor("blk.0.attn_q.weight").Type, 99)
		})},
		{"removed tensor type 4", "read", "has unknown type 4", patch(func(d []byte, l *layout) {
			putU32(d, l.tensor("output_norm.weight").Type, 4)
		})},
		{"tensor type 2^32-1", "read", "has unknown type 4294967295", patch(func(d []byte, l *layout) {
			putU32(d, l.tensor("output_norm.weight").Type, math.MaxUint32)
		})},
		{"I2_S values not multiple of 128", "read", "tensor blk.0.attn_q.weight: I2_S holds 4032 values, not a multiple of 128", patch(func(d []byte, l *layout) {
			tl := l.tensor("blk.0.attn_q.weight")
			putU64(d, tl.Dims[0], 64)
			putU64(d, tl.Dims[1], 63)
		})},
		{"Q6_K rows not whole blocks", "read", "tensor output.weight: rows of 128 elements are not whole q6_k blocks of 256", func(t testing.TB) []byte {
			data := tiny(t, ggufttest.Converted)
			tl := locate(t, data).tensor("output.weight")
			putU64(data, tl.Dims[0], 128)
			putU64(data, tl.Dims[1], 600)
			return data
		}},
		{"F16 tensor retyped Q4_0", "read", "rows of 1 elements are not whole q4_0 blocks", func(t testing.TB) []byte {
			b := &gguf.Builder{}
			b.AddTensor("x", gguf.TypeF32, 1)
			data := ggufttest.Write(t, b)
			putU32(data, locate(t, data).Tensors[0].Type, uint32(gguf.TypeQ4_0))
			return data
		}},
		{"tensor name too long", "read", "tensor name at offset", patch(func(d []byte, l *layout) {
			putU64(d, l.Tensors[0].NameLen, 1025)
		})},
		{"duplicate tensor", "read", `tensor "blk.1.ffn_up.weight" appears twice`, patch(func(d []byte, l *layout) {
			copy(d[l.tensor("blk.0.ffn_up.weight").NameLen+8:], "blk.1")
		})},

		// Tensor offsets and sizes.
		{"offset misaligned by 1", "read", "tensor blk.0.attn_k.weight: offset ", patch(func(d []byte, l *layout) {
			off := l.tensor("blk.0.attn_k.weight").Offset
			putU64(d, off, getU64(d, off)+1)
		})},
		{"offset misaligned by 16", "read", "is not a multiple of the alignment 32", patch(func(d []byte, l *layout) {
			off := l.tensor("output_norm.weight").Offset
			putU64(d, off, getU64(d, off)+16)
		})},
		{"overlapping tensors", "read", "tensor blk.0.attn_k.weight overlaps tensor blk.0.attn_q.weight", patch(func(d []byte, l *layout) {
			q := getU64(d, l.tensor("blk.0.attn_q.weight").Offset)
			putU64(d, l.tensor("blk.0.attn_k.weight").Offset, q+32)
		})},
		{"same offset", "read", "tensor output_norm.weight overlaps tensor token_embd.weight", patch(func(d []byte, l *layout) {
			putU64(d, l.tensor("output_norm.weight").Offset, 0)
		})},
		{"I2_S grown over its neighbour", "read", "overlaps tensor blk.1.ffn_up.weight", patch(func(d []byte, l *layout) {
			// Twice the rows: n/4+32 runs into the next tensor.
			putU64(d, l.tensor("blk.1.ffn_up.weight").Dims[1], 2*ggufttest.FFN)
		})},
		{"tensor offset 2^64-32", "read", "truncated: tensor blk.1.ffn_up.weight needs 32800 bytes at data offset 18446744073709551584, far past the end", patch(func(d []byte, l *layout) {
			putU64(d, l.tensor("blk.1.ffn_up.weight").Offset, math.MaxUint64-31)
		})},
		{"tensor offset 2^63", "read", "truncated: tensor blk.1.ffn_up.weight needs 32800 bytes at offset 9223372036854784544", patch(func(d []byte, l *layout) {
			putU64(d, l.tensor("blk.1.ffn_up.weight").Offset, 1<<63)
		})},
		{"I2_S tail cut", "read", "truncated: tensor blk.1.ffn_down.weight needs 32800 bytes at offset", func(t testing.TB) []byte {
			// Make the I2_S ffn_down the last tensor, then cut inside its
			// 32-byte tail: the packed codes are all there, the scale is not.
			b := ggufttest.NewBuilder(ggufttest.Official)
			norm := b.Tensors[len(b.Tensors)-1]
			b.Tensors = append([]gguf.TensorInfo{norm}, b.Tensors[:len(b.Tensors)-1]...)
			data := ggufttest.Write(t, b)
			start, _ := tensorEnd(t, data, "blk.1.ffn_down.weight")
			return data[:start+ggufttest.FFN*ggufttest.Embd/4+4]
		}},
		{"data section past the end", "read", "truncated: tensor data should start at offset 64, file ends at 57", func(t testing.TB) []byte {
			return newRaw(3, 1, 0).tensor("a", gguf.TypeF32, 0, 8).Bytes()
		}},
		{"official file cut after its header", "read", "truncated: tensor ", func(t testing.TB) []byte {
			data := tiny(t, ggufttest.Official)
			return data[:locate(t, data).HeaderEnd]
		}},
	}
	// The exact message for a tensor past the end of the file.
	cases = append(cases, badCase{"tensor past the end", "read", "", nil})

	// CheckModel: metadata.
	cases = append(cases, []badCase{
		{"architecture gemma", "check", "architecture gemma is not supported; supported are bitnet-b1.58, bitnet-25, bitnet, llama",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "general.architecture", "gemma") })},
		{"architecture llama without its keys", "check", "missing or non-integer metadata llama.context_length",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "general.architecture", "llama") })},
		{"architecture bitnet without its keys", "check", "missing or non-integer metadata bitnet.context_length",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "general.architecture", "bitnet") })},
		{"no architecture", "check", "architecture (none) is not supported",
			official(func(b *gguf.Builder) { ggufttest.DeleteKV(b, "general.architecture") })},
		{"architecture not a string", "check", "architecture (none)",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "general.architecture", uint32(1)) })},
		{"keys of another arch", "check", "missing or non-integer metadata bitnet-25.context_length",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "general.architecture", gguf.ArchBitNet25) })},
		{"embedding length as string", "check", "missing or non-integer metadata bitnet-b1.58.embedding_length",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"embedding_length", "256") })},
		{"negative head count", "check", "missing or non-integer metadata bitnet-b1.58.attention.head_count",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"attention.head_count", int32(-2)) })},
		{"head count array", "check", "missing or non-integer metadata bitnet-b1.58.attention.head_count",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"attention.head_count", []uint32{2, 2}) })},
		{"zero blocks", "check", "bitnet-b1.58.block_count = 0 is out of range [1, 256]",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"block_count", uint32(0)) })},
		{"2^32-1 blocks", "check", "bitnet-b1.58.block_count = 4294967295 is out of range",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"block_count", uint32(math.MaxUint32)) })},
		{"2^63 context", "check", "context_length = 9223372036854775808 is out of range",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"context_length", uint64(1<<63)) })},
		{"huge embedding", "check", "embedding_length = 1048576 is out of range [128, 32768]",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"embedding_length", uint32(1<<20)) })},
		{"zero kv heads", "check", "head_count_kv = 0 is out of range",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"attention.head_count_kv", uint32(0)) })},
		{"head count not dividing embedding", "check", "embedding length 256 is not a multiple of the head count 3",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"attention.head_count", uint32(3)) })},
		{"kv heads not dividing heads", "check", "head count 2 is not a multiple of the kv head count 3",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"attention.head_count_kv", uint32(3)) })},
		{"rope dimension", "check", "rope dimension 64 differs from the head dimension 128",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"rope.dimension_count", uint32(64)) })},
		{"odd head dimension", "check", "head dimension 129 is odd", official(func(b *gguf.Builder) {
			ggufttest.SetKV(b, arch+"embedding_length", uint32(129))
			ggufttest.SetKV(b, arch+"attention.head_count", uint32(1))
			ggufttest.SetKV(b, arch+"rope.dimension_count", uint32(129))
		})},
		{"missing eps", "check", "bitnet-b1.58.attention.layer_norm_rms_epsilon is missing or not in (0, 1)",
			official(func(b *gguf.Builder) { ggufttest.DeleteKV(b, arch+"attention.layer_norm_rms_epsilon") })},
		{"NaN eps", "check", "layer_norm_rms_epsilon is missing or not in (0, 1)",
			official(func(b *gguf.Builder) {
				ggufttest.SetKV(b, arch+"attention.layer_norm_rms_epsilon", float32(math.NaN()))
			})},
		{"zero eps", "check", "not in (0, 1)",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"attention.layer_norm_rms_epsilon", 0.0) })},
		{"integer eps", "check", "not in (0, 1)",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"attention.layer_norm_rms_epsilon", uint32(1)) })},
		{"NaN rope base", "check", "bitnet-b1.58.rope.freq_base = NaN is out of range",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"rope.freq_base", math.NaN()) })},
		{"infinite rope base", "check", "rope.freq_base = +Inf is out of range",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"rope.freq_base", float32(math.Inf(1))) })},
		{"negative rope base", "check", "rope.freq_base = -500000 is out of range",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"rope.freq_base", float32(-500000)) })},

		// CheckModel: tokenizer.
		{"tokenizer bert", "check", `tokenizer "bert" is not supported; supported are gpt2 (byte-level BPE) and llama (SentencePiece)`,
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.model", "bert") })},
		{"SentencePiece without scores", "check", "a SentencePiece (llama) vocabulary needs tokenizer.ggml.scores", official(func(b *gguf.Builder) {
			ggufttest.SetKV(b, "tokenizer.ggml.model", "llama")
			ggufttest.DeleteKV(b, "tokenizer.ggml.scores")
		})},
		{"BPE without merges", "check", "a gpt2 (BPE) vocabulary needs tokenizer.ggml.merges",
			official(func(b *gguf.Builder) { ggufttest.DeleteKV(b, "tokenizer.ggml.merges") })},
		{"unknown pre-tokenizer", "check", `pre-tokenizer "qwen2" is not supported; supported are falcon-h1, falcon3, falcon_e, llama-bpe, llama-v3, llama3`,
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.pre", "qwen2") })},
		{"add_bos_token not a boolean", "check", "tokenizer.ggml.add_bos_token is not a boolean",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.add_bos_token", uint32(1)) })},
		{"chat template not a string", "check", "tokenizer.chat_template is not a string",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.chat_template", uint32(1)) })},
		{"llama with Q4_K weights is not ternary", "check", "this llama model is not ternary (1.58-bit)", official(func(b *gguf.Builder) {
			ggufttest.SetArch(b, "llama")
			ggufttest.SetKV(b, "tokenizer.ggml.pre", "llama-bpe")
			for i := 0; i < 2; i++ {
				for _, n := range []string{"attn_sub_norm", "ffn_sub_norm"} {
					ggufttest.DeleteTensor(b, fmt.Sprintf("blk.%d.%s.weight", i, n))
				}
			}
			ggufttest.SetTensor(b, "blk.0.attn_q.weight", gguf.TypeQ4_K, 256, 256)
		})},
		{"no tokenizer model", "check", `tokenizer "" is not supported`,
			official(func(b *gguf.Builder) { ggufttest.DeleteKV(b, "tokenizer.ggml.model") })},
		{"no tokens", "check", "tokenizer.ggml.tokens is missing or not a string array",
			official(func(b *gguf.Builder) { ggufttest.DeleteKV(b, "tokenizer.ggml.tokens") })},
		{"tokens not strings", "check", "tokenizer.ggml.tokens is missing or not a string array",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.tokens", make([]int32, ggufttest.Vocab)) })},
		{"empty token list", "check", "tokenizer.ggml.tokens is missing",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.tokens", []string{}) })},
		{"token count != vocab_size", "check", "bitnet-b1.58.vocab_size = 301 but the tokenizer has 300 tokens",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"vocab_size", uint32(301)) })},
		{"fewer tokens", "check", "vocab_size = 300 but the tokenizer has 299 tokens",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.tokens", ggufttest.Tokens()[:299]) })},
		{"token types short", "check", "tokenizer.ggml.token_type must be 300 int32 values",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.token_type", ggufttest.TokenTypes()[:10]) })},
		{"token types uint8", "check", "tokenizer.ggml.token_type must be 300 int32 values",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.token_type", make([]uint8, 300)) })},
		{"scores short", "check", "tokenizer.ggml.scores must be 300 float32 values",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.scores", make([]float32, 299)) })},
		{"scores strings", "check", "tokenizer.ggml.scores must be 300 float32 values",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.scores", ggufttest.Tokens()) })},
		{"merges not strings", "check", "tokenizer.ggml.merges is not a string array",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.merges", []int32{1}) })},
		{"bos >= vocab", "check", "tokenizer.ggml.bos_token_id = 300 is outside the vocabulary of 300 tokens",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.bos_token_id", uint32(300)) })},
		{"bos 128000", "check", "tokenizer.ggml.bos_token_id = 128000 is outside the vocabulary of 300 tokens",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.bos_token_id", uint32(128000)) })},
		{"eos >= vocab", "check", "tokenizer.ggml.eos_token_id = 128001 is outside the vocabulary",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.eos_token_id", uint32(128001)) })},
		{"negative eos", "check", "missing tokenizer.ggml.eos_token_id",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.eos_token_id", int32(-1)) })},
		{"no bos", "check", "missing tokenizer.ggml.bos_token_id",
			official(func(b *gguf.Builder) { ggufttest.DeleteKV(b, "tokenizer.ggml.bos_token_id") })},
		{"padding >= vocab", "check", "tokenizer.ggml.padding_token_id = 128001 is outside the vocabulary of 300 tokens",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.padding_token_id", uint32(128001)) })},
		{"eot not an integer", "check", "tokenizer.ggml.eot_token_id is not a non-negative integer",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, "tokenizer.ggml.eot_token_id", "128009") })},

		// CheckModel: tensors.
		{"missing tensor", "check", "missing tensor blk.1.attn_k.weight",
			official(func(b *gguf.Builder) { ggufttest.DeleteTensor(b, "blk.1.attn_k.weight") })},
		{"missing output norm", "check", "missing tensor output_norm.weight",
			official(func(b *gguf.Builder) { ggufttest.DeleteTensor(b, "output_norm.weight") })},
		{"missing embedding", "check", "missing tensor token_embd.weight",
			official(func(b *gguf.Builder) { ggufttest.DeleteTensor(b, "token_embd.weight") })},
		{"embedding only as output.weight, not converted", "check", "missing tensor token_embd.weight",
			official(func(b *gguf.Builder) { ggufttest.RenameTensor(b, "token_embd.weight", "output.weight") })},
		{"block count too high", "check", "missing tensor blk.2.attn_norm.weight",
			official(func(b *gguf.Builder) { ggufttest.SetKV(b, arch+"block_count", uint32(3)) })},
		{"wrong shape", "check", "tensor blk.0.ffn_up.weight has shape [256 256], want [256 512]",
			official(func(b *gguf.Builder) { ggufttest.SetTensor(b, "blk.0.ffn_up.weight", gguf.TypeI2_S, 256, 256) })},
		{"transposed", "check", "tensor blk.1.ffn_down.weight has shape [256 512], want [512 256]",
			official(func(b *gguf.Builder) { ggufttest.SetTensor(b, "blk.1.ffn_down.weight", gguf.TypeI2_S, 256, 512) })},
		{"3-d shape", "check", "tensor blk.0.attn_v.weight has shape [256 128 1], want [256 128]",
			official(func(b *gguf.Builder) { ggufttest.SetTensor(b, "blk.0.attn_v.weight", gguf.TypeI2_S, 256, 128, 1) })},
		{"embedding rows != vocab", "check", "tensor token_embd.weight has shape [256 299], want [256 300]",
			official(func(b *gguf.Builder) { ggufttest.SetTensor(b, "token_embd.weight", gguf.TypeF16, 256, 299) })},
		{"I2_S norm", "check", "tensor blk.0.attn_norm.weight has type i2_s, want f32",
			official(func(b *gguf.Builder) { ggufttest.SetTensor(b, "blk.0.attn_norm.weight", gguf.TypeI2_S, 256) })},
		{"F16 norm", "check", "tensor output_norm.weight has type f16, want f32",
			official(func(b *gguf.Builder) { ggufttest.SetTensor(b, "output_norm.weight", gguf.TypeF16, 256) })},
		{"Q4_0 embedding", "check", "tensor token_embd.weight has type q4_0; the embedding must be f16, f32, bf16, q8_0, q6_k, q5_k or q4_k",
			official(func(b *gguf.Builder) { ggufttest.SetTensor(b, "token_embd.weight", gguf.TypeQ4_0, 256, 300) })},
		{"I2_S embedding", "check", "tensor token_embd.weight has type i2_s; the embedding must be",
			official(func(b *gguf.Builder) { ggufttest.SetTensor(b, "token_embd.weight", gguf.TypeI2_S, 256, 300) })},
		{"F16 ternary weight", "check", "tensor blk.1.attn_output.weight has type f16, want [i2_s tq1_0 tq2_0]",
			official(func(b *gguf.Builder) { ggufttest.SetTensor(b, "blk.1.attn_output.weight", gguf.TypeF16, 256, 256) })},
		{"TQ2_0 mixed with I2_S", "check", "tensor blk.0.attn_k.weight has type i2_s while others are tq2_0",
			official(func(b *gguf.Builder) { ggufttest.SetTensor(b, "blk.0.attn_q.weight", gguf.TypeTQ2_0, 256, 256) })},
		{"unexpected extra tensor", "check", "unexpected tensor blk.0.attn_q.bias",
			official(func(b *gguf.Builder) { ggufttest.SetTensor(b, "blk.0.attn_q.bias", gguf.TypeF32, 256) })},
		{"rope_freqs", "check", "unexpected tensor rope_freqs.weight",
			official(func(b *gguf.Builder) { ggufttest.SetTensor(b, "rope_freqs.weight", gguf.TypeF32, 64) })},
		{"extra block", "check", "unexpected tensor blk.2.attn_norm.weight",
			official(func(b *gguf.Builder) { ggufttest.SetTensor(b, "blk.2.attn_norm.weight", gguf.TypeF32, 256) })},
		{"bitnet-25 without output", "check", "bitnet-25 model without output.weight",
			edit(ggufttest.BitNet25, func(b *gguf.Builder) { ggufttest.DeleteTensor(b, "output.weight") })},
		{"bitnet-25 output wrong shape", "check", "tensor output.weight has shape [256 256], want [256 300]",
			edit(ggufttest.BitNet25, func(b *gguf.Builder) { ggufttest.SetTensor(b, "output.weight", gguf.TypeF16, 256, 256) })},
		{"converted with I2_S", "check", "tensor blk.0.attn_q.weight has type i2_s, want [tq2_0 tq1_0 q2_k q8_0]",
			edit(ggufttest.Converted, func(b *gguf.Builder) { ggufttest.SetTensor(b, "blk.0.attn_q.weight", gguf.TypeI2_S, 256, 256) })},
		{"converted mixing TQ2_0 and Q2_K", "check", "tensor blk.1.ffn_down.weight has type q2_k while others are tq2_0",
			edit(ggufttest.Converted, func(b *gguf.Builder) { ggufttest.SetTensor(b, "blk.1.ffn_down.weight", gguf.TypeQ2_K, 512, 256) })},
		{"converted without the converter key", "check", "missing tensor token_embd.weight",
			edit(ggufttest.Converted, func(b *gguf.Builder) { ggufttest.DeleteKV(b, gguf.KeyConverterVersion) })},
		{"converter version 0", "check", "missing tensor token_embd.weight",
			edit(ggufttest.Converted, func(b *gguf.Builder) { ggufttest.SetKV(b, gguf.KeyConverterVersion, uint32(0)) })},
		{"converted Q4_0 embedding", "check", "tensor output.weight has type q4_0; the embedding must be",
			edit(ggufttest.Converted, func(b *gguf.Builder) { ggufttest.SetTensor(b, "output.weight", gguf.TypeQ4_0, 256, 300) })},

		// Read: metadata that ggml aborts on or misreads.
		{"alignment uint64", "read", "general.alignment must be a uint32, not uint64", func(t testing.TB) []byte {
			return newRaw(3, 0, 1).str("general.alignment").u32(uint32(gguf.ValUint64)).u64(32).Bytes()
		}},
		{"alignment array", "read", "general.alignment must be a uint32, not array of uint32", func(t testing.TB) []byte {
			return newRaw(3, 0, 1).str("general.alignment").u32(uint32(gguf.ValArray)).u32(uint32(gguf.ValUint32)).u64(1).u32(32).Bytes()
		}},
		{"alignment 0", "read", "general.alignment 0 is not a power of two up to 1 MiB", func(t testing.TB) []byte {
			return newRaw(3, 0, 1).str("general.alignment").u32(uint32(gguf.ValUint32)).u32(0).Bytes()
		}},
		{"alignment 48", "read", "general.alignment 48 is not a power of two", func(t testing.TB) []byte {
			return newRaw(3, 0, 1).str("general.alignment").u32(uint32(gguf.ValUint32)).u32(48).Bytes()
		}},
		{"alignment 2^31", "read", "general.alignment 2147483648 is not a power of two up to 1 MiB", func(t testing.TB) []byte {
			return newRaw(3, 0, 1).str("general.alignment").u32(uint32(gguf.ValUint32)).u32(1 << 31).Bytes()
		}},
		{"alignment 64 breaks the default-aligned offsets", "read", "is not a multiple of the alignment 64", func(t testing.TB) []byte {
			r := newRaw(3, 2, 1).str("general.alignment").u32(uint32(gguf.ValUint32)).u32(64)
			r.tensor("a", gguf.TypeF32, 0, 8).tensor("b", gguf.TypeF32, 32, 8)
			return r.data(64, 96).Bytes()
		}},
	}...)
	return cases
}

func TestCorruptFiles(t *testing.T) {
	for _, tc := range badCases() {
		if tc.make == nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			data := tc.make(t)
			var stage string
			var err error
			noPanic(t, "Read/CheckModel", func() { stage, _, err = check(data) })
			if err == nil {
				t.Fatalf("accepted; want an error containing %q", tc.want)
			}
			if stage != tc.stage {
				t.Errorf("failed in %s, want %s: %v", stage, tc.stage, err)
			}
			wantErr(t, err, tc.want)
			if len(err.Error()) > 400 {
				t.Errorf("error of %d bytes: %.400s...", len(err.Error()), err)
			}
			if tc.stage == "read" && err != nil && strings.HasPrefix(tc.want, "not a GGUF") {
				if !strings.Contains(err.Error(), gguf.ErrNotGGUF.Error()) {
					t.Errorf("not ErrNotGGUF: %v", err)
				}
			}
		})
	}
}

// The exact message when a tensor's data runs past the end of the file.
func TestTensorPastEnd(t *testing.T) {
	data := tiny(t, ggufttest.Official)
	l := locate(t, data)
	f := mustRead(t, data)
	up, _ := f.Tensor("blk.1.ffn_up.weight")
	// Move it to the first aligned offset at the end of the data.
	off := (uint64(len(data)) - f.DataOffset + 31) / 32 * 32
	putU64(data, l.tensor("blk.1.ffn_up.weight").Offset, off)
	_, err := readBytes(data)
	want := fmt.Sprintf("truncated: tensor blk.1.ffn_up.weight needs %d bytes at offset %d, file ends at %d",
		up.Size, f.DataOffset+off, len(data))
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
	if up.Size != ggufttest.Embd*ggufttest.FFN/4+32 {
		t.Errorf("ffn_up takes %d bytes", up.Size)
	}

	// The same message when the file is cut inside that tensor.
	data = tiny(t, ggufttest.Official)
	start, end := tensorEnd(t, data, "blk.1.ffn_up.weight")
	cut := (start + end) / 2
	_, err = readBytes(data[:cut])
	want = fmt.Sprintf("truncated: tensor blk.1.ffn_up.weight needs %d bytes at offset %d, file ends at %d", up.Size, start, cut)
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

// Every cut of every variant is refused with "truncated" (or "not a GGUF
// file" inside the magic): every 1/64th of the file, every byte of the
// header up to the first tensor info, and both sides of every field.
func TestTruncated(t *testing.T) {
	for _, v := range ggufttest.Variants {
		data := tiny(t, v)
		l := locate(t, data)
		f := mustRead(t, data)
		last := f.Tensors[0]
		for _, ti := range f.Tensors {
			if ti.Offset > last.Offset {
				last = ti
			}
		}
		dataEnd := int(f.DataOffset + last.Offset + last.Size)
		cuts := map[int]bool{}
		for i := 0; i < 64; i++ {
			cuts[i*len(data)/64] = true
		}
		for i := 0; i <= l.KVs[3].End; i++ {
			cuts[i] = true
		}
		for _, kv := range l.KVs {
			for _, p := range []int{kv.KeyLen, kv.Type, kv.Elem, kv.Count, kv.Value, kv.End} {
				cuts[p-1], cuts[p], cuts[p+1] = true, true, true
			}
		}
		for _, tl := range l.Tensors {
			for _, p := range append([]int{tl.NameLen, tl.NDims, tl.Type, tl.Offset}, tl.Dims...) {
				cuts[p-1], cuts[p], cuts[p+1] = true, true, true
			}
			cuts[tl.Offset+8] = true
		}
		for _, ti := range f.Tensors {
			s := int(f.DataOffset + ti.Offset)
			cuts[s+1], cuts[s+int(ti.Size)-1] = true, true
		}
		cuts[dataEnd-1] = true
		cuts[int(f.DataOffset)-1] = true
		n := 0
		for cut := range cuts {
			if cut < 0 || cut >= dataEnd {
				continue
			}
			n++
			var err error
			noPanic(t, fmt.Sprintf("%v cut at %d", v, cut), func() { _, err = readBytes(data[:cut]) })
			if err == nil {
				t.Errorf("%v cut at %d of %d: accepted", v, cut, len(data))
				continue
			}
			if !strings.Contains(err.Error(), "truncated") {
				t.Errorf("%v cut at %d: %v", v, cut, err)
			}
			if cut < 4 && !strings.Contains(err.Error(), "not a GGUF file") {
				t.Errorf("%v cut at %d: %v", v, cut, err)
			}
		}
		if n < 500 {
			t.Errorf("%v: only %d cuts", v, n)
		}
		// The final padding is not needed: the data is all there.
		if _, err := readBytes(data[:dataEnd]); err != nil {
			t.Errorf("%v without its final padding: %v", v, err)
		}
	}
}
