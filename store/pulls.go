package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/calgate/calgate"
)

const pullColumns = `id, workspace_id, name, url, header_names, sealed_headers, query, since_param, since_format, template, sheet, mode,
	schedule, notify_emails, next_run_at, running_since, last_run_at, last_success_at, last_status, last_error, created_at, updated_at,
	database_settings, pull_cursor`

func optTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func scanPullImport(row scanner) (*calgate.PullImport, error) {
	var p calgate.PullImport
	var names, query, emails, dbSettings, cursor []byte
	var running, lastRun, lastOK sql.NullTime
	if err := row.Scan(&p.ID, &p.WorkspaceID, &p.Name, &p.URL, &names, &p.SealedHeaders, &query, &p.SinceParam, &p.SinceFormat,
		&p.Template, &p.Sheet, &p.Mode, &p.Schedule, &emails, &p.NextRunAt, &running, &lastRun, &lastOK, &p.LastStatus, &p.LastError,
		&p.CreatedAt, &p.UpdatedAt, &dbSettings, &cursor); err != nil {
		return nil, err
	}
	if len(dbSettings) > 0 {
		var d storedDatabase
		if err := json.Unmarshal(dbSettings, &d); err != nil {
			return nil, fmt.Errorf("pull %s: database: %w", p.ID, err)
		}
		p.Database = d.settings()
	}
	if len(cursor) > 0 {
		p.Cursor = &calgate.PullCursor{}
		if err := json.Unmarshal(cursor, p.Cursor); err != nil {
			return nil, fmt.Errorf("pull %s: cursor: %w", p.ID, err)
		}
	}
	if err := json.Unmarshal(names, &p.HeaderNames); err != nil {
		return nil, fmt.Errorf("pull %s: header names: %w", p.ID, err)
	}
	if err := json.Unmarshal(emails, &p.NotifyEmails); err != nil {
		return nil, fmt.Errorf("pull %s: notify emails: %w", p.ID, err)
	}
	if len(query) > 0 {
		p.Query = json.RawMessage(query)
	}
	p.RunningSince, p.LastRunAt, p.LastSuccessAt = optTime(running), optTime(lastRun), optTime(lastOK)
	p.NextRunAt, p.CreatedAt, p.UpdatedAt = p.NextRunAt.UTC(), p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return &p, nil
}

func jsonList(list []string) (string, error) {
	if list == nil {
		list = []string{}
	}
	b, err := json.Marshal(list)
	return string(b), err
}

// CreatePullImport stores a new scheduled pull.
func (db *DB) CreatePullImport(ctx context.Context, p *calgate.PullImport) error {
	names, err := jsonList(p.HeaderNames)
	if err != nil {
		return fmt.Errorf("store: create pull %s: %w", p.ID, err)
	}
	emails, err := jsonList(p.NotifyEmails)
	if err != nil {
		return fmt.Errorf("store: create pull %s: %w", p.ID, err)
	}
	q := `INSERT INTO pull_imports (` + pullColumns + `) VALUES (` + placeholders(24) + `)`
	_, err = db.w.ExecContext(ctx, db.d.rebind(q), p.ID, p.WorkspaceID, p.Name, p.URL, names, p.SealedHeaders, jsonArg(p.Query),
		p.SinceParam, p.SinceFormat, p.Template, p.Sheet, p.Mode, p.Schedule, emails, dbTime(p.NextRunAt), nullTime(p.RunningSince),
		nullTime(p.LastRunAt), nullTime(p.LastSuccessAt), p.LastStatus, p.LastError, dbTime(p.CreatedAt), dbTime(p.UpdatedAt),
		jsonArg(databaseJSON(p.Database)), jsonArg(cursorJSON(p.Cursor)))
	if err != nil {
		return fmt.Errorf("store: create pull %s: %w", p.ID, err)
	}
	return nil
}

// PullImport returns one pull of the workspace.
func (db *DB) PullImport(ctx context.Context, workspaceID, id string) (*calgate.PullImport, error) {
	q := `SELECT ` + pullColumns + ` FROM pull_imports WHERE workspace_id = ? AND id = ?`
	p, err := scanPullImport(db.r.QueryRowContext(ctx, db.d.rebind(q), workspaceID, id))
	if err != nil {
		return nil, fmt.Errorf("store: pull %s: %w", id, notFound(err))
	}
	return p, nil
}

func scanPullImports(rows *sql.Rows) ([]*calgate.PullImport, error) {
	return scanAll(rows, scanPullImport)
}

