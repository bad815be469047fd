package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"

	"github.com/calgate/calgate/ical"
	"github.com/calgate/calgate/ical/icaltest"
)

// wantEvent is what every parser must see of one entry.
type wantEvent struct {
	Summary string
	Status  string
	// Start and End are instants for timed entries; for all-day entries
	// StartDate and EndDate are the dates written (end exclusive).
	Start, End         time.Time
	StartDate, EndDate string
}

// parseWithClients runs go-ical, ical.js and python3-icalendar on a
// fetched feed and returns what each saw, by parser name.
func parseWithClients(t *testing.T, doc []byte) map[string]icaltest.Calendar {
	t.Helper()
	return map[string]icaltest.Calendar{"go-ical": parseGoICal(t, doc), "ical.js": icaltest.ICALJS(t, doc),
		"python3-icalendar": icaltest.Python(t, doc)}
}

// parseGoICal decodes the feed with go-ical (whose decoder may panic on
// bad input) and reports its events like the scripts do.
func parseGoICal(t *testing.T, doc []byte) icaltest.Calendar {
	t.Helper()
	cal, err := ical.DecodeCalendar(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("go-ical: the feed does not parse: %v", err)
	}
	seen := icaltest.Calendar{}
	seen.Method, _ = cal.Props.Text(goical.PropMethod)
	for _, ev := range cal.Events() {
		var se icaltest.Event
		se.UID, _ = ev.Props.Text(goical.PropUID)
		se.Summary, _ = ev.Props.Text(goical.PropSummary)
		se.Description, _ = ev.Props.Text(goical.PropDescription)
		se.Location, _ = ev.Props.Text(goical.PropLocation)
		se.Status, _ = ev.Props.Text(goical.PropStatus)
		for _, p := range []struct {
			name string
			dst  *icaltest.Time
		}{{goical.PropDateTimeStart, &se.Start}, {goical.PropDateTimeEnd, &se.End}} {
			prop := ev.Props.Get(p.name)
			if prop == nil {
				t.Fatalf("go-ical: %s has no %s", se.UID, p.name)
			}
			if prop.ValueType() == goical.ValueDate {
				p.dst.Date = true
				d, err := prop.DateTime(time.UTC)
				if err != nil {
					t.Fatalf("go-ical: %s %s: %v", se.UID, p.name, err)
				}
				p.dst.Local = d.Format(time.DateOnly)
				continue
			}
			d, err := prop.DateTime(time.UTC)
			if err != nil {
				t.Fatalf("go-ical: %s %s: %v", se.UID, p.name, err)
			}
			u := d.Unix()
			p.dst.Unix = &u
		}
		seen.Events = append(seen.Events, se)
	}
	return seen
}

// checkClients asserts that every parser sees a PUBLISH calendar with
// exactly the wanted events (by UID), with their titles, statuses and
// times.
func checkClients(t *testing.T, doc []byte, want map[string]wantEvent) {
	t.Helper()
	for parser, seen := range parseWithClients(t, doc) {
		if seen.Method != "PUBLISH" {
			t.Errorf("%s: METHOD %q, want PUBLISH", parser, seen.Method)
		}
		if len(seen.Events) != len(want) {
			t.Errorf("%s: %d events, want %d", parser, len(seen.Events), len(want))
		}
		for _, ev := range seen.Events {
			w, ok := want[strings.TrimSuffix(ev.UID, "@calgate")]
			if !ok {
				t.Errorf("%s: unexpected event %s (%q)", parser, ev.UID, ev.Summary)
				continue
			}
			if ev.Summary != w.Summary {
				t.Errorf("%s: %s: SUMMARY %q, want %q", parser, ev.UID, ev.Summary, w.Summary)
			}
			if ev.Status != w.Status {
				t.Errorf("%s: %s: STATUS %q, want %q", parser, ev.UID, ev.Status, w.Status)
			}
			checkTime(t, parser, ev.UID+" start", ev.Start, w.Start, w.StartDate)
			checkTime(t, parser, ev.UID+" end", ev.End, w.End, w.EndDate)
		}
	}
}

func checkTime(t *testing.T, parser, what string, got icaltest.Time, instant time.Time, date string) {
	t.Helper()
	if date != "" {
		if !got.Date || got.Local != date {
			t.Errorf("%s: %s: %+v, want the date %s", parser, what, got, date)
		}
		return
	}
	if got.Date || got.Unix == nil || *got.Unix != instant.Unix() {
		t.Errorf("%s: %s: %+v, want the instant %s", parser, what, got, instant.UTC())
	}
}
