//go:build linux

package download

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// FreeSpace returns the bytes available to an unprivileged user on the
// file system that holds dir.
func FreeSpace(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return -1, err
	}
	bs := st.Frsize
	if bs <= 0 {
		bs = st.Bsize
	}
	return int64(st.Bavail) * bs, nil
}

// IsDiskFull reports whether err means the disk (or the user's quota) is full.
func IsDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
