package runner

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/kernel"
)

// decodeMemory returns the backend memory of the tensors one decoded token
// reads: every weight but the token embedding when the output matrix is a
// separate one (then only one embedding row is read per token).
func (r *Runner) decodeMemory() [][]byte {
	var out [][]byte
	_, hasOut := r.file.Tensor("output.weight")
	for _, t := range r.file.Tensors {
		if t.Name == "token_embd.weight" && hasOut {
			continue
		}
		if bt := r.model.Backend().Get(t.Name); bt != nil {
			if b := kernel.Memory(bt); b != nil {
				// Weights in memory of their own are their layout's size
				// (the tensor's is TQ2_0's).
				if r.weights.Holds(b) && len(t.Shape) == 2 {
					b = b[:min(len(b), kernel.PackedSize(r.level, int(t.Shape[1]), int(t.Shape[0])))]
				}
				out = append(out, b)
			}
		}
	}
	return out
}

// WeightBytesPerToken is the number of bytes of weights one decoded token
// reads (the kv cache aside).
func (r *Runner) WeightBytesPerToken() int64 {
	if err := r.acquire(context.Background(), true); err != nil {
		return 0
	}
	defer r.release()
	var n int64
	for _, b := range r.decodeMemory() {
		n += int64(len(b))
	}
	return n
}

// KVBytesPerToken is the number of bytes of the kv cache one decoded
// token reads per token of context: 2 bytes a value in f16, 34 bytes per
// 32 values in q8_0.
func (r *Runner) KVBytesPerToken() int64 {
	return engine.KVCacheBytes(r.spec.Blocks, r.spec.KVHeads, r.spec.HeadDim, 1, r.info.KVCache)
}

// ReadBandwidth measures how fast threads threads read the model's weights
// (what decoding streams): bytes per second, the median of passes passes
// after one to warm up. It is the memory-bandwidth roofline of decoding on
// this machine, measured in the same process (the bandwidth of a shared
// machine drifts between runs). The median, not the best: on a shared
// host single passes of a few tens of milliseconds burst well above what
// a read sustains for the seconds a decode takes.
func (r *Runner) ReadBandwidth(threads, passes int) float64 {
	if err := r.acquire(context.Background(), true); err != nil {
		return 0
	}
	defer r.release()
	mem := r.decodeMemory()
	var total int64
	for _, b := range mem {
		total += int64(len(b))
	}
	if total == 0 || threads < 1 || passes < 1 {
		return 0
	}
	// Split the bytes into threads contiguous ranges over the tensors.
	parts := make([][][]byte, threads)
	per := (total + int64(threads) - 1) / int64(threads)
	t, have := 0, int64(0)
	for _, b := range mem {
		for len(b) > 0 {
			take := min(int64(len(b)), per-have)
			parts[t] = append(parts[t], b[:take])
			b, have = b[take:], have+take
			if have == per && t < threads-1 {
				t, have = t+1, 0
			}
		}
	}
	var speeds []float64
	var sink uint64
	var mu sync.Mutex
	for pass := 0; pass <= passes; pass++ {
		var wg sync.WaitGroup
		start := time.Now()
		for _, p := range parts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				var s uint64
				for _, b := range p {
					s += kernel.StreamRead(b)
				}
				mu.Lock()
				sink += s
				mu.Unlock()
			}()
		}
		wg.Wait()
		if pass > 0 {
			speeds = append(speeds, float64(total)/time.Since(start).Seconds())
		}
	}
	_ = sink
	slices.Sort(speeds)
	return speeds[len(speeds)/2]
}
