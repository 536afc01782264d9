package convert

import "testing"

func TestIsCachedName(t *testing.T) {
	name := CachedPath("/x", "/m/ggml-model-i2_s.gguf", "09e81e9fda76cd51aaaa", Options{})
	for _, tc := range []struct {
		name string
		want bool
	}{
		{name[len("/x/"):], true},
		{"bitnet-tiny.50b882c1d0619ce0.tq2_0-q6_k.v2.gguf", true},
		{"ggml-model-i2_s.gguf", false},
		{"model.v2.gguf", false},
		{"Llama3-8B-1.58-100B-tokens-TQ2_0.gguf", false},
	} {
		if got := IsCachedName(tc.name); got != tc.want {
			t.Errorf("IsCachedName(%q) = %v", tc.name, got)
		}
	}
}
