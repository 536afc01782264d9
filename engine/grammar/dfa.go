package grammar

import (
	"encoding/binary"
	"errors"
	"slices"
	"sync"
)

// This file holds the byte automata used for string contents: a Thompson NFA
// built by the regex, literal and key compilers, its determinisation, and the
// products used to intersect constraints (pattern ∩ format ∩ enum ∩ length).
//
// A string's DFA runs over the bytes of the decoded string value: a raw
// character feeds its UTF-8 bytes, an escape such as \n feeds the byte it
// stands for. Every DFA handed to the matcher is trimmed: each state can reach
// an accepting state using only bytes a JSON string can hold, so the matcher
// never enters a string it cannot finish.

// errTooComplex is returned when an automaton exceeds its size budget.
var errTooComplex = errors.New("automaton too large")

// maxDFAStates bounds every determinisation and product.
const maxDFAStates = 50000

// maxNFAStates bounds the NFA built from one pattern.
const maxNFAStates = 200000

type nedge struct {
	lo, hi byte
	to     int32
}

type nstate struct {
	edges []nedge
	eps   []int32
	label int32 // accepting with this label when >= 0
}

type nfa struct {
	states []nstate
	err    error
}

func (a *nfa) newState() int32 {
	if len(a.states) >= maxNFAStates {
		a.err = errTooComplex
	}
	a.states = append(a.states, nstate{label: -1})
	return int32(len(a.states) - 1)
}

func (a *nfa) edge(from int32, lo, hi byte, to int32) {
	a.states[from].edges = append(a.states[from].edges, nedge{lo, hi, to})
}

func (a *nfa) eps(from, to int32) {
	a.states[from].eps = append(a.states[from].eps, to)
}

// frag is an NFA fragment with one entry and one exit state.
type frag struct{ in, out int32 }

// literal returns a fragment matching exactly the bytes s.
func (a *nfa) literal(s []byte) frag {
	in := a.newState()
	cur := in
	for _, c := range s {
		nx := a.newState()
		a.edge(cur, c, c, nx)
		cur = nx
	}
	return frag{in, cur}
}

// dfa is a deterministic automaton over bytes with byte classes.
type dfa struct {
	class  [256]uint8
	nclass int
	next   []int32 // next[s*nclass+class], -1 = dead
	label  []int32 // per state: >= 0 accepting (with that label), -1 not
	start  int32

	// Derived by finishString:
	esc  []uint8 // per state: bit i set when escape escChars[i] is usable
	dist []int32 // per state: fewest JSON bytes to reach an accepting state
}

func (d *dfa) states() int { return len(d.label) }

func (d *dfa) step(s int32, b byte) int32 {
	return d.next[int(s)*d.nclass+int(d.class[b])]
}

func (d *dfa) accepting(s int32) bool { return d.label[s] >= 0 }

// determinize runs the subset construction from NFA state start.
func (a *nfa) determinize(start int32) (*dfa, error) {
	if a.err != nil {
		return nil, a.err
	}
	// Byte classes: bytes no edge tells apart share a class.
	var cut [257]bool
	for _, s := range a.states {
		for _, e := range s.edges {
			cut[e.lo] = true
			cut[int(e.hi)+1] = true
		}
	}
	d := &dfa{}
	c := -1
	for b := 0; b < 256; b++ {
		if b == 0 || cut[b] {
			c++
		}
		d.class[b] = uint8(c)
	}
	d.nclass = c + 1

	ids := map[string]int32{}
	var sets [][]int32
	seen := make([]uint32, len(a.states))
	gen := uint32(0)
	var stack, closed []int32
	// closure returns the sorted epsilon closure of seed in a reused buffer.
	closure := func(seed []int32) []int32 {
		gen++
		closed = closed[:0]
		stack = append(stack[:0], seed...)
		for len(stack) > 0 {
			s := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[s] == gen {
				continue
			}
			seen[s] = gen
			closed = append(closed, s)
			stack = append(stack, a.states[s].eps...)
		}
		slices.Sort(closed)
		return closed
	}
	var keyBuf []byte
	// intern returns the DFA state of a closed set (copied when new).
	intern := func(set []int32) (int32, error) {
		keyBuf = keyBuf[:0]
		for _, s := range set {
			keyBuf = binary.AppendUvarint(keyBuf, uint64(s))
		}
		if id, ok := ids[string(keyBuf)]; ok {
			return id, nil
		}
		if len(sets) >= maxDFAStates {
			return 0, errTooComplex
		}
		id := int32(len(sets))
		ids[string(keyBuf)] = id
		sets = append(sets, slices.Clone(set))
		lab := int32(-1)
		for _, s := range set {
			if l := a.states[s].label; l >= 0 && (lab < 0 || l < lab) {
				lab = l
			}
		}
		d.label = append(d.label, lab)
		for range d.nclass {
			d.next = append(d.next, -1)
		}
		return id, nil
	}
	if _, err := intern(closure([]int32{start})); err != nil {
		return nil, err
	}
	// For each DFA state, bucket the NFA edge targets by byte class (an edge
	// covers a contiguous run of classes), then close each bucket.
	moves := make([][]int32, d.nclass)
	for i := 0; i < len(sets); i++ {
		for c := range moves {
			moves[c] = moves[c][:0]
		}
		for _, s := range sets[i] {
			for _, e := range a.states[s].edges {
				for c := d.class[e.lo]; ; c++ {
					moves[c] = append(moves[c], e.to)
					if c == d.class[e.hi] {
						break
					}
				}
			}
		}
		for cl := range moves {
			if len(moves[cl]) == 0 {
				continue
			}
			id, err := intern(closure(moves[cl]))
			if err != nil {
				return nil, err
			}
			d.next[i*d.nclass+cl] = id
		}
	}
	return d, nil
}

