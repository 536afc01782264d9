//go:build unix

package convert

import (
	"golang.org/x/sys/unix"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
)

// checkSpace refuses to start a conversion that cannot fit on the disk.
func checkSpace(dir string, b *gguf.Builder) error {
	var need uint64 = 1 << 20
	for _, t := range b.Tensors {
		need += t.Size + 32
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil // unknown: let the write fail with ENOSPC if it must
	}
	free := st.Bavail * uint64(st.Bsize)
	if free < need {
		return engine.Errorf(engine.CodeDiskFull, map[string]any{"need": need, "free": free},
			"not enough disk space in %s to convert the model: need %d MB, %d MB free", dir, need>>20, free>>20)
	}
	return nil
}
