package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// problemOf decodes a problem document and checks its content type.
func problemOf(t *testing.T, status int, data []byte, h http.Header, want int) map[string]any {
	t.Helper()
	if status != want || h.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d (%s), want %d problem+json: %s", status, h.Get("Content-Type"), want, data)
	}
	return decode(t, data)
}

// fieldsOf lists the fields a problem's errors name.
func fieldsOf(p map[string]any) []string {
	var out []string
	errs, _ := p["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

// eventsOfType lists the data of the change feed's events of one type.
func eventsOfType(t *testing.T, g *testGateway, typ string) []map[string]any {
	t.Helper()
	body := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/events?limit=1000&types="+typ, nil))
	var out []map[string]any
	for _, it := range body["items"].([]any) {
		out = append(out, it.(map[string]any)["data"].(map[string]any))
	}
	return out
}

func TestResourcesCatalogueCreatedOnFirstUseAndRenamed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		job := postEntry(t, g, g.Token, "jobs", map[string]any{"external_id": "J-1", "workstage": "Welding", "start": "2025-10-27 08:00:00", "end": "2025-10-27 10:00:00"})
		list := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/resources", nil))["items"].([]any)
		if len(list) != 1 {
			t.Fatalf("resources = %v", list)
		}
		r := list[0].(map[string]any)
		if r["name"] != "Welding" || r["capacity"] != float64(1) || r["timezone"] != "Europe/Berlin" || r["working_hours"] != nil || r["conflict_policy"] != "" {
			t.Fatalf("created on first use = %v", r)
		}
		id := r["id"].(string)
		// Bad settings: 422 naming each field.
		status, data, h := g.call(t, "POST", "/v1/resources", map[string]any{"name": "Room\n3", "capacity": 0, "timezone": "Mars/Base",
			"working_hours": map[string]any{"mon": []any{map[string]any{"start": "17:00", "end": "09:00"}}}, "closed_dates": []string{"2025-02-30"}, "conflict_policy": "sometimes"})
		p := problemOf(t, status, data, h, http.StatusUnprocessableEntity)
		for _, f := range []string{"name", "capacity", "timezone", "working_hours.mon[0].end", "closed_dates[0]", "conflict_policy"} {
			if !slices.Contains(fieldsOf(p), f) {
				t.Errorf("no error for %s: %v", f, fieldsOf(p))
			}
		}
		status, data, h = g.call(t, "POST", "/v1/resources", map[string]any{"name": "Welding"})
		problemOf(t, status, data, h, http.StatusConflict)
		status, data, h = g.call(t, "POST", "/v1/resources", map[string]any{"name": "Painting", "colour": "red"})
		if p := problemOf(t, status, data, h, http.StatusBadRequest); !slices.Contains(fieldsOf(p), "colour") {
			t.Fatalf("unknown field not named: %v", p)
		}
		room := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/resources", map[string]any{"name": "Painting", "kind": "machine", "capacity": 2,
			"timezone": "America/New_York", "working_hours": map[string]any{"mon": []any{map[string]any{"start": "09:00", "end": "17:00"}}}, "closed_dates": []string{"2025-12-25"}}))
		if room["capacity"] != float64(2) || room["timezone"] != "America/New_York" || room["kind"] != "machine" {
			t.Fatalf("created = %v", room)
		}
		// A rename follows into the entries, with a new version and event.
		status, data, h = g.call(t, "PATCH", "/v1/resources/"+id, map[string]any{"name": "Painting"})
		problemOf(t, status, data, h, http.StatusConflict)
		renamed := decode(t, g.mustCall(t, http.StatusOK, "PATCH", "/v1/resources/"+id, map[string]any{"name": "Welding hall 2"}))
		if renamed["name"] != "Welding hall 2" || renamed["capacity"] != float64(1) {
			t.Fatalf("renamed = %v", renamed)
		}
		entry := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/jobs/"+job, nil))
		if entry["workstage"] != "Welding hall 2" || entry["version"] != float64(2) {
			t.Fatalf("entry after rename = %v", entry)
		}
		// Other workspaces see none of it.
		other := g.newWorkspaceToken(t, "other")
		status, data, h = g.callAs(t, other, "GET", "/v1/resources/"+id, nil)
		problemOf(t, status, data, h, http.StatusNotFound)
		status, data, _ = g.callAs(t, other, "GET", "/v1/resources", nil)
		if status != http.StatusOK || len(decode(t, data)["items"].([]any)) != 0 {
			t.Fatalf("other workspace lists %s", data)
		}
		g.mustCall(t, http.StatusNoContent, "DELETE", "/v1/resources/"+room["id"].(string), nil)
		g.mustCall(t, http.StatusNotFound, "GET", "/v1/resources/"+room["id"].(string), nil)
	})
}

