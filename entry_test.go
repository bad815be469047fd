package calgate

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestParseEntryAcceptsTheThreeTimeForms(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	cases := []struct {
		name, body string
		start, end time.Time
		allDay     bool
	}{
		{"rfc3339", `{"external_id":"a","workstage":"w","start":"2025-10-26T08:00:00+01:00","end":"2025-10-26T09:00:00+01:00"}`,
			time.Date(2025, 10, 26, 7, 0, 0, 0, time.UTC), time.Date(2025, 10, 26, 8, 0, 0, 0, time.UTC), false},
		{"local in entry zone across DST end", `{"external_id":"a","workstage":"w","start":"2025-10-25 08:00:00","end":"2025-10-27 08:00:00","timezone":"Europe/Berlin"}`,
			time.Date(2025, 10, 25, 8, 0, 0, 0, berlin), time.Date(2025, 10, 27, 8, 0, 0, 0, berlin), false},
		{"local in workspace zone", `{"external_id":"a","workstage":"w","start":"2025-07-01 08:00:00","end":"2025-07-01 09:00:00"}`,
			time.Date(2025, 7, 1, 8, 0, 0, 0, berlin), time.Date(2025, 7, 1, 9, 0, 0, 0, berlin), false},
		{"all-day with exclusive end", `{"external_id":"a","workstage":"w","start":"2025-03-01","end":"2025-03-03"}`,
			time.Date(2025, 3, 1, 0, 0, 0, 0, berlin), time.Date(2025, 3, 3, 0, 0, 0, 0, berlin), true},
		{"all-day without end lasts a day", `{"external_id":"a","workstage":"w","start":"2025-03-01"}`,
			time.Date(2025, 3, 1, 0, 0, 0, 0, berlin), time.Date(2025, 3, 2, 0, 0, 0, 0, berlin), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseEntry(KindJob, []byte(tc.body), "Europe/Berlin")
			if err != nil {
				t.Fatal(err)
			}
			if !e.Start.Equal(tc.start) || !e.End.Equal(tc.end) || e.AllDay != tc.allDay {
				t.Fatalf("got %v – %v all-day %v, want %v – %v %v", e.Start, e.End, e.AllDay, tc.start, tc.end, tc.allDay)
			}
		})
	}
}

func TestParseEntryNamesEveryBadField(t *testing.T) {
	cases := []struct{ name, body, field string }{
		{"missing external id", `{"resource":"r","start":"2025-01-01"}`, "external_id"},
		{"missing resource", `{"external_id":"a","start":"2025-01-01"}`, "resource"},
		{"unknown field", `{"external_id":"a","resource":"r","start":"2025-01-01","x":1}`, "x"},
		{"wrong type", `{"external_id":"a","resource":"r","start":"2025-01-01","quantity":"two"}`, "quantity"},
		{"bad time", `{"external_id":"a","resource":"r","start":"tomorrow"}`, "start"},
		{"end before start", `{"external_id":"a","resource":"r","start":"2025-01-02","end":"2025-01-01"}`, "end"},
		{"unknown zone", `{"external_id":"a","resource":"r","start":"2025-01-01","timezone":"Nowhere/City"}`, "timezone"},
		{"Local zone", `{"external_id":"a","resource":"r","start":"2025-01-01","timezone":"Local"}`, "timezone"},
		{"job field on a reservation", `{"external_id":"a","resource":"r","start":"2025-01-01","workstage":"w"}`, "workstage"},
		{"attributes not an object", `{"external_id":"a","resource":"r","start":"2025-01-01","attributes":[1]}`, "attributes"},
		{"negative quantity", `{"external_id":"a","resource":"r","start":"2025-01-01","quantity":-1}`, "quantity"},
		{"trailing data", `{"external_id":"a","resource":"r","start":"2025-01-01"}x`, "body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEntry(KindReservation, []byte(tc.body), "UTC")
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			for _, fe := range ve.Errors {
				if fe.Field == tc.field {
					return
				}
			}
			t.Fatalf("error %v does not name %q", err, tc.field)
		})
	}
}

