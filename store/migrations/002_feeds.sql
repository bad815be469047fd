-- iCal feeds. A feed's secret URL token is kept only as its SHA-256
-- (token_hash, for lookups) and encrypted with the gateway's key
-- (token_sealed, to show the URL to its owner again).
CREATE TABLE feeds (
    id                    TEXT PRIMARY KEY,
    workspace_id          TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name                  TEXT NOT NULL,
    filter                {{JSON}} NOT NULL,
    timezone              TEXT NOT NULL,
    include_cancelled     BOOLEAN NOT NULL DEFAULT TRUE,
    title_templates       {{JSON}},
    description_templates {{JSON}},
    token_hash            TEXT NOT NULL UNIQUE,
    token_sealed          {{BLOB}},
    created_at            {{TIME}} NOT NULL,
    updated_at            {{TIME}} NOT NULL
);

CREATE INDEX feeds_workspace_id ON feeds (workspace_id, id);
