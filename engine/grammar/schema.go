package grammar

import (
	"net/url"
	"strconv"
	"strings"
)

// maxShortest bounds the shortest document a schema may require, in bytes:
// far beyond any context (a 4096-token answer is about 16 KB).
const maxShortest = 1 << 20

// CompileSchema compiles a JSON Schema (draft 2020-12, also accepting the
// usual draft-07 spellings: definitions, items as an array, additionalItems,
// boolean exclusiveMinimum/Maximum) into a Grammar whose documents are valid
// against it. See the package documentation for what is supported; anything
// else that constrains values yields an *UnsupportedError, and a schema that
// is not valid JSON, is malformed or accepts no value yields a *SchemaError.
func CompileSchema(schema []byte) (*Grammar, error) {
	root, err := parseJSON(schema)
	if err != nil {
		return nil, schemaErr("", "not valid JSON: %v", err)
	}
	c := &compiler{root: root, memo: map[*jval]*node{}}
	n, err := c.compile(root, "")
	if err != nil {
		return nil, err
	}
	if err := finalizeNodes(c.nodes); err != nil {
		return nil, unsupported("", "schema too complex (%v)", err)
	}
	if n.cost >= inf {
		return nil, schemaErr("", "the schema accepts no value")
	}
	// A document no answer could finish (minItems up to 1<<30, nested):
	// refused here rather than built when the answer must end.
	if n.cost > maxShortest {
		return nil, schemaErr("", "the shortest value the schema accepts is %d bytes, more than %d", n.cost, maxShortest)
	}
	return newGrammar(n), nil
}

// Keywords that only annotate (or only hold subschemas for $ref).
var annotationKeys = setOf("title", "description", "examples", "default", "$schema", "$id",
	"$comment", "deprecated", "readOnly", "writeOnly", "$anchor", "$dynamicAnchor",
	"$recursiveAnchor", "$vocabulary", "contentEncoding", "contentMediaType", "contentSchema",
	"$defs", "definitions")

// Keywords that constrain values and are not supported.
var unsupportedKeys = setOf("not", "if", "then", "else", "dependentRequired", "dependentSchemas",
	"dependencies", "patternProperties", "propertyNames", "unevaluatedProperties",
	"unevaluatedItems", "contains", "minContains", "maxContains", "$dynamicRef", "$recursiveRef")

// Keywords handled by the compiler. Keywords in none of the three sets are
// unknown to JSON Schema and, as in any validator, ignored.
var handledKeys = setOf("type", "enum", "const", "properties", "required",
	"additionalProperties", "items", "prefixItems", "additionalItems", "minItems", "maxItems",
	"uniqueItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum",
	"exclusiveMinimum", "exclusiveMaximum", "multipleOf", "anyOf", "oneOf", "allOf", "$ref",
	"minProperties", "maxProperties")

