package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/internal/testenv"
)

// testGateway is a whole gateway (store, queue, workers, API) started for
// one test on a free loopback port.
type testGateway struct {
	URL   string
	Token string
	app   *app
	stop  context.CancelFunc
	done  chan error
}

// engine names a store and queue combination.
type engine struct {
	name string
	// configure fills the database and Redis settings.
	configure func(t testing.TB, cfg *Config)
}

// engines lists the combinations every end-to-end test runs on: SQLite
// with the embedded Redis (the one-command start) and PostgreSQL with a
// real Redis (the production shape).
func engines() []engine {
	return []engine{
		{name: "sqlite+embedded", configure: func(t testing.TB, cfg *Config) {}},
		{name: "postgres+redis", configure: func(t testing.TB, cfg *Config) {
			cfg.DatabaseURL = testenv.Postgres(t)
			cfg.RedisURL = testenv.Redis(t)
		}},
	}
}

// forEachEngine runs fn as a subtest on every engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, e engine)) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) { fn(t, e) })
	}
}

// testConfig is the configuration of a test's gateway: the defaults and
// the environment (a test sets capability settings with t.Setenv before
// it starts its gateway), with the address, data and timings of tests.
func testConfig(t testing.TB) *Config {
	t.Helper()
	cfg, err := loadConfig(flag.NewFlagSet("test", flag.ContinueOnError), scopeAll, nil)
	if err != nil {
		t.Fatalf("configuration from the environment: %v", err)
	}
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.PublicURL = "http://calgate.test"
	cfg.AdminToken = "cgt_test_admin_token_0123456789abcdefghijkl"
	cfg.AllowPrivateTargets = true
	cfg.Log = LogConfig{Format: "text", Level: "warn"}
	cfg.Worker.Concurrency = 10
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.DefaultTimezone = "Europe/Berlin"
	// Lost batches go out again within seconds, not half a minute.
	cfg.Outbox.Lease = 3 * time.Second
	cfg.Outbox.Sweep = 200 * time.Millisecond
	return cfg
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startGateway starts a gateway with roles serve on the engine; modify may
// change the configuration first.
func startGateway(t testing.TB, e engine, modify ...func(*Config)) *testGateway {
	t.Helper()
	cfg := testConfig(t)
	e.configure(t, cfg)
	for _, m := range modify {
		m(cfg)
	}
	return startWithConfig(t, cfg, roleAPI|roleWorker)
}

func startWithConfig(t testing.TB, cfg *Config, roles role) *testGateway {
	t.Helper()
	return startWithLogger(t, cfg, roles, testLogger(t))
}

// startWithLogger is startWithConfig with the gateway's logger.
func startWithLogger(t testing.TB, cfg *Config, roles role, logger *slog.Logger) *testGateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := openApp(ctx, cfg, logger)
	if err != nil {
		cancel()
		t.Fatalf("open gateway: %v", err)
	}
	if err := a.bootstrap(ctx, io.Discard); err != nil {
		cancel()
		a.close()
		t.Fatalf("bootstrap: %v", err)
	}
	ready := make(chan string, 1)
	g := &testGateway{Token: cfg.AdminToken, app: a, stop: cancel, done: make(chan error, 1)}
	go func() {
		g.done <- a.run(ctx, roles, ready)
	}()
	select {
	case addr := <-ready:
		g.URL = "http://" + addr
	case err := <-g.done:
		t.Fatalf("gateway stopped at start: %v", err)
	}
	t.Cleanup(g.Stop)
	return g
}

// startBenchGateway starts a quiet gateway for a benchmark.
func startBenchGateway(b *testing.B, e engine) *testGateway {
	b.Helper()
	cfg := testConfig(b)
	e.configure(b, cfg)
	cfg.Log.Level = "error"
	return startWithConfig(b, cfg, roleAPI|roleWorker)
}

// analyze vacuums PostgreSQL and refreshes its planner statistics after a
// bulk load (the development and CI servers run without autovacuum); on
// SQLite it does nothing. VACUUM marks the pages all-visible, without
// which an index-only read (the busy read) still fetches every row from
// the table; a production database's autovacuum does both routinely.
// VACUUM cannot run in a transaction, so it goes through a connection of
// its own.
func (g *testGateway) analyze(t testing.TB) {
	if g.app.store.Dialect() != "postgres" {
		return
	}
	db, err := sql.Open("pgx", g.app.cfg.DatabaseURL)
	if err != nil {
		t.Fatalf("analyze: %v", err)
	}
	defer db.Close()
	if _, err := db.Exec("VACUUM ANALYZE"); err != nil {
		t.Fatalf("analyze: %v", err)
	}
}

// Stop shuts the gateway down gracefully and waits for it.
func (g *testGateway) Stop() {
	if g.stop == nil {
		return
	}
	g.stop()
	g.stop = nil
	<-g.done
	g.app.close()
}

// call sends a request with the admin token (or the token given in the
// headers) and returns the status and body.
func (g *testGateway) call(t *testing.T, method, path string, body any, headers ...string) (int, []byte, http.Header) {
	t.Helper()
	return g.callAs(t, g.Token, method, path, body, headers...)
}

func (g *testGateway) callAs(t *testing.T, token, method, path string, body any, headers ...string) (int, []byte, http.Header) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, g.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data, resp.Header
}

// mustCall is call that fails the test unless the status is want.
func (g *testGateway) mustCall(t *testing.T, want int, method, path string, body any, headers ...string) []byte {
	t.Helper()
	status, data, _ := g.call(t, method, path, body, headers...)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, data)
	}
	return data
}

// decode unmarshals JSON into a generic map.
func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return m
}

// newWorkspaceToken creates another workspace with an admin token.
func (g *testGateway) newWorkspaceToken(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	ws, err := ensureWorkspace(ctx, g.app.store, name, "UTC")
	if err != nil {
		t.Fatal(err)
	}
	tok, secret := calgate.NewToken(ws.ID, "owner", "test", true)
	if err := g.app.store.CreateToken(ctx, tok, calgate.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	return secret
}

// eventually polls cond until it holds or the deadline passes. It waits
// for asynchronous work; it asserts nothing about how long that takes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, 20*time.Second, what, cond)
}

// eventuallyWithin is eventually with its own deadline, for the few tests
// whose work takes longer under the race detector on a loaded machine
// (speed is measured by the benchmarks, not here).
func eventuallyWithin(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	// Long waits poll less often: their checks (a 10,000-entry feed) are
	// heavy and would slow the work they wait for.
	pause := min(limit/1000, 250*time.Millisecond)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(pause)
	}
	t.Fatalf("timed out waiting for %s", what)
}
