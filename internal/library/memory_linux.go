//go:build linux

package library

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Available returns the memory the system can give without swapping
// (MemAvailable), or -1 when unknown.
func Available() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != "MemAvailable" {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		if err != nil {
			return -1
		}
		return n << 10
	}
	return -1
}
