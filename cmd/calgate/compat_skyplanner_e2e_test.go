package main

import (
	"fmt"
	"net/http"
	"testing"
)

func TestSkyplannerSurfaceInTheGuidesSequenceAndOutOfOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		create := func(path string, body map[string]any) map[string]any {
			t.Helper()
			return decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, path, body))
		}
		id := func(m map[string]any) string { return fmt.Sprint(m["id"]) }

		// The guide's workflow: customer, order with the customer's id,
		// order item with the order's id, workstage, job with both ids.
		cu := create("/customers", map[string]any{"name": "Nordic Boats Oy"})
		order := create("/phaser-orders", map[string]any{"customer_id": cu["id"], "order_number": "SO-24117", "delivery_date": "2025-11-14"})
		if order["is_archive"] != false {
			t.Fatalf("order = %v", order)
		}
		item := create("/phaser-order-items", map[string]any{"phaser_order_id": order["id"], "quantity": 2, "product": map[string]any{"code": "HULL-40", "name": "Hull 40ft"}})
		ws := create("/workstages", map[string]any{"name": "Lamination hall"})
		job := create("/phaser-jobs", map[string]any{"phaser_order_row_id": item["id"], "workstage_id": ws["id"], "name": "Lamination",
			"start_time": "2025-10-01T06:00:00+03:00", "end_time": "2025-10-03T14:00:00+03:00"})
		// A job not yet scheduled gives no entry.
		create("/phaser-jobs", map[string]any{"phaser_order_row_id": item["id"], "workstage_id": ws["id"], "name": "Sea trial"})
		jobs := g.entriesByExternalID(t, "/v1/jobs", "skyplanner")
		j := jobs[id(job)]
		if len(jobs) != 1 || j["workstage"] != "Lamination hall" || j["order"] != "SO-24117" || j["order_item"] != id(item) ||
			j["product"] != "HULL-40" || j["title"] != "Lamination – Hull 40ft" || j["start"] != "2025-10-01T05:00:00+02:00" ||
			fmt.Sprint(j["attributes"]) != "map[customer:Nordic Boats Oy delivery_date:2025-11-14 quantity:2]" {
			t.Fatalf("jobs = %v", jobs)
		}

		// The same the other way round: the job first, naming ids the ERP
		// gives its resources, then the rest; the job is resolved when its
		// order item and order are there.
		create("/phaser-jobs", map[string]any{"id": 9001, "phaser_order_row_id": 801, "workstage_id": 71, "name": "Painting",
			"start_time": "2025-10-06 07:00:00", "end_time": "2025-10-06 15:30:00"})
		create("/workstages", map[string]any{"id": 71, "name": "Paint shop"})
		create("/phaser-order-items", map[string]any{"id": 801, "phaser_order_id": 701})
		if jobs := g.entriesByExternalID(t, "/v1/jobs", "skyplanner"); jobs["9001"] != nil {
			t.Fatalf("a job without its order became an entry: %v", jobs["9001"])
		}
		create("/phaser-orders", map[string]any{"id": 701, "customer_id": 601, "order_number": "SO-24118"})
		jobs = g.entriesByExternalID(t, "/v1/jobs", "skyplanner")
		if p := jobs["9001"]; p == nil || p["workstage"] != "Paint shop" || p["order"] != "SO-24118" || p["order_item"] != "801" ||
			p["start"] != "2025-10-06T07:00:00+02:00" {
			t.Fatalf("job 9001 = %v", p)
		}
		create("/customers", map[string]any{"id": 601, "name": "Baltic Yachts"})
		if p := g.entriesByExternalID(t, "/v1/jobs", "skyplanner")["9001"]; fmt.Sprint(p["attributes"]) != "map[customer:Baltic Yachts]" {
			t.Fatalf("job 9001 after its customer = %v", p)
		}
		// Renaming the workstage moves the job's entry.
		g.mustCall(t, http.StatusOK, http.MethodPatch, "/workstages/71", map[string]any{"name": "Paint shop 2"})
		if p := g.entriesByExternalID(t, "/v1/jobs", "skyplanner")["9001"]; p["workstage"] != "Paint shop 2" {
			t.Fatalf("job 9001 after the rename = %v", p)
		}
		// A job moved in time is rescheduled.
		g.mustCall(t, http.StatusOK, http.MethodPut, "/phaser-jobs/"+id(job), map[string]any{"end_time": "2025-10-03T16:00:00+03:00"})
		if p := g.entriesByExternalID(t, "/v1/jobs", "skyplanner")[id(job)]; p["end"] != "2025-10-03T15:00:00+02:00" || p["version"] != 2.0 {
			t.Fatalf("job after PUT = %v", p)
		}
		// A job that cannot be an entry is refused, naming its field.
		status, data, _ := g.call(t, http.MethodPatch, "/phaser-jobs/9001", map[string]any{"end_time": "2025-10-05 07:00:00"})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("bad job: %d %s", status, data)
		}
		status, data, _ = g.call(t, http.MethodPost, "/phaser-jobs", map[string]any{"phaser_order_row_id": "x"})
		if status != http.StatusBadRequest {
			t.Fatalf("bad link: %d %s", status, data)
		}

		// Soft delete: the job is archived, not cancelled, and can still be read.
		g.mustCall(t, http.StatusOK, http.MethodDelete, "/phaser-jobs/"+id(job), nil)
		g.mustCall(t, http.StatusNotFound, http.MethodGet, "/phaser-jobs/"+id(job), nil)
		if got := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/phaser-jobs/"+id(job)+"?include_archived=true", nil)); got["is_archive"] != true {
			t.Fatalf("archived job = %v", got)
		}
		jobs = g.entriesByExternalID(t, "/v1/jobs", "skyplanner")
		if p := jobs[id(job)]; p["archived_at"] == nil || p["status"] != "confirmed" {
			t.Fatalf("deleted job's entry = %v", p)
		}
		// Deleting the order archives every job of it.
		g.mustCall(t, http.StatusOK, http.MethodDelete, "/phaser-orders/701", nil)
		if p := g.entriesByExternalID(t, "/v1/jobs", "skyplanner")["9001"]; p["archived_at"] == nil {
			t.Fatalf("job of a deleted order = %v", p)
		}
		// Bringing the job back restores it.
		g.mustCall(t, http.StatusOK, http.MethodPatch, "/phaser-jobs/"+id(job), map[string]any{"is_archive": false})
		if p := g.entriesByExternalID(t, "/v1/jobs", "skyplanner")[id(job)]; p["archived_at"] != nil {
			t.Fatalf("restored job = %v", p)
		}
		var list []any
		decodeInto(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/phaser-orders", nil), &list)
		if len(list) != 1 {
			t.Fatalf("live orders = %v", list)
		}
		decodeInto(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/phaser-orders?include_archived=true", nil), &list)
		if len(list) != 2 {
			t.Fatalf("all orders = %v", list)
		}
		// Customers are deleted for good; other workspaces see nothing.
		g.mustCall(t, http.StatusNoContent, http.MethodDelete, "/customers/601", nil)
		g.mustCall(t, http.StatusNotFound, http.MethodGet, "/customers/601?include_archived=true", nil)
		other := g.newWorkspaceToken(t, "other")
		if status, _, _ := g.callAs(t, other, http.MethodGet, "/phaser-orders/701?include_archived=true", nil); status != http.StatusNotFound {
			t.Fatalf("another workspace's order: %d", status)
		}
	})
}
