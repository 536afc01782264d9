package vocab

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func buildSPM(t *testing.T, size int, corpus string, extras bool) SPMVocab {
	t.Helper()
	v, err := BuildSPM(size, corpus, extras)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkSPM checks the layout BuildSPM documents.
func checkSPM(t *testing.T, v SPMVocab, size int, extras bool) {
	t.Helper()
	want := size
	if extras {
		want += len(SPMExtras)
	}
	if len(v.Tokens) != want || len(v.Scores) != want || len(v.Types) != want {
		t.Fatalf("%d tokens, %d scores, %d types, want %d", len(v.Tokens), len(v.Scores), len(v.Types), want)
	}
	if v.UNK != 0 || v.BOS != 1 || v.EOS != 2 {
		t.Fatalf("UNK %d BOS %d EOS %d", v.UNK, v.BOS, v.EOS)
	}
	fixed := []struct {
		tok string
		typ int32
	}{{"<unk>", TypeUnknown}, {"<s>", TypeControl}, {"</s>", TypeControl}}
	for id, f := range fixed {
		if v.Tokens[id] != f.tok || v.Types[id] != f.typ || v.Scores[id] != 0 {
			t.Fatalf("token %d = %q type %d score %v, want %q type %d score 0", id, v.Tokens[id], v.Types[id], v.Scores[id], f.tok, f.typ)
		}
	}
	for b := range 256 {
		id := SPMFirstByte + b
		if want := fmt.Sprintf("<0x%02X>", b); v.Tokens[id] != want || v.Types[id] != TypeByte || v.Scores[id] != 0 {
			t.Fatalf("token %d = %q type %d, want %q type %d", id, v.Tokens[id], v.Types[id], want, TypeByte)
		}
	}
	// LLaMA-2's ids of a few byte tokens.
	if v.Tokens[13] != "<0x0A>" || v.Tokens[35] != "<0x20>" || v.Tokens[258] != "<0xFF>" {
		t.Fatalf("byte tokens at 13, 35, 258: %q %q %q", v.Tokens[13], v.Tokens[35], v.Tokens[258])
	}
	seen := map[string]int{}
	for i, tok := range v.Tokens {
		if j, dup := seen[tok]; dup {
			t.Fatalf("token %q at %d and %d", tok, j, i)
		}
		seen[tok] = i
		if tok == "" || strings.ContainsAny(tok, " \t\n\r") || !utf8.ValidString(tok) {
			t.Fatalf("token %d %q is empty, has whitespace or is not UTF-8", i, tok)
		}
	}
	// Normal pieces: strictly decreasing scores, in id order.
	for id := SPMFirstPiece; id < size; id++ {
		if v.Types[id] != TypeNormal {
			t.Fatalf("piece %d %q has type %d", id, v.Tokens[id], v.Types[id])
		}
		if id > SPMFirstPiece && !(v.Scores[id] < v.Scores[id-1]) {
			t.Fatalf("piece %d %q score %v is not below the previous %v", id, v.Tokens[id], v.Scores[id], v.Scores[id-1])
		}
	}
	if v.Scores[SPMFirstPiece] != -1 {
		t.Fatalf("first piece's score %v, want -1", v.Scores[SPMFirstPiece])
	}
	// The characters are the last normal pieces, one character each.
	chars := map[string]bool{}
	for id := size - v.Chars; id < size; id++ {
		if utf8.RuneCountInString(v.Tokens[id]) != 1 {
			t.Fatalf("character piece %d %q is not one character", id, v.Tokens[id])
		}
		chars[v.Tokens[id]] = true
	}
	for r := '!'; r <= '~'; r++ {
		if !chars[string(r)] {
			t.Fatalf("no piece for %q", r)
		}
	}
	if !chars["▁"] {
		t.Fatal("no piece for ▁")
	}
	// Every learned piece joins two pieces that exist before it (learned
	// earlier, or characters), and no learned piece has a digit.
	earlier := map[string]bool{}
	for c := range chars {
		earlier[c] = true
	}
	for id := SPMFirstPiece; id < SPMFirstPiece+v.Learned; id++ {
		p := v.Tokens[id]
		if hasDigit(p) {
			t.Fatalf("learned piece %d %q has a digit", id, p)
		}
		ok := false
		for i := range p {
			if i > 0 && earlier[p[:i]] && earlier[p[i:]] {
				ok = true
				break
			}
		}
		if !ok {
			t.Fatalf("learned piece %d %q is not two earlier pieces", id, p)
		}
		earlier[p] = true
	}
	if extras {
		for i, x := range SPMExtras {
			id := size + i
			if v.Tokens[id] != x || v.Types[id] != TypeUserDefined || v.Scores[id] != ExtraScore {
				t.Fatalf("extra %d = %q type %d score %v", id, v.Tokens[id], v.Types[id], v.Scores[id])
			}
		}
	}
}

func TestBuildSPM(t *testing.T) {
	for _, tt := range []struct {
		size   int
		extras bool
	}{{32000, true}, {32000, false}, {2000, true}, {SPMFirstPiece + 200, false}} {
		t.Run(fmt.Sprintf("%d_%v", tt.size, tt.extras), func(t *testing.T) {
			v := buildSPM(t, tt.size, DefaultCorpus(), tt.extras)
			checkSPM(t, v, tt.size, tt.extras)
			t.Logf("%d learned pieces, %d characters", v.Learned, v.Chars)
		})
	}
	// 1bitLLM's size: 32000 + <pad> 32000 + </line> 32001.
	v := buildSPM(t, 32000, DefaultCorpus(), true)
	if len(v.Tokens) != 32002 || v.Tokens[32000] != "<pad>" || v.Tokens[32001] != "</line>" {
		t.Fatalf("%d tokens, extras %q", len(v.Tokens), v.Tokens[32000:])
	}
	if v.Learned < 1000 {
		t.Fatalf("only %d pieces learned", v.Learned)
	}
	has := map[string]bool{}
	for _, tok := range v.Tokens {
		has[tok] = true
	}
	// Frequent words become pieces; rare characters do not.
	for _, p := range []string{"▁the", "▁and", "▁de", "é", "ñ"} {
		if !has[p] {
			t.Errorf("no piece %q", p)
		}
	}
	for _, p := range []string{"🙂", "日", "🚀", "\t", "\n", " "} {
		if has[p] {
			t.Errorf("piece %q should be left to byte tokens", p)
		}
	}
}

func TestBuildSPMLearnsFrequentPairsFirst(t *testing.T) {
	v := buildSPM(t, 400, "aab aab aab xy", false)
	// Words ▁aab (3) and ▁xy (1). Pair counts: ▁a 3, aa 3, ab 3, ▁x 1,
	// xy 1. Ties go to the smaller left piece, then right: "aa" < "ab" <
	// "▁a" (U+2581 sorts after ASCII).
	got := v.Tokens[SPMFirstPiece : SPMFirstPiece+4]
	want := []string{"aa", "aab", "▁aab", "xy"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("first pieces %q, want %q", got, want)
	}
}

func TestBuildSPMSizes(t *testing.T) {
	if _, err := BuildSPM(SPMFirstPiece+10, DefaultCorpus(), true); err == nil {
		t.Fatal("a size without room for the characters was accepted")
	}
	if _, err := BuildSPM(1<<23, DefaultCorpus(), false); err == nil {
		t.Fatal("an absurd size was accepted")
	}
	// Exactly the fixed tokens and the characters: nothing learned.
	chars := buildSPM(t, 32000, DefaultCorpus(), false).Chars
	v := buildSPM(t, SPMFirstPiece+chars, DefaultCorpus(), false)
	if v.Learned != 0 || v.Chars != chars {
		t.Fatalf("learned %d, chars %d", v.Learned, v.Chars)
	}
	checkSPM(t, v, SPMFirstPiece+chars, false)
}

func TestBuildSPMDeterminism(t *testing.T) {
	a := buildSPM(t, 32000, DefaultCorpus(), true)
	b := buildSPM(t, 32000, DefaultCorpus(), true)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("BuildSPM differs between runs")
	}
	c := buildSPM(t, 32000, DefaultCorpus()+" zebra zebra zebra zebra zebra", true)
	if reflect.DeepEqual(a.Tokens, c.Tokens) {
		t.Fatal("a different corpus gave the same pieces")
	}
}
