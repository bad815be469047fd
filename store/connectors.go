package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/calgate/calgate"
)

var _ calgate.ConnectorStore = (*DB)(nil)

const connectorColumns = `id, workspace_id, type, name, filter, mapping, state, credentials_sealed, credentials_version,
	account, account_name, account_url, auth_state, verifier_sealed, auth_expires_at, last_error, last_success_at, created_at, updated_at`

func scanConnector(row scanner) (*calgate.Connector, error) {
	var c calgate.Connector
	var filter, mapping []byte
	var authExp, success sql.NullTime
	if err := row.Scan(&c.ID, &c.WorkspaceID, &c.Type, &c.Name, &filter, &mapping, &c.State, &c.SealedCredentials, &c.CredentialsVersion,
		&c.Account, &c.AccountName, &c.AccountURL, &c.AuthState, &c.SealedVerifier, &authExp, &c.LastError, &success, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, err
	}
	if len(filter) > 0 {
		if err := json.Unmarshal(filter, &c.Filter); err != nil {
			return nil, fmt.Errorf("connector %s: decode filter: %w", c.ID, err)
		}
	}
	if len(mapping) > 0 {
		c.Mapping = json.RawMessage(mapping)
	}
	c.AuthExpiresAt, c.LastSuccessAt = utcPtr(authExp), utcPtr(success)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

func utcPtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// CreateConnector stores a new connector.
func (db *DB) CreateConnector(ctx context.Context, c *calgate.Connector) error {
	filter, err := json.Marshal(c.Filter)
	if err != nil {
		return fmt.Errorf("store: connector %s: encode filter: %w", c.ID, err)
	}
	c.CreatedAt, c.UpdatedAt = dbTime(c.CreatedAt), dbTime(c.UpdatedAt)
	_, err = db.w.ExecContext(ctx, db.Rebind(`INSERT INTO connectors (`+connectorColumns+`) VALUES (`+placeholders(19)+`)`),
		c.ID, c.WorkspaceID, c.Type, c.Name, string(filter), jsonArg(c.Mapping), c.State, c.SealedCredentials, c.CredentialsVersion,
		c.Account, c.AccountName, c.AccountURL, c.AuthState, c.SealedVerifier, nullTime(c.AuthExpiresAt), c.LastError, nullTime(c.LastSuccessAt), c.CreatedAt, c.UpdatedAt)
	if err != nil {
		return fmt.Errorf("store: create connector %s: %w", c.ID, err)
	}
	return nil
}

// Connector returns one connector; an empty workspaceID matches any.
func (db *DB) Connector(ctx context.Context, workspaceID, id string) (*calgate.Connector, error) {
	q := `SELECT ` + connectorColumns + ` FROM connectors WHERE id = ?`
	args := []any{id}
	if workspaceID != "" {
		q += ` AND workspace_id = ?`
		args = append(args, workspaceID)
	}
	c, err := scanConnector(db.r.QueryRowContext(ctx, db.Rebind(q), args...))
	if err != nil {
		return nil, fmt.Errorf("store: connector %s: %w", id, notFound(err))
	}
	return c, nil
}

// Connectors lists a workspace's connectors in id order.
func (db *DB) Connectors(ctx context.Context, workspaceID string) ([]*calgate.Connector, error) {
	rows, err := db.r.QueryContext(ctx, db.Rebind(`SELECT `+connectorColumns+` FROM connectors WHERE workspace_id = ? ORDER BY id`), workspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: connectors: %w", err)
	}
	out, err := scanAll(rows, scanConnector)
	if err != nil {
		return nil, fmt.Errorf("store: connectors: %w", err)
	}
	return out, nil
}

// ConnectorByAuthState finds the connector of a pending authorization.
func (db *DB) ConnectorByAuthState(ctx context.Context, stateHash string) (*calgate.Connector, error) {
	if stateHash == "" {
		return nil, fmt.Errorf("store: connector by auth state: %w", calgate.ErrNotFound)
	}
	c, err := scanConnector(db.r.QueryRowContext(ctx, db.Rebind(`SELECT `+connectorColumns+` FROM connectors WHERE auth_state = ?`), stateHash))
	if err != nil {
		return nil, fmt.Errorf("store: connector by auth state: %w", notFound(err))
	}
	return c, nil
}

// UpdateConnector writes a connector's settings, state, account and
// pending authorization (not its credentials).
func (db *DB) UpdateConnector(ctx context.Context, c *calgate.Connector) error {
	filter, err := json.Marshal(c.Filter)
	if err != nil {
		return fmt.Errorf("store: connector %s: encode filter: %w", c.ID, err)
	}
	c.UpdatedAt = dbTime(c.UpdatedAt)
	res, err := db.w.ExecContext(ctx, db.Rebind(`UPDATE connectors SET name = ?, filter = ?, mapping = ?, state = ?,
		account = ?, account_name = ?, account_url = ?, auth_state = ?, verifier_sealed = ?, auth_expires_at = ?, last_error = ?, updated_at = ?
		WHERE id = ? AND workspace_id = ?`),
		c.Name, string(filter), jsonArg(c.Mapping), c.State, c.Account, c.AccountName, c.AccountURL, c.AuthState, c.SealedVerifier,
		nullTime(c.AuthExpiresAt), c.LastError, c.UpdatedAt, c.ID, c.WorkspaceID)
	if err != nil {
		return fmt.Errorf("store: update connector %s: %w", c.ID, err)
	}
	return affectedOne(res, "update connector "+c.ID)
}

// SaveConnectorCredentials replaces the credentials if their version is
// still prev.
func (db *DB) SaveConnectorCredentials(ctx context.Context, id, sealed string, prev int64) (bool, error) {
	res, err := db.w.ExecContext(ctx, db.Rebind(`UPDATE connectors SET credentials_sealed = ?, credentials_version = credentials_version + 1
		WHERE id = ? AND credentials_version = ?`), sealed, id, prev)
	if err != nil {
		return false, fmt.Errorf("store: connector %s credentials: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetConnectorState moves a connector from one state to another.
func (db *DB) SetConnectorState(ctx context.Context, id, from, to, lastError string, at time.Time) (bool, error) {
	res, err := db.w.ExecContext(ctx, db.Rebind(`UPDATE connectors SET state = ?, last_error = ?, updated_at = ? WHERE id = ? AND state = ?`),
		to, lastError, dbTime(at), id, from)
	if err != nil {
		return false, fmt.Errorf("store: connector %s state: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DisconnectConnector moves a connected connector to needs_reauth and
// writes its event in one transaction.
func (db *DB) DisconnectConnector(ctx context.Context, id, reason string, at time.Time, ev *calgate.Event) (bool, error) {
	moved := false
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.Rebind(`UPDATE connectors SET state = ?, last_error = ?, updated_at = ? WHERE id = ? AND state = ?`),
			calgate.ConnectorStateNeedsReauth, reason, dbTime(at), id, calgate.ConnectorStateConnected)
		if err != nil {
			return fmt.Errorf("store: disconnect connector %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return err
		}
		moved = true
		return db.AppendEventTx(ctx, tx, ev)
	})
	if err != nil {
		return false, err
	}
	return moved, nil
}

// RecordConnectorOutcome notes a push's success or failure.
func (db *DB) RecordConnectorOutcome(ctx context.Context, id, lastError string, at time.Time) error {
	q := `UPDATE connectors SET last_error = ? WHERE id = ?`
	args := []any{lastError, id}
	if lastError == "" {
		q = `UPDATE connectors SET last_error = '', last_success_at = ? WHERE id = ?`
		args = []any{dbTime(at), id}
	}
	if _, err := db.w.ExecContext(ctx, db.Rebind(q), args...); err != nil {
		return fmt.Errorf("store: connector %s outcome: %w", id, err)
	}
	return nil
}

// DeleteConnector removes a connector, its links and its call log.
func (db *DB) DeleteConnector(ctx context.Context, workspaceID, id string) error {
	return db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.Rebind(`DELETE FROM connectors WHERE id = ? AND workspace_id = ?`), id, workspaceID)
		if err != nil {
			return fmt.Errorf("store: delete connector %s: %w", id, err)
		}
		if err := affectedOne(res, "delete connector "+id); err != nil {
			return err
		}
		for _, table := range []string{"connector_links", "connector_calls", "connector_reconciles"} {
			if _, err := tx.ExecContext(ctx, db.Rebind(`DELETE FROM `+table+` WHERE connector_id = ?`), id); err != nil {
				return fmt.Errorf("store: delete %s of %s: %w", table, id, err)
			}
		}
		return nil
	})
}

const connectorLinkColumns = `connector_id, entry_id, remote_id, remote_version, remote_state, remote_data, create_key,
	pushed_version, wanted_version, attempts, next_attempt_at, lease_until, lease_token, last_error, updated_at`

func scanConnectorLink(row scanner) (*calgate.ConnectorLink, error) {
	var l calgate.ConnectorLink
	var data []byte
	var next, lease sql.NullTime
	if err := row.Scan(&l.ConnectorID, &l.EntryID, &l.RemoteID, &l.RemoteVersion, &l.RemoteState, &data, &l.CreateKey,
		&l.PushedVersion, &l.WantedVersion, &l.Attempts, &next, &lease, &l.LeaseToken, &l.LastError, &l.UpdatedAt); err != nil {
		return nil, err
	}
	if len(data) > 0 {
		l.RemoteData = json.RawMessage(data)
	}
	l.NextAttemptAt, l.LeaseUntil = utcPtr(next), utcPtr(lease)
	l.UpdatedAt = l.UpdatedAt.UTC()
	return &l, nil
}

// WantConnectorLinks records owed versions in statements of up to
// wantsPerStatement rows. A link named twice keeps its highest version (a
// statement may not update one row twice).
func (db *DB) WantConnectorLinks(ctx context.Context, wants []calgate.ConnectorWant, at time.Time) error {
	if len(wants) == 0 {
		return nil
	}
	type key struct{ c, e string }
	highest := make(map[key]int, len(wants))
	list := make([]calgate.ConnectorWant, 0, len(wants))
	for _, w := range wants {
		k := key{w.ConnectorID, w.EntryID}
		if i, ok := highest[k]; ok {
			list[i].Version = max(list[i].Version, w.Version)
			continue
		}
		highest[k] = len(list)
		list = append(list, w)
	}
	at = dbTime(at)
	return db.Tx(ctx, func(tx *sql.Tx) error {
		for from := 0; from < len(list); from += wantsPerStatement {
			chunk := list[from:min(from+wantsPerStatement, len(list))]
			var q strings.Builder
			q.WriteString(`INSERT INTO connector_links (connector_id, entry_id, wanted_version, next_attempt_at, updated_at) VALUES `)
			args := make([]any, 0, 5*len(chunk))
			for i, w := range chunk {
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?, ?, ?)")
				args = append(args, w.ConnectorID, w.EntryID, w.Version, at, at)
			}
			q.WriteString(`
				ON CONFLICT (connector_id, entry_id) DO UPDATE SET
					wanted_version = excluded.wanted_version,
					attempts = CASE WHEN connector_links.next_attempt_at IS NULL OR connector_links.wanted_version <= connector_links.pushed_version
						THEN 0 ELSE connector_links.attempts END,
					next_attempt_at = CASE WHEN connector_links.next_attempt_at IS NULL OR connector_links.wanted_version <= connector_links.pushed_version
						THEN excluded.next_attempt_at ELSE connector_links.next_attempt_at END,
					updated_at = excluded.updated_at
				WHERE excluded.wanted_version > connector_links.wanted_version`)
			if _, err := tx.ExecContext(ctx, db.Rebind(q.String()), args...); err != nil {
				return fmt.Errorf("store: want %d connector links (first %s/%s): %w", len(chunk), chunk[0].ConnectorID, chunk[0].EntryID, err)
			}
		}
		return nil
	})
}

// wantsPerStatement bounds one statement of WantConnectorLinks (5
// parameters a row).
const wantsPerStatement = 500

// OweConnectorLinks makes entries owed again from scratch (a resync).
func (db *DB) OweConnectorLinks(ctx context.Context, connectorID string, versions map[string]int64, at time.Time) error {
	at = dbTime(at)
	return db.Tx(ctx, func(tx *sql.Tx) error {
		q := db.Rebind(`INSERT INTO connector_links (connector_id, entry_id, wanted_version, next_attempt_at, updated_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (connector_id, entry_id) DO UPDATE SET
				pushed_version = 0,
				wanted_version = CASE WHEN connector_links.wanted_version > excluded.wanted_version
					THEN connector_links.wanted_version ELSE excluded.wanted_version END,
				attempts = 0, last_error = '', next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at`)
		for entryID, v := range versions {
			if _, err := tx.ExecContext(ctx, q, connectorID, entryID, max(v, 1), at, at); err != nil {
				return fmt.Errorf("store: owe connector link %s/%s: %w", connectorID, entryID, err)
			}
		}
		return nil
	})
}

// ConnectorLink returns one link.
func (db *DB) ConnectorLink(ctx context.Context, connectorID, entryID string) (*calgate.ConnectorLink, error) {
	l, err := scanConnectorLink(db.r.QueryRowContext(ctx, db.Rebind(`SELECT `+connectorLinkColumns+` FROM connector_links
		WHERE connector_id = ? AND entry_id = ?`), connectorID, entryID))
	if err != nil {
		return nil, fmt.Errorf("store: connector link %s/%s: %w", connectorID, entryID, notFound(err))
	}
	return l, nil
}

// ClaimConnectorLink takes the lease of one owed, due link.
func (db *DB) ClaimConnectorLink(ctx context.Context, connectorID, entryID, token string, now, leaseUntil time.Time) (*calgate.ConnectorLink, error) {
	now = dbTime(now)
	l, err := scanConnectorLink(db.w.QueryRowContext(ctx, db.Rebind(`UPDATE connector_links SET lease_until = ?, lease_token = ?
		WHERE connector_id = ? AND entry_id = ? AND wanted_version > pushed_version
			AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?
			AND (lease_until IS NULL OR lease_until <= ? OR lease_token = ?)
		RETURNING `+connectorLinkColumns), dbTime(leaseUntil), token, connectorID, entryID, now, now, token))
	if err != nil {
		return nil, fmt.Errorf("store: claim connector link %s/%s: %w", connectorID, entryID, notFound(err))
	}
	return l, nil
}

// ClaimDueConnectorLinks claims owed, due, unheld links of connected
// connectors in one statement, so that of several sweeps one gets each.
func (db *DB) ClaimDueConnectorLinks(ctx context.Context, dueBefore, now, leaseUntil time.Time, token string, limit int) ([]*calgate.ConnectorLink, error) {
	now = dbTime(now)
	lock := ""
	if db.d.postgres {
		lock = " FOR UPDATE OF l SKIP LOCKED"
	}
	rows, err := db.w.QueryContext(ctx, db.Rebind(`UPDATE connector_links SET lease_until = ?, lease_token = ?
		WHERE (connector_id, entry_id) IN (
			SELECT l.connector_id, l.entry_id FROM connector_links l JOIN connectors c ON c.id = l.connector_id
			WHERE c.state = ? AND l.wanted_version > l.pushed_version AND l.next_attempt_at <= ?
				AND (l.lease_until IS NULL OR l.lease_until <= ?)
			ORDER BY l.next_attempt_at LIMIT ?`+lock+`)
		AND (lease_until IS NULL OR lease_until <= ?)
		RETURNING `+connectorLinkColumns),
		dbTime(leaseUntil), token, calgate.ConnectorStateConnected, dbTime(dueBefore), now, limit, now)
	if err != nil {
		return nil, fmt.Errorf("store: claim due connector links: %w", err)
	}
	out, err := scanAll(rows, scanConnectorLink)
	if err != nil {
		return nil, fmt.Errorf("store: claim due connector links: %w", err)
	}
	return out, nil
}

// ClaimConnectorLinks claims, in one statement, up to limit owed and due
// links of one connector that no one holds, oldest due first, giving each
// the lease token.
func (db *DB) ClaimConnectorLinks(ctx context.Context, connectorID, token string, now, leaseUntil time.Time, limit int) ([]*calgate.ConnectorLink, error) {
	now = dbTime(now)
	lock := ""
	if db.d.postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	// A materialized CTE, not an IN (subquery): PostgreSQL may run a
	// subquery with LIMIT … SKIP LOCKED more than once and claim more.
	rows, err := db.w.QueryContext(ctx, db.Rebind(`WITH picked AS MATERIALIZED (
			SELECT entry_id FROM connector_links
			WHERE connector_id = ? AND wanted_version > pushed_version AND next_attempt_at <= ?
				AND (lease_until IS NULL OR lease_until <= ?)
			ORDER BY next_attempt_at, entry_id LIMIT ?`+lock+`)
		UPDATE connector_links SET lease_until = ?, lease_token = ?
		WHERE connector_id = ? AND entry_id IN (SELECT entry_id FROM picked)
			AND (lease_until IS NULL OR lease_until <= ?)
		RETURNING `+connectorLinkColumns),
		connectorID, now, now, limit, dbTime(leaseUntil), token, connectorID, now)
	if err != nil {
		return nil, fmt.Errorf("store: claim connector links %s: %w", connectorID, err)
	}
	out, err := scanAll(rows, scanConnectorLink)
	if err != nil {
		return nil, fmt.Errorf("store: claim connector links %s: %w", connectorID, err)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].NextAttemptAt, out[j].NextAttemptAt
		if !a.Equal(*b) {
			return a.Before(*b)
		}
		return out[i].EntryID < out[j].EntryID
	})
	return out, nil
}

