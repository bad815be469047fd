package calgate

import (
	"context"
	"fmt"
	"time"
)

// A Destination receives every committed event, at least once, through its
// own queue task type: iCal feeds, webhooks, CalDAV targets and connectors
// are destinations. The database records, per destination, the events it
// still owes (see Batch) until HandleEvent has returned nil for each, so an
// event lost from the queue or from a killed worker is handed over again.
// HandleEvent must therefore be idempotent by event id; an error makes the
// event owed again, retried with backoff.
type Destination interface {
	// Name is short and stable: it names the task type ("feeds").
	Name() string
	Policy() Policy
	HandleEvent(ctx context.Context, ev *Event) error
}

// A BatchDestination handles a batch of events at once, with grouped reads
// and writes. HandleEvents returns nil when it handled every event,
// EventErrors naming the events it could not handle (only those are
// retried), or another error (the whole batch is retried).
type BatchDestination interface {
	Destination
	HandleEvents(ctx context.Context, evs []*Event) error
}

// EventErrors reports, by event id, the events of a batch a destination
// could not handle; the other events of the batch count as handled.
type EventErrors map[int64]error

func (e EventErrors) Error() string {
	for id, err := range e {
		return fmt.Sprintf("%d of the batch's events failed; event %d: %v", len(e), id, err)
	}
	return "no event failed"
}

// Batch is work a destination owes: the events whose position p satisfies
// After < p <= Through. The dispatcher records a batch when it hands the
// events to the queue and deletes it when the destination has handled
// them; until then the batch is owed, and the sweep hands it to the queue
// again once DueAt has passed.
type Batch struct {
	ID          int64
	Destination string
	After       int64
	Through     int64
	// Attempts counts the failed runs of these events; it sets the backoff.
	Attempts int
	// Claims counts the times the batch was handed to the queue; it tells
	// one hand-over's task from the next.
	Claims int
	// DueAt is when the batch counts as lost if it is still owed.
	DueAt     time.Time
	LastError string
	CreatedAt time.Time
}

// Len is the number of events in the batch.
func (b *Batch) Len() int { return int(b.Through - b.After) }

// Owed summarises what a destination still owes.
type Owed struct {
	Destination string
	Batches     int
	Events      int64
	// Oldest is when the oldest owed batch was recorded (zero: none).
	Oldest time.Time
}

// Policy is how the queue runs a destination's tasks.
type Policy struct {
	// MaxRetry is how often a failed task is retried (0: the queue
	// default). A destination's events are never dropped: after a batch's
	// tasks have failed, the sweep hands it to the queue again.
	MaxRetry int
	// Timeout bounds one run (0: the queue default).
	Timeout time.Duration
}

// Job is a follow-up task a capability schedules for itself, such as the
// next attempt of a webhook delivery.
type Job struct {
	Type    string
	Payload []byte
	// ID de-duplicates: a second job with the same ID is dropped while the
	// first is queued.
	ID string
	// At delays the job (zero: now).
	At time.Time
}

// JobHandler runs one job. An error retries it under the job type's Policy.
type JobHandler func(ctx context.Context, payload []byte) error

// Jobs enqueues jobs.
type Jobs interface {
	Enqueue(ctx context.Context, j Job) error
}

// Registry is how a capability plugs into the queue at start: its
// destination, its own job types and its periodic work. Periodic work runs
// in every worker process, so it must be safe to run concurrently (claim
// rows in the database, de-duplicate jobs by ID).
type Registry interface {
	AddDestination(d Destination)
	HandleJob(jobType string, p Policy, h JobHandler)
	Every(name string, interval time.Duration, fn func(ctx context.Context) error)
}
