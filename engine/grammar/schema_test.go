package grammar

import (
	"errors"
	"strings"
	"testing"
)

func mustCompile(t *testing.T, schema string) *Grammar {
	t.Helper()
	g, err := CompileSchema([]byte(schema))
	if err != nil {
		t.Fatalf("%s: %v", schema, err)
	}
	return g
}

// TestSchemaDocuments checks, per feature, documents that must be accepted
// in full and documents that must be refused at a given byte.
func TestSchemaDocuments(t *testing.T) {
	for _, tc := range []struct {
		name, schema string
		cases        []textCase
	}{
		{"required and order", `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{"type":"boolean"}},"required":["b"],"additionalProperties":false}`,
			[]textCase{ok(`{"b":"x"}`), ok(`{"a":1,"b":"x","c":true}`), ok(`{"b":"x","c":false}`),
				bad(`{}`, 1), bad(`{"a":1}`, 6), bad(`{"c":true}`, 2), bad(`{"b":"x","a":1}`, 10), bad(`{"d":1}`, 2),
				bad(`{"b":"x","b":"y"}`, 10), bad(`{"a":"x"}`, 5)}},
		{"additional default", `{"type":"object","properties":{"a":{"type":"integer"}}}`,
			[]textCase{ok(`{}`), ok(`{"a":1}`), ok(`{"z":[1,"x"],"a":2,"y":null}`), bad(`{"a":"s"}`, 5)}},
		{"additional schema", `{"type":"object","properties":{"id":{"type":"string"}},"additionalProperties":{"type":"integer"}}`,
			[]textCase{ok(`{"x":1,"id":"a","y":2}`), bad(`{"x":"1"}`, 5), bad(`{"id":1}`, 6), ok(`{"i":1}`), ok(`{"idx":1}`)}},
		{"nested", `{"type":"object","properties":{"p":{"type":"object","properties":{"q":{"type":"array","items":{"type":"integer"}}},"required":["q"]}},"required":["p"]}`,
			[]textCase{ok(`{"p":{"q":[]}}`), ok(`{"p":{"q":[1,2]}}`), bad(`{"p":{}}`, 6), bad(`{"p":{"q":[1.5]}}`, 12)}},
		{"array bounds", `{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3}`,
			[]textCase{ok(`[1,2]`), ok(`[1,2,3]`), bad(`[]`, 1), bad(`[1]`, 2), bad(`[1,2,3,4]`, 6), part(`[1,2,3`)}},
		{"prefixItems", `{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false}`,
			[]textCase{ok(`[]`), ok(`["a"]`), ok(`["a",1]`), bad(`[1]`, 1), bad(`["a",1,2]`, 6)}},
		{"items array draft-07", `{"type":"array","items":[{"type":"null"}],"additionalItems":{"type":"boolean"}}`,
			[]textCase{ok(`[null,true,false]`), bad(`[true]`, 1), bad(`[null,null]`, 6)}},
		{"enum", `{"enum":["red","green","re",1,null,{"a":[1]},[true]]}`,
			[]textCase{ok(`"red"`), ok(`"re"`), ok(`1`), ok(`null`), ok(`{"a":[1]}`), ok(`[true]`), ok(`{ "a" : [ 1 ] }`),
				bad(`"r"`, 2), bad(`"blue"`, 1), bad(`2`, 0), bad(`10`, 1), bad(`{"a":[2]}`, 6), bad(`{"a":[1],"b":1}`, 8),
				bad(`[true,true]`, 5), bad(`true`, 0)}},
		{"const with escapes", `{"const":"a\"b\\c\n"}`,
			[]textCase{ok(`"a\"b\\c\n"`), bad(`"a\"b\\c\u000a"`, 9), bad(`"a"`, 2), bad(`"a\u0022b\\c\n"`, 3)}},
		{"string lengths", `{"type":"string","minLength":2,"maxLength":3}`,
			[]textCase{ok(`"ab"`), ok(`"abc"`), ok(`"é😀"`), ok(`"\n\u00e9"`), bad(`"a"`, 2), bad(`"abcd"`, 4), bad(`"😀😀😀😀"`, 13)}},
		{"pattern", `{"type":"string","pattern":"^[a-c]+-\\d{2}$"}`,
			[]textCase{ok(`"ab-12"`), bad(`"ab-1"`, 5), bad(`"ad-12"`, 2), bad(`"ab-123"`, 6), bad(`"-12"`, 1)}},
		{"pattern unanchored is full match", `{"type":"string","pattern":"x"}`,
			[]textCase{ok(`"x"`), bad(`"ax"`, 1), bad(`"xa"`, 2)}},
		{"pattern escapes", `{"type":"string","pattern":"^a\\\\b\"c\\nd$"}`,
			[]textCase{ok(`"a\\b\"c\nd"`), bad(`"a\u005cb\"c\nd"`, 3)}},
		{"date", `{"type":"string","format":"date"}`,
			[]textCase{ok(`"2024-02-29"`), ok(`"2000-02-29"`), ok(`"2023-12-31"`), bad(`"2023-02-29"`, 10),
				bad(`"1900-02-29"`, 10), bad(`"2023-04-31"`, 10), bad(`"2023-13-01"`, 7)}},
		{"date-time", `{"type":"string","format":"date-time"}`,
			[]textCase{ok(`"2024-05-06T07:08:09Z"`), ok(`"2024-05-06T23:59:59.123+05:30"`), bad(`"2024-05-06 07:08:09Z"`, 11),
				bad(`"2024-05-06T24:00:00Z"`, 13), bad(`"2024-05-06T07:08:09"`, 20)}},
		{"uuid", `{"type":"string","format":"uuid"}`,
			[]textCase{ok(`"123e4567-e89b-12d3-a456-426614174000"`), bad(`"123e4567e89b"`, 9)}},
		{"email", `{"type":"string","format":"email"}`,
			[]textCase{ok(`"john.doe+x@example.co.uk"`), bad(`"john@localhost"`, 15), bad(`".john@x.com"`, 1), bad(`"a..b@x.com"`, 3)}},
		{"integer bounds", `{"type":"integer","minimum":-15,"maximum":150}`,
			[]textCase{ok(`0`), ok(`150`), ok(`-15`), ok(`-9`), bad(`151`, 2), bad(`1500`, 3), bad(`-16`, 2), bad(`-150`, 3),
				bad(`1.0`, 1), bad(`1e2`, 1), bad(`-0.5`, 2)}},
		{"integer exclusive", `{"type":"integer","exclusiveMinimum":10,"exclusiveMaximum":13}`,
			[]textCase{ok(`11`), ok(`12`), bad(`10`, 1), bad(`13`, 1), bad(`9`, 0), bad(`-1`, 0)}},
		{"multipleOf integer", `{"type":"integer","multipleOf":7,"minimum":0,"maximum":50}`,
			[]textCase{ok(`0`), ok(`7`), ok(`49`), bad(`8`, 0), bad(`50`, 0), bad(`56`, 0), ok(`42`)}},
		{"number bounds", `{"type":"number","minimum":0.5,"exclusiveMaximum":2.25}`,
			[]textCase{ok(`0.5`), ok(`1`), ok(`2.2499`), ok(`2.24999999999`), bad(`0.4`, 2), bad(`2.25`, 3), bad(`2.3`, 2),
				bad(`3`, 0), bad(`-1`, 0), bad(`1e0`, 1), ok(`0.50000`)}},
		{"multipleOf 0.01", `{"type":"number","multipleOf":0.01}`,
			[]textCase{ok(`1.25`), ok(`-3`), bad(`1.255`, 4), bad(`1e2`, 1)}},
		{"nullable", `{"type":["string","null"]}`,
			[]textCase{ok(`"x"`), ok(`null`), bad(`1`, 0), part(`nul`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runTextCases(t, mustCompile(t, tc.schema), tc.cases)
		})
	}
}

// TestUnsupported: every unsupported construct is reported with its feature
// and the JSON pointer of its schema.
func TestUnsupported(t *testing.T) {
	for _, tc := range []struct {
		schema, feature, path string
	}{
		{`{"type":"number","multipleOf":0.3}`, "multipleOf 0.3 (", ""},
		{`{"type":"number","multipleOf":0.5}`, "multipleOf 0.5 (", ""},
		{`{"type":"integer","multipleOf":2.5}`, "multipleOf", ""},
		{`{"properties":{"a":{"type":"string","pattern":"(?=x)a"}}}`, "pattern", "/properties/a"},
		{`{"properties":{"a":{"type":"string","pattern":"(a)\\1"}}}`, "pattern", "/properties/a"},
		{`{"type":"string","pattern":"\\bfoo"}`, "word boundary", ""},
		{`{"type":"string","pattern":"a^b"}`, "^ not at the start", ""},
		{`{"type":"string","pattern":"a$b"}`, "$ not at the end", ""},
		{`{"type":"string","pattern":"(?m)^a$"}`, "multi-line", ""},
		{`{"type":"string","pattern":"(a|b)*a(a|b){20}"}`, "too complex", ""},
		{`{"type":"string","format":"uri"}`, `format "uri"`, ""},
		{`{"items":{"format":"color"}}`, `format "color"`, "/items"},
		{`{"allOf":[{"type":"string","pattern":"a"},{"pattern":"b"}]}`, `allOf: conflicting "pattern"`, ""},
		{`{"allOf":[{"properties":{"a":{}},"additionalProperties":false},{"properties":{"b":{}}}]}`, "additionalProperties", ""},
		{`{"not":{"type":"string"}}`, "not", ""},
		{`{"if":{"type":"string"},"then":{"minLength":1}}`, "if", ""},
		{`{"type":"object","patternProperties":{"^x":{}}}`, "patternProperties", ""},
		{`{"type":"object","propertyNames":{"maxLength":3}}`, "propertyNames", ""},
		{`{"type":"object","dependentRequired":{"a":["b"]}}`, "dependentRequired", ""},
		{`{"type":"object","dependentSchemas":{"a":{}}}`, "dependentSchemas", ""},
		{`{"type":"object","unevaluatedProperties":false}`, "unevaluatedProperties", ""},
		{`{"type":"array","contains":{"type":"integer"}}`, "contains", ""},
		{`{"type":"array","uniqueItems":true}`, "uniqueItems", ""},
		{`{"type":"array","unevaluatedItems":false}`, "unevaluatedItems", ""},
		{`{"type":"object","minProperties":2}`, "minProperties", ""},
		{`{"type":"object","maxProperties":2}`, "maxProperties", ""},
		{`{"$ref":"https://example.com/s.json"}`, "$ref", ""},
		{`{"$ref":"#node","$defs":{"n":{"$anchor":"node"}}}`, "anchor", ""},
		{`{"$dynamicRef":"#meta"}`, "$dynamicRef", ""},
		{`{"properties":{"a\u0001":{}}}`, "property name", ""},
		{`{"anyOf":[{"type":"string"}],"oneOf":[{"type":"null"}]}`, "anyOf together with oneOf", ""},
		{`{"$defs":{"x":{"not":{}}},"properties":{"p":{"$ref":"#/$defs/x"}}}`, "not", "/$defs/x"},
		{`{"properties":{"a/b":{"properties":{"c~d":{"if":true}}}}}`, "if", "/properties/a~1b/properties/c~0d"},
		{`{"type":"array","items":[{"type":"string"}],"prefixItems":[{}]}`, "", ""}, // SchemaError, checked below
	} {
		_, err := CompileSchema([]byte(tc.schema))
		var ue *UnsupportedError
		if tc.feature == "" {
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Errorf("%s: got %v, want a SchemaError", tc.schema, err)
			}
			continue
		}
		if !errors.As(err, &ue) {
			t.Errorf("%s: got %v, want an UnsupportedError", tc.schema, err)
			continue
		}
		if !strings.Contains(ue.Feature, tc.feature) || ue.Path != tc.path {
			t.Errorf("%s: got feature %q path %q, want %q at %q", tc.schema, ue.Feature, ue.Path, tc.feature, tc.path)
		}
		if !strings.Contains(err.Error(), ue.Feature) {
			t.Errorf("error text %q lacks the feature", err)
		}
	}
}

