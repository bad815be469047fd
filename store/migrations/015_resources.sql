-- Availability: the resource catalogue, each workspace's double-booking
-- settings, the current conflicts, and the feeds that publish busy time
-- only.
--
-- A resource is named by the entries' resource field (resource, workstage
-- or cost_centre); a row is created with the defaults the first time an
-- entry names it. working_hours (a JSON object of weekday to ranges) and
-- closed_dates (a JSON array of dates) are read in the resource's time
-- zone; conflict_policy '' means the workspace's.
CREATE TABLE resources (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL DEFAULT '',
    capacity        INTEGER NOT NULL DEFAULT 1,
    timezone        TEXT NOT NULL,
    working_hours   {{JSON}},
    closed_dates    {{JSON}},
    conflict_policy TEXT NOT NULL DEFAULT '',
    created_at      {{TIME}} NOT NULL,
    updated_at      {{TIME}} NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE availability_settings (
    workspace_id    TEXT PRIMARY KEY,
    conflict_policy TEXT NOT NULL DEFAULT 'warn',
    count_tentative BOOLEAN NOT NULL DEFAULT TRUE
);

-- One row per pair of entries that double-book a resource (entry_id is the
-- smaller id); start_at and end_at are the pair's overlap. Every write
-- replaces the rows whose overlap meets the span it changed.
CREATE TABLE conflicts (
    workspace_id TEXT NOT NULL,
    resource     TEXT NOT NULL,
    entry_id     TEXT NOT NULL,
    other_id     TEXT NOT NULL,
    start_at     {{TIME}} NOT NULL,
    end_at       {{TIME}} NOT NULL,
    PRIMARY KEY (workspace_id, entry_id, other_id)
);

CREATE INDEX conflicts_resource_end ON conflicts (workspace_id, resource, end_at);
CREATE INDEX conflicts_other ON conflicts (workspace_id, other_id);

-- The busy entries of a resource in a window: end_at > from AND start_at <
-- to. Ordered by end_at, the scan starts at the window and never reads the
-- resource's past, which is where a schedule grows (see
-- docs/availability.md).
CREATE INDEX entries_workspace_resource_end ON entries (workspace_id, resource, end_at);

ALTER TABLE feeds ADD COLUMN availability BOOLEAN NOT NULL DEFAULT FALSE;
