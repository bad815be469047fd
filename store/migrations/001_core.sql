-- Core schema: workspaces, tokens, entries, their events (the outbox and
-- change feed) and the answers kept for Idempotency-Key requests.

CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    timezone   TEXT NOT NULL,
    created_at {{TIME}} NOT NULL
);

-- Only the SHA-256 of a token's secret is kept.
CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_name    TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL DEFAULT '',
    prefix       TEXT NOT NULL DEFAULT '',
    secret_hash  TEXT NOT NULL UNIQUE,
    admin        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   {{TIME}} NOT NULL,
    last_used_at {{TIME}},
    revoked_at   {{TIME}}
);

CREATE INDEX tokens_workspace ON tokens (workspace_id, created_at);

-- Entries and events carry their workspace_id without a foreign key: the
-- store always scopes by the caller's workspace, and per-row key checks
-- would halve the speed of bulk imports.
--
-- details holds the kind-specific fields (customer, quantity, order,
-- order_item, product, position, activity); attributes is the entry's free
-- JSON object, kept as given.
CREATE TABLE entries (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    source       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    location     TEXT NOT NULL DEFAULT '',
    start_at     {{TIME}} NOT NULL,
    end_at       {{TIME}} NOT NULL,
    all_day      BOOLEAN NOT NULL DEFAULT FALSE,
    timezone     TEXT NOT NULL DEFAULT 'UTC',
    status       TEXT NOT NULL,
    resource     TEXT NOT NULL DEFAULT '',
    details      {{JSON}},
    attributes   {{JSON}},
    version      {{BIGINT}} NOT NULL,
    created_at   {{TIME}} NOT NULL,
    updated_at   {{TIME}} NOT NULL,
    archived_at  {{TIME}},
    UNIQUE (workspace_id, kind, source, external_id)
);

-- Listing pages through a workspace's entries in id order, per kind or all.
CREATE INDEX entries_workspace_kind_id ON entries (workspace_id, kind, id);
CREATE INDEX entries_workspace_id ON entries (workspace_id, id);
-- Window and resource filters, and "changed since".
CREATE INDEX entries_workspace_kind_start ON entries (workspace_id, kind, start_at);
CREATE INDEX entries_workspace_resource ON entries (workspace_id, resource);
CREATE INDEX entries_workspace_updated ON entries (workspace_id, updated_at);

-- Every change writes one event in its transaction. position is given
-- after commit by the sequencer and orders the change feed.
CREATE TABLE events (
    id            {{ID}},
    position      {{BIGINT}},
    workspace_id  TEXT NOT NULL,
    type          TEXT NOT NULL,
    kind          TEXT NOT NULL DEFAULT '',
    entry_id      TEXT NOT NULL DEFAULT '',
    entry         {{JSON}},
    diff          {{JSON}},
    data          {{JSON}},
    actor         TEXT NOT NULL DEFAULT '',
    created_at    {{TIME}} NOT NULL,
    dispatched_at {{TIME}}
);

CREATE UNIQUE INDEX events_position ON events (position) WHERE position IS NOT NULL;
CREATE INDEX events_workspace_position ON events (workspace_id, position) WHERE position IS NOT NULL;
CREATE INDEX events_entry ON events (entry_id, id);
CREATE INDEX events_unsequenced ON events (id) WHERE position IS NULL;
CREATE INDEX events_undispatched ON events (id) WHERE dispatched_at IS NULL;

CREATE TABLE idempotency_keys (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    status       INTEGER NOT NULL,
    content_type TEXT NOT NULL DEFAULT '',
    body         {{BLOB}},
    fingerprint  TEXT NOT NULL DEFAULT '',
    created_at   {{TIME}} NOT NULL,
    PRIMARY KEY (workspace_id, key)
);

CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
