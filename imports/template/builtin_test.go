package template

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports/sheet"
	"github.com/calgate/calgate/imports/sheet/sheettest"
)

func TestBuiltinTemplatesAllParse(t *testing.T) {
	names := BuiltinNames()
	want := []string{"planningnow-order", "planningpme-tasks", "planyo-reservations", "skyplanner-order"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("BuiltinNames = %q, want %q", names, want)
	}
	all := Builtin()
	for _, n := range names {
		if _, err := LookupBuiltin(n); err != nil {
			t.Fatal(err)
		}
		if all[n] == nil || all[n].Name != n {
			t.Fatalf("Builtin()[%q] = %+v", n, all[n])
		}
	}
	if _, err := LookupBuiltin("nope"); err == nil {
		t.Fatal("an unknown name was found")
	}
}

// mapFile maps a testdata document with a built-in template and parses
// every produced entry, keyed by Ref; skipped entries are returned apart.
func mapFile(t *testing.T, name, file, tz string) (map[string]*calgate.Entry, map[string]string) {
	t.Helper()
	tp, err := LookupBuiltin(name)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := tp.MapJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	entries, skipped := map[string]*calgate.Entry{}, map[string]string{}
	for _, p := range ps {
		if p.Skipped != "" {
			skipped[p.Ref] = p.Skipped
			continue
		}
		e, err := tp.Parse(p, tz)
		if err != nil {
			t.Fatalf("%s: %v", p.Ref, err)
		}
		entries[p.Ref] = e
	}
	return entries, skipped
}

func TestPlanningNowOrderMakesOneProductionWindowPerScheduledTask(t *testing.T) {
	entries, skipped := mapFile(t, "planningnow-order", "../../testdata/imports/planningnow-order.json", "Europe/Berlin")
	if len(entries) != 3 || len(skipped) != 1 {
		t.Fatalf("entries %d skipped %v", len(entries), skipped)
	}
	if r := skipped["positions[1].tasks[1]"]; !strings.Contains(r, "production_start") {
		t.Fatalf("skip reason = %q", r)
	}
	e := entries["positions[0].tasks[0]"]
	want := calgate.Entry{
		Kind: calgate.KindProductionWindow, Source: "planningnow", ExternalID: "4711/1/101", Title: "Component Welding",
		Description: "ART-001 Main Component Assembly", Timezone: "Europe/Berlin", Status: calgate.StatusConfirmed,
		Resource: "Assembly Line 1", Details: calgate.Details{Order: "PROJ-2025-Q4", Position: "1", Activity: "Component Welding"},
	}
	got := *e
	got.Start, got.End, got.Attributes = time.Time{}, time.Time{}, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("entry = %+v\nwant    %+v", got, want)
	}
	if e.Start.Format(time.RFC3339) != "2025-09-20T08:00:00+02:00" || e.End.Format(time.RFC3339) != "2025-09-20T16:30:00+02:00" {
		t.Fatalf("window %s – %s", e.Start, e.End)
	}
	var attrs map[string]any
	if err := json.Unmarshal(e.Attributes, &attrs); err != nil {
		t.Fatal(err)
	}
	if attrs["customer_no"] != 1234.0 || attrs["order_id"] != 4711.0 || attrs["amount"] != 50.0 || attrs["setup_minutes"] != 30.0 {
		t.Fatalf("attributes = %s", e.Attributes)
	}
	// The night the clocks go back: 01:30 is still summer time, 04:00 winter time.
	m := entries["positions[1].tasks[0]"]
	if m.Resource != "CNC Milling Dept." || m.Position != "2" || m.End.Sub(m.Start) != 3*time.Hour+30*time.Minute {
		t.Fatalf("milling = %+v", m)
	}
}

func TestPlanningNowTasksAreIdentifiedByOrderAndPosition(t *testing.T) {
	// PlanningNow's guide shows task 101 in order 3456 and in order 4711:
	// two production windows, not one overwriting the other.
	tp, _ := LookupBuiltin("planningnow-order")
	ids := map[string]string{}
	for _, file := range []string{"../../testdata/planningnow/order-3456.json", "../../testdata/planningnow/order-4711.json"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := tp.MapJSON(data)
		if err != nil || len(ps) != 1 {
			t.Fatalf("%s: %d entries, %v", file, len(ps), err)
		}
		e, err := tp.Parse(ps[0], "Europe/Berlin")
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		_ = json.Unmarshal(data, &doc)
		key, err := tp.DocumentKey(doc)
		if err != nil {
			t.Fatal(err)
		}
		ids[e.ExternalID] = key
	}
	want := map[string]string{"3456/1/101": "planningnow:order:3456", "4711/1/101": "planningnow:order:4711"}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("external ids and documents = %v, want %v", ids, want)
	}
}

func TestPlanningNowOrderListUsesEachOrdersNumber(t *testing.T) {
	tp, _ := LookupBuiltin("planningnow-order")
	doc := `[{"id":3456,"project_no":"PROJ-2025-Q3","positions":[{"id":1,"pos_no":1,"tasks":[
	  {"id":101,"cost_centre_name":"Assembly Line 1","activity_name":"Component Welding","production_start":"2025-08-20 07:00:00","production_end":"2025-08-20 15:00:00"}]}]},
	  {"id":3457,"positions":[{"id":7,"tasks":[
	  {"id":300,"cost_centre_name":"Paint Shop","activity_name":"Priming","production_start":"2025-08-21 07:00:00","production_end":"2025-08-21 09:00:00"}]}]}]`
	ps, err := tp.MapJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var orders []string
	for _, p := range ps {
		e, err := tp.Parse(p, "UTC")
		if err != nil {
			t.Fatal(err)
		}
		orders = append(orders, e.Order+"/"+e.Position)
	}
	if !reflect.DeepEqual(orders, []string{"PROJ-2025-Q3/1", "3457/7"}) {
		t.Fatalf("orders = %q", orders)
	}
}