func TestDoubleBookingWarnReportsAndResolves(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		first := postEntry(t, g, g.Token, "jobs", map[string]any{"external_id": "J-1", "workstage": "Welding", "start": "2025-10-27 08:00:00", "end": "2025-10-27 10:00:00"})
		// End equal to start: no conflict.
		touching := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs",
			map[string]any{"external_id": "J-2", "workstage": "Welding", "start": "2025-10-27 10:00:00", "end": "2025-10-27 11:00:00"}))
		if touching["conflicts"] != nil {
			t.Fatalf("touching entries conflict: %v", touching)
		}
		second := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs",
			map[string]any{"external_id": "J-3", "workstage": "Welding", "start": "2025-10-27 09:00:00", "end": "2025-10-27 09:30:00"}))
		cf, _ := second["conflicts"].([]any)
		if len(cf) != 1 {
			t.Fatalf("answer = %v, want one conflict", second)
		}
		c := cf[0].(map[string]any)
		if c["entry_id"] != first || c["external_id"] != "J-1" || c["start"] != "2025-10-27T08:00:00Z" || c["end"] != "2025-10-27T08:30:00Z" {
			t.Fatalf("conflict = %v", c)
		}
		list := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/conflicts?resource=Welding", nil))["items"].([]any)
		if len(list) != 1 || !slices.Contains(toStrings(list[0].(map[string]any)["entries"]), first) {
			t.Fatalf("conflicts = %v", list)
		}
		if n := len(decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/conflicts?resource=Painting", nil))["items"].([]any)); n != 0 {
			t.Fatalf("%d conflicts on Painting", n)
		}
		if n := len(decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/conflicts?from=2025-10-28", nil))["items"].([]any)); n != 0 {
			t.Fatalf("%d conflicts after the 28th", n)
		}
		if got := eventsOfType(t, g, "entry.conflicted"); len(got) != 2 {
			t.Fatalf("entry.conflicted events = %v, want 2", got)
		}
		// PUT and PATCH answer with the conflicts too.
		put := decode(t, g.mustCall(t, http.StatusOK, "PUT", "/v1/jobs/"+second["id"].(string), map[string]any{"external_id": "J-3", "source": second["source"],
			"workstage": "Welding", "start": "2025-10-27 09:00:00", "end": "2025-10-27 09:30:00", "title": "Weld again"}))
		patched := decode(t, g.mustCall(t, http.StatusOK, "PATCH", "/v1/jobs/"+second["id"].(string), map[string]any{"title": "Weld once more"}))
		for what, answer := range map[string]map[string]any{"PUT": put, "PATCH": patched} {
			cf, _ := answer["conflicts"].([]any)
			if len(cf) != 1 || cf[0].(map[string]any)["entry_id"] != first || cf[0].(map[string]any)["end"] != "2025-10-27T08:30:00Z" {
				t.Fatalf("%s answer = %v, want its conflict with %s", what, answer, first)
			}
		}
		// Moving J-3 resolves it, and its answer has no conflicts.
		moved := decode(t, g.mustCall(t, http.StatusOK, "PATCH", "/v1/jobs/"+second["id"].(string), map[string]any{"start": "2025-10-27 12:00:00", "end": "2025-10-27 13:00:00"}))
		if _, ok := moved["conflicts"]; ok {
			t.Fatalf("moved answer = %v, want no conflicts", moved)
		}
		if n := len(decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/conflicts", nil))["items"].([]any)); n != 0 {
			t.Fatalf("%d conflicts after the move", n)
		}
		resolved := eventsOfType(t, g, "entry.conflict_resolved")
		var ids []string
		for _, d := range resolved {
			ids = append(ids, d["entry_id"].(string))
		}
		slices.Sort(ids)
		want := []string{first, second["id"].(string)}
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("resolved for %v, want %v", ids, want)
		}
		status, data, h := g.call(t, "GET", "/v1/conflicts?from=tomorrow", nil)
		if p := problemOf(t, status, data, h, http.StatusBadRequest); !slices.Contains(fieldsOf(p), "from") {
			t.Fatalf("bad from not named: %v", p)
		}
	})
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestDoubleBookingRejectInSingleAndBulkWrites(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		status, data, h := g.call(t, "PUT", "/v1/availability/settings", map[string]any{"conflict_policy": "never"})
		problemOf(t, status, data, h, http.StatusUnprocessableEntity)
		st := decode(t, g.mustCall(t, http.StatusOK, "PUT", "/v1/availability/settings", map[string]any{"conflict_policy": "reject"}))
		if st["conflict_policy"] != "reject" || st["count_tentative"] != true {
			t.Fatalf("settings = %v", st)
		}
		first := postEntry(t, g, g.Token, "reservations", map[string]any{"external_id": "R-1", "resource": "Room 3", "start": "2025-11-01", "end": "2025-11-03"})
		status, data, h = g.call(t, "POST", "/v1/reservations", map[string]any{"external_id": "R-2", "resource": "Room 3",
			"start": "2025-11-02T15:00:00+01:00", "end": "2025-11-04T10:00:00+01:00"})
		p := problemOf(t, status, data, h, http.StatusConflict)
		cf, _ := p["conflicts"].([]any)
		if p["type"] != "urn:calgate:problem:double-booking" || len(cf) != 1 || cf[0].(map[string]any)["entry_id"] != first || !strings.Contains(p["detail"].(string), first) {
			t.Fatalf("problem = %v", p)
		}
		g.mustCall(t, http.StatusOK, "GET", "/v1/reservations?external_id=R-2", nil)
		if items := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/reservations?external_id=R-2", nil))["items"].([]any); len(items) != 0 {
			t.Fatal("a refused reservation was written")
		}
		// Bulk: only the overbooking item fails.
		res := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/reservations/bulk", map[string]any{"items": []any{
			map[string]any{"external_id": "R-3", "resource": "Room 3", "start": "2025-11-03", "end": "2025-11-04"},
			map[string]any{"external_id": "R-4", "resource": "Room 3", "start": "2025-11-02", "end": "2025-11-03"},
			map[string]any{"external_id": "R-5", "resource": "Room 4", "start": "2025-11-02", "end": "2025-11-03"},
		}}))
		errs := res["errors"].([]any)
		if res["created"] != float64(2) || res["failed"] != float64(1) || len(errs) != 1 {
			t.Fatalf("bulk = %v", res)
		}
		item := errs[0].(map[string]any)
		if item["external_id"] != "R-4" || item["index"] != float64(1) || len(item["conflicts"].([]any)) != 1 || item["errors"].([]any)[0].(map[string]any)["field"] != "resource" {
			t.Fatalf("failed item = %v", item)
		}
		// A PATCH that would overbook is refused too.
		r3 := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/reservations?external_id=R-3", nil))["items"].([]any)[0].(map[string]any)
		status, data, h = g.call(t, "PATCH", "/v1/reservations/"+r3["id"].(string), map[string]any{"start": "2025-11-02"})
		problemOf(t, status, data, h, http.StatusConflict)
		// Tentative entries do not count once the workspace says so.
		g.mustCall(t, http.StatusOK, "PUT", "/v1/availability/settings", map[string]any{"count_tentative": false})
		g.mustCall(t, http.StatusCreated, "POST", "/v1/reservations", map[string]any{"external_id": "R-6", "resource": "Room 3", "status": "tentative",
			"start": "2025-11-01", "end": "2025-11-02"})
	})
}