// PullImports lists a workspace's pulls in id order after cursor.
func (db *DB) PullImports(ctx context.Context, workspaceID, cursor string, limit int) ([]*calgate.PullImport, string, error) {
	return listPage(ctx, db, "pull_imports", pullColumns, workspaceID, cursor, limit, scanPullImport, func(p *calgate.PullImport) string { return p.ID })
}

// UpdatePullImport writes the settings and the next run of p.
func (db *DB) UpdatePullImport(ctx context.Context, p *calgate.PullImport) error {
	names, err := jsonList(p.HeaderNames)
	if err != nil {
		return fmt.Errorf("store: update pull %s: %w", p.ID, err)
	}
	emails, err := jsonList(p.NotifyEmails)
	if err != nil {
		return fmt.Errorf("store: update pull %s: %w", p.ID, err)
	}
	q := `UPDATE pull_imports SET name = ?, url = ?, header_names = ?, sealed_headers = ?, query = ?, since_param = ?, since_format = ?,
		template = ?, sheet = ?, mode = ?, schedule = ?, notify_emails = ?, next_run_at = ?, updated_at = ?, database_settings = ?, pull_cursor = ?
		WHERE workspace_id = ? AND id = ?`
	res, err := db.w.ExecContext(ctx, db.d.rebind(q), p.Name, p.URL, names, p.SealedHeaders, jsonArg(p.Query), p.SinceParam,
		p.SinceFormat, p.Template, p.Sheet, p.Mode, p.Schedule, emails, dbTime(p.NextRunAt), dbTime(p.UpdatedAt),
		jsonArg(databaseJSON(p.Database)), jsonArg(cursorJSON(p.Cursor)), p.WorkspaceID, p.ID)
	return subscriptionRow(res, err, "update pull "+p.ID)
}

// DeletePullImport removes a pull and its runs (not its entries).
func (db *DB) DeletePullImport(ctx context.Context, workspaceID, id string) error {
	return db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM pull_import_runs WHERE workspace_id = ? AND pull_id = ?`), workspaceID, id); err != nil {
			return fmt.Errorf("store: delete pull %s: %w", id, err)
		}
		res, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM pull_imports WHERE workspace_id = ? AND id = ?`), workspaceID, id)
		return subscriptionRow(res, err, "delete pull "+id)
	})
}

// ClaimDuePullImports claims the pulls due at now by moving their next run
// to leaseUntil (see claimDue); FinishPullRun sets the next scheduled run.
func (db *DB) ClaimDuePullImports(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*calgate.PullImport, error) {
	list, err := claimDue(ctx, db, "pull_imports", "next_run_at", pullColumns, now, leaseUntil, limit, scanPullImport,
		func(p *calgate.PullImport) *time.Time { return &p.NextRunAt })
	if err != nil {
		return nil, fmt.Errorf("store: claim due pulls: %w", err)
	}
	return list, nil
}

// StartPullRun takes running_since with a compare-and-swap.
func (db *DB) StartPullRun(ctx context.Context, workspaceID, id string, now, staleBefore time.Time) (bool, error) {
	q := `UPDATE pull_imports SET running_since = ? WHERE workspace_id = ? AND id = ? AND (running_since IS NULL OR running_since < ?)`
	res, err := db.w.ExecContext(ctx, db.d.rebind(q), dbTime(now), workspaceID, id, dbTime(staleBefore))
	if err != nil {
		return false, fmt.Errorf("store: start pull run %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: start pull run %s: %w", id, err)
	}
	if n == 0 {
		if _, err := db.PullImport(ctx, workspaceID, id); err != nil {
			return false, err
		}
	}
	return n == 1, nil
}

