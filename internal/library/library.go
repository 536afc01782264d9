// Package library is the desktop app's model library: the model files in
// the data folder (downloaded from the catalog or imported), matched with
// the catalog (engine/catalog), and what it takes to run one. It holds no
// state of its own: the folder is the truth.
//
// Layout: a model downloaded from the catalog lives in
// <models>/<catalog id>/<file name>; an imported file in
// <models>/<slug of its model's name>[-N]/<file name> (one model a folder:
// the folder is the id); a file straight in <models> is listed too.
// The official 2B4T file at <models>/ggml-model-i2_s.gguf (where versions
// before the library downloaded it) is the 2B4T catalog entry.
package library

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/catalog"
	"github.com/bitnet-desktop/bitnet-desktop/engine/convert"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
)

// Model is a model file in the library.
type Model struct {
	ID        string // the catalog id, or the file's slug for other files
	Path      string
	SizeBytes int64
	ModTime   time.Time
	Entry     *catalog.Entry // nil for a file the catalog does not know
}

// Name is what the app calls the model: the catalog's name, else the file's.
func (m Model) Name() string {
	if m.Entry != nil {
		return m.Entry.Name
	}
	return strings.TrimSuffix(filepath.Base(m.Path), filepath.Ext(m.Path))
}

// Library is the models folder and the folder of converted files.
type Library struct {
	Dir      string
	CacheDir string
}

// legacyOfficial is where the 2B4T file was downloaded before the library.
const legacyOfficial = "ggml-model-i2_s.gguf"

// Installed lists the models, newest first.
func (l Library) Installed() []Model {
	var out []Model
	top, _ := os.ReadDir(l.Dir)
	for _, de := range top {
		switch {
		case strings.HasPrefix(de.Name(), "."):
		case de.IsDir():
			sub, _ := os.ReadDir(filepath.Join(l.Dir, de.Name()))
			for _, f := range sub {
				if m, ok := l.model(filepath.Join(l.Dir, de.Name(), f.Name()), f); ok {
					out = append(out, m)
				}
			}
		default:
			if m, ok := l.model(filepath.Join(l.Dir, de.Name()), de); ok {
				out = append(out, m)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].ModTime.Equal(out[j].ModTime) {
			return out[i].ModTime.After(out[j].ModTime)
		}
		return out[i].Path < out[j].Path
	})
	return out
}

func (l Library) model(path string, de os.DirEntry) (Model, bool) {
	if !de.Type().IsRegular() || strings.HasPrefix(de.Name(), ".") || !strings.EqualFold(filepath.Ext(de.Name()), ".gguf") ||
		convert.IsCachedName(de.Name()) { // a conversion left here by an older CLI: not a model of its own
		return Model{}, false
	}
	info, err := de.Info()
	if err != nil {
		return Model{}, false
	}
	m := Model{ID: l.IDOf(path), Path: path, SizeBytes: info.Size(), ModTime: info.ModTime()}
	if e, ok := catalog.Find(m.ID); ok {
		m.Entry = &e
	}
	return m, true
}

// Holds reports whether path is a model file of the library: in the
// models folder or one of its model folders.
func (l Library) Holds(path string) bool {
	root := filepath.Clean(l.Dir)
	path, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	return filepath.Dir(path) == root || filepath.Dir(filepath.Dir(path)) == root
}

// IDOf returns the id of the model file at path: the catalog id of its
// folder, the 2B4T entry for the legacy official file, else a slug of the
// file name (an imported file, or one outside the library).
func (l Library) IDOf(path string) string {
	dir, name := filepath.Dir(path), filepath.Base(path)
	if filepath.Dir(dir) == filepath.Clean(l.Dir) {
		return filepath.Base(dir)
	}
	if dir == filepath.Clean(l.Dir) && name == legacyOfficial {
		return catalog.BitNet2B4T
	}
	return Slug(strings.TrimSuffix(name, filepath.Ext(name)))
}

// Slug is a model id made of a file name: lower case, letters, digits,
// dots and dashes.
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.Trim(b.String(), "-.")
	if s == "" {
		return "model"
	}
	return s
}

// Find returns the installed model with the given id.
func (l Library) Find(id string) (Model, bool) {
	for _, m := range l.Installed() {
		if strings.EqualFold(m.ID, id) {
			return m, true
		}
	}
	return Model{}, false
}

