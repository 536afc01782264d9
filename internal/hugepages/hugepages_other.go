//go:build !linux

package hugepages

// Enable does nothing on this platform.
func Enable() {}