func TestDiffIgnoresAttributeKeyOrderAndClassifiesChanges(t *testing.T) {
	base, err := ParseEntry(KindReservation, []byte(`{"external_id":"a","resource":"r","start":"2025-01-01T08:00:00Z","end":"2025-01-01T09:00:00Z","attributes":{"a":1,"b":2}}`), "UTC")
	if err != nil {
		t.Fatal(err)
	}
	same, _ := ParseEntry(KindReservation, []byte(`{"external_id":"a","resource":"r","start":"2025-01-01T08:00:00Z","end":"2025-01-01T09:00:00Z","attributes":{"b":2, "a":1}}`), "UTC")
	if !SameContent(base, same) {
		t.Fatalf("key order counted as a change: %v", Diff(base, same))
	}
	cases := []struct {
		name   string
		change func(e *Entry)
		want   EventType
	}{
		{"title", func(e *Entry) { e.Title = "x" }, EventEntryUpdated},
		{"moved", func(e *Entry) { e.Start = e.Start.Add(time.Hour) }, EventEntryRescheduled},
		{"cancelled", func(e *Entry) { e.Status = StatusCancelled }, EventEntryCancelled},
		{"archived", func(e *Entry) { now := time.Now(); e.ArchivedAt = &now }, EventEntryArchived},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next := base.Clone()
			tc.change(next)
			d := Diff(base, next)
			if got := ClassifyChange(base, next, d); got != tc.want {
				t.Fatalf("ClassifyChange = %s, want %s (diff %v)", got, tc.want, d)
			}
			ev := &Event{Type: tc.want, Entry: next, Diff: d}
			prev := ev.Previous()
			if prev.Resource != base.Resource || prev.Status != base.Status || !prev.Start.Equal(base.Start) || prev.Archived() != base.Archived() {
				t.Fatalf("Previous() = %+v, want the entry before the change", prev)
			}
		})
	}
	if got := ClassifyChange(nil, base, Diff(nil, base)); got != EventEntryCreated {
		t.Fatalf("new entry: %s", got)
	}
}

func TestWireFormNamesTheKindsResourceField(t *testing.T) {
	for _, k := range Kinds {
		e := &Entry{Kind: k, Resource: "R", Timezone: "UTC", Start: time.Unix(0, 0), End: time.Unix(3600, 0)}
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		if m[k.ResourceField()] != "R" || m["kind"] != string(k) {
			t.Fatalf("%s wire form: %s", k, data)
		}
	}
}

func TestParseTimeForms(t *testing.T) {
	berlin, err := LoadZone("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := func(y int, mo time.Month, d, h, mi, s, ns int, loc *time.Location) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, loc)
	}
	tests := []struct {
		in       string
		want     time.Time
		dateOnly bool
		bad      bool
	}{
		{in: "2025-07-01", want: at(2025, 7, 1, 0, 0, 0, 0, berlin), dateOnly: true},
		{in: "2025-07-01 09:30:15", want: at(2025, 7, 1, 9, 30, 15, 0, berlin)},
		{in: "2025-07-01T09:30:15", want: at(2025, 7, 1, 9, 30, 15, 0, berlin)},
		{in: " 2025-07-01 09:30 ", want: at(2025, 7, 1, 9, 30, 0, 0, berlin)},
		{in: "2025-07-01T09:30", want: at(2025, 7, 1, 9, 30, 0, 0, berlin)},
		{in: "2025-07-01 09:30:15.25", want: at(2025, 7, 1, 9, 30, 15, 250000000, berlin)},
		{in: "2025-07-01T09:30:15Z", want: at(2025, 7, 1, 9, 30, 15, 0, time.UTC)},
		{in: "2025-07-01T09:30:15.5+02:00", want: at(2025, 7, 1, 7, 30, 15, 500000000, time.UTC)},
		{in: "2025-07-01T09:30:15-05:00", want: at(2025, 7, 1, 14, 30, 15, 0, time.UTC)},
		{in: "2025-03-30 02:30:00", want: time.Date(2025, 3, 30, 2, 30, 0, 0, berlin)}, // in the spring gap
		{in: "2025-07-01 09:30:15+02:00", bad: true},                                   // an offset needs the T
		{in: "2025-07-01T09:30+02:00", bad: true},                                      // and seconds
		{in: "2025-13-01 09:00:00", bad: true},
		{in: "01.07.2025 09:00", bad: true},
		{in: "2025-07-01 9:00", want: at(2025, 7, 1, 9, 0, 0, 0, berlin)}, // a one-digit hour is read too
		{in: "soon", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		got, dateOnly, err := ParseTime(tt.in, berlin)
		switch {
		case tt.bad && err == nil:
			t.Errorf("%q: parsed as %v, want an error", tt.in, got)
		case !tt.bad && err != nil:
			t.Errorf("%q: %v", tt.in, err)
		case !tt.bad && (!got.Equal(tt.want) || dateOnly != tt.dateOnly):
			t.Errorf("%q: %v (date only %v), want %v (%v)", tt.in, got, dateOnly, tt.want, tt.dateOnly)
		}
	}
}