// productMode says how a product treats a dead component.
type productMode uint8

const (
	intersect productMode = iota // either side dead: dead
	union                        // dead only when both sides are dead
)

// product runs two DFAs in lock step. acc decides the label of a pair
// (-1: not accepting); sa or sb is -1 when that side is dead (union mode).
func product(a, b *dfa, mode productMode, acc func(sa, sb int32) int32) (*dfa, error) {
	d := &dfa{}
	type pair struct{ a, b uint8 }
	classOf := map[pair]uint8{}
	var reps []byte
	for x := 0; x < 256; x++ {
		p := pair{a.class[x], b.class[x]}
		c, ok := classOf[p]
		if !ok {
			c = uint8(len(reps))
			classOf[p] = c
			reps = append(reps, byte(x))
		}
		d.class[x] = c
	}
	d.nclass = len(reps)
	type st struct{ a, b int32 }
	ids := map[st]int32{}
	var list []st
	intern := func(s st) (int32, error) {
		if id, ok := ids[s]; ok {
			return id, nil
		}
		if len(list) >= maxDFAStates {
			return 0, errTooComplex
		}
		id := int32(len(list))
		ids[s] = id
		list = append(list, s)
		d.label = append(d.label, acc(s.a, s.b))
		for range d.nclass {
			d.next = append(d.next, -1)
		}
		return id, nil
	}
	if _, err := intern(st{a.start, b.start}); err != nil {
		return nil, err
	}
	for i := 0; i < len(list); i++ {
		s := list[i]
		for cl, rep := range reps {
			na, nb := int32(-1), int32(-1)
			if s.a >= 0 {
				na = a.step(s.a, rep)
			}
			if s.b >= 0 {
				nb = b.step(s.b, rep)
			}
			if mode == intersect && (na < 0 || nb < 0) || na < 0 && nb < 0 {
				continue
			}
			id, err := intern(st{na, nb})
			if err != nil {
				return nil, err
			}
			d.next[i*d.nclass+cl] = id
		}
	}
	return d, nil
}

// intersectDFA returns a DFA for the strings both accept (label 0).
func intersectDFA(a, b *dfa) (*dfa, error) {
	return product(a, b, intersect, func(sa, sb int32) int32 {
		if a.accepting(sa) && b.accepting(sb) {
			return 0
		}
		return -1
	})
}

// trim removes the states that cannot reach an accepting state. It returns
// nil when the language is empty.
func (d *dfa) trim() *dfa {
	n := d.states()
	rev := make([][]int32, n)
	for s := 0; s < n; s++ {
		for c := 0; c < d.nclass; c++ {
			if t := d.next[s*d.nclass+c]; t >= 0 {
				rev[t] = append(rev[t], int32(s))
			}
		}
	}
	live := make([]bool, n)
	var stack []int32
	for s := 0; s < n; s++ {
		if d.label[s] >= 0 {
			live[s] = true
			stack = append(stack, int32(s))
		}
	}
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, s := range rev[t] {
			if !live[s] {
				live[s] = true
				stack = append(stack, s)
			}
		}
	}
	if !live[d.start] {
		return nil
	}
	// Renumber the live states reachable from start, in BFS order.
	id := make([]int32, n)
	for i := range id {
		id[i] = -1
	}
	order := []int32{d.start}
	id[d.start] = 0
	for i := 0; i < len(order); i++ {
		s := order[i]
		for c := 0; c < d.nclass; c++ {
			if t := d.next[int(s)*d.nclass+c]; t >= 0 && live[t] && id[t] < 0 {
				id[t] = int32(len(order))
				order = append(order, t)
			}
		}
	}
	out := &dfa{class: d.class, nclass: d.nclass, start: 0}
	out.next = make([]int32, len(order)*d.nclass)
	out.label = make([]int32, len(order))
	for i, s := range order {
		out.label[i] = d.label[s]
		for c := 0; c < d.nclass; c++ {
			t := d.next[int(s)*d.nclass+c]
			if t >= 0 {
				t = id[t]
			}
			out.next[i*d.nclass+c] = t
		}
	}
	return out
}

