package grammar

// The matcher is a byte-level pushdown automaton. Its state is a small set of
// configurations (more than one only while alternatives of an anyOf, or
// several enum values, share a prefix). A configuration is the frame on top of
// the stack, held by value, and a persistent (immutable, shared) linked list
// of the frames below it. Copying a configuration is therefore a small struct
// copy: the token trie walk in Mask keeps one per trie depth, and pushing a
// frame allocates one list cell (from an arena that is rewound as the walk
// leaves a subtree).

// frame is the state of one value being parsed. Field use depends on the kind
// of n (see the step functions).
type frame struct {
	n  *node
	u  uint64 // number: integer part
	v  uint64 // number: fraction, in units of 10^-18
	i  int32  // object: next property position; array: item count; string: DFA state; literal: position; number: digit counters
	j  int32  // object: property of the current member (-1: other); string: code points so far (length-bounded free strings)
	st uint8  // state within the kind
	ws uint8  // whitespace counter of the current gap
	e  uint16 // string: escape and UTF-8 state; number: sign
}

type stack struct {
	f    frame
	next *stack
}

type config struct {
	top  frame
	rest *stack
}

// action is what a frame asks of the stepper after seeing a byte.
type action uint8

const (
	actReject    action = iota
	actOK               // byte consumed, frame continues
	actPop              // byte consumed, frame complete
	actPopRefeed        // frame complete before the byte; feed it to the parent
	actValue            // the byte starts a value of the returned node
	actKey              // the byte opened a key: push the returned key string node
)

// Document states.
const (
	dBefore uint8 = iota // the root value comes next (no whitespace before it)
	dValue               // the root value is being parsed
	dAfter               // trailing whitespace
)

// Object states.
const (
	oOpen    uint8 = iota // expects '{'
	oFirst                // after '{': a key or '}'
	oKeyWait              // the key string is on top
	oColon                // expects ':'
	oValue                // expects the member value
	oValWait              // the value is on top
	oAfter                // expects ',' or '}'
	oComma                // after ',': expects a key
)

// Array states.
const (
	aOpen    uint8 = iota // expects '['
	aFirst                // after '[': a value or ']'
	aValWait              // the item is on top
	aAfter                // expects ',' or ']'
	aComma                // after ',': expects a value
)

// Whitespace. Each gap between two structural tokens (and before and after
// the root value) may hold at most one line break (LF or CR LF) and at most
// maxSpaces spaces or tabs, in any order. Pretty-printed JSON with an indent
// of up to 32 columns fits; a model cannot emit whitespace forever.
const (
	maxSpaces = 32
	wsCount   = 0x3f // spaces and tabs so far
	wsNL      = 0x40 // a line feed was seen
	wsCR      = 0x80 // a carriage return was seen, a line feed must follow
)

type wsResult uint8

const (
	wsNot   wsResult = iota // not whitespace: handle the byte as structure
	wsTaken                 // whitespace, consumed
	wsBad                   // rejected
)

func wsStep(f *frame, b byte) wsResult {
	w := f.ws
	if w&wsCR != 0 {
		if b == '\n' {
			f.ws = w&^wsCR | wsNL
			return wsTaken
		}
		return wsBad
	}
	switch b {
	case ' ', '\t':
		if w&wsCount >= maxSpaces {
			return wsBad
		}
		f.ws = w + 1
	case '\n':
		if w&wsNL != 0 {
			return wsBad
		}
		f.ws = w | wsNL
	case '\r':
		if w&wsNL != 0 {
			return wsBad
		}
		f.ws = w | wsCR
	default:
		return wsNot
	}
	return wsTaken
}

// stepper advances configurations. With an arena, pushed stack cells come
// from it (temporary configurations of Mask and Allows); without one they are
// allocated on the heap (Accept).
type stepper struct {
	ar *arena
}

func (s *stepper) push(f frame, rest *stack) *stack {
	if s.ar == nil {
		return &stack{f, rest}
	}
	c := s.ar.alloc()
	c.f, c.next = f, rest
	return c
}

// newFrame returns the initial frame of a leaf node.
func newFrame(n *node) frame {
	f := frame{n: n}
	if n.kind == kString && n.str.dfa != nil {
		f.i = n.str.dfa.start
	}
	return f
}

// step feeds byte b to configuration c and appends the resulting
// configurations (none if b is rejected) to out.
func (s *stepper) step(c config, b byte, out []config) []config {
	for {
		f := &c.top
		var act action
		var child *node
		var label int32
		switch f.n.kind {
		case kString:
			act, label = strStep(f, b)
		case kNumber:
			act = numStep(f, b)
		case kObject:
			act, child = objStep(f, b)
		case kArray:
			act, child = arrStep(f, b)
		case kLiteral:
			act = litStep(f, b)
		case kDoc:
			act, child = docStep(f, b)
		}
		switch act {
		case actOK:
			return append(out, c)
		case actPop, actPopRefeed:
			c.pop(label)
			if act == actPop {
				return append(out, c)
			}
		case actKey:
			c.rest = s.push(c.top, c.rest)
			c.top = newFrame(child)
			c.top.st = sBody
			return append(out, c)
		case actValue:
			return s.startValue(c, child, b, out)
		default:
			return out
		}
	}
}

