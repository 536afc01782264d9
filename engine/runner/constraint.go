package runner

import "github.com/bitnet-desktop/bitnet-desktop/engine"

// newConstraint returns the constraint of a Format, or nil for plain text.
func (r *Runner) newConstraint(f engine.Format) (constraint, error) {
	if f.Type == engine.FormatText {
		return nil, nil
	}
	return nil, engine.Errorf(engine.CodeInvalidRequest, map[string]any{"param": "response_format"}, "structured outputs are not available")
}
