//go:build linux

package session

import (
	"os"
	"strconv"
	"strings"
)

// residentBytes returns the resident set size of this process, read from
// /proc/self/statm (second field, in pages).
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
