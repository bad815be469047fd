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

// StoreDeliveries writes New deliveries as pending and unclaimed; those
// written meanwhile are kept as they are.
func (db *DB) StoreDeliveries(ctx context.Context, list []*calgate.Delivery) error {
	_, err := db.writeDeliveries(ctx, list, nil)
	return err
}

// writeDeliveries writes pending deliveries, claimed until leaseUntil when
// it is not nil, skipping those that exist, and returns the new ones.
func (db *DB) writeDeliveries(ctx context.Context, list []*calgate.Delivery, leaseUntil *time.Time) ([]*calgate.Delivery, error) {
	created := make(map[string]bool, len(list))
	const chunk = 500 // 10 values a row: within both engines' limits
	for start := 0; start < len(list); start += chunk {
		if err := db.insertDeliveries(ctx, list[start:min(start+chunk, len(list))], leaseUntil, created); err != nil {
			return nil, err
		}
	}
	out := list[:0:0]
	for _, d := range list {
		if created[d.ID] {
			d.New = false
			out = append(out, d)
		}
	}
	return out, nil
}

// PlanDeliveries works out a delivery of each event for every enabled
// endpoint of its workspace that match accepts (each workspace's endpoints
// are read once), skipping an endpoint that already has a delivery of the
// event, and returns them in the order of the events, New, with the ids
// calgate.DeliveryID gives. An event's body is built once and stored
// once, in webhook_payloads, whatever the number of its deliveries; when an
// earlier run stored it already, the stored body is kept and the
// deliveries carry it. Nothing else is written: a delivery's row is
// written with the outcome of its first attempt.
func (db *DB) PlanDeliveries(ctx context.Context, evs []*calgate.Event, match func(*calgate.Webhook, *calgate.Event) bool,
	payload func(*calgate.Event) (json.RawMessage, error)) ([]*calgate.Delivery, error) {
	hooks := map[string][]*calgate.Webhook{}
	now := dbTime(time.Now())
	var list []*calgate.Delivery
	bodies := map[int64]json.RawMessage{}
	var bodyEvents []int64
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
		for _, w := range ws {
			if !match(w, ev) {
				continue
			}
			if _, ok := bodies[ev.ID]; !ok {
				body, err := payload(ev)
				if err != nil {
					return nil, fmt.Errorf("store: deliveries of event %d: %w", ev.ID, err)
				}
				bodies[ev.ID] = body
				bodyEvents = append(bodyEvents, ev.ID)
			}
			list = append(list, &calgate.Delivery{
				ID: calgate.DeliveryID(w.ID, ev.ID, ev.CreatedAt), WebhookID: w.ID, WorkspaceID: ev.WorkspaceID, EventID: ev.ID, Type: ev.Type,
				Status: calgate.DeliveryPending, NextAttemptAt: &now, CreatedAt: now, UpdatedAt: now, New: true,
			})
		}
	}
	if len(list) == 0 {
		return nil, nil
	}
	// The bodies go first: a delivery is never without its body.
	const payloadChunk = 500
	for start := 0; start < len(bodyEvents); start += payloadChunk {
		if err := db.insertPayloads(ctx, bodyEvents[start:min(start+payloadChunk, len(bodyEvents))], bodies); err != nil {
			return nil, err
		}
	}
	for _, d := range list {
		d.Payload = bodies[d.EventID]
	}
	var endpoints []string
	for _, ws := range hooks {
		for _, w := range ws {
			endpoints = append(endpoints, w.ID)
		}
	}
	written, err := db.writtenDeliveries(ctx, endpoints, bodyEvents)
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, d := range list {
		if !written[deliveryKey{d.WebhookID, d.EventID}] {
			out = append(out, d)
		}
	}
	return out, nil
}

type deliveryKey struct {
	webhookID string
	eventID   int64
}

