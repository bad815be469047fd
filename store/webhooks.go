package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/calgate/calgate"
)

var _ calgate.WebhookStore = (*DB)(nil)

const webhookColumns = `id, workspace_id, url, events, filter, description, secrets, origin, disabled, disabled_reason,
	failing_since, created_at, updated_at`

func scanWebhook(row scanner) (*calgate.Webhook, error) {
	var w calgate.Webhook
	var events, filter, secrets []byte
	var failing sql.NullTime
	if err := row.Scan(&w.ID, &w.WorkspaceID, &w.URL, &events, &filter, &w.Description, &secrets, &w.Origin,
		&w.Disabled, &w.DisabledReason, &failing, &w.CreatedAt, &w.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(events, &w.Events); err != nil {
		return nil, fmt.Errorf("webhook %s: decode events: %w", w.ID, err)
	}
	if len(filter) > 0 {
		if err := json.Unmarshal(filter, &w.Filter); err != nil {
			return nil, fmt.Errorf("webhook %s: decode filter: %w", w.ID, err)
		}
	}
	if err := json.Unmarshal(secrets, &w.Secrets); err != nil {
		return nil, fmt.Errorf("webhook %s: decode secrets: %w", w.ID, err)
	}
	if failing.Valid {
		t := failing.Time.UTC()
		w.FailingSince = &t
	}
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	return &w, nil
}

func webhookJSON(w *calgate.Webhook) (events, filter, secrets []byte, err error) {
	if events, err = json.Marshal(w.Events); err != nil {
		return nil, nil, nil, err
	}
	if filter, err = json.Marshal(w.Filter); err != nil {
		return nil, nil, nil, err
	}
	secrets, err = json.Marshal(w.Secrets)
	return events, filter, secrets, err
}

// CreateWebhook stores a new endpoint.
func (db *DB) CreateWebhook(ctx context.Context, w *calgate.Webhook) error {
	events, filter, secrets, err := webhookJSON(w)
	if err != nil {
		return fmt.Errorf("store: create webhook: %w", err)
	}
	if w.Origin == "" {
		w.Origin = calgate.WebhookOriginAPI
	}
	w.CreatedAt, w.UpdatedAt = dbTime(w.CreatedAt), dbTime(w.UpdatedAt)
	_, err = db.w.ExecContext(ctx, db.d.rebind(`INSERT INTO webhooks (`+webhookColumns+`) VALUES (`+placeholders(13)+`)`),
		w.ID, w.WorkspaceID, w.URL, string(events), string(filter), w.Description, string(secrets), w.Origin,
		w.Disabled, w.DisabledReason, nullTime(w.FailingSince), w.CreatedAt, w.UpdatedAt)
	if err != nil {
		return fmt.Errorf("store: create webhook %s: %w", w.ID, err)
	}
	return nil
}

// Webhook returns an endpoint of a workspace.
func (db *DB) Webhook(ctx context.Context, workspaceID, id string) (*calgate.Webhook, error) {
	w, err := scanWebhook(db.r.QueryRowContext(ctx, db.d.rebind(`SELECT `+webhookColumns+` FROM webhooks WHERE id = ? AND workspace_id = ?`), id, workspaceID))
	if err != nil {
		return nil, fmt.Errorf("store: webhook %s: %w", id, notFound(err))
	}
	return w, nil
}

// WebhookByID returns an endpoint whatever its workspace.
func (db *DB) WebhookByID(ctx context.Context, id string) (*calgate.Webhook, error) {
	w, err := scanWebhook(db.r.QueryRowContext(ctx, db.d.rebind(`SELECT `+webhookColumns+` FROM webhooks WHERE id = ?`), id))
	if err != nil {
		return nil, fmt.Errorf("store: webhook %s: %w", id, notFound(err))
	}
	return w, nil
}

// Webhooks lists a workspace's endpoints in id order.
func (db *DB) Webhooks(ctx context.Context, workspaceID, cursor string, limit int) ([]*calgate.Webhook, string, error) {
	return listPage(ctx, db, "webhooks", webhookColumns, workspaceID, cursor, limit, scanWebhook, func(w *calgate.Webhook) string { return w.ID })
}

func scanWebhooks(rows *sql.Rows) ([]*calgate.Webhook, error) { return scanAll(rows, scanWebhook) }

// UpdateWebhook writes an endpoint's mutable fields.
func (db *DB) UpdateWebhook(ctx context.Context, w *calgate.Webhook) error {
	events, filter, secrets, err := webhookJSON(w)
	if err != nil {
		return fmt.Errorf("store: update webhook %s: %w", w.ID, err)
	}
	w.UpdatedAt = dbTime(w.UpdatedAt)
	res, err := db.w.ExecContext(ctx, db.d.rebind(`UPDATE webhooks SET url = ?, events = ?, filter = ?, description = ?,
		secrets = ?, disabled = ?, disabled_reason = ?, failing_since = ?, updated_at = ? WHERE id = ? AND workspace_id = ?`),
		w.URL, string(events), string(filter), w.Description, string(secrets), w.Disabled, w.DisabledReason,
		nullTime(w.FailingSince), w.UpdatedAt, w.ID, w.WorkspaceID)
	if err != nil {
		return fmt.Errorf("store: update webhook %s: %w", w.ID, err)
	}
	return affectedOne(res, "update webhook "+w.ID)
}

// DeleteWebhook removes an endpoint with its deliveries.
func (db *DB) DeleteWebhook(ctx context.Context, workspaceID, id string) error {
	res, err := db.w.ExecContext(ctx, db.d.rebind(`DELETE FROM webhooks WHERE id = ? AND workspace_id = ?`), id, workspaceID)
	if err != nil {
		return fmt.Errorf("store: delete webhook %s: %w", id, err)
	}
	return affectedOne(res, "delete webhook "+id)
}

const deliveryColumns = `id, webhook_id, workspace_id, event_id, type, payload, status, attempts, next_attempt_at, created_at, updated_at`

func scanDelivery(row scanner) (*calgate.Delivery, error) {
	var d calgate.Delivery
	var payload []byte
	var next sql.NullTime
	if err := row.Scan(&d.ID, &d.WebhookID, &d.WorkspaceID, &d.EventID, &d.Type, &payload, &d.Status, &d.Attempts,
		&next, &d.CreatedAt, &d.UpdatedAt); err != nil {
		return nil, err
	}
	d.Payload = json.RawMessage(payload)
	if next.Valid {
		t := next.Time.UTC()
		d.NextAttemptAt = &t
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

func scanDeliveries(rows *sql.Rows) ([]*calgate.Delivery, error) {
	return scanAll(rows, scanDelivery)
}

// CreateDeliveries writes, with multi-row statements, a delivery of each
// event for every enabled endpoint of its workspace that match accepts
// (each workspace's endpoints are read once); an endpoint that already has
// a delivery of the event is skipped. The new deliveries are claimed until
// leaseUntil and returned in the order of the events.
func (db *DB) CreateDeliveries(ctx context.Context, evs []*calgate.Event, match func(*calgate.Webhook, *calgate.Event) bool,
	payload func(*calgate.Event) (json.RawMessage, error), leaseUntil time.Time) ([]*calgate.Delivery, error) {
	hooks := map[string][]*calgate.Webhook{}
	now := dbTime(time.Now())
	var list []*calgate.Delivery
	for _, ev := range evs {
		ws, ok := hooks[ev.WorkspaceID]
		if !ok {
			rows, err := db.r.QueryContext(ctx, db.d.rebind(`SELECT `+webhookColumns+` FROM webhooks
				WHERE workspace_id = ? AND disabled = ? ORDER BY id`), ev.WorkspaceID, false)
			if err != nil {
				return nil, fmt.Errorf("store: endpoints of %s: %w", ev.WorkspaceID, err)
			}
			if ws, err = scanWebhooks(rows); err != nil {
				return nil, fmt.Errorf("store: endpoints of %s: %w", ev.WorkspaceID, err)
			}
			hooks[ev.WorkspaceID] = ws
		}
		var body json.RawMessage
		for _, w := range ws {
			if !match(w, ev) {
				continue
			}
			if body == nil {
				var err error
				if body, err = payload(ev); err != nil {
					return nil, fmt.Errorf("store: deliveries of event %d: %w", ev.ID, err)
				}
			}
			list = append(list, &calgate.Delivery{
				ID: calgate.NewID("msg"), WebhookID: w.ID, WorkspaceID: ev.WorkspaceID, EventID: ev.ID, Type: ev.Type,
				Payload: body, Status: calgate.DeliveryPending, NextAttemptAt: &now, CreatedAt: now, UpdatedAt: now,
			})
		}
	}
	if len(list) == 0 {
		return nil, nil
	}
	created := make(map[string]bool, len(list))
	const chunk = 500 // 11 values a row: within both engines' limits
	for start := 0; start < len(list); start += chunk {
		if err := db.insertDeliveries(ctx, list[start:min(start+chunk, len(list))], dbTime(leaseUntil), created); err != nil {
			return nil, err
		}
	}
	out := list[:0]
	for _, d := range list {
		if created[d.ID] {
			out = append(out, d)
		}
	}
	return out, nil
}

// insertDeliveries writes one chunk and notes which rows were new.
func (db *DB) insertDeliveries(ctx context.Context, list []*calgate.Delivery, lease time.Time, created map[string]bool) error {
	var q strings.Builder
	q.WriteString(`INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, type, payload, status, attempts, next_attempt_at, lease_until, created_at, updated_at) VALUES `)
	args := make([]any, 0, len(list)*11)
	for i, d := range list {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(`(?,?,?,?,?,?,?,0,?,?,?,?)`)
		args = append(args, d.ID, d.WebhookID, d.WorkspaceID, d.EventID, string(d.Type), string(d.Payload), d.Status,
			db.d.timeArg(d.CreatedAt), db.d.timeArg(lease), db.d.timeArg(d.CreatedAt), db.d.timeArg(d.CreatedAt))
	}
	q.WriteString(` ON CONFLICT (webhook_id, event_id) DO NOTHING RETURNING id`)
	rows, err := db.w.QueryContext(ctx, db.d.rebind(q.String()), args...)
	if err != nil {
		return fmt.Errorf("store: create %d deliveries: %w", len(list), err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("store: create deliveries: %w", err)
		}
		created[id] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: create deliveries: %w", err)
	}
	return nil
}

// ClaimEndpointDeliveries takes up to limit due, pending, unclaimed
// deliveries of one endpoint until leaseUntil, oldest first (by due time,
// then by event); on PostgreSQL
// rows another sender is claiming are skipped.
func (db *DB) ClaimEndpointDeliveries(ctx context.Context, webhookID string, now, leaseUntil time.Time, limit int) ([]*calgate.Delivery, error) {
	rows, err := db.w.QueryContext(ctx, db.d.rebind(`WITH c (claimed) AS MATERIALIZED (SELECT id FROM webhook_deliveries
			WHERE webhook_id = ? AND status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
			ORDER BY next_attempt_at, event_id LIMIT ?`+db.d.skipLocked()+`)
		UPDATE webhook_deliveries SET lease_until = ? FROM c WHERE id = c.claimed
		RETURNING `+deliveryColumns), webhookID, db.d.timeArg(now), db.d.timeArg(now), clampLimit(limit), db.d.timeArg(leaseUntil))
	if err != nil {
		return nil, fmt.Errorf("store: claim deliveries of %s: %w", webhookID, err)
	}
	list, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("store: claim deliveries of %s: %w", webhookID, err)
	}
	slices.SortFunc(list, func(a, b *calgate.Delivery) int {
		return cmp.Or(a.NextAttemptAt.Compare(*b.NextAttemptAt), cmp.Compare(a.EventID, b.EventID))
	})
	return list, nil
}

// ReleaseDeliveries drops the claims on deliveries without an attempt.
func (db *DB) ReleaseDeliveries(ctx context.Context, ids []string) error {
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		if _, err := db.w.ExecContext(ctx, db.d.rebind(`UPDATE webhook_deliveries SET lease_until = NULL WHERE id IN (`+placeholders(len(part))+`)`), args...); err != nil {
			return fmt.Errorf("store: release %d deliveries: %w", len(part), err)
		}
	}
	return nil
}

// EndpointsOwingDeliveries lists enabled endpoints with unclaimed pending
// deliveries due before a time: those whose sending was lost.
func (db *DB) EndpointsOwingDeliveries(ctx context.Context, before time.Time, limit int) ([]string, error) {
	now := db.d.timeArg(time.Now())
	ids, err := db.queryIDs(ctx, db.d.rebind(`SELECT w.id FROM webhooks w WHERE w.disabled = ?
		AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending'
			AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?))
		ORDER BY w.id LIMIT ?`), false, db.d.timeArg(before), now, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: endpoints owing deliveries: %w", err)
	}
	return ids, nil
}

// ClaimDelivery takes a due, pending, unclaimed delivery until leaseUntil.
func (db *DB) ClaimDelivery(ctx context.Context, id string, now, leaseUntil time.Time) (*calgate.Delivery, error) {
	now = dbTime(now)
	d, err := scanDelivery(db.w.QueryRowContext(ctx, db.d.rebind(`UPDATE webhook_deliveries SET lease_until = ?
		WHERE id = ? AND status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
		RETURNING `+deliveryColumns), dbTime(leaseUntil), id, now, now))
	if err != nil {
		return nil, fmt.Errorf("store: claim delivery %s: %w", id, notFound(err))
	}
	return d, nil
}

// ReleaseDelivery drops a claim without recording an attempt.
func (db *DB) ReleaseDelivery(ctx context.Context, id string) error {
	if _, err := db.w.ExecContext(ctx, db.d.rebind(`UPDATE webhook_deliveries SET lease_until = NULL WHERE id = ?`), id); err != nil {
		return fmt.Errorf("store: release delivery %s: %w", id, err)
	}
	return nil
}

// RecordAttempt writes the attempt, the delivery's state and the change
// to its endpoint in one transaction.
func (db *DB) RecordAttempt(ctx context.Context, d *calgate.Delivery, a *calgate.DeliveryAttempt, change calgate.EndpointChange) (*time.Time, error) {
	now := dbTime(time.Now())
	d.UpdatedAt = now
	if db.d.postgres && change.Disable == "" && change.Succeeded && !change.ResetStreak {
		// The hot path: one statement, no transaction round trips.
		_, err := db.w.ExecContext(ctx, `WITH a AS (INSERT INTO webhook_attempts
			(delivery_id, attempted_at, status_code, latency_us, error, response, retry_in_ms) VALUES ($1,$2,$3,$4,$5,$6,$7))
			UPDATE webhook_deliveries SET status = $8, attempts = $9, next_attempt_at = $10, lease_until = NULL, updated_at = $11
			WHERE id = $1`,
			d.ID, dbTime(a.At), a.StatusCode, a.Latency.Microseconds(), a.Error, a.Response, a.RetryIn.Milliseconds(),
			d.Status, d.Attempts, nullTime(d.NextAttemptAt), now)
		if err != nil {
			return nil, fmt.Errorf("store: record attempt of %s: %w", d.ID, err)
		}
		return nil, nil
	}
	var failing *time.Time
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO webhook_attempts
			(delivery_id, attempted_at, status_code, latency_us, error, response, retry_in_ms) VALUES (?,?,?,?,?,?,?)`),
			d.ID, dbTime(a.At), a.StatusCode, a.Latency.Microseconds(), a.Error, a.Response, a.RetryIn.Milliseconds()); err != nil {
			return fmt.Errorf("insert attempt: %w", err)
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE webhook_deliveries SET status = ?, attempts = ?,
			next_attempt_at = ?, lease_until = NULL, updated_at = ? WHERE id = ?`),
			d.Status, d.Attempts, nullTime(d.NextAttemptAt), now, d.ID); err != nil {
			return fmt.Errorf("update delivery: %w", err)
		}
		switch {
		case change.Disable != "":
			if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE webhooks SET disabled = ?, disabled_reason = ?, updated_at = ?
				WHERE id = ? AND disabled = ?`), true, change.Disable, now, d.WebhookID, false); err != nil {
				return fmt.Errorf("disable webhook: %w", err)
			}
		case change.Succeeded && !change.ResetStreak:
		case change.Succeeded:
			if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE webhooks SET failing_since = NULL
				WHERE id = ? AND failing_since IS NOT NULL`), d.WebhookID); err != nil {
				return fmt.Errorf("reset failure streak: %w", err)
			}
		default:
			var since sql.NullTime
			err := tx.QueryRowContext(ctx, db.d.rebind(`UPDATE webhooks SET failing_since = COALESCE(failing_since, ?)
				WHERE id = ? RETURNING failing_since`), dbTime(a.At), d.WebhookID).Scan(&since)
			if err != nil {
				return fmt.Errorf("mark failure streak: %w", notFound(err))
			}
			if since.Valid {
				t := since.Time.UTC()
				failing = &t
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: record attempt of %s: %w", d.ID, err)
	}
	return failing, nil
}

