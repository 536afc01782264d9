package grammar

// Completion returns a short byte string that completes the JSON value from
// the current state (nil when Complete already holds): the cheapest way to
// close the open strings, numbers, arrays and objects, adding the shortest
// value of every required property and of every missing array item. A caller
// that runs out of tokens can use it to hand back valid JSON; the tests use
// it to prove that every reachable state can still finish.
func (m *Matcher) Completion() []byte {
	if m.Complete() {
		return nil
	}
	var best []byte
	found := false
	for _, c := range m.cfgs {
		if b, ok := finishConfig(c); ok && (!found || len(b) < len(best)) {
			best, found = b, true
		}
	}
	return best
}

// finishConfig closes every frame of c, top first.
func finishConfig(c config) ([]byte, bool) {
	var out []byte
	if c.top.ws&wsCR != 0 {
		out = append(out, '\n') // a carriage return waits for its line feed
	}
	for {
		b, label, ok := finishFrame(c.top)
		if !ok {
			return nil, false
		}
		out = append(out, b...)
		if c.top.n.kind == kDoc {
			return out, true
		}
		c.pop(label)
	}
}

// finishFrame returns the bytes that complete frame f, assuming any child it
// waits for is complete, and the key label when f is a key string.
func finishFrame(f frame) ([]byte, int32, bool) {
	switch f.n.kind {
	case kDoc:
		if f.st == dBefore {
			return minValue(f.n.child), 0, true
		}
		return nil, 0, true
	case kLiteral:
		return f.n.lit[f.i:], 0, true
	case kNumber:
		b, ok := f.n.num.finish(f)
		return b, 0, ok
	case kString:
		b, l := strFinish(f)
		return b, l, true
	case kObject:
		return finishObject(f), 0, true
	case kArray:
		return finishArray(f), 0, true
	}
	return nil, 0, false
}

func finishObject(f frame) []byte {
	o := f.n.obj
	var out []byte
	i := int(f.i)
	st := f.st
	if st == oOpen {
		out = append(out, '{')
		st = oFirst
	}
	if st == oColon {
		out = append(out, ':')
		st = oValue
	}
	if st == oValue {
		vn := o.addl
		if f.j >= 0 {
			vn = o.props[f.j].node
			i = int(f.j) + 1
		}
		out = append(out, minValue(vn)...)
		st = oAfter
	}
	first := st == oFirst || st == oComma
	if st == oComma && o.canClose[i] {
		// A member must follow although none is required: the cheapest one.
		bestCost, bestJ := inf, -2
		for j := i; j < len(o.props); j++ {
			if c := int64(len(o.props[j].key)) + 1 + o.props[j].node.cost; c < bestCost {
				bestCost, bestJ = c, j
			}
		}
		if o.addl != nil {
			if c := int64(len(otherKey(o))) + 1 + o.addl.cost; c < bestCost {
				bestJ = -1
			}
		}
		if bestJ == -1 {
			out = append(out, otherKey(o)...)
			out = append(out, ':')
			out = append(out, minValue(o.addl)...)
		} else {
			p := o.props[bestJ]
			out = append(out, p.key...)
			out = append(out, ':')
			out = append(out, minValue(p.node)...)
		}
		return append(out, '}')
	}
	for j := i; j < len(o.props); j++ {
		p := o.props[j]
		if !p.required {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, p.key...)
		out = append(out, ':')
		out = append(out, minValue(p.node)...)
	}
	return append(out, '}')
}

// otherKey returns the shortest JSON key that is not a declared property.
func otherKey(o *objSpec) []byte {
	for _, k := range []string{"", "a", "b", "c", "d", "e", "f", "g", "h"} {
		taken := false
		for _, p := range o.props {
			taken = taken || p.name == k
		}
		if !taken {
			return encodeJSONString(k)
		}
	}
	return []byte(`"_0"`) // needs nine single-letter properties; good enough
}

func finishArray(f frame) []byte {
	a := f.n.arr
	var out []byte
	k := int(f.i)
	st := f.st
	if st == aOpen {
		out = append(out, '[')
		st = aFirst
	}
	first := st == aFirst
	if st == aComma {
		out = append(out, minValue(a.item(k))...)
		k++
	}
	for ; k < a.min; k++ {
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, minValue(a.item(k))...)
	}
	return append(out, ']')
}

// minValue returns the shortest serialization of a value of n.
func minValue(n *node) []byte {
	switch n.kind {
	case kUnion:
		var best *node
		for _, ls := range n.byFirst {
			for _, l := range ls {
				if best == nil || l.cost < best.cost {
					best = l
				}
			}
		}
		return minValue(best)
	case kLiteral:
		return n.lit
	case kNumber:
		b, _ := n.num.finish(frame{n: n})
		return b
	case kString:
		b, _ := strFinish(newFrame(n))
		return b
	case kObject:
		return finishObject(frame{n: n})
	case kArray:
		return finishArray(frame{n: n})
	}
	return nil
}
