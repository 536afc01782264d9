package grammar

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jval is a parsed JSON value that keeps the order of object members, which
// the compiler needs (properties are generated in schema order and const
// objects are reproduced as written).
type jval struct {
	kind jkind
	b    bool
	s    string // string value, or the literal text of a number
	arr  []*jval
	keys []string // object member names, in order
	vals []*jval  // object member values, parallel to keys
}

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

func (k jkind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

const maxSchemaDepth = 512

// parseJSON parses one JSON document.
func parseJSON(data []byte) (*jval, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

func readValue(dec *json.Decoder, depth int) (*jval, error) {
	if depth > maxSchemaDepth {
		return nil, errors.New("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &jval{kind: jNull}, nil
	case bool:
		return &jval{kind: jBool, b: t}, nil
	case json.Number:
		return &jval{kind: jNumber, s: string(t)}, nil
	case string:
		return &jval{kind: jString, s: t}, nil
	case json.Delim:
		switch t {
		case '[':
			v := &jval{kind: jArray}
			for dec.More() {
				e, err := readValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.arr = append(v.arr, e)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return v, nil
		case '{':
			v := &jval{kind: jObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				if v.get(k) != nil {
					return nil, errors.New("duplicate object key " + strconv.Quote(k))
				}
				e, err := readValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.keys = append(v.keys, k)
				v.vals = append(v.vals, e)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return v, nil
		}
	}
	return nil, errors.New("unexpected JSON token")
}

// get returns the member k of an object, or nil.
func (v *jval) get(k string) *jval {
	if v == nil || v.kind != jObject {
		return nil
	}
	for i, key := range v.keys {
		if key == k {
			return v.vals[i]
		}
	}
	return nil
}

// clone returns a shallow copy of an object (members can then be replaced).
func (v *jval) clone() *jval {
	c := *v
	c.keys = append([]string(nil), v.keys...)
	c.vals = append([]*jval(nil), v.vals...)
	return &c
}

// set replaces or appends member k of an object.
func (v *jval) set(k string, e *jval) {
	for i, key := range v.keys {
		if key == k {
			v.vals[i] = e
			return
		}
	}
	v.keys = append(v.keys, k)
	v.vals = append(v.vals, e)
}

// del removes member k of an object.
func (v *jval) del(k string) {
	for i, key := range v.keys {
		if key == k {
			v.keys = append(v.keys[:i:i], v.keys[i+1:]...)
			v.vals = append(v.vals[:i:i], v.vals[i+1:]...)
			return
		}
	}
}

// rat returns the exact value of a number.
func (v *jval) rat() *big.Rat {
	r, ok := new(big.Rat).SetString(v.s)
	if !ok {
		return nil
	}
	return r
}

// jequal reports JSON equality: numbers compare by value, objects ignore
// member order.
func jequal(a, b *jval) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case jNull:
		return true
	case jBool:
		return a.b == b.b
	case jString:
		return a.s == b.s
	case jNumber:
		ra, rb := a.rat(), b.rat()
		return ra != nil && rb != nil && ra.Cmp(rb) == 0
	case jArray:
		if len(a.arr) != len(b.arr) {
			return false
		}
		for i := range a.arr {
			if !jequal(a.arr[i], b.arr[i]) {
				return false
			}
		}
		return true
	case jObject:
		if len(a.keys) != len(b.keys) {
			return false
		}
		for i, k := range a.keys {
			o := b.get(k)
			if o == nil || !jequal(a.vals[i], o) {
				return false
			}
		}
		return true
	}
	return false
}

// encodeJSONString returns s as a compact JSON string literal (quotes
// included), escaping only what JSON requires.
func encodeJSONString(s string) []byte {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return []byte(b.String())
}
