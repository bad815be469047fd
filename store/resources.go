package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/calgate/calgate"
)

var _ calgate.ResourceStore = (*DB)(nil)

const resourceColumns = `id, workspace_id, name, kind, capacity, timezone, working_hours, closed_dates, conflict_policy, created_at, updated_at`

func (d dialect) resourceArgs(r *calgate.Resource) ([]any, error) {
	var hours []byte
	if r.WorkingHours != nil {
		var err error
		if hours, err = json.Marshal(r.WorkingHours); err != nil {
			return nil, fmt.Errorf("resource %s: encode working hours: %w", r.Name, err)
		}
	}
	closed := r.ClosedDates
	if closed == nil {
		closed = []string{}
	}
	dates, err := json.Marshal(closed)
	if err != nil {
		return nil, fmt.Errorf("resource %s: encode closed dates: %w", r.Name, err)
	}
	return []any{r.ID, r.WorkspaceID, r.Name, r.Kind, r.Capacity, r.Timezone, jsonArg(hours), string(dates), r.ConflictPolicy,
		d.timeArg(r.CreatedAt), d.timeArg(r.UpdatedAt)}, nil
}

func scanResource(row scanner) (*calgate.Resource, error) {
	var r calgate.Resource
	var hours, dates []byte
	if err := row.Scan(&r.ID, &r.WorkspaceID, &r.Name, &r.Kind, &r.Capacity, &r.Timezone, &hours, &dates, &r.ConflictPolicy,
		&r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	if len(hours) > 0 && string(hours) != "null" {
		if err := json.Unmarshal(hours, &r.WorkingHours); err != nil {
			return nil, fmt.Errorf("resource %s: decode working hours: %w", r.ID, err)
		}
	}
	r.ClosedDates = []string{}
	if len(dates) > 0 {
		if err := json.Unmarshal(dates, &r.ClosedDates); err != nil {
			return nil, fmt.Errorf("resource %s: decode closed dates: %w", r.ID, err)
		}
	}
	return &r, nil
}

// CreateResource stores a new resource; a name the workspace already has
// is ErrConflict.
func (db *DB) CreateResource(ctx context.Context, r *calgate.Resource) error {
	args, err := db.d.resourceArgs(r)
	if err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *sql.Tx) error {
		_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO resources (`+resourceColumns+`) VALUES (`+placeholders(len(args))+`)`), args...)
		if isUniqueViolation(err) {
			return fmt.Errorf("store: create resource %q: the name is taken: %w", r.Name, calgate.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: create resource %q: %w", r.Name, err)
		}
		// Entries may name it already (it was removed, or never listed).
		if err := db.measureLongest(ctx, tx, r.WorkspaceID, []string{r.Name}); err != nil {
			return fmt.Errorf("store: create resource %q: %w", r.Name, err)
		}
		return nil
	})
}

// Resource returns one resource by id.
func (db *DB) Resource(ctx context.Context, workspaceID, id string) (*calgate.Resource, error) {
	r, err := scanResource(db.r.QueryRowContext(ctx, db.d.rebind(`SELECT `+resourceColumns+` FROM resources WHERE workspace_id = ? AND id = ?`), workspaceID, id))
	if err != nil {
		return nil, fmt.Errorf("store: resource %s: %w", id, notFound(err))
	}
	return r, nil
}

// ResourceByName returns one resource by name.
func (db *DB) ResourceByName(ctx context.Context, workspaceID, name string) (*calgate.Resource, error) {
	r, err := scanResource(db.r.QueryRowContext(ctx, db.d.rebind(`SELECT `+resourceColumns+` FROM resources WHERE workspace_id = ? AND name = ?`), workspaceID, name))
	if err != nil {
		return nil, fmt.Errorf("store: resource %q: %w", name, notFound(err))
	}
	return r, nil
}

// Resources lists a workspace's resources in id order after cursor.
func (db *DB) Resources(ctx context.Context, workspaceID, cursor string, limit int) ([]*calgate.Resource, string, error) {
	return listPage(ctx, db, "resources", resourceColumns, workspaceID, cursor, limit, scanResource, func(r *calgate.Resource) string { return r.ID })
}

// ResourcesByName returns the named resources that are in the catalogue.
func (db *DB) ResourcesByName(ctx context.Context, workspaceID string, names []string) (map[string]*calgate.Resource, error) {
	out, err := db.resourcesByName(ctx, db.r, workspaceID, names, nil)
	if err != nil {
		return nil, fmt.Errorf("store: resources of %s: %w", workspaceID, err)
	}
	return out, nil
}

// resourcesByName reads the named resources of a workspace inside tx;
// with longest not nil, it also records there each one's longest_entry
// (unknownLength when not known).
func (db *DB) resourcesByName(ctx context.Context, q querier, workspaceID string, names []string, longest map[string]int64) (map[string]*calgate.Resource, error) {
	out := make(map[string]*calgate.Resource, len(names))
	for start := 0; start < len(names); start += loadChunk {
		part := names[start:min(start+loadChunk, len(names))]
		args := inArgs(part, workspaceID)
		rows, err := q.QueryContext(ctx, db.d.rebind(`SELECT `+resourceColumns+`, longest_entry FROM resources WHERE workspace_id = ? AND name IN (`+placeholders(len(part))+`)`), args...)
		if err != nil {
			return nil, err
		}
		list, err := scanAll(rows, func(r scanner) (*calgate.Resource, error) {
			var l sql.NullInt64
			res, err := scanResource(extraScan{r, []any{&l}})
			if err == nil && longest != nil {
				longest[res.Name] = unknownLength
				if l.Valid {
					longest[res.Name] = l.Int64
				}
			}
			return res, err
		})
		if err != nil {
			return nil, err
		}
		for _, r := range list {
			out[r.Name] = r
		}
	}
	return out, nil
}

// extraScan scans a row's columns into those a scan function names, then
// into extra.
type extraScan struct {
	scanner
	extra []any
}

func (s extraScan) Scan(dest ...any) error {
	return s.scanner.Scan(append(dest, s.extra...)...)
}

// UpdateResource writes every setting of r and carries a new name into
// the entries that named the old one, each with a new version and an
// entry.updated event, and into the current conflicts, in one transaction.
func (db *DB) UpdateResource(ctx context.Context, r *calgate.Resource, actor string) error {
	return db.Tx(ctx, func(tx *sql.Tx) error {
		old, err := scanResource(tx.QueryRowContext(ctx, db.d.rebind(`SELECT `+resourceColumns+` FROM resources WHERE workspace_id = ? AND id = ?`+db.d.forUpdate()), r.WorkspaceID, r.ID))
		if err != nil {
			return fmt.Errorf("store: update resource %s: %w", r.ID, notFound(err))
		}
		r.CreatedAt = old.CreatedAt
		r.UpdatedAt = dbTime(time.Now())
		args, err := db.d.resourceArgs(r)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.d.rebind(`UPDATE resources SET name = ?, kind = ?, capacity = ?, timezone = ?, working_hours = ?, closed_dates = ?,
			conflict_policy = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`),
			append(args[2:9:9], args[10], r.WorkspaceID, r.ID)...)
		if isUniqueViolation(err) {
			return fmt.Errorf("store: rename resource %q to %q: the name is taken: %w", old.Name, r.Name, calgate.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: update resource %s: %w", r.ID, err)
		}
		if old.Name != r.Name {
			if err := db.renameInEntries(ctx, tx, r.WorkspaceID, old.Name, r.Name, actor); err != nil {
				return fmt.Errorf("store: rename resource %q: %w", old.Name, err)
			}
			// Entries may have named the new name already: measure again.
			if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE resources SET longest_entry = NULL WHERE workspace_id = ? AND id = ?`), r.WorkspaceID, r.ID); err != nil {
				return fmt.Errorf("store: rename resource %q: %w", old.Name, err)
			}
			if err := db.measureLongest(ctx, tx, r.WorkspaceID, []string{r.Name}); err != nil {
				return fmt.Errorf("store: rename resource %q: %w", old.Name, err)
			}
		}
		if old.Capacity != r.Capacity || old.Name != r.Name {
			// A new capacity changes which overlaps are double bookings.
			ch := &conflictRun{db: db, tx: tx, workspaceID: r.WorkspaceID, actor: actor, now: r.UpdatedAt}
			if err := ch.recheckResource(ctx, r.Name); err != nil {
				return fmt.Errorf("store: update resource %s: %w", r.ID, err)
			}
		}
		return nil
	})
}

