package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/calgate/calgate"
)

// sequencerLockID is the transaction advisory lock that lets one sequencer
// run at a time on PostgreSQL.
const sequencerLockID = 0x63616c6761746502 // "calgate" 02

// sequenceBatch bounds how many events one sequencing statement places.
const sequenceBatch = 5000

// plainEntry is the snapshot form of an entry inside an event: every field,
// under its Go name, without the wire form's rules.
type plainEntry calgate.Entry

func encodeSnapshot(e *calgate.Entry) ([]byte, error) {
	if e == nil {
		return nil, nil
	}
	return json.Marshal((*plainEntry)(e))
}

func decodeSnapshot(raw []byte) (*calgate.Entry, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var p plainEntry
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	e := (*calgate.Entry)(&p)
	if string(e.Attributes) == "null" {
		e.Attributes = nil
	}
	return e, nil
}

// entryEvent builds the event of one entry change.
func entryEvent(t calgate.EventType, e *calgate.Entry, diff calgate.FieldDiff, actor string) *calgate.Event {
	return &calgate.Event{
		WorkspaceID: e.WorkspaceID,
		Type:        t,
		Kind:        e.Kind,
		EntryID:     e.ID,
		Entry:       e,
		Diff:        diff,
		Actor:       actor,
		CreatedAt:   e.UpdatedAt,
	}
}

const eventInsertColumns = `workspace_id, type, kind, entry_id, entry, diff, data, actor, created_at`

const eventInsertColumnCount = 9

func (d dialect) appendEventArgs(args []any, ev *calgate.Event) ([]any, error) {
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = time.Now()
	}
	ev.CreatedAt = dbTime(ev.CreatedAt)
	snap, err := encodeSnapshot(ev.Entry)
	if err != nil {
		return nil, fmt.Errorf("event %s of %s: encode entry: %w", ev.Type, ev.EntryID, err)
	}
	var diff []byte
	if len(ev.Diff) > 0 {
		if diff, err = json.Marshal(ev.Diff); err != nil {
			return nil, fmt.Errorf("encode diff: %w", err)
		}
	}
	return append(args, ev.WorkspaceID, string(ev.Type), string(ev.Kind), ev.EntryID, jsonArg(snap), jsonArg(diff),
		jsonArg(ev.Data), ev.Actor, d.timeArg(ev.CreatedAt)), nil
}

// insertEvents writes events with multi-row INSERTs (their ids are not read
// back).
func (db *DB) insertEvents(ctx context.Context, tx *sql.Tx, list []*calgate.Event) error {
	ins := db.batch(tx, eventInsertBatch)
	defer ins.close()
	if err := writeRows(ctx, ins, list, db.d.appendEventArgs); err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	return nil
}

const eventColumns = `id, position, workspace_id, type, kind, entry_id, entry, diff, data, actor, created_at`

func scanEvent(row scanner) (*calgate.Event, error) {
	var ev calgate.Event
	var pos sql.NullInt64
	var snap, diff, data []byte
	if err := row.Scan(&ev.ID, &pos, &ev.WorkspaceID, &ev.Type, &ev.Kind, &ev.EntryID, &snap, &diff, &data,
		&ev.Actor, &ev.CreatedAt); err != nil {
		return nil, err
	}
	ev.Position = pos.Int64
	ev.CreatedAt = ev.CreatedAt.UTC()
	var err error
	if ev.Entry, err = decodeSnapshot(snap); err != nil {
		return nil, fmt.Errorf("event %d: decode entry: %w", ev.ID, err)
	}
	if len(diff) > 0 {
		if err := json.Unmarshal(diff, &ev.Diff); err != nil {
			return nil, fmt.Errorf("event %d: decode diff: %w", ev.ID, err)
		}
	}
	if len(data) > 0 {
		ev.Data = json.RawMessage(data)
	}
	if ev.Type == calgate.EventEntryCreated && ev.Diff == nil && ev.Entry != nil {
		// A creation's diff is every set field; it is not stored.
		ev.Diff = calgate.Diff(nil, ev.Entry)
	}
	return &ev, nil
}

func scanEvents(rows *sql.Rows) ([]*calgate.Event, error) { return scanAll(rows, scanEvent) }

