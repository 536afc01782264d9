// Package runner loads a BitNet b1.58 model on ollama's ggml engine and
// runs generations on it: kv cache with prefix reuse, context trimming,
// sampling, streaming, stop strings, cancellation and statistics.
package runner

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/ollama/ollama/ml"
	_ "github.com/ollama/ollama/ml/backend/ggml" // registers the ggml backend
	"github.com/ollama/ollama/model"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/cpu"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/convert"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/graph" // also registers the 2B4T graph
	"github.com/bitnet-desktop/bitnet-desktop/engine/kernel"
	"github.com/bitnet-desktop/bitnet-desktop/engine/kvmem"
	"github.com/bitnet-desktop/bitnet-desktop/engine/pagemem"
	"github.com/bitnet-desktop/bitnet-desktop/engine/tokenize"
)

// BatchSize is the number of prompt tokens computed per graph.
const BatchSize = 128

// CheckCPU returns an error when the CPU lacks the instructions the ggml
// kernels were compiled for (x86-64-v3: AVX2, FMA, F16C; on arm64 ARMv8-A
// with Advanced SIMD, which every 64-bit ARM Linux machine has).
func CheckCPU() error {
	if runtime.GOARCH == "arm64" && !cpu.ARM64.HasASIMD {
		return engine.Errorf(engine.CodeCPUUnsupported, map[string]any{"missing": []string{"ASIMD"}},
			"this CPU lacks Advanced SIMD (NEON), which BitNet Desktop's compute kernels need")
	}
	if runtime.GOARCH != "amd64" {
		return nil
	}
	var missing []string
	if !cpu.X86.HasAVX2 {
		missing = append(missing, "AVX2")
	}
	if !cpu.X86.HasFMA {
		missing = append(missing, "FMA")
	}
	if !cpu.X86.HasBMI2 {
		missing = append(missing, "BMI2")
	}
	if len(missing) > 0 {
		return engine.Errorf(engine.CodeCPUUnsupported, map[string]any{"missing": missing},
			"this CPU lacks %v, which BitNet Desktop's compute kernels need (x86-64-v3: Intel Haswell / AMD Excavator or newer)", missing)
	}
	return nil
}

// DefaultThreads is engine.DefaultThreads for this machine.
func DefaultThreads() int { return engine.DefaultThreads(runtime.NumCPU()) }

// Inspect opens and checks a model file without loading it: the Go-side
// validation that runs before any C code sees a file.
func Inspect(path string) (*gguf.File, *gguf.Spec, error) {
	f, spec, err := gguf.OpenModel(path)
	if err != nil {
		return nil, nil, engine.Wrap(engine.CodeInvalidModel, err, "%s is not a usable model", filepath.Base(path))
	}
	return f, spec, nil
}

