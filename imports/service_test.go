package imports_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports"
	"github.com/calgate/calgate/store"
)

const chunkTemplate = `{"name": "chunked", "kind": "reservation", "direction": "import", "input": "table",
 "columns": {"Booking": "external_id", "Guest": "title", "Start": "start", "End": "end"},
 "fields": {"source": {"const": "shop"}, "resource": {"const": "Room 1"}}}`

// openService opens a SQLite store with one workspace and an import
// service writing chunk items per chunk (0: the default), with template
// installed.
func openService(tb testing.TB, chunk int, template string) (*imports.Service, *store.DB, *calgate.Workspace) {
	tb.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "calgate.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	ws := &calgate.Workspace{ID: calgate.NewID("ws"), Name: "imports", Timezone: "Europe/Berlin", CreatedAt: time.Now().UTC()}
	if err := db.CreateWorkspace(context.Background(), ws); err != nil {
		tb.Fatal(err)
	}
	svc := imports.New(imports.Deps{Store: db}, imports.Options{ChunkSize: chunk})
	if _, _, err := svc.SaveTemplate(context.Background(), ws.ID, "", []byte(template), true); err != nil {
		tb.Fatal(err)
	}
	return svc, db, ws
}

// chunkService writes three items per chunk, so that a few rows span
// several chunks.
func chunkService(t *testing.T) (*imports.Service, *store.DB, *calgate.Workspace) {
	return openService(t, 3, chunkTemplate)
}

// rows builds a CSV of the named bookings; a booking named "bad…" gets a
// start that is not a date.
func rows(title string, ids ...string) string {
	var b strings.Builder
	b.WriteString("Booking,Guest,Start,End\n")
	for _, id := range ids {
		start := "2025-07-01 09:00"
		if strings.HasPrefix(id, "bad") {
			start = "soon"
			id = strings.TrimPrefix(id, "bad")
		}
		fmt.Fprintf(&b, "%s,%s %s,%s,2025-07-01 10:00\n", id, title, id, start)
	}
	return b.String()
}

func ids(n int, from int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("b%02d", from+i))
	}
	return out
}

