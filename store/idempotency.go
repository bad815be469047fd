package store

import (
	"context"
	"fmt"
	"time"
)

// IdempotentResponse returns the answer kept for a workspace's
// Idempotency-Key with the fingerprint of its request, or
// calgate.ErrNotFound. What an answer is belongs to the api; the store
// keeps its parts.
func (db *DB) IdempotentResponse(ctx context.Context, workspaceID, key string) (fingerprint string, status int, contentType string, body []byte, err error) {
	err = db.r.QueryRowContext(ctx, db.d.rebind(`SELECT status, content_type, body, fingerprint
		FROM idempotency_keys WHERE workspace_id = ? AND key = ?`), workspaceID, key).
		Scan(&status, &contentType, &body, &fingerprint)
	if err != nil {
		return "", 0, "", nil, fmt.Errorf("store: idempotency key %q: %w", key, notFound(err))
	}
	return fingerprint, status, contentType, body, nil
}

// SaveIdempotentResponse keeps the first answer to a workspace's
// Idempotency-Key; later ones are ignored.
func (db *DB) SaveIdempotentResponse(ctx context.Context, workspaceID, key, fingerprint string, status int, contentType string, body []byte) error {
	if body == nil {
		body = []byte{}
	}
	_, err := db.w.ExecContext(ctx, db.d.rebind(`INSERT INTO idempotency_keys
		(workspace_id, key, status, content_type, body, fingerprint, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace_id, key) DO NOTHING`),
		workspaceID, key, status, contentType, body, fingerprint, dbTime(time.Now()))
	if err != nil {
		return fmt.Errorf("store: save idempotency key %q: %w", key, err)
	}
	return nil
}

// PurgeIdempotentResponses deletes the answers kept since before the given
// time and reports how many went.
func (db *DB) PurgeIdempotentResponses(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.w.ExecContext(ctx, db.d.rebind(`DELETE FROM idempotency_keys WHERE created_at < ?`), dbTime(before))
	if err != nil {
		return 0, fmt.Errorf("store: purge idempotency keys: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: purge idempotency keys: %w", err)
	}
	return n, nil
}