// Load validates, converts (once, cached) and loads the model at path.
func Load(ctx context.Context, path string, opts engine.LoadOptions) (m engine.Model, err error) {
	if err := CheckCPU(); err != nil {
		return nil, err
	}
	// The options first: a bad one fails before any conversion.
	kvType, err := kvCacheType(opts.KVCacheType)
	if err != nil {
		return nil, err
	}
	level, useKernel, err := kernelLevel(opts.Kernel)
	if err != nil {
		return nil, err
	}
	progress := func(stage string, f float64) {
		if opts.Progress != nil {
			opts.Progress(engine.Progress{Stage: stage, Fraction: f})
		}
	}
	progress(engine.StageValidating, 0)
	rf, rspec, err := Inspect(path)
	if err != nil {
		return nil, err
	}
	runPath := path
	if !rspec.Converted {
		progress(engine.StageConverting, 0)
		runPath, err = convert.Ensure(ctx, path, opts.CacheDir, convert.Options{
			Weights: opts.Weights, Embedding: opts.Embedding, Threads: opts.Threads,
			Progress: func(f float64) { progress(engine.StageConverting, f) },
		})
		if err != nil {
			return nil, err
		}
		if rf, rspec, err = Inspect(runPath); err != nil {
			return nil, err
		}
	}
	tok, err := tokenize.New(rf, rspec)
	if err != nil {
		return nil, engine.Wrap(engine.CodeInvalidModel, err, "tokenizer")
	}

	threads := opts.Threads
	if threads <= 0 {
		threads = DefaultThreads()
	}
	ctxSize := opts.ContextSize
	if ctxSize <= 0 || ctxSize > rspec.Context {
		ctxSize = rspec.Context
	}
	ensureLibraryPath()

	progress(engine.StageLoading, 0)
	r := &Runner{spec: rspec, file: rf, tok: tok, ctxSize: ctxSize, sem: make(chan struct{}, 1)}
	r.format = newFormat(rf, rspec, tok)
	defer func() {
		if p := recover(); p != nil {
			err = engine.Errorf(engine.CodeInternal, nil, "loading the model failed: %v", p)
			r.closeBackend()
		}
	}()
	params := ml.BackendParams{AllocMemory: true, NumThreads: threads, FlashAttention: ml.FlashAttentionDisabled}
	// ggml reads a q8_0 cache with its flash attention only.
	if opts.FlashAttention || kvType == ml.DTypeQ80 {
		params.FlashAttention = ml.FlashAttentionEnabled
	}
	mm, err := model.New(runPath, params)
	if err != nil {
		return nil, engine.Wrap(engine.CodeInvalidModel, err, "create model")
	}
	r.model = mm
	cache := mm.Config().Cache
	// A q8_0 cache keeps values in rows (as for flash attention) with an
	// F32 mask, which the attention kernels read; so does an f16 one where
	// the AVX-512 attention kernels run (ollama's layout for ggml's CPU
	// path, [cells, head size, kv heads], has the first token write into
	// every row of the whole value cache: 157 MB of 2B4T's at a 4096
	// context resident from the first message). Where ggml's attention
	// runs, it converts the values and the mask for itself.
	gm, isGraph := mm.(*graph.Model)
	rows := isGraph && (kvType == ml.DTypeQ80 || useKernel && level.AVX512() && kernel.HasAttention() && !opts.FlashAttention)
	if rows {
		cache.SetConfig(ml.CacheConfig{CachePadding: 256, MaskDType: ml.DTypeF32})
		gm.CacheConfigured = true
	}
	cache.Init(kvmem.Backend(mm.Backend(), rows), kvType, 1, ctxSize, BatchSize)
	if err := mm.Backend().Load(ctx, func(f float32) { progress(engine.StageLoading, float64(f)*0.9) }); err != nil {
		r.closeBackend()
		return nil, engine.Wrap(engine.CodeIO, err, "load weights")
	}
	useKernel = useKernel && isGraph
	if useKernel {
		// The kernels read ollama's ggml structures; if they cannot,
		// the weights stay in ggml's layout and ggml multiplies them.
		kctx := mm.Backend().NewContext()
		if err := kernel.Bind(kctx, gm.OutputNorm.Weight); err != nil {
			slog.Warn("ternary kernels disabled", "error", err)
			useKernel = false
		}
		kctx.Close()
	}
	packed, weights, level, err := fillTernary(mm.Backend(), runPath, rf, level, useKernel)
	r.weights, r.level = weights, level
	if err != nil {
		r.closeBackend()
		return nil, err
	}
	kernelName := "ggml"
	if useKernel && gm.UseKernels(level, func(name string) bool { _, ok := packed.Load(name); return ok }) > 0 {
		kernelName = level.String()
	}
	st, _ := os.Stat(runPath)
	r.info = engine.ModelInfo{
		Name: filepath.Base(path), Path: path, RunPath: runPath, Architecture: rspec.Arch,
		Family: string(rspec.Family), Chat: r.format != nil,
		Parameters: rspec.Parameters, ContextSize: ctxSize, Threads: threads,
		WeightType: rspec.Ternary.String(), EmbeddingType: rspec.Embedding.String(), Kernel: kernelName,
		KVCache: cmp.Or(opts.KVCacheType, "f16"),
	}
	if st != nil {
		r.info.SizeBytes = st.Size()
	}
	progress(engine.StageReady, 1)
	return r, nil
}