// TestSchemaErrors: malformed or unsatisfiable schemas.
func TestSchemaErrors(t *testing.T) {
	for _, s := range []string{
		``, `{`, `{"type":"string"} x`, `[1]`, `"string"`, `3`, `{"type":"foo"}`, `{"type":7}`,
		`{"minLength":-1}`, `{"minLength":1.5}`, `{"maxItems":"3"}`, `{"required":"a"}`, `{"required":[1]}`,
		`{"properties":[]}`, `{"enum":3}`, `{"anyOf":[]}`, `{"allOf":{}}`, `{"pattern":3}`, `{"format":null}`,
		`{"minimum":"1"}`, `{"multipleOf":0}`, `{"multipleOf":-2}`, `{"$ref":"#/nowhere"}`, `{"$ref":3}`,
		`{"properties":{"a":5}}`, `{"a":1,"a":2}`, "{\"type\":\"string\",\"x\":\"\xff\"}",
		// accept no value
		`false`, `{"enum":[]}`, `{"type":[]}`, `{"type":"string","minLength":5,"maxLength":2}`,
		`{"type":"integer","minimum":3,"maximum":2}`, `{"type":"integer","minimum":1.2,"maximum":1.8}`,
		`{"type":"integer","minimum":1,"maximum":4,"multipleOf":5}`,
		`{"required":["a"],"additionalProperties":false}`, `{"type":"string","pattern":"^a$","minLength":2}`,
		`{"type":"object","properties":{"a":false},"required":["a"]}`, `{"type":"array","items":false,"minItems":1}`,
		`{"type":"string","enum":[1,2]}`, `{"allOf":[{"const":1},{"const":2}]}`, `{"type":"number","minimum":1e30}`,
		`{"$ref":"#/$defs/a","$defs":{"a":{"type":"object","properties":{"x":{"$ref":"#/$defs/a"}},"required":["x"]}}}`,
		`{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/a"}}}`, `{"$ref":"#"}`,
		`{"type":"string","format":"date","pattern":"^2"}`, // patterns match the whole string
	} {
		_, err := CompileSchema([]byte(s))
		var se *SchemaError
		if !errors.As(err, &se) {
			t.Errorf("%q: got %v, want a SchemaError", s, err)
		}
	}
}

