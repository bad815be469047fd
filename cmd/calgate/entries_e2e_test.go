package main

import (
	"net/http"
	"strings"
	"testing"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/api"
)

func TestUpsertCreatesThenUpdatesThenIsUnchanged(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		job := map[string]any{"external_id": "J-1", "workstage": "Welding", "order": "PROJ-2025-Q4", "product": "ART-001",
			"start": "2025-10-26 08:00:00", "end": "2025-10-26 12:00:00"}
		created := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs", job))
		if created["version"] != float64(1) || created["start"] != "2025-10-26T08:00:00+01:00" || created["timezone"] != "Europe/Berlin" {
			t.Fatalf("created = %v", created)
		}
		same := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/jobs", job))
		if same["version"] != float64(1) {
			t.Fatalf("identical re-send made version %v", same["version"])
		}
		job["end"] = "2025-10-26 13:00:00"
		moved := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/jobs", job))
		if moved["version"] != float64(2) || moved["id"] != created["id"] {
			t.Fatalf("update = %v", moved)
		}
		events := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/events", nil))["items"].([]any)
		if len(events) != 2 {
			t.Fatalf("got %d events, want 2 (created, rescheduled): %v", len(events), events)
		}
		if typ := events[1].(map[string]any)["type"]; typ != "entry.rescheduled" {
			t.Fatalf("second event is %v, want entry.rescheduled", typ)
		}
	})
}

func TestSoftDeleteHidesAndRestoreBringsBack(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		r := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/reservations", map[string]any{
			"external_id": "R-1", "resource": "Room 1", "start": "2025-03-01", "end": "2025-03-03", "customer": map[string]any{"name": "Ada"}}))
		id := r["id"].(string)
		if r["all_day"] != true || r["end"] != "2025-03-03" {
			t.Fatalf("all-day reservation = %v", r)
		}
		g.mustCall(t, http.StatusOK, "DELETE", "/v1/reservations/"+id, nil)
		g.mustCall(t, http.StatusNotFound, "GET", "/v1/reservations/"+id, nil)
		g.mustCall(t, http.StatusNotFound, "DELETE", "/v1/reservations/"+id, nil)
		if items := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/reservations", nil))["items"].([]any); len(items) != 0 {
			t.Fatalf("archived entry listed: %v", items)
		}
		archived := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/reservations/"+id+"?include_archived=true", nil))
		if archived["archived_at"] == nil {
			t.Fatalf("archived_at not set: %v", archived)
		}
		if items := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/reservations?include_archived=true", nil))["items"].([]any); len(items) != 1 {
			t.Fatalf("include_archived lists %d", len(items))
		}
		restored := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/reservations/"+id+"/restore", nil))
		if restored["archived_at"] != nil || restored["version"] != float64(3) {
			t.Fatalf("restored = %v", restored)
		}
		g.mustCall(t, http.StatusOK, "GET", "/v1/reservations/"+id, nil)
		var types []string
		for _, ev := range decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/events", nil))["items"].([]any) {
			types = append(types, ev.(map[string]any)["type"].(string))
		}
		if want := "entry.created entry.archived entry.restored"; strings.Join(types, " ") != want {
			t.Fatalf("events %v, want %s", types, want)
		}
	})
}

func TestHistoryShowsEveryVersionWithWhoAndDiff(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		w := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/production-windows", map[string]any{
			"external_id": "T-9", "cost_centre": "CNC", "activity": "Milling", "order": "A-100",
			"start": "2025-06-02 07:00:00", "end": "2025-06-02 15:00:00"}))
		id := w["id"].(string)
		g.mustCall(t, http.StatusOK, "PATCH", "/v1/production-windows/"+id, map[string]any{"activity": "Drilling"})
		g.mustCall(t, http.StatusOK, "PATCH", "/v1/production-windows/"+id, map[string]any{"status": "cancelled"})
		items := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/production-windows/"+id+"/history", nil))["items"].([]any)
		if len(items) != 3 {
			t.Fatalf("history has %d versions, want 3: %v", len(items), items)
		}
		second := items[1].(map[string]any)
		diff := second["diff"].(map[string]any)
		if second["version"] != float64(2) || second["user"] != "admin" || second["token_id"] == "" || len(diff) != 1 {
			t.Fatalf("version 2 = %v", second)
		}
		if ch := diff["activity"].(map[string]any); ch["from"] != "Milling" || ch["to"] != "Drilling" {
			t.Fatalf("activity diff = %v", ch)
		}
		if third := items[2].(map[string]any); third["type"] != "entry.cancelled" {
			t.Fatalf("version 3 type = %v", third["type"])
		}
	})
}

