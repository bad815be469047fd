// Package queue moves committed events from the database outbox into asynq
// tasks and runs them: one task type per destination ("dest:feeds",
// "dest:webhooks", …) plus the follow-up job types capabilities register.
//
// The database is the source of truth. The dispatcher re-reads what is
// undispatched on start and periodically, so a Redis that loses its data,
// or a process that dies between commit and enqueue, delays events but never
// loses them. Every handler must be idempotent by event id.
//
// Without REDIS_URL the queue runs on an embedded in-process Redis
// (miniredis), so the gateway starts with nothing installed.
package queue
