package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/ical"
	"github.com/calgate/calgate/sync/caldav/caldavtest"
)

// BenchmarkCalDAVEndToEnd measures the path a user sees: 300 reservations
// posted in one bulk request, counted from the request until calgate has
// the last object on a real Radicale (objects/s), through the dispatcher,
// the queue, the worker and the flush; first_ms is when the first object
// was there. In the same run, 8 plain kept-alive HTTP connections PUT the
// same objects into another calendar of the same Radicale (raw-puts/s);
// ratio is the gateway over that. "plan" books seven rooms hour after
// hour; "double-booked" puts every booking in the same hour, so the
// request also finds, stores and announces some 6,300 double bookings.
func BenchmarkCalDAVEndToEnd(b *testing.B) {
	rad := caldavtest.StartRadicale(b)
	a, _, addr := benchGateway(b, false)
	api := benchAPI(a, addr)
	for _, v := range []struct {
		name   string
		spread bool
	}{{"plan", true}, {"double-booked", false}} {
		b.Run(v.name, func(b *testing.B) { benchCalDAVEndToEnd(b, a, api, rad, v.name, v.spread) })
	}
}

func benchCalDAVEndToEnd(b *testing.B, a *app, api *benchClient, rad *caldavtest.Server, name string, spread bool) {
	const n = 300
	ctx := context.Background()
	var gwRate, rawRate float64
	var first time.Duration
	round := 0
	for b.Loop() {
		round++
		// Radicale slows down as a calendar grows: each round gets fresh ones.
		gwCal := rad.NewCalendar(b, fmt.Sprintf("e2e-gw-%s-%d", name, round), "Gateway", "VEVENT")
		rawCal := rad.NewCalendar(b, fmt.Sprintf("e2e-raw-%s-%d", name, round), "Raw", "VEVENT")
		token := api.workspace(b, fmt.Sprintf("caldav-%s-%d-%d", name, round, time.Now().UnixNano()), nil, 0)
		api.post(b, token, "/v1/caldav-targets", map[string]any{"url": rad.URL, "username": rad.Username, "password": rad.Password,
			"calendar": gwCal, "kinds": []string{"reservation"}}, http.StatusCreated)
		ws, err := a.store.TokenByHash(ctx, calgate.HashSecret(token))
		if err != nil {
			b.Fatal(err)
		}
		targets, err := a.store.CalDAVTargets(ctx, ws.Workspace.ID)
		if err != nil || len(targets) != 1 {
			b.Fatalf("targets: %v %v", targets, err)
		}
		// The target's first reconciliation (of an empty selection) is
		// done before the clock starts.
		time.Sleep(time.Second)
		items := make([]map[string]any, n)
		for i := range items {
			items[i] = caldavReservation(i, spread)
		}
		began := time.Now()
		api.post(b, token, "/v1/reservations/bulk", map[string]any{"items": items}, http.StatusOK)
		// Checked every 20 ms (under 1 % of a round): reading 300 objects
		// every millisecond took a good part of a core from the gateway.
		first = 0
		waitEvery(b, 20*time.Millisecond, func() bool {
			k := pushedObjects(b, a, targets[0].ID)
			if k > 0 && first == 0 {
				first = time.Since(began)
			}
			return k == n
		})
		gwRate = float64(n) / time.Since(began).Seconds()

		entries, _, err := a.store.Entries(ctx, ws.Workspace.ID, calgate.EntryFilter{Limit: n})
		if err != nil || len(entries) != n {
			b.Fatalf("%d entries, %v", len(entries), err)
		}
		objects := make([][]byte, n)
		for k, en := range entries {
			var buf bytes.Buffer
			if err := ical.RenderEntry(&buf, ical.Calendar{}, ical.Event{Entry: en}); err != nil {
				b.Fatal(err)
			}
			objects[k] = buf.Bytes()
		}
		rawRate = rawCalDAVPuts(b, rad, rawCal, objects)
	}
	b.ReportMetric(gwRate, "objects/s")
	b.ReportMetric(rawRate, "raw-puts/s")
	b.ReportMetric(gwRate/rawRate, "ratio")
	b.ReportMetric(float64(first.Microseconds())/1000, "first_ms")
}

// caldavReservation is the i-th reservation of a round: seven rooms, each
// booked hour after hour (spread), or every booking at the same hour, so
// that each room is double-booked about 40 times over.
func caldavReservation(i int, spread bool) map[string]any {
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	if spread {
		start = start.Add(time.Duration(i/7) * time.Hour)
	}
	return map[string]any{"external_id": fmt.Sprintf("R-%d", i), "resource": fmt.Sprintf("Room %d", i%7), "title": fmt.Sprintf("Booking %d", i),
		"start": start.Format(time.RFC3339), "end": start.Add(time.Hour).Format(time.RFC3339)}
}

// pushedObjects counts the objects of a target that the server holds at
// the wanted version.
func pushedObjects(b *testing.B, a *app, targetID string) int {
	objs, err := a.store.CalDAVObjects(context.Background(), targetID)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, o := range objs {
		if o.State == calgate.CalDAVObjectPresent && o.PushedVersion >= o.WantedVersion && o.PushedVersion > 0 {
			n++
		}
	}
	return n
}

// rawCalDAVPuts PUTs the objects into a calendar from 8 plain kept-alive
// HTTP connections and returns objects/s.
func rawCalDAVPuts(b *testing.B, srv *caldavtest.Server, cal string, objects [][]byte) float64 {
	const conns = 8
	ctx := context.Background()
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	began := time.Now()
	err := caldavtest.Parallel(conns, len(objects), func(k int) error {
		return srv.Put(ctx, hc, fmt.Sprintf("%sraw-%d.ics", cal, k), objects[k])
	})
	if err != nil {
		b.Fatal(err)
	}
	return float64(len(objects)) / time.Since(began).Seconds()
}