// daysFromNow is a UTC date n days from today.
func daysFromNow(n int) time.Time {
	d := time.Now().UTC().AddDate(0, 0, n)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
}

func TestSubscriptionBlocksCountAsBusy(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		feed := newICSServer(t, airbnbFeed(airbnbBlocks...))
		sub := g.subscribe(t, feed.URL+"/calendar/ical/123.ics", "cabin-7")
		if sub["state"] != "ok" {
			t.Fatalf("subscription = %v", sub)
		}
		g.mustCall(t, http.StatusOK, "PATCH", "/v1/resources/"+resourceID(t, g, "cabin-7"), map[string]any{"timezone": "UTC"})
		from, to := daysFromNow(5), daysFromNow(30)
		q := "/v1/availability?resources=cabin-7&from=" + url.QueryEscape(from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(to.Format(time.RFC3339))
		a := decode(t, g.mustCall(t, http.StatusOK, "GET", q, nil))["resources"].([]any)[0].(map[string]any)
		berlin := mustZone(t, "Europe/Berlin")
		day := func(n int) string {
			d := time.Now().UTC().AddDate(0, 0, n)
			return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, berlin).UTC().Format(time.RFC3339)
		}
		busy := a["busy"].([]any)
		if len(busy) != 2 || busy[0].(map[string]any)["start"] != day(10) || busy[0].(map[string]any)["end"] != day(14) ||
			busy[1].(map[string]any)["start"] != day(20) || busy[1].(map[string]any)["end"] != day(25) {
			t.Fatalf("busy = %v, want the blocks %s..%s and %s..%s", busy, day(10), day(14), day(20), day(25))
		}
		// A booking over a block is a conflict with the subscription's entry.
		r := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/reservations", map[string]any{"external_id": "direct-1", "resource": "cabin-7",
			"start": airbnbDay(12), "end": airbnbDay(13)}))
		if cf, _ := r["conflicts"].([]any); len(cf) != 1 || cf[0].(map[string]any)["external_id"] != airbnbBlocks[0].uid {
			t.Fatalf("answer = %v", r)
		}
	})
}

