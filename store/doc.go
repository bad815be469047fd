// Package store keeps calgate's data in PostgreSQL or SQLite through
// database/sql: workspaces and tokens, entries, the events every change
// writes in the same transaction (the outbox and change feed), and the
// answers kept for Idempotency-Key requests. *DB implements calgate.Store.
//
// Both engines run the same statements. Queries are written with ?
// placeholders and passed through Rebind, which numbers them ($1, $2, …) on
// PostgreSQL. The few differences (identity columns, time and JSON types,
// row locks) sit in the dialect type.
//
// # Schema migrations
//
// Migrations are the embedded files migrations/NNN_name.sql, applied in
// order of NNN inside Open (or by Migrate) and recorded in the
// schema_migrations table. Each capability owns its numbers:
//
//	001_core           workspaces, tokens, entries, events, idempotency keys
//	002_feeds          iCal feeds
//	003_webhooks       webhook endpoints and deliveries
//	004_caldav         CalDAV targets
//	005_imports        import templates and scheduled pulls
//	006_subscriptions  iCal subscriptions
//
// A new capability takes the next free number; a released migration is
// never edited, a change to it is a new migration.
//
// A migration is plain SQL, statements separated by a semicolon at the end
// of a line, with these placeholders replaced per engine:
//
//	{{ID}}     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY | INTEGER PRIMARY KEY AUTOINCREMENT
//	{{TIME}}   TIMESTAMPTZ | TIMESTAMP
//	{{JSON}}   JSON (text kept byte for byte) | TEXT
//	{{JSONB}}  JSONB (for columns queried inside) | TEXT
//	{{BLOB}}   BYTEA | BLOB
//	{{BIGINT}} BIGINT | INTEGER
//
// On PostgreSQL, migrations run under a session advisory lock, so processes
// that start at once apply each migration exactly once. On SQLite each
// migration runs in an immediate transaction that re-checks whether it was
// applied.
//
// # Writing a capability's store file
//
// A capability adds its own file to this package and uses the same helpers:
// (*DB).Tx for a write transaction, (*DB).Reader for reads, (*DB).Rebind for
// placeholders, and the package's scanning helpers for JSON and times.
// Times are stored in UTC, truncated to microseconds (the precision of
// PostgreSQL); on SQLite they are written in the driver's "sqlite" format,
// which sorts as text in time order.
package store
