package contract

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated front-end files")

const (
	tsFile       = "frontend/src/api/contract.gen.ts"
	defaultsFile = "frontend/src/testing/go-defaults.json"
)

// TestGenerated fails when a generated front-end file differs from what
// the Go types give: run `go test ./internal/contract -update` and commit.
func TestGenerated(t *testing.T) {
	root := filepath.Join("..", "..")
	docs, err := ReadDocs(root)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := TypeScript(docs)
	if err != nil {
		t.Fatal(err)
	}
	defaults, err := json.MarshalIndent(FakeDefaults(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		path string
		want []byte
	}{{tsFile, []byte(ts)}, {defaultsFile, append(defaults, '\n')}} {
		path := filepath.Join(root, filepath.FromSlash(f.path))
		if *update {
			if err := os.WriteFile(path, f.want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (generate it: go test ./internal/contract -update)", err)
		}
		if !bytes.Equal(got, f.want) {
			t.Errorf("%s is stale: run `go test ./internal/contract -update` and commit it", f.path)
		}
	}
}

// TestEnumsAreDistinct: no enumeration repeats a value.
func TestEnumsAreDistinct(t *testing.T) {
	for _, e := range Enums() {
		seen := map[string]bool{}
		for _, v := range e.Values {
			if seen[v] {
				t.Errorf("%s repeats %q", e.Name, v)
			}
			seen[v] = true
		}
	}
}
