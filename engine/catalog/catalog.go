// Package catalog lists the ternary models BitNet Desktop knows: where to
// download them, what they are, and what they need. The figures come from
// the publishers' pages and files (docs/models.md says which were verified
// how); a model's own GGUF header stays the authority once it is on disk.
package catalog

import (
	"slices"
	"strings"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
)

// Entry is a known model.
type Entry struct {
	ID         string      `json:"id"`        // stable name: "bitnet-b1.58-2b4t"
	Name       string      `json:"name"`      // "BitNet b1.58 2B4T"
	Publisher  string      `json:"publisher"` // "Microsoft"
	Family     gguf.Family `json:"family"`
	Parameters int64       `json:"parameters"`
	Context    int         `json:"context"` // tokens the model was trained for
	Chat       bool        `json:"chat"`    // instruction-tuned with a chat format; else a base model
	License    string      `json:"license"`
	// URL is where the file downloads from ("" when no publisher file is
	// known: the user imports one). Page is the model's web page.
	URL      string `json:"url,omitempty"`
	Page     string `json:"page"`
	FileName string `json:"fileName"`
	// SizeBytes is the file's size: exact when SizeExact (then checked
	// after the download), else approximate (for the disk-space check and
	// the library's display).
	SizeBytes int64 `json:"sizeBytes"`
	SizeExact bool  `json:"sizeExact"`
	// SHA256 lists the accepted digests of the file (none: not published,
	// the download is not hash-checked).
	SHA256 []string `json:"sha256,omitempty"`
	// Layers, KVHeads and HeadDim size the kv cache for the memory
	// estimate (RAMBytes).
	Layers  int `json:"layers"`
	KVHeads int `json:"kvHeads"`
	HeadDim int `json:"headDim"`
}

// Official 2B4T figures (also the desktop app's first model).
const (
	BitNet2B4T     = "bitnet-b1.58-2b4t"
	bitnetURL      = "https://huggingface.co/microsoft/bitnet-b1.58-2B-4T-gguf/resolve/main/ggml-model-i2_s.gguf"
	bitnetSHA      = "4221b252fdd5fd25e15847adfeb5ee88886506ba50b8a34548374492884c2162"
	bitnetSHA2025  = "13939ce5030319a35db346e5dba7a3a3bd599dfc18b113a2a97446ff964714c5" // April 2025 upload (bitnet-25)
	falconLicense  = "TII Falcon License 2.0"
	hfTII          = "https://huggingface.co/tiiuae/"
	gb             = 1_000_000_000
	defaultContext = 4096
)

