package chattmpl

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// piece of the sentinel rendering: template text, or the place of the
// content of prepared message msg.
type piece struct {
	text string
	msg  int // -1: template text
}

// markers are the candidate sentinel delimiters: runes of Supplementary
// Private Use Area-A, which no tokenizer gives a meaning and no template
// writes. The first one absent from every input is used.
var markers = []rune{'\U000F0000', '\U000F1234', '\U000F5A5A', '\U000FABCD', '\U000FFFFD', '\U0010ABCD'}

// pickMarker returns a marker rune that occurs in none of the texts.
func pickMarker(texts ...string) (rune, bool) {
next:
	for _, m := range markers {
		for _, s := range texts {
			if strings.ContainsRune(s, m) {
				continue next
			}
		}
		return m, true
	}
	return 0, false
}

// split locates the contents of msgs (prepared) in real, their rendering.
// owner maps prepared messages to the caller's indices.
func (t *Template) split(msgs []engine.Message, owner []int, o Options, real string) ([]Segment, bool) {
	texts := []string{t.src, o.BOS, o.EOS}
	for _, m := range msgs {
		texts = append(texts, m.Content)
	}
	mark, ok := pickMarker(texts...)
	if !ok {
		return nil, false
	}
	sent := make([]engine.Message, len(msgs))
	for i, m := range msgs {
		sent[i] = m
		if m.Content != "" { // an empty content stays empty: templates test it
			sent[i].Content = string(mark) + strconv.Itoa(i) + string(mark)
		}
	}
	out, err := t.exec(sent, o)
	if err != nil {
		return nil, false
	}
	pieces, ok := parseSentinels(out, mark, len(msgs))
	if !ok {
		return nil, false
	}
	chosen, ok := matchPieces(pieces, msgs, real)
	if !ok {
		return nil, false
	}
	var segs []Segment
	add := func(s Segment) {
		if s.Text == "" {
			return
		}
		if n := len(segs); n > 0 && !s.Content && !segs[n-1].Content {
			segs[n-1].Text += s.Text
			return
		}
		segs = append(segs, s)
	}
	for i, p := range pieces {
		if p.msg < 0 {
			add(Segment{Text: p.text, Message: -1})
		} else {
			add(Segment{Text: chosen[i], Content: true, Message: owner[p.msg]})
		}
	}
	return segs, true
}

// parseSentinels cuts the sentinel rendering into template text and
// content places. It fails on a malformed or unknown sentinel.
func parseSentinels(out string, mark rune, n int) ([]piece, bool) {
	var pieces []piece
	ms := string(mark)
	for {
		i := strings.Index(out, ms)
		if i < 0 {
			pieces = append(pieces, piece{text: out, msg: -1})
			return pieces, true
		}
		pieces = append(pieces, piece{text: out[:i], msg: -1})
		rest := out[i+len(ms):]
		j := strings.Index(rest, ms)
		if j <= 0 {
			return nil, false
		}
		idx, err := strconv.Atoi(rest[:j])
		if err != nil || idx < 0 || idx >= n || strconv.Itoa(idx) != rest[:j] {
			return nil, false
		}
		pieces = append(pieces, piece{msg: idx})
		out = rest[j+len(ms):]
	}
}

// contentForms returns the forms in which a template may write content c,
// most likely first: as is, and with whitespace trimmed the ways |trim,
// .strip(), .lstrip(), .rstrip() and .strip('\n') do.
func contentForms(c string) []string {
	forms := []string{
		c,
		strings.TrimSpace(c),
		strings.TrimLeftFunc(c, unicode.IsSpace),
		strings.TrimRightFunc(c, unicode.IsSpace),
		strings.Trim(c, "\n"),
		strings.TrimLeft(c, "\n"),
		strings.TrimRight(c, "\n"),
	}
	out := forms[:1]
	for _, f := range forms[1:] {
		dup := false
		for _, g := range out {
			if f == g {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

// matchPieces finds, for every content place, a form of that content such
// that the pieces put together give real. chosen[i] is the text of piece
// i when it is a content place.
func matchPieces(pieces []piece, msgs []engine.Message, real string) (chosen []string, ok bool) {
	forms := make([][]string, len(msgs))
	chosen = make([]string, len(pieces))
	type key struct{ k, p int }
	failed := map[key]bool{}
	var try func(k, p int) bool
	try = func(k, p int) bool {
		if k == len(pieces) {
			return p == len(real)
		}
		if failed[key{k, p}] {
			return false
		}
		pc := pieces[k]
		if pc.msg < 0 {
			if strings.HasPrefix(real[p:], pc.text) && try(k+1, p+len(pc.text)) {
				return true
			}
		} else {
			if forms[pc.msg] == nil {
				forms[pc.msg] = contentForms(msgs[pc.msg].Content)
			}
			for _, f := range forms[pc.msg] {
				if strings.HasPrefix(real[p:], f) && try(k+1, p+len(f)) {
					chosen[k] = f
					return true
				}
			}
		}
		failed[key{k, p}] = true
		return false
	}
	return chosen, try(0, 0)
}