func TestBadInputIsRefusedByFieldAndChangesNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		good := map[string]any{"external_id": "J-1", "workstage": "Paint", "start": "2025-01-01T08:00:00Z", "end": "2025-01-01T09:00:00Z"}
		created := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs", good))
		id := created["id"].(string)
		huge := `{"external_id":"x","workstage":"w","start":"2025-01-01","description":"` + strings.Repeat("a", 11<<20) + `"}`
		items := make([]map[string]any, 10001)
		for i := range items {
			items[i] = map[string]any{"external_id": "b", "workstage": "w", "start": "2025-01-01"}
		}
		cases := []struct {
			name, method, path string
			body               any
			status             int
			field              string
		}{
			{"malformed JSON", "POST", "/v1/jobs", `{"external_id": "J-1",`, 400, "body"},
			{"trailing garbage", "POST", "/v1/jobs", `{"external_id":"J-1","workstage":"w","start":"2025-01-01"} {}`, 400, "body"},
			{"wrong type", "POST", "/v1/jobs", `{"external_id": 7, "workstage": "w", "start": "2025-01-01"}`, 400, "external_id"},
			{"unknown field", "POST", "/v1/jobs", `{"external_id":"J-1","workstage":"w","start":"2025-01-01","colour":"red"}`, 400, "colour"},
			{"field of another kind", "POST", "/v1/jobs", `{"external_id":"J-1","workstage":"w","resource":"r","start":"2025-01-01"}`, 422, "resource"},
			{"end before start", "POST", "/v1/jobs", `{"external_id":"J-1","workstage":"w","start":"2025-01-01T10:00:00Z","end":"2025-01-01T09:00:00Z"}`, 422, "end"},
			{"unknown time zone", "POST", "/v1/jobs", `{"external_id":"J-1","workstage":"w","start":"2025-01-01 10:00:00","end":"2025-01-01 11:00:00","timezone":"Mars/Olympus"}`, 422, "timezone"},
			{"missing resource", "POST", "/v1/jobs", `{"external_id":"J-1","start":"2025-01-01"}`, 422, "workstage"},
			{"bad status", "POST", "/v1/jobs", `{"external_id":"J-1","workstage":"w","start":"2025-01-01","status":"maybe"}`, 422, "status"},
			{"body over the limit", "POST", "/v1/jobs", huge, 413, "body"},
			{"too many bulk items", "POST", "/v1/jobs/bulk", map[string]any{"items": items}, 413, "items"},
			{"patch end before start", "PATCH", "/v1/jobs/" + id, `{"end":"2024-12-31T00:00:00Z"}`, 422, "end"},
			{"patch unknown field", "PATCH", "/v1/jobs/" + id, `{"colour":"red"}`, 400, "colour"},
			{"put changes external_id", "PUT", "/v1/jobs/" + id, `{"external_id":"J-2","workstage":"w","start":"2025-01-01"}`, 422, "external_id"},
			{"bad list filter", "GET", "/v1/jobs?from=yesterday", nil, 400, "from"},
			{"bad limit", "GET", "/v1/jobs?limit=5000", nil, 400, "limit"},
			{"bad event type", "GET", "/v1/events?types=entry.exploded", nil, 400, "types"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				status, body, hdr := g.call(t, tc.method, tc.path, tc.body)
				if status != tc.status {
					t.Fatalf("status %d, want %d: %.300s", status, tc.status, body)
				}
				if ct := hdr.Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("content type %q", ct)
				}
				p := decode(t, body)
				fields := p["errors"].([]any)
				found := false
				for _, f := range fields {
					found = found || f.(map[string]any)["field"] == tc.field
				}
				if !found || p["status"] != float64(tc.status) {
					t.Fatalf("problem does not name %q: %s", tc.field, body)
				}
			})
		}
		after := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/jobs/"+id, nil))
		if after["version"] != float64(1) || after["end"] != created["end"] {
			t.Fatalf("bad input changed the stored entry: %v", after)
		}
		if list := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/jobs", nil))["items"].([]any); len(list) != 1 {
			t.Fatalf("bad input stored entries: %d", len(list))
		}
	})
}

