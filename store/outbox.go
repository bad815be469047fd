package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/calgate/calgate"
)

var _ calgate.OutboxStore = (*DB)(nil)

const batchColumns = `id, destination, after_position, through_position, attempts, claims, due_at, last_error, created_at`

func scanBatch(row scanner) (*calgate.Batch, error) {
	var b calgate.Batch
	if err := row.Scan(&b.ID, &b.Destination, &b.After, &b.Through, &b.Attempts, &b.Claims, &b.DueAt, &b.LastError, &b.CreatedAt); err != nil {
		return nil, err
	}
	b.DueAt, b.CreatedAt = b.DueAt.UTC(), b.CreatedAt.UTC()
	return &b, nil
}

// InitCursors starts the cursor of every destination not seen before at
// the newest sequenced event. A process calls it before it serves
// requests, so a destination owes every event written after its first
// start, even when no dispatcher ran before a crash.
func (db *DB) InitCursors(ctx context.Context, destinations []string) error {
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		for _, dest := range destinations {
			if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO destination_cursors (destination, position)
				SELECT ?, COALESCE(MAX(position), 0) FROM events WHERE position IS NOT NULL
				ON CONFLICT (destination) DO NOTHING`), dest); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: destination cursors: %w", err)
	}
	return nil
}

// OpenBatches sequences the committed events and cuts, for every
// destination, the positions after its cursor into batches of at most size
// events, in one transaction that holds the sequencer's lock: every
// position at or below the newest one is committed, so no batch ever skips
// an event that commits later.
func (db *DB) OpenBatches(ctx context.Context, destinations []string, size int, due time.Time) ([]*calgate.Batch, error) {
	if len(destinations) == 0 {
		return nil, nil
	}
	size = max(size, 1)
	if idle, err := db.outboxIdle(ctx, destinations); err != nil || idle {
		return nil, err
	}
	var out []*calgate.Batch
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		out = nil
		for {
			placed, err := db.sequenceTx(ctx, tx, sequenceBatch)
			if err != nil {
				return fmt.Errorf("sequence: %w", err)
			}
			if placed < sequenceBatch {
				break
			}
		}
		top, cursors, err := db.outboxState(ctx, tx, nil)
		if err != nil {
			return err
		}
		now := dbTime(time.Now())
		var moved []any
		for _, dest := range destinations {
			from, known := cursors[dest]
			if !known {
				// Not started by InitCursors: it owes what comes next.
				from = top
				if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO destination_cursors (destination, position) VALUES (?, ?)`), dest, top); err != nil {
					return fmt.Errorf("cursor of %s: %w", dest, err)
				}
			}
			if from >= top {
				continue
			}
			for after := from; after < top; after += int64(size) {
				out = append(out, &calgate.Batch{Destination: dest, After: after, Through: min(after+int64(size), top), DueAt: dbTime(due), CreatedAt: now})
			}
			moved = append(moved, dest)
		}
		if len(moved) > 0 {
			// Every cursor that moved moves to the same position: one
			// statement for all of them.
			if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE destination_cursors SET position = ? WHERE destination IN (`+placeholders(len(moved))+`)`),
				append([]any{top}, moved...)...); err != nil {
				return fmt.Errorf("cursors: %w", err)
			}
		}
		return db.insertBatches(ctx, tx, out)
	})
	if err != nil {
		return nil, fmt.Errorf("store: open batches: %w", err)
	}
	return out, nil
}

// outboxIdle reports, from a reader, whether there is nothing to cut: no
// event waits for a position and every destination's cursor is at the
// newest one. It spares the writer a transaction on every idle tick.
func (db *DB) outboxIdle(ctx context.Context, destinations []string) (bool, error) {
	var unsequenced bool
	top, cursors, err := db.outboxState(ctx, db.r, &unsequenced)
	if err != nil {
		return false, err
	}
	if unsequenced {
		return false, nil
	}
	for _, d := range destinations {
		if p, ok := cursors[d]; !ok || p < top {
			return false, nil
		}
	}
	return true, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// outboxState returns the newest sequenced position and every
// destination's cursor and, when unsequenced is not nil, whether some
// event waits for a position: what the dispatcher needs to know, in one
// round trip.
func (db *DB) outboxState(ctx context.Context, q querier, unsequenced *bool) (int64, map[string]int64, error) {
	waiting := `FALSE`
	if unsequenced != nil {
		waiting = `EXISTS (SELECT 1 FROM events WHERE position IS NULL)`
	}
	rows, err := q.QueryContext(ctx, `SELECT t.top, t.waiting, c.destination, c.position
		FROM (SELECT COALESCE((SELECT MAX(position) FROM events WHERE position IS NOT NULL), 0) AS top, `+waiting+` AS waiting) AS t
		LEFT JOIN destination_cursors c ON TRUE`)
	if err != nil {
		return 0, nil, fmt.Errorf("store: destination cursors: %w", err)
	}
	defer rows.Close()
	var top int64
	out := map[string]int64{}
	for rows.Next() {
		var d sql.NullString
		var p sql.NullInt64
		var w bool
		if err := rows.Scan(&top, &w, &d, &p); err != nil {
			return 0, nil, fmt.Errorf("store: destination cursors: %w", err)
		}
		if unsequenced != nil {
			*unsequenced = w
		}
		if d.Valid {
			out[d.String] = p.Int64
		}
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("store: destination cursors: %w", err)
	}
	return top, out, nil
}

// insertBatches writes new batches and sets their ids.
func (db *DB) insertBatches(ctx context.Context, tx *sql.Tx, list []*calgate.Batch) error {
	const chunk = 200
	for start := 0; start < len(list); start += chunk {
		part := list[start:min(start+chunk, len(list))]
		var q strings.Builder
		q.WriteString(`INSERT INTO destination_batches (destination, after_position, through_position, attempts, claims, due_at, last_error, created_at) VALUES `)
		args := make([]any, 0, len(part)*8)
		for i, b := range part {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(`(?,?,?,?,?,?,?,?)`)
			args = append(args, b.Destination, b.After, b.Through, b.Attempts, b.Claims, db.d.timeArg(b.DueAt), b.LastError, db.d.timeArg(b.CreatedAt))
		}
		q.WriteString(` RETURNING id, destination, after_position`)
		rows, err := tx.QueryContext(ctx, db.d.rebind(q.String()), args...)
		if err != nil {
			return fmt.Errorf("insert batches: %w", err)
		}
		type key struct {
			dest  string
			after int64
		}
		ids := make(map[key]int64, len(part))
		for rows.Next() {
			var k key
			var id int64
			if err := rows.Scan(&id, &k.dest, &k.after); err != nil {
				rows.Close()
				return fmt.Errorf("insert batches: %w", err)
			}
			ids[k] = id
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("insert batches: %w", err)
		}
		for _, b := range part {
			b.ID = ids[key{b.Destination, b.After}]
		}
	}
	return nil
}

// Batch returns an owed batch; calgate.ErrNotFound once it is done.
func (db *DB) Batch(ctx context.Context, id int64) (*calgate.Batch, error) {
	b, err := scanBatch(db.r.QueryRowContext(ctx, db.d.rebind(`SELECT `+batchColumns+` FROM destination_batches WHERE id = ?`), id))
	if err != nil {
		return nil, fmt.Errorf("store: batch %d: %w", id, notFound(err))
	}
	return b, nil
}

// BatchEvents returns the events of a batch in position order.
func (db *DB) BatchEvents(ctx context.Context, b *calgate.Batch) ([]*calgate.Event, error) {
	rows, err := db.r.QueryContext(ctx, db.d.rebind(`SELECT `+eventColumns+` FROM events
		WHERE position > ? AND position <= ? ORDER BY position`), b.After, b.Through)
	if err != nil {
		return nil, fmt.Errorf("store: events of batch %d: %w", b.ID, err)
	}
	list, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("store: events of batch %d: %w", b.ID, err)
	}
	return list, nil
}

// CompleteBatch deletes a handled batch and records the positions that
// failed as new batches (runs of neighbouring positions share one), due at
// retryAt with one more attempt counted. A batch already completed (its
// task ran twice) records nothing.
func (db *DB) CompleteBatch(ctx context.Context, b *calgate.Batch, failed map[int64]error, retryAt time.Time) ([]*calgate.Batch, error) {
	if len(failed) == 0 {
		// Nothing to record but the deletion: no transaction around it,
		// and one statement for the deletions that come at once.
		return nil, db.deleteBatch(ctx, b.ID)
	}
	var retries []*calgate.Batch
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		retries = nil
		res, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM destination_batches WHERE id = ?`), b.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 || len(failed) == 0 {
			return err
		}
		retries = failedRuns(b, failed, dbTime(retryAt))
		return db.insertBatches(ctx, tx, retries)
	})
	if err != nil {
		return nil, fmt.Errorf("store: complete batch %d: %w", b.ID, err)
	}
	return retries, nil
}

