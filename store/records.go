package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/calgate/calgate"
)

var _ calgate.RecordStore = (*DB)(nil)

const recordColumns = `workspace_id, source, type, id, body, version, created_at, updated_at`

func scanRecord(row scanner) (*calgate.Record, error) {
	var r calgate.Record
	var body []byte
	if err := row.Scan(&r.WorkspaceID, &r.Source, &r.Type, &r.ID, &body, &r.Version, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	r.Body = json.RawMessage(body)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// recordNum is the numeric order of an id: the number itself, 0 for ids
// that are not whole numbers.
func recordNum(id string) int64 {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// Record returns one record.
func (db *DB) Record(ctx context.Context, workspaceID, source, typ, id string) (*calgate.Record, error) {
	q := `SELECT ` + recordColumns + ` FROM records WHERE workspace_id = ? AND source = ? AND type = ? AND id = ?`
	r, err := scanRecord(db.r.QueryRowContext(ctx, db.d.rebind(q), workspaceID, source, typ, id))
	if err != nil {
		return nil, fmt.Errorf("store: record %s/%s/%s: %w", source, typ, id, notFound(err))
	}
	return r, nil
}

// Records lists the records of a source and type in numeric id order.
func (db *DB) Records(ctx context.Context, workspaceID, source, typ string, f calgate.RecordFilter) ([]*calgate.Record, string, error) {
	limit := clampLimit(f.Limit)
	q := `SELECT ` + recordColumns + ` FROM records WHERE workspace_id = ? AND source = ? AND type = ?`
	args := []any{workspaceID, source, typ}
	if f.Cursor != "" {
		n := recordNum(f.Cursor)
		q += ` AND (num > ? OR (num = ? AND id > ?))`
		args = append(args, n, n, f.Cursor)
	}
	q += ` ORDER BY num, id LIMIT ?`
	args = append(args, limit+1)
	rows, err := db.r.QueryContext(ctx, db.d.rebind(q), args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: records %s/%s: %w", source, typ, err)
	}
	list, err := scanAll(rows, scanRecord)
	if err != nil {
		return nil, "", fmt.Errorf("store: records %s/%s: %w", source, typ, err)
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].ID
	}
	return list, next, nil
}

// LinkedRecords lists the records of a source that link to link.
func (db *DB) LinkedRecords(ctx context.Context, workspaceID, source, link string) ([]*calgate.Record, error) {
	q := `SELECT r.workspace_id, r.source, r.type, r.id, r.body, r.version, r.created_at, r.updated_at
		FROM record_links l JOIN records r ON r.workspace_id = l.workspace_id AND r.source = l.source AND r.type = l.type AND r.id = l.id
		WHERE l.workspace_id = ? AND l.source = ? AND l.link = ? ORDER BY r.type, r.num, r.id`
	rows, err := db.r.QueryContext(ctx, db.d.rebind(q), workspaceID, source, link)
	if err != nil {
		return nil, fmt.Errorf("store: records linking to %s: %w", link, err)
	}
	list, err := scanAll(rows, scanRecord)
	if err != nil {
		return nil, fmt.Errorf("store: records linking to %s: %w", link, err)
	}
	return list, nil
}

// counterSQL moves a counter to at least ? (creating it), then reads it.
const counterSQL = `INSERT INTO record_counters (workspace_id, source, type, last) VALUES (?, ?, ?, ?)
	ON CONFLICT (workspace_id, source, type) DO UPDATE SET last = CASE WHEN record_counters.last < excluded.last
	THEN excluded.last ELSE record_counters.last END`

// NextRecordID hands out the next numeric id of a source and type.
func (db *DB) NextRecordID(ctx context.Context, workspaceID, source, typ string) (int64, error) {
	var n int64
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		q := `INSERT INTO record_counters (workspace_id, source, type, last) VALUES (?, ?, ?, 1)
			ON CONFLICT (workspace_id, source, type) DO UPDATE SET last = record_counters.last + 1 RETURNING last`
		return tx.QueryRowContext(ctx, db.d.rebind(q), workspaceID, source, typ).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("store: next %s/%s id: %w", source, typ, err)
	}
	return n, nil
}

// writeRecords creates, replaces or deletes records inside an upsert's
// transaction, each guarded by its version.
func (db *DB) writeRecords(ctx context.Context, tx *sql.Tx, workspaceID string, now time.Time, list []*calgate.Record) error {
	for _, r := range list {
		if err := db.writeRecord(ctx, tx, workspaceID, now, r); err != nil {
			return fmt.Errorf("store: upsert: record %s/%s/%s: %w", r.Source, r.Type, r.ID, err)
		}
	}
	return nil
}

func (db *DB) writeRecord(ctx context.Context, tx *sql.Tx, workspaceID string, now time.Time, r *calgate.Record) error {
	if r.ID == "" || r.Source == "" || r.Type == "" {
		return fmt.Errorf("a record needs a source, a type and an id")
	}
	key := []any{workspaceID, r.Source, r.Type, r.ID}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM record_links WHERE workspace_id = ? AND source = ? AND type = ? AND id = ?`), key...); err != nil {
		return err
	}
	var res sql.Result
	var err error
	switch {
	case r.Delete:
		res, err = tx.ExecContext(ctx, db.d.rebind(`DELETE FROM records WHERE workspace_id = ? AND source = ? AND type = ? AND id = ? AND version = ?`),
			append(key, r.Version)...)
	case r.Version == 0:
		q := `INSERT INTO records (workspace_id, source, type, id, num, body, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)`
		res, err = tx.ExecContext(ctx, db.d.rebind(q), workspaceID, r.Source, r.Type, r.ID, recordNum(r.ID), string(r.Body), db.d.timeArg(now), db.d.timeArg(now))
		if isUniqueViolation(err) {
			return fmt.Errorf("%s %s exists: %w", r.Type, r.ID, calgate.ErrConflict)
		}
	default:
		q := `UPDATE records SET body = ?, version = version + 1, updated_at = ? WHERE workspace_id = ? AND source = ? AND type = ? AND id = ? AND version = ?`
		res, err = tx.ExecContext(ctx, db.d.rebind(q), append([]any{string(r.Body), db.d.timeArg(now)}, append(key, r.Version)...)...)
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("%s %s changed meanwhile (version %d expected): %w", r.Type, r.ID, r.Version, calgate.ErrConflict)
	}
	if r.Delete {
		return nil
	}
	links := slices.Clone(r.Links)
	slices.Sort(links)
	for _, l := range slices.Compact(links) {
		if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO record_links (workspace_id, source, type, id, link) VALUES (?, ?, ?, ?, ?)`),
			append(key, l)...); err != nil {
			return err
		}
	}
	if n := recordNum(r.ID); n > 0 {
		if _, err := tx.ExecContext(ctx, db.d.rebind(counterSQL), workspaceID, r.Source, r.Type, n); err != nil {
			return err
		}
	}
	return nil
}
