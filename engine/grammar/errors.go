package grammar

import "fmt"

// UnsupportedError reports a JSON Schema keyword, value or combination that
// the package cannot enforce. CompileSchema never ignores a keyword that
// constrains values: it returns this error instead.
type UnsupportedError struct {
	Feature string // the keyword or construct, e.g. "multipleOf 0.3", `format "uri"` or "not"
	Path    string // JSON pointer to the schema object holding it, e.g. "/properties/age"
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("grammar: unsupported JSON Schema feature %s at %q", e.Feature, ptrOrRoot(e.Path))
}

// SchemaError reports a schema that is not valid JSON, is not a JSON Schema,
// or accepts no value at all.
type SchemaError struct {
	Path string // JSON pointer to the offending schema object ("" is the root)
	Msg  string
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("grammar: invalid schema at %q: %s", ptrOrRoot(e.Path), e.Msg)
}

func ptrOrRoot(p string) string {
	if p == "" {
		return "#"
	}
	return p
}

func unsupported(path, format string, args ...any) error {
	return &UnsupportedError{Feature: fmt.Sprintf(format, args...), Path: path}
}

func schemaErr(path, format string, args ...any) error {
	return &SchemaError{Path: path, Msg: fmt.Sprintf(format, args...)}
}
