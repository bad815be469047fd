package queue

import (
	"context"
	"log/slog"
	"time"

	calgate "github.com/calgate/calgate"
)

// Dispatcher hands committed events to the destinations: it sequences them
// (gives the change feed its order), records for every destination the new
// events as owed batches, and enqueues one task per batch. It runs when
// notified after a commit and on a timer. A batch stays owed in the
// database until its destination has handled it; the sweep hands batches
// lost from the queue to it again.
type Dispatcher struct {
	store    calgate.OutboxStore
	queue    *Queue
	logger   *slog.Logger
	interval time.Duration
	wake     chan struct{}
	// OnDispatched, when set, is called with the number of events handed
	// to the queue, counted once per destination (metrics).
	OnDispatched func(n int)
}

// NewDispatcher returns a dispatcher that looks for new events every
// interval (default 1 s) and whenever Notify is called.
func NewDispatcher(store calgate.OutboxStore, q *Queue, logger *slog.Logger, interval time.Duration) *Dispatcher {
	if interval <= 0 {
		interval = time.Second
	}
	return &Dispatcher{store: store, queue: q, logger: logger, interval: interval, wake: make(chan struct{}, 1)}
}

// Notify asks for a dispatch run now; it never blocks.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Init records every registered destination that the database has not
// seen before, so that it owes every event written from now on. Call it
// before serving requests.
func (d *Dispatcher) Init(ctx context.Context) error {
	return d.store.InitCursors(ctx, d.names())
}

func (d *Dispatcher) names() []string {
	dests := d.queue.Destinations()
	names := make([]string, len(dests))
	for i, dest := range dests {
		names[i] = dest.Name()
	}
	return names
}

// Run dispatches until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.interval)
	defer t.Stop()
	for {
		if _, err := d.Drain(ctx); err != nil && ctx.Err() == nil {
			d.logger.Warn("dispatch failed; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-t.C:
		}
	}
}

// Drain records every event not yet handed to a destination as owed
// batches and enqueues them; it reports how many events it handed over
// (counted once per destination). A batch that cannot be enqueued now
// stays owed and goes out with the sweep.
func (d *Dispatcher) Drain(ctx context.Context) (int, error) {
	batches, err := d.store.OpenBatches(ctx, d.names(), d.queue.opts.BatchSize, time.Now().Add(d.queue.opts.Lease))
	if err != nil {
		return 0, err
	}
	total := 0
	var firstErr error
	for _, b := range batches {
		total += b.Len()
		if d.queue.handLocal(b) {
			continue
		}
		if err := d.queue.enqueueBatch(ctx, b, time.Time{}); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if total > 0 && d.OnDispatched != nil {
		d.OnDispatched(total)
	}
	return total, firstErr
}