// writtenDeliveries returns the endpoints and events of the deliveries
// written for some endpoints and events (through their unique index).
func (db *DB) writtenDeliveries(ctx context.Context, endpoints []string, events []int64) (map[deliveryKey]bool, error) {
	out := map[deliveryKey]bool{}
	const chunk = 400
	for start := 0; start < len(events); start += chunk {
		part := events[start:min(start+chunk, len(events))]
		var rows *sql.Rows
		var err error
		if db.d.postgres {
			rows, err = db.r.QueryContext(ctx, `SELECT webhook_id, event_id FROM webhook_deliveries
				WHERE webhook_id = ANY($1::text[]) AND event_id = ANY($2::bigint[])`, endpoints, part)
		} else {
			rows, err = db.r.QueryContext(ctx, `SELECT webhook_id, event_id FROM webhook_deliveries WHERE webhook_id IN (`+
				placeholders(len(endpoints))+`) AND event_id IN (`+placeholders(len(part))+`)`, append(inArgs(endpoints), inArgs(part)...)...)
		}
		if err != nil {
			return nil, fmt.Errorf("store: deliveries written: %w", err)
		}
		list, err := scanAll(rows, func(r scanner) (deliveryKey, error) {
			var k deliveryKey
			err := r.Scan(&k.webhookID, &k.eventID)
			return k, err
		})
		if err != nil {
			return nil, fmt.Errorf("store: deliveries written: %w", err)
		}
		for _, k := range list {
			out[k] = true
		}
	}
	return out, nil
}

// insertPayloads stores the bodies of some events, keeping those stored
// before: their stored bodies replace the new ones in bodies, so that every
// delivery of an event sends the same bytes.
func (db *DB) insertPayloads(ctx context.Context, ids []int64, bodies map[int64]json.RawMessage) error {
	var query string
	var args []any
	if db.d.postgres {
		// Arrays, as insertDeliveriesPG does and for the same reason.
		texts := make([]string, len(ids))
		for i, id := range ids {
			texts[i] = string(bodies[id])
		}
		query = `INSERT INTO webhook_payloads (event_id, payload) SELECT event_id, payload::json
			FROM unnest($1::bigint[], $2::text[]) AS v(event_id, payload) ON CONFLICT (event_id) DO NOTHING RETURNING event_id`
		args = []any{ids, texts}
	} else {
		var q strings.Builder
		q.WriteString(`INSERT INTO webhook_payloads (event_id, payload) VALUES `)
		args = make([]any, 0, len(ids)*2)
		for i, id := range ids {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(`(?,?)`)
			args = append(args, id, string(bodies[id]))
		}
		q.WriteString(` ON CONFLICT (event_id) DO NOTHING RETURNING event_id`)
		query = q.String()
	}
	inserted, err := db.queryInt64s(ctx, db.w, query, args...)
	if err != nil {
		return fmt.Errorf("store: store the bodies of %d events: %w", len(ids), err)
	}
	if len(inserted) == len(ids) {
		return nil
	}
	stored, err := db.payloads(ctx, db.w, without(ids, inserted))
	if err != nil {
		return err
	}
	for id, body := range stored {
		bodies[id] = body
	}
	return nil
}

// queryInt64s runs a query whose rows are one integer each.
func (db *DB) queryInt64s(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// payloads reads the stored bodies of some events.
func (db *DB) payloads(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, ids []int64) (map[int64]json.RawMessage, error) {
	out := make(map[int64]json.RawMessage, len(ids))
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		rows, err := q.QueryContext(ctx, db.d.rebind(`SELECT event_id, payload FROM webhook_payloads WHERE event_id IN (`+placeholders(len(part))+`)`), inArgs(part)...)
		if err != nil {
			return nil, fmt.Errorf("store: bodies of %d events: %w", len(part), err)
		}
		for rows.Next() {
			var id int64
			var body []byte
			if err := rows.Scan(&id, &body); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: bodies of %d events: %w", len(part), err)
			}
			out[id] = json.RawMessage(body)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: bodies of %d events: %w", len(part), err)
		}
	}
	return out, nil
}

// storedElsewhere is the payload of a delivery row whose body is its
// event's, in webhook_payloads.
const storedElsewhere = "null"

