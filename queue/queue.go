package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"

	calgate "github.com/calgate/calgate"
)

// Queue names. Destinations' event tasks and jobs run on "default"; the
// dispatcher's own bookkeeping never goes through asynq.
const queueName = "default"

// Options configure the queue.
type Options struct {
	// RedisURL names a real Redis; empty starts an embedded one.
	RedisURL string
	// Concurrency is the number of tasks a worker runs at once (default 20).
	Concurrency int
	// PollInterval is how often an idle worker looks for tasks and how
	// often due retries are promoted (default 10 ms and 100 ms).
	PollInterval time.Duration
	// BatchSize bounds the events of one destination task (default
	// DefaultBatchSize).
	BatchSize int
	// Lease is how long a batch handed to the queue may take before it
	// counts as lost and the sweep hands it over again (default
	// DefaultLease).
	Lease time.Duration
	// SweepInterval is how often every worker looks for lost batches
	// (default DefaultSweepInterval); it also runs once when a worker
	// starts.
	SweepInterval time.Duration
}

// Defaults of Options.
const (
	DefaultBatchSize     = 256
	DefaultLease         = 30 * time.Second
	DefaultSweepInterval = 5 * time.Second
)

// Queue connects to Redis (real or embedded) and implements
// calgate.Registry and calgate.Jobs. Register capabilities before calling
// RunWorker.
type Queue struct {
	opts      Options
	redisOpt  asynq.RedisConnOpt
	client    *asynq.Client
	inspector *asynq.Inspector
	embedded  *miniredis.Miniredis
	logger    *slog.Logger

	mu       sync.Mutex
	dests    []calgate.Destination
	jobs     map[string]jobSpec
	periodic []periodic

	depthMu  sync.Mutex
	depthAt  time.Time
	depthVal int
	depthErr error

	recent *recentBatches
	local  localBatches
}

type jobSpec struct {
	policy  calgate.Policy
	handler calgate.JobHandler
}

type periodic struct {
	name     string
	interval time.Duration
	fn       func(ctx context.Context) error
}

// Open connects to the Redis named by opts.RedisURL, or starts an embedded
// one when it is empty.
func Open(opts Options, logger *slog.Logger) (*Queue, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 20
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 10 * time.Millisecond
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	q := &Queue{opts: opts, logger: logger, jobs: map[string]jobSpec{}, recent: newRecentBatches(recentBatchesCap)}
	if opts.RedisURL == "" {
		m := miniredis.NewMiniRedis()
		// Without ClockTTL miniredis never expires keys, and asynq's
		// uniqueness locks would then block for ever.
		m.ClockTTL(true)
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("queue: start embedded redis: %w", err)
		}
		q.embedded = m
		q.redisOpt = asynq.RedisClientOpt{Addr: m.Addr()}
	} else {
		ro, err := asynq.ParseRedisURI(opts.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("queue: REDIS_URL: %w", err)
		}
		q.redisOpt = ro
	}
	q.client = asynq.NewClient(q.redisOpt)
	q.inspector = asynq.NewInspector(q.redisOpt)
	return q, nil
}

// Embedded reports whether the queue runs on the in-process Redis.
func (q *Queue) Embedded() bool { return q.embedded != nil }

// RedisAddr is the address of the Redis in use (for the feed cache).
func (q *Queue) RedisConnOpt() asynq.RedisConnOpt { return q.redisOpt }

// AddDestination registers a destination: every event is handed to it
// through its own task type.
func (q *Queue) AddDestination(d calgate.Destination) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.dests = append(q.dests, d)
}

// HandleJob registers a job type of a capability.
func (q *Queue) HandleJob(jobType string, p calgate.Policy, h calgate.JobHandler) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs[jobType] = jobSpec{policy: p, handler: h}
}

// Every registers periodic work, run by every worker process.
func (q *Queue) Every(name string, interval time.Duration, fn func(ctx context.Context) error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.periodic = append(q.periodic, periodic{name: name, interval: interval, fn: fn})
}

// Destinations returns the registered destinations.
func (q *Queue) Destinations() []calgate.Destination {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]calgate.Destination(nil), q.dests...)
}

