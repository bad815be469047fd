-- Periodic reconciliation of connectors whose application can say what
-- changed on its side (live calendars): one row per connector. A run is
-- claimed by moving due_at forward by a lease and setting lease_token; the
-- finished run clears the token and sets the next due_at, so several
-- workers never reconcile one connector at once and a lost run comes back
-- when its lease has passed. sync_cursor is the application's sync token (or
-- delta link) the last run ended with.

CREATE TABLE connector_reconciles (
    connector_id TEXT PRIMARY KEY REFERENCES connectors (id) ON DELETE CASCADE,
    due_at       {{TIME}} NOT NULL,
    lease_token  TEXT NOT NULL DEFAULT '',
    sync_cursor  TEXT NOT NULL DEFAULT '',
    conflicts    {{BIGINT}} NOT NULL DEFAULT 0,
    last_run_at  {{TIME}},
    last_error   TEXT NOT NULL DEFAULT ''
);

CREATE INDEX connector_reconciles_due ON connector_reconciles (due_at);