// renameInEntries gives every entry (archived ones too) that names from
// the resource to, with its event.
func (db *DB) renameInEntries(ctx context.Context, tx *sql.Tx, workspaceID, from, to, actor string) error {
	rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT `+entryColumns+` FROM entries WHERE workspace_id = ? AND resource = ? ORDER BY id`+db.d.forUpdate()), workspaceID, from)
	if err != nil {
		return err
	}
	list, err := scanEntries(rows)
	if err != nil {
		return err
	}
	now := dbTime(time.Now())
	var updated []*calgate.Entry
	var events []*calgate.Event
	for _, old := range list {
		cur := old.Clone()
		cur.Resource = to
		cur.Version = old.Version + 1
		cur.UpdatedAt = now
		diff := calgate.Diff(old, cur)
		updated = append(updated, cur)
		events = append(events, entryEvent(calgate.EventEntryUpdated, cur, diff, actor))
	}
	if len(updated) == 0 {
		return nil
	}
	if err := db.updateEntries(ctx, tx, updated); err != nil {
		return err
	}
	if err := db.insertEvents(ctx, tx, events); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, db.d.rebind(`UPDATE conflicts SET resource = ? WHERE workspace_id = ? AND resource = ?`), to, workspaceID, from)
	return err
}

// DeleteResource removes a resource from the catalogue; entries keep
// naming it, and the next write that does creates it again with the
// defaults.
func (db *DB) DeleteResource(ctx context.Context, workspaceID, id string) error {
	res, err := db.w.ExecContext(ctx, db.d.rebind(`DELETE FROM resources WHERE workspace_id = ? AND id = ?`), workspaceID, id)
	if err != nil {
		return fmt.Errorf("store: delete resource %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: delete resource %s: %w", id, calgate.ErrNotFound)
	}
	return nil
}

// AvailabilitySettings returns the workspace's settings, the defaults when
// it set none.
func (db *DB) AvailabilitySettings(ctx context.Context, workspaceID string) (*calgate.AvailabilitySettings, error) {
	return db.settings(ctx, db.r.QueryRowContext, workspaceID)
}

func (db *DB) settings(ctx context.Context, query func(context.Context, string, ...any) *sql.Row, workspaceID string) (*calgate.AvailabilitySettings, error) {
	s := calgate.DefaultAvailabilitySettings()
	err := query(ctx, db.d.rebind(`SELECT conflict_policy, count_tentative FROM availability_settings WHERE workspace_id = ?`), workspaceID).
		Scan(&s.ConflictPolicy, &s.CountTentative)
	if err != nil && err != sql.ErrNoRows {
		return nil, fmt.Errorf("store: availability settings of %s: %w", workspaceID, err)
	}
	return s, nil
}

// SetAvailabilitySettings writes the workspace's settings. Whether
// tentative entries count changes which overlaps are double bookings, so
// every resource's conflicts are worked out again.
func (db *DB) SetAvailabilitySettings(ctx context.Context, workspaceID string, s *calgate.AvailabilitySettings) error {
	return db.Tx(ctx, func(tx *sql.Tx) error {
		old, err := db.settings(ctx, tx.QueryRowContext, workspaceID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO availability_settings (workspace_id, conflict_policy, count_tentative) VALUES (?, ?, ?)
			ON CONFLICT (workspace_id) DO UPDATE SET conflict_policy = excluded.conflict_policy, count_tentative = excluded.count_tentative`),
			workspaceID, s.ConflictPolicy, s.CountTentative)
		if err != nil {
			return fmt.Errorf("store: set availability settings of %s: %w", workspaceID, err)
		}
		if old.CountTentative == s.CountTentative {
			return nil
		}
		rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT DISTINCT resource FROM entries WHERE workspace_id = ? AND status = ? AND archived_at IS NULL`),
			workspaceID, string(calgate.StatusTentative))
		if err != nil {
			return fmt.Errorf("store: set availability settings of %s: %w", workspaceID, err)
		}
		names, err := scanAll(rows, func(r scanner) (string, error) {
			var name string
			err := r.Scan(&name)
			return name, err
		})
		if err != nil {
			return fmt.Errorf("store: set availability settings of %s: %w", workspaceID, err)
		}
		ch := &conflictRun{db: db, tx: tx, workspaceID: workspaceID, actor: "system:settings", now: dbTime(time.Now())}
		for _, name := range names {
			if err := ch.recheckResource(ctx, name); err != nil {
				return fmt.Errorf("store: set availability settings of %s: %w", workspaceID, err)
			}
		}
		return nil
	})
}
