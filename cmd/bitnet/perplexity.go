package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// cmdPerplexity scores a text the way llama.cpp's perplexity tool does:
// chunks of --ctx tokens, each starting with BOS, scored on their second
// half. With the real model, wikitext-2 gives about 17.1 for the correct
// graph and about 100 for a SiLU graph.
func cmdPerplexity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("perplexity", stderr)
	var lf loadFlags
	lf.register(fs)
	file := fs.String("file", "", "text file")
	maxChunks := fs.Int("chunks", 0, "score at most this many chunks (0 = all)")
	if err := parse(fs, args); err != nil {
		return err
	}
	// Here --ctx is the chunk length (llama.cpp's -c), default 512; the
	// model keeps its own context size.
	chunkSize := 512
	if lf.ctx > 0 {
		chunkSize, lf.ctx = lf.ctx, 0
	}
	if *file == "" {
		return engine.Errorf(engine.CodeInvalidRequest, nil, "--file is required")
	}
	text, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("read text: %w", err)
	}
	m, _, err := lf.load(ctx, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	if chunkSize < 16 || chunkSize > m.Info().ContextSize {
		return engine.Errorf(engine.CodeInvalidRequest, nil, "--ctx (the chunk length) must be between 16 and %d", m.Info().ContextSize)
	}
	ids, err := m.Tokenizer().EncodePlain(string(text))
	if err != nil {
		return err
	}
	n := len(ids) / chunkSize
	if *maxChunks > 0 && n > *maxChunks {
		n = *maxChunks
	}
	if n == 0 {
		return engine.Errorf(engine.CodeInvalidRequest, nil, "the text has %d tokens, fewer than one chunk of %d", len(ids), chunkSize)
	}
	start := time.Now()
	var nll float64
	var count int
	for c := 0; c < n; c++ {
		chunk := append([]int32(nil), ids[c*chunkSize:(c+1)*chunkSize]...)
		chunk[0] = m.Tokenizer().BOS
		rows, err := m.Logits(ctx, chunk)
		if err != nil {
			return err
		}
		for i := chunkSize / 2; i < chunkSize-1; i++ {
			nll += -logSoftmax(rows[i], chunk[i+1])
			count++
		}
		fmt.Fprintf(stderr, "[%d/%d] ppl so far %.4f\n", c+1, n, math.Exp(nll/float64(count)))
	}
	fmt.Fprintf(stdout, "perplexity %.4f over %d tokens (%d chunks of %d) in %.1fs\n", math.Exp(nll/float64(count)), count, n, chunkSize, time.Since(start).Seconds())
	return nil
}

func logSoftmax(logits []float32, target int32) float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	return float64(logits[target]) - mx - math.Log(sum)
}