// attachPayloads gives deliveries read from their rows the bodies stored
// with their events; deliveries written before bodies were stored per event
// carry their own and are left as they are.
func (db *DB) attachPayloads(ctx context.Context, list []*calgate.Delivery) error {
	var ids []int64
	seen := map[int64]bool{}
	for _, d := range list {
		if string(d.Payload) == storedElsewhere && !seen[d.EventID] {
			seen[d.EventID] = true
			ids = append(ids, d.EventID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	bodies, err := db.payloads(ctx, db.r, ids)
	if err != nil {
		return err
	}
	for _, d := range list {
		if string(d.Payload) != storedElsewhere {
			continue
		}
		body, ok := bodies[d.EventID]
		if !ok {
			return fmt.Errorf("store: delivery %s: no body stored for event %d", d.ID, d.EventID)
		}
		d.Payload = body
	}
	return nil
}

// insertDeliveries writes one chunk and notes which rows were new.
func (db *DB) insertDeliveries(ctx context.Context, list []*calgate.Delivery, lease *time.Time, created map[string]bool) error {
	if db.d.postgres {
		return db.insertDeliveriesPG(ctx, list, lease, created)
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, type, payload, status, attempts, next_attempt_at, lease_until, created_at, updated_at) VALUES `)
	args := make([]any, 0, len(list)*10)
	for i, d := range list {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(`(?,?,?,?,?,'` + storedElsewhere + `',?,0,?,?,?,?)`)
		args = append(args, d.ID, d.WebhookID, d.WorkspaceID, d.EventID, string(d.Type), d.Status,
			db.d.timeArg(d.CreatedAt), db.d.nullTimeArg(lease), db.d.timeArg(d.CreatedAt), db.d.timeArg(d.CreatedAt))
	}
	q.WriteString(` ON CONFLICT (webhook_id, event_id) DO NOTHING RETURNING id`)
	return db.noteCreated(ctx, len(list), created, db.d.rebind(q.String()), args...)
}

// insertDeliveriesPG is insertDeliveries on PostgreSQL: the rows travel
// as arrays, so that one statement of fixed text, prepared once per
// connection and planned once, serves every batch; a multi-row VALUES of
// thousands of parameters was parsed and planned again for every batch.
// Every delivery of a batch is created at the same time.
func (db *DB) insertDeliveriesPG(ctx context.Context, list []*calgate.Delivery, lease *time.Time, created map[string]bool) error {
	ids, hooks, workspaces, types := make([]string, len(list)), make([]string, len(list)), make([]string, len(list)), make([]string, len(list))
	events := make([]int64, len(list))
	for i, d := range list {
		ids[i], hooks[i], workspaces[i], events[i], types[i] = d.ID, d.WebhookID, d.WorkspaceID, d.EventID, string(d.Type)
	}
	return db.noteCreated(ctx, len(list), created, `INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, type, payload,
			status, attempts, next_attempt_at, lease_until, created_at, updated_at)
		SELECT id, webhook_id, workspace_id, event_id, type, '`+storedElsewhere+`', 'pending', 0, $6, $7, $6, $6
		FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[]) AS v(id, webhook_id, workspace_id, event_id, type)
		ON CONFLICT (webhook_id, event_id) DO NOTHING RETURNING id`,
		ids, hooks, workspaces, events, types, dbTime(list[0].CreatedAt), nullTime(lease))
}

// noteCreated runs an insert of n deliveries that returns the ids of the
// new rows, and notes them.
func (db *DB) noteCreated(ctx context.Context, n int, created map[string]bool, query string, args ...any) error {
	rows, err := db.w.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: create %d deliveries: %w", n, err)
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
	if err := db.attachPayloads(ctx, list); err != nil {
		return nil, err
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
		if _, err := db.w.ExecContext(ctx, db.d.rebind(`UPDATE webhook_deliveries SET lease_until = NULL WHERE id IN (`+placeholders(len(part))+`)`), inArgs(part)...); err != nil {
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
	if err := db.attachPayloads(ctx, []*calgate.Delivery{d}); err != nil {
		return nil, err
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
	if db.d.postgres && !d.New && change.Disable == "" && change.Succeeded && !change.ResetStreak {
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
		written := false
		if d.New {
			// Its first attempt: the delivery is written in the state
			// the attempt left it in (unless another run wrote it).
			res, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, type, payload,
				status, attempts, next_attempt_at, lease_until, created_at, updated_at) VALUES (?,?,?,?,?,'`+storedElsewhere+`',?,?,?,NULL,?,?)
				ON CONFLICT (webhook_id, event_id) DO NOTHING`),
				d.ID, d.WebhookID, d.WorkspaceID, d.EventID, string(d.Type), d.Status, d.Attempts, db.d.nullTimeArg(d.NextAttemptAt),
				db.d.timeArg(d.CreatedAt), db.d.timeArg(now))
			if err != nil {
				return fmt.Errorf("insert delivery: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("insert delivery: %w", err)
			}
			written = n == 1
		}
		if !written {
			if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE webhook_deliveries SET status = ?, attempts = ?,
				next_attempt_at = ?, lease_until = NULL, updated_at = ? WHERE id = ?`),
				d.Status, d.Attempts, nullTime(d.NextAttemptAt), now, d.ID); err != nil {
				return fmt.Errorf("update delivery: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO webhook_attempts
			(delivery_id, attempted_at, status_code, latency_us, error, response, retry_in_ms) VALUES (?,?,?,?,?,?,?)`),
			d.ID, dbTime(a.At), a.StatusCode, a.Latency.Microseconds(), a.Error, a.Response, a.RetryIn.Milliseconds()); err != nil {
			return fmt.Errorf("insert attempt: %w", err)
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
	d.New = false
	return failing, nil
}

