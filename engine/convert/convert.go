// Package convert turns a published ternary model (I2_S, TQ1_0 or TQ2_0
// weights, any supported family) into the GGUF the engine runs: the
// ternary codes are copied bit for bit into TQ2_0 blocks (or Q2_K on
// request; Q8_0 for rows that are not whole 256-element blocks) and the
// embedding and output matrices are re-quantized (Q6_K by default). It
// streams tensor by tensor with bounded memory, writes to a temporary file
// and renames it into place.
package convert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml/backend/ggml"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/ternary"
)

// Version is written into converted files; bump it when the output changes
// so that cached conversions are redone. 2: every family; Q8_0 for rows
// that are not whole blocks; TQ1_0/TQ2_0 sources.
const Version = 2

// Options selects the output types.
type Options struct {
	Weights   string // "tq2_0" (default) or "q2_k"
	Embedding string // "q6_k" (default), "q8_0" or "f16"
	Threads   int    // for quantizing the embedding; 0 = all CPUs
	Progress  func(fraction float64)
}

func (o Options) types() (w, e gguf.TensorType, err error) {
	switch strings.ToLower(o.Weights) {
	case "", "tq2_0":
		w = gguf.TypeTQ2_0
	case "q2_k":
		w = gguf.TypeQ2_K
	case "tq1_0":
		w = gguf.TypeTQ1_0
	default:
		return 0, 0, engine.Errorf(engine.CodeInvalidRequest, map[string]any{"weights": o.Weights},
			"unknown weight type %q (use tq2_0, tq1_0 or q2_k)", o.Weights)
	}
	switch strings.ToLower(o.Embedding) {
	case "", "q6_k":
		e = gguf.TypeQ6_K
	case "q8_0":
		e = gguf.TypeQ8_0
	case "f16":
		e = gguf.TypeF16
	case "q5_k":
		e = gguf.TypeQ5_K
	case "q4_k":
		e = gguf.TypeQ4_K
	default:
		return 0, 0, engine.Errorf(engine.CodeInvalidRequest, map[string]any{"embedding": o.Embedding},
			"unknown embedding type %q (use q6_k, q8_0, f16, q5_k or q4_k)", o.Embedding)
	}
	return w, e, nil
}

// File converts the official model at src into dst.
func File(ctx context.Context, src, dst string, opts Options) error {
	if _, _, err := opts.types(); err != nil {
		return err
	}
	f, spec, err := open(src)
	if err != nil {
		return err
	}
	if spec.Converted {
		return engine.Errorf(engine.CodeInvalidRequest, nil, "%s is already converted", filepath.Base(src))
	}
	id, err := SourceID(src, f)
	if err != nil {
		return err
	}
	return write(ctx, src, f, spec, id, dst, opts)
}

// open reads and checks a model file.
func open(src string) (*gguf.File, *gguf.Spec, error) {
	f, spec, err := gguf.OpenModel(src)
	if err != nil {
		return nil, nil, engine.Wrap(engine.CodeInvalidModel, err, "%s is not a usable model", filepath.Base(src))
	}
	return f, spec, nil
}

// write converts the checked official file f (at src, identified by id)
// into dst.
func write(ctx context.Context, src string, f *gguf.File, spec *gguf.Spec, id, dst string, opts Options) error {
	wt, et, err := opts.types()
	if err != nil {
		return err
	}
	b, err := plan(f, spec, wt, et, id)
	if err != nil {
		return err
	}
	if err := checkSpace(filepath.Dir(dst), b); err != nil {
		return err
	}

	in, err := os.Open(src)
	if err != nil {
		return engine.Wrap(engine.CodeIO, err, "open source model")
	}
	defer in.Close()

	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return wrapIO(err, "create converted file")
	}
	defer os.Remove(tmp.Name()) // no-op after the rename

	c := &converter{in: in, f: f, spec: spec, threads: opts.Threads, ctx: ctx}
	var total, done int64
	for _, t := range f.Tensors {
		total += int64(t.Size)
	}
	err = b.Write(tmp, func(i int, out gguf.TensorInfo, w io.Writer) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		srcT := f.Tensors[i]
		if err := c.tensor(srcT, out, w); err != nil {
			return err
		}
		done += int64(srcT.Size)
		if opts.Progress != nil {
			opts.Progress(float64(done) / float64(total))
		}
		return nil
	})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return engine.Wrap(engine.CodeCancelled, err, "conversion cancelled")
		}
		var ee *engine.Error
		if errors.As(err, &ee) {
			return err
		}
		return wrapIO(err, "write converted model")
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return wrapIO(err, "rename converted model")
	}
	return nil
}

