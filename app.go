package main

import (
	"context"
	"log/slog"

	"github.com/bitnet-desktop/bitnet-desktop/internal/desktop"

	"github.com/bitnet-desktop/bitnet-desktop/internal/chatstore"
	"github.com/bitnet-desktop/bitnet-desktop/internal/session"
	"github.com/bitnet-desktop/bitnet-desktop/internal/settings"
)

// App is bound to the front end: every exported method is callable from
// JavaScript (docs/app-bindings.md is the contract). Each one delegates to
// internal/session; errors reach JavaScript as the JSON text of an
// *engine.Error.
type App struct {
	s   *session.Session
	ui  *desktop.UI
	log *slog.Logger
}

// startup runs when the window exists, before the page loads.
func (a *App) startup(ctx context.Context) {
	a.ui.SetContext(ctx)
	a.s.Start()
}

// shutdown runs when the app quits: stop generating, keep a partial
// download, unload the model, close the database.
func (a *App) shutdown(context.Context) {
	if err := a.s.Close(); err != nil {
		a.log.Error("shutdown", "err", err)
		return
	}
	a.log.Info("shutdown complete")
}

// GetState returns the current state, for the first paint.
func (a *App) GetState() session.AppState { return a.s.State() }

// GetSettings returns the settings.
func (a *App) GetSettings() settings.Settings { return a.s.GetSettings() }

// SaveSettings stores the settings (clamped) and applies the server toggle.
func (a *App) SaveSettings(s settings.Settings) error { return session.JSError(a.s.SaveSettings(s)) }

// DefaultSystemPrompt returns the default system prompt in "en" or "es".
func (a *App) DefaultSystemPrompt(lang string) string { return a.s.DefaultSystemPrompt(lang) }

// StartDownload downloads the model, resuming a partial file.
func (a *App) StartDownload() error { return session.JSError(a.s.StartDownload()) }

// PauseDownload stops the download and keeps the partial file.
func (a *App) PauseDownload() { a.s.PauseDownload() }

// CancelDownload stops the download and deletes the partial file.
func (a *App) CancelDownload() { a.s.CancelDownload() }

// ChooseModelFile opens a native dialog and imports the chosen GGUF file;
// "" if cancelled.
func (a *App) ChooseModelFile() (string, error) { return session.JS(a.s.ChooseModelFile()) }

// ImportModel validates a GGUF file, copies it into the data folder and
// loads it.
func (a *App) ImportModel(path string) error { return session.JSError(a.s.ImportModel(path)) }

// ListModels returns the model library: the catalog and the installed files.
func (a *App) ListModels() []session.LibraryModel { return a.s.ListModels() }

// DownloadModel downloads a catalog model (progress as state events).
func (a *App) DownloadModel(id string) error { return session.JSError(a.s.DownloadModel(id)) }

// SelectModel makes an installed model the active one and loads it.
func (a *App) SelectModel(id string) error { return session.JSError(a.s.SelectModel(id)) }

// DeleteModel deletes an installed model's file.
func (a *App) DeleteModel(id string) error { return session.JSError(a.s.DeleteModel(id)) }

// LoadModel loads the model in the background (progress as state events).
func (a *App) LoadModel() error { return session.JSError(a.s.LoadModel()) }

// UnloadModel frees the model.
func (a *App) UnloadModel() error { return session.JSError(a.s.UnloadModel()) }

// ListConversations returns the conversations, newest first, filtered by
// query (titles and message text).
func (a *App) ListConversations(query string) ([]chatstore.ConversationSummary, error) {
	return session.JS(a.s.ListConversations(query))
}

// CreateConversation makes an empty conversation.
func (a *App) CreateConversation() (chatstore.Conversation, error) {
	return session.JS(a.s.CreateConversation())
}

// GetConversation returns a conversation with its messages.
func (a *App) GetConversation(id string) (chatstore.Conversation, error) {
	return session.JS(a.s.GetConversation(id))
}

// RenameConversation sets a conversation's title.
func (a *App) RenameConversation(id, title string) error {
	return session.JSError(a.s.RenameConversation(id, title))
}

// DeleteConversation deletes a conversation.
func (a *App) DeleteConversation(id string) error { return session.JSError(a.s.DeleteConversation(id)) }

// SendMessage saves the user message and starts the answer (chat:* events).
func (a *App) SendMessage(conversationID, text string) (chatstore.Message, error) {
	return session.JS(a.s.SendMessage(conversationID, text))
}

// CountDraft counts a draft's tokens against the most a message may have.
func (a *App) CountDraft(conversationID, text string) (session.DraftCount, error) {
	return session.JS(a.s.CountDraft(conversationID, text))
}

// TruncateDraft cuts a draft to fit, marker appended.
func (a *App) TruncateDraft(conversationID, text, marker string) (string, error) {
	return session.JS(a.s.TruncateDraft(conversationID, text, marker))
}

// StopGeneration cancels the running answer, keeping its text.
func (a *App) StopGeneration() { a.s.StopGeneration() }

// Regenerate replaces the last answer of a conversation.
func (a *App) Regenerate(conversationID string) error {
	return session.JSError(a.s.Regenerate(conversationID))
}

// EditMessage replaces a user message, drops what follows and answers again.
func (a *App) EditMessage(conversationID, messageID, text string) error {
	return session.JSError(a.s.EditMessage(conversationID, messageID, text))
}

// ExportConversation saves a conversation as "markdown" or "json" through
// a save dialog; returns the path, or "" if cancelled.
func (a *App) ExportConversation(id, format string) (string, error) {
	return session.JS(a.s.ExportConversation(id, format))
}
