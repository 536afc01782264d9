package tokenize

import (
	"slices"
	"sync"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
)

// withTokens is the hand vocabulary with extra tokens of the given types.
func withTokens(extra map[string]int32) spmVocab {
	v := handVocab()
	for _, name := range []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "<|user|>"} {
		if typ, ok := extra[name]; ok {
			v.tokens = append(v.tokens, name)
			v.scores = append(v.scores, 0)
			v.types = append(v.types, typ)
		}
	}
	return v
}

func TestStopTokens(t *testing.T) {
	idOf := func(v spmVocab, s string) int32 { return int32(slices.Index(v.tokens, s)) }
	tests := []struct {
		name    string
		extra   map[string]int32
		edit    func(b *gguf.Builder, v spmVocab)
		eot     string // text of the expected EOT, "" for -1
		stops   []string
		noStops []string
	}{
		{name: "none", eot: "", stops: []string{"</s>"}, noStops: []string{"<s>", "<pad>"}},
		{name: "eot_id", extra: map[string]int32{"<|eot_id|>": typeControl, "<|eom_id|>": typeControl},
			eot: "<|eot_id|>", stops: []string{"</s>", "<|eot_id|>", "<|eom_id|>"}},
		{name: "im_end user-defined", extra: map[string]int32{"<|im_end|>": typeUserDefined},
			eot: "<|im_end|>", stops: []string{"<|im_end|>"}},
		{name: "falcon3", extra: map[string]int32{"<|endoftext|>": typeControl, "<|user|>": typeControl},
			eot: "<|endoftext|>", stops: []string{"<|endoftext|>", "</s>"}, noStops: []string{"<|user|>"}},
		{name: "priority", extra: map[string]int32{"<|end|>": typeControl, "<end_of_turn>": typeControl, "<EOT>": typeControl},
			eot: "<|end|>", stops: []string{"<|end|>", "<end_of_turn>", "<EOT>"}},
		// A name that is a normal token is plain text, not a stop.
		{name: "normal type", extra: map[string]int32{"<|eot_id|>": typeNormal},
			eot: "", noStops: []string{"<|eot_id|>"}},
		{name: "eot_token_id", extra: map[string]int32{"<|eot_id|>": typeControl},
			edit: func(b *gguf.Builder, v spmVocab) { b.Add("tokenizer.ggml.eot_token_id", uint32(idOf(v, "<pad>"))) },
			eot:  "<pad>", stops: []string{"<pad>", "<|eot_id|>", "</s>"}},
		{name: "eom_token_id",
			edit: func(b *gguf.Builder, v spmVocab) { b.Add("tokenizer.ggml.eom_token_id", uint32(idOf(v, "</line>"))) },
			eot:  "", stops: []string{"</line>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := withTokens(tt.extra)
			var edit func(b *gguf.Builder)
			if tt.edit != nil {
				edit = func(b *gguf.Builder) { tt.edit(b, v) }
			}
			tok, _ := newSPMTokenizer(t, spmFile(t, v, edit))
			wantEOT := int32(-1)
			if tt.eot != "" {
				wantEOT = idOf(v, tt.eot)
			}
			if tok.EOT != wantEOT {
				t.Errorf("EOT %d, want %d (%q)", tok.EOT, wantEOT, tt.eot)
			}
			for _, s := range tt.stops {
				if !tok.IsStop(idOf(v, s)) {
					t.Errorf("IsStop(%q) = false", s)
				}
			}
			for _, s := range tt.noStops {
				if tok.IsStop(idOf(v, s)) {
					t.Errorf("IsStop(%q) = true", s)
				}
			}
		})
	}
}

func TestAddStopToken(t *testing.T) {
	for _, name := range []string{"spm", "bpe"} {
		t.Run(name, func(t *testing.T) {
			var tok *Tokenizer
			if name == "spm" {
				tok = loadHand(t, nil).tok // fresh: AddStopToken changes it
			} else {
				fx := load(t, 2000)
				var err error
				if tok, err = New(minimalFile(t, fx.v, true), fx.spec); err != nil {
					t.Fatal(err)
				}
			}
			id := int32(5)
			if tok.IsStop(id) {
				t.Fatal("id 5 is a stop already")
			}
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 200 {
						tok.AddStopToken(id + int32((g+i)%3))
						tok.IsStop(id)
					}
				}()
			}
			wg.Wait()
			for _, i := range []int32{id, id + 1, id + 2, tok.EOS} {
				if !tok.IsStop(i) {
					t.Errorf("IsStop(%d) = false after AddStopToken", i)
				}
			}
			tok.AddStopToken(-1)
			tok.AddStopToken(int32(tok.VocabSize()))
			if tok.IsStop(-1) || tok.IsStop(int32(tok.VocabSize())) {
				t.Error("ids outside the vocabulary became stops")
			}
		})
	}
	// The cached fixtures are untouched.
	if load(t, 2000).tok.IsStop(5) {
		t.Fatal("AddStopToken on a new tokenizer changed the fixture")
	}
}

func TestSpecials(t *testing.T) {
	fx := load(t, 2000)
	sp := fx.tok.Specials()
	if len(sp) != 256 || sp[0] != "<|begin_of_text|>" || sp[9] != "<|eot_id|>" {
		t.Fatalf("Specials() = %d texts, starting %q", len(sp), sp[:min(len(sp), 10)])
	}
	sp[0] = "changed"
	if fx.tok.Specials()[0] != "<|begin_of_text|>" {
		t.Fatal("Specials returned the tokenizer's own slice")
	}
	if !fx.tok.AddBOS {
		t.Fatal("AddBOS false for a file with add_bos_token true")
	}
}
