package tokenize

import (
	"fmt"
	"maps"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
)

// eotNames are the texts llama.cpp takes for the end-of-turn token when the
// file names none, in the order tried here (llama.cpp walks a hash map, so
// its pick among several is unspecified). eogNames adds the texts that also
// end generation. Source: src/llama.cpp llm_load_vocab of bitnet.cpp's
// llama.cpp fork ("auto-detect special tokens by text" and
// special_eog_ids).
var (
	eotNames = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>"}
	eogNames = append(append([]string(nil), eotNames...), "<|eom_id|>")
)

// findStops sets EOT and the stop tokens (see New).
func (t *Tokenizer) findStops(f *gguf.File, tokens []string, types []int32, hasTypes bool) error {
	index := make(map[string]int32, len(eogNames))
	for _, name := range eogNames {
		index[name] = -1
	}
	for i, tok := range tokens {
		if id, ok := index[tok]; ok && id < 0 && (!hasTypes || types[i] == typeControl || types[i] == typeUserDefined) {
			index[tok] = int32(i)
		}
	}
	stops := map[int32]bool{t.EOS: true}
	for _, name := range eogNames {
		if id := index[name]; id >= 0 {
			stops[id] = true
		}
	}
	keyID := func(key string) (int32, bool, error) {
		v, ok := f.Uint(key)
		if !ok {
			return -1, false, nil
		}
		if v >= uint64(len(tokens)) {
			return -1, false, fmt.Errorf("tokenize: %s = %d is outside the vocabulary of %d tokens", key, v, len(tokens))
		}
		return int32(v), true, nil
	}
	eot, ok, err := keyID("tokenizer.ggml.eot_token_id")
	if err != nil {
		return err
	}
	if !ok {
		for _, name := range eotNames {
			if id := index[name]; id >= 0 {
				eot = id
				break
			}
		}
	}
	t.EOT = eot
	if eot >= 0 {
		stops[eot] = true
	}
	eom, ok, err := keyID("tokenizer.ggml.eom_token_id")
	if err != nil {
		return err
	}
	if ok {
		stops[eom] = true
	}
	t.stops.Store(&stops)
	return nil
}

// AddStopToken makes id a stop token (IsStop), such as the end-of-turn
// token of a chat template. Ids outside the vocabulary are ignored. It may
// be called while other goroutines use the tokenizer.
func (t *Tokenizer) AddStopToken(id int32) {
	if id < 0 || int(id) >= t.vocab {
		return
	}
	for {
		old := t.stops.Load()
		if (*old)[id] {
			return
		}
		stops := maps.Clone(*old)
		stops[id] = true
		if t.stops.CompareAndSwap(old, &stops) {
			return
		}
	}
}
