package grammar

import "slices"

// A compiled schema is a graph of nodes; $ref cycles are cycles in the graph.
// Leaves are objects, arrays, strings, numbers and literals; a union lists
// alternatives and is resolved on the first byte of the value (alternatives
// that share a first byte are followed in parallel by the matcher).

type kind uint8

const (
	kNever   kind = iota // no value (false schema, unsatisfiable constraints)
	kDoc                 // the document: whitespace, the root value, whitespace
	kUnion               // one of alts
	kObject              // obj
	kArray               // arr
	kString              // str
	kNumber              // num
	kLiteral             // lit: true, false, null or a number from enum/const
)

// First-byte classes of a value.
const (
	fObject = iota // {
	fArray         // [
	fString        // "
	fNumber        // - 0-9
	fTrue          // t
	fFalse         // f
	fNull          // n
	numFirst
)

var firstClass = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	t['{'], t['['], t['"'], t['-'] = fObject, fArray, fString, fNumber
	for c := '0'; c <= '9'; c++ {
		t[c] = fNumber
	}
	t['t'], t['f'], t['n'] = fTrue, fFalse, fNull
	return
}()

const inf = int64(1) << 40

type node struct {
	kind    kind
	child   *node             // kDoc: the root value
	alts    []*node           // kUnion: alternatives
	byFirst [numFirst][]*node // kUnion, after finalize: leaves by first byte
	obj     *objSpec
	arr     *arrSpec
	str     *strSpec
	num     *numSpec
	lit     []byte
	cost    int64 // length of the shortest serialization (inf: none)
	done    bool  // finalized
}

// prop is a declared object property.
type prop struct {
	name     string
	key      []byte // the name as a JSON string literal
	node     *node
	required bool
}

// labelOther is the key label of a name that is not a declared property.
const labelOther = 1 << 30

type objSpec struct {
	props []prop
	addl  *node // schema of other members; nil: none allowed
	// After finalize, per position i (the index of the next property that may
	// be written, 0..len(props)):
	keys     []*node // the key string node (nil: no member may start)
	canClose []bool  // '}' is allowed
}

type arrSpec struct {
	prefix   []*node
	items    *node // items after the prefix; nil: none
	min, max int   // max < 0: unbounded
}

func (a *arrSpec) item(k int) *node {
	if k < len(a.prefix) {
		return a.prefix[k]
	}
	return a.items
}

// strSpec constrains a string. With a DFA the length bounds are folded into
// it; without one the string is free apart from the length bounds.
type strSpec struct {
	dfa      *dfa
	min, max int32 // code points; max < 0: unbounded (used when dfa == nil)
}

// freeStrSpec is shared by every unconstrained string, so that the matcher's
// cache of string states is shared by all grammars using a vocabulary.
var freeStrSpec = &strSpec{max: -1}

// The nodes of an unconstrained JSON value.
var (
	anyNode    = &node{kind: kUnion}
	anyObject  = &node{kind: kObject, obj: &objSpec{addl: anyNode}}
	anyArray   = &node{kind: kArray, arr: &arrSpec{items: anyNode, max: -1}}
	freeString = &node{kind: kString, str: freeStrSpec}
	anyNumber  = &node{kind: kNumber, num: anyNumSpec}
	litTrue    = &node{kind: kLiteral, lit: []byte("true")}
	litFalse   = &node{kind: kLiteral, lit: []byte("false")}
	litNull    = &node{kind: kLiteral, lit: []byte("null")}
)

func init() {
	anyNode.alts = []*node{anyObject, anyArray, freeString, anyNumber, litTrue, litFalse, litNull}
	all := append([]*node{anyNode}, anyNode.alts...)
	if err := finalizeNodes(all); err != nil {
		panic(err)
	}
}

// universal reports whether leaf accepts every value starting with its
// first byte class.
func universal(leaf *node) bool {
	switch leaf {
	case anyObject, anyArray, freeString, anyNumber, litTrue, litFalse, litNull:
		return true
	}
	return false
}

// leafFirst returns the first-byte class of a leaf.
func leafFirst(n *node) int {
	switch n.kind {
	case kObject:
		return fObject
	case kArray:
		return fArray
	case kString:
		return fString
	case kNumber:
		return fNumber
	case kLiteral:
		return int(firstClass[n.lit[0]])
	}
	return -1
}

// computeCosts sets the cost of every node: the length of its shortest
// serialization, by fixpoint iteration (costs only decrease).
func computeCosts(nodes []*node) {
	var inner []*node
	for _, n := range nodes {
		if n.done {
			continue
		}
		switch n.kind {
		case kLiteral, kNumber, kString, kNever:
			n.cost = nodeCost(n) // fixed: no children
		default:
			n.cost = inf
			inner = append(inner, n)
		}
	}
	for changed := true; changed; {
		changed = false
		for _, n := range inner {
			if c := nodeCost(n); c < n.cost {
				n.cost = c
				changed = true
			}
		}
	}
}

