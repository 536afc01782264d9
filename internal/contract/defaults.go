package contract

import (
	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/catalog"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/internal/appdata"
	"github.com/bitnet-desktop/bitnet-desktop/internal/session"
	"github.com/bitnet-desktop/bitnet-desktop/internal/settings"
)

// Defaults is what the front end's fake backend starts from
// (frontend/src/testing/go-defaults.json): the settings of a new
// installation on a 2-core machine, a state with the official model
// loaded, and the default system prompts.
type Defaults struct {
	Settings      settings.Settings `json:"settings"`
	State         session.AppState  `json:"state"`
	SystemPrompts map[string]string `json:"systemPrompts"`
	// Catalog is the model catalog as ListModels lists it, nothing installed.
	Catalog []session.LibraryModel `json:"catalog"`
}

// FakeDefaults returns the Defaults, every value from the Go side's own
// defaults (the model's figures are the official 2B4T file's).
func FakeDefaults() Defaults {
	const numCPU = 2
	set := settings.Defaults(numCPU, appdata.Env{}, "en")
	threads := engine.DefaultThreads(numCPU)
	const ctx = 4096 // bitnet-b1.58.context_length of the official file
	path := "/home/user/.local/share/bitnet-desktop/models/" + appdata.ModelFileName
	return Defaults{
		Settings: set,
		State: session.AppState{
			Status: session.StatusReady, LoadFraction: 1, MemoryBytes: 1_060_000_000,
			Threads: threads, ContextSize: ctx, ModelPresent: true, Version: "0.0.0+gitabcdef0",
			Model: &session.ModelInfo{
				ID: catalog.BitNet2B4T, DisplayName: "BitNet b1.58 2B4T", Family: string(gguf.Family2B4T), Chat: true,
				Name: appdata.ModelFileName, Path: path,
				RunPath:      path + ".tq2_0-q6_k.gguf",
				Architecture: gguf.ArchBitNet, Parameters: 2_412_820_480, ContextSize: ctx, Threads: threads,
				WeightType: "tq2_0", EmbeddingType: "q6_k", Kernel: "avx512-vnni", KVCache: "f16", SizeBytes: 1_187_801_280,
			},
		},
		SystemPrompts: map[string]string{
			"en": settings.DefaultSystemPrompt("en"),
			"es": settings.DefaultSystemPrompt("es"),
		},
		Catalog: session.CatalogModels("f16"),
	}
}
