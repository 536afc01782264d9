// Package procmem reads this process's memory use.
package procmem

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// RSS returns the resident set size in bytes (0 where unknown).
func RSS() uint64 { return statusKB("VmRSS:") * 1024 }

// PeakRSS returns the peak resident set size in bytes (0 where unknown).
func PeakRSS() uint64 { return statusKB("VmHWM:") * 1024 }

func statusKB(key string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), key); ok {
			n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
