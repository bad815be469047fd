package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/calgate/calgate"
)

var _ calgate.ImportStore = (*DB)(nil)

const templateColumns = `workspace_id, name, description, kind, direction, document, created_at, updated_at`

func scanImportTemplate(row scanner) (*calgate.ImportTemplate, error) {
	var t calgate.ImportTemplate
	var doc []byte
	if err := row.Scan(&t.WorkspaceID, &t.Name, &t.Description, &t.Kind, &t.Direction, &doc, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	t.Document = json.RawMessage(doc)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

// CreateImportTemplate stores a new template; ErrConflict when the
// workspace has one of that name.
func (db *DB) CreateImportTemplate(ctx context.Context, t *calgate.ImportTemplate) error {
	q := `INSERT INTO import_templates (` + templateColumns + `) VALUES (` + placeholders(8) + `)`
	_, err := db.w.ExecContext(ctx, db.d.rebind(q), t.WorkspaceID, t.Name, t.Description, string(t.Kind), t.Direction,
		string(t.Document), dbTime(t.CreatedAt), dbTime(t.UpdatedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("store: create template %s: %w", t.Name, calgate.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: create template %s: %w", t.Name, err)
	}
	return nil
}

// PutImportTemplate creates or replaces a template, keeping the creation
// time of the one it replaces.
func (db *DB) PutImportTemplate(ctx context.Context, t *calgate.ImportTemplate) (bool, error) {
	created := false
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		q := `UPDATE import_templates SET description = ?, kind = ?, direction = ?, document = ?, updated_at = ?
			WHERE workspace_id = ? AND name = ?`
		res, err := tx.ExecContext(ctx, db.d.rebind(q), t.Description, string(t.Kind), t.Direction, string(t.Document),
			dbTime(t.UpdatedAt), t.WorkspaceID, t.Name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		created = true
		q = `INSERT INTO import_templates (` + templateColumns + `) VALUES (` + placeholders(8) + `)`
		_, err = tx.ExecContext(ctx, db.d.rebind(q), t.WorkspaceID, t.Name, t.Description, string(t.Kind), t.Direction,
			string(t.Document), dbTime(t.CreatedAt), dbTime(t.UpdatedAt))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: put template %s: %w", t.Name, err)
	}
	return created, nil
}

// ImportTemplate returns one template of the workspace.
func (db *DB) ImportTemplate(ctx context.Context, workspaceID, name string) (*calgate.ImportTemplate, error) {
	q := `SELECT ` + templateColumns + ` FROM import_templates WHERE workspace_id = ? AND name = ?`
	t, err := scanImportTemplate(db.r.QueryRowContext(ctx, db.d.rebind(q), workspaceID, name))
	if err != nil {
		return nil, fmt.Errorf("store: template %s: %w", name, notFound(err))
	}
	return t, nil
}

// ImportTemplates lists the workspace's templates by name.
func (db *DB) ImportTemplates(ctx context.Context, workspaceID string) ([]*calgate.ImportTemplate, error) {
	q := `SELECT ` + templateColumns + ` FROM import_templates WHERE workspace_id = ? ORDER BY name`
	rows, err := db.r.QueryContext(ctx, db.d.rebind(q), workspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: templates: %w", err)
	}
	defer rows.Close()
	out := []*calgate.ImportTemplate{}
	for rows.Next() {
		t, err := scanImportTemplate(rows)
		if err != nil {
			return nil, fmt.Errorf("store: templates: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: templates: %w", err)
	}
	return out, nil
}

// DeleteImportTemplate removes a template.
func (db *DB) DeleteImportTemplate(ctx context.Context, workspaceID, name string) error {
	res, err := db.w.ExecContext(ctx, db.d.rebind(`DELETE FROM import_templates WHERE workspace_id = ? AND name = ?`), workspaceID, name)
	return subscriptionRow(res, err, "delete template "+name)
}

// ExistingExternalIDs returns which of ids have an entry (live or
// archived) of kind and source.
func (db *DB) ExistingExternalIDs(ctx context.Context, workspaceID string, kind calgate.Kind, source string, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	for start := 0; start < len(ids); start += loadChunk {
		part := ids[start:min(start+loadChunk, len(ids))]
		args := inArgs(part, workspaceID, string(kind), source)
		q := `SELECT external_id FROM entries WHERE workspace_id = ? AND kind = ? AND source = ? AND external_id IN (` + placeholders(len(part)) + `)`
		rows, err := db.r.QueryContext(ctx, db.d.rebind(q), args...)
		if err != nil {
			return nil, fmt.Errorf("store: existing %s/%s: %w", kind, source, err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: existing %s/%s: %w", kind, source, err)
			}
			out[id] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: existing %s/%s: %w", kind, source, err)
		}
	}
	return out, nil
}

// ArchiveMissing archives the live entries of scope whose external id keep
// rejects. Only ids and external ids are read for the whole scope; the
// entries to archive are loaded in chunks, so the memory used follows the
// number archived, not the size of the scope.
func (db *DB) ArchiveMissing(ctx context.Context, workspaceID, actor string, scope calgate.SyncScope, keep func(string) bool, simulate, verbose bool) (*calgate.BulkResult, error) {
	res := &calgate.BulkResult{Simulated: simulate, Errors: []calgate.ItemResult{}}
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		if db.d.postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, scopeLock(workspaceID, scopeKey{scope.Kind, scope.Source})); err != nil {
				return fmt.Errorf("lock scope: %w", err)
			}
		}
		q := `SELECT id, external_id FROM entries WHERE workspace_id = ? AND kind = ? AND source = ? AND archived_at IS NULL ORDER BY id`
		rows, err := tx.QueryContext(ctx, db.d.rebind(q), workspaceID, string(scope.Kind), scope.Source)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id, ext string
			if err := rows.Scan(&id, &ext); err != nil {
				rows.Close()
				return err
			}
			if !keep(ext) {
				ids = append(ids, id)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
		now := dbTime(time.Now())
		for start := 0; start < len(ids); start += loadChunk {
			part := ids[start:min(start+loadChunk, len(ids))]
			if err := db.archiveChunk(ctx, tx, workspaceID, actor, part, now, res, verbose, simulate); err != nil {
				return err
			}
		}
		if simulate {
			return errSimulated
		}
		return nil
	})
	if err != nil && err != errSimulated {
		return nil, fmt.Errorf("store: archive missing %s/%s: %w", scope.Kind, scope.Source, err)
	}
	return res, nil
}

// errSimulated rolls back a simulated transaction.
var errSimulated = fmt.Errorf("simulated")

func (db *DB) archiveChunk(ctx context.Context, tx *sql.Tx, workspaceID, actor string, ids []string, now time.Time, res *calgate.BulkResult, verbose, simulate bool) error {
	args := make([]any, 0, len(ids)+1)
	args = append(args, workspaceID)
	for _, id := range ids {
		args = append(args, id)
	}
	q := `SELECT ` + entryColumns + ` FROM entries WHERE workspace_id = ? AND id IN (` + placeholders(len(ids)) + `) AND archived_at IS NULL` + db.d.forUpdate()
	rows, err := tx.QueryContext(ctx, db.d.rebind(q), args...)
	if err != nil {
		return err
	}
	live, err := scanEntries(rows)
	if err != nil {
		return err
	}
	events := make([]*calgate.Event, 0, len(live))
	upd := make([]any, 0, len(live)+3)
	upd = append(upd, now, now, workspaceID)
	for _, old := range live {
		cur := old.Clone()
		at := now
		cur.ArchivedAt = &at
		cur.Version = old.Version + 1
		cur.UpdatedAt = now
		diff := calgate.Diff(old, cur)
		events = append(events, entryEvent(calgate.ClassifyChange(old, cur, diff), cur, diff, actor))
		upd = append(upd, old.ID)
		res.Count(calgate.ItemResult{Index: -1, ExternalID: cur.ExternalID, Kind: cur.Kind, Operation: calgate.OpArchived,
			ID: cur.ID, Version: cur.Version}, verbose)
	}
	if len(live) == 0 || simulate {
		return nil
	}
	q = `UPDATE entries SET archived_at = ?, updated_at = ?, version = version + 1 WHERE workspace_id = ? AND id IN (` +
		placeholders(len(live)) + `)`
	if _, err := tx.ExecContext(ctx, db.d.rebind(q), upd...); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	return db.insertEvents(ctx, tx, events)
}
