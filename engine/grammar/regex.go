package grammar

import (
	"regexp/syntax"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Patterns are parsed with Go's regexp/syntax (RE2 syntax, a practical subset
// of ECMA-262: literals, classes, \d \w \s, ., ?, *, +, {m,n}, alternation,
// groups) and compiled here into a byte NFA, then a DFA. The whole string must
// match: ^ and $ are accepted at the start and end and are implicit anyway
// (a full match is also a match of the unanchored ECMA search, so this is
// stricter than JSON Schema, never looser). Lookaround, backreferences, word
// boundaries, multi-line anchors and anchors inside the pattern are
// unsupported. Character classes never produce the non-ASCII whitespace that
// ECMA's \s contains and RE2's does not, so \S means the same under both.

// compileRegex compiles a JSON Schema pattern to a DFA over the decoded
// string bytes. path locates the schema for errors.
func compileRegex(pattern, path string) (*dfa, error) {
	re, err := syntax.Parse(translateECMA(pattern), syntax.Perl)
	if err != nil {
		feature := "pattern syntax"
		if e, ok := err.(*syntax.Error); ok {
			feature = "pattern: " + string(e.Code) + " " + e.Expr
		}
		return nil, unsupported(path, "%s", feature)
	}
	re = re.Simplify()
	if err := checkAnchors(re, true, true); err != "" {
		return nil, unsupported(path, "pattern: %s", err)
	}
	a := &nfa{}
	f, bad := regexFrag(a, re)
	if bad != "" {
		return nil, unsupported(path, "pattern: %s", bad)
	}
	a.states[f.out].label = 0
	d, err := a.determinize(f.in)
	if err != nil {
		return nil, unsupported(path, "pattern too complex")
	}
	return d, nil
}

// translateECMA rewrites the ECMA escapes \uXXXX and \u{X...} into RE2's
// \x{XXXX}; everything else is passed through.
func translateECMA(p string) string {
	if !strings.Contains(p, `\u`) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) {
			if p[i+1] == 'u' {
				if i+6 <= len(p) && isHex4(p[i+2:i+6]) {
					b.WriteString(`\x{` + p[i+2:i+6] + `}`)
					i += 5
					continue
				}
				if i+2 < len(p) && p[i+2] == '{' {
					if j := strings.IndexByte(p[i:], '}'); j > 0 {
						b.WriteString(`\x` + p[i+2:i+j+1])
						i += j
						continue
					}
				}
			}
			b.WriteByte(p[i])
			b.WriteByte(p[i+1])
			i++
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func isHex4(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		if hexVal(s[i]) < 0 {
			return false
		}
	}
	return true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// checkAnchors accepts ^ only where nothing can precede it and $ only where
// nothing can follow it; it returns a description of the first violation.
func checkAnchors(re *syntax.Regexp, atStart, atEnd bool) string {
	switch re.Op {
	case syntax.OpBeginText:
		if !atStart {
			return "^ not at the start"
		}
	case syntax.OpEndText:
		if !atEnd {
			return "$ not at the end"
		}
	case syntax.OpBeginLine, syntax.OpEndLine:
		return "multi-line anchors"
	case syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return `word boundary \b`
	case syntax.OpConcat:
		for i, sub := range re.Sub {
			s := atStart
			for _, prev := range re.Sub[:i] {
				if !zeroWidth(prev) {
					s = false
				}
			}
			e := atEnd
			for _, next := range re.Sub[i+1:] {
				if !zeroWidth(next) {
					e = false
				}
			}
			if err := checkAnchors(sub, s, e); err != "" {
				return err
			}
		}
	case syntax.OpAlternate, syntax.OpCapture:
		for _, sub := range re.Sub {
			if err := checkAnchors(sub, atStart, atEnd); err != "" {
				return err
			}
		}
	default:
		for _, sub := range re.Sub {
			if err := checkAnchors(sub, false, false); err != "" {
				return err
			}
		}
	}
	return ""
}

func zeroWidth(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginText, syntax.OpEndText, syntax.OpEmptyMatch:
		return true
	case syntax.OpCapture:
		return zeroWidth(re.Sub[0])
	}
	return false
}

// exoticSpace lists the non-ASCII characters ECMA's \s matches (plus \v);
// character classes never produce them (see the file comment).
var exoticSpace = []rune{0x0B, 0xA0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
	0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF}

// regexFrag compiles re into a fragment of a; it returns a description of an
// unsupported construct instead when it meets one.
func regexFrag(a *nfa, re *syntax.Regexp) (frag, string) {
	switch re.Op {
	case syntax.OpNoMatch:
		return frag{a.newState(), a.newState()}, ""
	case syntax.OpEmptyMatch, syntax.OpBeginText, syntax.OpEndText:
		s := a.newState()
		return frag{s, s}, ""
	case syntax.OpLiteral:
		in := a.newState()
		cur := in
		for _, r := range re.Rune {
			var ranges []rune
			if re.Flags&syntax.FoldCase != 0 {
				for f := unicode.SimpleFold(r); ; f = unicode.SimpleFold(f) {
					ranges = append(ranges, f, f)
					if f == r {
						break
					}
				}
			} else {
				ranges = []rune{r, r}
			}
			f := runeRanges(a, ranges, false)
			a.eps(cur, f.in)
			cur = f.out
		}
		return frag{in, cur}, ""
	case syntax.OpCharClass:
		return runeRanges(a, re.Rune, true), ""
	case syntax.OpAnyCharNotNL:
		// ECMA '.' excludes all line terminators.
		return runeRanges(a, []rune{0, 0x09, 0x0B, 0x0C, 0x0E, 0x2027, 0x202A, utf8.MaxRune}, false), ""
	case syntax.OpAnyChar:
		return runeRanges(a, []rune{0, utf8.MaxRune}, false), ""
	case syntax.OpCapture:
		return regexFrag(a, re.Sub[0])
	case syntax.OpConcat:
		in := a.newState()
		cur := in
		for _, sub := range re.Sub {
			f, bad := regexFrag(a, sub)
			if bad != "" {
				return f, bad
			}
			a.eps(cur, f.in)
			cur = f.out
		}
		return frag{in, cur}, ""
	case syntax.OpAlternate:
		in, out := a.newState(), a.newState()
		for _, sub := range re.Sub {
			f, bad := regexFrag(a, sub)
			if bad != "" {
				return f, bad
			}
			a.eps(in, f.in)
			a.eps(f.out, out)
		}
		return frag{in, out}, ""
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		f, bad := regexFrag(a, re.Sub[0])
		if bad != "" {
			return f, bad
		}
		in, out := a.newState(), a.newState()
		a.eps(in, f.in)
		a.eps(f.out, out)
		if re.Op != syntax.OpPlus {
			a.eps(in, out)
		}
		if re.Op != syntax.OpQuest {
			a.eps(f.out, f.in)
		}
		return frag{in, out}, ""
	case syntax.OpRepeat:
		// Simplify removes repeats; keep a direct expansion for safety.
		if re.Max > 1000 || re.Min > 1000 {
			return frag{}, "repeat count too large"
		}
		in := a.newState()
		cur := in
		for i := 0; i < re.Min; i++ {
			f, bad := regexFrag(a, re.Sub[0])
			if bad != "" {
				return f, bad
			}
			a.eps(cur, f.in)
			cur = f.out
		}
		if re.Max < 0 {
			f, bad := regexFrag(a, &syntax.Regexp{Op: syntax.OpStar, Sub: re.Sub})
			if bad != "" {
				return f, bad
			}
			a.eps(cur, f.in)
			cur = f.out
		} else {
			out := a.newState()
			a.eps(cur, out)
			for i := re.Min; i < re.Max; i++ {
				f, bad := regexFrag(a, re.Sub[0])
				if bad != "" {
					return f, bad
				}
				a.eps(cur, f.in)
				cur = f.out
				a.eps(cur, out)
			}
			cur = out
		}
		return frag{in, cur}, ""
	case syntax.OpBeginLine, syntax.OpEndLine:
		return frag{}, "multi-line anchors"
	case syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return frag{}, `word boundary \b`
	}
	return frag{}, "operator " + re.Op.String()
}

// runeRanges compiles a sorted list of rune ranges (lo0, hi0, lo1, hi1...)
// into a fragment matching one character in them, as UTF-8 bytes. Surrogates
// are never matched; class also removes the exotic whitespace.
func runeRanges(a *nfa, ranges []rune, class bool) frag {
	in, out := a.newState(), a.newState()
	// Byte sequences share their common suffixes (as RE2 compiles UTF-8
	// ranges): the state reading byte range r into state next is made once.
	// This keeps the NFA, and the DFA built from it, small for large classes
	// such as \p{L}.
	type key struct {
		lo, hi byte
		next   int32
	}
	made := map[key]int32{}
	emit := func(seq [][2]byte) {
		next := out
		for i := len(seq) - 1; i >= 1; i-- {
			k := key{seq[i][0], seq[i][1], next}
			s, ok := made[k]
			if !ok {
				s = a.newState()
				a.edge(s, k.lo, k.hi, next)
				made[k] = s
			}
			next = s
		}
		a.edge(in, seq[0][0], seq[0][1], next)
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		for _, r := range subtractRunes(lo, hi, class) {
			utf8Sequences(r[0], r[1], emit)
		}
	}
	return frag{in, out}
}

// subtractRunes removes surrogates (and with class the exotic whitespace)
// from [lo, hi].
func subtractRunes(lo, hi rune, class bool) [][2]rune {
	holes := [][2]rune{{0xD800, 0xDFFF}}
	if class {
		for _, r := range exoticSpace {
			holes = append(holes, [2]rune{r, r})
		}
	}
	out := [][2]rune{{lo, hi}}
	for _, h := range holes {
		var next [][2]rune
		for _, r := range out {
			if h[1] < r[0] || h[0] > r[1] {
				next = append(next, r)
				continue
			}
			if r[0] < h[0] {
				next = append(next, [2]rune{r[0], h[0] - 1})
			}
			if r[1] > h[1] {
				next = append(next, [2]rune{h[1] + 1, r[1]})
			}
		}
		out = next
	}
	return out
}

// utf8Sequences splits the (surrogate-free) rune range [lo, hi] into ranges
// of byte sequences, as RE2 and Rust's regex do: each emitted sequence is a
// list of byte ranges whose product is exactly a sub-range of runes.
func utf8Sequences(lo, hi rune, emit func([][2]byte)) {
	if lo > hi {
		return
	}
	for _, max := range []rune{0x7F, 0x7FF, 0xFFFF} {
		if lo <= max && hi > max {
			utf8Sequences(lo, max, emit)
			utf8Sequences(max+1, hi, emit)
			return
		}
	}
	if hi <= 0x7F {
		emit([][2]byte{{byte(lo), byte(hi)}})
		return
	}
	n := utf8.RuneLen(lo)
	for i := 1; i < n; i++ {
		m := rune(1)<<(6*i) - 1
		if lo&^m != hi&^m {
			if lo&m != 0 {
				utf8Sequences(lo, lo|m, emit)
				utf8Sequences((lo|m)+1, hi, emit)
				return
			}
			if hi&m != m {
				utf8Sequences(lo, (hi&^m)-1, emit)
				utf8Sequences(hi&^m, hi, emit)
				return
			}
		}
	}
	var bl, bh [4]byte
	utf8.EncodeRune(bl[:], lo)
	utf8.EncodeRune(bh[:], hi)
	seq := make([][2]byte, n)
	for i := 0; i < n; i++ {
		seq[i] = [2]byte{bl[i], bh[i]}
	}
	emit(seq)
}

// literalsDFA returns a DFA accepting exactly the given strings; string i is
// accepted with label labels[i] (or 0 when labels is nil).
func literalsDFA(strs []string, labels []int32) (*dfa, error) {
	a := &nfa{}
	in := a.newState()
	for i, s := range strs {
		f := a.literal([]byte(s))
		a.eps(in, f.in)
		if labels != nil {
			a.states[f.out].label = labels[i]
		} else {
			a.states[f.out].label = 0
		}
	}
	return a.determinize(in)
}

// anyStringDFA accepts every valid UTF-8 string (built once; DFAs are read
// only once built).
var anyStringDFA = sync.OnceValues(func() (*dfa, error) {
	a := &nfa{}
	in := a.newState()
	f := runeRanges(a, []rune{0, utf8.MaxRune}, false)
	a.eps(in, f.in)
	a.eps(f.out, in)
	a.states[in].label = 0
	return a.determinize(in)
})