var entries = []Entry{
	{ID: BitNet2B4T, Name: "BitNet b1.58 2B4T", Publisher: "Microsoft", Family: gguf.Family2B4T, Parameters: 2_410_000_000,
		Context: 4096, Chat: true, License: "MIT", URL: bitnetURL, Page: "https://huggingface.co/microsoft/bitnet-b1.58-2B-4T-gguf",
		FileName: "ggml-model-i2_s.gguf", SizeBytes: 1_187_801_280, SizeExact: true, SHA256: []string{bitnetSHA, bitnetSHA2025},
		Layers: 30, KVHeads: 5, HeadDim: 128},
	{ID: "falcon3-1b-instruct-1.58bit", Name: "Falcon3 1B Instruct 1.58-bit", Publisher: "TII", Family: gguf.FamilyLlama,
		Parameters: 1_670_000_000, Context: 8192, Chat: true, License: falconLicense,
		URL: hfTII + "Falcon3-1B-Instruct-1.58bit-GGUF/resolve/main/ggml-model-i2_s.gguf", Page: hfTII + "Falcon3-1B-Instruct-1.58bit-GGUF",
		FileName: "ggml-model-i2_s.gguf", SizeBytes: 1.36 * gb,
		SHA256: []string{"0ecef8ad9bcb1b7d3b73bac7b0237daf2faa962b60cbbaf62c86ff51a39444b4"}, Layers: 18, KVHeads: 4, HeadDim: 256},
	{ID: "falcon3-3b-instruct-1.58bit", Name: "Falcon3 3B Instruct 1.58-bit", Publisher: "TII", Family: gguf.FamilyLlama,
		Parameters: 3_230_000_000, Context: 8192, Chat: true, License: falconLicense,
		URL: hfTII + "Falcon3-3B-Instruct-1.58bit-GGUF/resolve/main/ggml-model-i2_s.gguf", Page: hfTII + "Falcon3-3B-Instruct-1.58bit-GGUF",
		FileName: "ggml-model-i2_s.gguf", SizeBytes: 2.22 * gb,
		SHA256: []string{"2ee9723dc1abcc53f231ef1637bdd7c1ec1dbaf132c2c59873100cfb48b41455"}, Layers: 22, KVHeads: 4, HeadDim: 256},
	{ID: "falcon3-7b-instruct-1.58bit", Name: "Falcon3 7B Instruct 1.58-bit", Publisher: "TII", Family: gguf.FamilyLlama,
		Parameters: 7_460_000_000, Context: 8192, Chat: true, License: falconLicense,
		URL: hfTII + "Falcon3-7B-Instruct-1.58bit-GGUF/resolve/main/ggml-model-i2_s.gguf", Page: hfTII + "Falcon3-7B-Instruct-1.58bit-GGUF",
		FileName: "ggml-model-i2_s.gguf", SizeBytes: 3.28 * gb,
		SHA256: []string{"612ab67d4c5fb77d9f810eb521eb4a477dae46df1a85ca501018490e2dac35c6"}, Layers: 28, KVHeads: 4, HeadDim: 256},
	{ID: "falcon-e-1b-instruct", Name: "Falcon-E 1B Instruct", Publisher: "TII", Family: gguf.FamilyLlama,
		Parameters: 1_000_000_000, Context: defaultContext, Chat: true, License: falconLicense,
		URL: hfTII + "Falcon-E-1B-Instruct-GGUF/resolve/main/ggml-model-i2_s.gguf", Page: hfTII + "Falcon-E-1B-Instruct-GGUF",
		FileName: "ggml-model-i2_s.gguf", SizeBytes: 0.67 * gb, Layers: 24, KVHeads: 2, HeadDim: 128},
	{ID: "falcon-e-3b-instruct", Name: "Falcon-E 3B Instruct", Publisher: "TII", Family: gguf.FamilyLlama,
		Parameters: 3_000_000_000, Context: defaultContext, Chat: true, License: falconLicense,
		URL: hfTII + "Falcon-E-3B-Instruct-GGUF/resolve/main/ggml-model-i2_s.gguf", Page: hfTII + "Falcon-E-3B-Instruct-GGUF",
		FileName: "ggml-model-i2_s.gguf", SizeBytes: 1.0 * gb, Layers: 32, KVHeads: 5, HeadDim: 128},
	{ID: "llama3-8b-1.58-100b-tokens", Name: "Llama3 8B 1.58-bit (100B tokens)", Publisher: "HF1BitLLM", Family: gguf.FamilyLlama,
		Parameters: 8_030_000_000, Context: 8192, Chat: false, License: "Llama 3 Community License",
		Page: "https://huggingface.co/HF1BitLLM/Llama3-8B-1.58-100B-tokens", FileName: "llama3-8b-1.58.gguf",
		SizeBytes: 2.53 * gb, Layers: 32, KVHeads: 8, HeadDim: 128},
	{ID: "bitnet-b1.58-large", Name: "BitNet b1.58 large (0.7B)", Publisher: "1bitLLM", Family: gguf.FamilyBitNet,
		Parameters: 729_000_000, Context: 2048, Chat: false, License: "MIT",
		Page: "https://huggingface.co/1bitLLM/bitnet_b1_58-large", FileName: "bitnet_b1_58-large.gguf",
		SizeBytes: 0.27 * gb, Layers: 24, KVHeads: 16, HeadDim: 96},
}

// All returns the catalog, in display order.
func All() []Entry {
	out := make([]Entry, len(entries))
	for i, e := range entries {
		e.SHA256 = slices.Clone(e.SHA256)
		out[i] = e
	}
	return out
}

// Find returns the entry with the given id (case-insensitive).
func Find(id string) (Entry, bool) {
	for _, e := range All() {
		if strings.EqualFold(e.ID, id) {
			return e, true
		}
	}
	return Entry{}, false
}

// Downloadable reports whether the catalog has a download for the entry.
func (e Entry) Downloadable() bool { return e.URL != "" }

// RAMBytes estimates the memory the model needs with a context of ctx
// tokens (0: its own, at most 8192) and a kv cache of type kvCache ("f16"
// or "q8_0"): the weights as converted (about the published file, whose
// embedding is re-quantized smaller), the kv cache and 300 MB of compute
// buffers and runtime.
func (e Entry) RAMBytes(ctx int, kvCache string) int64 {
	if ctx <= 0 {
		ctx = min(e.Context, 8192)
	}
	return e.SizeBytes + engine.KVCacheBytes(e.Layers, e.KVHeads, e.HeadDim, ctx, kvCache) + 300<<20
}
