package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

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
			Customer: &calgate.Customer{Name: "Customer", Email: "c@example.com"}, Quantity: &q,
			Attributes: []byte(`{"cost":12.5,"tags":["a","b"]}`),
		}
	}
	return list
}

// BenchmarkBulkUpsert10k measures a bulk upsert of 10,000 new entries, each
// with its event, reported in entries/s.
func BenchmarkBulkUpsert10k(b *testing.B) {
	engines := []struct {
		name string
		open func(testing.TB) *DB
	}{
		{"sqlite", openSQLite},
		{"postgres", openPostgres},
	}
	const n = 10000
	list := bulkItems(n)
	for _, eng := range engines {
		b.Run(eng.name, func(b *testing.B) {
			db := eng.open(b)
			i := 0
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				ws := &calgate.Workspace{Name: fmt.Sprintf("bench-%d", i), Timezone: "UTC"}
				i++
				if err := db.CreateWorkspace(ctx, ws); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				began := time.Now()
				res, err := db.Upsert(ctx, ws.ID, "bench", list, calgate.UpsertOptions{})
				total += time.Since(began)
				if err != nil {
					b.Fatal(err)
				}
				if res.Created != n {
					b.Fatalf("created %d, want %d", res.Created, n)
				}
				b.StopTimer()
				if db.Dialect() == DialectPostgres {
					if _, err := db.w.ExecContext(ctx, "ANALYZE"); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(n*i)/total.Seconds(), "entries/s")
		})
	}
}

// BenchmarkBulkUpdate10k measures a bulk upsert that changes 10,000
// existing entries, each with its event, reported in entries/s.
func BenchmarkBulkUpdate10k(b *testing.B) {
	engines := []struct {
		name string
		open func(testing.TB) *DB
	}{
		{"sqlite", openSQLite},
		{"postgres", openPostgres},
	}
	const n = 10000
	list := bulkItems(n)
	for _, eng := range engines {
		b.Run(eng.name, func(b *testing.B) {
			db := eng.open(b)
			ws := &calgate.Workspace{Name: "bench", Timezone: "UTC"}
			if err := db.CreateWorkspace(ctx, ws); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Upsert(ctx, ws.ID, "bench", list, calgate.UpsertOptions{}); err != nil {
				b.Fatal(err)
			}
			if db.Dialect() == DialectPostgres {
				if _, err := db.w.ExecContext(ctx, "ANALYZE"); err != nil {
					b.Fatal(err)
				}
			}
			round := 0
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				round++
				for i := range list {
					list[i].Entry.Title = fmt.Sprintf("Booking %d, round %d", i, round)
				}
				b.StartTimer()
				began := time.Now()
				res, err := db.Upsert(ctx, ws.ID, "bench", list, calgate.UpsertOptions{})
				total += time.Since(began)
				if err != nil {
					b.Fatal(err)
				}
				if res.Updated != n {
					b.Fatalf("updated %d, want %d", res.Updated, n)
				}
			}
			b.ReportMetric(float64(n*round)/total.Seconds(), "entries/s")
		})
	}
}