// resourceID finds a resource's id by name.
func resourceID(t *testing.T, g *testGateway, name string) string {
	t.Helper()
	for _, it := range decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/resources?limit=1000", nil))["items"].([]any) {
		if r := it.(map[string]any); r["name"] == name {
			return r["id"].(string)
		}
	}
	t.Fatalf("no resource %q", name)
	return ""
}

func TestAvailabilityWithinWorkingHoursAcrossTimeZones(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		weekdays := map[string]any{}
		for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
			weekdays[d] = []any{map[string]any{"start": "09:00", "end": "17:00"}}
		}
		g.mustCall(t, http.StatusCreated, "POST", "/v1/resources", map[string]any{"name": "Press NY", "timezone": "America/New_York", "working_hours": weekdays,
			"closed_dates": []string{"2025-11-04"}})
		g.mustCall(t, http.StatusCreated, "POST", "/v1/resources", map[string]any{"name": "Press Berlin", "timezone": "Europe/Berlin", "working_hours": weekdays})
		// 10:00-12:00 in New York; 2025-11-03 is the Monday after the
		// clocks went back there (UTC-5).
		postEntry(t, g, g.Token, "jobs", map[string]any{"external_id": "ny-1", "workstage": "Press NY", "start": "2025-11-03T10:00:00-05:00", "end": "2025-11-03T12:00:00-05:00"})
		// A cancelled and an archived entry never make a resource busy.
		postEntry(t, g, g.Token, "jobs", map[string]any{"external_id": "ny-2", "workstage": "Press NY", "status": "cancelled", "start": "2025-11-03T13:00:00-05:00", "end": "2025-11-03T14:00:00-05:00"})
		gone := postEntry(t, g, g.Token, "jobs", map[string]any{"external_id": "ny-3", "workstage": "Press NY", "start": "2025-11-03T15:00:00-05:00", "end": "2025-11-03T16:00:00-05:00"})
		g.mustCall(t, http.StatusOK, "DELETE", "/v1/jobs/"+gone, nil)
		// Another workspace's bookings of a resource of the same name count
		// for nothing here.
		other := g.newWorkspaceToken(t, "other")
		postEntry(t, g, other, "jobs", map[string]any{"external_id": "x", "workstage": "Press NY", "start": "2025-11-03T09:00:00-05:00", "end": "2025-11-03T17:00:00-05:00"})

		q := "/v1/availability?resources=Press%20NY,Press%20Berlin&from=2025-11-03T00:00:00Z&to=2025-11-05T00:00:00Z&duration=PT2H"
		res := decode(t, g.mustCall(t, http.StatusOK, "GET", q, nil))["resources"].([]any)
		ny, berlin := res[0].(map[string]any), res[1].(map[string]any)
		if got := intervals(ny["busy"]); !slices.Equal(got, []string{"2025-11-03T10:00:00-05:00/2025-11-03T12:00:00-05:00"}) {
			t.Fatalf("NY busy = %v", got)
		}
		// 09:00-10:00 is shorter than two hours; the 4th is closed.
		if got := intervals(ny["free"]); !slices.Equal(got, []string{"2025-11-03T12:00:00-05:00/2025-11-03T17:00:00-05:00"}) {
			t.Fatalf("NY free = %v", got)
		}
		if got := intervals(berlin["free"]); !slices.Equal(got, []string{"2025-11-03T09:00:00+01:00/2025-11-03T17:00:00+01:00", "2025-11-04T09:00:00+01:00/2025-11-04T17:00:00+01:00"}) {
			t.Fatalf("Berlin free = %v", got)
		}
		// Both free at once for two hours: 12:00-14:00 New York is
		// 18:00-20:00 in Berlin, after its hours; nothing on the 3rd.
		slots := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/availability/query", map[string]any{"resources": []string{"Press NY", "Press Berlin"},
			"from": "2025-11-03T00:00:00Z", "to": "2025-11-05T00:00:00Z", "duration": "PT2H", "interval": "PT1H", "timezone": "UTC"}))["slots"].([]any)
		if len(slots) != 0 {
			t.Fatalf("all free at once: %v", slots)
		}
		any1 := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/availability/query", map[string]any{"resources": []string{"Press NY", "Press Berlin"},
			"from": "2025-11-03T14:00:00Z", "to": "2025-11-03T20:00:00Z", "duration": "PT2H", "interval": "PT1H", "min_free": 1, "timezone": "UTC"}))["slots"].([]any)
		var got []string
		for _, s := range any1 {
			m := s.(map[string]any)
			got = append(got, fmt.Sprintf("%s/%s %s", m["start"], m["end"], strings.Join(toStrings(m["resources"]), "+")))
		}
		want := []string{"2025-11-03T14:00:00Z/2025-11-03T16:00:00Z Press Berlin", "2025-11-03T17:00:00Z/2025-11-03T19:00:00Z Press NY",
			"2025-11-03T18:00:00Z/2025-11-03T20:00:00Z Press NY"}
		if !slices.Equal(got, want) {
			t.Fatalf("any one free:\n got %v\nwant %v", got, want)
		}
		for _, bad := range []struct{ query, field string }{
			{"/v1/availability?from=2025-11-03&to=2025-11-04", "resources"},
			{"/v1/availability?resources=a&to=2025-11-04", "from"},
			{"/v1/availability?resources=a&from=2025-11-04&to=2025-11-03", "to"},
			{"/v1/availability?resources=a&from=2025-01-01&to=2025-12-31", "to"},
			{"/v1/availability?resources=a&from=2025-11-03&to=2025-11-04&duration=2h", "duration"},
			{"/v1/availability?from=2025-11-03&to=2025-11-04&resources=" + manyNames(201), "resources"},
		} {
			status, data, h := g.call(t, "GET", bad.query, nil)
			if p := problemOf(t, status, data, h, http.StatusBadRequest); !slices.Contains(fieldsOf(p), bad.field) {
				t.Errorf("%s: %v does not name %s", bad.query, fieldsOf(p), bad.field)
			}
		}
		// Every minute of a month, each slot free: too many slots.
		status, data, h := g.call(t, "POST", "/v1/availability/query", map[string]any{"resources": []string{"a"}, "from": "2025-11-01", "to": "2025-12-01",
			"duration": "PT1M", "interval": "PT1M"})
		if p := problemOf(t, status, data, h, http.StatusUnprocessableEntity); !slices.Contains(fieldsOf(p), "interval") {
			t.Fatalf("too many slots: %v", p)
		}
		status, data, h = g.call(t, "POST", "/v1/availability/query", map[string]any{"resources": []string{"a"}, "from": "2025-11-03", "to": "2025-11-04", "min_free": 2})
		if p := problemOf(t, status, data, h, http.StatusUnprocessableEntity); !slices.Contains(fieldsOf(p), "min_free") || !slices.Contains(fieldsOf(p), "duration") {
			t.Fatalf("query problem = %v", p)
		}
	})
}

