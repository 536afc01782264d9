package grammar

import (
	"bytes"
	"slices"
)

// Vocab is a model's vocabulary as byte strings, prepared once per model and
// shared read-only by all matchers (safe for concurrent use). It holds the
// tokens in a byte trie laid out in depth-first order, so that Mask can walk
// it with the parser state and skip a whole subtree on the first rejected
// byte, and a cache of token classes for free-string states shared by every
// grammar.
type Vocab struct {
	n      int
	toks   [][]byte // nil for special and empty tokens
	trie   trie
	maxLen int
	cache  *lexCache
}

// NewVocab builds a Vocab (about 0.1 s and 12 MB for 128k tokens). tokens[id]
// is the text token id adds to the output in the middle of a generation, as
// bytes: byte-level BPE decoded ("Ġthe" as " the"), SentencePiece with its
// leading space ("▁the" as " the") and byte tokens as their byte ("<0x0A>" as
// "\n"), which is what engine/tokenize's Stream emits. special reports
// control tokens (such as <|eot_id|>, tokenize's IsControl); they are never
// allowed inside the JSON (nor are empty tokens), so Mask never sets them:
// the caller ends the turn (see Matcher.Complete). special may be nil.
func NewVocab(tokens [][]byte, special func(id int) bool) *Vocab {
	v := &Vocab{n: len(tokens), toks: make([][]byte, len(tokens)), cache: newLexCache(256)}
	var entries []trieEntry
	size := 0
	for _, t := range tokens {
		size += len(t)
	}
	buf := make([]byte, 0, size) // one copy of all the token bytes
	for id, t := range tokens {
		if len(t) == 0 || len(t) > maxTokenLen || special != nil && special(id) {
			continue
		}
		buf = append(buf, t...)
		t = buf[len(buf)-len(t) : len(buf) : len(buf)]
		v.toks[id] = t
		v.maxLen = max(v.maxLen, len(t))
		entries = append(entries, trieEntry{t, int32(id)})
	}
	v.trie = buildTrie(entries)
	return v
}

// maxTokenLen bounds the tokens a Vocab allows (trie depths are 16-bit);
// real vocabularies stay far below it.
const maxTokenLen = 4096

// Len returns the number of token ids (the Mask covers ids 0..Len()-1).
func (v *Vocab) Len() int { return v.n }

// token returns the bytes of token id, or nil when it can never be allowed.
func (v *Vocab) token(id int32) []byte {
	if id < 0 || int(id) >= v.n {
		return nil
	}
	return v.toks[id]
}

// trie is a byte trie in depth-first (pre-)order. Node 0 is the root; node i
// > 0 is reached by byte b[i] from its parent, lies at depth[i], and its
// subtree ends before node skip[i]. The tokens spelled by the path to node i
// are ids[tokOff[i]:tokOff[i+1]].
type trie struct {
	b      []byte
	depth  []uint16
	skip   []int32
	tokOff []int32
	ids    []int32
}

type trieEntry struct {
	s  []byte
	id int32
}

func buildTrie(entries []trieEntry) trie {
	slices.SortFunc(entries, func(a, b trieEntry) int {
		if c := bytes.Compare(a.s, b.s); c != 0 {
			return c
		}
		return int(a.id - b.id)
	})
	t := trie{b: []byte{0}, depth: []uint16{0}, skip: []int32{0}}
	counts := []int32{0}
	path := []int32{0}
	closeTo := func(depth int) {
		for len(path)-1 > depth {
			t.skip[path[len(path)-1]] = int32(len(t.b))
			path = path[:len(path)-1]
		}
	}
	for _, e := range entries {
		lcp := 0
		for lcp < len(path)-1 && lcp < len(e.s) && t.b[path[lcp+1]] == e.s[lcp] {
			lcp++
		}
		closeTo(lcp)
		for k := lcp; k < len(e.s); k++ {
			path = append(path, int32(len(t.b)))
			t.b = append(t.b, e.s[k])
			t.depth = append(t.depth, uint16(k+1))
			t.skip = append(t.skip, 0)
			counts = append(counts, 0)
		}
		counts[path[len(path)-1]]++
		t.ids = append(t.ids, e.id)
	}
	closeTo(0)
	t.skip[0] = int32(len(t.b))
	t.tokOff = make([]int32, len(t.b)+1)
	for i, c := range counts {
		t.tokOff[i+1] = t.tokOff[i] + c
	}
	return t
}

// setTokens sets the bits of the tokens ending at node i.
func (t *trie) setTokens(i int, dst []uint64) {
	for _, id := range t.ids[t.tokOff[i]:t.tokOff[i+1]] {
		dst[id>>6] |= 1 << (id & 63)
	}
}
