//go:build !linux && !windows

package download

import (
	"errors"
	"syscall"
)

// FreeSpace is unknown on this platform: -1 disables the check.
func FreeSpace(string) (int64, error) { return -1, nil }

// IsDiskFull reports whether err means the disk is full.
func IsDiskFull(err error) bool { return errors.Is(err, syscall.ENOSPC) }
