package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/calgate/calgate"
)

var _ calgate.CalDAVStore = (*DB)(nil)

const caldavTargetColumns = `id, workspace_id, url, calendar_url, calendar_name, calendar_hint, username, password_sealed,
	filter, on_archive, state, last_error, last_success_at, conflicts, reconcile_at, created_at, updated_at, sync_token, sync_token_at`

// caldavTargetReadColumns adds the push backoff, which only the flush
// writes, to the columns read.
const caldavTargetReadColumns = caldavTargetColumns + `, push_attempts, push_retry_at`

func scanCalDAVTarget(row scanner) (*calgate.CalDAVTarget, error) {
	var t calgate.CalDAVTarget
	var filter []byte
	var success, tokenAt, retryAt sql.NullTime
	if err := row.Scan(&t.ID, &t.WorkspaceID, &t.URL, &t.CalendarURL, &t.CalendarName, &t.CalendarHint, &t.Username, &t.SealedPassword,
		&filter, &t.OnArchive, &t.State, &t.LastError, &success, &t.Conflicts, &t.ReconcileAt, &t.CreatedAt, &t.UpdatedAt, &t.SyncToken, &tokenAt,
		&t.PushAttempts, &retryAt); err != nil {
		return nil, err
	}
	if retryAt.Valid {
		at := retryAt.Time.UTC()
		t.PushRetryAt = &at
	}
	if len(filter) > 0 {
		if err := json.Unmarshal(filter, &t.Filter); err != nil {
			return nil, fmt.Errorf("caldav target %s: decode filter: %w", t.ID, err)
		}
	}
	if success.Valid {
		s := success.Time.UTC()
		t.LastSuccessAt = &s
	}
	if tokenAt.Valid {
		at := tokenAt.Time.UTC()
		t.SyncTokenAt = &at
	}
	t.ReconcileAt, t.CreatedAt, t.UpdatedAt = t.ReconcileAt.UTC(), t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

// CreateCalDAVTarget stores a new target.
func (db *DB) CreateCalDAVTarget(ctx context.Context, t *calgate.CalDAVTarget) error {
	filter, err := json.Marshal(t.Filter)
	if err != nil {
		return fmt.Errorf("store: caldav target %s: encode filter: %w", t.ID, err)
	}
	t.CreatedAt, t.UpdatedAt, t.ReconcileAt = dbTime(t.CreatedAt), dbTime(t.UpdatedAt), dbTime(t.ReconcileAt)
	q := db.Rebind(`INSERT INTO caldav_targets (` + caldavTargetColumns + `) VALUES (` + placeholders(19) + `)`)
	_, err = db.w.ExecContext(ctx, q, t.ID, t.WorkspaceID, t.URL, t.CalendarURL, t.CalendarName, t.CalendarHint, t.Username, t.SealedPassword,
		string(filter), t.OnArchive, t.State, t.LastError, nullTime(t.LastSuccessAt), t.Conflicts, t.ReconcileAt, t.CreatedAt, t.UpdatedAt, t.SyncToken, nullTime(t.SyncTokenAt))
	if err != nil {
		return fmt.Errorf("store: create caldav target %s: %w", t.ID, err)
	}
	return nil
}

// CalDAVTarget returns one target; an empty workspaceID matches any.
func (db *DB) CalDAVTarget(ctx context.Context, workspaceID, id string) (*calgate.CalDAVTarget, error) {
	q := `SELECT ` + caldavTargetReadColumns + ` FROM caldav_targets WHERE id = ?`
	args := []any{id}
	if workspaceID != "" {
		q += ` AND workspace_id = ?`
		args = append(args, workspaceID)
	}
	t, err := scanCalDAVTarget(db.r.QueryRowContext(ctx, db.Rebind(q), args...))
	if err != nil {
		return nil, fmt.Errorf("store: caldav target %s: %w", id, notFound(err))
	}
	return t, nil
}

// CalDAVTargets lists a workspace's targets in id order.
func (db *DB) CalDAVTargets(ctx context.Context, workspaceID string) ([]*calgate.CalDAVTarget, error) {
	rows, err := db.r.QueryContext(ctx, db.Rebind(`SELECT `+caldavTargetReadColumns+` FROM caldav_targets WHERE workspace_id = ? ORDER BY id`), workspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: caldav targets: %w", err)
	}
	return scanCalDAVTargets(rows)
}

func scanCalDAVTargets(rows *sql.Rows) ([]*calgate.CalDAVTarget, error) {
	out, err := scanAll(rows, scanCalDAVTarget)
	if err != nil {
		return nil, fmt.Errorf("store: caldav targets: %w", err)
	}
	return out, nil
}

// UpdateCalDAVTarget writes a target's settings, credentials and state.
// The sync token is kept, except that a new calendar URL clears it: a
// token belongs to one calendar.
func (db *DB) UpdateCalDAVTarget(ctx context.Context, t *calgate.CalDAVTarget) error {
	filter, err := json.Marshal(t.Filter)
	if err != nil {
		return fmt.Errorf("store: caldav target %s: encode filter: %w", t.ID, err)
	}
	t.UpdatedAt, t.ReconcileAt = dbTime(t.UpdatedAt), dbTime(t.ReconcileAt)
	res, err := db.w.ExecContext(ctx, db.Rebind(`UPDATE caldav_targets SET
		sync_token = CASE WHEN calendar_url = ? THEN sync_token ELSE '' END,
		sync_token_at = CASE WHEN calendar_url = ? THEN sync_token_at ELSE NULL END,
		url = ?, calendar_url = ?, calendar_name = ?, calendar_hint = ?,
		username = ?, password_sealed = ?, filter = ?, on_archive = ?, state = ?, last_error = ?, reconcile_at = ?, updated_at = ?
		WHERE id = ? AND workspace_id = ?`),
		t.CalendarURL, t.CalendarURL, t.URL, t.CalendarURL, t.CalendarName, t.CalendarHint, t.Username, t.SealedPassword, string(filter), t.OnArchive,
		t.State, t.LastError, t.ReconcileAt, t.UpdatedAt, t.ID, t.WorkspaceID)
	if err != nil {
		return fmt.Errorf("store: update caldav target %s: %w", t.ID, err)
	}
	return affectedOne(res, "update caldav target "+t.ID)
}

// DeleteCalDAVTarget removes a target and what it knows of its objects.
func (db *DB) DeleteCalDAVTarget(ctx context.Context, workspaceID, id string) error {
	return db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.Rebind(`DELETE FROM caldav_targets WHERE id = ? AND workspace_id = ?`), id, workspaceID)
		if err != nil {
			return fmt.Errorf("store: delete caldav target %s: %w", id, err)
		}
		if err := affectedOne(res, "delete caldav target "+id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.Rebind(`DELETE FROM caldav_objects WHERE target_id = ?`), id); err != nil {
			return fmt.Errorf("store: delete caldav objects of %s: %w", id, err)
		}
		return nil
	})
}

