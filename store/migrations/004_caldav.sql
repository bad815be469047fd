-- CalDAV targets: remote calendars entries are pushed to, and per target
-- and entry what the server holds.

CREATE TABLE caldav_targets (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    calendar_url    TEXT NOT NULL,
    calendar_name   TEXT NOT NULL DEFAULT '',
    calendar_hint   TEXT NOT NULL DEFAULT '',
    username        TEXT NOT NULL DEFAULT '',
    password_sealed TEXT NOT NULL DEFAULT '',
    filter          {{JSON}},
    on_archive      TEXT NOT NULL,
    state           TEXT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    last_success_at {{TIME}},
    conflicts       {{BIGINT}} NOT NULL DEFAULT 0,
    reconcile_at    {{TIME}} NOT NULL,
    created_at      {{TIME}} NOT NULL,
    updated_at      {{TIME}} NOT NULL
);

CREATE INDEX caldav_targets_workspace ON caldav_targets (workspace_id, id);
CREATE INDEX caldav_targets_reconcile ON caldav_targets (reconcile_at);

-- pushed_version is the entry version the server holds (or whose removal
-- it saw); wanted_version the newest one events announced. pending_since is
-- set while wanted_version > pushed_version.
CREATE TABLE caldav_objects (
    target_id      TEXT NOT NULL REFERENCES caldav_targets (id) ON DELETE CASCADE,
    entry_id       TEXT NOT NULL,
    name           TEXT NOT NULL,
    etag           TEXT NOT NULL DEFAULT '',
    pushed_version {{BIGINT}} NOT NULL DEFAULT 0,
    wanted_version {{BIGINT}} NOT NULL DEFAULT 0,
    state          TEXT NOT NULL,
    pending_since  {{TIME}},
    updated_at     {{TIME}} NOT NULL,
    PRIMARY KEY (target_id, entry_id)
);

CREATE INDEX caldav_objects_pending ON caldav_objects (target_id, pending_since) WHERE pending_since IS NOT NULL;
