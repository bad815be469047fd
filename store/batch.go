package store

import (
	"context"
	"database/sql"
	"strings"
)

// batchInsert writes rows with multi-row statements (INSERT … VALUES, or
// an UPDATE from a VALUES list) of a fixed size, prepared once per
// transaction; the last, shorter chunk gets its own statement.
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
		_, err := b.tx.ExecContext(ctx, b.statement(n), args...)
		return err
	}
	if b.full == nil {
		stmt, err := b.tx.PrepareContext(ctx, b.statement(b.rows))
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
