package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/calgate/calgate"
)

// CreateWorkspace stores a new workspace. An empty ID or CreatedAt is
// filled in; a name already taken gives calgate.ErrConflict.
func (db *DB) CreateWorkspace(ctx context.Context, ws *calgate.Workspace) error {
	if ws.ID == "" {
		ws.ID = calgate.NewID("ws")
	}
	if ws.CreatedAt.IsZero() {
		ws.CreatedAt = time.Now()
	}
	if ws.Timezone == "" {
		ws.Timezone = "UTC"
	}
	ws.CreatedAt = dbTime(ws.CreatedAt)
	_, err := db.w.ExecContext(ctx, db.d.rebind(`INSERT INTO workspaces (id, name, timezone, created_at) VALUES (?, ?, ?, ?)`),
		ws.ID, ws.Name, ws.Timezone, ws.CreatedAt)
	if isUniqueViolation(err) {
		return fmt.Errorf("store: create workspace %q: %w", ws.Name, calgate.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: create workspace %q: %w", ws.Name, err)
	}
	return nil
}

const workspaceColumns = `id, name, timezone, created_at`

func scanWorkspace(row interface{ Scan(...any) error }) (*calgate.Workspace, error) {
	var ws calgate.Workspace
	if err := row.Scan(&ws.ID, &ws.Name, &ws.Timezone, &ws.CreatedAt); err != nil {
		return nil, err
	}
	ws.CreatedAt = ws.CreatedAt.UTC()
	return &ws, nil
}

// Workspace returns a workspace by id.
func (db *DB) Workspace(ctx context.Context, id string) (*calgate.Workspace, error) {
	ws, err := scanWorkspace(db.r.QueryRowContext(ctx, db.d.rebind(`SELECT `+workspaceColumns+` FROM workspaces WHERE id = ?`), id))
	if err != nil {
		return nil, fmt.Errorf("store: workspace %s: %w", id, notFound(err))
	}
	return ws, nil
}

// WorkspaceByName returns a workspace by its unique name.
func (db *DB) WorkspaceByName(ctx context.Context, name string) (*calgate.Workspace, error) {
	ws, err := scanWorkspace(db.r.QueryRowContext(ctx, db.d.rebind(`SELECT `+workspaceColumns+` FROM workspaces WHERE name = ?`), name))
	if err != nil {
		return nil, fmt.Errorf("store: workspace %q: %w", name, notFound(err))
	}
	return ws, nil
}

// CreateToken stores a token with the hash of its secret. An empty ID or
// CreatedAt is filled in. An unknown workspace gives calgate.ErrNotFound.
func (db *DB) CreateToken(ctx context.Context, t *calgate.Token, secretHash string) error {
	if secretHash == "" {
		return fmt.Errorf("store: create token: empty secret hash")
	}
	if t.ID == "" {
		t.ID = calgate.NewID("tok")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	t.CreatedAt = dbTime(t.CreatedAt)
	var n int
	if err := db.w.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM workspaces WHERE id = ?`), t.WorkspaceID).Scan(&n); err != nil {
		return fmt.Errorf("store: create token: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("store: create token: workspace %s: %w", t.WorkspaceID, calgate.ErrNotFound)
	}
	_, err := db.w.ExecContext(ctx, db.d.rebind(`INSERT INTO tokens
		(id, workspace_id, user_name, name, prefix, secret_hash, admin, created_at, last_used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		t.ID, t.WorkspaceID, t.User, t.Name, t.Prefix, secretHash, t.Admin, t.CreatedAt, nullTime(t.LastUsedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("store: create token %s: %w", t.ID, calgate.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: create token %s: %w", t.ID, err)
	}
	return nil
}

const tokenColumns = `t.id, t.workspace_id, t.user_name, t.name, t.prefix, t.admin, t.created_at, t.last_used_at`

func scanToken(row interface{ Scan(...any) error }, extra ...any) (*calgate.Token, error) {
	var t calgate.Token
	var used sql.NullTime
	dest := append([]any{&t.ID, &t.WorkspaceID, &t.User, &t.Name, &t.Prefix, &t.Admin, &t.CreatedAt, &used}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if used.Valid {
		u := used.Time.UTC()
		t.LastUsedAt = &u
	}
	return &t, nil
}

// TokenByHash finds a live (not revoked) token by the hash of its secret,
// with its workspace.
func (db *DB) TokenByHash(ctx context.Context, secretHash string) (*calgate.Principal, error) {
	c := db.tokens
	if c == nil {
		return db.lookupToken(ctx, secretHash)
	}
	now := time.Now()
	p, gen, ok := c.get(secretHash, now)
	if ok {
		return p, nil
	}
	p, err := db.lookupToken(ctx, secretHash)
	if err == nil {
		c.put(secretHash, p, gen, now)
	}
	return p, err
}

// lookupToken reads a live token and its workspace by the hash of its
// secret.
func (db *DB) lookupToken(ctx context.Context, secretHash string) (*calgate.Principal, error) {
	var ws calgate.Workspace
	row := db.r.QueryRowContext(ctx, db.d.rebind(`SELECT `+tokenColumns+`, w.id, w.name, w.timezone, w.created_at
		FROM tokens t JOIN workspaces w ON w.id = t.workspace_id
		WHERE t.secret_hash = ? AND t.revoked_at IS NULL`), secretHash)
	t, err := scanToken(row, &ws.ID, &ws.Name, &ws.Timezone, &ws.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("store: token by hash: %w", notFound(err))
	}
	ws.CreatedAt = ws.CreatedAt.UTC()
	return &calgate.Principal{Token: *t, Workspace: ws}, nil
}

// Tokens lists the live tokens of a workspace, oldest first.
func (db *DB) Tokens(ctx context.Context, workspaceID string) ([]*calgate.Token, error) {
	rows, err := db.r.QueryContext(ctx, db.d.rebind(`SELECT `+tokenColumns+` FROM tokens t
		WHERE t.workspace_id = ? AND t.revoked_at IS NULL ORDER BY t.created_at, t.id`), workspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: tokens of %s: %w", workspaceID, err)
	}
	defer rows.Close()
	out := []*calgate.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: tokens of %s: %w", workspaceID, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: tokens of %s: %w", workspaceID, err)
	}
	return out, nil
}

// RevokeToken revokes a live token of the workspace; calgate.ErrNotFound
// when there is none. On PostgreSQL the revocation notifies every process
// that caches tokens (tokencache.go) when it commits.
func (db *DB) RevokeToken(ctx context.Context, workspaceID, id string) error {
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE tokens SET revoked_at = ?
			WHERE workspace_id = ? AND id = ? AND revoked_at IS NULL`), dbTime(time.Now()), workspaceID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return calgate.ErrNotFound
		}
		if db.d.postgres {
			_, err = tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, tokenChannel, id)
		}
		return err
	})
	if c := db.tokens; c != nil {
		// This process refuses the token from now on, before the
		// notification comes back.
		c.drop()
	}
	if err != nil {
		return fmt.Errorf("store: revoke token %s: %w", id, err)
	}
	return nil
}

// TouchToken records when a token was last used.
func (db *DB) TouchToken(ctx context.Context, id string, at time.Time) error {
	_, err := db.w.ExecContext(ctx, db.d.rebind(`UPDATE tokens SET last_used_at = ? WHERE id = ?`), dbTime(at), id)
	if err != nil {
		return fmt.Errorf("store: touch token %s: %w", id, err)
	}
	return nil
}

// CountTokens counts the live tokens of every workspace.
func (db *DB) CountTokens(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE revoked_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count tokens: %w", err)
	}
	return n, nil
}
