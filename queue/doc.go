// Package queue moves committed events from the database outbox to the
// destinations through asynq tasks, and runs the follow-up jobs that
// capabilities register.
//
// The database, not the queue, is the source of truth. Every change is
// written with its event in one transaction; the dispatcher gives events
// their position in the change feed and, per destination, records the
// events it has not been handed yet as owed batches (a range of positions,
// at most Options.BatchSize events, table destination_batches), then
// enqueues one task per batch. A batch row is deleted only when its
// destination has handled every event in it; the events that failed stay
// owed as batches of their own, retried with backoff (1 s doubling to 10
// minutes, never dropped). Nothing in Redis is the only record of work
// still owed: when Redis loses its data or a worker is killed, the batch
// rows remain, and the sweep that every worker runs (at start and every
// Options.SweepInterval) hands each batch whose lease (Options.Lease) has
// run out to the queue again. So a lost event is late by at most the lease
// plus one sweep interval (35 s by default), and duplicates are bounded:
// a batch runs again only after its lease ran out, and every destination
// is idempotent by event id.
//
// Why batches of positions rather than a row per event and destination:
// the dispatcher writes one small row per destination for up to a few
// hundred events, in the transaction that sequences them, and a worker
// deletes it in one statement, so the bookkeeping costs the same at a
// million events as at ten, and a destination handles its events with
// grouped reads and writes. Positions are dense and given in commit order
// under a lock (an advisory lock on PostgreSQL, the single writer on
// SQLite), so a batch never skips an event that commits late; a cursor per
// destination (destination_cursors) remembers how far batches were cut.
// Any number of api and worker processes may dispatch and sweep at once:
// cutting batches is serialised by the same lock, and the sweep claims
// each overdue batch with one UPDATE (FOR UPDATE SKIP LOCKED on
// PostgreSQL).
//
// A process that dispatches and also runs workers (calgate serve, calgate
// worker) hands the batches it cuts to its own workers directly, without
// the round trip through Redis, as long as they keep up; the batch rows
// are the record either way. Destinations that implement
// calgate.BatchDestination handle a batch with grouped reads and writes;
// the others get its events one at a time, 16 at once.
//
// Follow-up work is re-derived from the database the same way, and
// grouped where it shares a target: webhook deliveries are rows, written
// with the outcome of their first attempt (until then the batch is their
// record), with a lease, sent again by one send job per endpoint (the
// webhooks sweep starts one for any endpoint with overdue deliveries),
// CalDAV pushes are
// the wanted versions of caldav_objects (the CalDAV sweep starts a flush
// of any target with objects pending past the lease), iCal polls and
// scheduled pulls are claimed by moving their due time forward by a lease
// that the finished run replaces with the next scheduled time. Feed
// renders live in Redis beside the ready copies they produce: a Redis that
// loses one loses the other, and a feed without a ready copy is rendered
// from the database on its next GET.
//
// Without REDIS_URL the queue runs on an embedded in-process Redis
// (miniredis), so the gateway starts with nothing installed; a process
// killed there loses its queue with it and the sweep of the restarted
// process takes over.
package queue
