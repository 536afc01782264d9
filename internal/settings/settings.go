// Package settings holds the user's preferences: defaults, validation and
// clamping, and a JSON file written atomically.
package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/bitnet-desktop/bitnet-desktop/server"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/internal/appdata"
)

// Settings are the user's preferences (the contract's Settings type).
type Settings struct {
	SystemPrompt  string  `json:"systemPrompt"`
	Temperature   float64 `json:"temperature"`
	TopP          float64 `json:"topP"`
	TopK          int     `json:"topK"`
	MaxTokens     int     `json:"maxTokens"`
	Threads       int     `json:"threads"`
	Theme         string  `json:"theme" ts:"Theme"`              // one of Themes
	Language      string  `json:"language" ts:"LanguageSetting"` // one of Languages: "" follows the system
	DownloadURL   string  `json:"downloadUrl"`
	ServerEnabled bool    `json:"serverEnabled"`
	ServerPort    int     `json:"serverPort"`
	// KVCache is the type of the kv cache models are loaded with, one of
	// KVCaches: "f16", or "q8_0", which keeps a long conversation in half
	// the memory (values rounded to 8 bits). It applies at the next load.
	KVCache string `json:"kvCache" ts:"KVCacheSetting"`
	// ActiveModel is the id of the library model the app loads ("" = the
	// newest installed one).
	ActiveModel string `json:"activeModel"`
}

// Themes are the values of Settings.Theme; Languages those of
// Settings.Language ("" follows the system); KVCaches those of
// Settings.KVCache.
var (
	Themes    = []string{"light", "dark", "system"}
	Languages = []string{"", "en", "es"}
	KVCaches  = []string{"f16", "q8_0"}
)

// Limits.
const (
	MaxTemperature     = 2.0
	MaxTopK            = 1000
	MaxMaxTokens       = 4096 // the model's context
	MaxSystemPromptLen = 8000 // characters

	MinServerPort = 1024
)

// DefaultSystemPrompt is the system prompt for lang ("es" or anything
// else for English).
func DefaultSystemPrompt(lang string) string {
	if strings.HasPrefix(strings.ToLower(lang), "es") {
		return "Eres un asistente útil. Responde de forma clara y concisa, en el idioma del usuario."
	}
	return "You are a helpful assistant. Answer clearly and concisely, in the user's language."
}

// SystemLanguage guesses the user's language ("en" or "es") from the
// locale variables.
func SystemLanguage(getenv func(string) string) string {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"} {
		if v := strings.ToLower(getenv(k)); v != "" && v != "c" && v != "posix" {
			if strings.HasPrefix(v, "es") {
				return "es"
			}
			return "en"
		}
	}
	return "en"
}

// DefaultThreads is engine.DefaultThreads.
func DefaultThreads(numCPU int) int { return engine.DefaultThreads(numCPU) }

// Defaults returns the default settings; env BITNET_MAX_TOKENS and
// BITNET_TEMPERATURE replace the built-in defaults.
func Defaults(numCPU int, env appdata.Env, lang string) Settings {
	s := Settings{
		SystemPrompt: DefaultSystemPrompt(lang),
		Temperature:  0.8,
		TopP:         0.95,
		TopK:         40,
		MaxTokens:    1024,
		Threads:      DefaultThreads(numCPU),
		Theme:        "system",
		Language:     "",
		ServerPort:   server.DefaultPort,
		KVCache:      "f16",
	}
	if env.MaxTokens > 0 {
		s.MaxTokens = min(env.MaxTokens, MaxMaxTokens)
	}
	if env.Temperature != nil {
		s.Temperature = math.Min(*env.Temperature, MaxTemperature)
	}
	return s
}

// Normalize clamps every field into its range; values that make no sense
// (NaN, unknown theme) become the default's.
func Normalize(s Settings, def Settings, numCPU int) Settings {
	clamp := func(v, lo, hi, d float64) float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return d
		}
		return math.Max(lo, math.Min(hi, v))
	}
	s.Temperature = clamp(s.Temperature, 0, MaxTemperature, def.Temperature)
	s.TopP = clamp(s.TopP, 0, 1, def.TopP)
	s.TopK = max(0, min(s.TopK, MaxTopK))
	if s.MaxTokens <= 0 {
		s.MaxTokens = def.MaxTokens
	}
	s.MaxTokens = min(s.MaxTokens, MaxMaxTokens)
	if s.Threads <= 0 {
		s.Threads = def.Threads
	}
	s.Threads = max(1, min(s.Threads, max(1, numCPU)))
	if !slices.Contains(Themes, s.Theme) {
		s.Theme = "system"
	}
	if !slices.Contains(Languages, s.Language) {
		s.Language = ""
	}
	if !slices.Contains(KVCaches, s.KVCache) {
		s.KVCache = "f16"
	}
	if s.ServerPort < MinServerPort || s.ServerPort > 65535 {
		s.ServerPort = server.DefaultPort
	}
	s.DownloadURL = strings.TrimSpace(s.DownloadURL)
	if utf8.RuneCountInString(s.SystemPrompt) > MaxSystemPromptLen {
		s.SystemPrompt = string([]rune(s.SystemPrompt)[:MaxSystemPromptLen])
	}
	return s
}

// Validate reports settings that cannot be clamped: a bad download URL.
func Validate(s Settings) error {
	if s.DownloadURL == "" {
		return nil
	}
	u, err := url.Parse(s.DownloadURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return engine.Errorf(engine.CodeInvalidRequest, map[string]any{"field": "downloadUrl", "value": s.DownloadURL},
			"the download URL must be an http:// or https:// address")
	}
	return nil
}

// Store keeps the settings in a JSON file. It is safe for concurrent use.
type Store struct {
	path     string
	defaults Settings
	numCPU   int

	mu  sync.Mutex
	cur Settings
}

// Open reads the settings file at path. A missing file gives the
// defaults. A corrupt file is renamed to path+".bad" and the defaults are
// used; the returned error (with a usable Store) says so.
func Open(path string, defaults Settings, numCPU int) (*Store, error) {
	s := &Store{path: path, defaults: defaults, numCPU: numCPU, cur: Normalize(defaults, defaults, numCPU)}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read settings: %w", err)
	}
	loaded := defaults // fields missing from the file keep their default
	if err := json.Unmarshal(b, &loaded); err != nil {
		_ = os.Rename(path, path+".bad")
		return s, fmt.Errorf("settings file %s is corrupt (moved to .bad, using defaults): %w", path, err)
	}
	loaded = Normalize(loaded, defaults, numCPU)
	if Validate(loaded) != nil {
		loaded.DownloadURL = ""
	}
	s.cur = loaded
	return s, nil
}

// Get returns the current settings.
func (s *Store) Get() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Defaults returns the defaults the store was opened with.
func (s *Store) Defaults() Settings { return s.defaults }

// Save normalizes and validates in, writes it and returns what was saved.
func (s *Store) Save(in Settings) (Settings, error) {
	in = Normalize(in, s.defaults, s.numCPU)
	if err := Validate(in); err != nil {
		return s.Get(), err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := writeFileAtomic(s.path, in); err != nil {
		return s.cur, engine.Wrap(engine.CodeIO, err, "could not save the settings")
	}
	s.cur = in
	return in, nil
}

// writeFileAtomic writes v as JSON to a temporary file next to path, syncs
// it and renames it over path, so a crash leaves the old or the new file.
func writeFileAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".settings-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
