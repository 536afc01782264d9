package grammar

import (
	"fmt"
	"sync"
	"testing"
)

func TestSchemasCache(t *testing.T) {
	s := NewSchemas(2)
	a := []byte(`{"type":"integer"}`)
	g1, err := s.Compile(a)
	if err != nil {
		t.Fatal(err)
	}
	g2, _ := s.Compile(a)
	if g1 != g2 {
		t.Fatal("the same schema text compiled twice")
	}
	_, err1 := s.Compile([]byte(`{"not":{}}`))
	_, err2 := s.Compile([]byte(`{"not":{}}`))
	if err1 == nil || err1 != err2 {
		t.Fatalf("errors are cached too: %v, %v", err1, err2)
	}
	// a is the least recently used: a third schema evicts it.
	s.Compile([]byte(`{"type":"string"}`))
	if s.Len() != 2 {
		t.Fatalf("len %d, want 2", s.Len())
	}
	if g3, _ := s.Compile(a); g3 == g1 {
		t.Fatal("evicted schema still cached")
	}
}

func TestSchemasConcurrent(t *testing.T) {
	s := NewSchemas(4)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			schema := fmt.Sprintf(`{"type":"object","properties":{"p%d":{"type":"string"}}}`, i%6)
			if _, err := s.Compile([]byte(schema)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if s.Len() > 4 {
		t.Fatalf("len %d > 4", s.Len())
	}
}
