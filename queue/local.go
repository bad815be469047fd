package queue

import (
	"context"
	"sync"

	calgate "github.com/calgate/calgate"
)

// A process that dispatches and also runs workers (calgate serve) hands
// its new batches to its own workers directly, without the round trip
// through Redis: the batch rows in the database are the record either way,
// so a batch lost with the process is handed over again by the sweep. When
// the local workers are busy, batches go through the queue as from any
// other process.

// localWorkers is how many batches a process runs at once from its own
// dispatcher; localBacklog how many may wait for them.
const (
	localWorkers = 8
	localBacklog = 64
)

type localBatches struct {
	mu     sync.RWMutex
	ch     chan *calgate.Batch
	closed bool
}

// startLocal starts the process's own batch workers. After stopLocal they
// finish what they hold; cancel cuts that short (the batches cut short
// stay owed).
func (q *Queue) startLocal(ctx context.Context, st calgate.EventStore, wg *sync.WaitGroup) (cancel func()) {
	ch := make(chan *calgate.Batch, localBacklog)
	q.local.mu.Lock()
	q.local.ch, q.local.closed = ch, false
	q.local.mu.Unlock()
	// The batches run to their end while the process stops, as asynq lets
	// a task in hand finish, until cancel.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	for range localWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range ch {
				q.runLocal(runCtx, st, b)
			}
		}()
	}
	return cancel
}

func (q *Queue) runLocal(ctx context.Context, st calgate.EventStore, b *calgate.Batch) {
	q.mu.Lock()
	d, ok := q.destination(b.Destination)
	q.mu.Unlock()
	if !ok {
		return
	}
	if timeout := d.Policy().Timeout; timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if err := q.runBatch(ctx, st, d, b); err != nil {
		// The batch stays owed; its lease runs out and the sweep hands it
		// to the queue.
		q.logger.Warn("queue: batch failed; the sweep will hand it over", "destination", b.Destination, "batch", b.ID, "err", err)
	}
}

// handLocal gives a batch to this process's workers; false when there are
// none or they are busy.
func (q *Queue) handLocal(b *calgate.Batch) bool {
	q.local.mu.RLock()
	defer q.local.mu.RUnlock()
	if q.local.ch == nil || q.local.closed {
		return false
	}
	select {
	case q.local.ch <- b:
		return true
	default:
		return false
	}
}

// stopLocal stops taking batches; those waiting are still run.
func (q *Queue) stopLocal() {
	q.local.mu.Lock()
	defer q.local.mu.Unlock()
	if q.local.ch != nil && !q.local.closed {
		q.local.closed = true
		close(q.local.ch)
	}
}
