// Package chatstore keeps conversations and messages in SQLite (pure Go,
// WAL mode, versioned migrations): CRUD, search, export and the writes of a
// streaming answer.
package chatstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bitnet-desktop/bitnet-desktop/engine"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Roles.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message statuses.
const (
	StatusDone      = "done"
	StatusStreaming = "streaming"
	StatusCancelled = "cancelled"
	StatusError     = "error"
)

// CodeNotFound is the error code of a missing conversation or message.
const CodeNotFound = "not_found"

// GenStats describes how an answer was generated (the contract's GenStats).
type GenStats struct {
	PromptTokens     int     `json:"promptTokens"`
	CachedTokens     int     `json:"cachedTokens"`
	PrefillTokens    int     `json:"prefillTokens"`
	CompletionTokens int     `json:"completionTokens"`
	TTFTMs           float64 `json:"ttftMs"`
	PrefillTPS       float64 `json:"prefillTps"`
	DecodeTPS        float64 `json:"decodeTps"`
	FinishReason     string  `json:"finishReason" ts:"FinishReason"`
	DroppedMessages  int     `json:"droppedMessages"`
	ContextUsed      int     `json:"contextUsed"`
	ContextSize      int     `json:"contextSize"`
}

// Message is one stored message.
type Message struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"conversationId"`
	Role           string    `json:"role" ts:"Role"`
	Content        string    `json:"content"`
	CreatedAt      string    `json:"createdAt"` // RFC 3339, UTC, milliseconds
	Stats          *GenStats `json:"stats,omitempty"`
	Status         string    `json:"status" ts:"MessageStatus"`
	// ModelID and Model name the model that wrote an answer (empty for
	// user messages and for answers stored before the model library).
	ModelID string `json:"modelId,omitempty"`
	Model   string `json:"model,omitempty"`
}

// ConversationSummary is a conversation in the list.
type ConversationSummary struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	UpdatedAt string `json:"updatedAt"`
	Preview   string `json:"preview"`
}

// Conversation is a conversation with its messages, oldest first.
type Conversation struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	UpdatedAt string    `json:"updatedAt"`
	Preview   string    `json:"preview"`
	Messages  []Message `json:"messages"`
	// ModelID is the model of the conversation's latest answer ("" before
	// any).
	ModelID string `json:"modelId,omitempty"`
}

// Store is the chat database. It is safe for concurrent use.
type Store struct {
	db  *sql.DB
	now func() time.Time

	mu   sync.Mutex
	last int64 // last timestamp handed out (ms), to keep them increasing
}

// Open opens (creating if needed) the database at path and migrates it.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, time.Now)
}

func open(ctx context.Context, path string, now func() time.Time) (*Store, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open chat database: unsupported character in path %q", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open chat database: %w", err)
	}
	dsn := path + "?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open chat database: %w", err)
	}
	// One connection: SQLite has one writer anyway, and this way a write
	// never meets SQLITE_BUSY from this process.
	db.SetMaxOpenConns(1)
	if _, err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open chat database %s: %w", path, err)
	}
	return &Store{db: db, now: now}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// SchemaVersion returns the applied schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v)
	return v, err
}

// JournalMode returns SQLite's journal mode ("wal").
func (s *Store) JournalMode(ctx context.Context) (string, error) {
	var m string
	err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&m)
	return m, err
}

// tick returns the current time in ms, strictly increasing across calls
// so that "newest first" is well defined.
func (s *Store) tick() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.now().UnixMilli()
	if t <= s.last {
		t = s.last + 1
	}
	s.last = t
	return t
}

func newID() string { return strings.ToLower(rand.Text()) }

func formatTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func notFound(what, id string) error {
	return engine.Errorf(CodeNotFound, map[string]any{"id": id}, "%s %q not found", what, id)
}

func dbError(err error, format string, args ...any) error {
	return engine.Wrap(engine.CodeIO, err, format, args...)
}

// CreateConversation makes an empty conversation titled "".
func (s *Store) CreateConversation(ctx context.Context) (Conversation, error) {
	now := s.tick()
	c := Conversation{ID: newID(), UpdatedAt: formatTime(now), Messages: []Message{}}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO conversations(id, title, created_at, updated_at) VALUES (?, '', ?, ?)`,
		c.ID, now, now); err != nil {
		return Conversation{}, dbError(err, "could not create a conversation")
	}
	return c, nil
}

