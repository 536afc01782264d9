package applog

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	var extra bytes.Buffer
	log, c, err := Open(dir, slog.LevelInfo, &extra)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello", "k", 1)
	log.Debug("hidden")
	c.Close()
	b, _ := os.ReadFile(filepath.Join(dir, FileName))
	if !strings.Contains(string(b), "msg=hello k=1") || strings.Contains(string(b), "hidden") {
		t.Errorf("log file %q", b)
	}
	if !strings.Contains(extra.String(), "msg=hello") {
		t.Errorf("extra %q", extra.String())
	}

	// A big log is rotated.
	if err := os.WriteFile(filepath.Join(dir, FileName), bytes.Repeat([]byte("x"), MaxSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	log, c, err = Open(dir, slog.LevelInfo, nil)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("fresh")
	c.Close()
	if st, err := os.Stat(filepath.Join(dir, FileName+".1")); err != nil || st.Size() != MaxSize+1 {
		t.Errorf("rotated file: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, FileName)); !strings.Contains(string(b), "fresh") || len(b) > 1000 {
		t.Errorf("new log %d bytes", len(b))
	}
}
