package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/calgate/calgate"
)

// The busy read: the entries that occupy a resource and overlap a window.
//
// Entries are indexed on (workspace_id, resource, start_at). An entry that
// overlaps [from, to) starts before to, and no earlier than from less its
// length; resources.longest_entry keeps, per resource, a length no entry
// of it exceeds, so the read scans start_at from from less that length to
// to: the window's entries and the few that began just before it, neither
// the resource's past nor its future. Every write raises longest_entry to
// the length of what it stores (conflictRun.raiseLongest); nothing lowers
// it, so a bound that is too long only reads a little more.

// unknownLength stands for a resource whose longest entry is not known (no
// row in the catalogue): its read has no lower bound.
const unknownLength = -1

// secondsCeil is d in whole seconds, rounded up.
func secondsCeil(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// longestEntries reads the longest_entry of the named resources; a name
// with no row or no known length maps to unknownLength.
func (db *DB) longestEntries(ctx context.Context, q querier, workspaceID string, names []string) (map[string]int64, error) {
	out := make(map[string]int64, len(names))
	for _, n := range names {
		out[n] = unknownLength
	}
	for start := 0; start < len(names); start += loadChunk {
		part := names[start:min(start+loadChunk, len(names))]
		args := make([]any, 0, len(part)+1)
		args = append(args, workspaceID)
		for _, n := range part {
			args = append(args, n)
		}
		rows, err := q.QueryContext(ctx, db.d.rebind(`SELECT name, longest_entry FROM resources WHERE workspace_id = ? AND name IN (`+placeholders(len(part))+`)`), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var name string
			var n sql.NullInt64
			if err := rows.Scan(&name, &n); err != nil {
				rows.Close()
				return nil, err
			}
			if n.Valid {
				out[name] = n.Int64
			}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// measureLongest sets the longest_entry of the named resources whose
// length is not known from the entries that name them (a resource removed
// from the catalogue and added again keeps its entries).
func (db *DB) measureLongest(ctx context.Context, tx *sql.Tx, workspaceID string, names []string) error {
	for start := 0; start < len(names); start += loadChunk {
		part := names[start:min(start+loadChunk, len(names))]
		args := make([]any, 0, len(part)+1)
		args = append(args, workspaceID)
		for _, n := range part {
			args = append(args, n)
		}
		q := `UPDATE resources SET longest_entry = (SELECT COALESCE(MAX(` + db.d.expr("{{ENTRY_SECONDS}}") + `), 0) FROM entries
			WHERE entries.workspace_id = resources.workspace_id AND entries.resource = resources.name)
			WHERE workspace_id = ? AND name IN (` + placeholders(len(part)) + `) AND longest_entry IS NULL`
		if _, err := tx.ExecContext(ctx, db.d.rebind(q), args...); err != nil {
			return fmt.Errorf("measure longest entries: %w", err)
		}
	}
	return nil
}

// raiseLongest raises the longest_entry of each resource written since the
// last call to the longest entry written on it, where that is longer.
func (c *conflictRun) raiseLongest(ctx context.Context) error {
	names := make([]string, 0, len(c.lengths))
	for n, secs := range c.lengths {
		if cur, ok := c.longest[n]; ok && cur != unknownLength && secs > cur {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		if _, err := c.tx.ExecContext(ctx, c.db.d.rebind(`UPDATE resources SET longest_entry = ? WHERE workspace_id = ? AND name = ?`),
			c.lengths[n], c.workspaceID, n); err != nil {
			return fmt.Errorf("raise longest entry of %q: %w", n, err)
		}
		c.longest[n] = c.lengths[n]
	}
	clear(c.lengths)
	return nil
}

// busyColumns are the columns the busy view reads: only what overlap,
// conflicts and their answers need.
const busyColumns = `id, kind, external_id, resource, start_at, end_at, status`

// busyRows calls fn with each entry of the named resources that occupies
// its resource and overlaps [from, to). longest gives each resource's
// longest_entry (unknownLength, or a name missing, reads without the
// lower bound); resources that share one are read in one statement.
func (db *DB) busyRows(ctx context.Context, q querier, workspaceID string, names []string, longest map[string]int64,
	from, to time.Time, countTentative bool, fn func(*calgate.Entry)) error {
	statuses := []any{string(calgate.StatusConfirmed)}
	if countTentative {
		statuses = append(statuses, string(calgate.StatusTentative))
	}
	groups := map[int64][]string{}
	for _, n := range names {
		l, ok := longest[n]
		if !ok {
			l = unknownLength
		}
		groups[l] = append(groups[l], n)
	}
	lengths := make([]int64, 0, len(groups))
	for l := range groups {
		lengths = append(lengths, l)
	}
	slices.Sort(lengths)
	for _, l := range lengths {
		group := groups[l]
		for start := 0; start < len(group); start += loadChunk {
			part := group[start:min(start+loadChunk, len(group))]
			args := make([]any, 0, len(part)+6)
			args = append(args, workspaceID)
			for _, n := range part {
				args = append(args, n)
			}
			window := `end_at > ? AND start_at < ?`
			args = append(args, db.d.timeArg(from), db.d.timeArg(to))
			if l != unknownLength {
				window = `start_at >= ? AND start_at < ? AND end_at > ?`
				args = append(args[:len(args)-2], db.d.timeArg(from.Add(-time.Duration(l)*time.Second)), db.d.timeArg(to), db.d.timeArg(from))
			}
			args = append(args, statuses...)
			query := `SELECT ` + busyColumns + ` FROM entries WHERE workspace_id = ? AND resource IN (` + placeholders(len(part)) + `)
				AND ` + window + ` AND archived_at IS NULL AND status IN (` + placeholders(len(statuses)) + `)`
			if err := db.scanBusy(ctx, q, db.d.rebind(query), args, workspaceID, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanBusy runs one busy query and calls fn with each entry.
func (db *DB) scanBusy(ctx context.Context, q querier, query string, args []any, workspaceID string, fn func(*calgate.Entry)) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("busy entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e := &calgate.Entry{WorkspaceID: workspaceID}
		if err := rows.Scan(&e.ID, &e.Kind, &e.ExternalID, &e.Resource, &e.Start, &e.End, &e.Status); err != nil {
			return fmt.Errorf("busy entries: %w", err)
		}
		e.Start, e.End = e.Start.UTC(), e.End.UTC()
		fn(e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("busy entries: %w", err)
	}
	return nil
}

// BusyEntries returns, per resource name, the entries that occupy it and
// overlap [from, to). The lengths that bound the read and the entries are
// read in one snapshot, so that an entry written meanwhile is either seen
// with its length or not at all.
func (db *DB) BusyEntries(ctx context.Context, workspaceID string, resources []string, from, to time.Time, countTentative bool) (map[string][]*calgate.Entry, error) {
	tx, err := db.r.BeginTx(ctx, db.d.snapshotRead())
	if err != nil {
		return nil, fmt.Errorf("store: busy entries of %s: %w", workspaceID, err)
	}
	defer tx.Rollback()
	longest, err := db.longestEntries(ctx, tx, workspaceID, resources)
	if err != nil {
		return nil, fmt.Errorf("store: busy entries of %s: %w", workspaceID, err)
	}
	out := make(map[string][]*calgate.Entry, len(resources))
	err = db.busyRows(ctx, tx, workspaceID, resources, longest, from, to, countTentative, func(e *calgate.Entry) {
		out[e.Resource] = append(out[e.Resource], e)
	})
	if err != nil {
		return nil, fmt.Errorf("store: busy entries of %s: %w", workspaceID, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: busy entries of %s: %w", workspaceID, err)
	}
	return out, nil
}
