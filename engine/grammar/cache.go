package grammar

import (
	"math/bits"
	"sync"
)

// lexKey identifies the lexical state of a string frame: everything that
// decides which tokens stay inside the string and where the others close it.
// Free strings are all keyed with freeStrSpec (their length bounds are
// applied when the entry is used), so their entries live in the Vocab and
// serve every grammar; the entries of strings with a DFA live in the
// grammar.
type lexKey struct {
	spec *strSpec
	i    int32 // DFA state
	e    uint16
}

// lexEntry is the token partition of one lexical state.
type lexEntry struct {
	dense  []uint64    // tokens read entirely inside the string (bitset), or
	sparse []int32     // the same as a list when there are few
	exits  []exitGroup // by key label

	// Free strings only, for length-bounded ones: the exits also grouped by
	// the number of code points before the closing quote, and the tokens of
	// dense by decreasing number of code points, so that those that do not
	// fit can be dropped.
	exitsByChars []exitGroup
	byChars      []int32
	charsOf      []uint16 // code points of byChars[i]
	maxChars     int
}

// exitGroup holds the tokens that close the string with a given key label
// (and, for free strings, a given number of code points before the closing
// quote): tails is the trie of what follows the quote in each of them.
type exitGroup struct {
	label int32
	chars int32
	tails trie
}

type lexCache struct {
	mu  sync.Mutex
	m   map[lexKey]*lexEntry
	max int
}

func newLexCache(max int) *lexCache {
	return &lexCache{m: map[lexKey]*lexEntry{}, max: max}
}

// maxGrammarCache bounds the cached string states of one grammar and vocab.
const maxGrammarCache = 512

// countingNode reads free strings while counting their code points (in
// frame.j); entries of free strings are built with it.
var countingNode = &node{kind: kString, str: &strSpec{max: 1 << 30}, done: true}

// lexEntry returns the (cached) token partition for string frame f. Free
// strings, bounded or not, share the vocabulary's entries: they depend only
// on the escape and UTF-8 state.
func (m *Matcher) lexEntry(f *frame) *lexEntry {
	sp := f.n.str
	k := lexKey{spec: sp, i: f.i, e: f.e}
	cache := m.gcache
	g := *f
	if sp.dfa == nil {
		k.spec = freeStrSpec
		cache = m.v.cache
		g.n, g.j = countingNode, 0
	}
	cache.mu.Lock()
	e := cache.m[k]
	cache.mu.Unlock()
	if e != nil {
		return e
	}
	e = buildLexEntry(m.v, g)
	cache.mu.Lock()
	if len(cache.m) < cache.max {
		cache.m[k] = e
	}
	cache.mu.Unlock()
	return e
}

// buildLexEntry walks the whole vocabulary trie with the string frame alone.
func buildLexEntry(v *Vocab, f frame) *lexEntry {
	t := &v.trie
	counting := f.n == countingNode
	// Per depth, the scalar part of the frame (no pointer: no write
	// barrier on the hot path).
	type lexState struct {
		i, j int32
		e    uint16
		st   uint8
	}
	lev := make([]lexState, v.maxLen+1)
	lev[0] = lexState{f.i, f.j, f.e, f.st}
	dense := make([]uint64, (v.n+63)/64)
	var chars []uint16 // per token id, when counting
	if counting {
		chars = make([]uint16, v.n)
	}
	ninside := 0
	type group struct{ label, chars int32 }
	exits := map[group][]trieEntry{}
	var groups []group
	for i := 1; i < len(t.b); {
		d := int(t.depth[i])
		p := lev[d-1]
		g := frame{n: f.n, i: p.i, j: p.j, e: p.e, st: p.st}
		act, label := strStep(&g, t.b[i])
		switch act {
		case actOK:
			lev[d] = lexState{g.i, g.j, g.e, g.st}
			for _, id := range t.ids[t.tokOff[i]:t.tokOff[i+1]] {
				dense[id>>6] |= 1 << (id & 63)
				if counting {
					chars[id] = uint16(g.j)
				}
				ninside++
			}
			i++
		case actPop:
			k := group{label, -1}
			if counting {
				k.chars = g.j
			}
			if _, ok := exits[k]; !ok {
				groups = append(groups, k)
			}
			end := int(t.skip[i])
			for x := i; x < end; x++ {
				for _, id := range t.ids[t.tokOff[x]:t.tokOff[x+1]] {
					exits[k] = append(exits[k], trieEntry{v.toks[id][d:], id})
				}
			}
			i = end
		default:
			i = int(t.skip[i])
		}
	}
	e := &lexEntry{dense: dense}
	if ninside <= v.n/64 {
		e.dense = nil
		e.sparse = bitsToIDs(dense, make([]int32, 0, ninside))
	}
	if counting {
		// The inside tokens by decreasing number of code points (counting
		// sort).
		top := 0
		for id := range chars {
			top = max(top, int(chars[id]))
		}
		pos := make([]int, top+2)
		ids := e.sparse // read only here
		if ids == nil {
			ids = bitsToIDs(dense, make([]int32, 0, ninside))
		}
		for _, id := range ids {
			pos[top-int(chars[id])+1]++
		}
		for i := 1; i < len(pos); i++ {
			pos[i] += pos[i-1]
		}
		e.byChars = make([]int32, len(ids))
		e.charsOf = make([]uint16, len(ids))
		for _, id := range ids {
			p := &pos[top-int(chars[id])]
			e.byChars[*p], e.charsOf[*p] = id, chars[id]
			*p++
		}
		e.maxChars = top
	}
	merged := map[int32][]trieEntry{}
	var labels []int32
	for _, k := range groups {
		if counting {
			e.exitsByChars = append(e.exitsByChars, exitGroup{label: k.label, chars: k.chars, tails: buildTrie(exits[k])})
		}
		if _, ok := merged[k.label]; !ok {
			labels = append(labels, k.label)
		}
		merged[k.label] = append(merged[k.label], exits[k]...)
	}
	for _, l := range labels {
		e.exits = append(e.exits, exitGroup{label: l, chars: -1, tails: buildTrie(merged[l])})
	}
	return e
}

// bitsToIDs appends the ids of the set bits.
func bitsToIDs(set []uint64, ids []int32) []int32 {
	for w, x := range set {
		for x != 0 {
			ids = append(ids, int32(w*64+bits.TrailingZeros64(x)))
			x &= x - 1
		}
	}
	return ids
}
