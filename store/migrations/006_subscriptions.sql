-- iCal subscriptions: external calendars polled into entries whose source
-- is "ical:<id>". next_poll_at is claimed with a compare-and-swap so that
-- each due poll runs once however many workers sweep.

CREATE TABLE ical_subscriptions (
    id                TEXT PRIMARY KEY,
    workspace_id      TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name              TEXT NOT NULL DEFAULT '',
    url               TEXT NOT NULL,
    kind              TEXT NOT NULL,
    resource          TEXT NOT NULL,
    poll_seconds      INTEGER NOT NULL,
    state             TEXT NOT NULL,
    last_error        TEXT NOT NULL DEFAULT '',
    etag              TEXT NOT NULL DEFAULT '',
    last_modified     TEXT NOT NULL DEFAULT '',
    last_polled_at    {{TIME}},
    last_success_at   {{TIME}},
    last_result       {{JSON}},
    next_poll_at      {{TIME}} NOT NULL,
    created_at        {{TIME}} NOT NULL,
    updated_at        {{TIME}} NOT NULL
);

CREATE INDEX ical_subscriptions_workspace ON ical_subscriptions (workspace_id, id);
CREATE INDEX ical_subscriptions_due ON ical_subscriptions (next_poll_at);
