package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// batchInsert writes rows with multi-row statements (INSERT … VALUES, or
// an UPDATE from a VALUES list) of a fixed size, prepared once per
// transaction (on SQLite, once per process: see DB.stmt); the last,
// shorter chunk gets its own statement.
type batchInsert struct {
	db     *DB
	tx     *sql.Tx
	prefix string
	row    string
	suffix string
	rows   int
	full   *sql.Stmt
}

// newBatchInsert prepares nothing yet: prefix is "INSERT INTO t (cols)
// VALUES ", columns the number of values per row and rows the chunk size.
func (db *DB) newBatchInsert(tx *sql.Tx, prefix string, columns, rows int) *batchInsert {
	return &batchInsert{db: db, tx: tx, prefix: prefix, row: `(` + placeholders(columns) + `)`, rows: rows}
}

func (b *batchInsert) statement(n int) string {
	var s strings.Builder
	s.Grow(len(b.prefix) + n*(len(b.row)+1) + len(b.suffix))
	s.WriteString(b.prefix)
	for i := range n {
		if i > 0 {
			s.WriteByte(',')
		}
		s.WriteString(b.row)
	}
	s.WriteString(b.suffix)
	return b.db.d.rebind(s.String())
}

// exec inserts n rows whose values are args.
func (b *batchInsert) exec(ctx context.Context, n int, args []any) error {
	if n < b.rows {
		q := b.statement(n)
		if s, ok := b.db.prepared[q]; ok {
			stmt := b.tx.StmtContext(ctx, s)
			defer stmt.Close()
			_, err := stmt.ExecContext(ctx, args...)
			return err
		}
		_, err := b.tx.ExecContext(ctx, q, args...)
		return err
	}
	if b.full == nil {
		stmt, err := b.db.stmt(ctx, b.tx, b.statement(b.rows))
		if err != nil {
			return err
		}
		b.full = stmt
	}
	_, err := b.full.ExecContext(ctx, args...)
	return err
}

func (b *batchInsert) close() {
	if b.full != nil {
		b.full.Close()
	}
}

// Statements of the bulk writes, in the full size every large write uses.
var (
	entryInsertBatch = batchSpec{prefix: `INSERT INTO entries (` + entryColumns + `) VALUES `, columns: entryColumnCount, rows: 250}
	eventInsertBatch = batchSpec{prefix: `INSERT INTO events (` + eventInsertColumns + `) VALUES `, columns: eventInsertColumnCount, rows: 500}
)

// batchSpec describes a multi-row INSERT.
type batchSpec struct {
	prefix string
	// suffix follows the rows (an ON CONFLICT clause).
	suffix  string
	columns int
	rows    int
}

func (db *DB) batch(tx *sql.Tx, s batchSpec) *batchInsert {
	b := db.newBatchInsert(tx, s.prefix, s.columns, s.rows)
	b.suffix = s.suffix
	return b
}

// prepareBulk prepares, on SQLite's writer connection, the full-size
// statements of the bulk writes: a 250-row INSERT takes SQLite longer to
// compile than to run, and every chunk of an import needs it again.
// Transactions use them through DB.stmt.
func (db *DB) prepareBulk(ctx context.Context) error {
	queries := []string{
		db.batch(nil, entryInsertBatch).statement(entryInsertBatch.rows),
		db.batch(nil, eventInsertBatch).statement(eventInsertBatch.rows),
		db.loadQuery(loadChunk),
		// A single write's statements: compiling them took a sixth of its
		// time.
		db.batch(nil, entryInsertBatch).statement(1),
		db.batch(nil, eventInsertBatch).statement(1),
		db.loadQuery(1),
		db.resourcesQuery(1),
		db.busyQueryText(busyColumns, 1, true, 1),
		db.busyQueryText(busyColumns, 1, true, 2),
	}
	db.prepared = make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		s, err := db.w.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: prepare bulk statements: %w", err)
		}
		db.prepared[q] = s
	}
	return nil
}

// stmt returns query prepared for tx: the statement prepareBulk prepared,
// when there is one, or a new one. Close it after use.
func (db *DB) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if s, ok := db.prepared[query]; ok {
		return tx.StmtContext(ctx, s), nil
	}
	return tx.PrepareContext(ctx, query)
}

// rowArgs is the values of one chunk of rows, or the error of building
// them.
type rowArgs struct {
	n    int
	args []any
	err  error
}

// writeRows writes list through b, b.rows rows per statement, the values of
// each row appended by appendRow. When list spans several statements, the
// values of the next statement are built in another goroutine while the
// database runs the current one: encoding (JSON snapshots, details) and the
// database's work overlap, and on SQLite the single writer connection
// never waits for Go-side encoding beyond the first statement. appendRow
// must not touch state the caller changes meanwhile.
func writeRows[T any](ctx context.Context, b *batchInsert, list []T, appendRow func([]any, T) ([]any, error)) error {
	build := func(part []T) rowArgs {
		args := make([]any, 0, len(part)*strings.Count(b.row, "?"))
		for _, v := range part {
			var err error
			if args, err = appendRow(args, v); err != nil {
				return rowArgs{err: err}
			}
		}
		return rowArgs{n: len(part), args: args}
	}
	if len(list) <= b.rows {
		if len(list) == 0 {
			return nil
		}
		r := build(list)
		if r.err != nil {
			return r.err
		}
		return b.exec(ctx, r.n, r.args)
	}
	chunks := make(chan rowArgs, 1)
	stop := make(chan struct{})
	defer func() {
		// On an early return, wait for the builder: list is the
		// caller's again once writeRows returns.
		close(stop)
		for range chunks {
		}
	}()
	go func() {
		defer close(chunks)
		for start := 0; start < len(list); start += b.rows {
			r := build(list[start:min(start+b.rows, len(list))])
			select {
			case chunks <- r:
			case <-stop:
				return
			}
			if r.err != nil {
				return
			}
		}
	}()
	for r := range chunks {
		if r.err != nil {
			return r.err
		}
		if err := b.exec(ctx, r.n, r.args); err != nil {
			return err
		}
	}
	return nil
}