// Events lists the sequenced events of a workspace by position: after
// f.After ascending, or before it (when set) newest first with f.Desc.
func (db *DB) Events(ctx context.Context, workspaceID string, f calgate.EventFilter) ([]*calgate.Event, error) {
	q := `SELECT ` + eventColumns + ` FROM events WHERE workspace_id = ? AND position IS NOT NULL`
	args := []any{workspaceID}
	if f.After > 0 {
		if f.Desc {
			q += ` AND position < ?`
		} else {
			q += ` AND position > ?`
		}
		args = append(args, f.After)
	}
	if f.EntryID != "" {
		q += ` AND entry_id = ?`
		args = append(args, f.EntryID)
	}
	if len(f.Types) > 0 {
		q += ` AND type IN (` + placeholders(len(f.Types)) + `)`
		for _, t := range f.Types {
			args = append(args, string(t))
		}
	}
	if f.Desc {
		q += ` ORDER BY position DESC`
	} else {
		q += ` ORDER BY position`
	}
	q += ` LIMIT ?`
	args = append(args, clampLimit(f.Limit))
	rows, err := db.r.QueryContext(ctx, db.d.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: events of %s: %w", workspaceID, err)
	}
	list, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("store: events of %s: %w", workspaceID, err)
	}
	return list, nil
}

// Event returns one event by id, sequenced or not.
func (db *DB) Event(ctx context.Context, id int64) (*calgate.Event, error) {
	ev, err := scanEvent(db.r.QueryRowContext(ctx, db.d.rebind(`SELECT `+eventColumns+` FROM events WHERE id = ?`), id))
	if err != nil {
		return nil, fmt.Errorf("store: event %d: %w", id, notFound(err))
	}
	return ev, nil
}

// AppendEvent writes an event that is not an entry change and sets its ID
// (and CreatedAt when zero).
func (db *DB) AppendEvent(ctx context.Context, ev *calgate.Event) error {
	return db.Tx(ctx, func(tx *sql.Tx) error {
		return db.AppendEventTx(ctx, tx, ev)
	})
}

// AppendEventTx writes an event inside the caller's transaction, so a
// capability can record its own change and the event atomically.
func (db *DB) AppendEventTx(ctx context.Context, tx *sql.Tx, ev *calgate.Event) error {
	if ev.WorkspaceID == "" || ev.Type == "" {
		return fmt.Errorf("store: append event: workspace and type are required")
	}
	args, err := db.d.appendEventArgs(nil, ev)
	if err != nil {
		return fmt.Errorf("store: append event %s: %w", ev.Type, err)
	}
	q := `INSERT INTO events (` + eventInsertColumns + `) VALUES (` + placeholders(eventInsertColumnCount) + `) RETURNING id`
	if err := tx.QueryRowContext(ctx, db.d.rebind(q), args...).Scan(&ev.ID); err != nil {
		return fmt.Errorf("store: append event %s: %w", ev.Type, err)
	}
	return nil
}

// Sequence gives positions, continuing from the highest, to the committed
// events that have none, in id order, and reports how many it placed. On
// PostgreSQL an advisory lock lets one sequencer run at a time, and events
// of transactions still open are invisible to it: they are placed by a
// later run, after every position given before, so a reader paging by
// position never skips one.
func (db *DB) Sequence(ctx context.Context) (int, error) {
	total := 0
	for {
		var placed int
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			placed, err = db.sequenceTx(ctx, tx, sequenceBatch)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("store: sequence: %w", err)
		}
		total += placed
		if placed < sequenceBatch {
			return total, nil
		}
	}
}

// sequenceTx places up to limit events inside tx, taking the sequencer's
// lock first on PostgreSQL.
func (db *DB) sequenceTx(ctx context.Context, tx *sql.Tx, limit int) (int, error) {
	if db.d.postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(sequencerLockID)); err != nil {
			return 0, err
		}
	}
	res, err := tx.ExecContext(ctx, db.d.rebind(`WITH
		top AS (SELECT COALESCE(MAX(position), 0) AS p FROM events WHERE position IS NOT NULL),
		locked AS (SELECT id FROM events WHERE position IS NULL ORDER BY id LIMIT ?`+db.d.forUpdate()+`),
		todo AS (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM locked)
		UPDATE events SET position = top.p + todo.n FROM top, todo WHERE events.id = todo.id`), limit)
	if err != nil {
		return 0, err
	}
	placed, err := res.RowsAffected()
	return int(placed), err
}
