-- Webhook endpoints, their deliveries (one per event and endpoint, the
-- Standard Webhooks message) and the log of every attempt. The database,
-- not the queue, owns a delivery's state: a periodic sweep re-enqueues
-- pending deliveries that are overdue.

CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    events          {{JSON}} NOT NULL,
    filter          {{JSON}},
    description     TEXT NOT NULL DEFAULT '',
    secrets         {{JSON}} NOT NULL,
    origin          TEXT NOT NULL DEFAULT 'api',
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_reason TEXT NOT NULL DEFAULT '',
    failing_since   {{TIME}},
    created_at      {{TIME}} NOT NULL,
    updated_at      {{TIME}} NOT NULL
);

CREATE INDEX webhooks_workspace ON webhooks (workspace_id, id);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    workspace_id    TEXT NOT NULL,
    event_id        {{BIGINT}} NOT NULL,
    type            TEXT NOT NULL,
    payload         {{JSON}} NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at {{TIME}},
    lease_until     {{TIME}},
    created_at      {{TIME}} NOT NULL,
    updated_at      {{TIME}} NOT NULL,
    UNIQUE (webhook_id, event_id)
);

-- The delivery log of an endpoint, newest first, per status or all.
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_webhook_status ON webhook_deliveries (webhook_id, status, id);
-- The sweep's search for overdue pending deliveries.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    id           {{ID}},
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at {{TIME}} NOT NULL,
    status_code  INTEGER NOT NULL DEFAULT 0,
    latency_us   {{BIGINT}} NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    response     TEXT NOT NULL DEFAULT '',
    retry_in_ms  {{BIGINT}} NOT NULL DEFAULT 0
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
