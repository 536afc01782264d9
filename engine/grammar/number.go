package grammar

import (
	"math/big"
	"strings"
)

// Numbers follow RFC 8259 exactly (no leading zeros, a digit after '.' and
// after the exponent marker) and, so that every generated number fits a
// float64 and a model cannot run on forever, have at most 18 integer digits,
// 18 fraction digits and 2 exponent digits. "integer" numbers have no
// fraction and no exponent.
//
// Bounds (minimum, maximum, exclusiveMinimum, exclusiveMaximum) and
// multipleOf are enforced exactly: numbers with such constraints are written
// without exponent, and every byte is checked to leave at least one valid
// completion. Bounds are rounded inward to the precision of the number (whole
// numbers for integers, 10^-p for multipleOf 10^-p, 10^-18 otherwise).

const (
	maxIntDigits  = 18
	maxFracDigits = 18
	maxExpDigits  = 2
)

// Number frame states.
const (
	nStart uint8 = iota // nothing read
	nSign               // after '-'
	nZero               // integer part is "0"
	nInt                // integer part 1-9 followed by digits
	nDot                // after '.'
	nFrac               // fraction digits
	nE                  // after 'e' or 'E'
	nESign              // after the exponent sign
	nExp                // exponent digits
)

// pow10 holds 10^0 .. 10^19.
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < 20; i++ {
		p[i] = p[i-1] * 10
	}
	return
}()

const fracUnit = 1_000_000_000_000_000_000 // 10^18: fp is in units of 10^-18

// dnum is an exact decimal ±(ip + fp·10^-18).
type dnum struct {
	neg    bool
	ip, fp uint64
}

func (a dnum) isZero() bool { return a.ip == 0 && a.fp == 0 }

func cmpMag(a, b dnum) int {
	switch {
	case a.ip != b.ip:
		if a.ip < b.ip {
			return -1
		}
		return 1
	case a.fp != b.fp:
		if a.fp < b.fp {
			return -1
		}
		return 1
	}
	return 0
}

func cmpD(a, b dnum) int {
	an, bn := a.neg && !a.isZero(), b.neg && !b.isZero()
	if an != bn {
		if an {
			return -1
		}
		return 1
	}
	if an {
		return -cmpMag(a, b)
	}
	return cmpMag(a, b)
}

// numSpec is a compiled number constraint.
type numSpec struct {
	integer     bool // no fraction, no exponent
	prec        int  // maximum fraction digits (0 for integers)
	constrained bool // bounds or multipleOf: no exponent, feasibility checks
	hasLo       bool
	hasHi       bool
	lo, hi      dnum   // inclusive bounds on the 10^-prec grid
	mod         uint64 // integers only: value must be a multiple (> 1); 0: none
	negOK       bool   // a '-' can start a valid number
}

var anyNumSpec = &numSpec{prec: maxFracDigits, negOK: true}

// eps returns the grid step 10^-prec as a magnitude.
func (sp *numSpec) eps() dnum {
	if sp.prec == 0 {
		return dnum{ip: 1}
	}
	return dnum{fp: pow10[18-sp.prec]}
}

// minusEps returns m - 10^-prec (m > 0).
func (sp *numSpec) minusEps(m dnum) dnum {
	e := sp.eps()
	if m.fp >= e.fp && m.ip >= e.ip {
		return dnum{ip: m.ip - e.ip, fp: m.fp - e.fp}
	}
	// borrow
	return dnum{ip: m.ip - e.ip - 1, fp: m.fp + fracUnit - e.fp}
}

// meets reports whether the magnitude range [a, b] (on the grid), with the
// given sign, holds a valid value.
func (sp *numSpec) meets(neg bool, a, b dnum) bool {
	lo, hi := dnum{ip: a.ip, fp: a.fp}, dnum{ip: b.ip, fp: b.fp}
	if neg {
		lo, hi = dnum{neg: true, ip: b.ip, fp: b.fp}, dnum{neg: true, ip: a.ip, fp: a.fp}
	}
	if sp.hasLo && cmpD(lo, sp.lo) < 0 {
		lo = sp.lo
	}
	if sp.hasHi && cmpD(hi, sp.hi) > 0 {
		hi = sp.hi
	}
	if cmpD(lo, hi) > 0 {
		return false
	}
	if sp.mod > 1 {
		l, h := toInt(lo), toInt(hi)
		return floorDiv(h, int64(sp.mod))*int64(sp.mod) >= l
	}
	return true
}