func TestBulkReportsSimulatesAndStopsOnError(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		items := []any{
			map[string]any{"external_id": "A", "resource": "Kayak", "start": "2025-05-01 09:00:00", "end": "2025-05-01 12:00:00", "quantity": 2},
			map[string]any{"external_id": "B", "resource": "Kayak", "start": "2025-05-01 13:00:00", "end": "2025-05-01 12:00:00"},
			map[string]any{"external_id": "C", "resource": "Canoe", "start": "2025-05-02"},
		}
		sim := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/reservations/bulk", map[string]any{"items": items, "simulate": true, "verbose": true}))
		if sim["created"] != float64(2) || sim["failed"] != float64(1) || len(sim["operations"].([]any)) != 3 {
			t.Fatalf("simulate = %v", sim)
		}
		if list := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/reservations", nil))["items"].([]any); len(list) != 0 {
			t.Fatalf("simulate wrote %d entries", len(list))
		}
		stop := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/reservations/bulk", map[string]any{"items": items, "stop_on_error": true}))
		if stop["created"] != float64(1) || stop["failed"] != float64(1) || stop["stopped"] != true {
			t.Fatalf("stop_on_error = %v", stop)
		}
		failure := stop["errors"].([]any)[0].(map[string]any)
		if failure["index"] != float64(1) || failure["external_id"] != "B" {
			t.Fatalf("failure = %v", failure)
		}
		all := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/reservations/bulk", map[string]any{"items": items}))
		if all["created"] != float64(1) || all["unchanged"] != float64(1) || all["failed"] != float64(1) {
			t.Fatalf("second run = %v", all)
		}
	})
}

func TestWorkspacesNeverSeeEachOther(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		other := g.newWorkspaceToken(t, "other")
		ids := map[string]string{}
		for _, k := range calgate.Kinds {
			body := map[string]any{"external_id": "X-1", k.ResourceField(): "R", "start": "2025-01-01"}
			ids[api.EntryCollection(k)] = decode(t, g.mustCall(t, http.StatusCreated, "POST", api.EntryPath(k), body))["id"].(string)
		}
		for route, id := range ids {
			for _, c := range []struct{ method, path, body string }{
				{"GET", "/v1/" + route + "/" + id, ""},
				{"GET", "/v1/" + route + "/" + id + "?include_archived=true", ""},
				{"PATCH", "/v1/" + route + "/" + id, `{"title":"stolen"}`},
				{"PUT", "/v1/" + route + "/" + id, `{"external_id":"X-1","start":"2025-01-01"}`},
				{"DELETE", "/v1/" + route + "/" + id, ""},
				{"POST", "/v1/" + route + "/" + id + "/restore", ""},
				{"GET", "/v1/" + route + "/" + id + "/history", ""},
			} {
				var body any
				if c.body != "" {
					body = c.body
				}
				if status, data, _ := g.callAs(t, other, c.method, c.path, body); status != http.StatusNotFound && status != http.StatusUnprocessableEntity {
					t.Fatalf("%s %s from another workspace: %d %s", c.method, c.path, status, data)
				}
			}
			_, data, _ := g.callAs(t, other, "GET", "/v1/"+route, nil)
			if items := decode(t, data)["items"].([]any); len(items) != 0 {
				t.Fatalf("other workspace lists %s: %v", route, items)
			}
		}
		_, data, _ := g.callAs(t, other, "GET", "/v1/events", nil)
		if items := decode(t, data)["items"].([]any); len(items) != 0 {
			t.Fatalf("other workspace sees events: %v", items)
		}
		_, data, _ = g.callAs(t, other, "GET", "/v1/tokens", nil)
		if items := decode(t, data)["items"].([]any); len(items) != 1 {
			t.Fatalf("other workspace sees %d tokens, want its own 1", len(items))
		}
		// Nothing the other workspace tried changed the first one's entries.
		for route, id := range ids {
			if v := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/"+route+"/"+id, nil))["version"]; v != float64(1) {
				t.Fatalf("%s changed by another workspace: version %v", route, v)
			}
		}
	})
}