// SetConnectorCreateKey records the key of a create about to be made.
func (db *DB) SetConnectorCreateKey(ctx context.Context, connectorID, entryID, key string) error {
	_, err := db.w.ExecContext(ctx, db.Rebind(`UPDATE connector_links SET create_key = ? WHERE connector_id = ? AND entry_id = ?`), key, connectorID, entryID)
	if err != nil {
		return fmt.Errorf("store: connector link %s/%s create key: %w", connectorID, entryID, err)
	}
	return nil
}

// SaveConnectorLink records a push and releases the lease. The pushed
// version never goes back; the link is due again at once when a newer
// version was announced meanwhile.
func (db *DB) SaveConnectorLink(ctx context.Context, l *calgate.ConnectorLink, now time.Time) error {
	return db.saveConnectorLink(ctx, db.w, l, now)
}

// SaveConnectorLinks records many pushes in one transaction (a batch).
func (db *DB) SaveConnectorLinks(ctx context.Context, links []*calgate.ConnectorLink, now time.Time) error {
	return db.Tx(ctx, func(tx *sql.Tx) error {
		for _, l := range links {
			if err := db.saveConnectorLink(ctx, tx, l, now); err != nil {
				return err
			}
		}
		return nil
	})
}

func (db *DB) saveConnectorLink(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, l *calgate.ConnectorLink, now time.Time) error {
	now = dbTime(now)
	_, err := ex.ExecContext(ctx, db.Rebind(`UPDATE connector_links SET remote_id = ?, remote_version = ?, remote_state = ?, remote_data = ?,
		create_key = '',
		pushed_version = CASE WHEN pushed_version > ? THEN pushed_version ELSE ? END,
		next_attempt_at = CASE WHEN wanted_version > ? THEN `+db.d.typed("?", "timestamptz")+` ELSE NULL END,
		wanted_version = CASE WHEN wanted_version > ? THEN wanted_version ELSE ? END,
		attempts = 0, last_error = '', lease_until = NULL, lease_token = '', updated_at = ?
		WHERE connector_id = ? AND entry_id = ?`),
		l.RemoteID, l.RemoteVersion, l.RemoteState, jsonArg(l.RemoteData),
		l.PushedVersion, l.PushedVersion, l.PushedVersion, now, l.PushedVersion, l.PushedVersion, now,
		l.ConnectorID, l.EntryID)
	if err != nil {
		return fmt.Errorf("store: save connector link %s/%s: %w", l.ConnectorID, l.EntryID, err)
	}
	return nil
}

