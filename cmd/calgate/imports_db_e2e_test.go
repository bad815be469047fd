package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/calgate/calgate/internal/testenv"
)

// sourceDB is a real database a pull reads, with the statements that
// differ between the engines.
type sourceDB struct {
	name    string
	dsn     string
	db      *sql.DB
	ts      string // a timestamp column type holding local times
	sleep   string // a select that takes five seconds
	writer  []string
	rename  string
	renamed string
}

func postgresSource(t *testing.T) sourceDB {
	dsn := testenv.Postgres(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return sourceDB{name: "postgres", dsn: dsn, db: db, ts: "TIMESTAMP", sleep: "SELECT pg_sleep(5) AS s",
		writer: []string{`CREATE FUNCTION grab() RETURNS int LANGUAGE sql AS 'INSERT INTO audit VALUES (1) RETURNING 1'`},
		rename: "ALTER TABLE work_orders RENAME COLUMN machine TO workcenter", renamed: "cannot execute INSERT in a read-only transaction"}
}

func mariadbSource(t *testing.T) sourceDB {
	dsn := testenv.MySQL(t)
	u, _ := url.Parse(dsn)
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr, cfg.DBName, cfg.ParseTime = "tcp", u.Host, strings.Trim(u.Path, "/"), true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return sourceDB{name: "mariadb", dsn: dsn, db: db, ts: "DATETIME", sleep: "SELECT SLEEP(5) AS s",
		writer: []string{`CREATE FUNCTION grab() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO audit VALUES (1); RETURN 1; END`},
		rename: "ALTER TABLE work_orders RENAME COLUMN machine TO workcenter", renamed: "READ ONLY"}
}

func (s sourceDB) exec(t *testing.T, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatalf("%s: %s: %v", s.name, q, err)
		}
	}
}

// workOrders is a tabular template over the work_orders table.
const workOrders = `{"name": "work-orders", "kind": "job", "direction": "import", "input": "table",
 "columns": {"job_id": "external_id", "machine": "workstage", "title": "title", "starts": "start", "ends": "end"},
 "fields": {"source": {"const": "erpdb"}}}`

