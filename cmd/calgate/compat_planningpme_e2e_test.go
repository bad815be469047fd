package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// projectImport maps a project of a PlanningPME client's own model to a
// job, as PlanningPME's project-import template would.
const projectImport = `{"name": "project-import", "description": "PlanningPME project import", "kind": "job", "direction": "import",
 "fields": {"source": {"const": "planningpme"}, "external_id": {"path": "ID_PROJET"}, "title": {"path": "Libellé"},
  "workstage": {"path": "Ressource"}, "start": {"path": "Début"}, "end": {"path": "Fin"}}}`

func TestPlanningPMESurfaceTakesTheDocumentedRequests(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/templates", json.RawMessage(projectImport))
		// The headers of PlanningPME's documentation: an app key and the
		// token without a scheme.
		pme := []string{"Host", "api.planningpme.com", "X-APPKEY", "your_key", "Authorization", g.Token}
		post := func(body string) (int, map[string]any) {
			t.Helper()
			status, data, _ := g.rawCall(t, http.MethodPost, "/default/api/integration/project-import", body, pme...)
			var m map[string]any
			_ = json.Unmarshal(data, &m)
			return status, m
		}
		project := func(id, start string) string {
			return `{"ID_PROJET": "` + id + `", "Libellé": "Projet ` + id + `", "Ressource": "Atelier", "Début": "` + start + `", "Fin": "2025-10-02 17:00:00"}`
		}
		// The body as the documentation writes it, keys without quotes.
		status, rep := post(`{ simulate: true, verbose: true, stopOnError: false, model: ` + project("P-1", "2025-10-01 08:00:00") + ` }`)
		if status != http.StatusOK || rep["simulated"] != true || num(rep, "created") != 1 {
			t.Fatalf("simulate: %d %v", status, rep)
		}
		if jobs := g.entriesByExternalID(t, "/v1/jobs", "planningpme"); len(jobs) != 0 {
			t.Fatalf("a simulation wrote %v", jobs)
		}
		status, rep = post(`{"simulate": false, "verbose": false, "stopOnError": false, "model": [` + project("P-1", "2025-10-01 08:00:00") + `]}`)
		if status != http.StatusOK || num(rep, "created") != 1 {
			t.Fatalf("import: %d %v", status, rep)
		}
		// stopOnError stops at the bad second project; the third is not written.
		status, rep = post(`{ simulate: false, verbose: false, stopOnError: true, model: [` + project("P-2", "2025-10-01 08:00:00") + `, ` +
			project("P-3", "not a date") + `, ` + project("P-4", "2025-10-01 08:00:00") + `] }`)
		if status != http.StatusOK || rep["stopped"] != true || num(rep, "created") != 1 || num(rep, "failed") != 1 {
			t.Fatalf("stopOnError: %d %v", status, rep)
		}
		jobs := g.entriesByExternalID(t, "/v1/jobs", "planningpme")
		if len(jobs) != 2 || jobs["P-2"] == nil || jobs["P-4"] != nil || jobs["P-1"]["title"] != "Projet P-1" {
			t.Fatalf("jobs = %v", jobs)
		}
		if !strings.Contains(rep["errors"].([]any)[0].(map[string]any)["errors"].([]any)[0].(map[string]any)["field"].(string), "Début") {
			t.Fatalf("the error does not name the field: %v", rep["errors"])
		}

		// Refusals: no app key, another workspace in the path, an unknown field.
		if status, _, _ := g.rawCall(t, http.MethodPost, "/default/api/integration/project-import", `{"model": {}}`, "Authorization", g.Token); status != http.StatusUnauthorized {
			t.Fatalf("without X-APPKEY: %d", status)
		}
		if status, _, _ := g.rawCall(t, http.MethodGet, "/elsewhere/api/integration/templates", "", pme...); status != http.StatusNotFound {
			t.Fatalf("another workspace's path: %d", status)
		}
		if status, data, _ := g.rawCall(t, http.MethodPost, "/default/api/integration/project-import", `{"model": {}, "dryRun": true}`, pme...); status != http.StatusBadRequest || !strings.Contains(string(data), "dryRun") {
			t.Fatalf("unknown field: %d %s", status, data)
		}
		if status, _, _ := g.rawCall(t, http.MethodGet, "/default/api/integration/templates", "", "X-APPKEY", "k", "Authorization", "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("a wrong token: %d", status)
		}

		// The templates, with their documents.
		_, data, _ := g.rawCall(t, http.MethodGet, "/default/api/integration/templates", "", pme...)
		var tpls []map[string]any
		if err := json.Unmarshal(data, &tpls); err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, tp := range tpls {
			if tp["template"] == nil {
				t.Fatalf("template %v without its document", tp["name"])
			}
			names[tp["name"].(string)] = true
		}
		if !names["project-import"] || !names["planningpme-tasks"] {
			t.Fatalf("templates = %v", names)
		}

		// The export since a time brings what changed and what was
		// deleted, marked.
		time.Sleep(1100 * time.Millisecond) // yyyyMMddHHmmss has whole seconds
		since := time.Now().UTC().Format("20060102150405")
		time.Sleep(1100 * time.Millisecond)
		g.mustCall(t, http.StatusOK, http.MethodDelete, "/v1/jobs/"+jobs["P-1"]["id"].(string), nil)
		post(`{"model": ` + project("P-5", "2025-10-01 09:00:00") + `}`)
		_, data, _ = g.rawCall(t, http.MethodGet, "/default/api/integration/planningpme-tasks?since="+since, "", pme...)
		var items []map[string]any
		if err := json.Unmarshal(data, &items); err != nil {
			t.Fatalf("%v: %s", err, data)
		}
		got := map[string]any{}
		for _, it := range items {
			got[it["ExternalId"].(string)] = it["Deleted"]
		}
		if len(got) != 2 || got["P-1"] != true || got["P-5"] != false {
			t.Fatalf("export since %s = %s", since, data)
		}
		_, data, _ = g.rawCall(t, http.MethodGet, "/default/api/integration/planningpme-tasks", "", pme...)
		if err := json.Unmarshal(data, &items); err != nil || len(items) != 2 {
			t.Fatalf("full export (live entries): %s", data)
		}
	})
}