// ReleaseConnectorLink gives a lease back with the retry state to keep.
func (db *DB) ReleaseConnectorLink(ctx context.Context, connectorID, entryID string, attempts int, next *time.Time, lastError string) error {
	_, err := db.w.ExecContext(ctx, db.Rebind(`UPDATE connector_links SET attempts = ?, next_attempt_at = ?, last_error = ?,
		lease_until = NULL, lease_token = '', updated_at = ? WHERE connector_id = ? AND entry_id = ?`),
		attempts, nullTime(next), lastError, dbTime(time.Now()), connectorID, entryID)
	if err != nil {
		return fmt.Errorf("store: release connector link %s/%s: %w", connectorID, entryID, err)
	}
	return nil
}

// RescheduleConnectorLinks makes every owed link of a connector due.
func (db *DB) RescheduleConnectorLinks(ctx context.Context, connectorID string, at time.Time) ([]string, error) {
	rows, err := db.w.QueryContext(ctx, db.Rebind(`UPDATE connector_links SET next_attempt_at = ?, attempts = 0, lease_until = NULL, lease_token = ''
		WHERE connector_id = ? AND wanted_version > pushed_version RETURNING entry_id`), dbTime(at), connectorID)
	if err != nil {
		return nil, fmt.Errorf("store: reschedule links of %s: %w", connectorID, err)
	}
	ids, err := scanAll(rows, func(s scanner) (string, error) {
		var id string
		err := s.Scan(&id)
		return id, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: reschedule links of %s: %w", connectorID, err)
	}
	return ids, nil
}

// ConnectorBacklog counts a connector's owed links.
func (db *DB) ConnectorBacklog(ctx context.Context, connectorID string) (calgate.ConnectorBacklog, error) {
	var b calgate.ConnectorBacklog
	err := db.r.QueryRowContext(ctx, db.Rebind(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN next_attempt_at IS NULL THEN 1 ELSE 0 END), 0)
		FROM connector_links WHERE connector_id = ? AND wanted_version > pushed_version`), connectorID).Scan(&b.Pending, &b.Failed)
	if err != nil {
		return b, fmt.Errorf("store: connector backlog of %s: %w", connectorID, err)
	}
	return b, nil
}

// LogConnectorCalls appends calls to the log in one statement.
func (db *DB) LogConnectorCalls(ctx context.Context, calls []*calgate.ConnectorCall) error {
	if len(calls) == 0 {
		return nil
	}
	var b strings.Builder
	args := make([]any, 0, len(calls)*8)
	for i, c := range calls {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?)")
		args = append(args, c.ConnectorID, dbTime(c.At), c.EntryID, c.Operation, c.Method, c.StatusCode, c.Error, c.Duration.Microseconds())
	}
	_, err := db.w.ExecContext(ctx, db.Rebind(`INSERT INTO connector_calls (connector_id, at, entry_id, operation, method, status_code, error, duration_us)
		VALUES `+b.String()), args...)
	if err != nil {
		return fmt.Errorf("store: log %d connector calls: %w", len(calls), err)
	}
	return nil
}

// ConnectorCalls lists a connector's calls newest first.
func (db *DB) ConnectorCalls(ctx context.Context, connectorID string, f calgate.ConnectorCallFilter) ([]*calgate.ConnectorCall, error) {
	q := `SELECT id, connector_id, at, entry_id, operation, method, status_code, error, duration_us FROM connector_calls WHERE connector_id = ?`
	args := []any{connectorID}
	if f.EntryID != "" {
		q += ` AND entry_id = ?`
		args = append(args, f.EntryID)
	}
	if f.Before > 0 {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, clampLimit(f.Limit))
	rows, err := db.r.QueryContext(ctx, db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: connector calls of %s: %w", connectorID, err)
	}
	out, err := scanAll(rows, func(s scanner) (*calgate.ConnectorCall, error) {
		var c calgate.ConnectorCall
		var us int64
		if err := s.Scan(&c.ID, &c.ConnectorID, &c.At, &c.EntryID, &c.Operation, &c.Method, &c.StatusCode, &c.Error, &us); err != nil {
			return nil, err
		}
		c.At, c.Duration = c.At.UTC(), time.Duration(us)*time.Microsecond
		return &c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: connector calls of %s: %w", connectorID, err)
	}
	return out, nil
}

// PurgeConnectorCalls deletes calls older than before.
func (db *DB) PurgeConnectorCalls(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.w.ExecContext(ctx, db.Rebind(`DELETE FROM connector_calls WHERE at < ?`), dbTime(before))
	if err != nil {
		return 0, fmt.Errorf("store: purge connector calls: %w", err)
	}
	return res.RowsAffected()
}
