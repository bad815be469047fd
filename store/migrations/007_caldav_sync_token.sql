-- The sync-collection token (RFC 6578) of a target's calendar as of its
-- last reconciliation, and when it was asked for; empty and NULL when there
-- is none (server without sync-collection, never reconciled, or the token
-- was given up).

ALTER TABLE caldav_targets ADD COLUMN sync_token TEXT NOT NULL DEFAULT '';

ALTER TABLE caldav_targets ADD COLUMN sync_token_at {{TIME}};
