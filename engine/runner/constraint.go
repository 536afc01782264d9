package runner

import (
	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/grammar"
	"github.com/bitnet-desktop/bitnet-desktop/engine/tokenize"
)

// newConstraint returns the constraint of a Format, or nil for plain text.
// The vocabulary the grammar matches tokens against is built on the first
// constrained request (about 0.1 s and 10 MB for 128k tokens) and kept.
func (r *Runner) newConstraint(f engine.Format) (constraint, error) {
	g, err := grammar.OfFormat(f)
	if err != nil || g == nil {
		return nil, err
	}
	if r.vocab == nil {
		pieces, err := r.tok.Pieces()
		if err != nil {
			return nil, engine.Wrap(engine.CodeInternal, err, "structured outputs: vocabulary")
		}
		r.vocab = grammar.NewVocab(pieces, func(id int) bool { return r.tok.IsControl(int32(id)) })
	}
	return &jsonConstraint{m: g.NewMatcher(r.vocab), tok: r.tok}, nil
}

// jsonConstraint is a grammar.Matcher that also allows the model's stop
// tokens where the value may end (a top-level number such as 12 may end or
// go on), so the model chooses; the answer ends at the latest when the value
// can only end (Complete).
type jsonConstraint struct {
	m   *grammar.Matcher
	tok *tokenize.Tokenizer
}

func (c *jsonConstraint) Allows(id int32) bool {
	if c.tok.IsStop(id) {
		return c.m.CanEnd()
	}
	return c.m.Allows(id)
}

func (c *jsonConstraint) Mask(dst []uint64) []uint64 {
	dst = c.m.Mask(dst)
	if c.m.CanEnd() {
		for _, id := range c.tok.StopIDs() {
			if int(id)/64 < len(dst) {
				dst[id/64] |= 1 << (id % 64)
			}
		}
	}
	return dst
}

func (c *jsonConstraint) Accept(id int32) error {
	if c.tok.IsStop(id) && c.m.CanEnd() {
		return nil
	}
	return c.m.Accept(id)
}

func (c *jsonConstraint) Complete() bool { return c.m.Complete() }
