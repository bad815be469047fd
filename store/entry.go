package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/calgate/calgate"
)

// entryColumns is the column list of the entries table, in the order of
// entryArgs and scanEntry.
const entryColumns = `id, workspace_id, kind, source, external_id, title, description, location,
	start_at, end_at, all_day, timezone, status, resource, details, attributes,
	version, created_at, updated_at, archived_at, document`

const entryColumnCount = 21

// qualifiedEntryColumns is entryColumns named as the table's, for
// statements that also read a VALUES list of the same names.
var qualifiedEntryColumns = func() string {
	cols := strings.Split(entryColumns, ",")
	for i, c := range cols {
		cols[i] = "entries." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// entryDetails is the stored JSON form of the kind-specific fields, nil
// when there are none.
func entryDetails(e *calgate.Entry) ([]byte, error) {
	d := e.Details.Stored()
	if d == (calgate.Details{}) {
		return nil, nil
	}
	return json.Marshal(d)
}

// normalize puts every time of e in UTC at microsecond precision, as
// stored.
func normalize(e *calgate.Entry) {
	e.Start = dbTime(e.Start)
	e.End = dbTime(e.End)
	e.CreatedAt = dbTime(e.CreatedAt)
	e.UpdatedAt = dbTime(e.UpdatedAt)
	if e.ArchivedAt != nil {
		a := dbTime(*e.ArchivedAt)
		e.ArchivedAt = &a
	}
	if e.Timezone == "" {
		e.Timezone = "UTC"
	}
}

// appendEntryArgs appends the query arguments of e in entryColumns order.
func (d dialect) appendEntryArgs(args []any, e *calgate.Entry) ([]any, error) {
	det, err := entryDetails(e)
	if err != nil {
		return nil, fmt.Errorf("entry %s/%s: encode details: %w", e.Source, e.ExternalID, err)
	}
	return append(args, e.ID, e.WorkspaceID, string(e.Kind), e.Source, e.ExternalID, e.Title, e.Description, e.Location,
		d.timeArg(e.Start), d.timeArg(e.End), e.AllDay, e.Timezone, string(e.Status), e.Resource, jsonArg(det), jsonArg(e.Attributes),
		e.Version, d.timeArg(e.CreatedAt), d.timeArg(e.UpdatedAt), d.nullTimeArg(e.ArchivedAt), e.Document), nil
}

func scanEntry(row scanner) (*calgate.Entry, error) {
	var e calgate.Entry
	var det, attrs []byte
	var archived sql.NullTime
	if err := row.Scan(&e.ID, &e.WorkspaceID, &e.Kind, &e.Source, &e.ExternalID, &e.Title, &e.Description, &e.Location,
		&e.Start, &e.End, &e.AllDay, &e.Timezone, &e.Status, &e.Resource, &det, &attrs,
		&e.Version, &e.CreatedAt, &e.UpdatedAt, &archived, &e.Document); err != nil {
		return nil, err
	}
	e.Start, e.End = e.Start.UTC(), e.End.UTC()
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	if archived.Valid {
		a := archived.Time.UTC()
		e.ArchivedAt = &a
	}
	if len(det) > 0 {
		if err := json.Unmarshal(det, &e.Details); err != nil {
			return nil, fmt.Errorf("entry %s: decode details: %w", e.ID, err)
		}
	}
	if len(attrs) > 0 {
		e.Attributes = json.RawMessage(attrs)
	}
	return &e, nil
}

func scanEntries(rows *sql.Rows) ([]*calgate.Entry, error) { return scanAll(rows, scanEntry) }

// Entry returns one entry of the workspace. An empty kind matches every
// kind. Archived entries are found only when includeArchived.
func (db *DB) Entry(ctx context.Context, workspaceID string, kind calgate.Kind, id string, includeArchived bool) (*calgate.Entry, error) {
	q := `SELECT ` + entryColumns + ` FROM entries WHERE workspace_id = ? AND id = ?`
	args := []any{workspaceID, id}
	if kind != "" {
		q += ` AND kind = ?`
		args = append(args, string(kind))
	}
	if !includeArchived {
		q += ` AND archived_at IS NULL`
	}
	e, err := scanEntry(db.r.QueryRowContext(ctx, db.d.rebind(q), args...))
	if err != nil {
		return nil, fmt.Errorf("store: entry %s: %w", id, notFound(err))
	}
	return e, nil
}

// Page sizes of listings.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// Entries lists the workspace's entries that pass f, in id order, and
// returns the cursor of the next page ("" on the last page).
func (db *DB) Entries(ctx context.Context, workspaceID string, f calgate.EntryFilter) ([]*calgate.Entry, string, error) {
	var where strings.Builder
	args := []any{workspaceID}
	where.WriteString(`workspace_id = ?`)
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where.WriteString(` AND ` + col + ` IN (` + placeholders(len(vals)) + `)`)
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("kind", toStrings(f.Kinds))
	in("resource", f.Resources)
	in("status", toStrings(f.Statuses))
	in("source", f.Sources)
	if f.ExternalID != "" {
		where.WriteString(` AND external_id = ?`)
		args = append(args, f.ExternalID)
	}
	if !f.From.IsZero() {
		where.WriteString(` AND end_at > ?`)
		args = append(args, dbTime(f.From))
	}
	if !f.To.IsZero() {
		where.WriteString(` AND start_at < ?`)
		args = append(args, dbTime(f.To))
	}
	if !f.Since.IsZero() {
		where.WriteString(` AND updated_at > ?`)
		args = append(args, dbTime(f.Since))
	}
	if !f.IncludeArchived {
		where.WriteString(` AND archived_at IS NULL`)
	}
	if f.Cursor != "" {
		where.WriteString(` AND id > ?`)
		args = append(args, f.Cursor)
	}
	limit := clampLimit(f.Limit)
	args = append(args, limit+1)
	q := `SELECT ` + entryColumns + ` FROM entries WHERE ` + where.String() + ` ORDER BY id LIMIT ?`
	rows, err := db.r.QueryContext(ctx, db.d.rebind(q), args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: entries of %s: %w", workspaceID, err)
	}
	list, err := scanEntries(rows)
	if err != nil {
		return nil, "", fmt.Errorf("store: entries of %s: %w", workspaceID, err)
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].ID
	}
	return list, next, nil
}

func toStrings[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

// Mutate loads an entry (archived ones too), lets fn change a copy of it
// and writes the change with its event in one transaction. fn's error is
// returned unchanged. When fn changes nothing, nothing is written and the
// event type is "". Identity, version and bookkeeping times are not fn's to
// change.
func (db *DB) Mutate(ctx context.Context, workspaceID string, kind calgate.Kind, id, actor string, fn func(*calgate.Entry) error) (*calgate.Entry, calgate.EventType, error) {
	var (
		result *calgate.Entry
		evType calgate.EventType
	)
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		q := `SELECT ` + entryColumns + ` FROM entries WHERE workspace_id = ? AND id = ?`
		args := []any{workspaceID, id}
		if kind != "" {
			q += ` AND kind = ?`
			args = append(args, string(kind))
		}
		old, err := scanEntry(tx.QueryRowContext(ctx, db.d.rebind(q+db.d.forUpdate()), args...))
		if err != nil {
			return fmt.Errorf("store: mutate %s: %w", id, notFound(err))
		}
		cur := old.Clone()
		if err := fn(cur); err != nil {
			return err
		}
		cur.ID, cur.WorkspaceID, cur.Kind = old.ID, old.WorkspaceID, old.Kind
		cur.Version, cur.CreatedAt, cur.UpdatedAt = old.Version, old.CreatedAt, old.UpdatedAt
		normalize(cur)
		diff := calgate.Diff(old, cur)
		if cur.Source != old.Source {
			diff["source"] = calgate.Change{From: old.Source, To: cur.Source}
		}
		if cur.ExternalID != old.ExternalID {
			diff["external_id"] = calgate.Change{From: old.ExternalID, To: cur.ExternalID}
		}
		if len(diff) == 0 {
			result = old
			return nil
		}
		// A changed content passes the domain's validation; archiving and
		// restoring alone do not look at it, so entries stored before a
		// rule was tightened can still be archived.
		if _, archival := diff["archived_at"]; !archival || len(diff) > 1 {
			if err := cur.Validate(); err != nil {
				return err
			}
		}
		cur.Version = old.Version + 1
		cur.UpdatedAt = dbTime(time.Now())
		evType = calgate.ClassifyChange(old, cur, diff)
		conf := &conflictRun{db: db, tx: tx, workspaceID: workspaceID, actor: actor, now: cur.UpdatedAt}
		spans := map[string]calgate.Interval{}
		widen(spans, old)
		widen(spans, cur)
		if err := conf.prepare(ctx, spans); err != nil {
			return fmt.Errorf("store: mutate %s: %w", id, err)
		}
		if cf := conf.check(old, cur); cf != nil {
			return &calgate.ConflictError{Resource: cur.Resource, Conflicts: cf}
		}
		conf.touchOld(old)
		conf.touch(cur)
		if err := db.updateEntry(ctx, tx, cur); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("store: mutate %s: %s/%s is taken: %w", id, cur.Source, cur.ExternalID, calgate.ErrConflict)
			}
			return fmt.Errorf("store: mutate %s: %w", id, err)
		}
		ev := entryEvent(evType, cur, diff, actor)
		if err := db.insertEvents(ctx, tx, []*calgate.Event{ev}); err != nil {
			return fmt.Errorf("store: mutate %s: %w", id, err)
		}
		if _, err := conf.finish(ctx); err != nil {
			return fmt.Errorf("store: mutate %s: conflicts: %w", id, err)
		}
		result = cur
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return result, evType, nil
}

