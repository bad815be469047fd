-- Durable fan-out. The outbox no longer counts an event as done once it is
-- in the queue: what each destination still owes is recorded as batches of
-- event positions, from the moment the dispatcher hands them to the queue
-- until the destination has handled them. destination_cursors holds, per
-- destination, the newest position already cut into batches.

CREATE TABLE destination_cursors (
    destination TEXT PRIMARY KEY,
    position    {{BIGINT}} NOT NULL
);

-- One row per owed batch: the events with after_position < position <=
-- through_position. due_at is when the batch counts as lost if it is still
-- here (the sweep then hands it to the queue again); attempts counts failed
-- runs (the backoff), claims the hand-overs (the task id of each).
CREATE TABLE destination_batches (
    id               {{ID}},
    destination      TEXT NOT NULL,
    after_position   {{BIGINT}} NOT NULL,
    through_position {{BIGINT}} NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    claims           INTEGER NOT NULL DEFAULT 0,
    due_at           {{TIME}} NOT NULL,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       {{TIME}} NOT NULL
);

CREATE INDEX destination_batches_due ON destination_batches (due_at);

-- Upgrading: events the previous outbox had not handed to the queue yet are
-- owed to the destinations of that release; those it had handed over count
-- as handled.
INSERT INTO destination_cursors (destination, position)
SELECT d.name, COALESCE(
    (SELECT MIN(position) - 1 FROM events WHERE dispatched_at IS NULL AND position IS NOT NULL),
    (SELECT MAX(position) FROM events WHERE position IS NOT NULL),
    0)
FROM (SELECT 'feeds' AS name UNION ALL SELECT 'webhooks' UNION ALL SELECT 'caldav') d;

DROP INDEX events_undispatched;

ALTER TABLE events DROP COLUMN dispatched_at;

-- CalDAV pushes are grouped per target: a flush claims the target's pending
-- objects (lease_until) and writes them over kept-alive connections. A
-- flush lost with the queue leaves its claims to run out; the sweep finds
-- objects pending past the lease and starts another. push_retry_at holds
-- off every flush of a target whose server failed until its backoff ends.
ALTER TABLE caldav_objects ADD COLUMN lease_until {{TIME}};

CREATE INDEX caldav_objects_overdue ON caldav_objects (pending_since) WHERE pending_since IS NOT NULL;

ALTER TABLE caldav_targets ADD COLUMN push_attempts INTEGER NOT NULL DEFAULT 0;

ALTER TABLE caldav_targets ADD COLUMN push_retry_at {{TIME}};

-- Webhook deliveries are sent per endpoint: a sender claims an endpoint's
-- due deliveries a page at a time, oldest first.
CREATE INDEX webhook_deliveries_endpoint_due ON webhook_deliveries (webhook_id, next_attempt_at) WHERE status = 'pending';
