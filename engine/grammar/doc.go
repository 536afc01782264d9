// Package grammar constrains token sampling so that generated text is always
// valid JSON (RFC 8259) and, given a JSON Schema, valid against it: the
// structured outputs of the OpenAI-compatible API ("json_object" and
// "json_schema" response formats).
//
// # Use
//
//	v := grammar.NewVocab(tokens, isSpecial) // once per model
//	g, err := grammar.CompileSchema(schema)  // or grammar.JSONObject(); cache it by schema text
//	m := g.NewMatcher(v)                     // once per generation
//	for !m.Complete() {
//		id := sample(logits)                 // try the model's pick first...
//		if !m.Allows(id) {
//			mask = m.Mask(mask)              // ...and mask only when it is refused
//			id = sampleMasked(logits, mask)
//		}
//		m.Accept(id)
//	}
//
// A Matcher never reaches a state from which the document cannot be
// completed, and Completion returns a short byte string that completes it
// (to close a generation that runs out of tokens). Mask never sets special
// or empty tokens; when Complete reports true the caller ends the turn (a
// complete top-level number could still grow: see Complete and CanEnd).
//
// # Design
//
// The matcher is a byte-level pushdown automaton over the compiled schema
// (see step.go): tokens are byte strings and may end inside a UTF-8
// character; strings are checked byte by byte for valid UTF-8. Mask walks a
// depth-first token trie with the automaton, dropping a subtree at its first
// rejected byte, and inside strings (where nearly every token is allowed)
// uses a per-vocabulary cache of token classes for each lexical string state
// (see mask.go and cache.go). Allows walks only the token's bytes.
//
// Costs on a synthetic 128,256-token vocabulary (bench_test.go, on a shared
// 2-core machine): Allows 0.03-0.4 µs; Mask 0.3-10 µs inside strings, keys
// and enums, 10-120 µs in most structural states, and up to 0.3-0.7 ms where
// thousands of digit tokens stay possible (a value or a number in a free
// object; the synthetic vocabulary has many more multi-digit tokens than
// LLaMA-3, whose digit tokens have at most 3 digits). The first visit of a
// string state builds its cache entry (10-20 ms, once per vocabulary for
// free strings, once per grammar for pattern, format and enum strings), so
// cache compiled grammars by schema text. CompileSchema takes 0.1-1 ms for
// typical schemas; large classes under big repetitions (^[\p{L} ]{1,20}$)
// or hundreds of optional properties take 0.1-0.3 s.
//
// # Supported JSON Schema
//
// Draft 2020-12, with the draft-07 spellings (definitions, items as an
// array with additionalItems, boolean exclusiveMinimum/Maximum):
//
//   - type (a name or an array of names). Without "type" a schema is
//     restricted to the types its keywords describe (a schema with only
//     "properties" generates objects), or allows every type.
//   - object: properties, required, additionalProperties (true, false or a
//     schema; absent means any value, as in JSON Schema). Properties are
//     generated in schema order: each may be omitted unless required, and a
//     required property not listed in properties is generated (last) with
//     the additionalProperties schema. Other members, when allowed, may come
//     anywhere, with any name that is not a declared property.
//     minProperties and maxProperties only when trivially satisfied.
//   - array: items, prefixItems, minItems, maxItems (uniqueItems only when
//     maxItems <= 1).
//   - string: minLength, maxLength (in code points), pattern, format (date,
//     date-time, time, email, uuid, ipv4, hostname), enum, const.
//   - number and integer: minimum, maximum, exclusiveMinimum,
//     exclusiveMaximum, all enforced exactly, and multipleOf when it is an
//     integer or a power of ten (0.1, 0.01...).
//   - boolean, null; enum and const of any JSON value (objects and arrays are
//     reproduced member by member, in the order written).
//   - anyOf; oneOf, treated as anyOf: a generated value matches at least one
//     alternative, and could match several when the alternatives overlap
//     (oneOf requires exactly one), so give them distinct types or a const
//     discriminator. Keywords beside anyOf/oneOf are merged into each
//     alternative.
//   - allOf, and $ref with sibling keywords, when the schemas merge exactly:
//     keywords in one schema only, equal values, types (intersected),
//     required (united), enum (intersected), properties (united; a property
//     in several gets the allOf of its schemas), items, and bounds (the
//     strictest wins). additionalProperties may only appear in a schema that
//     lists every property named by the others.
//   - $ref to any JSON pointer in the document (#, #/$defs/x,
//     #/definitions/x, #/properties/y...), recursive schemas included.
//   - Annotations are ignored: title, description, examples, default,
//     $schema, $id, $comment, deprecated, readOnly, writeOnly, $anchor,
//     content*. Keywords unknown to JSON Schema are ignored, as validators do.
//
// Everything else that constrains values returns an *UnsupportedError
// naming the keyword and the JSON pointer of its schema: not, if/then/else,
// patternProperties, propertyNames, dependentRequired, dependentSchemas,
// dependencies, contains, minContains, maxContains, unevaluatedProperties,
// unevaluatedItems, uniqueItems, minProperties and maxProperties (unless
// trivially met), other multipleOf values, other formats, $dynamicRef,
// $recursiveRef, references outside the document or to anchors, anyOf
// together with oneOf, allOf that does not merge, property names holding
// control characters other than \b \f \n \r \t, automata over their size
// budget, and pattern syntax outside the subset below.
//
// # Patterns
//
// A pattern must match the whole string (^ and $ are implicit; a full match
// is also a match of JSON Schema's unanchored search, so this is stricter,
// never looser). Supported: literals, escapes, classes ([a-z], [^...],
// \d \w \s \D \W \S, \p{...}), ., ?, *, +, {m,n}, alternation, groups, ^ at
// the start and $ at the end. Unsupported: lookaround, backreferences,
// word boundaries, multi-line anchors, anchors elsewhere. '.' never matches
// a line terminator, and character classes never produce the non-ASCII
// whitespace that ECMA-262's \s contains, so patterns mean the same under
// ECMA-262 and RE2. Strings with a pattern, format, enum or const accept the
// short escapes (\" \\ \/ \b \f \n \r \t) but not \uXXXX (the model writes
// the character itself).
//
// # JSON text
//
// Output follows RFC 8259: string escapes \" \\ \/ \b \f \n \r \t \uXXXX
// (surrogates only in valid pairs), no raw control characters, valid UTF-8,
// numbers without leading zeros. Whitespace: none before the top-level
// value (a streamed answer starts with the value: clients' partial JSON
// parsers reject a first delta of spaces); each gap between two structural
// tokens, and after the value, holds at most one line break (LF or CR LF)
// and at most 32 spaces or tabs, so a model cannot loop on whitespace. Numbers have at most 18 integer digits, 18
// fraction digits and a 2-digit exponent, so they fit a float64; numbers
// with bounds or multipleOf are written without exponent.
//
// # Limitations
//
//   - Member names that are not declared properties (json_object, or
//     additionalProperties) are not checked for duplicates.
//   - Property order is the schema order.
//   - Integers are written without fraction or exponent; numbers with bounds
//     or multipleOf without exponent.
//   - At most 64 parallel readings (overlapping anyOf alternatives sharing a
//     prefix) are followed; beyond that some continuations are dropped,
//     never validity.
//   - A schema without "type" is narrowed to the types its keywords imply.
//   - Length bounds combined with a pattern, format or enum multiply the
//     string automaton by the bound (limit: 50,000 states), and each of its
//     states costs a cache build on first use.
package grammar