// TestAccepted: annotations and unknown keywords are ignored, trivial forms
// of otherwise unsupported keywords are accepted.
func TestAccepted(t *testing.T) {
	for _, s := range []string{
		`{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://x/y","title":"T","description":"D",
		  "$comment":"c","examples":[1],"default":{},"deprecated":true,"readOnly":false,"writeOnly":false,"type":"object"}`,
		`{"type":"string","x-vendor":{"not":1},"nullable":true,"contentEncoding":"base64","contentMediaType":"text/plain"}`,
		`{"type":"array","uniqueItems":false}`, `{"type":"array","uniqueItems":true,"maxItems":1}`,
		`{"type":"object","required":["a"],"minProperties":1,"properties":{"a":{}}}`,
		`{"type":"object","properties":{"a":{}},"additionalProperties":false,"maxProperties":5}`,
		`{"type":"integer","multipleOf":1}`, `{"type":"number","multipleOf":0.001}`, `{"type":"number","multipleOf":10}`,
		`{"type":"number","minimum":-1e30,"maximum":1e30}`, `{"minimum":0,"exclusiveMinimum":true}`,
		`{"$ref":"#/properties/a","properties":{"a":{"type":"string"}}}`,
		`{"$ref":"#/$defs/a%25b","$defs":{"a%b":{"type":"null"}}}`,
		`{"anyOf":[{"type":"string"},{"type":"null"}],"description":"x"}`,
		`{"type":"string","format":"date","pattern":"^2.*"}`,
		`{"type":"string","pattern":"^\\u00e9+$"}`, `{"type":"string","pattern":"^[\\p{L}\\p{N}_-]+$"}`,
		`{"type":"string","pattern":"(?i)^abc$"}`, `{"type":"string","pattern":"^(?:a|b)?c{2,}$"}`,
		`{"$defs":{"s":{"type":"string"}},"allOf":[{"$ref":"#/$defs/s"},{"maxLength":3}],"minLength":1}`,
	} {
		if _, err := CompileSchema([]byte(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

// TestCorpusCompletion: the shortest completion of every corpus schema, from
// the start, is accepted and valid.
func TestCorpusCompletion(t *testing.T) {
	v := testVocab()
	for _, tc := range loadCorpus(t) {
		g, err := CompileSchema(tc.schema)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		m := g.NewMatcher(v)
		doc := m.Completion()
		if err := m.AcceptBytes(doc); err != nil || !m.Complete() {
			t.Fatalf("%s: completion %q: %v", tc.name, doc, err)
		}
		checkDoc(t, validators(t, tc.schema), doc)
	}
}
