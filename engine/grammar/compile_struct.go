package grammar

import (
	"strconv"
	"strings"
)

// Objects and arrays.

// nonNegInt reads an optional non-negative integer keyword (def if absent).
func nonNegInt(v *jval, key, path string, def int) (int, error) {
	x := v.get(key)
	if x == nil {
		return def, nil
	}
	if x.kind == jNumber {
		if r := x.rat(); r != nil && r.IsInt() && r.Sign() >= 0 {
			if !r.Num().IsInt64() || r.Num().Int64() > 1<<30 {
				return 1 << 30, nil
			}
			return int(r.Num().Int64()), nil
		}
	}
	return 0, schemaErr(path, "%s must be a non-negative integer", key)
}

func ptrEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func (c *compiler) objectNode(n *node, v *jval, path string) error {
	o := &objSpec{}
	props := v.get("properties")
	if props != nil && props.kind != jObject {
		return schemaErr(path, "properties must be an object")
	}
	required := map[string]bool{}
	var reqOrder []string
	if r := v.get("required"); r != nil {
		if r.kind != jArray {
			return schemaErr(path, "required must be an array")
		}
		for _, x := range r.arr {
			if x.kind != jString {
				return schemaErr(path, "required must hold strings")
			}
			if !required[x.s] {
				reqOrder = append(reqOrder, x.s)
			}
			required[x.s] = true
		}
	}
	for _, name := range append(append([]string(nil), keysOf(props)...), reqOrder...) {
		if !writable(name) {
			return unsupported(path, "property name %q with control characters", name)
		}
	}
	declared := map[string]bool{}
	if props != nil {
		for i, name := range props.keys {
			pn, err := c.compile(props.vals[i], path+"/properties/"+ptrEscape(name))
			if err != nil {
				return err
			}
			declared[name] = true
			o.props = append(o.props, prop{name: name, key: encodeJSONString(name), node: pn, required: required[name]})
		}
	}
	switch ap := v.get("additionalProperties"); {
	case ap == nil:
		o.addl = anyNode
	case ap.kind == jBool:
		if ap.b {
			o.addl = anyNode
		}
	default:
		an, err := c.compile(ap, path+"/additionalProperties")
		if err != nil {
			return err
		}
		o.addl = an
	}
	n.kind, n.obj = kObject, o
	for _, name := range reqOrder {
		if declared[name] {
			continue
		}
		if o.addl == nil {
			n.kind = kNever // required but not allowed
			return nil
		}
		o.props = append(o.props, prop{name: name, key: encodeJSONString(name), node: o.addl, required: true})
	}
	minP, err := nonNegInt(v, "minProperties", path, 0)
	if err != nil {
		return err
	}
	if minP > len(reqOrder) {
		return unsupported(path, "minProperties above the number of required properties")
	}
	maxP, err := nonNegInt(v, "maxProperties", path, -1)
	if err != nil {
		return err
	}
	if maxP >= 0 && (o.addl != nil || maxP < len(o.props)) {
		if maxP < len(reqOrder) {
			n.kind = kNever
			return nil
		}
		return unsupported(path, "maxProperties below the number of possible properties")
	}
	return nil
}

func (c *compiler) arrayNode(n *node, v *jval, path string) error {
	a := &arrSpec{max: -1}
	if pi := v.get("prefixItems"); pi != nil {
		if pi.kind != jArray {
			return schemaErr(path, "prefixItems must be an array")
		}
		for i, s := range pi.arr {
			x, err := c.compile(s, path+"/prefixItems/"+strconv.Itoa(i))
			if err != nil {
				return err
			}
			a.prefix = append(a.prefix, x)
		}
	}
	switch it := v.get("items"); {
	case it == nil:
		a.items = anyNode
	case it.kind == jArray: // draft-07 tuple form
		if v.get("prefixItems") != nil {
			return schemaErr(path, "items is an array and prefixItems is present")
		}
		for i, s := range it.arr {
			x, err := c.compile(s, path+"/items/"+strconv.Itoa(i))
			if err != nil {
				return err
			}
			a.prefix = append(a.prefix, x)
		}
		switch ai := v.get("additionalItems"); {
		case ai == nil || ai.kind == jBool && ai.b:
			a.items = anyNode
		case ai.kind == jBool:
		default:
			x, err := c.compile(ai, path+"/additionalItems")
			if err != nil {
				return err
			}
			a.items = x
		}
	default:
		x, err := c.compile(it, path+"/items")
		if err != nil {
			return err
		}
		a.items = x
	}
	var err error
	if a.min, err = nonNegInt(v, "minItems", path, 0); err != nil {
		return err
	}
	if a.max, err = nonNegInt(v, "maxItems", path, -1); err != nil {
		return err
	}
	if u := v.get("uniqueItems"); u != nil {
		if u.kind != jBool {
			return schemaErr(path, "uniqueItems must be a boolean")
		}
		if u.b && (a.max < 0 || a.max > 1) {
			return unsupported(path, "uniqueItems")
		}
	}
	n.kind, n.arr = kArray, a
	if a.max >= 0 && a.min > a.max {
		n.kind = kNever
	}
	return nil
}

// keysOf returns the member names of an object (none for nil).
func keysOf(v *jval) []string {
	if v == nil {
		return nil
	}
	return v.keys
}

// writable reports whether every byte of s can be written in a constrained
// string (which has no \u escapes).
func writable(s string) bool {
	for i := 0; i < len(s); i++ {
		if contentCost(s[i]) == 0 {
			return false
		}
	}
	return true
}
