// Package contract is the one definition of what the desktop app's Go side
// and its TypeScript front end exchange: the types of the bound methods'
// arguments and results, the events and their payloads, and the string
// values of every enumeration. The Go types are defined where they belong
// (internal/session, internal/chatstore, internal/settings, engine); this
// package lists them and writes frontend/src/api/contract.gen.ts from them
// (TypeScript), and frontend/src/testing/go-defaults.json (the defaults the
// front end's fake backend uses). TestGenerated fails when either file is
// stale; `go test ./internal/contract -update` rewrites them.
package contract

import (
	"reflect"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/download"
	"github.com/bitnet-desktop/bitnet-desktop/internal/chatstore"
	"github.com/bitnet-desktop/bitnet-desktop/internal/session"
	"github.com/bitnet-desktop/bitnet-desktop/internal/settings"
)

// Type is a Go type of the contract and its TypeScript name.
type Type struct {
	Name string
	Go   reflect.Type
}

// Enum is a set of string values. A Go field carries a `ts:"Name"` tag to
// be typed with it in TypeScript.
type Enum struct {
	Name   string
	Doc    string
	Values []string
}

// Event is an event the Go side emits, and its payload type.
type Event struct {
	Name    string
	Payload reflect.Type // nil: an empty object
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

// Types lists the contract's structs, in the order they are written.
func Types() []Type {
	return []Type{
		{"AppError", typeOf[engine.Error]()},
		{"AppState", typeOf[session.AppState]()},
		{"DownloadProgress", typeOf[session.DownloadProgress]()},
		{"ModelInfo", typeOf[session.ModelInfo]()},
		{"DraftCount", typeOf[session.DraftCount]()},
		{"LibraryModel", typeOf[session.LibraryModel]()},
		{"GenStats", typeOf[chatstore.GenStats]()},
		{"Settings", typeOf[settings.Settings]()},
		{"Message", typeOf[chatstore.Message]()},
		{"ConversationSummary", typeOf[chatstore.ConversationSummary]()},
		{"Conversation", typeOf[chatstore.Conversation]()},
		{"ChatStartEvent", typeOf[session.ChatStart]()},
		{"ChatDeltaEvent", typeOf[session.ChatDelta]()},
		{"ChatDoneEvent", typeOf[session.ChatDone]()},
		{"ChatErrorEvent", typeOf[session.ChatError]()},
	}
}

// Enums lists the enumerations, each value taken from its Go constant.
func Enums() []Enum {
	return []Enum{
		{"ModelStatus", "AppState.status: the model's life cycle.", []string{
			session.StatusNotInstalled, session.StatusDownloading, session.StatusVerifying, session.StatusConverting,
			session.StatusLoading, session.StatusReady, session.StatusGenerating, session.StatusError}},
		{"DownloadState", "DownloadProgress.state.", []string{
			string(download.StateIdle), string(download.StateRunning), string(download.StatePaused),
			string(download.StateVerifying), string(download.StateDone), string(download.StateFailed),
			string(download.StateCancelled)}},
		{"Role", "Message.role.", []string{chatstore.RoleSystem, chatstore.RoleUser, chatstore.RoleAssistant}},
		{"MessageStatus", "Message.status.", []string{
			chatstore.StatusDone, chatstore.StatusStreaming, chatstore.StatusCancelled, chatstore.StatusError}},
		{"FinishReason", "GenStats.finishReason.", []string{engine.FinishStop, engine.FinishLength, engine.FinishCancelled}},
		{"Theme", "Settings.theme.", settings.Themes},
		{"LanguageSetting", `Settings.language ("" follows the system).`, settings.Languages},
		{"KVCacheSetting", "Settings.kvCache.", settings.KVCaches},
		{"ExportFormat", "ExportConversation's format.", []string{chatstore.FormatMarkdown, chatstore.FormatJSON}},
		{"ErrorCode", "Every AppError.code the Go side returns; the UI translates errors.<code>.", []string{
			engine.CodeBusy, engine.CodeContextExceeded, engine.CodeInvalidModel, engine.CodeInvalidRequest,
			engine.CodeNotLoaded, engine.CodeNotChat, engine.CodeCPUUnsupported, engine.CodeIO, engine.CodeDiskFull, engine.CodeDownload,
			engine.CodeChecksum, engine.CodeNoConnection, engine.CodeConnectionRefused, engine.CodeTimeout,
			engine.CodeHTTP, engine.CodeTLS, engine.CodeCancelled, engine.CodeInternal,
			session.CodeNoModel, session.CodeNotFound, session.CodeImportFailed, session.CodePortInUse, session.CodeNoMemory}},
	}
}

// Events lists the events and their payloads.
func Events() []Event {
	return []Event{
		{session.EventState, typeOf[session.AppState]()},
		{session.EventChatStart, typeOf[session.ChatStart]()},
		{session.EventChatDelta, typeOf[session.ChatDelta]()},
		{session.EventChatDone, typeOf[session.ChatDone]()},
		{session.EventChatError, typeOf[session.ChatError]()},
		{session.EventConversationsChanged, nil},
		{session.EventModelsChanged, nil},
	}
}