func TestDatabasePullsFromPostgreSQLAndMariaDB(t *testing.T) {
	for _, open := range []func(*testing.T) sourceDB{postgresSource, mariadbSource} {
		src := open(t)
		t.Run(src.name, func(t *testing.T) {
			g := startGateway(t, engines()[0])
			g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/templates", json.RawMessage(workOrders))
			src.exec(t,
				"CREATE TABLE work_orders (job_id VARCHAR(20) PRIMARY KEY, machine VARCHAR(40), title VARCHAR(80), starts "+src.ts+", ends "+src.ts+", changed BIGINT)",
				"INSERT INTO work_orders VALUES ('J-1', 'Laser', 'Cut, \"frame\"', '2025-10-27 07:00:00', '2025-10-27 11:30:00', 10)",
				"INSERT INTO work_orders VALUES ('J-2', 'Bend', 'Bend', '2025-10-27 12:00:00', '2025-10-27 13:00:00', 20)",
				"INSERT INTO work_orders VALUES ('J-3', 'Weld', 'Weld', '2025-10-28 07:00:00', '2025-10-28 09:00:00', 30)",
				"CREATE TABLE audit (n INT)")
			src.exec(t, src.writer...)

			pull := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/pull-imports", map[string]any{
				"template": "work-orders", "schedule": "0 6 * * *",
				"database": map[string]any{"dsn": src.dsn, "query": "SELECT * FROM work_orders;",
					"cursor_column": "changed", "max_rows": 2, "timeout": "10s"},
			}))
			id := pull["id"].(string)
			shown := string(g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/pull-imports/"+id, nil))
			if u, _ := url.Parse(src.dsn); strings.Contains(shown, u.Path) && strings.Contains(shown, "dsn") {
				t.Fatalf("the DSN is shown: %s", shown)
			}
			run := func(wantStatus string) map[string]any {
				t.Helper()
				r := decode(t, g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/pull-imports/"+id+"/run", nil))
				if r["status"] != wantStatus {
					t.Fatalf("run: %v", r)
				}
				return r
			}
			// Two rows a run: the first two, then the third, then nothing.
			r := run("ok")
			rep := r["report"].(map[string]any)
			if num(rep, "created") != 2 || rep["more"] != true || rep["cursor"] != "20" {
				t.Fatalf("first run: %v", rep)
			}
			rep = run("ok")["report"].(map[string]any)
			if num(rep, "created") != 1 || rep["more"] != nil || rep["cursor"] != "30" {
				t.Fatalf("second run: %v", rep)
			}
			if rep = run("ok")["report"].(map[string]any); num(rep, "records") != 0 {
				t.Fatalf("third run: %v", rep)
			}
			jobs := g.entriesByExternalID(t, "/v1/jobs", "erpdb")
			if len(jobs) != 3 || jobs["J-1"]["title"] != `Cut, "frame"` || jobs["J-1"]["workstage"] != "Laser" ||
				jobs["J-1"]["start"] != "2025-10-27T07:00:00+01:00" {
				t.Fatalf("jobs = %v", jobs)
			}
			// A changed row is read again and updates its entry.
			src.exec(t, "UPDATE work_orders SET ends = '2025-10-27 12:00:00', changed = 40 WHERE job_id = 'J-1'")
			if rep = run("ok")["report"].(map[string]any); num(rep, "updated") != 1 {
				t.Fatalf("run after a change: %v", rep)
			}

			// A column the template reads is renamed: the run fails naming
			// it, writes nothing and keeps its cursor.
			src.exec(t, src.rename, "UPDATE work_orders SET changed = 50 WHERE job_id = 'J-2'")
			failed := run("failed")
			if !strings.Contains(failed["error"].(string), `no column "machine"`) {
				t.Fatalf("renamed column: %v", failed)
			}
			if p := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/pull-imports/"+id, nil)); p["cursor"].(map[string]any)["value"] != "40" {
				t.Fatalf("cursor after a failed run: %v", p["cursor"])
			}
			g.mustCall(t, http.StatusOK, http.MethodPatch, "/v1/pull-imports/"+id, map[string]any{"database": map[string]any{
				"query": "SELECT job_id, workcenter AS machine, title, starts, ends, changed FROM work_orders"}})
			// A new query starts from the beginning.
			if rep = run("ok")["report"].(map[string]any); num(rep, "records") != 2 || num(rep, "unchanged") != 2 {
				t.Fatalf("after the new query: %v", rep)
			}

			// Too many rows: without a cursor column the run fails; with one,
			// rows that share a cursor value are never split.
			src.exec(t, "UPDATE work_orders SET changed = 60")
			for _, c := range []struct{ cursor, want string }{{"", "more than max_rows (2)"}, {"changed", "share the cursor value 60"}} {
				lim := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/pull-imports", map[string]any{
					"template": "work-orders", "schedule": "@hourly",
					"database": map[string]any{"dsn": src.dsn, "query": "SELECT job_id, workcenter AS machine, title, starts, ends, changed FROM work_orders",
						"cursor_column": c.cursor, "max_rows": 2}}))
				lr := decode(t, g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/pull-imports/"+lim["id"].(string)+"/run", nil))
				if lr["status"] != "failed" || !strings.Contains(lr["error"].(string), c.want) {
					t.Fatalf("max_rows with cursor %q: %v", c.cursor, lr)
				}
			}

			// A query that would write is refused by the read-only
			// transaction; a second statement is refused outright.
			writer := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/pull-imports", map[string]any{
				"template": "work-orders", "schedule": "@hourly",
				"database": map[string]any{"dsn": src.dsn, "query": "SELECT job_id, workcenter AS machine, title, starts, ends, grab() AS g FROM work_orders"}}))
			wr := decode(t, g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/pull-imports/"+writer["id"].(string)+"/run", nil))
			if wr["status"] != "failed" || !strings.Contains(strings.ToUpper(wr["error"].(string)), strings.ToUpper(src.renamed)) {
				t.Fatalf("writing query: %v", wr)
			}
			var n int
			if err := src.db.QueryRow("SELECT COUNT(*) FROM audit").Scan(&n); err != nil || n != 0 {
				t.Fatalf("audit rows = %d, %v", n, err)
			}
			status, body, _ := g.call(t, http.MethodPost, "/v1/pull-imports", map[string]any{"template": "work-orders", "schedule": "@hourly",
				"database": map[string]any{"dsn": src.dsn, "query": "SELECT 1; DELETE FROM work_orders"}})
			if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), "database.query") {
				t.Fatalf("two statements: %d %s", status, body)
			}

			// A query that runs past its timeout is stopped by the server.
			slow := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/pull-imports", map[string]any{
				"template": "work-orders", "schedule": "@hourly",
				"database": map[string]any{"dsn": src.dsn, "query": src.sleep, "timeout": "1s"}}))
			sr := decode(t, g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/pull-imports/"+slow["id"].(string)+"/run", nil))
			if e := strings.ToLower(fmt.Sprint(sr["error"])); sr["status"] != "failed" || !(strings.Contains(e, "statement timeout") || strings.Contains(e, "max_statement_time")) {
				t.Fatalf("slow query: %v", sr)
			}
		})
	}
}
