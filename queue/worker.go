package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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
		mux.HandleFunc("dest:"+d.Name(), q.eventHandler(events, d))
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
	srv.Shutdown()
	wg.Wait()
	return nil
}

func (q *Queue) eventHandler(events calgate.EventStore, d calgate.Destination) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		id, err := strconv.ParseInt(string(t.Payload()), 10, 64)
		if err != nil {
			return fmt.Errorf("queue: bad event task %q: %w", t.Payload(), asynq.SkipRetry)
		}
		ev, ok := q.recent.get(id)
		if !ok {
			ev, err = events.Event(ctx, id)
			if errors.Is(err, calgate.ErrNotFound) {
				return fmt.Errorf("queue: event %d is gone: %w", id, asynq.SkipRetry)
			}
			if err != nil {
				return err
			}
		}
		if err := d.HandleEvent(ctx, ev); err != nil {
			q.logger.Warn("destination failed", "destination", d.Name(), "event", id, "err", err)
			return err
		}
		return nil
	}
}

func (q *Queue) runPeriodic(ctx context.Context, p periodic) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := p.fn(ctx); err != nil && ctx.Err() == nil {
				q.logger.Warn("periodic work failed", "work", p.name, "err", err)
			}
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
