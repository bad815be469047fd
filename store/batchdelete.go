package store

import (
	"context"
	"fmt"
	"sync"
)

// batchDeletes groups the deletions of handled batches. Every destination
// deletes its batch of every range when it is done with it, four
// statements per range at a steady rate; the first deletion to arrive
// deletes whatever is queued, the others wait for its statement. Alone, a
// deletion is made at once. The zero value is ready.
type batchDeletes struct {
	mu      sync.Mutex
	queue   []pendingDelete
	writing bool
}

type pendingDelete struct {
	id   int64
	done chan error
}

// maxBatchDeletes bounds one statement.
const maxBatchDeletes = 500

// deleteBatch deletes a batch row and returns when the deletion is in the
// database.
func (db *DB) deleteBatch(ctx context.Context, id int64) error {
	g := &db.deletes
	done := make(chan error, 1)
	g.mu.Lock()
	g.queue = append(g.queue, pendingDelete{id: id, done: done})
	if g.writing {
		g.mu.Unlock()
		return <-done
	}
	g.writing = true
	for {
		batch := g.queue[:min(len(g.queue), maxBatchDeletes)]
		g.queue = append([]pendingDelete(nil), g.queue[len(batch):]...)
		g.mu.Unlock()
		ids := make([]int64, len(batch))
		for i, p := range batch {
			ids[i] = p.id
		}
		err := db.deleteBatches(ctx, ids)
		for _, p := range batch {
			p.done <- err
		}
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.writing = false
			g.mu.Unlock()
			return <-done
		}
	}
}

// deleteBatches deletes batch rows in one statement: on PostgreSQL with
// the ids as an array, so that the statement's text does not change with
// their number.
func (db *DB) deleteBatches(ctx context.Context, ids []int64) error {
	var err error
	if db.d.postgres {
		_, err = db.w.ExecContext(ctx, `DELETE FROM destination_batches WHERE id = ANY($1::bigint[])`, ids)
	} else {
		_, err = db.w.ExecContext(ctx, `DELETE FROM destination_batches WHERE id IN (`+placeholders(len(ids))+`)`, inArgs(ids)...)
	}
	if err != nil {
		return fmt.Errorf("store: complete %d batches: %w", len(ids), err)
	}
	return nil
}
