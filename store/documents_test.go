package store

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/calgate/calgate"
)

// docWindow is a production window of an order document.
func docWindow(t *testing.T, order, task string) *calgate.Entry {
	t.Helper()
	e := parse(t, calgate.KindProductionWindow, map[string]any{"external_id": order + "/" + task, "source": "planningnow",
		"cost_centre": "CNC", "order": order, "start": "2025-09-20 08:00:00", "end": "2025-09-20 16:30:00"})
	e.Document = "planningnow:order:" + order
	return e
}

func testUpsertDocumentsReplaceWhatTheyNoLongerHold(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	doc := func(order string) calgate.UpsertOptions {
		return calgate.UpsertOptions{Documents: []string{"planningnow:order:" + order}, Verbose: true}
	}
	upsert(t, db, ws, doc("4711"), items(docWindow(t, "4711", "1"), docWindow(t, "4711", "2"))...)
	upsert(t, db, ws, doc("3456"), items(docWindow(t, "3456", "1"))...)
	// An entry sent on its own that belongs to no document.
	loose := docWindow(t, "4711", "loose")
	loose.Document = ""
	upsert(t, db, ws, calgate.UpsertOptions{}, items(loose)...)

	// 4711 comes again without task 2: it is archived, nothing else.
	res := upsert(t, db, ws, doc("4711"), items(docWindow(t, "4711", "1"))...)
	checkCounts(t, res, counts{unchanged: 1, archived: 1})
	gone := onlyEntry(t, db, ws, "4711/2")
	if !gone.Archived() || gone.Document != "planningnow:order:4711" {
		t.Fatalf("4711/2 = %+v", gone)
	}
	if evs := history(t, db, ws, gone.ID); len(evs) != 2 || evs[1].Type != calgate.EventEntryArchived {
		t.Fatalf("4711/2 events %v", eventTypes(evs))
	}
	for _, ext := range []string{"4711/1", "3456/1", "4711/loose"} {
		if e := onlyEntry(t, db, ws, ext); e.Archived() {
			t.Fatalf("%s was archived", ext)
		}
	}
	// It comes back: restored, with a restored event.
	res = upsert(t, db, ws, doc("4711"), items(docWindow(t, "4711", "1"), docWindow(t, "4711", "2"))...)
	checkCounts(t, res, counts{unchanged: 1, updated: 1})
	back := onlyEntry(t, db, ws, "4711/2")
	if back.Archived() {
		t.Fatal("4711/2 not restored")
	}
	if evs := history(t, db, ws, back.ID); evs[len(evs)-1].Type != calgate.EventEntryRestored {
		t.Fatalf("4711/2 events %v", eventTypes(evs))
	}
	// A document sent empty archives all of it; a simulation writes nothing.
	res = upsert(t, db, ws, calgate.UpsertOptions{Documents: []string{"planningnow:order:4711"}, Simulate: true})
	checkCounts(t, res, counts{archived: 2})
	if onlyEntry(t, db, ws, "4711/1").Archived() {
		t.Fatal("a simulation archived")
	}
	res = upsert(t, db, ws, calgate.UpsertOptions{Documents: []string{"planningnow:order:4711"}})
	checkCounts(t, res, counts{archived: 2})
	if !onlyEntry(t, db, ws, "4711/1").Archived() || onlyEntry(t, db, ws, "3456/1").Archived() || onlyEntry(t, db, ws, "4711/loose").Archived() {
		t.Fatal("emptying 4711 archived the wrong entries")
	}
	// An entry upserted on its own keeps its document.
	again := docWindow(t, "3456", "1")
	again.Document = ""
	upsert(t, db, ws, calgate.UpsertOptions{}, items(again)...)
	if e := onlyEntry(t, db, ws, "3456/1"); e.Document != "planningnow:order:3456" {
		t.Fatalf("document = %q", e.Document)
	}
	// A failed batch with stop_on_error replaces nothing.
	bad := calgate.UpsertItem{Err: calgate.Invalid("start", "is required")}
	res = upsert(t, db, ws, calgate.UpsertOptions{Documents: []string{"planningnow:order:3456"}, StopOnError: true}, bad)
	if !res.Stopped || res.Archived != 0 || onlyEntry(t, db, ws, "3456/1").Archived() {
		t.Fatalf("stopped batch: %+v", res)
	}
}

