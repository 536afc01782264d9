package grammar

import (
	"errors"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// OfFormat is the grammar of an engine.Format (nil for plain text). Compiled
// schemas are cached by their text (Shared), so the server's
// check of a request and the decoding share one compilation. A schema the
// grammar cannot enforce is an invalid_request naming the keyword.
func OfFormat(f engine.Format) (*Grammar, error) {
	param := map[string]any{"param": "response_format"}
	switch f.Type {
	case engine.FormatText:
		return nil, nil
	case engine.FormatJSONObject:
		return JSONObject(), nil
	case engine.FormatJSONSchema:
		g, err := Shared.Compile(f.Schema)
		var ue *UnsupportedError
		var se *SchemaError
		switch {
		case errors.As(err, &ue):
			return nil, engine.Errorf(engine.CodeInvalidRequest, param,
				"structured outputs do not support %s (at %s in the schema)", ue.Feature, pointer(ue.Path))
		case errors.As(err, &se):
			return nil, engine.Errorf(engine.CodeInvalidRequest, param, "invalid JSON schema at %s: %s", pointer(se.Path), se.Msg)
		case err != nil:
			return nil, engine.Wrap(engine.CodeInvalidRequest, err, "JSON schema")
		}
		return g, nil
	}
	return nil, engine.Errorf(engine.CodeInvalidRequest, param, "unknown format type %q", f.Type)
}

func pointer(p string) string {
	if p == "" {
		return "#"
	}
	return "#" + p
}
