package grammar

import (
	"math/big"
	"strings"
)

// Strings and numbers.

// stringNode compiles the string keywords of v; lits, when not nil, are the
// only strings allowed (enum, const).
func (c *compiler) stringNode(n *node, v *jval, path string, lits []string) error {
	var d *dfa
	and := func(x *dfa) error {
		if d == nil {
			d = x
			return nil
		}
		var err error
		d, err = intersectDFA(d, x)
		return err
	}
	if lits != nil {
		x, err := literalsDFA(lits, nil)
		if err != nil {
			return unsupported(path, "enum too large")
		}
		_ = and(x)
	}
	if p := v.get("pattern"); p != nil {
		if p.kind != jString {
			return schemaErr(path, "pattern must be a string")
		}
		x, err := compileRegex(p.s, path)
		if err != nil {
			return err
		}
		if err := and(x); err != nil {
			return unsupported(path, "pattern too complex")
		}
	}
	if f := v.get("format"); f != nil {
		if f.kind != jString {
			return schemaErr(path, "format must be a string")
		}
		x, err := formatDFA(f.s, path)
		if err != nil {
			return err
		}
		if err := and(x); err != nil {
			return unsupported(path, "format combined with pattern too complex")
		}
	}
	minL, err := nonNegInt(v, "minLength", path, 0)
	if err != nil {
		return err
	}
	maxL, err := nonNegInt(v, "maxLength", path, -1)
	if err != nil {
		return err
	}
	n.kind = kString
	if maxL >= 0 && minL > maxL {
		n.kind = kNever
		return nil
	}
	if d == nil {
		if minL == 0 && maxL < 0 {
			n.str = freeStrSpec
		} else {
			n.str = &strSpec{min: int32(minL), max: int32(maxL)}
		}
		return nil
	}
	if minL > 0 || maxL >= 0 {
		if err := and(lengthDFA(minL, maxL)); err != nil {
			return unsupported(path, "length bounds combined with pattern, format or enum too complex")
		}
	}
	if d, err = finishString(d); err != nil {
		return unsupported(path, "string constraints too complex")
	}
	if d == nil {
		n.kind = kNever
		return nil
	}
	n.str = &strSpec{dfa: d}
	return nil
}

// lengthDFA accepts the UTF-8 strings of minL to maxL code points (maxL < 0:
// no maximum); it counts lead bytes.
func lengthDFA(minL, maxL int) *dfa {
	top := maxL
	if maxL < 0 {
		top = minL
	}
	if top > maxDFAStates {
		top = maxDFAStates // larger bounds exceed the product budget anyway
	}
	d := &dfa{nclass: 2}
	for x := 0x80; x < 0xC0; x++ {
		d.class[x] = 1 // continuation bytes
	}
	for s := 0; s <= top; s++ {
		next := s + 1
		if next > top {
			next = -1
			if maxL < 0 {
				next = top
			}
		}
		d.next = append(d.next, int32(next), int32(s))
		lab := int32(-1)
		if s >= minL {
			lab = 0
		}
		d.label = append(d.label, lab)
	}
	return d
}

