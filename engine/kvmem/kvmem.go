// Package kvmem keeps ollama's kv cache from occupying memory it has not
// used yet.
//
// ollama's causal cache allocates each layer's keys and values for the
// whole context at once and zeroes them (ggml_set_zero), which touches
// every page: a 4096-token f16 cache of 2B4T costs 315 MB of resident
// memory before the first token. Wrap the backend given to the cache's Init
// with Backend: right after ggml zeroes such a tensor, its whole pages are
// handed back to the operating system (MADV_DONTNEED on Linux), which
// returns them as zero pages on first touch. The cache then reads exactly
// what it expects (zeros) and the memory grows with the conversation.
//
// With small pages, the released pages also leave transparent huge pages
// (MADV_NOHUGEPAGE): a cache that fills cell by cell (values in rows, as
// the keys) then grows 4 KB at a time, not 2 MB per layer's keys and
// values. (A cache whose first token writes into every row, ollama's f16
// values for ggml's CPU path, must keep huge pages: there, decoding after
// 2048 tokens was 0.90x with small ones.)
package kvmem

import (
	"github.com/ollama/ollama/ml"

	"github.com/bitnet-desktop/bitnet-desktop/engine/kernel"
	"github.com/bitnet-desktop/bitnet-desktop/engine/pagemem"
)

// Backend wraps b for a kv cache's Init.
func Backend(b ml.Backend, smallPages bool) ml.Backend { return backend{b, smallPages} }

type backend struct {
	ml.Backend
	small bool
}

// CacheConfig passes the wrapped backend's cache configuration through.
func (b backend) CacheConfig() ml.CacheConfig {
	if cc, ok := b.Backend.(ml.BackendCacheConfig); ok {
		return cc.CacheConfig()
	}
	return ml.CacheConfig{}
}

// NewContextSize is what the cache allocates its tensors with. (NewContext
// is left alone: the cache builds graphs with it, and graph operations need
// the backend's own context type.)
func (b backend) NewContextSize(n int) ml.Context {
	return context{b.Backend.NewContextSize(n), b.small}
}

type context struct {
	ml.Context
	small bool
}

func (c context) Layer(i int) ml.Context { return context{c.Context.Layer(i), c.small} }
func (c context) Input() ml.Context      { return context{c.Context.Input(), c.small} }

// Zeros returns the zeroed tensor with its pages released.
func (c context) Zeros(dtype ml.DType, shape ...int) ml.Tensor {
	t := c.Context.Zeros(dtype, shape...)
	pagemem.Release(kernel.Memory(t), c.small)
	return t
}
