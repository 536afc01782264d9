package convert

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
)

// CachedPath is where the conversion of src with opts is kept in dir.
func CachedPath(dir, src string, id string, opts Options) string {
	w, e, _ := opts.types()
	base := strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))
	return filepath.Join(dir, fmt.Sprintf("%s.%s.%s-%s.v%d.gguf", base, id[:16], w, e, Version))
}

var cachedName = regexp.MustCompile(`\.[0-9a-f]{16}\.[a-z0-9_]+-[a-z0-9_]+\.v[0-9]+\.gguf$`)

// IsCachedName reports whether a file name is one CachedPath makes.
func IsCachedName(name string) bool { return cachedName.MatchString(name) }

// Ensure returns the path of a runnable file for src: src itself when it is
// already converted, or its cached conversion in dir, converting first when
// the cache has none. A conversion runs once per source file and options.
func Ensure(ctx context.Context, src, dir string, opts Options) (string, error) {
	if _, _, err := opts.types(); err != nil {
		return "", err
	}
	f, spec, err := open(src)
	if err != nil {
		return "", err
	}
	if spec.Converted {
		return src, nil
	}
	if dir == "" {
		dir = filepath.Dir(src)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", wrapIO(err, "create cache folder")
	}
	id, err := SourceID(src, f)
	if err != nil {
		return "", err
	}
	dst := CachedPath(dir, src, id, opts)
	if cf, err := gguf.Open(dst); err == nil {
		if cs, err := gguf.CheckModel(cf); err == nil && cs.Converted && cf.String(gguf.KeySourceID) == id {
			return dst, nil
		}
		os.Remove(dst) // stale or damaged: convert again
	}
	if err := write(ctx, src, f, spec, id, dst, opts); err != nil {
		return "", err
	}
	return dst, nil
}
