package settings

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/internal/appdata"
)

func TestDefaults(t *testing.T) {
	temp := 0.2
	tests := []struct {
		name   string
		numCPU int
		env    appdata.Env
		lang   string
		check  func(Settings) bool
	}{
		{"built-in", 4, appdata.Env{}, "en", func(s Settings) bool {
			return s.Threads == 3 && s.Temperature == 0.8 && s.TopP == 0.95 && s.TopK == 40 && s.MaxTokens == 1024 &&
				s.Theme == "system" && s.Language == "" && s.ServerPort == 8723 && !s.ServerEnabled && s.KVCache == "f16" &&
				s.SystemPrompt == DefaultSystemPrompt("en")
		}},
		{"one core", 1, appdata.Env{}, "en", func(s Settings) bool { return s.Threads == 1 }},
		{"env", 2, appdata.Env{MaxTokens: 99999, Temperature: &temp}, "es", func(s Settings) bool {
			return s.Threads == 2 && s.MaxTokens == MaxMaxTokens && s.Temperature == 0.2 && s.SystemPrompt == DefaultSystemPrompt("es")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s := Defaults(tt.numCPU, tt.env, tt.lang); !tt.check(s) {
				t.Errorf("Defaults = %+v", s)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	def := Defaults(8, appdata.Env{}, "en")
	tests := []struct {
		name string
		in   func(*Settings)
		want func(*Settings)
	}{
		{"valid unchanged", func(s *Settings) {}, func(s *Settings) {}},
		{"temperature high", func(s *Settings) { s.Temperature = 9 }, func(s *Settings) { s.Temperature = 2 }},
		{"temperature NaN", func(s *Settings) { s.Temperature = math.NaN() }, func(s *Settings) {}},
		{"topP", func(s *Settings) { s.TopP = -1 }, func(s *Settings) { s.TopP = 0 }},
		{"topK", func(s *Settings) { s.TopK = 5000 }, func(s *Settings) { s.TopK = MaxTopK }},
		{"maxTokens zero", func(s *Settings) { s.MaxTokens = 0 }, func(s *Settings) {}},
		{"maxTokens big", func(s *Settings) { s.MaxTokens = 1 << 20 }, func(s *Settings) { s.MaxTokens = MaxMaxTokens }},
		{"threads too many", func(s *Settings) { s.Threads = 64 }, func(s *Settings) { s.Threads = 8 }},
		{"threads zero", func(s *Settings) { s.Threads = 0 }, func(s *Settings) {}},
		{"theme", func(s *Settings) { s.Theme = "pink" }, func(s *Settings) { s.Theme = "system" }},
		{"language", func(s *Settings) { s.Language = "fr" }, func(s *Settings) { s.Language = "" }},
		{"language es", func(s *Settings) { s.Language = "es" }, func(s *Settings) { s.Language = "es" }},
		{"kv cache q8_0", func(s *Settings) { s.KVCache = "q8_0" }, func(s *Settings) { s.KVCache = "q8_0" }},
		{"kv cache unknown", func(s *Settings) { s.KVCache = "q4_0" }, func(s *Settings) { s.KVCache = "f16" }},
		{"kv cache missing (an older file)", func(s *Settings) { s.KVCache = "" }, func(s *Settings) { s.KVCache = "f16" }},
		{"port", func(s *Settings) { s.ServerPort = 80 }, func(s *Settings) {}},
		{"url spaces", func(s *Settings) { s.DownloadURL = " http://x/y " }, func(s *Settings) { s.DownloadURL = "http://x/y" }},
		{"long prompt", func(s *Settings) { s.SystemPrompt = strings.Repeat("é", 9000) },
			func(s *Settings) { s.SystemPrompt = strings.Repeat("é", MaxSystemPromptLen) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, want := def, def
			tt.in(&in)
			tt.want(&want)
			if got := Normalize(in, def, 8); got != want {
				t.Errorf("Normalize = %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for url, ok := range map[string]bool{"": true, "https://h/x.gguf": true, "http://127.0.0.1:9/m": true, "ftp://h/x": false, "nonsense": false, "https://": false} {
		err := Validate(Settings{DownloadURL: url})
		if (err == nil) != ok {
			t.Errorf("Validate(%q) = %v", url, err)
		}
		if err != nil && engine.CodeOf(err) != engine.CodeInvalidRequest {
			t.Errorf("code %s", engine.CodeOf(err))
		}
	}
}

func TestStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "settings.json")
	def := Defaults(4, appdata.Env{}, "en")

	s, err := Open(path, def, 4)
	if err != nil {
		t.Fatal(err)
	}
	if s.Get() != def {
		t.Fatalf("fresh store = %+v", s.Get())
	}
	in := def
	in.Theme, in.Temperature, in.ServerEnabled, in.Threads = "dark", 5, true, 2
	saved, err := s.Save(in)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Temperature != 2 || saved.Theme != "dark" || !saved.ServerEnabled || s.Get() != saved {
		t.Errorf("saved %+v", saved)
	}
	if _, err := s.Save(Settings{DownloadURL: "ftp://x"}); err == nil {
		t.Error("invalid URL saved")
	}
	if s.Get() != saved {
		t.Error("a rejected save changed the settings")
	}

	s2, err := Open(path, def, 4)
	if err != nil || s2.Get() != saved {
		t.Fatalf("reopened: %+v, %v", s2.Get(), err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "sub", ".settings-*"))
	if len(leftovers) != 0 {
		t.Errorf("temp files left: %v", leftovers)
	}

	// A file from an older version lacks fields: they get defaults.
	if err := os.WriteFile(path, []byte(`{"theme":"light"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s3, err := Open(path, def, 4)
	if err != nil || s3.Get().Theme != "light" || s3.Get().TopK != 40 {
		t.Errorf("partial file: %+v, %v", s3.Get(), err)
	}

	// A corrupt file: defaults, an error, and the file moved aside.
	if err := os.WriteFile(path, []byte(`{"theme":`), 0o644); err != nil {
		t.Fatal(err)
	}
	s4, err := Open(path, def, 4)
	if err == nil || s4 == nil || s4.Get() != def {
		t.Errorf("corrupt file: %v", err)
	}
	if _, err := os.Stat(path + ".bad"); err != nil {
		t.Error("corrupt file not moved aside")
	}
}

func TestSystemLanguage(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{nil, "en"},
		{map[string]string{"LANG": "es_ES.UTF-8"}, "es"},
		{map[string]string{"LANG": "es_ES.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"},
		{map[string]string{"LC_ALL": "C", "LANG": "es_MX"}, "es"},
		{map[string]string{"LANG": "de_DE"}, "en"},
	}
	for _, tt := range tests {
		if got := SystemLanguage(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("SystemLanguage(%v) = %q", tt.env, got)
		}
	}
}