func testRecords(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	other := newWorkspace(t, db, "other").ID
	n, err := db.NextRecordID(ctx, ws, "skyplanner", "customer")
	if err != nil || n != 1 {
		t.Fatalf("first id = %d, %v", n, err)
	}
	rec := func(typ, id, body string, links ...string) *calgate.Record {
		return &calgate.Record{Source: "skyplanner", Type: typ, ID: id, Body: json.RawMessage(body), Links: links}
	}
	job := rec("phaser-job", "70", `{"id":70,"workstage_id":12}`, "workstage:12", "phaser-order-item:9")
	upsert(t, db, ws, calgate.UpsertOptions{Records: []*calgate.Record{rec("customer", "41", `{"id":41}`), job}})
	// An id written explicitly moves the counter past it.
	if n, _ := db.NextRecordID(ctx, ws, "skyplanner", "customer"); n != 42 {
		t.Fatalf("id after 41 = %d", n)
	}
	got, err := db.Record(ctx, ws, "skyplanner", "phaser-job", "70")
	if err != nil || got.Version != 1 || string(got.Body) != `{"id":70,"workstage_id":12}` {
		t.Fatalf("record = %+v, %v", got, err)
	}
	if _, err := db.Record(ctx, other, "skyplanner", "phaser-job", "70"); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("another workspace sees the record: %v", err)
	}
	linked, err := db.LinkedRecords(ctx, ws, "skyplanner", "workstage:12")
	if err != nil || len(linked) != 1 || linked[0].ID != "70" {
		t.Fatalf("linked = %+v, %v", linked, err)
	}
	// A stale version is a conflict and writes nothing, entries included.
	stale := rec("phaser-job", "70", `{"id":70}`)
	_, err = db.Upsert(ctx, ws, "tok", items(docWindow(t, "1", "1")), calgate.UpsertOptions{Records: []*calgate.Record{stale}})
	if !errors.Is(err, calgate.ErrConflict) {
		t.Fatalf("create over an existing record: %v", err)
	}
	if list, _, _ := db.Entries(ctx, ws, calgate.EntryFilter{}); len(list) != 0 {
		t.Fatal("the entry of a refused record was written")
	}
	stale.Version = 7
	if _, err := db.Upsert(ctx, ws, "tok", nil, calgate.UpsertOptions{Records: []*calgate.Record{stale}}); !errors.Is(err, calgate.ErrConflict) {
		t.Fatalf("stale version: %v", err)
	}
	// Replacing drops old links; numeric ids list in numeric order.
	job.Version, job.Body, job.Links = 1, json.RawMessage(`{"id":70,"workstage_id":14}`), []string{"workstage:14"}
	upsert(t, db, ws, calgate.UpsertOptions{Records: []*calgate.Record{job, rec("phaser-job", "9", `{"id":9}`), rec("phaser-job", "100", `{"id":100}`)}})
	if l, _ := db.LinkedRecords(ctx, ws, "skyplanner", "workstage:12"); len(l) != 0 {
		t.Fatalf("old link kept: %+v", l)
	}
	page, next, err := db.Records(ctx, ws, "skyplanner", "phaser-job", calgate.RecordFilter{Limit: 2})
	if err != nil || len(page) != 2 || page[0].ID != "9" || page[1].ID != "70" || next != "70" {
		t.Fatalf("page = %+v next %q %v", page, next, err)
	}
	page, next, _ = db.Records(ctx, ws, "skyplanner", "phaser-job", calgate.RecordFilter{Cursor: next, Limit: 2})
	if len(page) != 1 || page[0].ID != "100" || next != "" || page[0].Version != 1 {
		t.Fatalf("second page = %+v next %q", page, next)
	}
	// Delete.
	del := &calgate.Record{Source: "skyplanner", Type: "phaser-job", ID: "70", Version: 2, Delete: true}
	upsert(t, db, ws, calgate.UpsertOptions{Records: []*calgate.Record{del}})
	if _, err := db.Record(ctx, ws, "skyplanner", "phaser-job", "70"); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("deleted record: %v", err)
	}
}
