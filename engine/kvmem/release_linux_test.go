package kvmem

import (
	"os"
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

func TestReleaseKeepsZerosAndFreesPages(t *testing.T) {
	page := os.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 64*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	clear(mem) // what ggml_set_zero does: every page becomes resident
	if r := resident(t, mem); r != 64 {
		t.Fatalf("%d pages resident after zeroing, want 64", r)
	}
	// A tensor that starts and ends inside pages: only whole pages go.
	tensor := mem[100 : 60*page+7]
	got := release(tensor)
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
		if n := release(b); n != 0 {
			t.Errorf("release of %d bytes inside a page pair released %d", len(b), n)
		}
	}
}