// RecordSuccesses writes successful attempts and their deliveries' state
// in bulk: one statement on PostgreSQL, one transaction on SQLite.
func (db *DB) RecordSuccesses(ctx context.Context, list []*calgate.Delivery, attempts []*calgate.DeliveryAttempt) error {
	if len(list) == 0 {
		return nil
	}
	now := dbTime(time.Now())
	if !db.d.postgres {
		return db.Tx(ctx, func(tx *sql.Tx) error {
			for i, d := range list {
				a := attempts[i]
				if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts
					(delivery_id, attempted_at, status_code, latency_us, error, response, retry_in_ms) VALUES (?,?,?,?,?,?,0)`,
					d.ID, dbTime(a.At), a.StatusCode, a.Latency.Microseconds(), a.Error, a.Response); err != nil {
					return fmt.Errorf("store: record success of %s: %w", d.ID, err)
				}
				if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'succeeded', attempts = ?,
					next_attempt_at = NULL, lease_until = NULL, updated_at = ? WHERE id = ?`, d.Attempts, now, d.ID); err != nil {
					return fmt.Errorf("store: record success of %s: %w", d.ID, err)
				}
			}
			return nil
		})
	}
	var ins, upd strings.Builder
	args := make([]any, 0, len(list)*8+1)
	args = append(args, now)
	for i, d := range list {
		a := attempts[i]
		if i > 0 {
			ins.WriteByte(',')
			upd.WriteByte(',')
		}
		n := len(args)
		fmt.Fprintf(&ins, "($%d,$%d::timestamptz,$%d::int,$%d::bigint,$%d,$%d,0)", n+1, n+2, n+3, n+4, n+5, n+6)
		fmt.Fprintf(&upd, "($%d,$%d::int)", n+1, n+7)
		args = append(args, d.ID, dbTime(a.At), a.StatusCode, a.Latency.Microseconds(), a.Error, a.Response, d.Attempts)
	}
	q := `WITH a AS (INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, latency_us, error, response, retry_in_ms)
		VALUES ` + ins.String() + `)
		UPDATE webhook_deliveries d SET status = 'succeeded', attempts = v.attempts, next_attempt_at = NULL, lease_until = NULL, updated_at = $1
		FROM (VALUES ` + upd.String() + `) AS v(id, attempts) WHERE d.id = v.id`
	if _, err := db.w.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("store: record %d successes: %w", len(list), err)
	}
	return nil
}

