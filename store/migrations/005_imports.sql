-- Imports: mapping templates installed per workspace, scheduled pulls and
-- the report of each pull run. next_run_at is claimed with a
-- compare-and-swap (each due run is enqueued once) and running_since with
-- another (one run per pull at a time across all workers).

CREATE TABLE import_templates (
    workspace_id  TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL,
    direction     TEXT NOT NULL,
    document      {{JSON}} NOT NULL,
    created_at    {{TIME}} NOT NULL,
    updated_at    {{TIME}} NOT NULL,
    PRIMARY KEY (workspace_id, name)
);

CREATE TABLE pull_imports (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name             TEXT NOT NULL DEFAULT '',
    url              TEXT NOT NULL,
    header_names     {{JSON}} NOT NULL,
    sealed_headers   TEXT NOT NULL DEFAULT '',
    query            {{JSON}},
    since_param      TEXT NOT NULL DEFAULT '',
    since_format     TEXT NOT NULL DEFAULT '',
    template         TEXT NOT NULL,
    mode             TEXT NOT NULL,
    schedule         TEXT NOT NULL,
    notify_emails    {{JSON}} NOT NULL,
    next_run_at      {{TIME}} NOT NULL,
    running_since    {{TIME}},
    last_run_at      {{TIME}},
    last_success_at  {{TIME}},
    last_status      TEXT NOT NULL DEFAULT '',
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       {{TIME}} NOT NULL,
    updated_at       {{TIME}} NOT NULL
);

CREATE INDEX pull_imports_workspace ON pull_imports (workspace_id, id);
CREATE INDEX pull_imports_due ON pull_imports (next_run_at);

CREATE TABLE pull_import_runs (
    id            TEXT PRIMARY KEY,
    pull_id       TEXT NOT NULL REFERENCES pull_imports (id) ON DELETE CASCADE,
    workspace_id  TEXT NOT NULL,
    started_at    {{TIME}} NOT NULL,
    finished_at   {{TIME}} NOT NULL,
    since         {{TIME}},
    status        TEXT NOT NULL,
    error         TEXT NOT NULL DEFAULT '',
    report        {{JSON}}
);

CREATE INDEX pull_import_runs_pull ON pull_import_runs (pull_id, id);