// startValue pushes a value of node n whose first byte is b.
func (s *stepper) startValue(c config, n *node, b byte, out []config) []config {
	if n.kind != kUnion {
		c.rest = s.push(c.top, c.rest)
		c.top = newFrame(n)
		return s.step(c, b, out)
	}
	cl := firstClass[b]
	if cl < 0 {
		return out
	}
	leaves := n.byFirst[cl]
	if len(leaves) == 0 {
		return out
	}
	rest := s.push(c.top, c.rest)
	for _, l := range leaves {
		out = s.step(config{top: newFrame(l), rest: rest}, b, out)
	}
	return out
}

// pop ends the top frame: its parent, told that the child labelled label
// is done, becomes the top.
func (c *config) pop(label int32) {
	c.top = c.rest.f
	c.rest = c.rest.next
	childDone(&c.top, label)
}

// childDone tells a frame that the value it pushed is complete. label is the
// key label when the child was an object key.
func childDone(f *frame, label int32) {
	f.ws = 0
	switch f.n.kind {
	case kDoc:
		f.st = dAfter
	case kObject:
		if f.st == oKeyWait {
			f.j = label
			if label == labelOther {
				f.j = -1
			}
			f.st = oColon
		} else {
			f.st = oAfter
		}
	case kArray:
		f.i++
		f.st = aAfter
	}
}

func docStep(f *frame, b byte) (action, *node) {
	// The value starts at once: whitespace before it would be a first
	// delta of spaces, which streaming JSON parsers of clients reject
	// (the openai SDK's partial parser does), and llama.cpp's json.gbnf
	// allows none either.
	if f.st == dBefore {
		f.st = dValue
		return actValue, f.n.child
	}
	switch wsStep(f, b) {
	case wsTaken:
		return actOK, nil
	}
	return actReject, nil
}

// opening is what objects and arrays share before their members: the
// opening bracket (state before → first), then whitespace in any gap. done
// reports that it handled b.
func opening(f *frame, b, bracket byte, before, first uint8) (act action, done bool) {
	if f.st == before {
		if b == bracket {
			f.st = first
			return actOK, true
		}
		return actReject, true
	}
	switch wsStep(f, b) {
	case wsTaken:
		return actOK, true
	case wsBad:
		return actReject, true
	}
	return actOK, false
}

func objStep(f *frame, b byte) (action, *node) {
	o := f.n.obj
	if act, done := opening(f, b, '{', oOpen, oFirst); done {
		return act, nil
	}
	switch f.st {
	case oFirst, oComma:
		if b == '"' {
			if k := o.keys[f.i]; k != nil {
				f.st = oKeyWait
				return actKey, k
			}
		} else if b == '}' && f.st == oFirst && o.canClose[f.i] {
			return actPop, nil
		}
	case oColon:
		if b == ':' {
			f.st, f.ws = oValue, 0
			return actOK, nil
		}
	case oValue:
		f.st = oValWait
		if f.j >= 0 {
			vn := o.props[f.j].node
			f.i = f.j + 1
			return actValue, vn
		}
		return actValue, o.addl
	case oAfter:
		if b == ',' {
			if o.keys[f.i] != nil {
				f.st, f.ws = oComma, 0
				return actOK, nil
			}
		} else if b == '}' && o.canClose[f.i] {
			return actPop, nil
		}
	}
	return actReject, nil
}

func arrStep(f *frame, b byte) (action, *node) {
	a := f.n.arr
	if act, done := opening(f, b, '[', aOpen, aFirst); done {
		return act, nil
	}
	switch f.st {
	case aFirst:
		if b == ']' {
			if a.min == 0 {
				return actPop, nil
			}
			return actReject, nil
		}
		if a.max != 0 {
			f.st = aValWait
			return actValue, a.item(0)
		}
	case aAfter:
		if b == ',' {
			if a.max < 0 || int(f.i) < a.max {
				f.st, f.ws = aComma, 0
				return actOK, nil
			}
		} else if b == ']' && int(f.i) >= a.min {
			return actPop, nil
		}
	case aComma:
		f.st = aValWait
		return actValue, a.item(int(f.i))
	}
	return actReject, nil
}

func litStep(f *frame, b byte) action {
	lit := f.n.lit
	if b != lit[f.i] {
		return actReject
	}
	f.i++
	if int(f.i) == len(lit) {
		return actPop
	}
	return actOK
}

// stepAll feeds b to every configuration of in and appends the distinct
// results to out.
func (s *stepper) stepAll(in []config, b byte, out []config) []config {
	for _, c := range in {
		out = s.step(c, b, out)
	}
	if len(out) > 1 {
		out = dedup(out)
	}
	return out
}

// dedup removes repeated configurations (in place). Configurations that
// popped back to the same shared stack compare equal.
func dedup(cs []config) []config {
	n := 0
outer:
	for _, c := range cs {
		for _, d := range cs[:n] {
			if c == d {
				continue outer
			}
		}
		cs[n] = c
		n++
	}
	return cs[:n]
}

// arena hands out stack cells in chunks; mark and reset rewind it.
type arena struct {
	chunks [][]stack
	ci     int // current chunk
	off    int // next free cell in it
}

const arenaChunk = 512

type arenaMark struct{ ci, off int }

func (a *arena) alloc() *stack {
	if a.ci == len(a.chunks) {
		a.chunks = append(a.chunks, make([]stack, arenaChunk))
	}
	c := &a.chunks[a.ci][a.off]
	a.off++
	if a.off == arenaChunk {
		a.ci, a.off = a.ci+1, 0
	}
	return c
}

func (a *arena) mark() arenaMark { return arenaMark{a.ci, a.off} }

func (a *arena) reset(m arenaMark) { a.ci, a.off = m.ci, m.off }