// Deliveries lists an endpoint's deliveries newest first, each with its
// attempt log.
func (db *DB) Deliveries(ctx context.Context, workspaceID, webhookID string, f calgate.DeliveryFilter) ([]*calgate.Delivery, string, error) {
	limit := clampLimit(f.Limit)
	q := `SELECT ` + deliveryColumns + ` FROM webhook_deliveries WHERE webhook_id = ? AND workspace_id = ?`
	args := []any{webhookID, workspaceID}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, f.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := db.r.QueryContext(ctx, db.d.rebind(q), args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: deliveries of %s: %w", webhookID, err)
	}
	list, err := scanDeliveries(rows)
	if err != nil {
		return nil, "", fmt.Errorf("store: deliveries of %s: %w", webhookID, err)
	}
	if err := db.attachAttempts(ctx, list); err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) == limit {
		next = list[len(list)-1].ID
	}
	return list, next, nil
}

func (db *DB) attachAttempts(ctx context.Context, list []*calgate.Delivery) error {
	if len(list) == 0 {
		return nil
	}
	byID := make(map[string]*calgate.Delivery, len(list))
	args := make([]any, 0, len(list))
	for _, d := range list {
		byID[d.ID] = d
		d.Log = []calgate.DeliveryAttempt{}
		args = append(args, d.ID)
	}
	rows, err := db.r.QueryContext(ctx, db.d.rebind(`SELECT delivery_id, attempted_at, status_code, latency_us, error, response, retry_in_ms
		FROM webhook_attempts WHERE delivery_id IN (`+placeholders(len(args))+`) ORDER BY id`), args...)
	if err != nil {
		return fmt.Errorf("store: delivery attempts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var a calgate.DeliveryAttempt
		var latency, retry int64
		if err := rows.Scan(&id, &a.At, &a.StatusCode, &latency, &a.Error, &a.Response, &retry); err != nil {
			return fmt.Errorf("store: delivery attempts: %w", err)
		}
		a.At = a.At.UTC()
		a.Latency = time.Duration(latency) * time.Microsecond
		a.RetryIn = time.Duration(retry) * time.Millisecond
		if d := byID[id]; d != nil {
			d.Log = append(d.Log, a)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: delivery attempts: %w", err)
	}
	return nil
}

// RetryDelivery makes a delivery pending again, due now, in a new round.
func (db *DB) RetryDelivery(ctx context.Context, workspaceID, webhookID, id string, now time.Time) (*calgate.Delivery, error) {
	now = dbTime(now)
	d, err := scanDelivery(db.w.QueryRowContext(ctx, db.d.rebind(`UPDATE webhook_deliveries
		SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_until = NULL, updated_at = ?
		WHERE id = ? AND webhook_id = ? AND workspace_id = ? RETURNING `+deliveryColumns), now, now, id, webhookID, workspaceID))
	if err != nil {
		return nil, fmt.Errorf("store: retry delivery %s: %w", id, notFound(err))
	}
	return d, nil
}

// ReplayDeliveries makes the failed deliveries created since a time
// pending again.
func (db *DB) ReplayDeliveries(ctx context.Context, workspaceID, webhookID string, since, now time.Time) ([]*calgate.Delivery, error) {
	now = dbTime(now)
	rows, err := db.w.QueryContext(ctx, db.d.rebind(`UPDATE webhook_deliveries
		SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_until = NULL, updated_at = ?
		WHERE webhook_id = ? AND workspace_id = ? AND status = 'failed' AND created_at >= ? RETURNING `+deliveryColumns),
		now, now, webhookID, workspaceID, dbTime(since))
	if err != nil {
		return nil, fmt.Errorf("store: replay deliveries of %s: %w", webhookID, err)
	}
	list, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("store: replay deliveries of %s: %w", webhookID, err)
	}
	return list, nil
}

// DueDeliveries lists unclaimed pending deliveries of enabled endpoints due
// before a time; those of a disabled endpoint wait until it is enabled.
func (db *DB) DueDeliveries(ctx context.Context, before time.Time, limit int) ([]*calgate.Delivery, error) {
	before = dbTime(before)
	now := dbTime(time.Now())
	rows, err := db.r.QueryContext(ctx, db.d.rebind(`SELECT `+prefixed("d.", deliveryColumns)+` FROM webhook_deliveries d
		JOIN webhooks w ON w.id = d.webhook_id AND w.disabled = ?
		WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?)
		ORDER BY d.next_attempt_at LIMIT ?`), false, before, now, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: due deliveries: %w", err)
	}
	list, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("store: due deliveries: %w", err)
	}
	return list, nil
}

// prefixed qualifies every column of a column list with a table alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
