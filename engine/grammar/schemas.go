package grammar

import (
	"container/list"
	"sync"
)

// Schemas compiles JSON Schemas once: it keeps the most recently used
// compiled grammars (and compile errors) by schema text, so a server that
// checks a schema when a request arrives and the engine that decodes with
// it share one compilation, and the string states a grammar caches stay
// warm across requests with the same schema. It is safe for concurrent use.
type Schemas struct {
	mu    sync.Mutex
	max   int
	byKey map[string]*list.Element
	order *list.List // front: most recently used
}

type compiled struct {
	key string
	g   *Grammar
	err error
}

// NewSchemas returns a cache holding at most size schemas (at least 1).
func NewSchemas(size int) *Schemas {
	return &Schemas{max: max(size, 1), byKey: map[string]*list.Element{}, order: list.New()}
}

// Shared is the process's schema cache.
var Shared = NewSchemas(64)

// Compile returns CompileSchema(schema), compiling each schema text once
// while it stays among the most recently used.
func (s *Schemas) Compile(schema []byte) (*Grammar, error) {
	key := string(schema)
	s.mu.Lock()
	if e, ok := s.byKey[key]; ok {
		s.order.MoveToFront(e)
		c := e.Value.(*compiled)
		s.mu.Unlock()
		return c.g, c.err
	}
	s.mu.Unlock()
	// Compile outside the lock: a slow schema does not hold up others. Two
	// requests racing on one new schema both compile it; one result stays.
	g, err := CompileSchema(schema)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byKey[key]; ok {
		c := e.Value.(*compiled)
		return c.g, c.err
	}
	s.byKey[key] = s.order.PushFront(&compiled{key: key, g: g, err: err})
	for s.order.Len() > s.max {
		old := s.order.Back()
		s.order.Remove(old)
		delete(s.byKey, old.Value.(*compiled).key)
	}
	return g, err
}

// Len is the number of schemas held.
func (s *Schemas) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.order.Len()
}