func intervals(v any) []string {
	out := []string{}
	for _, x := range v.([]any) {
		m := x.(map[string]any)
		out = append(out, m["start"].(string)+"/"+m["end"].(string))
	}
	return out
}

func TestAvailabilityFeedShowsBusyTimeOnly(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		_, path := createFeed(t, g, g.Token, map[string]any{"name": "Room 3 availability", "resources": []string{"Room 3"}, "availability": true})
		postEntry(t, g, g.Token, "reservations", map[string]any{"external_id": "R-1", "resource": "Room 3", "title": "Ada Lovelace's stay",
			"description": "door code 4711", "location": "Room 3", "start": "2027-06-01T14:00:00+02:00", "end": "2027-06-03T10:00:00+02:00",
			"customer": map[string]any{"name": "Ada Lovelace", "email": "ada@example.com"}})
		postEntry(t, g, g.Token, "reservations", map[string]any{"external_id": "R-2", "resource": "Room 3", "title": "Grace Hopper",
			"start": "2027-06-03T09:00:00+02:00", "end": "2027-06-05T10:00:00+02:00"})
		postEntry(t, g, g.Token, "reservations", map[string]any{"external_id": "R-3", "resource": "Room 3", "title": "Alan Turing", "status": "cancelled",
			"start": "2027-06-10T14:00:00+02:00", "end": "2027-06-12T10:00:00+02:00"})
		postEntry(t, g, g.Token, "reservations", map[string]any{"external_id": "R-4", "resource": "Room 4", "title": "elsewhere",
			"start": "2027-06-20T14:00:00+02:00", "end": "2027-06-22T10:00:00+02:00"})
		var body []byte
		eventually(t, "the availability feed to show the busy time", func() bool {
			body = mustFetchFeed(t, g, path)
			// Both bookings, merged into one busy interval.
			return bytes.Count(body, []byte("BEGIN:VEVENT")) == 1 && bytes.Contains(body, []byte("DTEND:20270605T080000Z"))
		})
		for _, secret := range []string{"Ada", "Lovelace", "door code", "Grace", "Turing", "ada@example.com", "R-1", "ent_"} {
			if bytes.Contains(body, []byte(secret)) {
				t.Fatalf("the availability feed shows %q:\n%s", secret, body)
			}
		}
		start, end := wall(t, "Europe/Berlin", "2027-06-01 14:00:00"), wall(t, "Europe/Berlin", "2027-06-05 10:00:00")
		for parser, seen := range parseWithClients(t, body) {
			if seen.Method != "PUBLISH" || len(seen.Events) != 1 {
				t.Fatalf("%s: %+v", parser, seen)
			}
			ev := seen.Events[0]
			if ev.Summary != "Busy" || ev.Description != "" || ev.Location != "" {
				t.Errorf("%s: event %+v shows detail", parser, ev)
			}
			checkTime(t, parser, "busy start", ev.Start, start, "")
			checkTime(t, parser, "busy end", ev.End, end, "")
			if parser == "go-ical" {
				continue
			}
			if len(seen.FreeBusy) != 1 || seen.FreeBusy[0].Start != start.Unix() || seen.FreeBusy[0].End != end.Unix() || seen.FreeBusy[0].Type != "BUSY" {
				t.Errorf("%s: VFREEBUSY periods %+v, want one BUSY %s/%s", parser, seen.FreeBusy, start.UTC(), end.UTC())
			}
		}
	})
}

