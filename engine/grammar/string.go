package grammar

// String frames. A string is read byte by byte: raw UTF-8 (validated), the
// short escapes \" \\ \/ \b \f \n \r \t and, in strings without a content
// automaton, \uXXXX escapes (surrogates only as valid pairs). Raw control
// bytes are never allowed. In a string with a DFA (pattern, format, enum,
// const, property names), raw bytes and short escapes feed the decoded bytes
// to the DFA; \u escapes are not offered there (the model writes the
// character itself), which keeps every prefix completable.
//
// frame.e packs the escape mode (bits 0-3), the UTF-8 state of a free string
// (bits 4-6) and a flag (bit 7): "first hex digit was D" while reading the
// second digit of \uXXXX, then "high surrogate" until the escape ends.

// String frame states.
const (
	sOpen uint8 = iota // expects the opening quote
	sBody              // inside the string
)

// Escape modes.
const (
	mNormal = iota
	mEsc    // after '\'
	mU1     // \u: expects hex digit 1
	mU2
	mU3
	mU4
	mLowBS // after a high surrogate: expects '\'
	mLowU  // expects 'u'
	mL1    // low surrogate hex digits 1..4
	mL2
	mL3
	mL4
)

const flagBit = 1 << 7

// utf8Next gives, for a UTF-8 state (1..7: continuation bytes pending), the
// range of the next byte and the state after it.
var utf8Next = [8]struct{ lo, hi, next byte }{
	{},
	{0x80, 0xBF, 0},
	{0x80, 0xBF, 1},
	{0x80, 0xBF, 2},
	{0xA0, 0xBF, 1}, // after E0 (no overlong)
	{0x80, 0x9F, 1}, // after ED (no surrogates)
	{0x90, 0xBF, 2}, // after F0 (no overlong)
	{0x80, 0x8F, 2}, // after F4 (<= U+10FFFF)
}

// utf8Lead gives the UTF-8 state after a lead byte (0: ASCII, 8: invalid).
var utf8Lead = func() (t [256]uint8) {
	for b := 0; b < 256; b++ {
		switch {
		case b < 0x80:
			t[b] = 0
		case b >= 0xC2 && b <= 0xDF:
			t[b] = 1
		case b == 0xE0:
			t[b] = 4
		case b >= 0xE1 && b <= 0xEC, b == 0xEE, b == 0xEF:
			t[b] = 2
		case b == 0xED:
			t[b] = 5
		case b == 0xF0:
			t[b] = 6
		case b >= 0xF1 && b <= 0xF3:
			t[b] = 3
		case b == 0xF4:
			t[b] = 7
		default:
			t[b] = 8
		}
	}
	return
}()

// bounded reports whether a free string counts its code points.
func (sp *strSpec) bounded() bool { return sp.dfa == nil && (sp.min > 0 || sp.max >= 0) }

