package main

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestBindingsMatchContract keeps App's bound methods equal to
// docs/app-bindings.md.
func TestBindingsMatchContract(t *testing.T) {
	want := map[string]string{
		"GetState":            "func() session.AppState",
		"GetSettings":         "func() settings.Settings",
		"SaveSettings":        "func(settings.Settings) error",
		"DefaultSystemPrompt": "func(string) string",
		"StartDownload":       "func() error",
		"PauseDownload":       "func()",
		"CancelDownload":      "func()",
		"ChooseModelFile":     "func() (string, error)",
		"ImportModel":         "func(string) error",
		"LoadModel":           "func() error",
		"ListModels":          "func() []session.LibraryModel",
		"DownloadModel":       "func(string) error",
		"SelectModel":         "func(string) error",
		"DeleteModel":         "func(string) error",
		"UnloadModel":         "func() error",
		"ListConversations":   "func(string) ([]chatstore.ConversationSummary, error)",
		"CreateConversation":  "func() (chatstore.Conversation, error)",
		"GetConversation":     "func(string) (chatstore.Conversation, error)",
		"RenameConversation":  "func(string, string) error",
		"DeleteConversation":  "func(string) error",
		"SendMessage":         "func(string, string) (chatstore.Message, error)",
		"StopGeneration":      "func()",
		"CountDraft":          "func(string, string) (session.DraftCount, error)",
		"TruncateDraft":       "func(string, string, string) (string, error)",
		"Regenerate":          "func(string) error",
		"EditMessage":         "func(string, string, string) error",
		"ExportConversation":  "func(string, string) (string, error)",
	}
	typ := reflect.TypeOf(&App{})
	var extra []string
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		sig, ok := want[m.Name]
		if !ok {
			extra = append(extra, m.Name)
			continue
		}
		// The method type includes the receiver: drop it.
		got := strings.Replace(m.Type.String(), "func(*main.App", "func(", 1)
		got = strings.Replace(got, "func(, ", "func(", 1)
		if got != sig {
			t.Errorf("%s: %s, want %s", m.Name, got, sig)
		}
		delete(want, m.Name)
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("methods not in the contract are bound: %v", extra)
	}
	for name := range want {
		t.Errorf("contract method %s is missing", name)
	}
}

func TestHasVersionFlag(t *testing.T) {
	for args, want := range map[string]bool{"": false, "--version": true, "-version": true, "-devserver x": false, "x --version": true} {
		if got := hasVersionFlag(strings.Fields(args)); got != want {
			t.Errorf("hasVersionFlag(%q) = %v", args, got)
		}
	}
}