func wrapIO(err error, what string) error {
	if errors.Is(err, syscall.ENOSPC) {
		return engine.Wrap(engine.CodeDiskFull, err, "%s: the disk is full", what)
	}
	return engine.Wrap(engine.CodeIO, err, "%s", what)
}

// plan builds the output header: the source metadata plus ours, the same
// tensors in the same order with the new types. A tied embedding is named
// output.weight so that ollama's backend keeps a single copy of it.
func plan(f *gguf.File, spec *gguf.Spec, wt, et gguf.TensorType, id string) (*gguf.Builder, error) {
	b := &gguf.Builder{}
	for _, kv := range f.KVs {
		switch kv.Key {
		case "general.file_type", "general.alignment", gguf.KeyConverterVersion, gguf.KeySourceID:
			continue
		}
		b.KVs = append(b.KVs, kv)
	}
	ftype := map[gguf.TensorType]uint32{gguf.TypeTQ2_0: 37, gguf.TypeTQ1_0: 36, gguf.TypeQ2_K: 10}[wt] // llama.cpp's file types
	b.Add("general.file_type", ftype)
	b.Add(gguf.KeyConverterVersion, uint32(Version))
	b.Add(gguf.KeySourceID, id)
	for _, t := range f.Tensors {
		name, typ := t.Name, t.Type
		switch {
		case gguf.IsNorm(t.Name) || strings.HasSuffix(t.Name, ".scale"):
			typ = gguf.TypeF32
		case t.Name == "token_embd.weight" || t.Name == "output.weight":
			typ = et
			if t.Name == "token_embd.weight" && !spec.Untied {
				name = "output.weight"
			}
		default:
			typ = ternaryType(t, wt)
		}
		if err := b.AddTensor(name, typ, t.Shape...); err != nil {
			return nil, engine.Wrap(engine.CodeInvalidModel, err, "plan conversion")
		}
	}
	return b, nil
}

// ternaryType is the type a ternary tensor is written as: wt for rows of
// whole 256-element blocks (wt other than TQ2_0 only from I2_S, where the
// codes map onto it directly), else Q8_0, which holds ternary values exactly
// in blocks of 32.
func ternaryType(t gguf.TensorInfo, wt gguf.TensorType) gguf.TensorType {
	switch {
	case t.Shape[0]%ternary.BlockElems != 0:
		return gguf.TypeQ8_0
	case t.Type != gguf.TypeI2_S:
		return gguf.TypeTQ2_0
	}
	return wt
}

type converter struct {
	ctx     context.Context
	in      *os.File
	f       *gguf.File
	spec    *gguf.Spec
	threads int
}

func (c *converter) read(t gguf.TensorInfo, off, n int64) ([]byte, error) {
	start, size := c.f.DataRange(t)
	if off+n > size {
		return nil, fmt.Errorf("read past tensor %s", t.Name)
	}
	buf := make([]byte, n)
	if _, err := c.in.ReadAt(buf, start+off); err != nil {
		return nil, fmt.Errorf("read tensor %s: %w", t.Name, err)
	}
	return buf, nil
}

