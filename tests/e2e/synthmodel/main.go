// Command synthmodel writes the synthetic model of the end-to-end test.
//
// The synth presets do not suit a UI test: with "small" (and "tiny") the
// input token's own embedding dominates, so every answer repeats the last
// token of the chat prompt, a space, and shows as an empty message; "flat"
// answers with varied text but stops after about a hundred tokens and runs
// at thousands of tokens per second in a 512-token context, too fast to
// watch an answer stream or to stop it. This one ("small" with 8 blocks, a
// wider feed-forward and an embedding in between) answers with visible text
// until the token limit, at about 400 tokens per second on one thread.
//
//	go run ./tests/e2e/synthmodel --out model.gguf
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/synth"
)

func main() {
	out := flag.String("out", "", "output file")
	heads := flag.Int("heads", 4, "attention heads (of 128 dimensions)")
	blocks := flag.Int("blocks", 8, "transformer blocks")
	ffn := flag.Int("ffn", 2048, "feed-forward size")
	embedStd := flag.Float64("embed-std", 0.3, "standard deviation of the embedding")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "synthmodel: --out is required")
		os.Exit(2)
	}
	c, err := synth.Preset("small")
	if err != nil {
		fmt.Fprintln(os.Stderr, "synthmodel:", err)
		os.Exit(1)
	}
	c.Arch = gguf.ArchBitNet
	c.Heads, c.Embd = *heads, *heads*128
	c.Blocks, c.FFN, c.EmbedStd, c.Seed = *blocks, *ffn, float32(*embedStd), *seed
	if err := synth.WriteFile(*out, c); err != nil {
		fmt.Fprintln(os.Stderr, "synthmodel:", err)
		os.Exit(1)
	}
	st, err := os.Stat(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "synthmodel:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s (%d bytes): embd %d, %d blocks, ffn %d, context %d, embedding std %g\n",
		*out, st.Size(), c.Embd, c.Blocks, c.FFN, c.Context, c.EmbedStd)
}
