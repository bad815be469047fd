package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

// rawCall sends a request with exactly the headers given (no token added).
func (g *testGateway) rawCall(t *testing.T, method, path, body string, headers ...string) (int, []byte, http.Header) {
	t.Helper()
	return g.callAs(t, "", method, path, nilIfEmpty(body), headers...)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// windowsBySource lists production windows (archived ones too) of a
// source by external id.
func (g *testGateway) entriesByExternalID(t *testing.T, route, source string) map[string]map[string]any {
	t.Helper()
	list := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, route+"?include_archived=true&limit=1000&source="+source, nil))
	out := map[string]map[string]any{}
	for _, it := range list["items"].([]any) {
		m := it.(map[string]any)
		out[m["external_id"].(string)] = m
	}
	return out
}

func seedPlanningNowOrder(t *testing.T, id string) map[string]any {
	t.Helper()
	data, err := os.ReadFile("../../testdata/planningnow/order-" + id + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPlanningNowSurfaceWithTheGuidesOrders(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		tok := []string{"X-AUTH-TOKEN", g.Token}
		call := func(want int, method, path string, body any) []byte {
			t.Helper()
			status, data, _ := g.callAs(t, "", method, path, body, tok...)
			if status != want {
				t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, data)
			}
			return data
		}
		if got := string(call(http.StatusOK, http.MethodGet, "/api/test", nil)); got != `{"response":"Test successfull."}` {
			t.Fatalf("/api/test = %s", got)
		}
		if status, _, _ := g.rawCall(t, http.MethodGet, "/api/test", ""); status != http.StatusUnauthorized {
			t.Fatalf("/api/test without a token: %d", status)
		}

		// Both orders of the guide hold task 101: two production windows.
		call(http.StatusCreated, http.MethodPost, "/api/order", seedPlanningNowOrder(t, "3456"))
		created := decode(t, call(http.StatusCreated, http.MethodPost, "/api/order", seedPlanningNowOrder(t, "4711")))
		if created["id"] != 4711.0 {
			t.Fatalf("created = %v", created)
		}
		w := g.entriesByExternalID(t, "/v1/production-windows", "planningnow")
		if len(w) != 2 || w["3456/1/101"]["order"] != "PROJ-2025-Q3" || w["4711/1/101"]["order"] != "PROJ-2025-Q4" ||
			w["4711/1/101"]["start"] != "2025-09-20T08:00:00+02:00" || w["4711/1/101"]["cost_centre"] != "Assembly Line 1" {
			t.Fatalf("windows = %v", w)
		}
		call(http.StatusConflict, http.MethodPost, "/api/order", seedPlanningNowOrder(t, "4711"))

		// A new order without an id gets one; positions and tasks too.
		fresh := decode(t, call(http.StatusCreated, http.MethodPost, "/api/order", map[string]any{
			"o_conf_date": "2025-09-11", "customer_no": 5678, "project_no": "NEW-PROJ-01", "subject": "Initial Prototype Order",
			"positions": []any{map[string]any{"pos_no": 1, "article_number": "PROTO-X1", "tasks": []any{
				map[string]any{"cost_centre_name": "Lab", "activity_name": "Build", "production_start": "2025-10-01 08:00:00", "production_end": "2025-10-01 12:00:00"}}}},
		}))
		freshID := fresh["id"].(float64)
		pos := fresh["positions"].([]any)[0].(map[string]any)
		if freshID != 4712 || pos["id"] != 1.0 || pos["tasks"].([]any)[0].(map[string]any)["id"] != 1.0 {
			t.Fatalf("fresh order = %v", fresh)
		}

		// 4711 gains a position, then is sent again without it: its
		// window is archived, with an event.
		o := seedPlanningNowOrder(t, "4711")
		o["positions"] = append(o["positions"].([]any), map[string]any{"pos_no": 2, "article_number": "ART-002", "tasks": []any{
			map[string]any{"cost_centre_name": "CNC", "activity_name": "Milling", "production_start": "2025-09-21 06:00:00", "production_end": "2025-09-21 09:00:00"}}})
		put := decode(t, call(http.StatusOK, http.MethodPut, "/api/order/4711", o))
		if p2 := put["positions"].([]any)[1].(map[string]any); p2["id"] != 2.0 || p2["tasks"].([]any)[0].(map[string]any)["id"] != 102.0 {
			t.Fatalf("position 2 = %v", p2)
		}
		if w := g.entriesByExternalID(t, "/v1/production-windows", "planningnow"); w["4711/2/102"] == nil || w["4711/2/102"]["archived_at"] != nil {
			t.Fatalf("windows after adding position 2 = %v", w)
		}
		// A window changed on its own through /v1 stays in its order.
		p2 := g.entriesByExternalID(t, "/v1/production-windows", "planningnow")["4711/2/102"]
		p2["title"] = "Milling (moved by hand)"
		g.mustCall(t, http.StatusOK, http.MethodPut, "/v1/production-windows/"+p2["id"].(string), p2)
		call(http.StatusOK, http.MethodPut, "/api/order/4711", seedPlanningNowOrder(t, "4711"))
		w = g.entriesByExternalID(t, "/v1/production-windows", "planningnow")
		gone := w["4711/2/102"]
		if gone["archived_at"] == nil || w["4711/1/101"]["archived_at"] != nil || w["3456/1/101"]["archived_at"] != nil {
			t.Fatalf("windows after re-sending 4711 = %v", w)
		}
		hist := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/production-windows/"+gone["id"].(string)+"/history", nil))
		items := hist["items"].([]any)
		if last := items[len(items)-1].(map[string]any); last["type"] != "entry.archived" || !strings.HasPrefix(last["user"].(string), "admin") {
			t.Fatalf("history = %v", items)
		}

		// PATCH changes one task's end: the window is rescheduled, the rest kept.
		patched := decode(t, call(http.StatusOK, http.MethodPatch, "/api/order/4711", map[string]any{"subject": "Q4 Production Run (Revised)",
			"positions": []any{map[string]any{"id": 1, "tasks": []any{map[string]any{"id": 101, "production_end": "2025-09-20 17:00:00"}}}}}))
		task := patched["positions"].([]any)[0].(map[string]any)["tasks"].([]any)[0].(map[string]any)
		if patched["subject"] != "Q4 Production Run (Revised)" || task["activity_name"] != "Component Welding" || patched["customer_no"] != 1234.0 {
			t.Fatalf("patched = %v", patched)
		}
		if w := g.entriesByExternalID(t, "/v1/production-windows", "planningnow"); w["4711/1/101"]["end"] != "2025-09-20T17:00:00+02:00" {
			t.Fatalf("window after PATCH = %v", w["4711/1/101"])
		}
		got := decode(t, call(http.StatusOK, http.MethodGet, "/api/order/4711", nil))
		if got["subject"] != "Q4 Production Run (Revised)" {
			t.Fatalf("GET /api/order/4711 = %v", got)
		}

		// A task that cannot be a window refuses the whole order; nothing changes.
		bad := seedPlanningNowOrder(t, "4711")
		bad["positions"].([]any)[0].(map[string]any)["tasks"].([]any)[0].(map[string]any)["production_end"] = "2025-09-20 07:00:00"
		status, data, _ := g.callAs(t, "", http.MethodPut, "/api/order/4711", bad, tok...)
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(data), `"status_code":422`) || !strings.Contains(string(data), "must be after start") {
			t.Fatalf("bad order: %d %s", status, data)
		}
		if got := decode(t, call(http.StatusOK, http.MethodGet, "/api/order/4711", nil)); got["subject"] != "Q4 Production Run (Revised)" {
			t.Fatal("a refused PUT changed the order")
		}
		var list []any
		if err := json.Unmarshal(call(http.StatusOK, http.MethodGet, "/api/order", nil), &list); err != nil || len(list) != 3 {
			t.Fatalf("GET /api/order = %d orders, %v", len(list), err)
		}

		// DELETE archives the order's windows; the order is gone.
		call(http.StatusNoContent, http.MethodDelete, "/api/order/3456", nil)
		status, data, _ = g.callAs(t, "", http.MethodGet, "/api/order/3456", nil, tok...)
		if status != http.StatusNotFound || string(data) != `{"error":"Order not found","status_code":404}` {
			t.Fatalf("deleted order: %d %s", status, data)
		}
		if w := g.entriesByExternalID(t, "/v1/production-windows", "planningnow"); w["3456/1/101"]["archived_at"] == nil || w["4711/1/101"]["archived_at"] != nil {
			t.Fatalf("windows after DELETE = %v", w)
		}

		// Another workspace sees none of it.
		other := g.newWorkspaceToken(t, "other")
		if status, _, _ := g.callAs(t, "", http.MethodGet, "/api/order/4711", nil, "X-AUTH-TOKEN", other); status != http.StatusNotFound {
			t.Fatalf("another workspace's order: %d", status)
		}
		if status, _, _ := g.callAs(t, "", http.MethodDelete, "/api/order/4711", nil, "X-AUTH-TOKEN", other); status != http.StatusNotFound {
			t.Fatalf("another workspace's delete: %d", status)
		}
	})
}

func decodeInto(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}
