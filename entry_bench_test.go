package calgate

import (
	"fmt"
	"testing"
	"time"
)

// benchJob is a typical job as an ERP sends it.
var benchJob = []byte(`{"external_id":"JOB-4711","source":"skyplanner","workstage":"Welding","order":"PROJ-2025-Q4","order_item":"1",
	"product":"ART-001","title":"Weld frame","description":"Frame 3, both sides","start":"2025-10-27 07:00:00","end":"2025-10-27 11:30:00",
	"timezone":"Europe/Berlin","attributes":{"cost":12.5,"tags":["a","b"]}}`)

// BenchmarkParseEntry measures decoding and validating one entry, what
// every bulk item and import row costs before the store.
func BenchmarkParseEntry(b *testing.B) {
	for b.Loop() {
		if _, err := ParseEntry(KindJob, benchJob, "UTC"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEntryValidate measures the validation the store runs on every
// entry it writes.
func BenchmarkEntryValidate(b *testing.B) {
	start := time.Date(2025, 11, 3, 8, 0, 0, 0, time.UTC)
	q := 2
	e := &Entry{Kind: KindReservation, Source: "erp", ExternalID: fmt.Sprintf("bulk-%06d", 1), Title: "Booking 1", Location: "Hall 2",
		Start: start, End: start.Add(90 * time.Minute), Timezone: "Europe/Berlin", Status: StatusConfirmed, Resource: "room-1",
		Details: Details{Customer: &Customer{Name: "Customer", Email: "c@example.com"}, Quantity: &q}, Attributes: []byte(`{"cost":12.5,"tags":["a","b"]}`)}
	for b.Loop() {
		if err := e.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