// RecordSuccesses writes successful attempts and their deliveries' state
// in bulk: one statement on PostgreSQL, one transaction on SQLite.
func (db *DB) RecordSuccesses(ctx context.Context, list []*calgate.Delivery, attempts []*calgate.DeliveryAttempt) error {
	var fresh, stored []*calgate.Delivery
	var freshAttempts, storedAttempts []*calgate.DeliveryAttempt
	for i, d := range list {
		if d.New {
			fresh, freshAttempts = append(fresh, d), append(freshAttempts, attempts[i])
		} else {
			stored, storedAttempts = append(stored, d), append(storedAttempts, attempts[i])
		}
	}
	if err := db.recordNewSuccesses(ctx, fresh, freshAttempts); err != nil {
		return err
	}
	return db.recordStoredSuccesses(ctx, stored, storedAttempts)
}

// recordNewSuccesses writes New deliveries that succeeded at their first
// attempt, in their final state, with their attempts: one row written per
// delivery, not a row written and then rewritten. A delivery another run
// wrote meanwhile is kept, without this attempt.
func (db *DB) recordNewSuccesses(ctx context.Context, list []*calgate.Delivery, attempts []*calgate.DeliveryAttempt) error {
	if len(list) == 0 {
		return nil
	}
	now := dbTime(time.Now())
	if !db.d.postgres {
		return db.eachSuccess(ctx, list, attempts, func(tx *sql.Tx, d *calgate.Delivery, a *calgate.DeliveryAttempt) error {
			res, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, type, payload,
				status, attempts, next_attempt_at, lease_until, created_at, updated_at) VALUES (?,?,?,?,?,'`+storedElsewhere+`','succeeded',?,NULL,NULL,?,?)
				ON CONFLICT (webhook_id, event_id) DO NOTHING`,
				d.ID, d.WebhookID, d.WorkspaceID, d.EventID, string(d.Type), d.Attempts, db.d.timeArg(d.CreatedAt), db.d.timeArg(now))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return nil
			}
			if err := db.insertSuccessAttempt(ctx, tx, d, a); err != nil {
				return err
			}
			d.New = false
			return nil
		})
	}
	n := len(list)
	ids, hooks, workspaces, types, errs, responses := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	events, latencies := make([]int64, n), make([]int64, n)
	created, ats := make([]time.Time, n), make([]time.Time, n)
	codes, counts := make([]int32, n), make([]int32, n)
	for i, d := range list {
		a := attempts[i]
		ids[i], hooks[i], workspaces[i], events[i], types[i], created[i] = d.ID, d.WebhookID, d.WorkspaceID, d.EventID, string(d.Type), dbTime(d.CreatedAt)
		ats[i], codes[i], latencies[i], errs[i], responses[i], counts[i] = dbTime(a.At), int32(a.StatusCode), a.Latency.Microseconds(), a.Error, a.Response, int32(d.Attempts)
	}
	if _, err := db.w.ExecContext(ctx, `WITH v AS MATERIALIZED (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::timestamptz[],
			$8::timestamptz[], $9::int[], $10::bigint[], $11::text[], $12::text[], $13::int[])
			AS v(id, webhook_id, workspace_id, event_id, type, created_at, attempted_at, status_code, latency_us, error, response, attempts)),
		d AS (INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, type, payload, status, attempts, next_attempt_at, lease_until, created_at, updated_at)
			SELECT id, webhook_id, workspace_id, event_id, type, '`+storedElsewhere+`', 'succeeded', attempts, NULL, NULL, created_at, $1 FROM v
			ON CONFLICT (webhook_id, event_id) DO NOTHING RETURNING id)
		INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, latency_us, error, response, retry_in_ms)
		SELECT v.id, v.attempted_at, v.status_code, v.latency_us, v.error, v.response, 0 FROM v JOIN d ON d.id = v.id`,
		now, ids, hooks, workspaces, events, types, created, ats, codes, latencies, errs, responses, counts); err != nil {
		return fmt.Errorf("store: record %d successes: %w", len(list), err)
	}
	for _, d := range list {
		d.New = false
	}
	return nil
}

// recordStoredSuccesses is RecordSuccesses for deliveries written before.
func (db *DB) recordStoredSuccesses(ctx context.Context, list []*calgate.Delivery, attempts []*calgate.DeliveryAttempt) error {
	if len(list) == 0 {
		return nil
	}
	now := dbTime(time.Now())
	if !db.d.postgres {
		return db.eachSuccess(ctx, list, attempts, func(tx *sql.Tx, d *calgate.Delivery, a *calgate.DeliveryAttempt) error {
			if err := db.insertSuccessAttempt(ctx, tx, d, a); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'succeeded', attempts = ?,
				next_attempt_at = NULL, lease_until = NULL, updated_at = ? WHERE id = ?`, d.Attempts, now, d.ID)
			return err
		})
	}
	// The rows travel as arrays: one statement text, planned once per
	// connection, whatever the number of successes (see insertDeliveriesPG).
	n := len(list)
	ids, errs, responses := make([]string, n), make([]string, n), make([]string, n)
	ats := make([]time.Time, n)
	codes, counts := make([]int32, n), make([]int32, n)
	latencies := make([]int64, n)
	for i, d := range list {
		a := attempts[i]
		ids[i], ats[i], codes[i], latencies[i], errs[i], responses[i], counts[i] = d.ID, dbTime(a.At), int32(a.StatusCode),
			a.Latency.Microseconds(), a.Error, a.Response, int32(d.Attempts)
	}
	if _, err := db.w.ExecContext(ctx, `WITH v AS MATERIALIZED (SELECT * FROM unnest($2::text[], $3::timestamptz[], $4::int[], $5::bigint[], $6::text[], $7::text[], $8::int[])
			AS v(id, attempted_at, status_code, latency_us, error, response, attempts)),
		a AS (INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, latency_us, error, response, retry_in_ms)
			SELECT id, attempted_at, status_code, latency_us, error, response, 0 FROM v)
		UPDATE webhook_deliveries d SET status = 'succeeded', attempts = v.attempts, next_attempt_at = NULL, lease_until = NULL, updated_at = $1
		FROM v WHERE d.id = v.id`, now, ids, ats, codes, latencies, errs, responses, counts); err != nil {
		return fmt.Errorf("store: record %d successes: %w", len(list), err)
	}
	return nil
}

