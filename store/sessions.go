package store

import (
	"context"
	"fmt"
	"time"

	"github.com/calgate/calgate"
)

// CreateSession stores a console session with the hash of its cookie
// secret. An empty ID or CreatedAt is filled in.
func (db *DB) CreateSession(ctx context.Context, s *calgate.Session, secretHash string) error {
	if secretHash == "" {
		return fmt.Errorf("store: create session: empty secret hash")
	}
	if s.ID == "" {
		s.ID = calgate.NewID("ses")
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = time.Now()
	}
	s.CreatedAt, s.ExpiresAt = dbTime(s.CreatedAt), dbTime(s.ExpiresAt)
	_, err := db.w.ExecContext(ctx, db.d.rebind(`INSERT INTO console_sessions
		(id, secret_hash, workspace_id, token_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		s.ID, secretHash, s.WorkspaceID, s.TokenID, s.CSRF, s.CreatedAt, s.ExpiresAt)
	if err != nil {
		return fmt.Errorf("store: create session for token %s: %w", s.TokenID, err)
	}
	return nil
}

// SessionByHash returns a live session with its token's principal. A
// session whose token is revoked (or that expired) is not found: revoking
// a token ends its sessions at once.
func (db *DB) SessionByHash(ctx context.Context, secretHash string, now time.Time) (*calgate.Session, *calgate.Principal, error) {
	var s calgate.Session
	var ws calgate.Workspace
	row := db.r.QueryRowContext(ctx, db.d.rebind(`SELECT s.id, s.workspace_id, s.token_id, s.csrf, s.created_at, s.expires_at,
		`+tokenColumns+`, w.id, w.name, w.timezone, w.created_at
		FROM console_sessions s
		JOIN tokens t ON t.id = s.token_id AND t.workspace_id = s.workspace_id
		JOIN workspaces w ON w.id = t.workspace_id
		WHERE s.secret_hash = ? AND s.expires_at > ? AND t.revoked_at IS NULL`), secretHash, dbTime(now))
	scan := func(dest ...any) error {
		return row.Scan(append([]any{&s.ID, &s.WorkspaceID, &s.TokenID, &s.CSRF, &s.CreatedAt, &s.ExpiresAt}, dest...)...)
	}
	t, err := scanToken(scanFunc(scan), &ws.ID, &ws.Name, &ws.Timezone, &ws.CreatedAt)
	if err != nil {
		return nil, nil, fmt.Errorf("store: session by hash: %w", notFound(err))
	}
	s.CreatedAt, s.ExpiresAt, ws.CreatedAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC(), ws.CreatedAt.UTC()
	return &s, &calgate.Principal{Token: *t, Workspace: ws}, nil
}

// scanFunc adapts a function to the Scan method scanToken wants.
type scanFunc func(dest ...any) error

// Scan calls f.
func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// DeleteSession ends a session.
func (db *DB) DeleteSession(ctx context.Context, secretHash string) error {
	if _, err := db.w.ExecContext(ctx, db.d.rebind(`DELETE FROM console_sessions WHERE secret_hash = ?`), secretHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// PurgeSessions removes sessions that expired before a time.
func (db *DB) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	res, err := db.w.ExecContext(ctx, db.d.rebind(`DELETE FROM console_sessions WHERE expires_at < ?`), dbTime(before))
	if err != nil {
		return 0, fmt.Errorf("store: purge sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: purge sessions: %w", err)
	}
	return int(n), nil
}