var (
	objectKeys = setOf("properties", "required", "additionalProperties", "minProperties", "maxProperties")
	arrayKeys  = setOf("items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems")
	stringKeys = setOf("minLength", "maxLength", "pattern", "format")
	numberKeys = setOf("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
)

func setOf(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// maxCompileDepth bounds nested compilation (deep schemas, or recursion that
// goes through allOf and so is never shared).
const maxCompileDepth = 200

type compiler struct {
	root  *jval
	memo  map[*jval]*node // schema object -> node, so that $ref cycles close
	nodes []*node
	depth int
}

func (c *compiler) newNode() *node {
	n := &node{}
	c.nodes = append(c.nodes, n)
	return n
}

// compile returns the node of schema v found at path.
func (c *compiler) compile(v *jval, path string) (*node, error) {
	if n := c.memo[v]; n != nil {
		return n, nil
	}
	if c.depth >= maxCompileDepth {
		return nil, unsupported(path, "schema nested too deeply (or recursive through allOf)")
	}
	c.depth++
	defer func() { c.depth-- }()
	n := c.newNode()
	c.memo[v] = n
	return n, c.fill(n, v, path)
}

// hasConstraints reports whether v has a constraining keyword besides skip.
func hasConstraints(v *jval, skip ...string) bool {
outer:
	for _, k := range v.keys {
		for _, s := range skip {
			if k == s {
				continue outer
			}
		}
		if handledKeys[k] || unsupportedKeys[k] {
			return true
		}
	}
	return false
}

func (c *compiler) fill(n *node, v *jval, path string) error {
	switch v.kind {
	case jBool:
		if v.b {
			n.kind, n.alts = kUnion, []*node{anyNode}
		} else {
			n.kind = kNever
		}
		return nil
	case jObject:
	default:
		return schemaErr(path, "a schema must be an object or a boolean, not %s", v.kind)
	}
	for _, k := range v.keys {
		if unsupportedKeys[k] {
			return unsupported(path, "%s", k)
		}
	}
	if ref := v.get("$ref"); ref != nil {
		if !hasConstraints(v, "$ref") {
			t, tpath, err := c.resolve(ref, path)
			if err != nil {
				return err
			}
			tn, err := c.compile(t, tpath)
			if err != nil {
				return err
			}
			n.kind, n.alts = kUnion, []*node{tn}
			return nil
		}
		m, err := c.merge(path, []*jval{v})
		if err != nil {
			return err
		}
		return c.fill(n, m, path)
	}
	if v.get("allOf") != nil {
		m, err := c.merge(path, []*jval{v})
		if err != nil {
			return err
		}
		return c.fill(n, m, path)
	}
	any, one := v.get("anyOf"), v.get("oneOf")
	if any != nil && one != nil {
		return unsupported(path, "anyOf together with oneOf")
	}
	if any != nil || one != nil {
		kw, list := "anyOf", any
		if one != nil {
			kw, list = "oneOf", one
		}
		if list.kind != jArray || len(list.arr) == 0 {
			return schemaErr(path, "%s must be a non-empty array", kw)
		}
		n.kind = kUnion
		if !hasConstraints(v, kw) {
			for i, a := range list.arr {
				an, err := c.compile(a, path+"/"+kw+"/"+strconv.Itoa(i))
				if err != nil {
					return err
				}
				n.alts = append(n.alts, an)
			}
			return nil
		}
		// The keywords beside anyOf apply to every alternative.
		base := v.clone()
		base.del(kw)
		for i, a := range list.arr {
			p := path + "/" + kw + "/" + strconv.Itoa(i)
			m, err := c.merge(p, []*jval{base, a})
			if err != nil {
				return err
			}
			an, err := c.compile(m, p)
			if err != nil {
				return err
			}
			n.alts = append(n.alts, an)
		}
		return nil
	}
	return c.plain(n, v, path)
}

// resolve finds the target of a local $ref ("#" or "#/json/pointer").
func (c *compiler) resolve(ref *jval, path string) (*jval, string, error) {
	if ref.kind != jString {
		return nil, "", schemaErr(path, "$ref must be a string")
	}
	s := ref.s
	if !strings.HasPrefix(s, "#") {
		return nil, "", unsupported(path, "$ref %q (only references inside the schema, #/...)", s)
	}
	frag, err := url.PathUnescape(s[1:])
	if err != nil {
		return nil, "", schemaErr(path, "bad $ref %q", s)
	}
	if frag == "" {
		return c.root, "", nil
	}
	if frag[0] != '/' {
		return nil, "", unsupported(path, "$ref to an anchor (%q)", s)
	}
	cur := c.root
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch cur.kind {
		case jObject:
			cur = cur.get(tok)
		case jArray:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(cur.arr) {
				cur = nil
			} else {
				cur = cur.arr[i]
			}
		default:
			cur = nil
		}
		if cur == nil {
			return nil, "", schemaErr(path, "$ref %q not found", s)
		}
	}
	return cur, frag, nil
}

// Type bits.
const (
	tNull = 1 << iota
	tBool
	tObject
	tArray
	tString
	tNumber
	tInteger
	tAll = tNull | tBool | tObject | tArray | tString | tNumber
)

var typeNames = map[string]int{"null": tNull, "boolean": tBool, "object": tObject,
	"array": tArray, "string": tString, "number": tNumber, "integer": tInteger}

// typeSet returns the types v allows. Without "type" the types are those
// whose keywords appear (a schema with "properties" is taken to describe an
// object: stricter than JSON Schema, which lets other types through
// unconstrained), or every type.
func typeSet(v *jval, path string) (int, error) {
	t := v.get("type")
	if t == nil {
		set := 0
		for _, k := range v.keys {
			switch {
			case objectKeys[k]:
				set |= tObject
			case arrayKeys[k]:
				set |= tArray
			case stringKeys[k]:
				set |= tString
			case numberKeys[k]:
				set |= tNumber
			}
		}
		if set == 0 {
			set = tAll
		}
		return set, nil
	}
	var names []*jval
	switch t.kind {
	case jString:
		names = []*jval{t}
	case jArray:
		names = t.arr
	default:
		return 0, schemaErr(path, "type must be a string or an array")
	}
	set := 0
	for _, nm := range names {
		b, ok := typeNames[nm.s]
		if nm.kind != jString || !ok {
			return 0, schemaErr(path, "unknown type %q", nm.s)
		}
		set |= b
	}
	if set&tNumber != 0 {
		set &^= tInteger
	}
	return set, nil
}

// plain compiles a schema without $ref, allOf, anyOf and oneOf.
func (c *compiler) plain(n *node, v *jval, path string) error {
	types, err := typeSet(v, path)
	if err != nil {
		return err
	}
	if v.get("enum") != nil || v.get("const") != nil {
		return c.enum(n, v, types, path)
	}
	var fills []func(*node) error
	if types&tObject != 0 {
		fills = append(fills, func(x *node) error { return c.objectNode(x, v, path) })
	}
	if types&tArray != 0 {
		fills = append(fills, func(x *node) error { return c.arrayNode(x, v, path) })
	}
	if types&tString != 0 {
		fills = append(fills, func(x *node) error { return c.stringNode(x, v, path, nil) })
	}
	if types&(tNumber|tInteger) != 0 {
		integer := types&tNumber == 0
		fills = append(fills, func(x *node) error { return c.numberNode(x, v, path, integer) })
	}
	if types&tBool != 0 {
		fills = append(fills, func(x *node) error { x.kind, x.alts = kUnion, []*node{litTrue, litFalse}; return nil })
	}
	if types&tNull != 0 {
		fills = append(fills, func(x *node) error { x.kind, x.alts = kUnion, []*node{litNull}; return nil })
	}
	switch len(fills) {
	case 0:
		n.kind = kNever
		return nil
	case 1:
		return fills[0](n)
	}
	n.kind = kUnion
	for _, f := range fills {
		x := c.newNode()
		if err := f(x); err != nil {
			return err
		}
		n.alts = append(n.alts, x)
	}
	return nil
}
