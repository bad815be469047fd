-- Connectors to third-party applications (accounting, CRM, …), per
-- connector and entry the remote object and the owed work, and the log of
-- every remote call. The database, not the queue, owns what is owed: a
-- periodic sweep re-enqueues owed pushes whose lease ran out.

CREATE TABLE connectors (
    id                  TEXT PRIMARY KEY,
    workspace_id        TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    type                TEXT NOT NULL,
    name                TEXT NOT NULL DEFAULT '',
    filter              {{JSON}},
    mapping             {{JSON}},
    state               TEXT NOT NULL,
    credentials_sealed  TEXT NOT NULL DEFAULT '',
    credentials_version {{BIGINT}} NOT NULL DEFAULT 0,
    account             TEXT NOT NULL DEFAULT '',
    account_name        TEXT NOT NULL DEFAULT '',
    auth_state          TEXT NOT NULL DEFAULT '',
    verifier_sealed     TEXT NOT NULL DEFAULT '',
    auth_expires_at     {{TIME}},
    last_error          TEXT NOT NULL DEFAULT '',
    last_success_at     {{TIME}},
    created_at          {{TIME}} NOT NULL,
    updated_at          {{TIME}} NOT NULL
);

CREATE INDEX connectors_workspace ON connectors (workspace_id, id);
CREATE INDEX connectors_auth_state ON connectors (auth_state) WHERE auth_state <> '';

-- One row per connector and entry: the remote object (id, version such as
-- a SyncToken, state, more data of the application) and the owed work.
-- wanted_version > pushed_version means a push is owed; next_attempt_at is
-- when it is due (NULL once the retries are used up), lease_until and
-- lease_token who holds it.
CREATE TABLE connector_links (
    connector_id    TEXT NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    entry_id        TEXT NOT NULL,
    remote_id       TEXT NOT NULL DEFAULT '',
    remote_version  TEXT NOT NULL DEFAULT '',
    remote_state    TEXT NOT NULL DEFAULT '',
    remote_data     {{JSON}},
    create_key      TEXT NOT NULL DEFAULT '',
    pushed_version  {{BIGINT}} NOT NULL DEFAULT 0,
    wanted_version  {{BIGINT}} NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at {{TIME}},
    lease_until     {{TIME}},
    lease_token     TEXT NOT NULL DEFAULT '',
    last_error      TEXT NOT NULL DEFAULT '',
    updated_at      {{TIME}} NOT NULL,
    PRIMARY KEY (connector_id, entry_id)
);

-- The sweep's search for owed pushes that are due.
CREATE INDEX connector_links_due ON connector_links (next_attempt_at) WHERE wanted_version > pushed_version;

CREATE TABLE connector_calls (
    id           {{ID}},
    connector_id TEXT NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    at           {{TIME}} NOT NULL,
    entry_id     TEXT NOT NULL DEFAULT '',
    operation    TEXT NOT NULL,
    method       TEXT NOT NULL DEFAULT '',
    status_code  INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    duration_us  {{BIGINT}} NOT NULL DEFAULT 0
);

CREATE INDEX connector_calls_connector ON connector_calls (connector_id, id);
CREATE INDEX connector_calls_entry ON connector_calls (connector_id, entry_id, id);
CREATE INDEX connector_calls_at ON connector_calls (at);
