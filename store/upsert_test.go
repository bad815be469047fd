package store

import (
	"encoding/json"
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