// maxErrorText bounds the error noted on a batch.
const maxErrorText = 1000

// failedRuns turns failed positions of b into batches of neighbouring
// positions, each noting the first error of its run.
func failedRuns(b *calgate.Batch, failed map[int64]error, due time.Time) []*calgate.Batch {
	positions := make([]int64, 0, len(failed))
	for p := range failed {
		if p > b.After && p <= b.Through {
			positions = append(positions, p)
		}
	}
	slices.Sort(positions)
	var out []*calgate.Batch
	now := dbTime(time.Now())
	for i := 0; i < len(positions); {
		j := i
		for j+1 < len(positions) && positions[j+1] == positions[j]+1 {
			j++
		}
		msg := ""
		if err := failed[positions[i]]; err != nil {
			// An error may quote what a receiver sent: made storable on
			// both engines and cut on a character boundary.
			msg = calgate.Truncate(calgate.StorableText(err.Error()), maxErrorText)
		}
		out = append(out, &calgate.Batch{Destination: b.Destination, After: positions[i] - 1, Through: positions[j],
			Attempts: b.Attempts + 1, DueAt: due, LastError: msg, CreatedAt: now})
		i = j + 1
	}
	return out
}

// ClaimOverdueBatches moves the due time of up to limit overdue batches to
// due and counts the claim. On PostgreSQL rows another sweeper holds are
// skipped; SQLite has one writer.
func (db *DB) ClaimOverdueBatches(ctx context.Context, now, due time.Time, limit int) ([]*calgate.Batch, error) {
	rows, err := db.w.QueryContext(ctx, db.d.rebind(`WITH c (claimed) AS MATERIALIZED (SELECT id FROM destination_batches
			WHERE due_at <= ? ORDER BY due_at LIMIT ?`+db.d.skipLocked()+`)
		UPDATE destination_batches SET due_at = ?, claims = claims + 1 FROM c WHERE id = c.claimed
		RETURNING `+batchColumns), db.d.timeArg(now), clampLimit(limit), db.d.timeArg(due))
	if err != nil {
		return nil, fmt.Errorf("store: claim overdue batches: %w", err)
	}
	list, err := scanAll(rows, scanBatch)
	if err != nil {
		return nil, fmt.Errorf("store: claim overdue batches: %w", err)
	}
	return list, nil
}

// OwedWork summarises the owed batches per destination. The oldest batch
// is the one with the lowest id: ids grow with creation.
func (db *DB) OwedWork(ctx context.Context) ([]calgate.Owed, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT destination, COUNT(*), COALESCE(SUM(through_position - after_position), 0), MIN(id)
		FROM destination_batches GROUP BY destination ORDER BY destination`)
	if err != nil {
		return nil, fmt.Errorf("store: owed work: %w", err)
	}
	var out []calgate.Owed
	var oldest []int64
	for rows.Next() {
		var o calgate.Owed
		var first int64
		if err := rows.Scan(&o.Destination, &o.Batches, &o.Events, &first); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: owed work: %w", err)
		}
		out = append(out, o)
		oldest = append(oldest, first)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("store: owed work: %w", err)
	}
	for i, id := range oldest {
		// The column itself, not MIN(): SQLite types only columns as times.
		err := db.r.QueryRowContext(ctx, db.d.rebind(`SELECT created_at FROM destination_batches WHERE id = ?`), id).Scan(&out[i].Oldest)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("store: owed work: %w", err)
		}
		out[i].Oldest = out[i].Oldest.UTC()
	}
	return out, nil
}
