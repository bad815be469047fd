package caldavsync

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/ical"
	"github.com/calgate/calgate/sync/caldav/caldavtest"
)

// benchWorkers is how many pushes run at once, as queue workers would.
const benchWorkers = 8

// BenchmarkCalDAVPush1000 pushes 1,000 new entries into Radicale through
// the push path (batches of events → wanted versions → the flush jobs of
// the target, run side by side) and reports gateway-puts/s. The path a user
// sees, from the API through the queue, is cmd/calgate's
// BenchmarkCalDAVEndToEnd. In the same run it measures Radicale's own rate
// for 1,000 PUTs from 8 plain HTTP clients of the very objects the gateway
// sends (raw-puts/s; ratio is gateway over raw, the gateway's overhead) and
// of bare five-property events (bare-puts/s; ratio-bare, which adds what
// Radicale spends on the gateway's fuller objects: time zone, categories,
// calgate's properties), and the time from writing one change to the store
// until the server holds it (ingest-to-visible-ms). Run it with
// -benchtime=1x.
func BenchmarkCalDAVPush1000(b *testing.B) {
	const n = 1000
	srv := caldavtest.StartRadicale(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// Radicale slows down as a calendar grows: each side gets a fresh one.
		gwCal := srv.NewCalendar(b, fmt.Sprintf("bench-gw-%d", i), "Gateway", "VEVENT")
		rawCal := srv.NewCalendar(b, fmt.Sprintf("bench-raw-%d", i), "Raw", "VEVENT")
		bareCal := srv.NewCalendar(b, fmt.Sprintf("bench-bare-%d", i), "Bare", "VEVENT")
		srv.CalendarURL = gwCal
		e := newEnv(b, srv)
		e.svc.deps.Client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: benchWorkers}}
		tg := e.target(b, calgate.OnArchiveDelete)

		items := make([]calgate.UpsertItem, n)
		for j := range items {
			doc := fmt.Sprintf(`{"external_id": "bench-%d", "title": "Booking %d", "start": "2026-06-01T09:00:00+02:00", "end": "2026-06-01T10:00:00+02:00", "resource": "room-%d"}`, j, j, j%7)
			en, err := calgate.ParseEntry(calgate.KindReservation, []byte(doc), "Europe/Berlin")
			if err != nil {
				b.Fatal(err)
			}
			items[j].Entry = en
		}
		if _, err := e.db.Upsert(ctx, e.ws, "bench", items, calgate.UpsertOptions{}); err != nil {
			b.Fatal(err)
		}
		entries, _, err := e.db.Entries(ctx, e.ws, calgate.EntryFilter{Limit: n})
		if err != nil || len(entries) != n {
			b.Fatalf("%d entries, %v", len(entries), err)
		}

		b.StartTimer()
		start := time.Now()
		// Batches of 256 events, as the dispatcher cuts them.
		for from := 0; from < len(entries); from += 256 {
			var evs []*calgate.Event
			for k, en := range entries[from:min(from+256, len(entries))] {
				pos := int64(from + k + 1)
				evs = append(evs, &calgate.Event{ID: pos, Position: pos, WorkspaceID: e.ws, Type: calgate.EventEntryCreated, EntryID: en.ID, Entry: en})
			}
			if err := e.svc.HandleEvents(ctx, evs); err != nil {
				b.Fatal(err)
			}
		}
		var jobs [][]byte
		for _, j := range e.jobsOf(JobFlush) {
			jobs = append(jobs, j.Payload)
		}
		parallel(b, len(jobs), func(k int) error { return e.svc.runFlush(ctx, jobs[k]) })
		gwRate := float64(n) / time.Since(start).Seconds()
		b.StopTimer()

		if bl, err := e.db.CalDAVBacklog(ctx, tg.ID); err != nil || bl.Pending != 0 {
			b.Fatalf("backlog after the push: %+v %v", bl, err)
		}
		listing, err := e.svc.Reconcile(ctx, e.reload(b, tg))
		if err != nil || listing.Unchanged != n {
			b.Fatalf("the server does not hold the %d entries: %+v %v", n, listing, err)
		}

		// The gateway's own objects, rendered before the clock starts.
		objects := make([][]byte, n)
		for k, en := range entries {
			c := *en
			c.ID = fmt.Sprintf("raw-%d", k)
			var buf bytes.Buffer
			if err := ical.RenderEntry(&buf, ical.Calendar{}, ical.Event{Entry: &c}); err != nil {
				b.Fatal(err)
			}
			objects[k] = buf.Bytes()
		}
		bare := func(k int) []byte {
			return fmt.Appendf(nil, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\nUID:raw-%d\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260601T070000Z\r\nDTEND:20260601T080000Z\r\nSUMMARY:Booking %d\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", k, k)
		}
		rawRate := rawPuts(b, srv, rawCal, n, func(k int) []byte { return objects[k] })
		bareRate := rawPuts(b, srv, bareCal, n, bare)

		// One change, from the store write to the object on the server.
		start = time.Now()
		items[0].Entry.Title = "Booking 0 (moved)"
		res, err := e.db.Upsert(ctx, e.ws, "bench", items[:1], calgate.UpsertOptions{Verbose: true})
		if err != nil {
			b.Fatal(err)
		}
		changed, err := e.db.Entry(ctx, e.ws, calgate.KindReservation, res.Operations[0].ID, false)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.svc.HandleEvent(ctx, &calgate.Event{WorkspaceID: e.ws, Type: calgate.EventEntryUpdated, EntryID: changed.ID, Entry: changed}); err != nil {
			b.Fatal(err)
		}
		e.push(b, tg, changed)
		visible := time.Since(start)
		if ev := e.serverEvent(b, ObjectName(changed.ID)); ev == nil || prop(ev, "SUMMARY") != "Booking 0 (moved)" {
			b.Fatal("the change is not on the server")
		}

		b.ReportMetric(gwRate, "gateway-puts/s")
		b.ReportMetric(rawRate, "raw-puts/s")
		b.ReportMetric(gwRate/rawRate, "ratio")
		b.ReportMetric(bareRate, "bare-puts/s")
		b.ReportMetric(gwRate/bareRate, "ratio-bare")
		b.ReportMetric(float64(visible.Microseconds())/1000, "ingest-to-visible-ms")
	}
}

// rawPuts PUTs n objects into a calendar from benchWorkers plain HTTP
// clients and returns the rate.
func rawPuts(b *testing.B, srv *caldavtest.Server, cal string, n int, body func(k int) []byte) float64 {
	ctx := context.Background()
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: benchWorkers}}
	start := time.Now()
	parallel(b, n, func(k int) error {
		return srv.Put(ctx, hc, fmt.Sprintf("%sraw-%d.ics", cal, k), body(k))
	})
	return float64(n) / time.Since(start).Seconds()
}

// parallel runs fn for 0..n-1 over benchWorkers goroutines.
func parallel(b *testing.B, n int, fn func(k int) error) {
	if err := caldavtest.Parallel(benchWorkers, n, fn); err != nil {
		b.Fatal(err)
	}
}