func live(t *testing.T, db *store.DB, ws *calgate.Workspace) map[string]string {
	t.Helper()
	list, _, err := db.Entries(context.Background(), ws.ID, calgate.EntryFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range list {
		out[e.ExternalID] = e.Title
	}
	return out
}

func importCSV(t *testing.T, svc *imports.Service, ws *calgate.Workspace, csv string, opts imports.ImportOptions) *imports.Report {
	t.Helper()
	rep, err := svc.ImportRows(context.Background(), ws, "chunked", "test", strings.NewReader(csv), opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestImportSpansChunksInOrder(t *testing.T) {
	svc, db, ws := chunkService(t)
	var progress []int
	rep := importCSV(t, svc, ws, rows("Guest", ids(10, 1)...), imports.ImportOptions{Verbose: true, Progress: func(n int) { progress = append(progress, n) }})
	if rep.Created != 10 || rep.Records != 10 || len(rep.Operations) != 10 {
		t.Fatalf("created %d, records %d, %d operations", rep.Created, rep.Records, len(rep.Operations))
	}
	for i, op := range rep.Operations {
		if op.Index != i || op.Ref != fmt.Sprintf("line %d", i+2) || op.ExternalID != fmt.Sprintf("b%02d", i+1) {
			t.Errorf("operation %d: index %d, ref %q, external id %q", i, op.Index, op.Ref, op.ExternalID)
		}
	}
	if got := live(t, db, ws); len(got) != 10 {
		t.Errorf("%d entries stored, want 10", len(got))
	}
	// Four chunks (3+3+3+1), then the end.
	want := []int{3, 6, 9, 10, 10}
	if fmt.Sprint(progress) != fmt.Sprint(want) {
		t.Errorf("progress %v, want %v", progress, want)
	}
}

func TestImportStopOnErrorInALaterChunk(t *testing.T) {
	svc, db, ws := chunkService(t)
	// b05 fails in the second chunk (b04 b05 b06): b01..b04 stay, b06 and
	// everything after are not looked at.
	list := ids(10, 1)
	list[4] = "bad" + list[4]
	rep := importCSV(t, svc, ws, rows("Guest", list...), imports.ImportOptions{StopOnError: true, Verbose: true})
	if rep.Created != 4 || rep.Failed != 1 || !rep.Stopped || rep.Records != 6 {
		t.Fatalf("created %d, failed %d, stopped %v, records %d", rep.Created, rep.Failed, rep.Stopped, rep.Records)
	}
	if len(rep.Errors) != 1 || rep.Errors[0].Ref != "line 6" {
		t.Fatalf("errors %+v", rep.Errors)
	}
	got := live(t, db, ws)
	if len(got) != 4 || got["b04"] == "" || got["b06"] != "" {
		t.Errorf("stored %v", got)
	}
}

func TestImportSyncAcrossChunks(t *testing.T) {
	svc, db, ws := chunkService(t)
	importCSV(t, svc, ws, rows("Guest", ids(9, 1)...), imports.ImportOptions{})
	// The snapshot names b02, b05 and b08 in different chunks, and b09 on
	// a row that fails: its stored entry stays alive.
	snapshot := rows("Guest", "b02", "b05", "b08", "x1", "x2", "badb09")
	for _, simulate := range []bool{true, false} {
		rep := importCSV(t, svc, ws, snapshot, imports.ImportOptions{Mode: calgate.ImportModeSync, Simulate: simulate})
		if rep.Archived != 5 || rep.Unchanged != 3 || rep.Created != 2 || rep.Failed != 1 {
			t.Fatalf("simulate=%v: archived %d, unchanged %d, created %d, failed %d (%s)", simulate,
				rep.Archived, rep.Unchanged, rep.Created, rep.Failed, rep.SyncSkipped)
		}
	}
	got := live(t, db, ws)
	want := []string{"b02", "b05", "b08", "b09", "x1", "x2"}
	if len(got) != len(want) {
		t.Fatalf("live %v, want %v", got, want)
	}
	for _, id := range want {
		if got[id] == "" {
			t.Errorf("%s archived", id)
		}
	}
}

func TestImportSimulateSeesKeysOfEarlierChunks(t *testing.T) {
	svc, db, ws := chunkService(t)
	// b01 comes again in the third chunk unchanged, b02 in the fourth with
	// another title: a simulation, whose earlier chunks were rolled back,
	// still reports what a real import would do.
	csv := rows("Guest", "b01", "b02", "b03", "b04", "b05", "b06", "b01") + "b02,Someone else,2025-07-01 09:00,2025-07-01 10:00\n"
	sim := importCSV(t, svc, ws, csv, imports.ImportOptions{Simulate: true, Verbose: true})
	if got := live(t, db, ws); len(got) != 0 {
		t.Fatalf("simulation stored %v", got)
	}
	real := importCSV(t, svc, ws, csv, imports.ImportOptions{Verbose: true})
	if sim.Created != 6 || sim.Unchanged != 1 || sim.Updated != 1 {
		t.Errorf("simulated: created %d, unchanged %d, updated %d", sim.Created, sim.Unchanged, sim.Updated)
	}
	for i := range real.Operations {
		if s, r := sim.Operations[i].Operation, real.Operations[i].Operation; s != r {
			t.Errorf("item %d: simulated %s, imported %s", i, s, r)
		}
	}
}

func TestImportCancelledMidFileKeepsWrittenChunks(t *testing.T) {
	svc, db, ws := chunkService(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancelled once the second chunk is written.
	progress := func(n int) {
		if n == 6 {
			cancel()
		}
	}
	_, err := svc.ImportRows(ctx, ws, "chunked", "test", strings.NewReader(rows("Guest", ids(60, 1)...)), imports.ImportOptions{Progress: progress})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := live(t, db, ws); len(got) != 6 {
		t.Errorf("%d entries stored, want the 6 of the two chunks written before the cancel", len(got))
	}
}

func TestImportLargeRecordSpansChunks(t *testing.T) {
	svc, db, ws := chunkService(t)
	var tasks []string
	for i := range 7 {
		start := "2025-09-20 08:00:00"
		if i == 4 {
			start = "whenever"
		}
		tasks = append(tasks, fmt.Sprintf(`{"id": %d, "cost_centre_name": "Saw", "activity_name": "Cut %d", "production_start": %q, "production_end": "2025-09-20 16:00:00"}`, i+1, i, start))
	}
	order := []byte(`{"id": 1, "project_no": "P-1", "positions": [{"id": 1, "pos_no": 1, "tasks": [` + strings.Join(tasks, ",") + `]}]}`)
	// Task 5 (the second item of the second chunk) fails: with
	// stop_on_error the record stops there, and its first four tasks stay.
	rep, err := svc.ImportJSON(context.Background(), ws, "planningnow-order", "test", order, imports.ImportOptions{StopOnError: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 4 || rep.Failed != 1 || !rep.Stopped {
		t.Fatalf("created %d, failed %d, stopped %v", rep.Created, rep.Failed, rep.Stopped)
	}
	if got := live(t, db, ws); len(got) != 4 {
		t.Fatalf("%d entries stored, want 4", len(got))
	}
	rep, err = svc.ImportJSON(context.Background(), ws, "planningnow-order", "test", order, imports.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 1 || rep.Unchanged != 4 || rep.Created != 2 || rep.Failed != 1 {
		t.Fatalf("records %d, unchanged %d, created %d, failed %d", rep.Records, rep.Unchanged, rep.Created, rep.Failed)
	}
}
