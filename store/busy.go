package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
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
		args := inArgs(part, workspaceID)
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
		args := inArgs(part, workspaceID)
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
	return db.busyQuery(ctx, q, workspaceID, names, longest, from, to, countTentative, busyColumns, "", func(rows *sql.Rows) error {
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
// occupies its resource and overlaps [from, to), grouped as tail says
// (a GROUP BY clause, or nothing), and calls scan on each row. longest
// gives each resource's longest_entry (unknownLength, or a name missing,
// reads without the lower bound); resources that share one are read in
// one statement.
func (db *DB) busyQuery(ctx context.Context, q querier, workspaceID string, names []string, longest map[string]int64,
	from, to time.Time, countTentative bool, cols, tail string, scan func(*sql.Rows) error) error {
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
			args := inArgs(part, workspaceID)
			if l == unknownLength {
				args = append(args, db.d.timeArg(from), db.d.timeArg(to))
			} else {
				args = append(args, db.d.timeArg(from.Add(-time.Duration(l)*time.Second)), db.d.timeArg(to), db.d.timeArg(from))
			}
			args = append(args, statuses...)
			query := db.busyQueryText(cols, len(part), l != unknownLength, len(statuses)) + tail
			if err := db.scanRows(ctx, q, query, args, scan); err != nil {
				return fmt.Errorf("busy entries: %w", err)
			}
		}
	}
	return nil
}

// busyQueryText is the busy query of n resources selecting cols; bounded
// reads start_at from a lower bound (its arguments: the workspace, the
// names, the bound, to, from, then the statuses), unbounded not (the
// workspace, the names, from, to, the statuses).
func (db *DB) busyQueryText(cols string, n int, bounded bool, statuses int) string {
	window := `end_at > ? AND start_at < ?`
	if bounded {
		window = `start_at >= ? AND start_at < ? AND end_at > ?`
	}
	return db.d.rebind(`SELECT ` + cols + ` FROM entries WHERE workspace_id = ? AND resource IN (` + placeholders(n) + `)
		AND ` + window + ` AND archived_at IS NULL AND status IN (` + placeholders(statuses) + `)`)
}

// scanRows runs one query, through the statement prepared once when
// there is one (see prepareBulk) and q is a transaction, and calls scan
// on each row. Only statements of write transactions are prepared (on
// the writer), so a read transaction never finds one.
func (db *DB) scanRows(ctx context.Context, q querier, query string, args []any, scan func(*sql.Rows) error) error {
	var rows *sql.Rows
	var err error
	if s, ok := db.prepared[query]; ok {
		if tx, isTx := q.(*sql.Tx); isTx {
			stmt := tx.StmtContext(ctx, s)
			defer stmt.Close()
			rows, err = stmt.QueryContext(ctx, args...)
		} else {
			rows, err = q.QueryContext(ctx, query, args...)
		}
	} else {
		rows, err = q.QueryContext(ctx, query, args...)
	}
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
// columns, all of them in the index. On SQLite, where handing over a row
// costs more than reading it, the times come as the stored text joined
// into one row per resource (see busyTimesSelect), read without the
// driver's parsing (see storedTime).
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
	var joined string
	// Rows come mostly grouped by resource (the index's order): the list
	// being filled is kept aside, and goes back into out when another
	// resource's row comes and at the end.
	var cur []calgate.Interval
	curName, filling := "", false
	cols, tail, perResource := db.d.busyTimesSelect()
	dest := []any{&name, &start, &end}
	if perResource {
		dest = []any{&name, &joined}
	}
	err = db.busyQuery(ctx, tx, workspaceID, resources, longest, from, to, countTentative, cols, tail, func(rows *sql.Rows) error {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if !filling || name != curName {
			if filling {
				out[curName] = cur
			}
			curName, cur, filling = name, out[name], true
		}
		if perResource {
			cur, err = appendJoinedTimes(cur, joined)
			return err
		}
		cur = append(cur, calgate.Interval{Start: time.Time(start), End: time.Time(end)})
		return nil
	})
	if filling {
		out[curName] = cur
	}
	if err != nil {
		return nil, fmt.Errorf("store: busy times of %s: %w", workspaceID, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: busy times of %s: %w", workspaceID, err)
	}
	return out, nil
}

// appendJoinedTimes appends the intervals of joined, a list of
// "start/end" stored times separated by commas (busyTimesSelect), to
// list.
func appendJoinedTimes(list []calgate.Interval, joined string) ([]calgate.Interval, error) {
	if joined == "" {
		return list, nil
	}
	list = slices.Grow(list, strings.Count(joined, ",")+1)
	for more := true; more; {
		var item string
		item, joined, more = strings.Cut(joined, ",")
		a, b, ok := strings.Cut(item, "/")
		if !ok {
			return list, fmt.Errorf("busy times: %q is not start/end", item)
		}
		var start, end storedTime
		if err := start.parse(a); err != nil {
			return list, err
		}
		if err := end.parse(b); err != nil {
			return list, err
		}
		list = append(list, calgate.Interval{Start: time.Time(start), End: time.Time(end)})
	}
	return list, nil
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

// loadSettings reads the workspace's settings, unless loadResources did.
func (c *conflictRun) loadSettings(ctx context.Context) error {
	if c.settings != nil {
		return nil
	}
	s, err := c.db.settings(ctx, c.tx.QueryRowContext, c.workspaceID)
	if err != nil {
		return err
	}
	c.settings = s
	return nil
}

// resourcesQuery reads n resources of a workspace by name with their
// longest_entry and, in each row, the workspace's settings: a single
// write learns all it needs in one statement. Its arguments are the
// workspace id three times, then the names.
func (db *DB) resourcesQuery(n int) string {
	return db.d.rebind(`SELECT ` + resourceColumns + `, longest_entry,
		(SELECT conflict_policy FROM availability_settings WHERE workspace_id = ?),
		(SELECT count_tentative FROM availability_settings WHERE workspace_id = ?)
		FROM resources WHERE workspace_id = ? AND name IN (` + placeholders(n) + `)`)
}

// loadResources reads the named resources with their longest_entry into
// c.longest and, when not loaded yet, the settings (from the first row).
func (c *conflictRun) loadResources(ctx context.Context, names []string) (map[string]*calgate.Resource, error) {
	out := make(map[string]*calgate.Resource, len(names))
	for start := 0; start < len(names); start += loadChunk {
		part := names[start:min(start+loadChunk, len(names))]
		args := inArgs(part, c.workspaceID, c.workspaceID, c.workspaceID)
		var l sql.NullInt64
		var policy sql.NullString
		var tentative sql.NullBool
		err := c.db.scanRows(ctx, c.tx, c.db.resourcesQuery(len(part)), args, func(rows *sql.Rows) error {
			r, err := scanResource(extraScan{rows, []any{&l, &policy, &tentative}})
			if err != nil {
				return err
			}
			out[r.Name] = r
			c.longest[r.Name] = unknownLength
			if l.Valid {
				c.longest[r.Name] = l.Int64
			}
			if c.settings == nil {
				s := calgate.DefaultAvailabilitySettings()
				if policy.Valid {
					s.ConflictPolicy, s.CountTentative = policy.String, tentative.Bool
				}
				c.settings = s
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
