package calgate

import (
	"context"
	"time"
)

// A Destination receives every committed event, at least once, through its
// own queue task type: iCal feeds, webhooks, CalDAV targets and connectors
// are destinations. HandleEvent must be idempotent by event id; an error
// makes the queue retry it under the destination's Policy.
type Destination interface {
	// Name is short and stable: it names the task type ("feeds").
	Name() string
	Policy() Policy
	HandleEvent(ctx context.Context, ev *Event) error
}

// Policy is how the queue runs a destination's tasks.
type Policy struct {
	// MaxRetry is how often a failed task is retried (0: the queue default).
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
