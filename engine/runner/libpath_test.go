package runner

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLibraryPathIgnoresOllama: an OLLAMA_LIBRARY_PATH set for an installed
// Ollama is replaced by our own folder (before, it was kept, contrary to
// the comment).
func TestLibraryPathIgnoresOllama(t *testing.T) {
	t.Setenv("OLLAMA_LIBRARY_PATH", "/usr/local/lib/ollama")
	t.Setenv("BITNET_LIBRARY_PATH", "")
	ensureLibraryPath()
	got := os.Getenv("OLLAMA_LIBRARY_PATH")
	if got == "/usr/local/lib/ollama" {
		t.Fatal("an installed Ollama's library path was kept")
	}
	if st, err := os.Stat(got); err != nil || !st.IsDir() {
		t.Errorf("library path %q is not a folder: %v", got, err)
	}

	own := filepath.Join(t.TempDir(), "libs")
	t.Setenv("BITNET_LIBRARY_PATH", own)
	ensureLibraryPath()
	if got := os.Getenv("OLLAMA_LIBRARY_PATH"); got != own {
		t.Errorf("with BITNET_LIBRARY_PATH: %q, want %q", got, own)
	}
}