func TestSkyplannerOrderMakesOneJobPerScheduledProcessStep(t *testing.T) {
	entries, skipped := mapFile(t, "skyplanner-order", "../../testdata/imports/skyplanner-order.json", "Europe/Helsinki")
	if len(entries) != 1 || len(skipped) != 2 || skipped["order_items[1].jobs[0]"] == "" {
		t.Fatalf("entries %v skipped %v", entries, skipped)
	}
	// An archived job gives no entry: replacing the order archives it.
	if r := skipped["order_items[0].jobs[1]"]; r != "archived in the source (is_archive)" {
		t.Fatalf("archived job: %q", r)
	}
	e := entries["order_items[0].jobs[0]"]
	if e.Kind != calgate.KindJob || e.Source != "skyplanner" || e.ExternalID != "70001" || e.Resource != "Lamination hall" ||
		e.Order != "SO-24117" || e.OrderItem != "9001" || e.Product != "HULL-40" || e.Title != "Lamination – Hull 40ft" ||
		e.Status != calgate.StatusConfirmed {
		t.Fatalf("job = %+v", e)
	}
	if !e.Start.Equal(time.Date(2025, 10, 1, 3, 0, 0, 0, time.UTC)) || !e.End.Equal(time.Date(2025, 10, 3, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("window %s – %s", e.Start, e.End)
	}
	if string(e.Attributes) != `{"customer":"Nordic Boats Oy","delivery_date":"2025-11-14","quantity":2}` {
		t.Fatalf("attributes = %s", e.Attributes)
	}
}

func TestPlanyoTemplateReadsACSVReport(t *testing.T) {
	tp, _ := LookupBuiltin("planyo-reservations")
	f, err := os.Open("../../testdata/imports/planyo-reservations.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := sheet.NewCSVReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]*calgate.Entry{}
	failed := map[int]string{}
	for _, row := range sheettest.ReadAll(t, r.Next) {
		e, err := tp.Parse(tp.MapRow(row), "Europe/Berlin")
		if err != nil {
			failed[row.Line] = err.Error()
			continue
		}
		got[row.Line] = e
	}
	if len(got) != 3 || len(failed) != 2 {
		t.Fatalf("entries on lines %v, failures %v", got, failed)
	}
	kayak := got[2]
	if kayak.ExternalID != "880101" || kayak.Resource != "Kayak 2-seater" || *kayak.Quantity != 2 || kayak.Status != calgate.StatusConfirmed ||
		kayak.Customer.Name != "Anna Schmidt" || kayak.Customer.Email != "anna.schmidt@example.de" || kayak.Customer.Phone != "+49 30 1234567" ||
		kayak.Start.Format(time.RFC3339) != "2025-07-01T09:00:00+02:00" || string(kayak.Attributes) != `{"Notes":"Paddles for children"}` {
		t.Fatalf("kayak = %+v", kayak)
	}
	flat := got[3]
	if !flat.AllDay || flat.Resource != `Holiday flat "Seeblick"` || flat.Status != calgate.StatusTentative ||
		flat.End.Sub(flat.Start) != 3*24*time.Hour || string(flat.Attributes) != `{"Notes":"Arrives late,\nkey in the mailbox"}` {
		t.Fatalf("flat = %+v attributes %s", flat, flat.Attributes)
	}
	if got[5].Status != calgate.StatusCancelled {
		t.Fatalf("cancelled = %+v", got[5])
	}
	if !strings.Contains(failed[7], `line 7, column "End time": end: "32.07.2025 18:00"`) {
		t.Fatalf("line 7: %s", failed[7])
	}
	if !strings.Contains(failed[8], `line 8, column "Start time": start: is required (the row ends after 5 columns`) {
		t.Fatalf("line 8: %s", failed[8])
	}
}

func TestPlanningPMEExportRendersAJobAsATask(t *testing.T) {
	tp, _ := LookupBuiltin("planningpme-tasks")
	e, err := calgate.ParseEntry(calgate.KindJob, []byte(`{"external_id":"70001","source":"skyplanner","title":"Lamination",
	  "workstage":"Lamination hall","order":"SO-24117","product":"HULL-40","status":"tentative",
	  "start":"2025-10-01T06:00:00","end":"2025-10-03T14:00:00"}`), "Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	e.UpdatedAt = time.Date(2025, 9, 30, 22, 5, 9, 0, time.UTC)
	out, err := tp.Export(e)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"ExternalId": "70001", "Label": "Lamination", "Resource": "Lamination hall", "Project": "SO-24117", "Product": "HULL-40",
		"StartDate": "2025-10-01T06:00:00", "EndDate": "2025-10-03T14:00:00", "AllDay": false, "Status": "Provisional",
		"LastModified": "20250930220509",
	}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("export = %v\nwant     %v", out, want)
	}
	if since, err := calgate.ParseSince(out["LastModified"].(string)); err != nil || !since.Equal(e.UpdatedAt) {
		t.Fatalf("LastModified does not read back as a since value: %v %v", since, err)
	}
}
