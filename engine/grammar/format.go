package grammar

import "sync"

// Formats are compiled to patterns that describe a strict subset of each
// format (for instance only upper-case T and Z in date-time, seconds 00-59,
// e-mail addresses of the common shape: letters, digits and _ + - in dotted
// local parts, a top-level domain of letters), so that a generated value
// passes the usual validators too (JSON Schema's, zod's .email()). Calendar
// rules are exact: day 31 only in long months, February 29 only in leap
// years. (zod's .time() and .datetime() differ from JSON Schema: "time"
// here carries an offset, as RFC 3339 requires.)
const (
	reYear  = `[0-9]{4}`
	reLeap  = `(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)`
	reMD    = `(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))`
	reDate  = `(?:` + reYear + `-` + reMD + `|` + reLeap + `-02-29)`
	reTime  = `(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])`
	reAtom  = `[A-Za-z0-9_+-]`
	reLabel = `[A-Za-z0-9](?:[A-Za-z0-9-]{0,18}[A-Za-z0-9])?`
	reHex   = `[0-9a-fA-F]`
)

var formatPatterns = map[string]string{
	"date":      reDate,
	"time":      reTime,
	"date-time": reDate + `T` + reTime,
	"email":     reAtom + `{1,32}(?:\.` + reAtom + `{1,31})?@` + reLabel + `(?:\.` + reLabel + `){0,2}\.[A-Za-z]{2,6}`,
	"uuid":      reHex + `{8}-` + reHex + `{4}-` + reHex + `{4}-` + reHex + `{4}-` + reHex + `{12}`,
	"ipv4":      `(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])`,
	"hostname":  reLabel + `(?:\.` + reLabel + `){0,3}`,
}

var formatCache sync.Map // name -> *dfa

// formatDFA returns the DFA of a supported format, or an UnsupportedError.
func formatDFA(name, path string) (*dfa, error) {
	if d, ok := formatCache.Load(name); ok {
		return d.(*dfa), nil
	}
	p, ok := formatPatterns[name]
	if !ok {
		return nil, unsupported(path, "format %q", name)
	}
	d, err := compileRegex(p, path)
	if err != nil {
		return nil, err
	}
	formatCache.Store(name, d)
	return d, nil
}
