package main

import (
	"slices"
	"testing"
)

func TestChildArgs(t *testing.T) {
	for _, tc := range []struct {
		args, drop, want []string
	}{
		{[]string{"--model", "m.gguf", "--repeats", "3", "--json"}, []string{"repeats", "json"}, []string{"--model", "m.gguf"}},
		{[]string{"--matrix=a,b", "-threads", "2", "--kernel", "ggml"}, []string{"matrix", "kernel"}, []string{"-threads", "2"}},
		{[]string{"--baseline", "/tmp/old", "--contexts", "32,2048"}, []string{"baseline"}, []string{"--contexts", "32,2048"}},
		{nil, []string{"x"}, nil},
	} {
		if got := childArgs(tc.args, tc.drop...); !slices.Equal(got, tc.want) {
			t.Errorf("childArgs(%q, %q) = %q, want %q", tc.args, tc.drop, got, tc.want)
		}
	}
}

func TestParseContexts(t *testing.T) {
	if got, err := parseContexts(" 32, 2048,,4000 "); err != nil || !slices.Equal(got, []int{32, 2048, 4000}) {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"1", "x", "32,-5"} {
		if _, err := parseContexts(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
