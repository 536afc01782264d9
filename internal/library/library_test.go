package library

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine/catalog"
)

func touch(t *testing.T, path string, size int, mod time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func TestInstalled(t *testing.T) {
	dir := t.TempDir()
	l := Library{Dir: dir, CacheDir: t.TempDir()}
	now := time.Now()
	touch(t, filepath.Join(dir, "ggml-model-i2_s.gguf"), 10, now.Add(-3*time.Hour))                              // legacy 2B4T
	touch(t, filepath.Join(dir, "falcon3-1b-instruct-1.58bit", "ggml-model-i2_s.gguf"), 20, now.Add(-time.Hour)) // downloaded
	touch(t, filepath.Join(dir, "My Model (Q2).gguf"), 30, now)                                                  // imported
	touch(t, filepath.Join(dir, ".import-123.tmp"), 1, now)
	touch(t, filepath.Join(dir, "notes.txt"), 1, now)
	touch(t, filepath.Join(dir, "x.gguf.part"), 1, now)
	got := l.Installed()
	want := []struct {
		id      string
		catalog bool
		name    string
	}{
		{"my-model-q2", false, "My Model (Q2)"},
		{"falcon3-1b-instruct-1.58bit", true, "Falcon3 1B Instruct 1.58-bit"},
		{catalog.BitNet2B4T, true, "BitNet b1.58 2B4T"},
	}
	if len(got) != len(want) {
		t.Fatalf("installed %+v", got)
	}
	for i, w := range want {
		if got[i].ID != w.id || (got[i].Entry != nil) != w.catalog || got[i].Name() != w.name {
			t.Errorf("model %d: %s %v %q, want %+v", i, got[i].ID, got[i].Entry != nil, got[i].Name(), w)
		}
	}
	if m, ok := l.Find("FALCON3-1B-INSTRUCT-1.58BIT"); !ok || m.SizeBytes != 20 {
		t.Errorf("find: %+v %v", m, ok)
	}
	// The 2B4T download goes where it always went, others into their folder.
	e, _ := catalog.Find(catalog.BitNet2B4T)
	if p := l.DownloadPath(e); p != filepath.Join(dir, "ggml-model-i2_s.gguf") {
		t.Errorf("2B4T path %s", p)
	}
	f, _ := catalog.Find("falcon-e-1b-instruct")
	if p := l.DownloadPath(f); p != filepath.Join(dir, "falcon-e-1b-instruct", "ggml-model-i2_s.gguf") {
		t.Errorf("falcon-e path %s", p)
	}
}

func TestDelete(t *testing.T) {
	dir := t.TempDir()
	l := Library{Dir: dir, CacheDir: t.TempDir()}
	p := filepath.Join(dir, "falcon3-1b-instruct-1.58bit", "ggml-model-i2_s.gguf")
	touch(t, p, 10, time.Now())
	touch(t, p+".part", 5, time.Now())
	m, _ := l.Find("falcon3-1b-instruct-1.58bit")
	if err := l.Delete(m); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{p, p + ".part", filepath.Dir(p)} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s still there", gone)
		}
	}
	if len(l.Installed()) != 0 {
		t.Error("still installed")
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"My Model (Q2)": "my-model-q2", "Falcon3-1B.i2_s": "falcon3-1b.i2-s", "???": "model", "Ünïcode Ñame": "ünïcode-ñame",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAvailable(t *testing.T) {
	if a := Available(); a == 0 || a < -1 {
		t.Errorf("available memory %d", a)
	}
}

// TestImportPathSameName: files whose model has the same name (here: not
// GGUF, so the file name is the name) go to folders of their own, and so
// get ids of their own; the same file imported again goes where it is.
func TestImportPathSameName(t *testing.T) {
	dir := t.TempDir()
	l := Library{Dir: dir, CacheDir: t.TempDir()}
	src := t.TempDir()
	a := filepath.Join(src, "a", "model.gguf")
	b := filepath.Join(src, "b", "model.gguf")
	touch(t, a, 10, time.Now())
	touch(t, b, 20, time.Now())
	pa := l.ImportPath(a)
	if want := filepath.Join(dir, "model", "model.gguf"); pa != want {
		t.Fatalf("first import at %s, want %s", pa, want)
	}
	touch(t, pa, 10, time.Now()) // imported
	if again := l.ImportPath(a); again != pa {
		t.Errorf("the same file again goes to %s, want %s", again, pa)
	}
	pb := l.ImportPath(b)
	if want := filepath.Join(dir, "model-2", "model.gguf"); pb != want {
		t.Fatalf("second model at %s, want %s", pb, want)
	}
	touch(t, pb, 20, time.Now())
	ids := map[string]bool{}
	for _, m := range l.Installed() {
		if ids[m.ID] {
			t.Errorf("id %s twice", m.ID)
		}
		ids[m.ID] = true
	}
	if !ids["model"] || !ids["model-2"] {
		t.Errorf("ids %v", ids)
	}
}

// TestConversionsAreNotModels: a converted copy an older CLI left in a
// model's folder is not listed as a model of its own.
func TestConversionsAreNotModels(t *testing.T) {
	dir := t.TempDir()
	l := Library{Dir: dir, CacheDir: t.TempDir()}
	touch(t, filepath.Join(dir, "bitnet-tiny", "bitnet-tiny.gguf"), 10, time.Now())
	touch(t, filepath.Join(dir, "bitnet-tiny", "bitnet-tiny.50b882c1d0619ce0.tq2_0-q6_k.v2.gguf"), 10, time.Now())
	if got := l.Installed(); len(got) != 1 || got[0].ID != "bitnet-tiny" {
		t.Errorf("installed %+v", got)
	}
	if !l.Holds(filepath.Join(dir, "bitnet-tiny", "bitnet-tiny.gguf")) || !l.Holds(filepath.Join(dir, "x.gguf")) ||
		l.Holds(filepath.Join(t.TempDir(), "x.gguf")) || l.Holds(filepath.Join(dir, "a", "b", "c.gguf")) {
		t.Error("Holds")
	}
}