// FinishPullRun records a run and its outcome on the pull, releases it and
// schedules its next run.
func (db *DB) FinishPullRun(ctx context.Context, r *calgate.PullRun, next time.Time) error {
	r.Error = calgate.StorableText(r.Error) // it may quote the pulled server
	return db.Tx(ctx, func(tx *sql.Tx) error {
		q := `INSERT INTO pull_import_runs (id, pull_id, workspace_id, started_at, finished_at, since, status, error, report)
			VALUES (` + placeholders(9) + `)`
		if _, err := tx.ExecContext(ctx, db.d.rebind(q), r.ID, r.PullID, r.WorkspaceID, dbTime(r.StartedAt), dbTime(r.FinishedAt),
			nullTime(r.Since), r.Status, r.Error, jsonArg(r.Report)); err != nil {
			return fmt.Errorf("store: record pull run %s: %w", r.PullID, err)
		}
		q = `UPDATE pull_imports SET running_since = NULL, last_run_at = ?, last_status = ?, last_error = ?, next_run_at = ?
			WHERE workspace_id = ? AND id = ?`
		args := []any{dbTime(r.StartedAt), r.Status, r.Error, dbTime(next), r.WorkspaceID, r.PullID}
		if r.Status == calgate.PullRunOK {
			q = `UPDATE pull_imports SET running_since = NULL, last_run_at = ?, last_status = ?, last_error = ?, next_run_at = ?,
				last_success_at = ? WHERE workspace_id = ? AND id = ?`
			args = []any{dbTime(r.StartedAt), r.Status, r.Error, dbTime(next), dbTime(r.StartedAt), r.WorkspaceID, r.PullID}
			if r.Cursor != nil {
				q = `UPDATE pull_imports SET running_since = NULL, last_run_at = ?, last_status = ?, last_error = ?, next_run_at = ?,
					last_success_at = ?, pull_cursor = ? WHERE workspace_id = ? AND id = ?`
				args = []any{dbTime(r.StartedAt), r.Status, r.Error, dbTime(next), dbTime(r.StartedAt), jsonArg(cursorJSON(r.Cursor)), r.WorkspaceID, r.PullID}
			}
		}
		res, err := tx.ExecContext(ctx, db.d.rebind(q), args...)
		return subscriptionRow(res, err, "finish pull run "+r.PullID)
	})
}

// PullRuns lists the runs of a pull, newest first.
func (db *DB) PullRuns(ctx context.Context, workspaceID, pullID, cursor string, limit int) ([]*calgate.PullRun, string, error) {
	limit = clampLimit(limit)
	q := `SELECT id, pull_id, workspace_id, started_at, finished_at, since, status, error, report FROM pull_import_runs
		WHERE workspace_id = ? AND pull_id = ?`
	args := []any{workspaceID, pullID}
	if cursor != "" {
		q += ` AND id < ?`
		args = append(args, cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := db.r.QueryContext(ctx, db.d.rebind(q), args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: pull runs %s: %w", pullID, err)
	}
	defer rows.Close()
	out := []*calgate.PullRun{}
	for rows.Next() {
		var r calgate.PullRun
		var since sql.NullTime
		var report []byte
		if err := rows.Scan(&r.ID, &r.PullID, &r.WorkspaceID, &r.StartedAt, &r.FinishedAt, &since, &r.Status, &r.Error, &report); err != nil {
			return nil, "", fmt.Errorf("store: pull runs %s: %w", pullID, err)
		}
		r.StartedAt, r.FinishedAt, r.Since = r.StartedAt.UTC(), r.FinishedAt.UTC(), optTime(since)
		if len(report) > 0 {
			r.Report = json.RawMessage(report)
		}
		out = append(out, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: pull runs %s: %w", pullID, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// storedDatabase is how a database pull's settings are stored, the sealed
// DSN included.
type storedDatabase struct {
	Engine       string `json:"engine"`
	Host         string `json:"host"`
	SealedDSN    string `json:"sealed_dsn"`
	Query        string `json:"query"`
	CursorColumn string `json:"cursor_column"`
	TimeoutMS    int64  `json:"timeout_ms"`
	MaxRows      int    `json:"max_rows"`
}

func (d storedDatabase) settings() *calgate.PullDatabase {
	return &calgate.PullDatabase{Engine: d.Engine, Host: d.Host, SealedDSN: d.SealedDSN, Query: d.Query, CursorColumn: d.CursorColumn,
		Timeout: calgate.Duration(time.Duration(d.TimeoutMS) * time.Millisecond), MaxRows: d.MaxRows}
}

func databaseJSON(d *calgate.PullDatabase) []byte {
	if d == nil {
		return nil
	}
	b, _ := json.Marshal(storedDatabase{Engine: d.Engine, Host: d.Host, SealedDSN: d.SealedDSN, Query: d.Query, CursorColumn: d.CursorColumn,
		TimeoutMS: time.Duration(d.Timeout).Milliseconds(), MaxRows: d.MaxRows})
	return b
}

func cursorJSON(c *calgate.PullCursor) []byte {
	if c == nil {
		return nil
	}
	b, _ := json.Marshal(c)
	return b
}
