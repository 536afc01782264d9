package pagemem

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident counts the resident pages of b (page-aligned).
func resident(t *testing.T, b []byte) int {
	t.Helper()
	page := os.Getpagesize()
	vec := make([]byte, (len(b)+page-1)/page)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// mapping returns pages pages of private anonymous memory, every one
// resident (zeroed, as ggml_set_zero leaves a tensor), unmapped when the
// test ends.
func mapping(t *testing.T, pages int) []byte {
	t.Helper()
	mem, err := unix.Mmap(-1, 0, pages*os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	clear(mem)
	return mem
}

func TestReleaseKeepsZerosAndFreesPages(t *testing.T) {
	page := os.Getpagesize()
	mem := mapping(t, 64)
	if r := resident(t, mem); r != 64 {
		t.Fatalf("%d pages resident after zeroing, want 64", r)
	}
	// A tensor that starts and ends inside pages: only whole pages go.
	tensor := mem[100 : 60*page+7]
	got := Release(tensor, false)
	if want := 59 * page; got != want {
		t.Fatalf("released %d bytes, want %d", got, want)
	}
	if r := resident(t, mem); r != 64-59 {
		t.Fatalf("%d pages resident after release, want %d", r, 64-59)
	}
	for i, v := range mem {
		if v != 0 {
			t.Fatalf("byte %d reads %d after release", i, v)
		}
	}
	for _, b := range [][]byte{nil, mem[1:10], mem[10 : page+5]} {
		if n := Release(b, false); n != 0 {
			t.Errorf("release of %d bytes inside a page pair released %d", len(b), n)
		}
	}
}

// TestReleaseSmallPages: with small, the released pages leave transparent
// huge pages (their mapping says nh), and read zeros as before.
func TestReleaseSmallPages(t *testing.T) {
	page := os.Getpagesize()
	mem := mapping(t, 1024)
	if got := Release(mem[:512*page], true); got != 512*page {
		t.Fatalf("released %d bytes", got)
	}
	if !vmFlag(t, uintptr(unsafe.Pointer(&mem[0])), "nh") {
		t.Error("the released pages may still become huge pages")
	}
	if vmFlag(t, uintptr(unsafe.Pointer(&mem[600*page])), "nh") {
		t.Error("pages past the released ones lost huge pages too")
	}
	for i, v := range mem {
		if v != 0 {
			t.Fatalf("byte %d reads %d after release", i, v)
		}
	}
}

// TestReleaseKeepsTheNeighbours: memory that is not zeros (the backend's
// copy of weights that moved) reads zeros in the released whole pages
// and keeps its bytes around them.
func TestReleaseKeepsTheNeighbours(t *testing.T) {
	page := os.Getpagesize()
	b := mapping(t, 768)
	for i := range b {
		b[i] = byte(i%251) + 1
	}
	Release(b[5000:512*page], true)
	for i, v := range b {
		inside := i >= 2*page && i < 512*page // whole pages only
		if inside && v != 0 || !inside && v != byte(i%251)+1 {
			t.Fatalf("byte %d: %d after the release", i, v)
		}
	}
}

// vmFlag reports whether the mapping holding addr has flag in its
// VmFlags (/proc/self/smaps).
func vmFlag(t *testing.T, addr uintptr, flag string) bool {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	inside := false
	for _, line := range strings.Split(string(raw), "\n") {
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 && strings.Contains(line, "-") {
			inside = addr >= lo && addr < hi
			continue
		}
		if inside && strings.HasPrefix(line, "VmFlags:") {
			return slices.Contains(strings.Fields(line)[1:], flag)
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return false
}