// kvCacheType parses LoadOptions.KVCacheType ("" is f16).
func kvCacheType(name string) (ml.DType, error) {
	switch name {
	case "", "f16":
		return ml.DTypeF16, nil
	case "q8_0":
		return ml.DTypeQ80, nil
	}
	return 0, engine.Errorf(engine.CodeInvalidRequest, nil, "unknown kv cache type %q (f16 or q8_0)", name)
}

// kernelNames maps the --kernel names to levels (each build has the
// levels of its architecture: kernel.Levels).
var kernelNames = map[string]kernel.Level{
	"avx2": kernel.AVX2, "avxvnni": kernel.AVXVNNI, "avx512": kernel.AVX512, "avx512-1.6bit": kernel.AVX512T5,
	"neon": kernel.NEON, "neon-dotprod": kernel.NEONDotProd,
}

// kernelLevel parses LoadOptions.Kernel. A level this CPU cannot run (one
// of the other architecture included) is refused, not run into SIGILL.
func kernelLevel(name string) (kernel.Level, bool, error) {
	switch name {
	case "", "auto":
		return kernel.Detect(), true, nil
	case "ggml":
		return 0, false, nil
	}
	l, ok := kernelNames[name]
	if !ok {
		return 0, false, engine.Errorf(engine.CodeInvalidRequest, nil, "unknown kernel %q (auto, avx2, avxvnni, avx512, avx512-1.6bit, neon, neon-dotprod or ggml)", name)
	}
	if !kernel.Supported(l) {
		return 0, false, engine.Errorf(engine.CodeInvalidRequest, nil, "this CPU cannot run the %v kernel (it runs: %s)", l, supportedKernels())
	}
	return l, true, nil
}

// supportedKernels lists the --kernel names this CPU runs.
func supportedKernels() string {
	var names []string
	for _, l := range kernel.Levels() {
		for n, nl := range kernelNames {
			if nl == l && kernel.Supported(l) {
				names = append(names, n)
			}
		}
	}
	return strings.Join(append(names, "ggml"), ", ")
}

// fillTernary writes the TQ2_0 and TQ1_0 tensors, which ollama's loader
// skips (its size table has no entry for these types), straight from the
// file. With pack, TQ2_0 tensors the ternary kernels can run are stored in
// the layout of level's kernels instead (kernel.Pack); it returns the names
// of those. A layout smaller than TQ2_0 (AVX512T5's) goes into weights of
// its own (returned; free them after the backend), the backend's tensors
// pointing there: their own memory is never written, so never resident.
// Without memory for them it falls back to AVX512's layout: it returns the
// level the weights are packed for.
func fillTernary(b ml.Backend, path string, f *gguf.File, level kernel.Level, pack bool) (*sync.Map, *kernel.Weights, kernel.Level, error) {
	var packed sync.Map
	var todo []gguf.TensorInfo
	for _, t := range f.Tensors {
		if t.Type == gguf.TypeTQ2_0 || t.Type == gguf.TypeTQ1_0 {
			if b.Get(t.Name) == nil {
				return nil, nil, level, engine.Errorf(engine.CodeInvalidModel, nil, "tensor %s was not created by the backend", t.Name)
			}
			todo = append(todo, t)
		}
	}
	own, weights, err := ownWeights(todo, level, pack)
	if err != nil {
		slog.Warn("the 1.6-bit layout falls back to 2 bits", "error", err)
		level = kernel.AVX512
	}
	// A few readers in parallel: the copy is bound by memory bandwidth.
	// Each reads into a buffer of its own, reused from tensor to tensor,
	// and packs (or copies) straight into the backend's memory when the
	// kernels can reach it: a GB of Go garbage less per load of 2B4T.
	var g errgroup.Group
	g.SetLimit(min(4, runtime.NumCPU()))
	var bufs sync.Pool
	for _, t := range todo {
		g.Go(func() error {
			fh, err := os.Open(path)
			if err != nil {
				return engine.Wrap(engine.CodeIO, err, "open converted model")
			}
			defer fh.Close()
			off, size := f.DataRange(t)
			bp, _ := bufs.Get().(*[]byte)
			if bp == nil || int64(cap(*bp)) < size {
				bp = new([]byte)
				*bp = make([]byte, size)
			}
			defer bufs.Put(bp)
			buf := (*bp)[:size]
			if _, err := io.ReadFull(io.NewSectionReader(fh, off, size), buf); err != nil {
				return engine.Wrap(engine.CodeIO, err, "read tensor %s", t.Name)
			}
			bt := b.Get(t.Name)
			mem := kernel.Memory(bt)
			if int64(len(mem)) != size {
				mem = nil
			}
			if pack && t.Type == gguf.TypeTQ2_0 && len(t.Shape) == 2 {
				m, k := int(t.Shape[1]), int(t.Shape[0])
				if dst, ok := own[t.Name]; ok && mem != nil {
					if kernel.PackInto(level, dst, buf, m, k) {
						if err := kernel.SetData(bt, dst); err != nil {
							return engine.Wrap(engine.CodeInternal, err, "tensor %s", t.Name)
						}
						// Nothing reads the backend's copy any more.
						pagemem.Release(mem, true)
						packed.Store(t.Name, true)
						return nil
					}
				} else if level != kernel.AVX512T5 {
					out := mem
					if out == nil {
						out = make([]byte, size)
					}
					if kernel.PackInto(level, out, buf, m, k) {
						packed.Store(t.Name, true)
						if mem == nil {
							bt.FromBytes(out)
						}
						return nil
					}
				}
			}
			if mem != nil {
				copy(mem, buf)
			} else {
				bt.FromBytes(buf)
			}
			return nil
		})
	}
	return &packed, weights, level, g.Wait()
}