// TestAvailabilityFeedCountsCapacity publishes two resources: a hall that
// carries two bookings at once is busy only while two run; a booth of
// capacity 1 whenever one does.
func TestAvailabilityFeedCountsCapacity(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		g.mustCall(t, http.StatusCreated, "POST", "/v1/resources", map[string]any{"name": "Hall", "capacity": 2})
		_, path := createFeed(t, g, g.Token, map[string]any{"name": "Hall and Booth", "resources": []string{"Hall", "Booth"}, "availability": true})
		for i, b := range [][3]string{
			{"Hall", "2027-06-01T10:00:00Z", "2027-06-01T12:00:00Z"},
			{"Hall", "2027-06-01T11:00:00Z", "2027-06-01T13:00:00Z"},
			{"Hall", "2027-06-01T14:00:00Z", "2027-06-01T15:00:00Z"},
			{"Booth", "2027-06-01T16:00:00Z", "2027-06-01T17:00:00Z"},
		} {
			postEntry(t, g, g.Token, "reservations", map[string]any{"external_id": fmt.Sprintf("R-%d", i), "resource": b[0], "start": b[1], "end": b[2]})
		}
		var body []byte
		eventually(t, "the availability feed to show the busy time", func() bool {
			body = mustFetchFeed(t, g, path)
			return bytes.Count(body, []byte("BEGIN:VEVENT")) == 2
		})
		want := [][2]time.Time{
			{time.Date(2027, 6, 1, 11, 0, 0, 0, time.UTC), time.Date(2027, 6, 1, 12, 0, 0, 0, time.UTC)},
			{time.Date(2027, 6, 1, 16, 0, 0, 0, time.UTC), time.Date(2027, 6, 1, 17, 0, 0, 0, time.UTC)},
		}
		for parser, seen := range parseWithClients(t, body) {
			if len(seen.Events) != 2 {
				t.Fatalf("%s: %d events, want 2: %+v", parser, len(seen.Events), seen)
			}
			for i, ev := range seen.Events {
				checkTime(t, parser, "busy start", ev.Start, want[i][0], "")
				checkTime(t, parser, "busy end", ev.End, want[i][1], "")
			}
			if parser == "go-ical" {
				continue
			}
			if len(seen.FreeBusy) != 2 {
				t.Fatalf("%s: VFREEBUSY periods %+v, want 2", parser, seen.FreeBusy)
			}
			for i, p := range seen.FreeBusy {
				if p.Start != want[i][0].Unix() || p.End != want[i][1].Unix() || p.Type != "BUSY" {
					t.Errorf("%s: period %d = %+v, want BUSY %s/%s", parser, i, p, want[i][0], want[i][1])
				}
			}
		}
	})
}

