package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/calgate/calgate"
)

var _ calgate.ConnectorReconcileStore = (*DB)(nil)

const connectorReconcileColumns = `connector_id, due_at, lease_token, sync_cursor, conflicts, last_run_at, last_error`

func scanConnectorReconcile(row scanner) (*calgate.ConnectorReconcile, error) {
	var r calgate.ConnectorReconcile
	var last sql.NullTime
	if err := row.Scan(&r.ConnectorID, &r.DueAt, &r.LeaseToken, &r.Cursor, &r.Conflicts, &last, &r.LastError); err != nil {
		return nil, err
	}
	r.DueAt, r.LastRunAt = r.DueAt.UTC(), utcPtr(last)
	return &r, nil
}

// ScheduleConnectorReconcile creates a connector's reconciliation record
// due at at, or moves an unheld record's time earlier to at.
func (db *DB) ScheduleConnectorReconcile(ctx context.Context, connectorID string, at time.Time) error {
	_, err := db.w.ExecContext(ctx, db.Rebind(`INSERT INTO connector_reconciles (connector_id, due_at) VALUES (?, ?)
		ON CONFLICT (connector_id) DO UPDATE SET due_at = excluded.due_at
		WHERE connector_reconciles.lease_token = '' AND connector_reconciles.due_at > excluded.due_at`), connectorID, dbTime(at))
	if err != nil {
		return fmt.Errorf("store: schedule reconciliation of %s: %w", connectorID, err)
	}
	return nil
}

// ConnectorReconcile returns a connector's reconciliation record.
func (db *DB) ConnectorReconcile(ctx context.Context, connectorID string) (*calgate.ConnectorReconcile, error) {
	r, err := scanConnectorReconcile(db.r.QueryRowContext(ctx, db.Rebind(`SELECT `+connectorReconcileColumns+`
		FROM connector_reconciles WHERE connector_id = ?`), connectorID))
	if err != nil {
		return nil, fmt.Errorf("store: reconciliation of %s: %w", connectorID, notFound(err))
	}
	return r, nil
}

// ClaimDueConnectorReconciles claims due records of connected connectors
// in one statement, so that of several workers one gets each.
func (db *DB) ClaimDueConnectorReconciles(ctx context.Context, now, leaseUntil time.Time, token string, limit int) ([]*calgate.ConnectorReconcile, error) {
	now = dbTime(now)
	lock := ""
	if db.d.postgres {
		lock = " FOR UPDATE OF r SKIP LOCKED"
	}
	rows, err := db.w.QueryContext(ctx, db.Rebind(`UPDATE connector_reconciles SET due_at = ?, lease_token = ?
		WHERE connector_id IN (
			SELECT r.connector_id FROM connector_reconciles r JOIN connectors c ON c.id = r.connector_id
			WHERE c.state = ? AND r.due_at <= ? ORDER BY r.due_at LIMIT ?`+lock+`)
		AND due_at <= ?
		RETURNING `+connectorReconcileColumns),
		dbTime(leaseUntil), token, calgate.ConnectorStateConnected, now, limit, now)
	if err != nil {
		return nil, fmt.Errorf("store: claim due reconciliations: %w", err)
	}
	out, err := scanAll(rows, scanConnectorReconcile)
	if err != nil {
		return nil, fmt.Errorf("store: claim due reconciliations: %w", err)
	}
	return out, nil
}

// FinishConnectorReconcile records the end of the run token holds.
func (db *DB) FinishConnectorReconcile(ctx context.Context, connectorID, token, cursor string, next, at time.Time, lastError string, conflicts int) (bool, error) {
	res, err := db.w.ExecContext(ctx, db.Rebind(`UPDATE connector_reconciles SET due_at = ?, lease_token = '', sync_cursor = ?,
		conflicts = conflicts + ?, last_run_at = ?, last_error = ? WHERE connector_id = ? AND lease_token = ?`),
		dbTime(next), cursor, conflicts, dbTime(at), lastError, connectorID, token)
	if err != nil {
		return false, fmt.Errorf("store: finish reconciliation of %s: %w", connectorID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ConnectorLinks lists every link of a connector in entry order.
func (db *DB) ConnectorLinks(ctx context.Context, connectorID string) ([]*calgate.ConnectorLink, error) {
	rows, err := db.r.QueryContext(ctx, db.Rebind(`SELECT `+connectorLinkColumns+` FROM connector_links WHERE connector_id = ? ORDER BY entry_id`), connectorID)
	if err != nil {
		return nil, fmt.Errorf("store: links of %s: %w", connectorID, err)
	}
	out, err := scanAll(rows, scanConnectorLink)
	if err != nil {
		return nil, fmt.Errorf("store: links of %s: %w", connectorID, err)
	}
	return out, nil
}

// RepairConnectorLinks owes entries again with their new remote state,
// skipping links a push holds.
func (db *DB) RepairConnectorLinks(ctx context.Context, connectorID string, repairs []calgate.ConnectorRepair, at time.Time) ([]string, error) {
	at = dbTime(at)
	var owed []string
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		owed = owed[:0]
		q := db.Rebind(`UPDATE connector_links SET pushed_version = 0, remote_state = ?, attempts = 0, last_error = '',
			wanted_version = CASE WHEN wanted_version < 1 THEN 1 ELSE wanted_version END, next_attempt_at = ?, updated_at = ?
			WHERE connector_id = ? AND entry_id = ? AND (lease_until IS NULL OR lease_until <= ?)`)
		for _, r := range repairs {
			res, err := tx.ExecContext(ctx, q, r.RemoteState, at, at, connectorID, r.EntryID, at)
			if err != nil {
				return fmt.Errorf("store: repair link %s/%s: %w", connectorID, r.EntryID, err)
			}
			if n, err := res.RowsAffected(); err == nil && n == 1 {
				owed = append(owed, r.EntryID)
			}
		}
		return nil
	})
	return owed, err
}
