package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// benchEngines are the engines every store benchmark runs on.
var benchEngines = []struct {
	name string
	open func(testing.TB) *DB
}{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
}

// benchWorkspace creates a workspace for a benchmark.
func benchWorkspace(b *testing.B, db *DB, name, timezone string) *calgate.Workspace {
	b.Helper()
	ws := &calgate.Workspace{Name: name, Timezone: timezone}
	if err := db.CreateWorkspace(ctx, ws); err != nil {
		b.Fatal(err)
	}
	return ws
}

// analyze vacuums PostgreSQL and refreshes its planner statistics after a
// load, as autovacuum would on a settled database (nothing to do on
// SQLite).
func analyze(b *testing.B, db *DB) {
	b.Helper()
	if db.Dialect() == DialectPostgres {
		// VACUUM as well: it marks the pages all-visible, without which
		// an index-only read (the busy read) still fetches every row
		// from the table. Autovacuum does both on a production database.
		if _, err := db.w.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
}

// timedUpsert upserts list into the workspace and returns the result with
// the time the upsert took.
func timedUpsert(b *testing.B, db *DB, workspaceID string, list []calgate.UpsertItem) (*calgate.BulkResult, time.Duration) {
	b.Helper()
	began := time.Now()
	res, err := db.Upsert(ctx, workspaceID, "bench", list, calgate.UpsertOptions{})
	took := time.Since(began)
	if err != nil {
		b.Fatal(err)
	}
	return res, took
}

// bulkItems builds n new reservations as a parsed import would give them.
func bulkItems(n int) []calgate.UpsertItem {
	start := time.Date(2025, 11, 3, 8, 0, 0, 0, time.UTC)
	list := make([]calgate.UpsertItem, n)
	for i := range list {
		q := i % 7
		s := start.Add(time.Duration(i) * 30 * time.Minute)
		list[i].Entry = &calgate.Entry{
			Kind: calgate.KindReservation, Source: "erp", ExternalID: fmt.Sprintf("bulk-%06d", i),
			Title: fmt.Sprintf("Booking %d", i), Location: "Hall 2", Start: s, End: s.Add(90 * time.Minute),
			Timezone: "Europe/Berlin", Status: calgate.StatusConfirmed, Resource: fmt.Sprintf("room-%d", i%40),
			Details:    calgate.Details{Customer: &calgate.Customer{Name: "Customer", Email: "c@example.com"}, Quantity: &q},
			Attributes: []byte(`{"cost":12.5,"tags":["a","b"]}`),
		}
	}
	return list
}

// benchNewWorkspaces upserts list into a new workspace each round (set up
// by prepare, when given, outside the timer), hands each result to check,
// and reports the entries upserted per second of upserting.
func benchNewWorkspaces(b *testing.B, db *DB, list []calgate.UpsertItem, prepare func(ws *calgate.Workspace), check func(*calgate.BulkResult)) {
	b.Helper()
	i := 0
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		ws := benchWorkspace(b, db, fmt.Sprintf("bench-%d", i), "UTC")
		i++
		if prepare != nil {
			prepare(ws)
		}
		b.StartTimer()
		res, took := timedUpsert(b, db, ws.ID, list)
		total += took
		check(res)
		b.StopTimer()
		analyze(b, db)
		b.StartTimer()
	}
	b.ReportMetric(float64(len(list)*i)/total.Seconds(), "entries/s")
}

// BenchmarkBulkUpsert10k measures a bulk upsert of 10,000 new entries, each
// with its event, reported in entries/s.
func BenchmarkBulkUpsert10k(b *testing.B) {
	const n = 10000
	list := bulkItems(n)
	for _, eng := range benchEngines {
		b.Run(eng.name, func(b *testing.B) {
			benchNewWorkspaces(b, eng.open(b), list, nil, func(res *calgate.BulkResult) {
				if res.Created != n {
					b.Fatalf("created %d, want %d", res.Created, n)
				}
			})
		})
	}
}

// BenchmarkBulkUpdate10k measures a bulk upsert that changes 10,000
// existing entries, each with its event, reported in entries/s.
func BenchmarkBulkUpdate10k(b *testing.B) {
	const n = 10000
	for _, eng := range benchEngines {
		b.Run(eng.name, func(b *testing.B) {
			// A list of its own: the titles the engine before left would
			// make this engine's first round change nothing.
			list := bulkItems(n)
			db := eng.open(b)
			ws := benchWorkspace(b, db, "bench", "UTC")
			timedUpsert(b, db, ws.ID, list)
			analyze(b, db)
			round := 0
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				round++
				for i := range list {
					list[i].Entry.Title = fmt.Sprintf("Booking %d, round %d", i, round)
				}
				b.StartTimer()
				res, took := timedUpsert(b, db, ws.ID, list)
				total += took
				if res.Updated != n {
					b.Fatalf("updated %d, want %d", res.Updated, n)
				}
			}
			b.ReportMetric(float64(n*round)/total.Seconds(), "entries/s")
		})
	}
}