// updateEntrySQL writes every column of an existing entry, with ?
// placeholders (rebind it).
const updateEntrySQL = `UPDATE entries SET source = ?, external_id = ?, title = ?, description = ?,
	location = ?, start_at = ?, end_at = ?, all_day = ?, timezone = ?, status = ?, resource = ?, details = ?,
	attributes = ?, version = ?, updated_at = ?, archived_at = ?, document = ?
	WHERE id = ? AND workspace_id = ?`

func (d dialect) updateEntryArgs(e *calgate.Entry) ([]any, error) {
	det, err := entryDetails(e)
	if err != nil {
		return nil, fmt.Errorf("entry %s: encode details: %w", e.ID, err)
	}
	return []any{e.Source, e.ExternalID, e.Title, e.Description, e.Location, d.timeArg(e.Start), d.timeArg(e.End), e.AllDay, e.Timezone,
		string(e.Status), e.Resource, jsonArg(det), jsonArg(e.Attributes), e.Version, d.timeArg(e.UpdatedAt),
		d.nullTimeArg(e.ArchivedAt), e.Document, e.ID, e.WorkspaceID}, nil
}

// updateEntry writes every column of an existing entry.
func (db *DB) updateEntry(ctx context.Context, tx *sql.Tx, e *calgate.Entry) error {
	args, err := db.d.updateEntryArgs(e)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, db.d.rebind(updateEntrySQL), args...)
	return err
}

