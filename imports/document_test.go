package imports_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports"
)

func seedOrder(t *testing.T, id string) map[string]any {
	t.Helper()
	data, err := os.ReadFile("../testdata/planningnow/order-" + id + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func model(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// windows lists the production windows by external id: "live" or
// "archived".
func windows(t *testing.T, db interface {
	Entries(context.Context, string, calgate.EntryFilter) ([]*calgate.Entry, string, error)
}, ws string) map[string]string {
	t.Helper()
	list, _, err := db.Entries(context.Background(), ws, calgate.EntryFilter{IncludeArchived: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range list {
		state := "live"
		if e.Archived() {
			state = "archived"
		}
		out[e.ExternalID] = state
	}
	return out
}

func TestPlanningNowOrdersAreReplacedWhole(t *testing.T) {
	svc, db, ws := openService(t, 0, chunkTemplate)
	ctx := context.Background()
	o3456, o4711 := seedOrder(t, "3456"), seedOrder(t, "4711")
	// 4711 gets a second position with two tasks.
	pos2 := map[string]any{"id": 2, "pos_no": 2, "article_number": "ART-002", "tasks": []any{
		map[string]any{"id": 201, "cost_centre_name": "CNC", "activity_name": "Milling", "production_start": "2025-09-21 06:00:00", "production_end": "2025-09-21 09:00:00"},
		map[string]any{"id": 202, "cost_centre_name": "CNC", "activity_name": "Deburring", "production_start": "2025-09-21 09:00:00", "production_end": "2025-09-21 10:00:00"},
	}}
	o4711["positions"] = append(o4711["positions"].([]any), pos2)
	rep, err := svc.ImportJSON(ctx, ws, "planningnow-order", "test", model(t, []any{o3456, o4711}), defaultOpts())
	if err != nil || rep.Created != 4 || rep.Failed != 0 {
		t.Fatalf("first import: %+v %v", rep, err)
	}
	want := map[string]string{"3456/1/101": "live", "4711/1/101": "live", "4711/2/201": "live", "4711/2/202": "live"}
	if got := windows(t, db, ws.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("windows = %v", got)
	}

	// 4711 again without position 2: its tasks are archived, 3456 stays.
	o4711 = seedOrder(t, "4711")
	rep, err = svc.ImportJSON(ctx, ws, "planningnow-order", "test", model(t, o4711), verboseOpts())
	if err != nil || rep.Archived != 2 || rep.Unchanged != 1 {
		t.Fatalf("re-send: %+v %v", rep, err)
	}
	want["4711/2/201"], want["4711/2/202"] = "archived", "archived"
	if got := windows(t, db, ws.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("windows = %v", got)
	}
	var archived []string
	for _, op := range rep.Operations {
		if op.Operation == calgate.OpArchived {
			archived = append(archived, op.ExternalID)
		}
	}
	sort.Strings(archived)
	if !reflect.DeepEqual(archived, []string{"4711/2/201", "4711/2/202"}) {
		t.Fatalf("reported archived %v", archived)
	}

	// A task that loses its window is archived too; one that comes back is
	// restored.
	o4711["positions"] = append(o4711["positions"].([]any), pos2)
	task := o4711["positions"].([]any)[0].(map[string]any)["tasks"].([]any)[0].(map[string]any)
	delete(task, "production_start")
	rep, err = svc.ImportJSON(ctx, ws, "planningnow-order", "test", model(t, o4711), defaultOpts())
	if err != nil || rep.Updated != 2 || rep.Archived != 1 || rep.Skipped != 1 {
		t.Fatalf("restore: %+v %v", rep, err)
	}
	want["4711/1/101"], want["4711/2/201"], want["4711/2/202"] = "archived", "live", "live"
	if got := windows(t, db, ws.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("windows = %v", got)
	}

	// A version with a failed task replaces nothing: its other entries stay.
	task["production_start"] = "someday"
	o4711["positions"] = o4711["positions"].([]any)[:1]
	rep, err = svc.ImportJSON(ctx, ws, "planningnow-order", "test", model(t, o4711), defaultOpts())
	if err != nil || rep.Failed != 1 || rep.Archived != 0 {
		t.Fatalf("failed version: %+v %v", rep, err)
	}
	if got := windows(t, db, ws.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("windows after a failed version = %v", got)
	}
}

func TestWholeDocumentTemplatesAreChecked(t *testing.T) {
	svc, _, ws := openService(t, 0, chunkTemplate)
	for doc, want := range map[string]string{
		`"archived": ["gone"]`: "archived: needs document",
		`"input": "table", "columns": {"Id": "external_id"}, "document": {"path": "x"}`: "document: does not apply to tabular templates",
		`"document": {"path": "a..b"}`: "document.path",
	} {
		tpl := `{"name": "t", "kind": "job", "direction": "import", ` + doc + `, "fields": {"external_id": {"path": "id"}, "start": {"path": "s"}, "workstage": {"path": "w"}}}`
		_, _, err := svc.SaveTemplate(context.Background(), ws.ID, "", []byte(tpl), true)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}

func defaultOpts() imports.ImportOptions { return imports.ImportOptions{} }
func verboseOpts() imports.ImportOptions { return imports.ImportOptions{Verbose: true} }