func nodeCost(n *node) int64 {
	switch n.kind {
	case kDoc:
		return n.child.cost
	case kUnion:
		c := inf
		for _, a := range n.alts {
			c = min(c, a.cost)
		}
		return c
	case kLiteral:
		return int64(len(n.lit))
	case kNumber:
		b, ok := n.num.finish(frame{n: n})
		if !ok {
			return inf
		}
		return int64(len(b))
	case kString:
		if n.str.dfa != nil {
			return 2 + int64(n.str.dfa.dist[n.str.dfa.start])
		}
		return 2 + int64(n.str.min)
	case kObject:
		c := int64(2)
		k := 0
		for _, p := range n.obj.props {
			if p.required {
				if k > 0 {
					c++
				}
				k++
				c += int64(len(p.key)) + 1 + p.node.cost
			}
		}
		return min(c, inf)
	case kArray:
		// Brackets, the a.min required items and the commas between
		// them. The items past the prefix are all a.items: counted by a
		// product, not one by one (minItems goes up to 1<<30), saturating
		// at inf.
		a := n.arr
		c := int64(2) + int64(max(a.min-1, 0))
		for k := 0; k < min(a.min, len(a.prefix)); k++ {
			c = min(c+a.prefix[k].cost, inf)
		}
		if rest := int64(a.min - len(a.prefix)); rest > 0 {
			if a.items == nil {
				return inf
			}
			if a.items.cost > 0 && rest > (inf-c)/a.items.cost {
				return inf
			}
			c += rest * a.items.cost
		}
		return min(c, inf)
	}
	return inf
}

// finalizeNodes computes costs, then prepares unions (first-byte dispatch),
// objects (key automata per position) and arrays (usable item counts).
func finalizeNodes(nodes []*node) error {
	computeCosts(nodes)
	for _, n := range nodes {
		if n.done {
			continue
		}
		switch n.kind {
		case kUnion:
			finalizeUnion(n)
		case kObject:
			if err := finalizeObject(n); err != nil {
				return err
			}
		case kArray:
			a := n.arr
			if a.items != nil && a.items.cost >= inf {
				a.items = nil
			}
			for k := 0; k < len(a.prefix); k++ {
				if a.prefix[k].cost >= inf {
					a.prefix, a.items = a.prefix[:k], nil
					break
				}
			}
			if a.items == nil && (a.max < 0 || a.max > len(a.prefix)) {
				a.max = len(a.prefix)
			}
		}
	}
	for _, n := range nodes {
		n.done = true
	}
	return nil
}

func finalizeUnion(n *node) {
	var leaves []*node
	seen := map[*node]bool{}
	var walk func(*node)
	walk = func(x *node) {
		if seen[x] || x.cost >= inf {
			return
		}
		seen[x] = true
		if x.kind == kUnion {
			for _, a := range x.alts {
				walk(a)
			}
			return
		}
		leaves = append(leaves, x)
	}
	walk(n)
	for _, l := range leaves {
		c := leafFirst(l)
		if c < 0 {
			continue
		}
		n.byFirst[c] = append(n.byFirst[c], l)
	}
	for c, ls := range n.byFirst {
		if i := slices.IndexFunc(ls, universal); i >= 0 {
			n.byFirst[c] = []*node{ls[i]}
		}
	}
}

func finalizeObject(n *node) error {
	o := n.obj
	if o.addl != nil && o.addl.cost >= inf {
		o.addl = nil
	}
	np := len(o.props)
	o.keys = make([]*node, np+1)
	o.canClose = make([]bool, np+1)
	other := o.addl != nil
	var names *dfa
	if np > 0 {
		strs := make([]string, np)
		labels := make([]int32, np)
		for j, p := range o.props {
			strs[j], labels[j] = p.name, int32(j)
		}
		var err error
		if names, err = literalsDFA(strs, labels); err != nil {
			return err
		}
	}
	anyStr, err := anyStringDFA()
	if err != nil {
		return err
	}
	for i := 0; i <= np; i++ {
		last := np - 1 // the last property that may come next
		o.canClose[i] = true
		for j := i; j < np; j++ {
			if o.props[j].required {
				last = j
				o.canClose[i] = false
				break
			}
		}
		allowed := func(j int) bool { return j >= i && j <= last && o.props[j].node.cost < inf }
		anyName := false
		for j := i; j <= last; j++ {
			anyName = anyName || allowed(j)
		}
		switch {
		case !anyName && !other:
			continue
		case np == 0:
			o.keys[i] = &node{kind: kString, str: freeStrSpec, done: true}
			continue
		}
		mode := intersect
		if other {
			mode = union
		}
		d, err := product(names, anyStr, mode, func(sa, sb int32) int32 {
			if sa >= 0 && names.label[sa] >= 0 {
				if j := names.label[sa]; allowed(int(j)) {
					return j
				}
				return -1
			}
			if other && sb >= 0 && anyStr.accepting(sb) {
				return labelOther
			}
			return -1
		})
		if err != nil {
			return err
		}
		if d, err = finishString(d); err != nil {
			return err
		}
		if d != nil {
			o.keys[i] = &node{kind: kString, str: &strSpec{dfa: d}, done: true}
		}
	}
	return nil
}
