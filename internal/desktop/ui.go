// Package desktop adapts the session to Wails: UI sends the session's
// events and shows native dialogs through the Wails runtime, InstanceID
// names the single-instance lock. The bound App (the JavaScript API) stays
// in package main, where Wails generates frontend/wailsjs/go/main from it.
package desktop

import (
	"context"
	"sync"

	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/bitnet-desktop/bitnet-desktop/internal/session"
)

// UI implements session.Emitter and session.Dialogs with the Wails
// runtime. It is not bound to the front end.
type UI struct {
	mu  sync.RWMutex
	ctx context.Context // set at startup; nil before
}

// SetContext gives the Wails context (at startup); events sent before are
// dropped.
func (u *UI) SetContext(ctx context.Context) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.ctx = ctx
}

func (u *UI) context() context.Context {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return u.ctx
}

// Emit sends an event to the front end (dropped before startup).
func (u *UI) Emit(name string, payload any) {
	if ctx := u.context(); ctx != nil {
		runtime.EventsEmit(ctx, name, payload)
	}
}

func filters(fs []session.FileFilter) []runtime.FileFilter {
	out := make([]runtime.FileFilter, len(fs))
	for i, f := range fs {
		out[i] = runtime.FileFilter{DisplayName: f.DisplayName, Pattern: f.Pattern}
	}
	return out
}

// OpenFile shows a native open dialog; "" if cancelled.
func (u *UI) OpenFile(d session.FileDialog) (string, error) {
	ctx := u.context()
	if ctx == nil {
		return "", nil
	}
	return runtime.OpenFileDialog(ctx, runtime.OpenDialogOptions{
		Title: d.Title, DefaultFilename: d.DefaultName, Filters: filters(d.Filters),
	})
}

// SaveFile shows a native save dialog; "" if cancelled.
func (u *UI) SaveFile(d session.FileDialog) (string, error) {
	ctx := u.context()
	if ctx == nil {
		return "", nil
	}
	return runtime.SaveFileDialog(ctx, runtime.SaveDialogOptions{
		Title: d.Title, DefaultFilename: d.DefaultName, Filters: filters(d.Filters), CanCreateDirectories: true,
	})
}

// Show brings the window to the front (a second instance was started).
func (u *UI) Show() {
	if ctx := u.context(); ctx != nil {
		runtime.WindowUnminimise(ctx)
		runtime.WindowShow(ctx)
	}
}