// ownWeights allocates the weights of AVX512T5's layout for the TQ2_0
// tensors of todo, and returns each one's part by name (nil, nil at other
// levels or without pack).
func ownWeights(todo []gguf.TensorInfo, level kernel.Level, pack bool) (map[string][]byte, *kernel.Weights, error) {
	if !pack || level != kernel.AVX512T5 {
		return nil, nil, nil
	}
	offs := map[string][2]int{}
	total, slack := 0, 0
	for _, t := range todo {
		if t.Type != gguf.TypeTQ2_0 || len(t.Shape) != 2 {
			continue
		}
		m, k := int(t.Shape[1]), int(t.Shape[0])
		n := kernel.PackedSize(level, m, k)
		offs[t.Name] = [2]int{total, n}
		total += (n + 63) &^ 63
		// ggml may copy a whole tensor (its TQ2_0 size) from its
		// pointer: the last one's copy stays inside the allocation.
		slack = max(slack, m*k/256*66-n)
	}
	if total == 0 {
		return nil, nil, nil
	}
	w, err := kernel.AllocWeights(total + slack)
	if err != nil {
		return nil, nil, err
	}
	mem := w.Bytes()
	own := make(map[string][]byte, len(offs))
	for name, o := range offs {
		own[name] = mem[o[0] : o[0]+o[1] : o[0]+o[1]]
	}
	return own, w, nil
}

// ensureLibraryPath points ggml's backend loader (ollama reads
// OLLAMA_LIBRARY_PATH) at a folder of our own, so that the libraries of an
// installed Ollama (CUDA, ROCm, Vulkan backends) are never picked up, even
// when the user's environment sets OLLAMA_LIBRARY_PATH for Ollama. The
// folder is <exe>/lib/bitnet-desktop when it exists, else an empty folder
// in the temporary directory; BITNET_LIBRARY_PATH overrides it.
func ensureLibraryPath() {
	os.Setenv("OLLAMA_LIBRARY_PATH", libraryPath(os.Getenv("BITNET_LIBRARY_PATH")))
}

// libraryPath returns the folder ensureLibraryPath uses, creating the
// temporary one.
func libraryPath(override string) string {
	if override != "" {
		return override
	}
	dir := filepath.Join(os.TempDir(), "bitnet-desktop-lib")
	if exe, err := os.Executable(); err == nil {
		cand := filepath.Join(filepath.Dir(exe), "lib", "bitnet-desktop")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			dir = cand
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		slog.Debug("library path", "error", err)
	}
	return dir
}

func (r *Runner) closeBackend() {
	if r.model != nil {
		if c := r.model.Config().Cache; c != nil {
			c.Close()
		}
		r.model.Backend().Close()
		r.model = nil
	}
	// After the backend: its tensors point into these weights.
	r.weights.Free()
	r.weights = nil
}
