package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestCLIContract checks the command names, flags and JSON fields other
// tools depend on.
func TestCLIContract(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "tiny.gguf")
	if _, e, code := runCLI(t, "synth", "--preset", "tiny", "--seed", "3", "--out", model); code != 0 {
		t.Fatalf("synth: %s", e)
	}
	conv := filepath.Join(dir, "conv.gguf")
	if _, e, code := runCLI(t, "convert", "--model", model, "--out", conv, "--embedding", "q8_0"); code != 0 {
		t.Fatalf("convert: %s", e)
	}
	for _, m := range []string{model, conv} {
		out, e, code := runCLI(t, "generate", "--model", m, "--cache-dir", dir, "--prompt", "Hello", "--max-tokens", "5",
			"--temperature", "0", "--top-k", "10", "--top-p", "0.9", "--seed", "1", "--threads", "2", "--json")
		if code != 0 {
			t.Fatalf("generate: %s", e)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("generate --json: %v\n%s", err, out)
		}
		for _, k := range []string{"text", "prompt_token_ids", "token_ids", "finish_reason", "prompt_tokens", "completion_tokens", "ttft_ms", "prefill_tps", "decode_tps", "kernel"} {
			if _, ok := res[k]; !ok {
				t.Errorf("generate --json lacks %q", k)
			}
		}
	}
	out, e, code := runCLI(t, "generate", "--model", model, "--cache-dir", dir, "--prompt", "Hi", "--raw", "--max-tokens", "3", "--json")
	if code != 0 || !strings.Contains(out, `"prompt_token_ids"`) {
		t.Fatalf("generate --raw: %s %s", out, e)
	}
	out, e, code = runCLI(t, "bench", "--model", model, "--cache-dir", dir, "--threads", "2", "--prompt-tokens", "16", "--gen-tokens", "4", "--history", "40",
		"--contexts", "8,24", "--context-rounds", "2", "--json")
	if code != 0 {
		t.Fatalf("bench: %s", e)
	}
	var b map[string]any
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"threads", "load_ms", "prefill_tps", "decode_tps", "followup_ttft_ms", "peak_rss_mb",
		"bandwidth_gbs", "bytes_per_token", "roofline_tps", "roofline_pct", "paired_roofline_pct", "roofline_pairs"} {
		if _, ok := b[k]; !ok {
			t.Errorf("bench --json lacks %q", k)
		}
	}
	if b["roofline_pairs"] != float64(rooflinePairs) || b["paired_roofline_pct"].(float64) <= 0 {
		t.Errorf("bench: %v pairs, paired roofline %v%%", b["roofline_pairs"], b["paired_roofline_pct"])
	}
	if at, _ := b["decode_at"].([]any); len(at) != 2 {
		t.Errorf("bench --contexts 8,24: decode_at %v", b["decode_at"])
	} else if first := at[0].(map[string]any); first["context"] != 8.0 || first["ratio"] != 1.0 {
		t.Errorf("bench --contexts: first context %v", first)
	}
	if _, _, code := runCLI(t, "nonsense"); code != 2 {
		t.Errorf("unknown command exit %d", code)
	}
	if _, e, code := runCLI(t, "generate", "--model", filepath.Join(dir, "missing.gguf"), "--prompt", "x"); code == 0 || !strings.Contains(e, "not a usable model") {
		t.Errorf("missing model: code %d, %q", code, e)
	}
	if out, _, code := runCLI(t, "version"); code != 0 || !strings.HasPrefix(out, "bitnet ") {
		t.Errorf("version: %q", out)
	}
}
