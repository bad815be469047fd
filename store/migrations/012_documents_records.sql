-- Whole documents and the records of compatibility surfaces.
--
-- entries.document names the document an entry last came in (an order
-- sent whole); an upsert that replaces a document archives its entries
-- that the new version no longer holds.
--
-- records keep other systems' documents as they sent them (a PlanningNow
-- order, a Skyplanner job), written in the transaction of the entries they
-- yield; record_links lets a record be found from the records it names;
-- record_counters hands out numeric ids per source and type.

ALTER TABLE entries ADD COLUMN document TEXT NOT NULL DEFAULT '';

CREATE INDEX entries_workspace_document ON entries (workspace_id, document);

CREATE TABLE records (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    source       TEXT NOT NULL,
    type         TEXT NOT NULL,
    id           TEXT NOT NULL,
    num          {{BIGINT}} NOT NULL DEFAULT 0,
    body         {{JSON}} NOT NULL,
    version      {{BIGINT}} NOT NULL,
    created_at   {{TIME}} NOT NULL,
    updated_at   {{TIME}} NOT NULL,
    PRIMARY KEY (workspace_id, source, type, id)
);

CREATE INDEX records_order ON records (workspace_id, source, type, num, id);

CREATE TABLE record_links (
    workspace_id TEXT NOT NULL,
    source       TEXT NOT NULL,
    type         TEXT NOT NULL,
    id           TEXT NOT NULL,
    link         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, source, type, id, link)
);

CREATE INDEX record_links_link ON record_links (workspace_id, source, link);

CREATE TABLE record_counters (
    workspace_id TEXT NOT NULL,
    source       TEXT NOT NULL,
    type         TEXT NOT NULL,
    last         {{BIGINT}} NOT NULL,
    PRIMARY KEY (workspace_id, source, type)
);
