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

// busyColumns are the columns the busy view of writes reads: only what
// overlap, conflicts and their answers need.
const busyColumns = `id, kind, external_id, resource, start_at, end_at, status`

// busyRows calls fn with each entry of the named resources that occupies
// its resource and overlaps [from, to).
func (db *DB) busyRows(ctx context.Context, q querier, workspaceID string, names []string, longest map[string]int64,
	from, to time.Time, countTentative bool, fn func(*calgate.Entry)) error {
	return db.busyQuery(ctx, q, workspaceID, names, longest, from, to, countTentative, busyColumns, func(rows *sql.Rows) error {
		e := &calgate.Entry{WorkspaceID: workspaceID}
		if err := rows.Scan(&e.ID, &e.Kind, &e.ExternalID, &e.Resource, &e.Start, &e.End, &e.Status); err != nil {
			return err
		}
		e.Start, e.End = e.Start.UTC(), e.End.UTC()
		fn(e)
		return nil
	})
}

// busyQuery selects cols of each entry of the named resources that
// occupies its resource and overlaps [from, to), and calls scan on each
// row. longest gives each resource's longest_entry (unknownLength, or a
// name missing, reads without the lower bound); resources that share one
// are read in one statement.
func (db *DB) busyQuery(ctx context.Context, q querier, workspaceID string, names []string, longest map[string]int64,
	from, to time.Time, countTentative bool, cols string, scan func(*sql.Rows) error) error {
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
			query := `SELECT ` + cols + ` FROM entries WHERE workspace_id = ? AND resource IN (` + placeholders(len(part)) + `)
				AND ` + window + ` AND archived_at IS NULL AND status IN (` + placeholders(len(statuses)) + `)`
			if err := scanRows(ctx, q, db.d.rebind(query), args, scan); err != nil {
				return fmt.Errorf("busy entries: %w", err)
			}
		}
	}
	return nil
}

// scanRows runs one query and calls scan on each row.
func scanRows(ctx context.Context, q querier, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// BusyTimes returns, per resource name, the intervals of the entries that
// occupy it and overlap [from, to). The lengths that bound the read and
// the entries are read in one snapshot, so that an entry written
// meanwhile is either seen with its length or not at all. It reads three
// columns, all of them in the index, and on SQLite takes the times as
// the stored text (see storedTime).
func (db *DB) BusyTimes(ctx context.Context, workspaceID string, resources []string, from, to time.Time, countTentative bool) (map[string][]calgate.Interval, error) {
	tx, err := db.r.BeginTx(ctx, db.d.snapshotRead())
	if err != nil {
		return nil, fmt.Errorf("store: busy times of %s: %w", workspaceID, err)
	}
	defer tx.Rollback()
	longest, err := db.longestEntries(ctx, tx, workspaceID, resources)
	if err != nil {
		return nil, fmt.Errorf("store: busy times of %s: %w", workspaceID, err)
	}
	out := make(map[string][]calgate.Interval, len(resources))
	var name string
	var start, end storedTime
	cols := `resource, ` + db.d.timeText("start_at") + `, ` + db.d.timeText("end_at")
	err = db.busyQuery(ctx, tx, workspaceID, resources, longest, from, to, countTentative, cols, func(rows *sql.Rows) error {
		if err := rows.Scan(&name, &start, &end); err != nil {
			return err
		}
		out[name] = append(out[name], calgate.Interval{Start: time.Time(start), End: time.Time(end)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: busy times of %s: %w", workspaceID, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: busy times of %s: %w", workspaceID, err)
	}
	return out, nil
}

// storedTime scans a stored time: a time.Time (PostgreSQL), or the text
// SQLite keeps (sqliteTimeLayout, always UTC), which it reads without
// time.Parse where it can: the driver's parsing was a third of a busy
// read.
type storedTime time.Time

func (t *storedTime) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		*t = storedTime(v.UTC())
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	}
	return fmt.Errorf("stored time: unexpected %T", v)
}

func (t *storedTime) parse(s string) error {
	// 2006-01-02 15:04:05[.fraction]+00:00
	n := len(s)
	if n >= 25 && s[n-6:] == "+00:00" && s[4] == '-' && s[7] == '-' && s[10] == ' ' && s[13] == ':' && s[16] == ':' {
		num := func(a, b int) (int, bool) {
			v := 0
			for i := a; i < b; i++ {
				c := s[i]
				if c < '0' || c > '9' {
					return 0, false
				}
				v = v*10 + int(c-'0')
			}
			return v, true
		}
		y, ok1 := num(0, 4)
		mo, ok2 := num(5, 7)
		d, ok3 := num(8, 10)
		h, ok4 := num(11, 13)
		mi, ok5 := num(14, 16)
		sec, ok6 := num(17, 19)
		frac, ns, ok7 := s[19:n-6], 0, true
		if frac != "" {
			if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
				ok7 = false
			} else {
				var v int
				v, ok7 = num(20, n-6)
				for range 10 - len(frac) {
					v *= 10
				}
				ns = v
			}
		}
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 {
			*t = storedTime(time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC))
			return nil
		}
	}
	v, err := time.Parse(sqliteTimeLayout, s)
	if err != nil {
		return fmt.Errorf("stored time %q: %w", s, err)
	}
	*t = storedTime(v.UTC())
	return nil
}
