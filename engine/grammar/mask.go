package grammar

// Mask computation. The general case walks the vocabulary trie depth first,
// stepping the set of configurations one byte per trie node and skipping a
// subtree as soon as no configuration accepts its byte; in JSON structure
// almost every subtree dies at its first or second byte. The expensive case
// is the inside of a string, where nearly every token is allowed: there the
// configuration's top string frame is looked up in a cache (see cache.go)
// that holds, for that lexical state, the tokens that stay inside the string
// and, grouped by key label, the tails of the tokens that close it. Only the
// tails are walked, against the configuration below the string.

// walk ORs into dst the tokens of t accepted from the configurations start.
func (m *Matcher) walk(t *trie, start []config, dst []uint64) {
	if len(start) == 0 {
		return
	}
	t.setTokens(0, dst)
	maxDepth := 0
	if len(t.depth) > 1 {
		maxDepth = m.v.maxLen
	}
	for len(m.lev) <= maxDepth+1 {
		m.lev = append(m.lev, nil)
		m.marks = append(m.marks, arenaMark{})
	}
	m.lev[0] = append(m.lev[0][:0], start...)
	m.marks[1] = m.tmp.ar.mark()
	lev, marks := m.lev, m.marks
	for i := 1; i < len(t.b); {
		d := int(t.depth[i])
		m.tmp.ar.reset(marks[d])
		var next []config
		if parent := lev[d-1]; len(parent) == 1 {
			next = m.tmp.step(parent[0], t.b[i], lev[d][:0])
			if len(next) > 1 {
				next = dedup(next)
			}
		} else {
			next = m.tmp.stepAll(parent, t.b[i], lev[d][:0])
		}
		lev[d] = next
		if len(next) == 0 {
			i = int(t.skip[i])
			continue
		}
		t.setTokens(i, dst)
		marks[d+1] = m.tmp.ar.mark()
		i++
	}
}

// cacheable reports whether the lexical cache applies to configuration c.
func cacheable(c *config) bool {
	return c.top.n.kind == kString && c.top.st == sBody && c.top.e&0xf == mNormal
}

// Mask returns the set of tokens allowed now as a bitset: bit id%64 of word
// id/64 is set when token id is allowed. dst is reused when it has the
// capacity (len = ceil(Len()/64)). Special and empty tokens are never set.
// The mask is empty only after the value is complete (Complete), once the
// bounded trailing whitespace is used up.
func (m *Matcher) Mask(dst []uint64) []uint64 {
	w := (m.v.n + 63) / 64
	if cap(dst) < w {
		dst = make([]uint64, w)
	} else {
		dst = dst[:w]
		clear(dst)
	}
	m.tmp.ar.reset(arenaMark{})
	generic := m.generic[:0]
	for i := range m.cfgs {
		c := &m.cfgs[i]
		if cacheable(c) {
			m.maskString(c, dst)
		} else {
			generic = append(generic, *c)
		}
	}
	if len(generic) > 0 {
		m.walk(&m.v.trie, generic, dst)
	}
	m.generic = generic
	return dst
}

// maskString adds the tokens allowed from a configuration whose top frame is
// inside a string.
func (m *Matcher) maskString(c *config, dst []uint64) {
	f := &c.top
	sp := f.n.str
	ent := m.lexEntry(f)
	if sp.bounded() && sp.max >= 0 && int(sp.max-f.j) < ent.maxChars {
		// Only the tokens that fit in the room left (added to what other
		// configurations set in dst).
		room := int(sp.max - f.j)
		for i := len(ent.byChars) - 1; i >= 0 && int(ent.charsOf[i]) <= room; i-- {
			id := ent.byChars[i]
			dst[id>>6] |= 1 << (id & 63)
		}
	} else if ent.dense != nil {
		for i, w := range ent.dense {
			dst[i] |= w
		}
	} else {
		for _, id := range ent.sparse {
			dst[id>>6] |= 1 << (id & 63)
		}
	}
	exits := ent.exits
	if sp.bounded() {
		exits = ent.exitsByChars
	}
	for k := range exits {
		ex := &exits[k]
		if ex.chars >= 0 {
			n := f.j + ex.chars
			if n < sp.min || sp.max >= 0 && n > sp.max {
				continue
			}
		}
		pc := *c
		pc.pop(ex.label)
		m.tmp.ar.reset(arenaMark{})
		m.start[0] = pc
		m.walk(&ex.tails, m.start[:1], dst)
	}
}