func (c *compiler) numberNode(n *node, v *jval, path string, integer bool) error {
	sp := &numSpec{integer: integer, prec: maxFracDigits}
	num := func(key string) (*big.Rat, error) {
		x := v.get(key)
		if x == nil || x.kind == jBool && (key == "exclusiveMinimum" || key == "exclusiveMaximum") {
			return nil, nil
		}
		if x.kind != jNumber {
			return nil, schemaErr(path, "%s must be a number", key)
		}
		r := x.rat()
		if r == nil {
			return nil, schemaErr(path, "bad number %s", x.s)
		}
		return r, nil
	}
	mo, err := num("multipleOf")
	if err != nil {
		return err
	}
	if mo != nil {
		switch {
		case mo.Sign() <= 0:
			return schemaErr(path, "multipleOf must be positive")
		case mo.IsInt():
			sp.integer = true
			if mo.Num().Cmp(big.NewInt(1)) != 0 {
				if !mo.Num().IsUint64() || mo.Num().Uint64() >= pow10[maxIntDigits] {
					return unsupported(path, "multipleOf %s", mo.RatString())
				}
				sp.mod = mo.Num().Uint64()
			}
		default:
			p := decimalPlaces(mo)
			if p < 0 {
				return unsupported(path, "multipleOf %s (only integers and powers of ten such as 0.01)", ratDecimal(mo))
			}
			sp.prec = min(sp.prec, p)
		}
	}
	if sp.integer {
		sp.prec = 0
	}
	exclBool := func(key string) bool {
		x := v.get(key)
		return x != nil && x.kind == jBool && x.b
	}
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(sp.prec)), nil)
	limit := new(big.Int).Mul(new(big.Int).SetUint64(pow10[maxIntDigits]), scale)
	var lo, hi *big.Int
	never := false
	setLo := func(g *big.Int) {
		if g.CmpAbs(limit) >= 0 {
			if g.Sign() > 0 {
				never = true
			}
			return
		}
		if lo == nil || g.Cmp(lo) > 0 {
			lo = g
		}
	}
	setHi := func(g *big.Int) {
		if g.CmpAbs(limit) >= 0 {
			if g.Sign() < 0 {
				never = true
			}
			return
		}
		if hi == nil || g.Cmp(hi) < 0 {
			hi = g
		}
	}
	one := big.NewInt(1)
	if r, err := num("minimum"); err != nil {
		return err
	} else if r != nil {
		if exclBool("exclusiveMinimum") {
			setLo(new(big.Int).Add(gridFloor(r, scale), one))
		} else {
			setLo(gridCeil(r, scale))
		}
	}
	if r, err := num("exclusiveMinimum"); err != nil {
		return err
	} else if r != nil {
		setLo(new(big.Int).Add(gridFloor(r, scale), one))
	}
	if r, err := num("maximum"); err != nil {
		return err
	} else if r != nil {
		if exclBool("exclusiveMaximum") {
			setHi(new(big.Int).Sub(gridCeil(r, scale), one))
		} else {
			setHi(gridFloor(r, scale))
		}
	}
	if r, err := num("exclusiveMaximum"); err != nil {
		return err
	} else if r != nil {
		setHi(new(big.Int).Sub(gridCeil(r, scale), one))
	}
	n.kind, n.num = kNumber, sp
	if never || lo != nil && hi != nil && lo.Cmp(hi) > 0 {
		n.kind = kNever
		return nil
	}
	if lo != nil {
		sp.hasLo, sp.lo = true, gridToD(lo, sp.prec)
	}
	if hi != nil {
		sp.hasHi, sp.hi = true, gridToD(hi, sp.prec)
	}
	sp.constrained = sp.hasLo || sp.hasHi || sp.mod > 1 || !sp.integer && sp.prec < maxFracDigits
	sp.negOK = !sp.constrained || sp.meets(true, dnum{}, sp.minusEps(dnum{ip: pow10[maxIntDigits]}))
	return nil
}

// decimalPlaces returns p when r = 10^-p (p <= 18), else -1.
func decimalPlaces(r *big.Rat) int {
	if r.Num().Cmp(big.NewInt(1)) != 0 {
		return -1
	}
	d := new(big.Int).Set(r.Denom())
	for p := 0; p <= maxFracDigits; p++ {
		if d.Cmp(big.NewInt(1)) == 0 {
			return p
		}
		q, m := new(big.Int).DivMod(d, big.NewInt(10), new(big.Int))
		if m.Sign() != 0 {
			return -1
		}
		d = q
	}
	return -1
}

// gridFloor returns floor(r·scale); gridCeil returns ceil(r·scale).
func gridFloor(r *big.Rat, scale *big.Int) *big.Int {
	num := new(big.Int).Mul(r.Num(), scale)
	q, _ := new(big.Int).DivMod(num, r.Denom(), new(big.Int))
	return q
}

func gridCeil(r *big.Rat, scale *big.Int) *big.Int {
	num := new(big.Int).Mul(r.Num(), scale)
	q, m := new(big.Int).DivMod(num, r.Denom(), new(big.Int))
	if m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// gridToD converts a grid index (value·10^prec, |value| < 10^18) to a dnum.
func gridToD(g *big.Int, prec int) dnum {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(prec)), nil)
	a := new(big.Int).Abs(g)
	ip, fr := new(big.Int).DivMod(a, scale, new(big.Int))
	return dnum{neg: g.Sign() < 0, ip: ip.Uint64(), fp: fr.Uint64() * pow10[18-prec]}
}

// ratDecimal writes r as a short decimal (0.5, not 0.500000000000000000;
// at most 18 digits after the point).
func ratDecimal(r *big.Rat) string {
	s := r.FloatString(18)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