func toInt(d dnum) int64 {
	if d.neg {
		return -int64(d.ip)
	}
	return int64(d.ip)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// numDigits unpacks the digit counters of a number frame.
func numDigits(f *frame) (d, k, x int) {
	return int(f.i & 0xff), int(f.i >> 8 & 0xff), int(f.i >> 16 & 0xff)
}

func setNumDigits(f *frame, d, k, x int) { f.i = int32(d | k<<8 | x<<16) }

// feasible reports whether the number prefix in f can still be completed to
// a valid number (only meaningful for constrained specs).
func (sp *numSpec) feasible(f *frame) bool {
	if !sp.constrained {
		return true
	}
	neg := f.e&1 != 0
	d, k, _ := numDigits(f)
	switch f.st {
	case nSign:
		return sp.meets(true, dnum{}, sp.minusEps(dnum{ip: pow10[maxIntDigits]}))
	case nZero:
		if sp.prec == 0 {
			return sp.meets(neg, dnum{}, dnum{})
		}
		return sp.meets(neg, dnum{}, sp.minusEps(dnum{ip: 1}))
	case nInt:
		v := f.u
		top := dnum{ip: v}
		if sp.prec > 0 {
			top = sp.minusEps(dnum{ip: v + 1})
		}
		if sp.meets(neg, dnum{ip: v}, top) {
			return true
		}
		for m := 1; d+m <= maxIntDigits; m++ {
			a := dnum{ip: v * pow10[m]}
			b := sp.minusEps(dnum{ip: (v + 1) * pow10[m]})
			if sp.meets(neg, a, b) {
				return true
			}
		}
		return false
	case nDot:
		return sp.meets(neg, dnum{ip: f.u}, sp.minusEps(dnum{ip: f.u + 1}))
	case nFrac:
		a := dnum{ip: f.u, fp: f.v}
		if k >= sp.prec {
			return sp.meets(neg, a, a)
		}
		b := a
		b.fp += pow10[18-k]
		if b.fp >= fracUnit {
			b.fp -= fracUnit
			b.ip++
		}
		return sp.meets(neg, a, sp.minusEps(b))
	}
	return true
}

// valid reports whether the complete number in f satisfies the spec.
func (sp *numSpec) valid(f *frame) bool {
	switch f.st {
	case nZero, nInt, nFrac, nExp:
	default:
		return false
	}
	if !sp.constrained {
		return true
	}
	v := dnum{neg: f.e&1 != 0, ip: f.u, fp: f.v}
	return sp.meets(v.neg, v, v)
}

// numStep feeds byte b to the number frame f.
func numStep(f *frame, b byte) action {
	sp := f.n.num
	d, k, x := numDigits(f)
	isDigit := b >= '0' && b <= '9'
	switch f.st {
	case nStart, nSign:
		if b == '-' && f.st == nStart {
			if !sp.negOK {
				return actReject
			}
			f.e |= 1
			f.st = nSign
			return actOK
		}
		if !isDigit {
			return actReject
		}
		f.u = uint64(b - '0')
		setNumDigits(f, 1, 0, 0)
		if b == '0' {
			f.st = nZero
		} else {
			f.st = nInt
		}
		if !sp.feasible(f) {
			return actReject
		}
		return actOK
	case nZero, nInt:
		if isDigit && f.st == nInt && d < maxIntDigits {
			save := *f
			f.u = f.u*10 + uint64(b-'0')
			setNumDigits(f, d+1, 0, 0)
			if sp.feasible(f) {
				return actOK
			}
			*f = save
		}
		if b == '.' && sp.prec > 0 {
			save := *f
			f.st = nDot
			if sp.feasible(f) {
				return actOK
			}
			*f = save
		}
		if (b == 'e' || b == 'E') && !sp.constrained && !sp.integer {
			f.st = nE
			return actOK
		}
	case nDot:
		if !isDigit {
			return actReject
		}
		f.v = uint64(b-'0') * pow10[17]
		setNumDigits(f, d, 1, 0)
		f.st = nFrac
		if !sp.feasible(f) {
			return actReject
		}
		return actOK
	case nFrac:
		if isDigit && k < sp.prec {
			save := *f
			f.v += uint64(b-'0') * pow10[17-k]
			setNumDigits(f, d, k+1, 0)
			if sp.feasible(f) {
				return actOK
			}
			*f = save
		} else if b == '0' && k < maxFracDigits {
			setNumDigits(f, d, k+1, 0) // trailing zeros beyond multipleOf's precision
			return actOK
		}
		if (b == 'e' || b == 'E') && !sp.constrained {
			f.st = nE
			return actOK
		}
	case nE:
		if b == '+' || b == '-' {
			f.st = nESign
			return actOK
		}
		if isDigit {
			f.st = nExp
			setNumDigits(f, d, k, 1)
			return actOK
		}
		return actReject
	case nESign:
		if isDigit {
			f.st = nExp
			setNumDigits(f, d, k, 1)
			return actOK
		}
		return actReject
	case nExp:
		if isDigit && x < maxExpDigits {
			setNumDigits(f, d, k, x+1)
			return actOK
		}
	}
	// The byte does not continue the number: the number ends before it.
	if sp.valid(f) {
		return actPopRefeed
	}
	return actReject
}

// numFinish returns the shortest bytes that complete the number in f
// (possibly none), and false when there is no completion.
func (sp *numSpec) finish(f frame) ([]byte, bool) {
	if !sp.constrained {
		switch f.st {
		case nZero, nInt, nFrac, nExp:
			return nil, true
		}
		return []byte("0"), true
	}
	if sp.valid(&f) {
		return nil, true
	}
	d, k, _ := numDigits(&f)
	dot := f.st == nDot || f.st == nFrac
	var prefix strings.Builder
	if f.e&1 != 0 {
		prefix.WriteByte('-')
	}
	if d > 0 {
		if f.st == nZero {
			prefix.WriteByte('0')
		} else {
			prefix.WriteString(uitoa(f.u))
		}
	}
	var curFrac uint64
	if dot {
		prefix.WriteByte('.')
		curFrac = f.v / pow10[18-k]
		prefix.WriteString(padDigits(curFrac, k))
	}
	pre := prefix.String()

	scale := new(big.Int).SetUint64(fracUnit)
	toBig := func(ip, fp uint64) *big.Int {
		v := new(big.Int).SetUint64(ip)
		v.Mul(v, scale)
		return v.Add(v, new(big.Int).SetUint64(fp))
	}
	var lo, hi *big.Int
	if sp.hasLo {
		lo = toBig(sp.lo.ip, sp.lo.fp)
		if sp.lo.neg {
			lo.Neg(lo)
		}
	}
	if sp.hasHi {
		hi = toBig(sp.hi.ip, sp.hi.fp)
		if sp.hi.neg {
			hi.Neg(hi)
		}
	}
	best := ""
	found := false
	signs := []bool{f.e&1 != 0}
	if f.st == nStart {
		signs = []bool{false}
		if sp.negOK {
			signs = append(signs, true)
		}
	}
	for _, neg := range signs {
		lmin, lmax := max(d, 1), maxIntDigits
		if dot {
			lmin, lmax = d, d
		}
		for L := lmin; L <= lmax; L++ {
			var wlo, whi uint64
			switch {
			case d >= 1 && f.st == nZero && !dot:
				if L != 1 {
					continue
				}
			case d >= 1:
				wlo, whi = f.u*pow10[L-d], (f.u+1)*pow10[L-d]-1
			case L == 1:
				wlo, whi = 0, 9
			default:
				wlo, whi = pow10[L-1], pow10[L]-1
			}
			kmin, kmax := 0, sp.prec
			if dot {
				kmin = max(k, 1)
			}
			for kk := kmin; kk <= kmax; kk++ {
				var flo, fhi uint64
				if dot {
					flo, fhi = curFrac*pow10[kk-k], (curFrac+1)*pow10[kk-k]-1
				} else if kk > 0 {
					flo, fhi = 0, pow10[kk]-1
				}
				a := toBig(wlo, flo*pow10[18-kk])
				b := toBig(whi, fhi*pow10[18-kk])
				if neg {
					a, b = b.Neg(b), a.Neg(a)
				}
				if lo != nil && a.Cmp(lo) < 0 {
					a = lo
				}
				if hi != nil && b.Cmp(hi) > 0 {
					b = hi
				}
				g := new(big.Int).SetUint64(pow10[18-kk])
				if sp.mod > 1 {
					g.Mul(new(big.Int).SetUint64(sp.mod), scale)
				}
				// smallest multiple of g that is >= a
				p := new(big.Int).Set(a)
				m := new(big.Int)
				p.DivMod(p, g, m)
				if m.Sign() != 0 {
					p.Add(p, big.NewInt(1))
				}
				p.Mul(p, g)
				if p.Cmp(b) > 0 {
					continue
				}
				text := renderScaled(p, neg, kk)
				if !strings.HasPrefix(text, pre) {
					continue
				}
				if s := text[len(pre):]; !found || len(s) < len(best) {
					best, found = s, true
				}
			}
		}
	}
	return []byte(best), found
}

// renderScaled renders p·10^-18 with exactly kk fraction digits.
func renderScaled(p *big.Int, neg bool, kk int) string {
	abs := new(big.Int).Abs(p)
	ip, fp := new(big.Int).DivMod(abs, new(big.Int).SetUint64(fracUnit), new(big.Int))
	s := ip.String()
	if neg {
		s = "-" + s
	}
	if kk > 0 {
		s += "." + padDigits(fp.Uint64()/pow10[18-kk], kk)
	}
	return s
}

func uitoa(v uint64) string {
	return new(big.Int).SetUint64(v).String()
}

func padDigits(v uint64, n int) string {
	if n == 0 {
		return ""
	}
	s := uitoa(v)
	for len(s) < n {
		s = "0" + s
	}
	return s
}