// escChars are the bytes a constrained string may write as a two-byte escape,
// in the order of the dfa.esc bits; escLetters are the letters after '\'.
var (
	escChars   = [8]byte{'"', '\\', '/', '\b', '\f', '\n', '\r', '\t'}
	escLetters = [8]byte{'"', '\\', '/', 'b', 'f', 'n', 'r', 't'}
)

// escIndex maps the letter after a backslash to its escChars index (or -1).
var escIndex = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i, c := range escLetters {
		t[c] = int8(i)
	}
	return
}()

// contentCost is the number of JSON bytes needed to put byte b of a decoded
// string into a string literal of a constrained string: 1 when written raw,
// 2 as a short escape, 0 when it cannot be written (other control bytes,
// which would need \u escapes, and bytes that never occur in UTF-8).
func contentCost(b byte) int32 {
	switch {
	case b == '"' || b == '\\':
		return 2
	case b == '\b' || b == '\f' || b == '\n' || b == '\r' || b == '\t':
		return 2
	case b < 0x20, b == 0xC0, b == 0xC1, b >= 0xF5:
		return 0
	}
	return 1
}

// finishString prepares a DFA for use as a string constraint: it drops
// transitions on bytes a constrained string cannot write, trims, and computes
// the escape masks and the distances used to finish a string. It returns nil
// when no string satisfies the constraint.
func finishString(d *dfa) (*dfa, error) {
	p, err := product(d, usableDFA(), intersect, func(sa, sb int32) int32 { return d.label[sa] })
	if err != nil {
		return nil, err
	}
	p = p.trim()
	if p == nil {
		return nil, nil
	}
	n := p.states()
	p.esc = make([]uint8, n)
	for s := 0; s < n; s++ {
		for i, c := range escChars {
			if p.step(int32(s), c) >= 0 {
				p.esc[s] |= 1 << i
			}
		}
	}
	// Shortest encoded distance to acceptance (weights 1 and 2): Bellman-Ford
	// style relaxation in rounds over the reversed graph.
	const inf = int32(1 << 30)
	p.dist = make([]int32, n)
	best := make([]int32, p.nclass) // cheapest byte weight of each class
	for c := range best {
		best[c] = inf
	}
	for x := 0; x < 256; x++ {
		if w := contentCost(byte(x)); w > 0 && w < best[p.class[x]] {
			best[p.class[x]] = w
		}
	}
	type redge struct {
		from int32
		w    int32
	}
	rev := make([][]redge, n)
	for s := 0; s < n; s++ {
		for c := 0; c < p.nclass; c++ {
			if t := p.next[s*p.nclass+c]; t >= 0 && best[c] < inf {
				rev[t] = append(rev[t], redge{int32(s), best[c]})
			}
		}
	}
	for s := range p.dist {
		p.dist[s] = inf
	}
	// Dijkstra with a bucket queue (weights are 1 or 2).
	buckets := [][]int32{}
	push := func(s, dd int32) {
		for int(dd) >= len(buckets) {
			buckets = append(buckets, nil)
		}
		buckets[dd] = append(buckets[dd], s)
	}
	for s := 0; s < n; s++ {
		if p.label[s] >= 0 {
			p.dist[s] = 0
			push(int32(s), 0)
		}
	}
	for dd := 0; dd < len(buckets); dd++ {
		for k := 0; k < len(buckets[dd]); k++ {
			t := buckets[dd][k]
			if p.dist[t] != int32(dd) {
				continue
			}
			for _, e := range rev[t] {
				if nd := int32(dd) + e.w; nd < p.dist[e.from] {
					p.dist[e.from] = nd
					push(e.from, nd)
				}
			}
		}
	}
	return p, nil
}

// usableDFA is a one-state DFA over the bytes a constrained string can hold
// (built once; DFAs are read only once built).
var usableDFA = sync.OnceValue(func() *dfa {
	d := &dfa{nclass: 2, next: []int32{0, -1}, label: []int32{0}}
	for x := 0; x < 256; x++ {
		if contentCost(byte(x)) == 0 {
			d.class[x] = 1
		}
	}
	return d
})