// DownloadPath is where the catalog entry's file is downloaded to. The
// 2B4T file keeps the place it always had.
func (l Library) DownloadPath(e catalog.Entry) string {
	if e.ID == catalog.BitNet2B4T {
		return filepath.Join(l.Dir, legacyOfficial)
	}
	return filepath.Join(l.Dir, e.ID, e.FileName)
}

// Delete removes a model's file, its folder when it is empty, a partial
// download of it and its converted copies in the cache.
func (l Library) Delete(m Model) error {
	cached := l.cachedCopies(m.Path)
	if err := os.Remove(m.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", m.Path, err)
	}
	for _, p := range append(cached, m.Path+".part", m.Path+".part.json") {
		_ = os.Remove(p)
	}
	if dir := filepath.Dir(m.Path); filepath.Dir(dir) == filepath.Clean(l.Dir) {
		_ = os.Remove(dir) // only when empty
	}
	return nil
}

// cachedCopies lists the converted files of the model at path (convert
// names them after the source file and its identity).
func (l Library) cachedCopies(path string) []string {
	f, err := gguf.Open(path)
	if err != nil {
		return nil
	}
	id, err := convert.SourceID(path, f)
	if err != nil {
		return nil
	}
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	matches, _ := filepath.Glob(filepath.Join(l.CacheDir, base+"."+id[:16]+".*"))
	return matches
}

// Estimate returns the memory the model at path needs with a context of
// ctx tokens (0: the model's own, at most 8192) and a kv cache of type
// kvCache ("f16" or "q8_0"): its weights (about the file's size: the
// converter re-quantizes the embedding smaller), its kv cache and 300 MB of
// buffers and runtime.
func Estimate(path string, ctx int, kvCache string) (int64, error) {
	f, spec, err := gguf.OpenModel(path)
	if err != nil {
		return 0, err
	}
	if ctx <= 0 || ctx > spec.Context {
		ctx = min(spec.Context, 8192)
	}
	return f.Size + engine.KVCacheBytes(spec.Blocks, spec.KVHeads, spec.HeadDim, ctx, kvCache) + 300<<20, nil
}

// Info is what the library shows of a file the catalog does not know.
type Info struct {
	Family     gguf.Family
	Context    int
	Parameters int64
	Chat       bool // has a chat format (2B4T's, or a chat template)
}

// Inspect reads a model file's header.
func Inspect(path string) (Info, error) {
	_, spec, err := gguf.OpenModel(path)
	if err != nil {
		return Info{}, err
	}
	return Info{Family: spec.Family, Context: spec.Context, Parameters: spec.Parameters,
		Chat: spec.Family == gguf.Family2B4T || strings.TrimSpace(spec.ChatTemplate) != ""}, nil
}

// FileSize is the size of the file at path, or -1.
func FileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return st.Size()
}

// ImportPath is where an imported file goes: <models>/<id>/<its name>, the
// id being the catalog's when the file is a catalog model's published file
// (same exact size and architecture), else a slug of the model's name
// (general.name), else of the file name.
func (l Library) ImportPath(src string) string {
	name := filepath.Base(src)
	if !strings.EqualFold(filepath.Ext(name), ".gguf") {
		name += ".gguf"
	}
	id := Slug(strings.TrimSuffix(name, filepath.Ext(name)))
	if f, spec, err := gguf.OpenModel(src); err == nil {
		if n := strings.TrimSpace(f.String("general.name")); n != "" {
			id = Slug(n)
		}
		for _, e := range catalog.All() {
			if e.SizeExact && e.SizeBytes == f.Size && e.Family == spec.Family {
				id = e.ID
			}
		}
	}
	// One model a folder (the folder is the id): another file whose model
	// has the same name (two conversions of one model, say) gets
	// <id>-2, <id>-3, … The same file imported again goes where it is.
	size := FileSize(src)
	for n := 1; ; n++ {
		folder := id
		if n > 1 {
			folder = fmt.Sprintf("%s-%d", id, n)
		}
		if l.folderTakes(filepath.Join(l.Dir, folder), name, size) {
			return filepath.Join(l.Dir, folder, name)
		}
	}
}

// folderTakes reports whether an imported file (name, size) can go into
// dir: dir holds no model file, or only this one.
func (l Library) folderTakes(dir, name string, size int64) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return true // absent (or unreadable: the copy will say why)
	}
	for _, de := range entries {
		if !strings.EqualFold(filepath.Ext(de.Name()), ".gguf") || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		if de.Name() != name || FileSize(filepath.Join(dir, de.Name())) != size {
			return false
		}
	}
	return true
}