func (c *converter) tensor(src, out gguf.TensorInfo, w io.Writer) error {
	switch {
	case src.Type == gguf.TypeI2_S:
		n := int(src.Elements())
		raw, err := c.read(src, 0, int64(src.Size))
		if err != nil {
			return err
		}
		scale, err := ternary.I2SScale(raw, n)
		if err != nil {
			return engine.Wrap(engine.CodeInvalidModel, err, "tensor %s", src.Name)
		}
		dst := make([]byte, out.Size)
		switch out.Type {
		case gguf.TypeQ2_K:
			ternary.ToQ2K(dst, raw[:n/4], scale)
		case gguf.TypeQ8_0:
			vals := make([]int8, n)
			ternary.DecodeI2S(vals, raw[:n/4])
			ternary.ToQ8_0(dst, vals, ternary.F16(scale))
		case gguf.TypeTQ1_0:
			// Base-3 packing: ggml's own quantizer, fed the exact values
			// (every block's absmax is the scale, so every code survives).
			vals := make([]int8, n)
			ternary.DecodeI2S(vals, raw[:n/4])
			f := make([]float32, n)
			for i, v := range vals {
				f[i] = float32(v) * scale
			}
			q := ggml.Quantize(fsggml.TensorType(out.Type), f, src.Shape)
			if len(q) != len(dst) {
				return fmt.Errorf("quantizing %s to tq1_0 gave %d bytes, want %d", src.Name, len(q), len(dst))
			}
			dst = q
		default:
			ternary.ToTQ2_0(dst, raw[:n/4], scale)
		}
		_, err = w.Write(dst)
		return err
	case (src.Type == gguf.TypeTQ1_0 || src.Type == gguf.TypeTQ2_0) && out.Type == gguf.TypeTQ2_0:
		raw, err := c.read(src, 0, int64(src.Size))
		if err != nil {
			return err
		}
		dst := raw
		if src.Type == gguf.TypeTQ1_0 {
			dst = make([]byte, out.Size)
			ternary.TQ1_0ToTQ2_0(dst, raw)
		}
		// Blocks of zeros get the common scale, so the kernels can take a
		// tensor whose other blocks share one (llama.cpp writes 0 there).
		ternary.UnifyTQ2_0Scales(dst)
		_, err = w.Write(dst)
		return err
	case src.Type == out.Type:
		// Copy in bounded pieces.
		const piece = 8 << 20
		for off := int64(0); off < int64(src.Size); off += piece {
			buf, err := c.read(src, off, min(piece, int64(src.Size)-off))
			if err != nil {
				return err
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	default:
		return c.quantize(src, out, w)
	}
}

// quantize converts a float matrix (f16, bf16 or f32) to out.Type with
// ggml's own quantizer, a band of rows at a time, bands in parallel.
func (c *converter) quantize(src, out gguf.TensorInfo, w io.Writer) error {
	cols, rows := int64(src.Shape[0]), int64(src.Shape[1])
	inRow := int64(src.Size) / rows
	outRow := int64(out.Size) / rows
	const band = 256
	threads := c.threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	type job struct {
		r0, n int64
		res   chan []byte
		err   chan error
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				raw, err := c.read(src, j.r0*inRow, j.n*inRow)
				if err != nil {
					j.err <- err
					continue
				}
				f32 := ggml.ConvertToF32(raw, uint32(src.Type), uint64(j.n*cols))
				var q []byte
				if out.Type == gguf.TypeF32 {
					q = f32Bytes(f32)
				} else {
					q = ggml.Quantize(fsggml.TensorType(out.Type), f32, []uint64{uint64(cols), uint64(j.n)})
				}
				if int64(len(q)) != j.n*outRow {
					j.err <- fmt.Errorf("quantizing %s gave %d bytes, want %d", src.Name, len(q), j.n*outRow)
					continue
				}
				j.res <- q
			}
		}()
	}
	// Keep a window of bands in flight; write them in order.
	var pending []job
	var werr error
	flush := func(j job) {
		select {
		case q := <-j.res:
			if werr == nil {
				_, werr = w.Write(q)
			}
		case err := <-j.err:
			if werr == nil {
				werr = err
			}
		}
	}
	for r := int64(0); r < rows && werr == nil; r += band {
		if err := c.ctx.Err(); err != nil {
			werr = err
			break
		}
		j := job{r0: r, n: min(band, rows-r), res: make(chan []byte, 1), err: make(chan error, 1)}
		jobs <- j
		pending = append(pending, j)
		if len(pending) > threads {
			flush(pending[0])
			pending = pending[1:]
		}
	}
	close(jobs)
	for _, j := range pending {
		flush(j)
	}
	wg.Wait()
	return werr
}

func f32Bytes(f []float32) []byte {
	out := make([]byte, 0, len(f)*4)
	for _, v := range f {
		u := math.Float32bits(v)
		out = append(out, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return out
}

// SourceID identifies a source file cheaply: its size, its whole header and
// 64 KiB samples every 64 MiB of tensor data.
func SourceID(path string, f *gguf.File) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", engine.Wrap(engine.CodeIO, err, "open model")
	}
	defer fh.Close()
	h := sha256.New()
	fmt.Fprintf(h, "size=%d;", f.Size)
	if _, err := io.Copy(h, io.NewSectionReader(fh, 0, int64(f.DataOffset))); err != nil {
		return "", engine.Wrap(engine.CodeIO, err, "read model header")
	}
	buf := make([]byte, 64<<10)
	for off := int64(f.DataOffset); off < f.Size; off += 64 << 20 {
		n, err := fh.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return "", engine.Wrap(engine.CodeIO, err, "read model")
		}
		h.Write(buf[:n])
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
