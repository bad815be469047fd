package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// overlappingItems builds n new jobs on 100 workstages, one in eight of
// which overlaps the one before on the same workstage, so that the check
// finds and stores conflicts.
func overlappingItems(n int) []calgate.UpsertItem {
	start := time.Date(2025, 11, 3, 6, 0, 0, 0, time.UTC)
	list := make([]calgate.UpsertItem, n)
	for i := range list {
		slot := i / 100
		s := start.Add(time.Duration(slot) * 2 * time.Hour)
		if i%4 == 0 && slot%2 == 1 {
			s = s.Add(-30 * time.Minute)
		}
		list[i].Entry = &calgate.Entry{
			Kind: calgate.KindJob, Source: "erp", ExternalID: fmt.Sprintf("job-%06d", i), Title: fmt.Sprintf("Job %d", i),
			Start: s, End: s.Add(2 * time.Hour), Timezone: "Europe/Berlin", Status: calgate.StatusConfirmed,
			Resource: fmt.Sprintf("stage-%03d", i%100), Details: calgate.Details{Order: "A-1"},
		}
	}
	return list
}

// BenchmarkBulkUpsert10kConflicts is BenchmarkBulkUpsert10k on a schedule
// where one entry in eight double-books its resource (1,250 conflicts
// found, stored and announced per run, or refused), under each policy.
func BenchmarkBulkUpsert10kConflicts(b *testing.B) {
	const n = 10000
	list := overlappingItems(n)
	for _, eng := range benchEngines {
		for _, policy := range []string{calgate.PolicyWarn, calgate.PolicyReject} {
			b.Run(eng.name+"/"+policy, func(b *testing.B) {
				db := eng.open(b)
				prepare := func(ws *calgate.Workspace) {
					if err := db.SetAvailabilitySettings(ctx, ws.ID, &calgate.AvailabilitySettings{ConflictPolicy: policy, CountTentative: true}); err != nil {
						b.Fatal(err)
					}
				}
				benchNewWorkspaces(b, db, list, prepare, func(res *calgate.BulkResult) {
					if res.Created+res.Failed != n {
						b.Fatalf("created %d, failed %d", res.Created, res.Failed)
					}
				})
			})
		}
	}
}

// BenchmarkUpsertOne measures the latency of one single-entry upsert that
// creates an entry on a resource already holding 10,000 (the path of
// POST /v1/<kind>), conflict check included.
func BenchmarkUpsertOne(b *testing.B) {
	for _, eng := range benchEngines {
		b.Run(eng.name, func(b *testing.B) {
			db := eng.open(b)
			ws := benchWorkspace(b, db, "bench", "UTC")
			timedUpsert(b, db, ws.ID, bulkItems(10000))
			analyze(b, db)
			start := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
			i := 0
			for b.Loop() {
				s := start.Add(time.Duration(i) * time.Hour)
				e := &calgate.Entry{Kind: calgate.KindReservation, Source: "api", ExternalID: fmt.Sprintf("one-%d", i), Title: "One",
					Start: s, End: s.Add(time.Hour), Timezone: "UTC", Status: calgate.StatusConfirmed, Resource: "room-1"}
				i++
				res, err := db.Upsert(ctx, ws.ID, "bench", []calgate.UpsertItem{{Entry: e}}, calgate.UpsertOptions{Verbose: true})
				if err != nil || res.Created != 1 {
					b.Fatalf("upsert: %v %+v", err, res)
				}
			}
		})
	}
}

// BenchmarkAvailability100Resources answers GET /v1/availability's work
// (the busy entries of 100 resources over one month, then busy and free
// intervals within working hours) in a workspace of 50,000 entries
// spread over six months.
func BenchmarkAvailability100Resources(b *testing.B) {
	const total, resources = 50000, 100
	for _, eng := range benchEngines {
		b.Run(eng.name, func(b *testing.B) {
			db := eng.open(b)
			ws := benchWorkspace(b, db, "bench", "Europe/Berlin")
			first := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)
			span := 182 * 24 * time.Hour
			step := span / time.Duration(total/resources)
			list := make([]calgate.UpsertItem, 0, 10000)
			flush := func() {
				timedUpsert(b, db, ws.ID, list)
				list = list[:0]
			}
			for i := range total {
				s := first.Add(time.Duration(i/resources) * step).Truncate(time.Minute)
				list = append(list, calgate.UpsertItem{Entry: &calgate.Entry{Kind: calgate.KindJob, Source: "erp", ExternalID: fmt.Sprintf("e-%06d", i),
					Start: s, End: s.Add(3 * time.Hour), Timezone: "Europe/Berlin", Status: calgate.StatusConfirmed, Resource: fmt.Sprintf("stage-%03d", i%resources)}})
				if len(list) == cap(list) {
					flush()
				}
			}
			if len(list) > 0 {
				flush()
			}
			analyze(b, db)
			names := make([]string, resources)
			for i := range names {
				names[i] = fmt.Sprintf("stage-%03d", i)
			}
			hours := calgate.WorkingHours{}
			for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
				hours[d] = []calgate.TimeRange{{Start: "06:00", End: "22:00"}}
			}
			from := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
			to := from.AddDate(0, 1, 0)
			var busyCount int
			for b.Loop() {
				known, err := db.ResourcesByName(ctx, ws.ID, names)
				if err != nil {
					b.Fatal(err)
				}
				busy, err := db.BusyTimes(ctx, ws.ID, names, from, to, true)
				if err != nil {
					b.Fatal(err)
				}
				busyCount = 0
				for _, n := range names {
					r := known[n]
					r.WorkingHours = hours
					a := calgate.Availability(r, busy[n], from, to, 2*time.Hour)
					busyCount += len(a.Busy)
				}
			}
			if busyCount == 0 {
				b.Fatal("no busy time found")
			}
			b.ReportMetric(float64(busyCount), "busy-intervals")
		})
	}
}
