package grammar

import (
	"errors"
	"math/big"
)

// enum and const.

// enum compiles enum and const: the listed values that have one of the
// allowed types and meet the other keywords of their type.
func (c *compiler) enum(n *node, v *jval, types int, path string) error {
	var vals []*jval
	if e := v.get("enum"); e != nil {
		if e.kind != jArray {
			return schemaErr(path, "enum must be an array")
		}
		vals = e.arr
	}
	if k := v.get("const"); k != nil {
		if v.get("enum") != nil {
			var keep []*jval
			for _, x := range vals {
				if jequal(x, k) {
					keep = append(keep, x)
				}
			}
			vals = keep
		} else {
			vals = []*jval{k}
		}
	}
	has := func(set map[string]bool) bool {
		for _, k := range v.keys {
			if set[k] {
				return true
			}
		}
		return false
	}
	var strs []string
	var seen []*jval
	n.kind = kUnion
	for _, x := range vals {
		dup := false
		for _, s := range seen {
			dup = dup || jequal(s, x)
		}
		if dup {
			continue
		}
		seen = append(seen, x)
		switch x.kind {
		case jNull:
			if types&tNull != 0 {
				n.alts = append(n.alts, litNull)
			}
		case jBool:
			if types&tBool != 0 {
				n.alts = append(n.alts, map[bool]*node{true: litTrue, false: litFalse}[x.b])
			}
		case jString:
			if types&tString != 0 {
				strs = append(strs, x.s)
			}
		case jNumber:
			r := x.rat()
			isInt := r != nil && r.IsInt()
			if types&tNumber == 0 && !(types&tInteger != 0 && isInt) {
				continue
			}
			if has(numberKeys) {
				ok, err := c.numberAllows(v, path, types&tNumber == 0, x)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
			}
			lit := c.newNode()
			lit.kind, lit.lit = kLiteral, []byte(x.s)
			n.alts = append(n.alts, lit)
		case jObject, jArray:
			t := tObject
			kw := objectKeys
			if x.kind == jArray {
				t, kw = tArray, arrayKeys
			}
			if types&t == 0 {
				continue
			}
			if has(kw) {
				return unsupported(path, "enum/const with %s keywords", x.kind)
			}
			cn, err := c.constNode(x, path)
			if err != nil {
				return err
			}
			n.alts = append(n.alts, cn)
		}
	}
	if strs != nil {
		sn := c.newNode()
		if err := c.stringNode(sn, v, path, strs); err != nil {
			return err
		}
		n.alts = append(n.alts, sn)
	}
	return nil
}

// numberAllows checks an enum number against the number keywords of v by
// compiling them and running the number text through the automaton.
func (c *compiler) numberAllows(v *jval, path string, integer bool, x *jval) (bool, error) {
	tmp := &node{}
	if err := c.numberNode(tmp, v, path, integer); err != nil {
		return false, err
	}
	if tmp.kind == kNever {
		return false, nil
	}
	r := x.rat()
	sp := tmp.num
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(sp.prec)), nil)
	g := gridFloor(r, scale)
	if new(big.Rat).SetFrac(g, scale).Cmp(r) != 0 {
		return false, nil // finer than the allowed precision (multipleOf)
	}
	limit := new(big.Int).Mul(new(big.Int).SetUint64(pow10[maxIntDigits]), scale)
	if g.CmpAbs(limit) >= 0 {
		return !sp.constrained || !sp.hasLo && !sp.hasHi && sp.mod <= 1, nil
	}
	d := gridToD(g, sp.prec)
	return sp.meets(d.neg, dnum{ip: d.ip, fp: d.fp}, dnum{ip: d.ip, fp: d.fp}), nil
}

// constNode compiles a value that must be reproduced exactly.
func (c *compiler) constNode(x *jval, path string) (*node, error) {
	n := c.newNode()
	switch x.kind {
	case jNull:
		n.kind, n.alts = kUnion, []*node{litNull}
	case jBool:
		n.kind, n.alts = kUnion, []*node{map[bool]*node{true: litTrue, false: litFalse}[x.b]}
	case jNumber:
		n.kind, n.lit = kLiteral, []byte(x.s)
	case jString:
		return n, c.stringNode(n, &jval{kind: jObject}, path, []string{x.s})
	case jArray:
		a := &arrSpec{min: len(x.arr), max: len(x.arr)}
		for _, e := range x.arr {
			en, err := c.constNode(e, path)
			if err != nil {
				return nil, err
			}
			a.prefix = append(a.prefix, en)
		}
		n.kind, n.arr = kArray, a
	case jObject:
		o := &objSpec{}
		for i, k := range x.keys {
			en, err := c.constNode(x.vals[i], path)
			if err != nil {
				return nil, err
			}
			o.props = append(o.props, prop{name: k, key: encodeJSONString(k), node: en, required: true})
		}
		n.kind, n.obj = kObject, o
	default:
		return nil, errors.New("bad const")
	}
	return n, nil
}