// strStep feeds byte b to the string frame f; on actPop label is the key
// label of the finished string.
func strStep(f *frame, b byte) (action, int32) {
	sp := f.n.str
	if f.st == sOpen {
		if b == '"' {
			f.st = sBody
			return actOK, 0
		}
		return actReject, 0
	}
	mode := f.e & 0xf
	if mode == mNormal {
		if u := f.e >> 4 & 7; u != 0 {
			r := utf8Next[u]
			if b < r.lo || b > r.hi {
				return actReject, 0
			}
			f.e = uint16(r.next) << 4
			return actOK, 0
		}
		switch {
		case b == '"':
			if d := sp.dfa; d != nil {
				if l := d.label[f.i]; l >= 0 {
					return actPop, l
				}
				return actReject, 0
			}
			if f.j >= sp.min {
				return actPop, labelOther
			}
			return actReject, 0
		case b == '\\':
			if d := sp.dfa; d != nil {
				if d.esc[f.i] == 0 {
					return actReject, 0
				}
			} else if sp.bounded() {
				if sp.max >= 0 && f.j >= sp.max {
					return actReject, 0
				}
				f.j++
			}
			f.e = mEsc
			return actOK, 0
		case b < 0x20:
			return actReject, 0
		}
		if d := sp.dfa; d != nil {
			t := d.step(f.i, b)
			if t < 0 {
				return actReject, 0
			}
			f.i = t
			return actOK, 0
		}
		u := utf8Lead[b]
		if u == 8 {
			return actReject, 0
		}
		if sp.bounded() {
			if sp.max >= 0 && f.j >= sp.max {
				return actReject, 0
			}
			f.j++
		}
		f.e = uint16(u) << 4
		return actOK, 0
	}
	flag := f.e & flagBit
	switch mode {
	case mEsc:
		if x := escIndex[b]; x >= 0 {
			if d := sp.dfa; d != nil {
				t := d.step(f.i, escChars[x])
				if t < 0 {
					return actReject, 0
				}
				f.i = t
			}
			f.e = mNormal
			return actOK, 0
		}
		if b == 'u' && sp.dfa == nil {
			f.e = mU1
			return actOK, 0
		}
	case mU1:
		if h := hexVal(b); h >= 0 {
			f.e = mU2
			if h == 0xD {
				f.e |= flagBit
			}
			return actOK, 0
		}
	case mU2:
		if h := hexVal(b); h >= 0 {
			if flag != 0 && h >= 0xC {
				return actReject, 0 // lone low surrogate
			}
			f.e = mU3
			if flag != 0 && h >= 8 {
				f.e |= flagBit // high surrogate: a low one must follow
			}
			return actOK, 0
		}
	case mU3:
		if hexVal(b) >= 0 {
			f.e = mU4 | flag
			return actOK, 0
		}
	case mU4:
		if hexVal(b) >= 0 {
			if flag != 0 {
				f.e = mLowBS
			} else {
				f.e = mNormal
			}
			return actOK, 0
		}
	case mLowBS:
		if b == '\\' {
			f.e = mLowU
			return actOK, 0
		}
	case mLowU:
		if b == 'u' {
			f.e = mL1
			return actOK, 0
		}
	case mL1:
		if b == 'd' || b == 'D' {
			f.e = mL2
			return actOK, 0
		}
	case mL2:
		if h := hexVal(b); h >= 0xC {
			f.e = mL3
			return actOK, 0
		}
	case mL3, mL4:
		if hexVal(b) >= 0 {
			f.e = mode + 1
			if mode == mL4 {
				f.e = mNormal
			}
			return actOK, 0
		}
	}
	return actReject, 0
}

// strFinish returns the bytes that close the string frame f (closing quote
// included) and the key label of the result.
func strFinish(f frame) ([]byte, int32) {
	sp := f.n.str
	var out []byte
	if f.st == sOpen {
		out = append(out, '"')
	}
	mode := f.e & 0xf
	if d := sp.dfa; d != nil {
		s := f.i
		if mode == mEsc {
			best := -1
			for x, c := range escChars {
				if t := d.step(s, c); t >= 0 && (best < 0 || d.dist[t] < d.dist[d.step(s, escChars[best])]) {
					best = x
				}
			}
			out = append(out, escLetters[best])
			s = d.step(s, escChars[best])
		}
		for d.label[s] < 0 {
			for x := 0; x < 256; x++ {
				w := contentCost(byte(x))
				if w == 0 {
					continue
				}
				if t := d.step(s, byte(x)); t >= 0 && w+d.dist[t] == d.dist[s] {
					if w == 2 {
						out = append(out, '\\', escLetters[escByteIndex(byte(x))])
					} else {
						out = append(out, byte(x))
					}
					s = t
					break
				}
			}
		}
		return append(out, '"'), d.label[s]
	}
	flag := f.e&flagBit != 0
	switch mode {
	case mEsc:
		out = append(out, 'n')
	case mU1:
		out = append(out, "0041"...)
	case mU2:
		out = append(out, "000"...)
	case mU3:
		out = append(out, "00"...)
	case mU4:
		out = append(out, '0')
	case mLowBS:
		out = append(out, `\uDC00`...)
	case mLowU:
		out = append(out, `uDC00`...)
	case mL1:
		out = append(out, `DC00`...)
	case mL2:
		out = append(out, `C00`...)
	case mL3:
		out = append(out, `00`...)
	case mL4:
		out = append(out, '0')
	}
	if flag && (mode == mU3 || mode == mU4) {
		out = append(out, `\uDC00`...)
	}
	if mode == mNormal {
		for u := f.e >> 4 & 7; u != 0; u = uint16(utf8Next[u].next) {
			out = append(out, utf8Next[u].lo)
		}
	}
	for k := f.j; k < sp.min; k++ {
		out = append(out, 'a')
	}
	return append(out, '"'), labelOther
}

func escByteIndex(c byte) int {
	for i, x := range escChars {
		if x == c {
			return i
		}
	}
	return -1
}