func TestResourcesImportCSV(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		postEntry(t, g, g.Token, "reservations", map[string]any{"external_id": "R-1", "resource": "Room 1", "start": "2025-11-01", "end": "2025-11-02"})
		file := "\ufeffName,Quantity,Kind,Timezone,Working_Hours,Closed_Dates\r\n" +
			"Room 1,2,room,Europe/Berlin,mon-fri 09:00-17:00,2025-12-24;2025-12-25\r\n" +
			"Room 2,,room,America/New_York,,\r\n" +
			"Room 3,zero,room,,,\r\n" +
			"Room 4,1,room,,mon 17:00-09:00,\r\n" +
			"\"Room \"\"5\"\"\",1,room,,sat-sun 10:00-14:00,\r\n"
		status, data, _ := g.call(t, "POST", "/v1/resources/import", file, "Content-Type", "text/csv")
		if status != http.StatusOK {
			t.Fatalf("import: %d %s", status, data)
		}
		res := decode(t, data)
		if res["created"] != float64(2) || res["updated"] != float64(1) || res["failed"] != float64(2) {
			t.Fatalf("import result = %v", res)
		}
		errs := res["errors"].([]any)
		first, second := errs[0].(map[string]any), errs[1].(map[string]any)
		if first["ref"] != "line 4" || first["external_id"] != "Room 3" || first["errors"].([]any)[0].(map[string]any)["field"] != "capacity" ||
			second["ref"] != "line 5" || !strings.HasPrefix(second["errors"].([]any)[0].(map[string]any)["field"].(string), "working_hours") {
			t.Fatalf("errors = %v", errs)
		}
		room1 := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/resources/"+resourceID(t, g, "Room 1"), nil))
		wh := room1["working_hours"].(map[string]any)
		if room1["capacity"] != float64(2) || len(wh) != 5 || wh["sat"] != nil || len(room1["closed_dates"].([]any)) != 2 {
			t.Fatalf("Room 1 = %v", room1)
		}
		resourceID(t, g, `Room "5"`)
		// The same file again changes nothing.
		res = decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/resources/import", file, "Content-Type", "text/csv"))
		if res["unchanged"] != float64(3) || res["failed"] != float64(2) {
			t.Fatalf("second import = %v", res)
		}
		status, data, h := g.call(t, "POST", "/v1/resources/import", "name,colour\r\nRoom 9,red\r\n", "Content-Type", "text/csv")
		if p := problemOf(t, status, data, h, http.StatusBadRequest); !slices.Contains(fieldsOf(p), "columns[1]") {
			t.Fatalf("unknown column not named: %v", p)
		}
		status, data, h = g.call(t, "POST", "/v1/resources/import", file, "Content-Type", "application/json")
		problemOf(t, status, data, h, http.StatusUnsupportedMediaType)
		big := "name\r\n" + strings.ReplaceAll(manyNames(10001), ",", "\r\n") + "\r\n"
		status, data, h = g.call(t, "POST", "/v1/resources/import", big, "Content-Type", "text/csv")
		problemOf(t, status, data, h, http.StatusRequestEntityTooLarge)
		if n := len(decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/resources?limit=1000", nil))["items"].([]any)); n != 3 {
			t.Fatalf("%d resources after a refused file, want 3 (Room 1, Room 2, Room \"5\")", n)
		}
	})
}

// manyNames is a comma-separated list of n resource names.
func manyNames(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("r%d", i)
	}
	return strings.Join(names, ",")
}
