package main

import (
	"encoding/json"
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

func TestBaselineFigures(t *testing.T) {
	var run map[string]any
	if err := json.Unmarshal([]byte(`{"decode_tps": 30, "prefill_tps": 100,
		"decode_at": [{"context": 32, "decode_tps": 30, "roofline_pct": 60}, {"context": 2048, "decode_tps": 21.5, "roofline_pct": 55}],
		"constrained": {"constrained_decode_tps": 29, "ratio": 0.97}}`), &run); err != nil {
		t.Fatal(err)
	}
	keys := baselineFigures([]map[string]any{run})
	for _, want := range []string{"decode_tps", "decode_tps@2048", "roofline_pct@32", "constrained.ratio"} {
		if !slices.Contains(keys, want) {
			t.Errorf("figures %v lack %s", keys, want)
		}
	}
	for _, tc := range []struct {
		key  string
		want float64
		ok   bool
	}{
		{"decode_tps", 30, true},
		{"decode_tps@2048", 21.5, true},
		{"roofline_pct@32", 60, true},
		{"decode_tps@4000", 0, false},
		{"constrained.ratio", 0.97, true},
		{"ttft_ms", 0, false},
	} {
		if got, ok := figure(run, tc.key); got != tc.want || ok != tc.ok {
			t.Errorf("figure(%s) = %v, %v; want %v, %v", tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

// TestBaselineOrder: --baseline swaps which build runs first every round,
// so over an even number of rounds each runs first as often.
func TestBaselineOrder(t *testing.T) {
	for _, tc := range []struct {
		rep  int
		want [2]int
	}{{0, [2]int{0, 1}}, {1, [2]int{1, 0}}, {2, [2]int{0, 1}}, {7, [2]int{1, 0}}} {
		if got := baselineOrder(tc.rep); got != tc.want {
			t.Errorf("round %d: %v, want %v", tc.rep, got, tc.want)
		}
	}
}
