package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/calgate/calgate"
)

var _ calgate.FeedStore = (*DB)(nil)

const feedColumns = `id, workspace_id, name, filter, timezone, include_cancelled,
	title_templates, description_templates, token_hash, token_sealed, created_at, updated_at, availability`

// feedArgs returns the query arguments of f in feedColumns order.
func feedArgs(f *calgate.Feed) ([]any, error) {
	filter, err := json.Marshal(f.Filter)
	if err != nil {
		return nil, fmt.Errorf("encode filter: %w", err)
	}
	titles, err := templatesArg(f.TitleTemplates)
	if err != nil {
		return nil, err
	}
	descs, err := templatesArg(f.DescriptionTemplates)
	if err != nil {
		return nil, err
	}
	return []any{f.ID, f.WorkspaceID, f.Name, string(filter), f.Timezone, f.IncludeCancelled,
		titles, descs, f.TokenHash, f.TokenSealed, f.CreatedAt, f.UpdatedAt, f.Availability}, nil
}

func templatesArg(m map[calgate.Kind]string) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode templates: %w", err)
	}
	return string(b), nil
}

func scanFeed(row scanner) (*calgate.Feed, error) {
	var f calgate.Feed
	var filter, titles, descs []byte
	if err := row.Scan(&f.ID, &f.WorkspaceID, &f.Name, &filter, &f.Timezone, &f.IncludeCancelled,
		&titles, &descs, &f.TokenHash, &f.TokenSealed, &f.CreatedAt, &f.UpdatedAt, &f.Availability); err != nil {
		return nil, err
	}
	f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()
	if err := json.Unmarshal(filter, &f.Filter); err != nil {
		return nil, fmt.Errorf("feed %s: decode filter: %w", f.ID, err)
	}
	for _, t := range []struct {
		raw []byte
		dst *map[calgate.Kind]string
	}{{titles, &f.TitleTemplates}, {descs, &f.DescriptionTemplates}} {
		if len(t.raw) == 0 {
			continue
		}
		if err := json.Unmarshal(t.raw, t.dst); err != nil {
			return nil, fmt.Errorf("feed %s: decode templates: %w", f.ID, err)
		}
	}
	return &f, nil
}

// CreateFeed stores a new feed. An empty ID or CreatedAt is filled in; a
// token hash already in use gives calgate.ErrConflict.
func (db *DB) CreateFeed(ctx context.Context, f *calgate.Feed) error {
	if f.ID == "" {
		f.ID = calgate.NewID("feed")
	}
	if f.CreatedAt.IsZero() {
		f.CreatedAt = time.Now()
	}
	if f.UpdatedAt.IsZero() {
		f.UpdatedAt = f.CreatedAt
	}
	f.CreatedAt, f.UpdatedAt = dbTime(f.CreatedAt), dbTime(f.UpdatedAt)
	args, err := feedArgs(f)
	if err != nil {
		return fmt.Errorf("store: create feed %s: %w", f.ID, err)
	}
	_, err = db.w.ExecContext(ctx, db.d.rebind(`INSERT INTO feeds (`+feedColumns+`) VALUES (`+placeholders(len(args))+`)`), args...)
	if isUniqueViolation(err) {
		return fmt.Errorf("store: create feed %s: %w", f.ID, calgate.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: create feed %s: %w", f.ID, err)
	}
	return nil
}

// Feed returns one feed of a workspace.
func (db *DB) Feed(ctx context.Context, workspaceID, id string) (*calgate.Feed, error) {
	f, err := scanFeed(db.r.QueryRowContext(ctx, db.d.rebind(`SELECT `+feedColumns+` FROM feeds WHERE workspace_id = ? AND id = ?`), workspaceID, id))
	if err != nil {
		return nil, fmt.Errorf("store: feed %s: %w", id, notFound(err))
	}
	return f, nil
}

// FeedByTokenHash finds a feed by the hash of its URL's token.
func (db *DB) FeedByTokenHash(ctx context.Context, tokenHash string) (*calgate.Feed, error) {
	f, err := scanFeed(db.r.QueryRowContext(ctx, db.d.rebind(`SELECT `+feedColumns+` FROM feeds WHERE token_hash = ?`), tokenHash))
	if err != nil {
		return nil, fmt.Errorf("store: feed by token: %w", notFound(err))
	}
	return f, nil
}

// Feeds lists a workspace's feeds in id order after cursor and returns the
// next page's cursor.
func (db *DB) Feeds(ctx context.Context, workspaceID, cursor string, limit int) ([]*calgate.Feed, string, error) {
	return listPage(ctx, db, "feeds", feedColumns, workspaceID, cursor, limit, scanFeed, func(f *calgate.Feed) string { return f.ID })
}

// UpdateFeed writes every field of f but its id, workspace and creation
// time.
func (db *DB) UpdateFeed(ctx context.Context, f *calgate.Feed) error {
	if f.UpdatedAt.IsZero() {
		f.UpdatedAt = time.Now()
	}
	f.UpdatedAt = dbTime(f.UpdatedAt)
	args, err := feedArgs(f)
	if err != nil {
		return fmt.Errorf("store: update feed %s: %w", f.ID, err)
	}
	res, err := db.w.ExecContext(ctx, db.d.rebind(`UPDATE feeds SET name = ?, filter = ?, timezone = ?, include_cancelled = ?,
		title_templates = ?, description_templates = ?, token_hash = ?, token_sealed = ?, updated_at = ?, availability = ?
		WHERE workspace_id = ? AND id = ?`),
		args[2], args[3], args[4], args[5], args[6], args[7], args[8], args[9], args[11], args[12], f.WorkspaceID, f.ID)
	if isUniqueViolation(err) {
		return fmt.Errorf("store: update feed %s: %w", f.ID, calgate.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: update feed %s: %w", f.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("store: update feed %s: %w", f.ID, calgate.ErrNotFound)
	}
	return nil
}

// DeleteFeed removes a feed; its URL stops working at once.
func (db *DB) DeleteFeed(ctx context.Context, workspaceID, id string) error {
	res, err := db.w.ExecContext(ctx, db.d.rebind(`DELETE FROM feeds WHERE workspace_id = ? AND id = ?`), workspaceID, id)
	if err != nil {
		return fmt.Errorf("store: delete feed %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("store: delete feed %s: %w", id, calgate.ErrNotFound)
	}
	return nil
}
