// Package applog opens the app's log: a text file in the logs folder
// (rotated once it passes a size limit) plus stderr.
package applog

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// FileName is the log file's name.
const FileName = "bitnet-desktop.log"

// MaxSize is the size beyond which the log is rotated at startup: the old
// file becomes FileName+".1" (replacing an older one).
const MaxSize = 5 << 20

// Open returns a logger writing to dir/FileName and to extra (e.g.
// os.Stderr; nil for none), and the file to close at exit.
func Open(dir string, level slog.Level, extra io.Writer) (*slog.Logger, io.Closer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("log folder: %w", err)
	}
	path := filepath.Join(dir, FileName)
	if st, err := os.Stat(path); err == nil && st.Size() > MaxSize {
		if err := os.Rename(path, path+".1"); err != nil {
			return nil, nil, fmt.Errorf("rotate log: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open log: %w", err)
	}
	var w io.Writer = f
	if extra != nil {
		w = io.MultiWriter(f, extra)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), f, nil
}
