package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/calgate/calgate"

	// The PostgreSQL driver, registered as "pgx".
	_ "github.com/jackc/pgx/v5/stdlib"
	// The pure-Go SQLite driver, registered as "sqlite".
	_ "modernc.org/sqlite"
)

var _ calgate.Store = (*DB)(nil)

// SQLiteFile is the name of the SQLite database inside the data directory.
const SQLiteFile = "calgate.db"

// sqliteParams are the settings of the SQLite writer connection: WAL, a
// busy timeout, foreign keys, immediate write transactions, an 8 MB page
// cache (the operating system caches the file too; 64 MB made a
// 100,000-row import no faster and the process 56 MB larger) that may grow
// by the pages one transaction changes rather than write them to the log
// before the commit (cache_spill off: an import's 2,500-row chunk changes
// about 5 MB), statement journals in memory (a multi-row INSERT keeps one to
// undo itself), no automatic checkpoints (the checkpointer runs them beside
// the writes), a log file trimmed to 64 MB, and times written in a form
// that sorts as text.
const sqliteParams = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)" +
	"&_pragma=cache_size(-8192)&_pragma=temp_store(2)&_pragma=cache_spill(0)&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(67108864)" +
	"&_txlock=immediate&_time_format=sqlite"

// sqliteCheckpointParams are the settings of the checkpointer's connection.
const sqliteCheckpointParams = "_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)"

// sqliteReadParams are the settings of the SQLite reader connections, which
// refuse writes.
const sqliteReadParams = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=query_only(1)&_txlock=deferred&_time_format=sqlite"

// DB is calgate's database: PostgreSQL or SQLite. It implements
// calgate.Store.
type DB struct {
	d    dialect
	w    *sql.DB       // writes; a single connection on SQLite
	r    *sql.DB       // reads; the same pool as w on PostgreSQL
	ckpt *checkpointer // SQLite only
	// prepared holds SQLite's bulk statements, prepared once on the
	// writer connection (see prepareBulk); read-only after open.
	prepared map[string]*sql.Stmt
	logger   *slog.Logger
	// url is the PostgreSQL URL, for WithPool.
	url string
	// tokens caches the principals of TokenByHash (CacheTokens); shared
	// with the DBs WithPool makes, stopped by the one that started it.
	tokens     *tokenCache
	ownsTokens bool
	// deletes groups the deletions of handled batches (batchdelete.go).
	deletes batchDeletes
}

// Open opens the database named by dsn and applies the migrations. An empty
// dsn opens the SQLite file calgate.db in dataDir (created when missing); a
// postgres:// or postgresql:// URL opens PostgreSQL.
func Open(ctx context.Context, dsn, dataDir string, logger *slog.Logger) (*DB, error) {
	switch {
	case dsn == "":
		if dataDir == "" {
			dataDir = "."
		}
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create data directory: %w", err)
		}
		return OpenSQLite(ctx, filepath.Join(dataDir, SQLiteFile), logger)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return OpenPostgres(ctx, dsn, logger)
	default:
		return nil, fmt.Errorf("store: unsupported database URL %q: use postgres://… or leave it empty for SQLite", redact(dsn))
	}
}

// OpenSQLite opens (creating it when missing) the SQLite database at path
// and applies the migrations.
func OpenSQLite(ctx context.Context, path string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w, err := openSQLitePool(path, sqliteParams, 1)
	if err != nil {
		return nil, err
	}
	r, err := openSQLitePool(path, sqliteReadParams, max(4, runtime.NumCPU()))
	if err != nil {
		w.Close()
		return nil, err
	}
	db := &DB{d: dialect{}, w: w, r: r, logger: logger}
	if err := db.start(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.prepareBulk(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if db.ckpt, err = startCheckpointer(path, logger); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openSQLitePool opens a pool of at most n connections to the SQLite file
// with the given settings, kept open for the life of the process.
func openSQLitePool(path, params string, n int) (*sql.DB, error) {
	p, err := sql.Open("sqlite", "file:"+path+"?"+params)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	p.SetMaxOpenConns(n)
	p.SetMaxIdleConns(n)
	p.SetConnMaxIdleTime(0)
	p.SetConnMaxLifetime(0)
	return p, nil
}

// OpenPostgres connects to PostgreSQL at url and applies the migrations.
func OpenPostgres(ctx context.Context, url string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres %s: %w", redact(url), err)
	}
	db := &DB{d: dialect{postgres: true}, w: p, r: p, logger: logger, url: url}
	setPostgresPool(p, PostgresPool)
	if err := db.start(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) start(ctx context.Context) error {
	if err := db.Ping(ctx); err != nil {
		return err
	}
	return db.Migrate(ctx)
}

// Dialect returns "postgres" or "sqlite".
func (db *DB) Dialect() string { return db.d.name() }

// Rebind turns the ? placeholders of query into the engine's form ($1, $2,
// … on PostgreSQL).
func (db *DB) Rebind(query string) string { return db.d.rebind(query) }

// Reader returns the pool for reads. On SQLite it is separate from the
// single writer connection, so reads never wait for writes.
func (db *DB) Reader() *sql.DB { return db.r }

// Tx runs fn in a write transaction and commits when fn returns nil. On
// SQLite the transaction is immediate: it holds the write lock from the
// start.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", db.d.name(), err)
	}
	return nil
}

// Close closes every connection.
func (db *DB) Close() error {
	if db.ownsTokens {
		db.stopTokens()
	}
	var err error
	if db.ckpt != nil {
		err = db.ckpt.close()
	}
	for _, s := range db.prepared {
		err = errors.Join(err, s.Close())
	}
	err = errors.Join(err, db.w.Close())
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// PostgresPool is the most connections one pool of a process keeps open
// to PostgreSQL.
const PostgresPool = 32

func setPostgresPool(p *sql.DB, n int) {
	p.SetMaxOpenConns(n)
	p.SetMaxIdleConns(n)
	p.SetConnMaxIdleTime(5 * time.Minute)
}

// WithPool returns the same database reached through a pool of its own of
// at most n connections, so that one kind of work (requests) cannot keep
// another (the outbox and its destinations) waiting for a connection. On
// SQLite, which has one writer whatever the pools, it returns db itself.
// Close the returned DB before db; closing it closes only its own pool.
func (db *DB) WithPool(n int) (*DB, error) {
	if !db.d.postgres {
		return db, nil
	}
	p, err := sql.Open("pgx", db.url)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres %s: %w", redact(db.url), err)
	}
	setPostgresPool(p, n)
	return &DB{d: db.d, w: p, r: p, logger: db.logger, url: db.url, tokens: db.tokens}, nil
}

// redact hides the password of a database URL in messages.
func redact(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	userinfo := dsn[scheme+3 : at]
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		return dsn[:scheme+3] + user + ":xxxxx" + dsn[at:]
	}
	return dsn
}

// notFound maps sql.ErrNoRows to calgate.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return calgate.ErrNotFound
	}
	return err
}