// Enqueue puts a job on the queue. A job whose ID is already queued is
// dropped silently: that is what the ID is for.
func (q *Queue) Enqueue(ctx context.Context, j calgate.Job) error {
	opts := []asynq.Option{asynq.Queue(queueName)}
	q.mu.Lock()
	spec, ok := q.jobs[j.Type]
	q.mu.Unlock()
	if ok {
		opts = append(opts, policyOptions(spec.policy)...)
	}
	if j.ID != "" {
		opts = append(opts, asynq.TaskID("job:"+j.Type+":"+j.ID))
	}
	if !j.At.IsZero() {
		opts = append(opts, asynq.ProcessAt(j.At))
	}
	_, err := q.client.EnqueueContext(ctx, asynq.NewTask("job:"+j.Type, j.Payload), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("queue: enqueue %s: %w", j.Type, err)
	}
	return nil
}

func policyOptions(p calgate.Policy) []asynq.Option {
	var opts []asynq.Option
	if p.MaxRetry > 0 {
		opts = append(opts, asynq.MaxRetry(p.MaxRetry))
	}
	if p.Timeout > 0 {
		opts = append(opts, asynq.Timeout(p.Timeout))
	}
	return opts
}

// enqueueBatch hands an owed batch to its destination's task type, at a
// time (zero: now). The task id names the batch and its hand-over, so a
// second enqueue of the same hand-over is a no-op while the first is
// queued, and a hand-over by the sweep is a task of its own.
func (q *Queue) enqueueBatch(ctx context.Context, b *calgate.Batch, at time.Time) error {
	q.mu.Lock()
	d, ok := q.destination(b.Destination)
	q.mu.Unlock()
	if !ok {
		return fmt.Errorf("queue: batch %d of unknown destination %q", b.ID, b.Destination)
	}
	opts := append([]asynq.Option{asynq.Queue(queueName), asynq.TaskID(fmt.Sprintf("dest:%s:%d:%d", b.Destination, b.ID, b.Claims))},
		policyOptions(d.Policy())...)
	if !at.IsZero() {
		opts = append(opts, asynq.ProcessAt(at))
	}
	_, err := q.client.EnqueueContext(ctx, asynq.NewTask("dest:"+b.Destination, encodeBatch(b)), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("queue: enqueue batch %d of %s: %w", b.ID, b.Destination, err)
	}
	return nil
}

// destination finds a registered destination by name; q.mu is held.
func (q *Queue) destination(name string) (calgate.Destination, bool) {
	for _, d := range q.dests {
		if d.Name() == name {
			return d, true
		}
	}
	return nil, false
}

// encodeBatch is a batch task's payload: "id after through attempts", all
// a worker needs to run it without reading the batch back.
func encodeBatch(b *calgate.Batch) []byte {
	return fmt.Appendf(nil, "%d %d %d %d", b.ID, b.After, b.Through, b.Attempts)
}

func decodeBatch(dest string, payload []byte) (*calgate.Batch, error) {
	b := &calgate.Batch{Destination: dest}
	if _, err := fmt.Sscanf(string(payload), "%d %d %d %d", &b.ID, &b.After, &b.Through, &b.Attempts); err != nil || b.Through <= b.After {
		return nil, fmt.Errorf("queue: bad batch task %q", payload)
	}
	return b, nil
}

// Ping checks that Redis answers.
func (q *Queue) Ping(ctx context.Context) error {
	_, err := q.inspector.Queues()
	if err != nil {
		return fmt.Errorf("queue: ping: %w", err)
	}
	return nil
}

// Depth returns the number of pending tasks, sampled at most once a second.
func (q *Queue) Depth() (int, error) {
	q.depthMu.Lock()
	defer q.depthMu.Unlock()
	if time.Since(q.depthAt) < time.Second {
		return q.depthVal, q.depthErr
	}
	q.depthAt = time.Now()
	info, err := q.inspector.GetQueueInfo(queueName)
	if err != nil {
		// Before the first task the queue does not exist yet.
		q.depthVal, q.depthErr = 0, nil
		return 0, nil
	}
	q.depthVal, q.depthErr = info.Pending+info.Scheduled+info.Retry, nil
	return q.depthVal, nil
}

// Close releases the connections and stops the embedded Redis.
func (q *Queue) Close() error {
	err := errors.Join(q.client.Close(), q.inspector.Close())
	if q.embedded != nil {
		q.embedded.Close()
	}
	return err
}