// SetCalDAVSyncToken stores the sync-collection token of a target's
// calendar and when it was asked for; an empty token clears both.
func (db *DB) SetCalDAVSyncToken(ctx context.Context, id, token string, at time.Time) error {
	var when any
	if token != "" {
		when = dbTime(at)
	}
	res, err := db.w.ExecContext(ctx, db.Rebind(`UPDATE caldav_targets SET sync_token = ?, sync_token_at = ? WHERE id = ?`),
		calgate.StorableText(token), when, id)
	if err != nil {
		return fmt.Errorf("store: caldav target %s sync token: %w", id, err)
	}
	return affectedOne(res, "caldav target "+id+" sync token")
}

// RecordCalDAVOutcome notes a push or reconciliation on the target.
func (db *DB) RecordCalDAVOutcome(ctx context.Context, id, state, lastError string, at time.Time, conflicts int) error {
	q := `UPDATE caldav_targets SET last_error = ?, conflicts = conflicts + ?`
	// The reason may quote a server's answer.
	args := []any{calgate.StorableText(lastError), conflicts}
	if lastError == "" {
		q += `, last_success_at = ?`
		args = append(args, dbTime(at))
	}
	if state != "" {
		q += `, state = ?`
		args = append(args, state)
	}
	q += ` WHERE id = ?`
	args = append(args, id)
	if _, err := db.w.ExecContext(ctx, db.Rebind(q), args...); err != nil {
		return fmt.Errorf("store: caldav target %s outcome: %w", id, err)
	}
	return nil
}

