package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/calgate/calgate"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// scanAll reads every row with scan and closes rows. It returns an empty,
// non-nil slice when there are none, so lists render as [].
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// affectedOne turns the result of a write that must touch exactly one row
// into an error: ErrNotFound when it touched none.
func affectedOne(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", what, calgate.ErrNotFound)
	}
	return nil
}

// inArgs returns the arguments of a statement that takes first and then
// the values of an IN list.
// scanValue scans a row of one column.
func scanValue[T any](r scanner) (T, error) {
	var v T
	return v, r.Scan(&v)
}

func inArgs[T any](part []T, first ...any) []any {
	args := make([]any, 0, len(first)+len(part))
	args = append(args, first...)
	for _, v := range part {
		args = append(args, v)
	}
	return args
}

// queryIDs runs a query of one text column (ids) on the reader and returns
// its values.
func (db *DB) queryIDs(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(s scanner) (id string, err error) {
		err = s.Scan(&id)
		return id, err
	})
}

// listPage lists one page of a workspace's rows of table in id order after
// cursor, and the cursor of the next page ("" at the end): it asks for one
// row more than the page holds to know whether another page follows.
func listPage[T any](ctx context.Context, db *DB, table, columns, workspaceID, cursor string, limit int, scan func(scanner) (T, error), id func(T) string) ([]T, string, error) {
	limit = clampLimit(limit)
	q := `SELECT ` + columns + ` FROM ` + table + ` WHERE workspace_id = ? AND id > ? ORDER BY id LIMIT ?`
	rows, err := db.r.QueryContext(ctx, db.d.rebind(q), workspaceID, cursor, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("store: list %s of %s: %w", table, workspaceID, err)
	}
	list, err := scanAll(rows, scan)
	if err != nil {
		return nil, "", fmt.Errorf("store: list %s of %s: %w", table, workspaceID, err)
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = id(list[limit-1])
	}
	return list, next, nil
}

// claimDue claims up to limit rows of table whose due column has passed:
// in one transaction it moves their due time to leaseUntil, so of several
// workers sweeping at once each row goes to one (on PostgreSQL rows another
// sweeper is claiming are skipped; SQLite has one writer). The work a row
// stands for sets its next due time when it is done; until then the lease
// brings it back, so work lost with the queue or a killed worker is
// claimed again. due points into a scanned row at its due time, which is
// set back to the time claimed (for job ids).
func claimDue[T any](ctx context.Context, db *DB, table, column, columns string, now, leaseUntil time.Time, limit int,
	scan func(scanner) (T, error), due func(T) *time.Time) ([]T, error) {
	var out []T
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT id, `+column+` FROM `+table+` WHERE `+column+` <= ? ORDER BY `+column+` LIMIT ?`+db.d.skipLocked()),
			db.d.timeArg(now), clampLimit(limit))
		if err != nil {
			return err
		}
		was := map[string]time.Time{}
		var ids []any
		for rows.Next() {
			var id string
			var at time.Time
			if err := rows.Scan(&id, &at); err != nil {
				rows.Close()
				return err
			}
			was[id] = at.UTC()
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return rows.Err()
		}
		rows, err = tx.QueryContext(ctx, db.d.rebind(`UPDATE `+table+` SET `+column+` = ? WHERE id IN (`+placeholders(len(ids))+`)
			RETURNING id, `+columns), append([]any{db.d.timeArg(leaseUntil)}, ids...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			v, err := scan(idScanner{rows, &id})
			if err != nil {
				return err
			}
			*due(v) = was[id]
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, err
}

// idScanner scans a leading id column before the row's own.
type idScanner struct {
	rows *sql.Rows
	id   *string
}

func (w idScanner) Scan(dest ...any) error {
	return w.rows.Scan(append([]any{w.id}, dest...)...)
}
