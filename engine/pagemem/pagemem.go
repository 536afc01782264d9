// Package pagemem hands memory that nothing needs any more back to the
// operating system, whole pages of it: the kv cache's zeroed tensors
// (kvmem), the backend's copy of weights that moved to memory of their own
// (the runner's load).
package pagemem

import "unsafe"

func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }
