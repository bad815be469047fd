package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Regression tests of the hardening rules: every bad input is a 4xx naming
// its field, the same on SQLite and PostgreSQL; in a bulk or an import
// only the bad item fails.

// expectProblem sends a request and checks the status and that the
// problem names the field.
func (g *testGateway) expectProblem(t *testing.T, status int, field, method, path string, body any, headers ...string) {
	t.Helper()
	got, data, hdr := g.call(t, method, path, body, headers...)
	if got != status {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, status, data)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("%s %s: Content-Type %q: %s", method, path, ct, data)
	}
	if field == "" {
		return
	}
	for _, f := range problemFields(t, data) {
		if f == field {
			return
		}
	}
	t.Fatalf("%s %s: the problem does not name %q: %s", method, path, field, data)
}

// bulkErrorFields returns, per failed item index, the fields its errors
// name.
func bulkErrorFields(t *testing.T, rep map[string]any) map[int][]string {
	t.Helper()
	out := map[int][]string{}
	for _, it := range rep["errors"].([]any) {
		e := it.(map[string]any)
		i := int(e["index"].(float64))
		errs, _ := e["errors"].([]any)
		for _, fe := range errs {
			out[i] = append(out[i], fe.(map[string]any)["field"].(string))
		}
		if len(errs) == 0 {
			out[i] = append(out[i], "reason: "+fmt.Sprint(e["reason"]))
		}
	}
	return out
}

func job(ext string, fields ...any) map[string]any {
	m := map[string]any{"external_id": ext, "workstage": "Welding", "start": "2026-03-02 08:00:00", "end": "2026-03-02 10:00:00"}
	for i := 0; i+1 < len(fields); i += 2 {
		m[fields[i].(string)] = fields[i+1]
	}
	return m
}

func countJobs(t *testing.T, g *testGateway, query string) int {
	t.Helper()
	list := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/jobs?limit=1000&include_archived=true"+query, nil))
	return len(list["items"].([]any))
}

func TestHardeningTimesOutsideTheStoredRangeAre422OnEveryWritePath(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		// The missing end of an all-day entry on 9999-12-31 would be year
		// 10000; the start alone is past the range already.
		g.expectProblem(t, 422, "start", "POST", "/v1/jobs", map[string]any{"external_id": "Y", "workstage": "W", "start": "9999-12-31", "all_day": true})
		g.expectProblem(t, 422, "start", "POST", "/v1/jobs", job("Y", "start", "2999-12-31T23:00:00-14:00", "end", "2999-12-31T23:30:00-14:00"))
		// In range locally, but the derived end is 3000-01-01T05:00Z.
		g.expectProblem(t, 422, "end", "POST", "/v1/jobs", map[string]any{"external_id": "Y", "workstage": "W", "start": "2999-12-31",
			"all_day": true, "timezone": "America/New_York"})
		g.expectProblem(t, 422, "start", "POST", "/v1/jobs", job("Y", "start", "0001-01-01T00:00:00Z", "end", "0001-01-01T01:00:00Z"))
		g.expectProblem(t, 422, "start", "POST", "/v1/jobs", job("Y", "start", "0000-01-01", "end", "0000-01-02"))
		// The edges themselves are stored and read back.
		edge := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs", job("edge", "start", "1900-01-01T00:00:00Z", "end", "2999-12-31T23:00:00Z", "timezone", "UTC")))
		if edge["start"] != "1900-01-01T00:00:00Z" || edge["end"] != "2999-12-31T23:00:00Z" {
			t.Fatalf("edge entry = %v", edge)
		}
		id := edge["id"].(string)
		g.expectProblem(t, 422, "end", "PATCH", "/v1/jobs/"+id, map[string]any{"end": "3000-01-01T00:00:01Z"})
		g.expectProblem(t, 422, "start", "PUT", "/v1/jobs/"+id, job("edge", "start", "9999-12-31T00:00:00Z", "end", "9999-12-31T01:00:00Z"))

		// A bulk reports the bad item and writes the others.
		rep := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/jobs/bulk", map[string]any{"items": []any{
			job("b1"), map[string]any{"external_id": "b2", "workstage": "W", "start": "9999-12-31", "all_day": true}, job("b3"),
		}}))
		if num(rep, "created") != 2 || num(rep, "failed") != 1 {
			t.Fatalf("bulk: %s %v", counts(rep), rep["errors"])
		}
		if f := bulkErrorFields(t, rep); len(f) != 1 || !strings.Contains(fmt.Sprint(f[1]), "start") {
			t.Fatalf("bulk errors = %v", f)
		}

		// So does a CSV import.
		g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/templates", json.RawMessage(csvTemplate))
		csv := "Booking;Room;Guest;Start;End\n" +
			"t1;R;G;01.07.2025 09:00;01.07.2025 10:00\n" +
			"t2;R;G;31.12.9999 09:00;31.12.9999 10:00\n" +
			"t3;R;G;01.07.2025 09:00;01.07.2025 10:00\n"
		status, imp := g.postRaw(t, "/v1/import/shop-bookings", "text/csv", []byte(csv))
		if status != http.StatusOK || num(imp, "created") != 2 || num(imp, "failed") != 1 {
			t.Fatalf("csv: %d %s %v", status, counts(imp), imp["errors"])
		}
		if errs := fmt.Sprint(imp["errors"]); !strings.Contains(errs, "line 3") || !strings.Contains(errs, "start") {
			t.Fatalf("csv errors = %s", errs)
		}
		if n := countJobs(t, g, ""); n != 3 {
			t.Fatalf("%d jobs stored, want edge, b1 and b3", n)
		}
	})
}

func TestHardeningTextIsCheckedAlikeOnBothEngines(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		g.expectProblem(t, 422, "title", "POST", "/v1/jobs", job("n1", "title", "a\x00b"))
		g.expectProblem(t, 422, "title", "POST", "/v1/jobs", []byte(`{"external_id":"n2","workstage":"W","start":"2026-03-02","title":"caf`+"\xe9"+`"}`))
		g.expectProblem(t, 422, "title", "POST", "/v1/jobs", []byte(`{"external_id":"n3","workstage":"W","start":"2026-03-02","title":"\ud800"}`))
		g.expectProblem(t, 422, "customer.name", "POST", "/v1/reservations", []byte(`{"external_id":"n4","resource":"R","start":"2026-03-02","customer":{"name":"\udc00 x"}}`))
		g.expectProblem(t, 422, "external_id", "POST", "/v1/jobs", job("a\x01b"))
		g.expectProblem(t, 422, "workstage", "POST", "/v1/jobs", job("n5", "workstage", "tab\there"))
		g.expectProblem(t, 422, "attributes.note", "POST", "/v1/jobs", job("n6", "attributes", map[string]any{"note": "\x00"}))
		// A surrogate pair is a character; a CRLF in free text is stored as LF.
		ok := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs", []byte(`{"external_id":"ok","workstage":"W","start":"2026-03-02",
			"title":"\ud83d\ude00","description":"one\r\ntwo\rthree\tfour"}`)))
		if ok["title"] != "😀" || ok["description"] != "one\ntwo\nthree\tfour" {
			t.Fatalf("stored %q / %q", ok["title"], ok["description"])
		}
		// In a bulk, the bad items fail alone.
		body := []byte(`{"items":[` +
			`{"external_id":"k1","workstage":"W","start":"2026-03-02"},` +
			`{"external_id":"k2","workstage":"W","start":"2026-03-02","title":"a\u0000"},` +
			`{"external_id":"k3","workstage":"W","start":"2026-03-02","title":"` + "\xff" + `"},` +
			`{"external_id":"k4","workstage":"W","start":"2026-03-02","location":"\ud800"},` +
			`{"external_id":"k5","workstage":"W","start":"2026-03-02"}]}`)
		rep := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/jobs/bulk", body))
		if num(rep, "created") != 2 || num(rep, "failed") != 3 {
			t.Fatalf("bulk: %s %v", counts(rep), rep["errors"])
		}
		if f := bulkErrorFields(t, rep); fmt.Sprint(f[1], f[2], f[3]) != "[title] [title] [location]" {
			t.Fatalf("bulk errors = %v", f)
		}
		for _, it := range rep["errors"].([]any) {
			if it.(map[string]any)["external_id"] == "" {
				t.Fatalf("a failed item does not name its external id: %v", it)
			}
		}

		// Other resources: tokens, feeds, webhooks.
		g.expectProblem(t, 422, "name", "POST", "/v1/tokens", map[string]any{"name": "a\x00b"})
		g.expectProblem(t, 422, "user", "POST", "/v1/tokens", map[string]any{"name": "n", "user": "x\x1by"})
		g.expectProblem(t, 422, "name", "POST", "/v1/tokens", []byte(`{"name":"`+"\xc3"+`"}`))
		g.expectProblem(t, 422, "name", "POST", "/v1/feeds", map[string]any{"name": "a\x00"})
		g.expectProblem(t, 422, "resources[1]", "POST", "/v1/feeds", map[string]any{"name": "f", "resources": []string{"ok", "b\x07"}})
		g.expectProblem(t, 422, "description", "POST", "/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/h", "events": []string{"entry.*"}, "description": "a\x00"})

		// A CSV row with a NUL fails alone.
		g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/templates", json.RawMessage(csvTemplate))
		csv := "Booking;Room;Guest;Start;End\nc1;R;Ann;01.07.2025 09:00;01.07.2025 10:00\nc2;R;B\x00b;01.07.2025 09:00;01.07.2025 10:00\n"
		status, imp := g.postRaw(t, "/v1/import/shop-bookings", "text/csv", []byte(csv))
		if status != http.StatusOK || num(imp, "created") != 1 || num(imp, "failed") != 1 || !strings.Contains(fmt.Sprint(imp["errors"]), "title") {
			t.Fatalf("csv: %d %s %v", status, counts(imp), imp["errors"])
		}
		// A JSON import record with bad text fails alone.
		g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/templates", json.RawMessage(`{"name":"plain-jobs","kind":"job","direction":"import",
			"fields":{"external_id":{"path":"id"},"workstage":{"path":"ws"},"start":{"path":"from"},"title":{"path":"what"}}}`))
		model := []byte(`{"model":[{"id":"r1","ws":"W","from":"2026-03-02","what":"fine"},{"id":"r2","ws":"W","from":"2026-03-02","what":"` + "\xfe" + `"},` +
			`{"id":"r3","ws":"W","from":"2026-03-02","what":"\ud800"},{"id":"r4","ws":"W","from":"2026-03-02","what":"a\u0000"}]}`)
		status, imp = g.postRaw(t, "/v1/import/plain-jobs", "application/json", model)
		if status != http.StatusOK || num(imp, "created") != 1 || num(imp, "failed") != 3 {
			t.Fatalf("json import: %d %s %v", status, counts(imp), imp["errors"])
		}
		if errs := fmt.Sprint(imp["errors"]); !strings.Contains(errs, "[1].what") || !strings.Contains(errs, "[2].what") {
			t.Fatalf("json import errors = %s", errs)
		}

		// Query parameters, path ids and headers never reach the database.
		g.expectProblem(t, 400, "workstage", "GET", "/v1/jobs?workstage=W%00x", nil)
		g.expectProblem(t, 400, "source", "GET", "/v1/jobs?source=%FF", nil)
		g.expectProblem(t, 400, "external_id", "GET", "/v1/jobs?external_id=a%01b", nil)
		g.expectProblem(t, 404, "", "GET", "/v1/jobs/ent_x%00y", nil)
		g.expectProblem(t, 404, "", "PATCH", "/v1/jobs/ent%FF", map[string]any{"title": "x"})
		g.expectProblem(t, 404, "", "DELETE", "/v1/tokens/tok%00", nil)
		g.expectProblem(t, 404, "", "GET", "/v1/feeds/feed%00", nil)
		g.expectProblem(t, 404, "", "GET", "/v1/templates/a%00b", nil)
		g.expectProblem(t, 404, "", "GET", "/feeds/x%00.ics", nil)
		g.expectProblem(t, 400, "Idempotency-Key", "POST", "/v1/jobs", job("i1"), "Idempotency-Key", "k\xff")
		if n := countJobs(t, g, ""); n != 4 { // ok, k1, k5, r1
			t.Fatalf("%d jobs stored, want 4", n)
		}
	})
}

func TestHardeningReadOnlyFieldsNullPatchesAndCursors(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		g.expectProblem(t, 422, "id", "POST", "/v1/jobs", job("r1", "id", "ent_mine"))
		g.expectProblem(t, 422, "version", "POST", "/v1/jobs", job("r1", "version", 7))
		rep := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/jobs/bulk", map[string]any{"items": []any{job("r2", "created_at", "2020-01-01T00:00:00Z"), job("r3")}}))
		if num(rep, "created") != 1 || fmt.Sprint(bulkErrorFields(t, rep)[0]) != "[created_at]" {
			t.Fatalf("bulk: %s %v", counts(rep), rep["errors"])
		}
		if n := countJobs(t, g, ""); n != 1 {
			t.Fatalf("%d jobs stored, want r3 alone", n)
		}

		// What was read may be sent back unchanged; a changed read-only
		// field is refused by name.
		cur := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs", job("r1")))
		id := cur["id"].(string)
		cur["title"] = "round trip"
		next := decode(t, g.mustCall(t, http.StatusOK, "PUT", "/v1/jobs/"+id, cur))
		if next["title"] != "round trip" || next["version"] != float64(2) {
			t.Fatalf("PUT of what was read: %v", next)
		}
		next["version"] = 1
		g.expectProblem(t, 422, "version", "PUT", "/v1/jobs/"+id, next)
		g.expectProblem(t, 422, "id", "PATCH", "/v1/jobs/"+id, map[string]any{"id": "ent_other", "title": "x"})
		patched := decode(t, g.mustCall(t, http.StatusOK, "PATCH", "/v1/jobs/"+id, map[string]any{"version": 2, "title": "patched"}))
		if patched["title"] != "patched" || patched["version"] != float64(3) {
			t.Fatalf("PATCH = %v", patched)
		}

		// A PATCH body must be an object.
		g.expectProblem(t, 400, "body", "PATCH", "/v1/jobs/"+id, []byte("null"))
		g.expectProblem(t, 400, "", "PATCH", "/v1/jobs/"+id, []byte("[]"))
		if got := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/jobs/"+id, nil)); got["version"] != float64(3) {
			t.Fatalf("a refused PATCH changed the entry: %v", got)
		}

		// A cursor is a next_cursor or nothing.
		for _, path := range []string{"/v1/jobs", "/v1/reservations", "/v1/feeds", "/v1/webhooks", "/v1/ical-subscriptions", "/v1/pull-imports",
			"/v1/export/planningpme-tasks"} {
			g.expectProblem(t, 400, "cursor", "GET", path+"?cursor=garbage", nil)
		}
		page := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/jobs?limit=1", nil))
		if next := page["next_cursor"].(string); next == "" {
			t.Fatal("no next cursor with two jobs and limit=1")
		} else {
			g.mustCall(t, http.StatusOK, "GET", "/v1/jobs?limit=1&cursor="+url.QueryEscape(next), nil)
		}
	})
}

func TestHardeningLimitsOfNamedResources(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		// Template names stay addressable.
		for _, name := range []string{"../../etc", "a b", ".hidden", strings.Repeat("n", 101)} {
			doc := map[string]any{"name": name, "kind": "job", "direction": "import", "fields": map[string]any{"external_id": map[string]any{"path": "id"}}}
			g.expectProblem(t, 422, "name", "POST", "/v1/templates", doc)
		}
		g.expectProblem(t, 422, "description", "POST", "/v1/templates", map[string]any{"name": "t1", "kind": "job", "direction": "import",
			"description": strings.Repeat("d", 1001), "fields": map[string]any{"external_id": map[string]any{"path": "id"}}})
		g.expectProblem(t, 422, "description", "POST", "/v1/templates", map[string]any{"name": "t1", "kind": "job", "direction": "import",
			"description": "\x00", "fields": map[string]any{}})

		// Feeds: templates, filters and names.
		g.expectProblem(t, 422, "title_templates.job", "POST", "/v1/feeds", map[string]any{"name": "f", "title_templates": map[string]any{"job": strings.Repeat("x", 700<<10)}})
		g.expectProblem(t, 422, "description_templates.job", "POST", "/v1/feeds", map[string]any{"name": "f", "description_templates": map[string]any{"job": "a\x01{order}"}})
		many := make([]string, 101)
		for i := range many {
			many[i] = fmt.Sprint("r", i)
		}
		g.expectProblem(t, 422, "resources", "POST", "/v1/feeds", map[string]any{"name": "f", "resources": many})
		g.expectProblem(t, 422, "sources[0]", "POST", "/v1/feeds", map[string]any{"name": "f", "sources": []string{strings.Repeat("s", 256)}})
		feed := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/feeds", map[string]any{"name": "f"}))
		g.expectProblem(t, 422, "title_templates.job", "PATCH", "/v1/feeds/"+feed["id"].(string), map[string]any{"title_templates": map[string]any{"job": strings.Repeat("x", 4097)}})
		g.expectProblem(t, 422, "name", "PATCH", "/v1/feeds/"+feed["id"].(string), map[string]any{"name": "x\ny"})

		// Webhooks.
		hook := map[string]any{"url": "http://127.0.0.1:9/h", "events": []string{"entry.*"}}
		with := func(k string, v any) map[string]any {
			m := map[string]any{}
			for a, b := range hook {
				m[a] = b
			}
			m[k] = v
			return m
		}
		g.expectProblem(t, 422, "description", "POST", "/v1/webhooks", with("description", strings.Repeat("d", 1001)))
		g.expectProblem(t, 422, "events", "POST", "/v1/webhooks", with("events", append(many, "entry.*")))
		g.expectProblem(t, 422, "filter.resources[0]", "POST", "/v1/webhooks", with("filter", map[string]any{"resources": []string{"a\tb"}}))
		g.expectProblem(t, 422, "url", "POST", "/v1/webhooks", with("url", "http://127.0.0.1:9/"+strings.Repeat("p", 2048)))

		// CalDAV targets are checked before any connection.
		g.expectProblem(t, 422, "username", "POST", "/v1/caldav-targets", map[string]any{"url": "http://127.0.0.1:9/", "username": "a\x01", "password": "p"})
		g.expectProblem(t, 422, "password", "POST", "/v1/caldav-targets", map[string]any{"url": "http://127.0.0.1:9/", "username": "u", "password": strings.Repeat("p", 1025)})
		g.expectProblem(t, 422, "calendar", "POST", "/v1/caldav-targets", map[string]any{"url": "http://127.0.0.1:9/", "password": "p", "calendar": "c\x00"})
		g.expectProblem(t, 422, "resources", "POST", "/v1/caldav-targets", map[string]any{"url": "http://127.0.0.1:9/", "password": "p", "resources": many})

		// Scheduled pulls.
		pull := map[string]any{"url": "http://127.0.0.1:9/orders", "template": "planningnow-order", "schedule": "1h"}
		withPull := func(k string, v any) map[string]any {
			m := map[string]any{}
			for a, b := range pull {
				m[a] = b
			}
			m[k] = v
			return m
		}
		headers := map[string]string{}
		for i := range 51 {
			headers[fmt.Sprint("X-H", i)] = "v"
		}
		g.expectProblem(t, 422, "name", "POST", "/v1/pull-imports", withPull("name", strings.Repeat("n", 201)))
		g.expectProblem(t, 422, "headers", "POST", "/v1/pull-imports", withPull("headers", headers))
		g.expectProblem(t, 422, "headers.X-Key", "POST", "/v1/pull-imports", withPull("headers", map[string]string{"X-Key": "a\x01"}))
		g.expectProblem(t, 422, "template", "POST", "/v1/pull-imports", withPull("template", "x\x01"))
		g.expectProblem(t, 422, "since_param", "POST", "/v1/pull-imports", withPull("since_param", "a\nb"))
		g.expectProblem(t, 422, "notify_emails", "POST", "/v1/pull-imports", withPull("notify_emails", many))
	})
}

// A subscription's name and resource obey the limits of the entries its
// polls write, and an event with bad text fails alone.
func TestHardeningSubscriptionLimitsAndBadEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		good := airbnbFeed(airbnbBlocks...)
		bad := strings.Replace(good, "END:VCALENDAR\r\n",
			"BEGIN:VEVENT\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;VALUE=DATE:"+strings.ReplaceAll(airbnbDay(30), "-", "")+"\r\nSUMMARY:Bell\x07\r\nUID:ctl@x\r\nEND:VEVENT\r\n"+
				"BEGIN:VEVENT\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;VALUE=DATE:"+strings.ReplaceAll(airbnbDay(31), "-", "")+"\r\nSUMMARY:Long\r\nUID:"+strings.Repeat("u", 300)+"\r\nEND:VEVENT\r\n"+
				"END:VCALENDAR\r\n", 1)
		feed := newICSServer(t, bad)
		g.expectProblem(t, 422, "resource", "POST", "/v1/ical-subscriptions", map[string]any{"url": feed.URL, "resource": strings.Repeat("r", 256)})
		g.expectProblem(t, 422, "name", "POST", "/v1/ical-subscriptions", map[string]any{"url": feed.URL, "resource": "r", "name": strings.Repeat("n", 201)})
		g.expectProblem(t, 422, "resource", "POST", "/v1/ical-subscriptions", map[string]any{"url": feed.URL, "resource": "a\tb"})
		if list := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/ical-subscriptions", nil)); len(list["items"].([]any)) != 0 {
			t.Fatalf("a refused subscription was stored: %v", list)
		}
		sub := g.subscribe(t, feed.URL, "cabin-7")
		res := sub["last_result"].(map[string]any)
		if sub["state"] != "ok" || res["created"] != float64(len(airbnbBlocks)) || res["failed"] != float64(2) {
			t.Fatalf("poll = %v", sub)
		}
		if got := g.reservationsOf(t, sub["id"].(string), ""); len(got) != len(airbnbBlocks) {
			t.Fatalf("%d reservations, want %d", len(got), len(airbnbBlocks))
		}
		id := sub["id"].(string)
		g.expectProblem(t, 422, "resource", "PATCH", "/v1/ical-subscriptions/"+id, map[string]any{"resource": strings.Repeat("r", 256)})
	})
}

func TestHardeningCSVWithCROnlyLineEndingsIsRead(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/templates", json.RawMessage(csvTemplate))
		csv := strings.ReplaceAll(csvRows(3, 1), "\n", "\r")
		status, rep := g.postRaw(t, "/v1/import/shop-bookings", "text/csv", []byte(csv))
		if status != http.StatusOK || num(rep, "created") != 3 || num(rep, "failed") != 0 {
			t.Fatalf("%d %s %v", status, counts(rep), rep["errors"])
		}
		list := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/reservations?source=shop&external_id=b3", nil))
		if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["title"] != "Guest 3" {
			t.Fatalf("b3 = %v", items)
		}
	})
}
