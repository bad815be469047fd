package queue

import (
	"context"
	"log/slog"
	"sync"
	"time"

	calgate "github.com/calgate/calgate"
)

// Dispatcher moves committed events from the outbox into the queue: it
// sequences them (gives the change feed its order), enqueues one task per
// event and destination, and marks them dispatched. It runs when notified
// after a commit and on a timer, so events that could not be enqueued (Redis
// down, process killed) go out later.
type Dispatcher struct {
	store    calgate.EventStore
	queue    *Queue
	logger   *slog.Logger
	interval time.Duration
	batch    int
	wake     chan struct{}
	// OnDispatched, when set, is called with the number of events handed
	// to the queue (metrics).
	OnDispatched func(n int)
}

// NewDispatcher returns a dispatcher that sweeps the outbox every interval
// (default 1 s) and whenever Notify is called.
func NewDispatcher(store calgate.EventStore, q *Queue, logger *slog.Logger, interval time.Duration) *Dispatcher {
	if interval <= 0 {
		interval = time.Second
	}
	return &Dispatcher{store: store, queue: q, logger: logger, interval: interval, batch: 500, wake: make(chan struct{}, 1)}
}

// Notify asks for a dispatch run now; it never blocks.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run dispatches until ctx ends. It starts with a full sweep, which is how
// events left behind by a previous process go out.
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

// Drain sequences and dispatches everything pending and reports how many
// events it handed to the queue.
func (d *Dispatcher) Drain(ctx context.Context) (int, error) {
	if _, err := d.store.Sequence(ctx); err != nil {
		return 0, err
	}
	dests := d.queue.Destinations()
	total := 0
	for {
		events, err := d.store.Undispatched(ctx, d.batch)
		if err != nil {
			return total, err
		}
		if len(events) == 0 {
			return total, nil
		}
		d.queue.recent.add(events)
		ids, enqueueErr := d.enqueueAll(ctx, events, dests)
		if len(ids) > 0 {
			if err := d.store.MarkDispatched(ctx, ids); err != nil {
				return total, err
			}
			total += len(ids)
			if d.OnDispatched != nil {
				d.OnDispatched(len(ids))
			}
		}
		if enqueueErr != nil {
			return total, enqueueErr
		}
		if len(events) < d.batch {
			return total, nil
		}
	}
}

// enqueueWorkers bounds the enqueue calls in flight: one Redis round trip
// each, so a batch of events × destinations goes out in parallel.
const enqueueWorkers = 16

// enqueueAll hands every event to every destination and returns, in order,
// the ids of the events whose tasks are all queued, with the first error.
func (d *Dispatcher) enqueueAll(ctx context.Context, events []*calgate.Event, dests []calgate.Destination) ([]int64, error) {
	type job struct{ event, dest int }
	failed := make([]error, len(events))
	jobs := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := 0; w < enqueueWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := d.queue.enqueueEvent(ctx, dests[j.dest], events[j.event].ID); err != nil {
					mu.Lock()
					if failed[j.event] == nil {
						failed[j.event] = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range events {
		for k := range dests {
			jobs <- job{i, k}
		}
	}
	close(jobs)
	wg.Wait()
	ids := make([]int64, 0, len(events))
	var firstErr error
	for i, ev := range events {
		if failed[i] != nil {
			if firstErr == nil {
				firstErr = failed[i]
			}
			continue
		}
		ids = append(ids, ev.ID)
	}
	return ids, firstErr
}
