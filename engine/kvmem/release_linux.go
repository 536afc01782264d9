package kvmem

import (
	"os"

	"golang.org/x/sys/unix"
)

// release hands the whole pages inside b back to the kernel, out of huge
// pages first with small. b must be private anonymous memory holding zeros
// (the pages come back as zeros).
func release(b []byte, small bool) int {
	page := uintptr(os.Getpagesize())
	if len(b) == 0 {
		return 0
	}
	start := uintptr(0)
	if rem := uintptr(unsafePointer(b)) % page; rem != 0 {
		start = page - rem
	}
	end := uintptr(len(b))
	if end <= start {
		return 0
	}
	end -= (end - start) % page
	if end <= start {
		return 0
	}
	if small {
		// Best effort: without it the pages are only larger.
		_ = unix.Madvise(b[start:end], unix.MADV_NOHUGEPAGE)
	}
	if err := unix.Madvise(b[start:end], unix.MADV_DONTNEED); err != nil {
		return 0
	}
	return int(end - start)
}
