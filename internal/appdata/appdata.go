// Package appdata decides where BitNet Desktop keeps its files (following
// the XDG base directories on Linux and their equivalents elsewhere) and
// reads the BITNET_* environment overrides.
package appdata

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/adrg/xdg"
)

// AppName is the folder name under each base directory.
const AppName = "bitnet-desktop"

// Environment variables.
const (
	EnvDataDir     = "BITNET_DATA_DIR"     // put every file under this one folder
	EnvModelPath   = "BITNET_MODEL_PATH"   // use this model file
	EnvMaxTokens   = "BITNET_MAX_TOKENS"   // default for Settings.MaxTokens
	EnvTemperature = "BITNET_TEMPERATURE"  // default for Settings.Temperature
	EnvDownloadURL = "BITNET_DOWNLOAD_URL" // URL of the model download
)

// Paths are the app's files and folders.
type Paths struct {
	Root         string // BITNET_DATA_DIR, or "" when the XDG folders are used
	ModelsDir    string // downloaded and imported models (data)
	CacheDir     string // converted models (cache)
	DBPath       string // the chat database (data)
	SettingsPath string // settings.json (config)
	LogDir       string // logs (state)
}

// Env holds the BITNET_* overrides. Zero values mean "not set".
type Env struct {
	ModelPath   string
	MaxTokens   int
	Temperature *float64
	DownloadURL string
}

// Resolve returns the paths. getenv is os.Getenv outside tests.
func Resolve(getenv func(string) string) Paths {
	if root := strings.TrimSpace(getenv(EnvDataDir)); root != "" {
		if abs, err := filepath.Abs(root); err == nil {
			root = abs
		}
		return Paths{
			Root:         root,
			ModelsDir:    filepath.Join(root, "models"),
			CacheDir:     filepath.Join(root, "cache"),
			DBPath:       filepath.Join(root, "chats.db"),
			SettingsPath: filepath.Join(root, "settings.json"),
			LogDir:       filepath.Join(root, "logs"),
		}
	}
	data := filepath.Join(xdg.DataHome, AppName)
	return Paths{
		ModelsDir:    filepath.Join(data, "models"),
		CacheDir:     filepath.Join(xdg.CacheHome, AppName),
		DBPath:       filepath.Join(data, "chats.db"),
		SettingsPath: filepath.Join(xdg.ConfigHome, AppName, "settings.json"),
		LogDir:       filepath.Join(xdg.StateHome, AppName, "logs"),
	}
}

// Ensure creates the folders.
func (p Paths) Ensure() error {
	for _, d := range []string{p.ModelsDir, p.CacheDir, filepath.Dir(p.DBPath), filepath.Dir(p.SettingsPath), p.LogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	return nil
}

// ReadEnv parses the overrides. Invalid numbers are reported as an error
// (the caller logs it) and left unset.
func ReadEnv(getenv func(string) string) (Env, error) {
	var e Env
	var errs []error
	e.ModelPath = strings.TrimSpace(getenv(EnvModelPath))
	if e.ModelPath != "" {
		if abs, err := filepath.Abs(e.ModelPath); err == nil {
			e.ModelPath = abs
		}
	}
	e.DownloadURL = strings.TrimSpace(getenv(EnvDownloadURL))
	if v := strings.TrimSpace(getenv(EnvMaxTokens)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive integer", EnvMaxTokens, v))
		} else {
			e.MaxTokens = n
		}
	}
	if v := strings.TrimSpace(getenv(EnvTemperature)); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a number >= 0", EnvTemperature, v))
		} else {
			e.Temperature = &f
		}
	}
	return e, errors.Join(errs...)
}

// ModelFileName is the name of the official model file.
const ModelFileName = "ggml-model-i2_s.gguf"

// FindModel returns the model file to use: BITNET_MODEL_PATH when set (even
// if missing, so that the error names it), else the most recently modified
// .gguf file in the models folder, else "".
func FindModel(p Paths, e Env) string {
	if e.ModelPath != "" {
		return e.ModelPath
	}
	models := ListModels(p.ModelsDir)
	if len(models) == 0 {
		return ""
	}
	return models[0]
}

// ListModels returns the .gguf files in dir, newest first.
func ListModels(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	type file struct {
		path string
		mod  int64
	}
	var files []file
	for _, de := range entries {
		if !de.Type().IsRegular() || !strings.EqualFold(filepath.Ext(de.Name()), ".gguf") || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue
		}
		files = append(files, file{filepath.Join(dir, de.Name()), info.ModTime().UnixNano()})
	}
	sort.Slice(files, func(i, j int) bool {
		if files[i].mod != files[j].mod {
			return files[i].mod > files[j].mod
		}
		return files[i].path < files[j].path
	})
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.path
	}
	return out
}

// Exists reports whether path is an existing regular file.
func Exists(path string) bool {
	if path == "" {
		return false
	}
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