// eachSuccess runs write for every succeeded delivery with its attempt, in
// one SQLite transaction.
func (db *DB) eachSuccess(ctx context.Context, list []*calgate.Delivery, attempts []*calgate.DeliveryAttempt,
	write func(tx *sql.Tx, d *calgate.Delivery, a *calgate.DeliveryAttempt) error) error {
	return db.Tx(ctx, func(tx *sql.Tx) error {
		for i, d := range list {
			if err := write(tx, d, attempts[i]); err != nil {
				return fmt.Errorf("store: record success of %s: %w", d.ID, err)
			}
		}
		return nil
	})
}

// insertSuccessAttempt writes the attempt row of a succeeded delivery.
func (db *DB) insertSuccessAttempt(ctx context.Context, tx *sql.Tx, d *calgate.Delivery, a *calgate.DeliveryAttempt) error {
	_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO webhook_attempts
		(delivery_id, attempted_at, status_code, latency_us, error, response, retry_in_ms) VALUES (?,?,?,?,?,?,0)`),
		d.ID, db.d.timeArg(a.At), a.StatusCode, a.Latency.Microseconds(), a.Error, a.Response)
	return err
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
	if err := db.attachPayloads(ctx, list); err != nil {
		return nil, "", err
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
	if err := db.attachPayloads(ctx, []*calgate.Delivery{d}); err != nil {
		return nil, err
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
	if err := db.attachPayloads(ctx, list); err != nil {
		return nil, err
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
	if err := db.attachPayloads(ctx, list); err != nil {
		return nil, err
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
