//go:build bindings

package main

// generatingBindings is true when Wails builds the binary to generate the
// JavaScript bindings.
const generatingBindings = true
