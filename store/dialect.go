package store

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// dialect holds what differs between the two engines.
type dialect struct {
	postgres bool
}

func (d dialect) name() string {
	if d.postgres {
		return DialectPostgres
	}
	return DialectSQLite
}

// schemaTypes maps migration placeholders to each engine's types.
var schemaTypes = map[string][2]string{
	"{{ID}}":     {"BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT"},
	"{{TIME}}":   {"TIMESTAMPTZ", "TIMESTAMP"},
	"{{JSON}}":   {"JSON", "TEXT"},
	"{{JSONB}}":  {"JSONB", "TEXT"},
	"{{BLOB}}":   {"BYTEA", "BLOB"},
	"{{BIGINT}}": {"BIGINT", "INTEGER"},
}

// schemaExprs maps migration placeholders to expressions that differ
// between the engines.
var schemaExprs = map[string][2]string{
	// The length of an entry (of the table entries) in whole seconds,
	// rounded up.
	"{{ENTRY_SECONDS}}": {
		"CAST(CEIL(EXTRACT(EPOCH FROM (end_at - start_at))) AS BIGINT)",
		"(CAST((julianday(end_at) - julianday(start_at)) * 86400 AS INTEGER) + 1)",
	},
}

// schema replaces the type and expression placeholders of a migration.
func (d dialect) schema(sqlText string) string {
	i := 1
	if d.postgres {
		i = 0
	}
	for ph, types := range schemaTypes {
		sqlText = strings.ReplaceAll(sqlText, ph, types[i])
	}
	for ph, exprs := range schemaExprs {
		sqlText = strings.ReplaceAll(sqlText, ph, exprs[i])
	}
	return sqlText
}

// expr returns the engine's form of an expression placeholder of
// schemaExprs.
func (d dialect) expr(ph string) string {
	if d.postgres {
		return schemaExprs[ph][0]
	}
	return schemaExprs[ph][1]
}

// snapshotRead are the options of a read-only transaction whose
// statements all see one snapshot: REPEATABLE READ on PostgreSQL (READ
// COMMITTED takes one per statement); SQLite's deferred transaction holds
// one from its first read.
func (d dialect) snapshotRead() *sql.TxOptions {
	if d.postgres {
		return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	return nil
}

// busyTimesSelect is what BusyTimes selects, and the clause that ends its
// query. PostgreSQL gives a row per entry: the resource and the two times.
// SQLite gives a row per resource: its name and the entries' times as the
// stored text, "start/end" joined by commas (neither character is in a
// stored time). The driver's work on each row it hands over (and its
// parsing of times) was most of the read; one row per resource leaves
// SQLite's own loop and one string to cut.
func (d dialect) busyTimesSelect() (cols, tail string, perResource bool) {
	if d.postgres {
		return `resource, start_at, end_at`, "", false
	}
	return `resource, group_concat(start_at || '/' || end_at, ',')`, ` GROUP BY resource`, true
}

// rebind numbers ? placeholders for PostgreSQL, leaving quoted text alone.
func (d dialect) rebind(q string) string {
	if !d.postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + len(q)/4)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// typed gives a placeholder its type where the engine cannot infer it (in
// a VALUES list on PostgreSQL); SQLite takes values as they come.
func (d dialect) typed(placeholder, pgType string) string {
	if d.postgres {
		return "CAST(" + placeholder + " AS " + pgType + ")"
	}
	return placeholder
}

// forUpdate is the row-lock clause of a SELECT inside a write transaction;
// SQLite has a single writer and needs none.
func (d dialect) forUpdate() string {
	if d.postgres {
		return " FOR UPDATE"
	}
	return ""
}

// skipLocked is the clause that lets a claim pass over rows another
// transaction is claiming (PostgreSQL); SQLite has one writer and needs
// none. Claims select their rows in a MATERIALIZED common table
// expression, so that the locked selection runs once and the LIMIT holds.
func (d dialect) skipLocked() string {
	if d.postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// dbTime is how every time is stored: UTC, microseconds.
func dbTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// sqliteTimeLayout is how the SQLite driver writes a time.Time with
// _time_format=sqlite (see sqliteParams); stored times are UTC, so they
// sort as text. TestSQLiteTimeArgIsTheDriversText pins it.
const sqliteTimeLayout = "2006-01-02 15:04:05.999999999-07:00"

// timeArg converts a time to the query argument of a stored time. On
// SQLite it is the text the driver would write, formatted here rather than
// by the driver: bulk writes build their arguments beside the single
// writer connection (writeRows), and formatting times was a third of the
// writer's binding work.
func (d dialect) timeArg(t time.Time) any {
	if d.postgres {
		return dbTime(t)
	}
	return dbTime(t).Format(sqliteTimeLayout)
}

// nullTimeArg is timeArg for an optional time: NULL when nil.
func (d dialect) nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.timeArg(*t)
}

// nullTime converts an optional time to a query argument.
func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return dbTime(*t)
}

// jsonArg converts raw JSON to a query argument: NULL when empty.
func jsonArg(raw []byte) any {
	if len(raw) == 0 {
		return nil
	}
	return string(raw)
}

// placeholders returns "?,?,…" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

// isUniqueViolation reports whether err is a unique or primary-key
// constraint failure on either engine.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		code := sqErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}
