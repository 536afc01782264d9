package grammar

import "sort"

// merge combines schemas that must all hold (allOf, a $ref with sibling
// keywords, an anyOf alternative with the keywords beside the anyOf) into one
// schema object, when that is exact; otherwise it returns an
// UnsupportedError. $ref and nested allOf inside the parts are expanded.
// Rules: keywords present in one part are kept; equal values are kept;
// "type" is intersected, "required" united, "enum" intersected, "properties"
// united (a property in several parts gets an allOf of its schemas), "items"
// schemas combined with allOf, lower bounds take the largest and upper
// bounds the smallest value. A part with additionalProperties must list
// every property the other parts name. Anything else is unsupported.
func (c *compiler) merge(path string, parts []*jval) (*jval, error) {
	var flat []*jval
	var expand func(p *jval, depth int) (bool, error)
	expand = func(p *jval, depth int) (bool, error) {
		if depth > 16 {
			return false, unsupported(path, "allOf/$ref nested too deeply (recursive schema combined with sibling keywords)")
		}
		switch p.kind {
		case jBool:
			return p.b, nil
		case jObject:
		default:
			return false, schemaErr(path, "a schema must be an object or a boolean, not %s", p.kind)
		}
		for _, k := range p.keys {
			if unsupportedKeys[k] {
				return false, unsupported(path, "%s", k)
			}
		}
		rest := p
		if ref := p.get("$ref"); ref != nil {
			t, _, err := c.resolve(ref, path)
			if err != nil {
				return false, err
			}
			if ok, err := expand(t, depth+1); !ok || err != nil {
				return ok, err
			}
			rest = rest.clone()
			rest.del("$ref")
		}
		if all := p.get("allOf"); all != nil {
			if all.kind != jArray || len(all.arr) == 0 {
				return false, schemaErr(path, "allOf must be a non-empty array")
			}
			for _, a := range all.arr {
				if ok, err := expand(a, depth+1); !ok || err != nil {
					return ok, err
				}
			}
			if rest == p {
				rest = rest.clone()
			}
			rest.del("allOf")
		}
		flat = append(flat, rest)
		return true, nil
	}
	for _, p := range parts {
		ok, err := expand(p, 0)
		if err != nil {
			return nil, err
		}
		if !ok {
			return &jval{kind: jBool}, nil // a false part: nothing is valid
		}
	}
	if err := checkAdditional(path, flat); err != nil {
		return nil, err
	}
	out := &jval{kind: jObject}
	for _, p := range flat {
		for i, k := range p.keys {
			if annotationKeys[k] {
				continue
			}
			val := p.vals[i]
			old := out.get(k)
			if old == nil {
				out.set(k, val)
				continue
			}
			m, err := mergeKeyword(path, k, old, val)
			if err != nil {
				return nil, err
			}
			if m == nil {
				return &jval{kind: jBool}, nil // contradiction (e.g. two consts)
			}
			out.set(k, m)
		}
	}
	return out, nil
}

// checkAdditional rejects parts whose additionalProperties would have to
// judge properties declared by other parts.
func checkAdditional(path string, parts []*jval) error {
	names := func(p *jval) []string {
		var s []string
		if props := p.get("properties"); props != nil && props.kind == jObject {
			s = append(s, props.keys...)
		}
		if r := p.get("required"); r != nil && r.kind == jArray {
			for _, x := range r.arr {
				s = append(s, x.s)
			}
		}
		return s
	}
	for _, x := range parts {
		ap := x.get("additionalProperties")
		if ap == nil || ap.kind == jBool && ap.b {
			continue
		}
		own := map[string]bool{}
		if props := x.get("properties"); props != nil && props.kind == jObject {
			for _, k := range props.keys {
				own[k] = true
			}
		}
		for _, y := range parts {
			if y == x {
				continue
			}
			for _, nm := range names(y) {
				if !own[nm] {
					return unsupported(path, "allOf: additionalProperties in one schema with property %q from another", nm)
				}
			}
		}
	}
	return nil
}

// mergeKeyword combines two values of keyword k; nil means no value can
// satisfy both.
func mergeKeyword(path, k string, a, b *jval) (*jval, error) {
	if jequal(a, b) {
		return a, nil
	}
	conflict := func() (*jval, error) { return nil, unsupported(path, "allOf: conflicting %q", k) }
	switch k {
	case "type":
		ta, err := typeSet(&jval{kind: jObject, keys: []string{"type"}, vals: []*jval{a}}, path)
		if err != nil {
			return nil, err
		}
		tb, err := typeSet(&jval{kind: jObject, keys: []string{"type"}, vals: []*jval{b}}, path)
		if err != nil {
			return nil, err
		}
		widen := func(t int) int {
			if t&tNumber != 0 {
				t |= tInteger
			}
			return t
		}
		t := widen(ta) & widen(tb)
		if t&tNumber != 0 {
			t &^= tInteger
		}
		out := &jval{kind: jArray}
		var names []string
		for name, bit := range typeNames {
			if t&bit != 0 {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, nm := range names {
			out.arr = append(out.arr, &jval{kind: jString, s: nm})
		}
		return out, nil
	case "required":
		if a.kind != jArray || b.kind != jArray {
			return conflict()
		}
		out := &jval{kind: jArray, arr: append([]*jval(nil), a.arr...)}
	next:
		for _, x := range b.arr {
			for _, y := range out.arr {
				if jequal(x, y) {
					continue next
				}
			}
			out.arr = append(out.arr, x)
		}
		return out, nil
	case "enum":
		if a.kind != jArray || b.kind != jArray {
			return conflict()
		}
		out := &jval{kind: jArray}
		for _, x := range a.arr {
			for _, y := range b.arr {
				if jequal(x, y) {
					out.arr = append(out.arr, x)
					break
				}
			}
		}
		return out, nil
	case "const":
		return nil, nil
	case "properties":
		if a.kind != jObject || b.kind != jObject {
			return conflict()
		}
		out := a.clone()
		for i, name := range b.keys {
			if old := out.get(name); old != nil && !jequal(old, b.vals[i]) {
				out.set(name, &jval{kind: jObject, keys: []string{"allOf"},
					vals: []*jval{{kind: jArray, arr: []*jval{old, b.vals[i]}}}})
			} else if old == nil {
				out.set(name, b.vals[i])
			}
		}
		return out, nil
	case "items":
		if a.kind == jArray || b.kind == jArray {
			return conflict()
		}
		return &jval{kind: jObject, keys: []string{"allOf"},
			vals: []*jval{{kind: jArray, arr: []*jval{a, b}}}}, nil
	case "minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties":
		return pickNumber(a, b, true, conflict)
	case "maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties":
		return pickNumber(a, b, false, conflict)
	}
	return conflict()
}

func pickNumber(a, b *jval, larger bool, conflict func() (*jval, error)) (*jval, error) {
	if a.kind != jNumber || b.kind != jNumber {
		return conflict()
	}
	ra, rb := a.rat(), b.rat()
	if ra == nil || rb == nil {
		return conflict()
	}
	if (ra.Cmp(rb) > 0) == larger {
		return a, nil
	}
	return b, nil
}