// GetConversation returns a conversation with its messages.
func (s *Store) GetConversation(ctx context.Context, id string) (Conversation, error) {
	var c Conversation
	var updated int64
	err := s.db.QueryRowContext(ctx, `SELECT id, title, updated_at, model_id FROM conversations WHERE id = ?`, id).
		Scan(&c.ID, &c.Title, &updated, &c.ModelID)
	if errors.Is(err, sql.ErrNoRows) {
		return Conversation{}, notFound("conversation", id)
	}
	if err != nil {
		return Conversation{}, dbError(err, "could not read conversation %s", id)
	}
	c.UpdatedAt = formatTime(updated)
	rows, err := s.db.QueryContext(ctx, `SELECT `+messageColumns+`
		FROM messages WHERE conversation_id = ? ORDER BY seq`, id)
	if err != nil {
		return Conversation{}, dbError(err, "could not read the messages of %s", id)
	}
	defer rows.Close()
	c.Messages = []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return Conversation{}, err
		}
		c.Messages = append(c.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return Conversation{}, dbError(err, "could not read the messages of %s", id)
	}
	if n := len(c.Messages); n > 0 {
		c.Preview = preview(c.Messages[n-1].Content)
	}
	return c, nil
}

type scanner interface{ Scan(dest ...any) error }

// messageColumns are the columns scanMessage reads, in its order.
const messageColumns = `id, conversation_id, role, content, status, stats, created_at, model_id, model_name`

func scanMessage(r scanner) (Message, error) {
	var m Message
	var stats sql.NullString
	var created int64
	if err := r.Scan(&m.ID, &m.ConversationID, &m.Role, &m.Content, &m.Status, &stats, &created, &m.ModelID, &m.Model); err != nil {
		return Message{}, dbError(err, "could not read a message")
	}
	m.CreatedAt = formatTime(created)
	if stats.Valid && stats.String != "" {
		var st GenStats
		if json.Unmarshal([]byte(stats.String), &st) == nil {
			m.Stats = &st
		}
	}
	return m, nil
}

// GetMessage returns one message.
func (s *Store) GetMessage(ctx context.Context, id string) (Message, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+messageColumns+`
		FROM messages WHERE id = ?`, id)
	m, err := scanMessage(row)
	var ee *engine.Error
	if errors.As(err, &ee) && errors.Is(ee.Err, sql.ErrNoRows) {
		return Message{}, notFound("message", id)
	}
	return m, err
}

// escapeLike escapes the LIKE wildcards of s (escape character '\').
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ListConversations returns the conversations, most recently updated
// first. A non-empty query keeps those whose title or any message
// contains it (case-insensitive for ASCII letters).
func (s *Store) ListConversations(ctx context.Context, query string) ([]ConversationSummary, error) {
	query = strings.TrimSpace(query)
	pattern := "%" + escapeLike(query) + "%"
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.title, c.updated_at,
			COALESCE((SELECT substr(m.content, 1, 300) FROM messages m
			          WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1), '')
		FROM conversations c
		WHERE ?1 = '' OR c.title LIKE ?2 ESCAPE '\'
		   OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.content LIKE ?2 ESCAPE '\')
		ORDER BY c.updated_at DESC, c.id`, query, pattern)
	if err != nil {
		return nil, dbError(err, "could not list conversations")
	}
	defer rows.Close()
	out := []ConversationSummary{}
	for rows.Next() {
		var c ConversationSummary
		var updated int64
		if err := rows.Scan(&c.ID, &c.Title, &updated, &c.Preview); err != nil {
			return nil, dbError(err, "could not list conversations")
		}
		c.UpdatedAt = formatTime(updated)
		c.Preview = preview(c.Preview)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "could not list conversations")
	}
	return out, nil
}

// RenameConversation sets the title (trimmed, at most 200 characters).
func (s *Store) RenameConversation(ctx context.Context, id, title string) error {
	title = truncateRunes(strings.Join(strings.Fields(title), " "), 200)
	res, err := s.db.ExecContext(ctx, `UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?`, title, s.tick(), id)
	if err != nil {
		return dbError(err, "could not rename conversation %s", id)
	}
	return mustAffect(res, "conversation", id)
}

// DeleteConversation deletes a conversation and its messages.
func (s *Store) DeleteConversation(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM conversations WHERE id = ?`, id)
	if err != nil {
		return dbError(err, "could not delete conversation %s", id)
	}
	return mustAffect(res, "conversation", id)
}