// ClaimCalDAVReconcile returns up to limit targets in state ok whose
// reconciliation is due, each claimed by moving reconcile_at to next with a
// compare-and-swap: of several workers, one gets each target.
func (db *DB) ClaimCalDAVReconcile(ctx context.Context, now, next time.Time, limit int) ([]*calgate.CalDAVTarget, error) {
	rows, err := db.r.QueryContext(ctx, db.Rebind(`SELECT `+caldavTargetReadColumns+` FROM caldav_targets
		WHERE reconcile_at <= ? AND state = ? ORDER BY reconcile_at LIMIT ?`), dbTime(now), calgate.CalDAVStateOK, limit)
	if err != nil {
		return nil, fmt.Errorf("store: due caldav targets: %w", err)
	}
	due, err := scanCalDAVTargets(rows)
	if err != nil {
		return nil, err
	}
	claimed := due[:0]
	for _, t := range due {
		res, err := db.w.ExecContext(ctx, db.Rebind(`UPDATE caldav_targets SET reconcile_at = ? WHERE id = ? AND reconcile_at = ?`),
			dbTime(next), t.ID, t.ReconcileAt)
		if err != nil {
			return nil, fmt.Errorf("store: claim caldav target %s: %w", t.ID, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			t.ReconcileAt = dbTime(next)
			claimed = append(claimed, t)
		}
	}
	return claimed, nil
}

const caldavObjectColumns = `target_id, entry_id, name, etag, pushed_version, wanted_version, state, pending_since, updated_at`

func scanCalDAVObject(row scanner) (*calgate.CalDAVObject, error) {
	var o calgate.CalDAVObject
	var pending sql.NullTime
	if err := row.Scan(&o.TargetID, &o.EntryID, &o.Name, &o.ETag, &o.PushedVersion, &o.WantedVersion, &o.State, &pending, &o.UpdatedAt); err != nil {
		return nil, err
	}
	if pending.Valid {
		p := pending.Time.UTC()
		o.PendingSince = &p
	}
	o.UpdatedAt = o.UpdatedAt.UTC()
	return &o, nil
}

// WantCalDAVObject records the newest version wanted in a target; the
// wanted version never goes back, and pending_since keeps the first time
// the object fell behind.
func (db *DB) WantCalDAVObject(ctx context.Context, targetID, entryID, name string, version int64, at time.Time) error {
	at = dbTime(at)
	_, err := db.w.ExecContext(ctx, db.Rebind(`INSERT INTO caldav_objects (`+caldavObjectColumns+`)
		VALUES (?, ?, ?, '', 0, ?, ?, ?, ?)
		ON CONFLICT (target_id, entry_id) DO UPDATE SET
			wanted_version = excluded.wanted_version,
			pending_since = CASE WHEN excluded.wanted_version > caldav_objects.pushed_version
				THEN COALESCE(caldav_objects.pending_since, excluded.pending_since) ELSE caldav_objects.pending_since END,
			updated_at = excluded.updated_at
		WHERE excluded.wanted_version > caldav_objects.wanted_version`),
		targetID, entryID, name, version, calgate.CalDAVObjectAbsent, at, at)
	if err != nil {
		return fmt.Errorf("store: want caldav object %s/%s v%d: %w", targetID, entryID, version, err)
	}
	return nil
}

// CalDAVObject returns what is known of one entry's object in a target.
func (db *DB) CalDAVObject(ctx context.Context, targetID, entryID string) (*calgate.CalDAVObject, error) {
	o, err := scanCalDAVObject(db.r.QueryRowContext(ctx, db.Rebind(`SELECT `+caldavObjectColumns+` FROM caldav_objects
		WHERE target_id = ? AND entry_id = ?`), targetID, entryID))
	if err != nil {
		return nil, fmt.Errorf("store: caldav object %s/%s: %w", targetID, entryID, notFound(err))
	}
	return o, nil
}

// CalDAVObjects lists every object recorded for a target.
func (db *DB) CalDAVObjects(ctx context.Context, targetID string) ([]*calgate.CalDAVObject, error) {
	rows, err := db.r.QueryContext(ctx, db.Rebind(`SELECT `+caldavObjectColumns+` FROM caldav_objects WHERE target_id = ? ORDER BY entry_id`), targetID)
	if err != nil {
		return nil, fmt.Errorf("store: caldav objects of %s: %w", targetID, err)
	}
	defer rows.Close()
	var out []*calgate.CalDAVObject
	for rows.Next() {
		o, err := scanCalDAVObject(rows)
		if err != nil {
			return nil, fmt.Errorf("store: caldav objects of %s: %w", targetID, err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: caldav objects of %s: %w", targetID, err)
	}
	return out, nil
}

// SaveCalDAVObject records a push. A push of an older version than the one
// recorded changes nothing; the object stays pending while a newer version
// is wanted.
func (db *DB) SaveCalDAVObject(ctx context.Context, o *calgate.CalDAVObject) error {
	o.UpdatedAt = dbTime(o.UpdatedAt)
	o.ETag = calgate.StorableText(o.ETag) // the server's
	var pending any
	if o.WantedVersion > o.PushedVersion {
		pending = o.UpdatedAt
	}
	_, err := db.w.ExecContext(ctx, db.Rebind(`INSERT INTO caldav_objects (`+caldavObjectColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (target_id, entry_id) DO UPDATE SET
			lease_until = NULL,
			name = excluded.name,
			etag = excluded.etag,
			pushed_version = excluded.pushed_version,
			wanted_version = CASE WHEN caldav_objects.wanted_version > excluded.pushed_version
				THEN caldav_objects.wanted_version ELSE excluded.pushed_version END,
			state = excluded.state,
			pending_since = CASE WHEN caldav_objects.wanted_version > excluded.pushed_version
				THEN caldav_objects.pending_since ELSE NULL END,
			updated_at = excluded.updated_at
		WHERE caldav_objects.pushed_version <= excluded.pushed_version`),
		o.TargetID, o.EntryID, o.Name, o.ETag, o.PushedVersion, max(o.WantedVersion, o.PushedVersion), o.State, pending, o.UpdatedAt)
	if err != nil {
		return fmt.Errorf("store: save caldav object %s/%s: %w", o.TargetID, o.EntryID, err)
	}
	return nil
}

// CalDAVBacklog counts a target's pending objects and finds the oldest.
func (db *DB) CalDAVBacklog(ctx context.Context, targetID string) (calgate.CalDAVBacklog, error) {
	var b calgate.CalDAVBacklog
	row := db.r.QueryRowContext(ctx, db.Rebind(`SELECT COUNT(*) FROM caldav_objects
		WHERE target_id = ? AND pending_since IS NOT NULL`), targetID)
	if err := row.Scan(&b.Pending); err != nil {
		return b, fmt.Errorf("store: caldav backlog of %s: %w", targetID, err)
	}
	if b.Pending == 0 {
		return b, nil
	}
	// The column itself, not MIN(): SQLite types only columns as times.
	var oldest time.Time
	row = db.r.QueryRowContext(ctx, db.Rebind(`SELECT pending_since FROM caldav_objects
		WHERE target_id = ? AND pending_since IS NOT NULL ORDER BY pending_since LIMIT 1`), targetID)
	if err := row.Scan(&oldest); errors.Is(err, sql.ErrNoRows) {
		// Pushed between the two queries: nothing is pending any more.
		return calgate.CalDAVBacklog{}, nil
	} else if err != nil {
		return b, fmt.Errorf("store: caldav backlog of %s: %w", targetID, err)
	}
	oldest = oldest.UTC()
	b.Oldest = &oldest
	return b, nil
}

// WantCalDAVObjects records many wanted versions with multi-row upserts;
// for one object it does what WantCalDAVObject does. Each object appears
// once.
func (db *DB) WantCalDAVObjects(ctx context.Context, wants []calgate.CalDAVWant, at time.Time) error {
	at = dbTime(at)
	const chunk = 200
	for start := 0; start < len(wants); start += chunk {
		part := wants[start:min(start+chunk, len(wants))]
		var q strings.Builder
		q.WriteString(`INSERT INTO caldav_objects (` + caldavObjectColumns + `) VALUES `)
		args := make([]any, 0, len(part)*7)
		for i, w := range part {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(`(?, ?, ?, '', 0, ?, ?, ?, ?)`)
			args = append(args, w.TargetID, w.EntryID, w.Name, w.Version, calgate.CalDAVObjectAbsent, db.d.timeArg(at), db.d.timeArg(at))
		}
		q.WriteString(` ON CONFLICT (target_id, entry_id) DO UPDATE SET
			wanted_version = excluded.wanted_version,
			pending_since = CASE WHEN excluded.wanted_version > caldav_objects.pushed_version
				THEN COALESCE(caldav_objects.pending_since, excluded.pending_since) ELSE caldav_objects.pending_since END,
			updated_at = excluded.updated_at
		WHERE excluded.wanted_version > caldav_objects.wanted_version`)
		if _, err := db.w.ExecContext(ctx, db.Rebind(q.String()), args...); err != nil {
			return fmt.Errorf("store: want %d caldav objects: %w", len(part), err)
		}
	}
	return nil
}

// ClaimCalDAVPushes leases up to limit unclaimed pending objects of a
// target, oldest first; on PostgreSQL rows another flush is claiming are
// skipped.
func (db *DB) ClaimCalDAVPushes(ctx context.Context, targetID string, now, leaseUntil time.Time, limit int) ([]*calgate.CalDAVObject, error) {
	rows, err := db.w.QueryContext(ctx, db.Rebind(`WITH c (claimed) AS MATERIALIZED (SELECT entry_id FROM caldav_objects
			WHERE target_id = ? AND pending_since IS NOT NULL AND (lease_until IS NULL OR lease_until <= ?)
			ORDER BY pending_since LIMIT ?`+db.d.skipLocked()+`)
		UPDATE caldav_objects SET lease_until = ? FROM c WHERE target_id = ? AND entry_id = c.claimed
		RETURNING `+caldavObjectColumns), targetID, db.d.timeArg(now), limit, db.d.timeArg(leaseUntil), targetID)
	if err != nil {
		return nil, fmt.Errorf("store: claim caldav pushes of %s: %w", targetID, err)
	}
	list, err := scanAll(rows, scanCalDAVObject)
	if err != nil {
		return nil, fmt.Errorf("store: claim caldav pushes of %s: %w", targetID, err)
	}
	return list, nil
}

// LeaseCalDAVPushes moves the claims on objects of a target to until (nil:
// none).
func (db *DB) LeaseCalDAVPushes(ctx context.Context, targetID string, entryIDs []string, until *time.Time) error {
	const chunk = 500
	for start := 0; start < len(entryIDs); start += chunk {
		part := entryIDs[start:min(start+chunk, len(entryIDs))]
		args := inArgs(part, db.d.nullTimeArg(until), targetID)
		if _, err := db.w.ExecContext(ctx, db.Rebind(`UPDATE caldav_objects SET lease_until = ?
			WHERE target_id = ? AND entry_id IN (`+placeholders(len(part))+`)`), args...); err != nil {
			return fmt.Errorf("store: lease caldav pushes of %s: %w", targetID, err)
		}
	}
	return nil
}

// CalDAVTargetsOwingPushes lists targets in state ok, not backing off,
// with unclaimed objects pending since before pendingBefore.
func (db *DB) CalDAVTargetsOwingPushes(ctx context.Context, pendingBefore, now time.Time, limit int) ([]string, error) {
	ids, err := db.queryIDs(ctx, db.Rebind(`SELECT t.id FROM caldav_targets t
		WHERE t.state = ? AND (t.push_retry_at IS NULL OR t.push_retry_at <= ?)
		AND EXISTS (SELECT 1 FROM caldav_objects o WHERE o.target_id = t.id AND o.pending_since IS NOT NULL
			AND o.pending_since <= ? AND (o.lease_until IS NULL OR o.lease_until <= ?))
		ORDER BY t.id LIMIT ?`), calgate.CalDAVStateOK, db.d.timeArg(now), db.d.timeArg(pendingBefore), db.d.timeArg(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: caldav targets owing pushes: %w", err)
	}
	return ids, nil
}

// SetCalDAVPushRetry records a target's push backoff.
func (db *DB) SetCalDAVPushRetry(ctx context.Context, targetID string, attempts int, retryAt *time.Time) error {
	res, err := db.w.ExecContext(ctx, db.Rebind(`UPDATE caldav_targets SET push_attempts = ?, push_retry_at = ? WHERE id = ?`),
		attempts, db.d.nullTimeArg(retryAt), targetID)
	if err != nil {
		return fmt.Errorf("store: caldav target %s push retry: %w", targetID, err)
	}
	return affectedOne(res, "caldav target "+targetID+" push retry")
}
