//go:build linux

// Package hugepages makes glibc back large allocations (the model's
// weights, ~800 MB) with transparent huge pages where the kernel only gives
// them on request (THP "madvise" mode, the Debian default). It has to be
// set before the process starts, so Enable re-executes the program once
// with GLIBC_TUNABLES=glibc.malloc.hugetlb=1. Measured: model load 2.2 s ->
// 1.9 s on the 2B4T shapes (BENCHMARKS.md).
package hugepages

import (
	"os"
	"strings"
	"syscall"
)

const (
	tunable = "glibc.malloc.hugetlb=1"
	// reexecMark is set in the re-executed process: it never re-executes
	// again, whatever the environment holds.
	reexecMark = "BITNET_HUGEPAGES_REEXEC"
)

// Enable re-executes the current program with the tunable set, unless it is
// set already, the program was re-executed already or BITNET_NO_HUGEPAGES
// is set. It returns only when it did not re-execute.
func Enable() {
	env, ok := tunedEnv(os.Environ())
	if !ok {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	// On failure just carry on without huge pages.
	_ = syscall.Exec(exe, os.Args, env)
}

// tunedEnv returns environ with the tunable added to GLIBC_TUNABLES (the
// one entry replaced, not a second one appended: Go's Getenv and glibc
// read the first) and the re-exec mark set, and whether a re-execution is
// wanted at all.
func tunedEnv(environ []string) ([]string, bool) {
	cur, found := "", false
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "BITNET_NO_HUGEPAGES" && v != "", k == reexecMark:
			return nil, false
		case k == "GLIBC_TUNABLES" && !found:
			cur, found = v, true
		}
	}
	if strings.Contains(cur, "glibc.malloc.hugetlb") {
		return nil, false
	}
	val := tunable
	if cur != "" {
		val = cur + ":" + tunable
	}
	out := make([]string, 0, len(environ)+2)
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "GLIBC_TUNABLES=") {
			out = append(out, kv)
		}
	}
	return append(out, "GLIBC_TUNABLES="+val, reexecMark+"=1"), true
}
