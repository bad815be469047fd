package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/calgate/calgate"
)

// purgeChunk is how many rows one purge transaction deletes at most, so
// that a purge never holds the writer long.
var purgeChunk = 1000

// purgeLockID is the transaction advisory lock that makes the purges of
// several workers take turns on PostgreSQL, a chunk each, instead of
// deleting the same rows in different orders.
const purgeLockID = 0x63616c6761746503 // "calgate" 03

// purgeTurn waits for the purge lock on PostgreSQL.
func (db *DB) purgeTurn(ctx context.Context, tx *sql.Tx) error {
	if !db.d.postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(purgeLockID))
	return err
}

// PurgeDeliveries deletes the succeeded and failed deliveries made before
// before (their ids sort by that time), with their attempts (ON DELETE
// CASCADE), a chunk per transaction, and returns how many went. Pending
// deliveries stay, whatever their age: they are still owed.
func (db *DB) PurgeDeliveries(ctx context.Context, before time.Time) (int, error) {
	limit := calgate.FirstIDAt("msg", before)
	after := ""
	total := 0
	for {
		var ids []string
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			if err := db.purgeTurn(ctx, tx); err != nil {
				return err
			}
			rows, err := tx.QueryContext(ctx, db.d.rebind(`DELETE FROM webhook_deliveries WHERE id IN (
				SELECT id FROM webhook_deliveries WHERE id > ? AND id < ? AND status <> ? ORDER BY id LIMIT ?)
				AND status <> ? RETURNING id`), after, limit, calgate.DeliveryPending, purgeChunk, calgate.DeliveryPending)
			if err != nil {
				return err
			}
			ids, err = scanAll(rows, scanValue[string])
			return err
		})
		if err != nil {
			return total, fmt.Errorf("store: purge deliveries: %w", err)
		}
		total += len(ids)
		if len(ids) < purgeChunk {
			return total, nil
		}
		after = slices.Max(ids)
	}
}

// PurgePayloads deletes the stored bodies (webhook_payloads) of events made
// before before that destination has settled (no batch of it still owes
// them) and that no delivery needs any more, a chunk per transaction, and
// returns how many went. A body of an event still owed, or of an event
// with a delivery left (pending, or younger), stays.
func (db *DB) PurgePayloads(ctx context.Context, destination string, before time.Time) (int, error) {
	total := 0
	var after int64
	hooks := map[string][]string{}
	for {
		n, last, done, err := db.purgePayloadChunk(ctx, destination, before, after, hooks)
		total += n
		if err != nil {
			return total, fmt.Errorf("store: purge webhook bodies: %w", err)
		}
		if done {
			return total, nil
		}
		after = last
	}
}

// purgePayloadChunk looks at the bodies of up to purgeChunk events after
// the event id after, in event order, and deletes those PurgePayloads may.
// It reports the last event looked at, and done once it met an event made
// at or after before (events are made in id order, give or take a moment)
// or the end of the table.
func (db *DB) purgePayloadChunk(ctx context.Context, destination string, before time.Time, after int64, hooks map[string][]string) (n int, last int64, done bool, err error) {
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		type candidate struct {
			event     int64
			workspace string
			position  sql.NullInt64
			created   time.Time
		}
		if err := db.purgeTurn(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT p.event_id, e.workspace_id, e.position, e.created_at
			FROM webhook_payloads p JOIN events e ON e.id = p.event_id WHERE p.event_id > ? ORDER BY p.event_id LIMIT ?`), after, purgeChunk)
		if err != nil {
			return err
		}
		list, err := scanAll(rows, func(r scanner) (candidate, error) {
			var c candidate
			return c, r.Scan(&c.event, &c.workspace, &c.position, &c.created)
		})
		if err != nil {
			return err
		}
		done = len(list) < purgeChunk
		_, cursors, err := db.outboxState(ctx, tx, nil)
		if err != nil {
			return err
		}
		cursor := cursors[destination]
		owed, err := openRanges(ctx, tx, db, destination)
		if err != nil {
			return err
		}
		old := map[string][]int64{}
		for _, c := range list {
			last = c.event
			if !c.created.Before(before) {
				done = true
				break
			}
			if c.position.Valid && c.position.Int64 <= cursor && !owed.covers(c.position.Int64) {
				old[c.workspace] = append(old[c.workspace], c.event)
			}
		}
		for ws, events := range old {
			unneeded, err := db.unneededPayloads(ctx, tx, ws, events, hooks)
			if err != nil {
				return err
			}
			if len(unneeded) == 0 {
				continue
			}
			res, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM webhook_payloads WHERE event_id IN (`+placeholders(len(unneeded))+`)`), inArgs(unneeded)...)
			if err != nil {
				return err
			}
			gone, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(gone)
		}
		return nil
	})
	return n, last, done, err
}

// unneededPayloads returns those of a workspace's events that no delivery
// refers to, found through the workspace's endpoints on the (webhook_id,
// event_id) index. hooks keeps each workspace's endpoint ids.
func (db *DB) unneededPayloads(ctx context.Context, tx *sql.Tx, ws string, events []int64, hooks map[string][]string) ([]int64, error) {
	ids, ok := hooks[ws]
	if !ok {
		rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT id FROM webhooks WHERE workspace_id = ?`), ws)
		if err != nil {
			return nil, err
		}
		if ids, err = scanAll(rows, scanValue[string]); err != nil {
			return nil, err
		}
		hooks[ws] = ids
	}
	if len(ids) == 0 {
		return events, nil
	}
	needed, err := db.queryInt64s(ctx, tx, db.d.rebind(`SELECT DISTINCT event_id FROM webhook_deliveries
		WHERE webhook_id IN (`+placeholders(len(ids))+`) AND event_id IN (`+placeholders(len(events))+`)`), append(inArgs(ids), inArgs(events)...)...)
	if err != nil {
		return nil, err
	}
	return without(events, needed), nil
}

// without returns the ids of list that are not in drop, in list's order.
func without(list, drop []int64) []int64 {
	skip := make(map[int64]bool, len(drop))
	for _, id := range drop {
		skip[id] = true
	}
	var out []int64
	for _, id := range list {
		if !skip[id] {
			out = append(out, id)
		}
	}
	return out
}

// positionRanges are the open batches of a destination, as (after,
// through] ranges of positions.
type positionRanges [][2]int64

func (r positionRanges) covers(position int64) bool {
	for _, x := range r {
		if x[0] < position && position <= x[1] {
			return true
		}
	}
	return false
}

func openRanges(ctx context.Context, tx *sql.Tx, db *DB, destination string) (positionRanges, error) {
	rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT after_position, through_position FROM destination_batches WHERE destination = ?`), destination)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r scanner) ([2]int64, error) {
		var x [2]int64
		return x, r.Scan(&x[0], &x[1])
	})
}