func mustAffect(res sql.Result, what, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(err, "could not update %s %s", what, id)
	}
	if n == 0 {
		return notFound(what, id)
	}
	return nil
}

// AddMessage appends a message to a conversation and bumps its update
// time. The first user message of an untitled conversation gives it its
// title (see AutoTitle).
func (s *Store) AddMessage(ctx context.Context, conversationID, role, content, status string) (Message, error) {
	return s.addMessage(ctx, Message{ConversationID: conversationID, Role: role, Content: content, Status: status})
}

// AddAnswer appends an empty assistant message written by the model
// modelID (shown as modelName) with the given status, and makes that model
// the conversation's.
func (s *Store) AddAnswer(ctx context.Context, conversationID, status, modelID, modelName string) (Message, error) {
	return s.addMessage(ctx, Message{ConversationID: conversationID, Role: RoleAssistant, Status: status, ModelID: modelID, Model: modelName})
}

func (s *Store) addMessage(ctx context.Context, m Message) (Message, error) {
	now := s.tick()
	m.ID, m.CreatedAt = newID(), formatTime(now)
	conversationID, role, content, status := m.ConversationID, m.Role, m.Content, m.Status
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Message{}, dbError(err, "could not add a message")
	}
	defer tx.Rollback()
	var title string
	err = tx.QueryRowContext(ctx, `SELECT title FROM conversations WHERE id = ?`, conversationID).Scan(&title)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, notFound("conversation", conversationID)
	}
	if err != nil {
		return Message{}, dbError(err, "could not add a message")
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages(id, conversation_id, role, content, status, created_at, model_id, model_name)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, m.ID, conversationID, role, content, status, now, m.ModelID, m.Model); err != nil {
		return Message{}, dbError(err, "could not add a message")
	}
	if m.ModelID != "" {
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET model_id = ? WHERE id = ?`, m.ModelID, conversationID); err != nil {
			return Message{}, dbError(err, "could not add a message")
		}
	}
	if title == "" && role == RoleUser {
		var users int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND role = 'user'`,
			conversationID).Scan(&users); err != nil {
			return Message{}, dbError(err, "could not add a message")
		}
		if users == 1 {
			title = AutoTitle(content)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?`, title, now, conversationID); err != nil {
		return Message{}, dbError(err, "could not add a message")
	}
	if err := tx.Commit(); err != nil {
		return Message{}, dbError(err, "could not add a message")
	}
	return m, nil
}

// UpdateMessage sets the content, status and (if not nil) stats of a
// message. Unless status is "streaming", the conversation's update time is
// bumped too; streaming writes are cheap on purpose.
func (s *Store) UpdateMessage(ctx context.Context, id, content, status string, stats *GenStats) error {
	var statsJSON any
	if stats != nil {
		b, err := json.Marshal(stats)
		if err != nil {
			return dbError(err, "could not encode stats")
		}
		statsJSON = string(b)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return dbError(err, "could not update message %s", id)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE messages SET content = ?, status = ?, stats = COALESCE(?, stats) WHERE id = ?`,
		content, status, statsJSON, id)
	if err != nil {
		return dbError(err, "could not update message %s", id)
	}
	if err := mustAffect(res, "message", id); err != nil {
		return err
	}
	if status != StatusStreaming {
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET updated_at = ?
			WHERE id = (SELECT conversation_id FROM messages WHERE id = ?)`, s.tick(), id); err != nil {
			return dbError(err, "could not update message %s", id)
		}
	}
	if err := tx.Commit(); err != nil {
		return dbError(err, "could not update message %s", id)
	}
	return nil
}

// DeleteMessagesFrom deletes the message id of a conversation and every
// later one (inclusive=true), or only the later ones (inclusive=false).
func (s *Store) DeleteMessagesFrom(ctx context.Context, conversationID, id string, inclusive bool) error {
	op := ">"
	if inclusive {
		op = ">="
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return dbError(err, "could not delete messages")
	}
	defer tx.Rollback()
	var seq int64
	err = tx.QueryRowContext(ctx, `SELECT seq FROM messages WHERE id = ? AND conversation_id = ?`, id, conversationID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("message", id)
	}
	if err != nil {
		return dbError(err, "could not delete messages")
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE conversation_id = ? AND seq `+op+` ?`, conversationID, seq); err != nil {
		return dbError(err, "could not delete messages")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET updated_at = ? WHERE id = ?`, s.tick(), conversationID); err != nil {
		return dbError(err, "could not delete messages")
	}
	if err := tx.Commit(); err != nil {
		return dbError(err, "could not delete messages")
	}
	return nil
}

// EditMessage replaces the content of a user message and deletes every
// later message of the conversation, in one transaction.
func (s *Store) EditMessage(ctx context.Context, conversationID, id, content string) (Message, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Message{}, dbError(err, "could not edit message %s", id)
	}
	defer tx.Rollback()
	row := tx.QueryRowContext(ctx, `SELECT `+messageColumns+`
		FROM messages WHERE id = ? AND conversation_id = ?`, id, conversationID)
	m, err := scanMessage(row)
	var ee *engine.Error
	if errors.As(err, &ee) && errors.Is(ee.Err, sql.ErrNoRows) {
		return Message{}, notFound("message", id)
	}
	if err != nil {
		return Message{}, err
	}
	if m.Role != RoleUser {
		return Message{}, engine.Errorf(engine.CodeInvalidRequest, map[string]any{"id": id}, "only user messages can be edited")
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT seq FROM messages WHERE id = ?`, id).Scan(&seq); err != nil {
		return Message{}, dbError(err, "could not edit message %s", id)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET content = ?, status = 'done' WHERE id = ?`, content, id); err != nil {
		return Message{}, dbError(err, "could not edit message %s", id)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE conversation_id = ? AND seq > ?`, conversationID, seq); err != nil {
		return Message{}, dbError(err, "could not edit message %s", id)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET updated_at = ? WHERE id = ?`, s.tick(), conversationID); err != nil {
		return Message{}, dbError(err, "could not edit message %s", id)
	}
	if err := tx.Commit(); err != nil {
		return Message{}, dbError(err, "could not edit message %s", id)
	}
	m.Content, m.Status = content, StatusDone
	return m, nil
}

// RecoverStreaming marks messages left "streaming" by a crash or a kill as
// "cancelled" (their text so far is kept) and returns how many there were.
func (s *Store) RecoverStreaming(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE messages SET status = 'cancelled' WHERE status = 'streaming'`)
	if err != nil {
		return 0, dbError(err, "could not recover interrupted messages")
	}
	return res.RowsAffected()
}

// AutoTitle makes a conversation title from its first user message: the
// first line, whitespace collapsed, cut at a word boundary near 48
// characters.
func AutoTitle(text string) string {
	const limit = 48
	line := strings.TrimSpace(text)
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = strings.TrimLeft(line, "#>*-` \t")
	line = strings.Join(strings.Fields(line), " ")
	if utf8.RuneCountInString(line) <= limit {
		return line
	}
	r := []rune(line)[:limit]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i >= limit/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:-") + "…"
}

// preview is the list preview of a message: whitespace collapsed, at most
// 100 characters.
func preview(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 100 {
		return string([]rune(s)[:100]) + "…"
	}
	return s
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
