package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

func TestIdenticalImpliesSameContent(t *testing.T) {
	q1, q2 := 1, 2
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	base := &calgate.Entry{Kind: calgate.KindReservation, Source: "erp", ExternalID: "x", Title: "T",
		Start: at, End: at.Add(time.Hour), Timezone: "Europe/Berlin", Status: calgate.StatusConfirmed, Resource: "r",
		Details: calgate.Details{Customer: &calgate.Customer{Name: "Ann"}, Quantity: &q1}, Attributes: json.RawMessage(`{"a":1}`)}
	tests := []struct {
		name   string
		change func(e *calgate.Entry)
		want   bool
	}{
		{"same", func(e *calgate.Entry) {}, true},
		{"same instant in another zone", func(e *calgate.Entry) { e.Start = e.Start.In(time.FixedZone("x", 3600)) }, true},
		{"empty customer is no customer", func(e *calgate.Entry) { e.Customer = &calgate.Customer{} }, false},
		{"title", func(e *calgate.Entry) { e.Title = "U" }, false},
		{"start", func(e *calgate.Entry) { e.Start = e.Start.Add(time.Minute) }, false},
		{"all day", func(e *calgate.Entry) { e.AllDay = true }, false},
		{"timezone", func(e *calgate.Entry) { e.Timezone = "UTC" }, false},
		{"quantity", func(e *calgate.Entry) { e.Quantity = &q2 }, false},
		{"no quantity", func(e *calgate.Entry) { e.Quantity = nil }, false},
		{"customer", func(e *calgate.Entry) { e.Customer = &calgate.Customer{Name: "Bob"} }, false},
		{"attributes reordered", func(e *calgate.Entry) { e.Attributes = json.RawMessage(`{ "a": 1 }`) }, false},
		{"archived", func(e *calgate.Entry) { e.ArchivedAt = &at }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := base.Clone()
			tc.change(b)
			got := identical(base, b)
			if got != tc.want {
				t.Errorf("identical = %v, want %v", got, tc.want)
			}
			if got && !calgate.SameContent(base, b) {
				t.Errorf("identical but not SameContent: %v", calgate.Diff(base, b))
			}
		})
	}
}

// testUpsertReturnGivesTheStoredEntries checks that with Return each
// item's result carries its entry exactly as a later read finds it, for
// an entry created, left unchanged (sent in another form) and updated.
func testUpsertReturnGivesTheStoredEntries(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	a := reservation("a-1", "Meeting")
	a["attributes"] = json.RawMessage(`{"x":1,"y":{"p":true}}`)
	a["customer"] = map[string]any{"name": "Ann"}
	steps := []struct {
		name   string
		fields map[string]any
		op     string
	}{
		{"created", a, calgate.OpCreated},
		{"unchanged", with(a, "attributes", json.RawMessage(`{ "y": {"p":true}, "x": 1 }`)), calgate.OpUnchanged},
		{"updated", with(a, "title", "Renamed"), calgate.OpUpdated},
	}
	for _, st := range steps {
		res := upsert(t, db, ws, calgate.UpsertOptions{Verbose: true, Return: true}, items(parse(t, calgate.KindReservation, st.fields))...)
		op := res.Operations[0]
		if op.Operation != st.op {
			t.Fatalf("%s: operation = %s, want %s", st.name, op.Operation, st.op)
		}
		stored, err := db.Entry(ctx, ws, calgate.KindReservation, op.ID, false)
		if err != nil {
			t.Fatalf("%s: read back: %v", st.name, err)
		}
		if op.Entry == nil || !reflect.DeepEqual(op.Entry, stored) {
			t.Errorf("%s: returned %+v\nstored %+v", st.name, op.Entry, stored)
		}
	}
	res := upsert(t, db, ws, calgate.UpsertOptions{Verbose: true}, items(parse(t, calgate.KindReservation, a))...)
	if e := res.Operations[0].Entry; e != nil {
		t.Errorf("without Return: entry %+v returned", e)
	}
}
