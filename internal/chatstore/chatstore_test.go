package chatstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chats.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func mustConv(t *testing.T, s *Store) Conversation {
	t.Helper()
	c, err := s.CreateConversation(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustAdd(t *testing.T, s *Store, conv, role, content string) Message {
	t.Helper()
	m, err := s.AddMessage(context.Background(), conv, role, content, StatusDone)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOpenMigratesAndUsesWAL(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations()) {
		t.Errorf("schema version %d, %v", v, err)
	}
	if m, err := s.JournalMode(ctx); err != nil || m != "wal" {
		t.Errorf("journal mode %q, %v", m, err)
	}
	c := mustConv(t, s)
	s.Close()

	// Reopening applies nothing twice and keeps the data.
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.GetConversation(ctx, c.ID); err != nil {
		t.Errorf("conversation lost on reopen: %v", err)
	}
	var rows int
	if err := s2.db.QueryRow(`SELECT COUNT(*) FROM schema_version`).Scan(&rows); err != nil || rows != len(migrations()) {
		t.Errorf("schema_version rows %d, %v", rows, err)
	}
}

func TestOpenRejectsNewerSchema(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	if _, err := s.db.Exec(`INSERT INTO schema_version(version, name) VALUES (999, 'future')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open on a newer schema = %v", err)
	}
}

func TestConversationCRUD(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)

	c := mustConv(t, s)
	if c.Title != "" || c.Messages == nil || len(c.Messages) != 0 || c.ID == "" {
		t.Fatalf("new conversation %+v", c)
	}
	if _, err := time.Parse(time.RFC3339, c.UpdatedAt); err != nil {
		t.Errorf("updatedAt %q: %v", c.UpdatedAt, err)
	}
	u := mustAdd(t, s, c.ID, RoleUser, "  How do   ternary weights\nwork?")
	mustAdd(t, s, c.ID, RoleAssistant, "They are -1, 0 or +1.")
	got, err := s.GetConversation(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "How do ternary weights" {
		t.Errorf("auto title %q", got.Title)
	}
	if len(got.Messages) != 2 || got.Messages[0].ID != u.ID || got.Messages[1].Role != RoleAssistant {
		t.Errorf("messages %+v", got.Messages)
	}
	if got.Preview != "They are -1, 0 or +1." {
		t.Errorf("preview %q", got.Preview)
	}
	// A second user message does not retitle.
	mustAdd(t, s, c.ID, RoleUser, "Another question")
	if got, _ := s.GetConversation(ctx, c.ID); got.Title != "How do ternary weights" {
		t.Errorf("retitled to %q", got.Title)
	}

	if err := s.RenameConversation(ctx, c.ID, "  My   chat "); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetConversation(ctx, c.ID); got.Title != "My chat" {
		t.Errorf("renamed title %q", got.Title)
	}
	if err := s.DeleteConversation(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&n); err != nil || n != 0 {
		t.Errorf("messages left after delete: %d %v", n, err)
	}

	for name, err := range map[string]error{
		"get":    func() error { _, err := s.GetConversation(ctx, c.ID); return err }(),
		"rename": s.RenameConversation(ctx, "nope", "x"),
		"delete": s.DeleteConversation(ctx, c.ID),
		"add":    func() error { _, err := s.AddMessage(ctx, "nope", RoleUser, "x", StatusDone); return err }(),
		"update": s.UpdateMessage(ctx, "nope", "x", StatusDone, nil),
		"msg":    func() error { _, err := s.GetMessage(ctx, "nope"); return err }(),
	} {
		if engine.CodeOf(err) != CodeNotFound {
			t.Errorf("%s on a missing id: %v", name, err)
		}
	}
}

func TestListOrderAndSearch(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	a := mustConv(t, s)
	mustAdd(t, s, a.ID, RoleUser, "Tell me about llamas")
	b := mustConv(t, s)
	mustAdd(t, s, b.ID, RoleUser, "Recipe for paella")
	mustAdd(t, s, b.ID, RoleAssistant, "Use saffron and 100% bomba rice")
	empty := mustConv(t, s)

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{empty.ID, b.ID, a.ID}},
		{"LLAMA", []string{a.ID}},         // title, case-insensitive
		{"saffron", []string{b.ID}},       // message content
		{"100%", []string{b.ID}},          // LIKE wildcard taken literally
		{"_", nil},                        // ditto
		{"  paella ", []string{b.ID}},     // trimmed
		{"nothing like this", []string{}}, // no match
	}
	for _, tt := range tests {
		got, err := s.ListConversations(ctx, tt.query)
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
			t.Errorf("ListConversations(%q) = %v, want %v", tt.query, ids, tt.want)
		}
	}
	// Activity moves a conversation to the top.
	mustAdd(t, s, a.ID, RoleAssistant, "Llamas are camelids.")
	got, _ := s.ListConversations(ctx, "")
	if got[0].ID != a.ID || got[0].Preview != "Llamas are camelids." || got[0].Title != "Tell me about llamas" {
		t.Errorf("after activity: %+v", got[0])
	}
}

func TestStreamingMessage(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	c := mustConv(t, s)
	mustAdd(t, s, c.ID, RoleUser, "hi")
	m, err := s.AddMessage(ctx, c.ID, RoleAssistant, "", StatusStreaming)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateMessage(ctx, m.ID, "Hel", StatusStreaming, nil); err != nil {
		t.Fatal(err)
	}
	// The app is killed here; a new process recovers.
	s.Close()
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if n, err := s2.RecoverStreaming(ctx); err != nil || n != 1 {
		t.Errorf("RecoverStreaming = %d, %v", n, err)
	}
	got, err := s2.GetMessage(ctx, m.ID)
	if err != nil || got.Content != "Hel" || got.Status != StatusCancelled {
		t.Errorf("recovered %+v, %v", got, err)
	}
	stats := &GenStats{CompletionTokens: 3, DecodeTPS: 12.5, FinishReason: "stop"}
	if err := s2.UpdateMessage(ctx, m.ID, "Hello!", StatusDone, stats); err != nil {
		t.Fatal(err)
	}
	got, _ = s2.GetMessage(ctx, m.ID)
	if got.Stats == nil || *got.Stats != *stats || got.Status != StatusDone {
		t.Errorf("final %+v", got)
	}
	// nil stats keeps the stored ones.
	if err := s2.UpdateMessage(ctx, m.ID, "Hello!!", StatusDone, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ = s2.GetMessage(ctx, m.ID); got.Stats == nil {
		t.Error("stats dropped")
	}
	if err := s2.UpdateMessage(ctx, m.ID, "x", "weird", nil); err == nil {
		t.Error("invalid status accepted")
	}
}

func TestEditAndDelete(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	c := mustConv(t, s)
	u1 := mustAdd(t, s, c.ID, RoleUser, "one")
	a1 := mustAdd(t, s, c.ID, RoleAssistant, "uno")
	u2 := mustAdd(t, s, c.ID, RoleUser, "two")
	mustAdd(t, s, c.ID, RoleAssistant, "dos")

	if _, err := s.EditMessage(ctx, c.ID, a1.ID, "x"); engine.CodeOf(err) != engine.CodeInvalidRequest {
		t.Errorf("editing an assistant message: %v", err)
	}
	if _, err := s.EditMessage(ctx, "other", u1.ID, "x"); engine.CodeOf(err) != CodeNotFound {
		t.Errorf("editing in the wrong conversation: %v", err)
	}
	m, err := s.EditMessage(ctx, c.ID, u2.ID, "TWO")
	if err != nil || m.Content != "TWO" {
		t.Fatalf("EditMessage = %+v, %v", m, err)
	}
	got, _ := s.GetConversation(ctx, c.ID)
	if len(got.Messages) != 3 || got.Messages[2].Content != "TWO" {
		t.Errorf("after edit %+v", got.Messages)
	}
	if err := s.DeleteMessagesFrom(ctx, c.ID, a1.ID, true); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetConversation(ctx, c.ID)
	if len(got.Messages) != 1 || got.Messages[0].ID != u1.ID {
		t.Errorf("after delete-from %+v", got.Messages)
	}
	if err := s.DeleteMessagesFrom(ctx, c.ID, u1.ID, false); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetConversation(ctx, c.ID); len(got.Messages) != 1 {
		t.Errorf("exclusive delete removed the message itself")
	}
	if err := s.DeleteMessagesFrom(ctx, c.ID, "nope", true); engine.CodeOf(err) != CodeNotFound {
		t.Errorf("delete from a missing message: %v", err)
	}
}

func TestExport(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	c := mustConv(t, s)
	mustAdd(t, s, c.ID, RoleUser, "What is 1.58 bits?")
	a, _ := s.AddMessage(ctx, c.ID, RoleAssistant, "log2(3) ≈ 1.58", StatusCancelled)
	_ = a

	md, err := s.Export(ctx, c.ID, FormatMarkdown)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# What is 1.58 bits?\n", "## User\n\nWhat is 1.58 bits?\n", "## Assistant\n\nlog2(3) ≈ 1.58\n", "_(stopped)_"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	js, err := s.Export(ctx, c.ID, FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	var back Conversation
	if err := json.Unmarshal(js, &back); err != nil || back.ID != c.ID || len(back.Messages) != 2 || back.Messages[1].Status != StatusCancelled {
		t.Errorf("json export %s (%v)", js, err)
	}
	if !strings.Contains(string(js), `"conversationId"`) || !strings.Contains(string(js), `"createdAt"`) {
		t.Errorf("json export not camelCase: %s", js)
	}
	if _, err := s.Export(ctx, c.ID, "pdf"); engine.CodeOf(err) != engine.CodeInvalidRequest {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := s.Export(ctx, "nope", FormatJSON); engine.CodeOf(err) != CodeNotFound {
		t.Errorf("missing conversation: %v", err)
	}
}

func TestAutoTitle(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hello", "Hello"},
		{"  # Heading\nbody", "Heading"},
		{"\n\nsecond   line  first", "second line first"},
		{"Explain in detail how ternary quantization of large language models works on CPUs",
			"Explain in detail how ternary quantization of…"},
		{strings.Repeat("x", 60), strings.Repeat("x", 48) + "…"},
		{"¿Qué es BitNet? Explícame cómo funcionan los pesos ternarios, por favor", "¿Qué es BitNet? Explícame cómo funcionan los…"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := AutoTitle(tt.in); got != tt.want {
			t.Errorf("AutoTitle(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFileName(t *testing.T) {
	tests := []struct{ title, format, want string }{
		{"", FormatMarkdown, "chat.md"},
		{"a/b: c?", FormatJSON, "ab c.json"},
		{"¿Qué tal?", FormatMarkdown, "Qué tal.md"},
		{"...", FormatMarkdown, "chat.md"},
	}
	for _, tt := range tests {
		if got := FileName(Conversation{Title: tt.title}, tt.format); got != tt.want {
			t.Errorf("FileName(%q) = %q, want %q", tt.title, got, tt.want)
		}
	}
}

func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	c := mustConv(t, s)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := s.AddMessage(ctx, c.ID, RoleAssistant, "", StatusStreaming)
			if err != nil {
				errs <- err
				return
			}
			for j := range 20 {
				if err := s.UpdateMessage(ctx, m.ID, strings.Repeat("x", j+i), StatusStreaming, nil); err != nil {
					errs <- err
				}
				if _, err := s.ListConversations(ctx, "x"); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestTimestampsIncrease(t *testing.T) {
	fixed := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	s, err := open(context.Background(), filepath.Join(t.TempDir(), "c.db"), func() time.Time { return fixed })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, b := mustConv(t, s), mustConv(t, s)
	if a.UpdatedAt >= b.UpdatedAt {
		t.Errorf("timestamps %s, %s not increasing", a.UpdatedAt, b.UpdatedAt)
	}
	if a.UpdatedAt != "2025-05-01T12:00:00.000Z" {
		t.Errorf("format %s", a.UpdatedAt)
	}
}

// TestAnswerModel: an answer keeps the model that wrote it, and the
// conversation the model of its latest answer.
func TestAnswerModel(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	c, _ := s.CreateConversation(ctx)
	if _, err := s.AddMessage(ctx, c.ID, RoleUser, "hi", StatusDone); err != nil {
		t.Fatal(err)
	}
	a, err := s.AddAnswer(ctx, c.ID, StatusStreaming, "falcon3-1b-instruct-1.58bit", "Falcon3 1B Instruct 1.58-bit")
	if err != nil {
		t.Fatal(err)
	}
	if a.Role != RoleAssistant || a.ModelID != "falcon3-1b-instruct-1.58bit" || a.Model != "Falcon3 1B Instruct 1.58-bit" {
		t.Errorf("answer %+v", a)
	}
	got, _ := s.GetConversation(ctx, c.ID)
	if got.ModelID != "falcon3-1b-instruct-1.58bit" || got.Messages[1].Model != "Falcon3 1B Instruct 1.58-bit" || got.Messages[0].Model != "" {
		t.Errorf("conversation %+v", got)
	}
	if m, _ := s.GetMessage(ctx, a.ID); m.ModelID != a.ModelID {
		t.Errorf("message %+v", m)
	}
}

// TestMigrateFromVersion1: a database made by the app before the model
// library keeps its messages, which get empty model fields.
func TestMigrateFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL DEFAULT 0)`); err != nil {
		t.Fatal(err)
	}
	m := migrations()[0]
	if err := applyMigration(ctx, db, m); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO conversations(id, title, created_at, updated_at) VALUES ('c1', 'Old', 1, 1);
		INSERT INTO messages(id, conversation_id, role, content, status, created_at) VALUES ('m1', 'c1', 'assistant', 'old answer', 'done', 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.GetConversation(ctx, "c1")
	if err != nil || len(c.Messages) != 1 || c.Messages[0].Content != "old answer" || c.Messages[0].Model != "" || c.ModelID != "" {
		t.Fatalf("after migration: %+v %v", c, err)
	}
}
