-- Console sessions: a browser signed in with a workspace token holds a
-- random secret in a cookie; only its SHA-256 is kept. A session acts as
-- its token and ends with it (revocation is checked on every request).

CREATE TABLE console_sessions (
    id           TEXT PRIMARY KEY,
    secret_hash  TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    token_id     TEXT NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    csrf         TEXT NOT NULL,
    created_at   {{TIME}} NOT NULL,
    expires_at   {{TIME}} NOT NULL
);

CREATE INDEX console_sessions_token ON console_sessions (token_id);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
