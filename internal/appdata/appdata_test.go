package appdata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestResolve(t *testing.T) {
	root := t.TempDir()
	p := Resolve(envFunc(map[string]string{EnvDataDir: root}))
	for name, got := range map[string]string{
		"models": p.ModelsDir, "cache": p.CacheDir, "db": p.DBPath, "settings": p.SettingsPath, "logs": p.LogDir,
	} {
		if !strings.HasPrefix(got, root+string(filepath.Separator)) {
			t.Errorf("%s = %s, not under %s", name, got, root)
		}
	}
	if err := p.Ensure(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{p.ModelsDir, p.CacheDir, p.LogDir} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			t.Errorf("%s not created", d)
		}
	}

	x := Resolve(envFunc(nil))
	if x.Root != "" {
		t.Errorf("Root = %q without override", x.Root)
	}
	for _, got := range []string{x.ModelsDir, x.CacheDir, x.DBPath, x.SettingsPath, x.LogDir} {
		if !strings.Contains(got, AppName) {
			t.Errorf("%s does not contain %s", got, AppName)
		}
	}
	if x.ModelsDir == x.CacheDir {
		t.Error("models and cache share a folder")
	}
}

func TestReadEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    func(Env) bool
		wantErr bool
	}{
		{"empty", nil, func(e Env) bool { return e.MaxTokens == 0 && e.Temperature == nil && e.ModelPath == "" }, false},
		{"all", map[string]string{EnvMaxTokens: "256", EnvTemperature: "0", EnvModelPath: "/m/x.gguf", EnvDownloadURL: " http://h/f.gguf "},
			func(e Env) bool {
				return e.MaxTokens == 256 && e.Temperature != nil && *e.Temperature == 0 && e.ModelPath == "/m/x.gguf" && e.DownloadURL == "http://h/f.gguf"
			}, false},
		{"bad numbers", map[string]string{EnvMaxTokens: "lots", EnvTemperature: "-1"},
			func(e Env) bool { return e.MaxTokens == 0 && e.Temperature == nil }, true},
		{"zero tokens", map[string]string{EnvMaxTokens: "0"}, func(e Env) bool { return e.MaxTokens == 0 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ReadEnv(envFunc(tt.env))
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v", err)
			}
			if !tt.want(e) {
				t.Errorf("env = %+v", e)
			}
		})
	}
}

func TestFindModel(t *testing.T) {
	p := Resolve(envFunc(map[string]string{EnvDataDir: t.TempDir()}))
	if err := p.Ensure(); err != nil {
		t.Fatal(err)
	}
	if got := FindModel(p, Env{}); got != "" {
		t.Errorf("FindModel in empty dir = %q", got)
	}
	old := filepath.Join(p.ModelsDir, "old.gguf")
	newer := filepath.Join(p.ModelsDir, "new.GGUF")
	for _, f := range []string{old, newer, filepath.Join(p.ModelsDir, "x.gguf.part"), filepath.Join(p.ModelsDir, ".import-1.gguf")} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	_ = os.Chtimes(old, now.Add(-time.Hour), now.Add(-time.Hour))
	if got := FindModel(p, Env{}); got != newer {
		t.Errorf("FindModel = %q, want %q", got, newer)
	}
	if got := ListModels(p.ModelsDir); len(got) != 2 {
		t.Errorf("ListModels = %q", got)
	}
	if got := FindModel(p, Env{ModelPath: "/elsewhere/m.gguf"}); got != "/elsewhere/m.gguf" {
		t.Errorf("override ignored: %q", got)
	}
	if !Exists(old) || Exists(p.ModelsDir) || Exists("") {
		t.Error("Exists is wrong")
	}
}
