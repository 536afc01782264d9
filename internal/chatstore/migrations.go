package chatstore

import (
	"context"
	"database/sql"
	"fmt"
)

// migration moves the schema from version-1 to version.
type migration struct {
	version int
	name    string
	stmts   []string
}

// migrations returns the schema history, oldest first. Append new ones;
// never edit a released one.
func migrations() []migration {
	return []migration{
		{
			version: 1,
			name:    "conversations and messages",
			stmts: []string{
				`CREATE TABLE conversations (
					id         TEXT PRIMARY KEY,
					title      TEXT NOT NULL DEFAULT '',
					created_at INTEGER NOT NULL,
					updated_at INTEGER NOT NULL
				)`,
				`CREATE INDEX conversations_by_update ON conversations(updated_at DESC)`,
				`CREATE TABLE messages (
					seq             INTEGER PRIMARY KEY AUTOINCREMENT,
					id              TEXT NOT NULL UNIQUE,
					conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
					role            TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
					content         TEXT NOT NULL DEFAULT '',
					status          TEXT NOT NULL DEFAULT 'done'
					                CHECK (status IN ('done', 'streaming', 'cancelled', 'error')),
					stats           TEXT,
					created_at      INTEGER NOT NULL
				)`,
				`CREATE INDEX messages_by_conversation ON messages(conversation_id, seq)`,
			},
		},
		{
			version: 2,
			name:    "the model of each answer and of each conversation",
			stmts: []string{
				`ALTER TABLE messages ADD COLUMN model_id TEXT NOT NULL DEFAULT ''`,
				`ALTER TABLE messages ADD COLUMN model_name TEXT NOT NULL DEFAULT ''`,
				`ALTER TABLE conversations ADD COLUMN model_id TEXT NOT NULL DEFAULT ''`,
			},
		},
	}
}

// migrate brings the database to the newest schema, one transaction per
// migration, and returns the resulting version.
func migrate(ctx context.Context, db *sql.DB) (int, error) {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
	)`); err != nil {
		return 0, fmt.Errorf("create schema_version: %w", err)
	}
	var cur int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	all := migrations()
	if latest := all[len(all)-1].version; cur > latest {
		return cur, fmt.Errorf("the chat database has schema version %d, newer than this app knows (%d)", cur, latest)
	}
	for _, m := range all {
		if m.version <= cur {
			continue
		}
		if err := applyMigration(ctx, db, m); err != nil {
			return cur, err
		}
		cur = m.version
	}
	return cur, nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %d: %w", m.version, err)
	}
	defer tx.Rollback()
	for _, stmt := range m.stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version(version, name) VALUES (?, ?)`, m.version, m.name); err != nil {
		return fmt.Errorf("migration %d: record version: %w", m.version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %d: commit: %w", m.version, err)
	}
	return nil
}
