package store

import (
	"context"
	"database/sql"
	"fmt"
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
