package grammar

import (
	"fmt"
	"sync"
	"weak"
)

// Grammar is a compiled constraint: immutable and shareable by any number of
// matchers. It keeps, per vocabulary, a cache of token classes for its
// constrained string states (safe for concurrent use).
type Grammar struct {
	doc *node

	mu     sync.Mutex
	caches map[weak.Pointer[Vocab]]*lexCache // weak: a grammar does not keep a vocabulary alive
}

func newGrammar(root *node) *Grammar {
	doc := &node{kind: kDoc, child: root, done: true}
	doc.cost = root.cost
	return &Grammar{doc: doc, caches: map[weak.Pointer[Vocab]]*lexCache{}}
}

var jsonObject = sync.OnceValue(func() *Grammar { return newGrammar(anyObject) })

// JSONObject returns the grammar of OpenAI's {"type": "json_object"}
// response format: any JSON object.
func JSONObject() *Grammar { return jsonObject() }

// Matcher is the state of one constrained generation. It is not safe for
// concurrent use.
type Matcher struct {
	g      *Grammar
	v      *Vocab
	gcache *lexCache

	cfgs  []config // current configurations (never empty)
	spare []config

	heap stepper // Accept: heap-allocated stack cells
	tmp  stepper // Mask and Allows: arena cells

	lev     [][]config // Mask: configurations per trie depth
	marks   []arenaMark
	generic []config
	start   [1]config
	buf     [2][]config // Allows
	abuf    [2][]config // Accept
}

// NewMatcher starts a generation constrained by g over vocabulary v.
func (g *Grammar) NewMatcher(v *Vocab) *Matcher {
	g.mu.Lock()
	key := weak.Make(v)
	c := g.caches[key]
	if c == nil {
		for k := range g.caches {
			if k.Value() == nil {
				delete(g.caches, k) // the vocabulary is gone
			}
		}
		c = newLexCache(maxGrammarCache)
		g.caches[key] = c
	}
	g.mu.Unlock()
	m := &Matcher{g: g, v: v, gcache: c, tmp: stepper{ar: &arena{}}}
	m.cfgs = []config{{top: frame{n: g.doc}}}
	return m
}

// Allows reports whether token id may come next. It walks only the token's
// bytes, so it costs a few hundred nanoseconds: a sampler can try its pick
// first and compute the Mask only when the pick is refused.
func (m *Matcher) Allows(id int32) bool {
	tok := m.v.token(id)
	if tok == nil {
		return false
	}
	m.tmp.ar.reset(arenaMark{})
	cur := m.cfgs
	for k, b := range tok {
		next := m.tmp.stepAll(cur, b, m.buf[k&1][:0])
		m.buf[k&1] = next
		if len(next) == 0 {
			return false
		}
		cur = next
	}
	return true
}

// Accept advances the matcher past token id. It returns an error, and leaves
// the matcher unchanged, when the token is not allowed.
func (m *Matcher) Accept(id int32) error {
	tok := m.v.token(id)
	if tok == nil {
		return fmt.Errorf("grammar: token %d is not allowed (special, empty or out of range)", id)
	}
	next, ok := m.advance(tok)
	if !ok {
		return fmt.Errorf("grammar: token %d %q is not allowed here", id, tok)
	}
	m.cfgs, m.spare = next, m.cfgs
	return nil
}

// maxConfigs bounds the number of parallel configurations (alternatives of
// nested, overlapping anyOf that share a prefix). Dropping some is safe:
// every configuration can complete on its own, so the matcher only loses
// some ways to continue, never validity.
const maxConfigs = 64

// advance feeds bytes to a copy of the state (heap cells) and returns the
// new configurations in a fresh slice.
func (m *Matcher) advance(bs []byte) ([]config, bool) {
	cur := m.cfgs
	for k, x := range bs {
		next := m.heap.stepAll(cur, x, m.abuf[k&1][:0])
		if len(next) > maxConfigs {
			next = next[:maxConfigs]
		}
		m.abuf[k&1] = next
		if len(next) == 0 {
			return nil, false
		}
		cur = next
	}
	return append(m.spare[:0], cur...), true
}

// AcceptBytes advances the matcher past raw bytes (for example a prompt
// prefix the caller forces). It returns an error, leaving the matcher
// unchanged, when they are not allowed.
func (m *Matcher) AcceptBytes(bs []byte) error {
	next, ok := m.advance(bs)
	if !ok {
		return fmt.Errorf("grammar: bytes %q are not allowed here", bs)
	}
	m.cfgs, m.spare = next, m.cfgs
	return nil
}

// Complete reports whether the JSON value is complete, so that the caller
// should end the turn. A complete top-level number could still be extended
// ("12" may become "123"); when Complete is true but CanEnd is false, a
// caller that wants to leave the choice to the model can allow its
// end-of-turn token alongside the Mask and stop when it is picked.
func (m *Matcher) Complete() bool {
	for i := range m.cfgs {
		if complete(&m.cfgs[i]) {
			return true
		}
	}
	return false
}

// CanEnd reports whether the value is complete and nothing but trailing
// whitespace may follow.
func (m *Matcher) CanEnd() bool {
	for _, c := range m.cfgs {
		if c.top.n.kind != kDoc || c.top.st != dAfter {
			return false
		}
	}
	return true
}

func complete(c *config) bool {
	f := &c.top
	switch f.n.kind {
	case kDoc:
		return f.st == dAfter
	case kNumber:
		return f.n.num.valid(f) && c.rest != nil && c.rest.f.n.kind == kDoc
	}
	return false
}

// Clone returns an independent copy of the matcher (for speculative
// decoding or backtracking); the copy shares the grammar and vocabulary.
func (m *Matcher) Clone() *Matcher {
	c := &Matcher{g: m.g, v: m.v, gcache: m.gcache, tmp: stepper{ar: &arena{}}}
	c.cfgs = append([]config(nil), m.cfgs...)
	return c
}