// entryUpdateColumns are the columns a multi-row update sets, with their
// types for PostgreSQL, whose VALUES lists need them.
var entryUpdateColumns = []struct{ name, pgType string }{
	{"id", "TEXT"}, {"workspace_id", "TEXT"}, {"source", "TEXT"}, {"external_id", "TEXT"}, {"title", "TEXT"},
	{"description", "TEXT"}, {"location", "TEXT"}, {"start_at", "TIMESTAMPTZ"}, {"end_at", "TIMESTAMPTZ"},
	{"all_day", "BOOLEAN"}, {"timezone", "TEXT"}, {"status", "TEXT"}, {"resource", "TEXT"}, {"details", "JSON"},
	{"attributes", "JSON"}, {"version", "BIGINT"}, {"updated_at", "TIMESTAMPTZ"}, {"archived_at", "TIMESTAMPTZ"},
	{"document", "TEXT"},
}

// updateEntries writes every column of existing entries, many rows per
// statement.
func (db *DB) updateEntries(ctx context.Context, tx *sql.Tx, list []*calgate.Entry) error {
	if len(list) == 1 {
		return db.updateEntry(ctx, tx, list[0])
	}
	if !db.d.postgres {
		// SQLite runs in process: one prepared statement per row is
		// cheaper than a join with a VALUES list.
		stmt, err := tx.PrepareContext(ctx, updateEntrySQL)
		if err != nil {
			return fmt.Errorf("update entries: %w", err)
		}
		defer stmt.Close()
		for _, e := range list {
			args, err := db.d.updateEntryArgs(e)
			if err != nil {
				return err
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("update entry %s: %w", e.ID, err)
			}
		}
		return nil
	}
	ins, appendRow := db.entryUpdateBatch(tx)
	defer ins.close()
	if err := writeRows(ctx, ins, list, appendRow); err != nil {
		return fmt.Errorf("update entries: %w", err)
	}
	return nil
}

// entryUpdateBatch is PostgreSQL's multi-row update of entries (an UPDATE
// from a VALUES list) and the values of one row of it.
func (db *DB) entryUpdateBatch(tx *sql.Tx) (*batchInsert, func([]any, *calgate.Entry) ([]any, error)) {
	names := make([]string, len(entryUpdateColumns))
	values := make([]string, len(entryUpdateColumns))
	var set []string
	for i, c := range entryUpdateColumns {
		names[i] = c.name
		values[i] = db.d.typed("?", c.pgType)
		if i >= 2 {
			set = append(set, c.name+" = v."+c.name)
		}
	}
	ins := &batchInsert{db: db, tx: tx, rows: 250,
		prefix: `WITH v (` + strings.Join(names, ", ") + `) AS (VALUES `,
		row:    `(` + strings.Join(values, ", ") + `)`,
		suffix: `) UPDATE entries SET ` + strings.Join(set, ", ") +
			` FROM v WHERE entries.id = v.id AND entries.workspace_id = v.workspace_id`,
	}
	return ins, func(args []any, e *calgate.Entry) ([]any, error) {
		det, err := entryDetails(e)
		if err != nil {
			return nil, fmt.Errorf("entry %s: encode details: %w", e.ID, err)
		}
		return append(args, e.ID, e.WorkspaceID, e.Source, e.ExternalID, e.Title, e.Description, e.Location,
			db.d.timeArg(e.Start), db.d.timeArg(e.End), e.AllDay, e.Timezone, string(e.Status), e.Resource, jsonArg(det), jsonArg(e.Attributes),
			e.Version, db.d.timeArg(e.UpdatedAt), db.d.nullTimeArg(e.ArchivedAt), e.Document), nil
	}
}

// insertEntries writes new entries with multi-row INSERTs.
func (db *DB) insertEntries(ctx context.Context, tx *sql.Tx, list []*calgate.Entry) error {
	ins := db.batch(tx, entryInsertBatch)
	defer ins.close()
	if err := writeRows(ctx, ins, list, db.d.appendEntryArgs); err != nil {
		return fmt.Errorf("insert entries: %w", err)
	}
	return nil
}
