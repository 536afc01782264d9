package pagemem

import (
	"os"

	"golang.org/x/sys/unix"
)

// Release hands the whole pages inside b back to the kernel, out of huge
// pages first with small (so that a later write into the pages around
// them does not bring them back as part of a 2 MB page), and returns how
// many bytes it released. b must be private anonymous memory; the pages
// read zeros afterwards.
func Release(b []byte, small bool) int {
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
