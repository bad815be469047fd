package store

import (
	"context"
	"database/sql"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/calgate/calgate"
)

// testDatabaseEnv names the PostgreSQL server the tests use; each run
// creates its own database there and drops it after.
const testDatabaseEnv = "CALGATE_TEST_DATABASE_URL"

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// openSQLite opens a fresh SQLite database in a temporary directory.
func openSQLite(t testing.TB) *DB {
	t.Helper()
	return openSQLiteIn(t, filepath.Join(t.TempDir(), "data"))
}

// openSQLiteIn opens a fresh SQLite database in dir.
func openSQLiteIn(t testing.TB, dir string) *DB {
	t.Helper()
	db, err := Open(context.Background(), "", dir, testLogger(t))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// postgresServer returns the server URL of the test PostgreSQL, skipping
// (or failing under CI=true) when it is not configured.
func postgresServer(t testing.TB) string {
	t.Helper()
	u := os.Getenv(testDatabaseEnv)
	if u == "" {
		msg := testDatabaseEnv + " is not set: set it to a PostgreSQL URL such as postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return u
}

// createPostgresDatabase creates a fresh database on the test server,
// drops it when the test ends and returns its URL.
func createPostgresDatabase(t testing.TB) string {
	t.Helper()
	server := postgresServer(t)
	ctx := context.Background()
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	name := "calgate_test_" + strings.ToLower(calgate.NewSecret(8))
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	pu, err := url.Parse(server)
	if err != nil {
		t.Fatalf("parse %s: %v", testDatabaseEnv, err)
	}
	pu.Path = "/" + name
	return pu.String()
}

// openPostgres opens a fresh database on the test server.
func openPostgres(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), createPostgresDatabase(t), "", testLogger(t))
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLiteStore(t *testing.T) {
	runStoreSuite(t, func(t *testing.T) *DB { return openSQLite(t) })
}

func TestPostgresStore(t *testing.T) {
	postgresServer(t)
	runStoreSuite(t, func(t *testing.T) *DB { return openPostgres(t) })
}

func TestPostgresMigrationsRunOnceWhenProcessesStartTogether(t *testing.T) {
	dbURL := createPostgresDatabase(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	dbs := make([]*DB, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = OpenPostgres(context.Background(), dbURL, testLogger(t))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
			continue
		}
		defer dbs[i].Close()
	}
	list, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil {
		return
	}
	var count int
	if err := dbs[0].Reader().QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&count); err != nil || count != len(list) {
		t.Errorf("schema_migrations rows = %d, %v; want %d", count, err, len(list))
	}
}

func TestSQLiteReadersCannotWrite(t *testing.T) {
	db := openSQLite(t)
	if _, err := db.Reader().Exec("DELETE FROM workspaces"); err == nil {
		t.Error("a write through the reader pool succeeded")
	}
}

func TestOpenRefusesUnknownURL(t *testing.T) {
	_, err := Open(context.Background(), "mysql://root:secret@localhost/x", t.TempDir(), nil)
	if err == nil {
		t.Fatal("Open accepted a mysql URL")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestRebindNumbersPlaceholdersOutsideQuotes(t *testing.T) {
	pg := dialect{postgres: true}
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b IN (?,?)", "a = $1 AND b IN ($2,$3)"},
		{"x = '?' AND y = ?", "x = '?' AND y = $1"},
	}
	for _, tc := range tests {
		if got := pg.rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := (dialect{}).rebind(tc.in); got != tc.in {
			t.Errorf("sqlite rebind(%q) = %q, want it unchanged", tc.in, got)
		}
	}
}

func TestMigrationsAreNumberedAndSplit(t *testing.T) {
	list, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 || list[0].version != 1 {
		t.Fatalf("migrations = %v, want 001 first", list)
	}
	for _, m := range list {
		for _, d := range []dialect{{}, {postgres: true}} {
			s := d.schema(m.sql)
			if strings.Contains(s, "{{") {
				t.Errorf("migration %s for %s keeps a placeholder", m.name, d.name())
			}
			if len(statements(s)) == 0 {
				t.Errorf("migration %s has no statement", m.name)
			}
		}
	}
	got := statements("-- c\nCREATE TABLE a (x INT);\n\n-- only a comment\nCREATE INDEX b ON a (x);\n")
	if len(got) != 2 {
		t.Errorf("statements = %q, want 2", got)
	}
}
