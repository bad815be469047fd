package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	calgate "github.com/calgate/calgate"
)

// RunWorker processes tasks and periodic work until ctx ends, then shuts
// down gracefully: tasks in flight finish (up to shutdownTimeout), unfinished
// ones go back to the queue.
func (q *Queue) RunWorker(ctx context.Context, events calgate.EventStore, shutdownTimeout time.Duration) error {
	if shutdownTimeout <= 0 {
		shutdownTimeout = 10 * time.Second
	}
	srv := asynq.NewServer(q.redisOpt, asynq.Config{
		Concurrency:              q.opts.Concurrency,
		Queues:                   map[string]int{queueName: 1},
		TaskCheckInterval:        q.opts.PollInterval,
		DelayedTaskCheckInterval: 10 * q.opts.PollInterval,
		ShutdownTimeout:          shutdownTimeout,
		Logger:                   asynqLogger{q.logger},
		LogLevel:                 asynq.WarnLevel,
		RetryDelayFunc: func(n int, err error, t *asynq.Task) time.Duration {
			// 1 s, 2 s, 4 s … capped at 10 min: destinations keep their own
			// longer schedules in the database where it matters.
			d := time.Second << min(n, 10)
			return min(d, 10*time.Minute)
		},
	})
	mux := asynq.NewServeMux()
	for _, d := range q.Destinations() {
		mux.HandleFunc("dest:"+d.Name(), q.batchHandler(events, d))
	}
	var local sync.WaitGroup
	cancelLocal := func() {}
	if events != nil {
		cancelLocal = q.startLocal(ctx, events, &local)
	}
	q.mu.Lock()
	for typ, spec := range q.jobs {
		h := spec.handler
		mux.HandleFunc("job:"+typ, func(ctx context.Context, t *asynq.Task) error {
			return h(ctx, t.Payload())
		})
	}
	periodicWork := append([]periodic(nil), q.periodic...)
	q.mu.Unlock()
	if events != nil {
		periodicWork = append(periodicWork, periodic{name: "outbox-sweep", interval: q.opts.SweepInterval,
			fn: func(ctx context.Context) error { return q.Sweep(ctx, events) }})
	}

	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("queue: start worker: %w", err)
	}
	var wg sync.WaitGroup
	for _, p := range periodicWork {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.runPeriodic(ctx, p)
		}()
	}
	<-ctx.Done()
	q.stopLocal()
	cut := time.AfterFunc(shutdownTimeout, cancelLocal)
	srv.Shutdown()
	local.Wait()
	cut.Stop()
	cancelLocal()
	wg.Wait()
	return nil
}

// batchHandler runs one destination's batch task (see runBatch).
func (q *Queue) batchHandler(st calgate.EventStore, d calgate.Destination) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		b, err := decodeBatch(d.Name(), t.Payload())
		if err != nil {
			q.logger.Error("queue: dropping a malformed batch task", "destination", d.Name(), "err", err)
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		return q.runBatch(ctx, st, d, b)
	}
}

// runBatch reads a batch's events (once per process for all the
// destinations whose batches of one range run at the same time), hands
// them to the destination and records the outcome. The events that failed
// stay owed as batches of their own, retried with backoff; a worker
// stopping mid-batch leaves the whole batch owed.
func (q *Queue) runBatch(ctx context.Context, st calgate.EventStore, d calgate.Destination, b *calgate.Batch) error {
	evs, err := q.recent.load(b.After, b.Through, func() ([]*calgate.Event, error) { return st.BatchEvents(ctx, b) })
	if err != nil {
		return err
	}
	failed := runDestination(ctx, d, evs)
	if len(failed) > 0 && ctx.Err() != nil {
		// The worker is stopping: the batch stays owed as it was.
		return ctx.Err()
	}
	for pos, err := range failed {
		q.logger.Warn("destination failed", "destination", d.Name(), "position", pos, "batch", b.ID, "err", err)
	}
	retryAt := time.Now().Add(retryDelay(b.Attempts + 1))
	retries, err := st.CompleteBatch(context.WithoutCancel(ctx), b, failed, retryAt.Add(q.opts.Lease))
	if err != nil {
		return err
	}
	for _, r := range retries {
		if err := q.enqueueBatch(ctx, r, retryAt); err != nil {
			q.logger.Warn("queue: enqueue retry; the sweep will hand it over", "batch", r.ID, "err", err)
		}
	}
	return nil
}

// retryDelay is the wait before a failed event's next run: 1 s, 2 s, 4 s …
// capped at 10 minutes. Events are never dropped.
func retryDelay(attempt int) time.Duration {
	return min(time.Second<<min(attempt-1, 10), 10*time.Minute)
}

// perEventConcurrency bounds the events of one batch that a destination
// without batch support handles at once.
const perEventConcurrency = 16

// runDestination hands a batch's events to d and returns the positions of
// those it could not handle, with their errors.
func runDestination(ctx context.Context, d calgate.Destination, evs []*calgate.Event) map[int64]error {
	if bd, ok := d.(calgate.BatchDestination); ok {
		return failedPositions(evs, bd.HandleEvents(ctx, evs))
	}
	errs := make(calgate.EventErrors)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, perEventConcurrency)
	for _, ev := range evs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := d.HandleEvent(ctx, ev); err != nil {
				mu.Lock()
				errs[ev.ID] = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) == 0 {
		return nil
	}
	return failedPositions(evs, errs)
}

// failedPositions maps a destination's error to the positions it covers:
// the events EventErrors names, or every event for another error.
func failedPositions(evs []*calgate.Event, err error) map[int64]error {
	if err == nil {
		return nil
	}
	out := map[int64]error{}
	var ee calgate.EventErrors
	if errors.As(err, &ee) {
		for _, ev := range evs {
			if e, ok := ee[ev.ID]; ok {
				out[ev.Position] = e
			}
		}
		return out
	}
	for _, ev := range evs {
		out[ev.Position] = err
	}
	return out
}

func cloneEvents(evs []*calgate.Event) []*calgate.Event {
	out := make([]*calgate.Event, len(evs))
	for i, ev := range evs {
		cp := *ev
		out[i] = &cp
	}
	return out
}

// sweepPage bounds the batches one sweep claims at a time.
const sweepPage = 500

// Sweep hands the batches whose lease ran out back to the queue: those
// whose task was lost with Redis's data or with a killed worker, and
// retries whose task was. It is safe in every worker at once: each batch
// is claimed by one.
func (q *Queue) Sweep(ctx context.Context, st calgate.OutboxStore) error {
	for {
		now := time.Now()
		list, err := st.ClaimOverdueBatches(ctx, now, now.Add(q.opts.Lease), sweepPage)
		if err != nil {
			return err
		}
		for _, b := range list {
			if err := q.enqueueBatch(ctx, b, time.Time{}); err != nil {
				return err
			}
		}
		if len(list) > 0 {
			q.logger.Info("queue: handed lost batches to the queue again", "batches", len(list))
		}
		if len(list) < sweepPage {
			return nil
		}
	}
}

// runPeriodic runs periodic work once at start, which is how a new
// process takes over what a dead one left, and then every interval.
func (q *Queue) runPeriodic(ctx context.Context, p periodic) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		if err := p.fn(ctx); err != nil && ctx.Err() == nil {
			q.logger.Warn("periodic work failed", "work", p.name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// asynqLogger routes asynq's log lines into slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(join(args)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(join(args)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(join(args)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(join(args)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(join(args)) }

func join(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = fmt.Sprint(a)
	}
	return "asynq: " + strings.Join(parts, " ")
}
