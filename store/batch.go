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
