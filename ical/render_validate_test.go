package ical

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/ical/icaltest"
)

// renderWant is what every parser must see of an event.
type renderWant struct {
	summary, description, location, status string
	categories                             []string
	start, end                             time.Time
	allDay                                 bool
	// startLocal and endLocal are the wall-clock times written, in the
	// entry's zone, or in UTC when written as UTC.
	startLocal, endLocal string
	startUTC, endUTC     bool
	tzid                 string
}

func renderExpect(ev Event) renderWant {
	en := ev.Entry
	w := renderWant{summary: ev.Summary, description: ev.Description, location: en.Location,
		status: renderStatus(en), start: en.Start, end: en.End, allDay: en.AllDay}
	if w.summary == "" {
		w.summary = en.Title
	}
	if w.summary == "" {
		w.summary = DefaultTitle(en.Kind).Execute(en)
	}
	if w.description == "" {
		w.description = en.Description
	}
	w.description = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(w.description)
	for _, c := range []string{string(en.Kind), en.Resource} {
		if c != "" {
			w.categories = append(w.categories, c)
		}
	}
	if en.AllDay {
		w.startLocal = en.Start.In(en.Loc()).Format(time.DateOnly)
		w.endLocal = en.End.In(en.Loc()).Format(time.DateOnly)
		return w
	}
	tzid, loc := renderZones{}.zone(en)
	local := func(t time.Time) (string, bool) {
		if loc == nil || ambiguousWallTime(t.In(loc)) {
			return t.UTC().Format("2006-01-02T15:04:05"), true
		}
		return t.In(loc).Format("2006-01-02T15:04:05"), false
	}
	w.tzid = tzid
	w.startLocal, w.startUTC = local(en.Start)
	w.endLocal, w.endUTC = local(en.End)
	return w
}

// renderCheck compares what a parser saw with what was rendered.
func renderCheck(t *testing.T, parser string, events []Event, seen icaltest.Calendar, icaljs bool) {
	t.Helper()
	if len(seen.Events) != len(events) {
		t.Fatalf("%s saw %d events, want %d", parser, len(seen.Events), len(events))
	}
	for i, ev := range events {
		got, want := seen.Events[i], renderExpect(ev)
		id := ev.Entry.ID
		if got.UID != id+"@calgate" {
			t.Errorf("%s: event %d: UID %q, want %q", parser, i, got.UID, id+"@calgate")
		}
		for _, f := range []struct{ name, got, want string }{
			{"SUMMARY", got.Summary, want.summary}, {"DESCRIPTION", got.Description, want.description},
			{"LOCATION", got.Location, want.location}, {"STATUS", got.Status, want.status},
		} {
			if f.got != f.want {
				t.Errorf("%s: %s: %s %q, want %q", parser, id, f.name, f.got, f.want)
			}
		}
		// python-icalendar 4 splits CATEGORIES after unescaping, so an
		// escaped comma inside a value splits it: it reports none.
		if got.Categories != nil && strings.Join(got.Categories, "|") != strings.Join(want.categories, "|") {
			t.Errorf("%s: %s: CATEGORIES %q, want %q", parser, id, got.Categories, want.categories)
		}
		renderCheckTime(t, parser, id+" start", got.Start, want.start, want.startLocal, want.startUTC, want, icaljs)
		renderCheckTime(t, parser, id+" end", got.End, want.end, want.endLocal, want.endUTC, want, icaljs)
	}
}

func renderCheckTime(t *testing.T, parser, what string, got icaltest.Time, instant time.Time, local string, utc bool, want renderWant, icaljs bool) {
	t.Helper()
	if got.Date != want.allDay {
		t.Errorf("%s: %s: date %v, want %v", parser, what, got.Date, want.allDay)
	}
	if want.allDay {
		if got.Local != local {
			t.Errorf("%s: %s: date %s, want %s", parser, what, got.Local, local)
		}
		return
	}
	if icaljs && utc {
		local += "Z" // ical.js marks UTC times
	}
	if got.Local != local {
		t.Errorf("%s: %s: wall-clock time %s, want %s", parser, what, got.Local, local)
	}
	if got.Unix == nil {
		t.Errorf("%s: %s: no instant, want %d (%s)", parser, what, instant.Unix(), instant.UTC())
	} else if *got.Unix != instant.Unix() {
		t.Errorf("%s: %s: instant %d, want %d (%s)", parser, what, *got.Unix, instant.Unix(), instant.UTC())
	}
	if got.UnixVTimezone != nil && *got.UnixVTimezone != instant.Unix() {
		t.Errorf("%s: %s: instant through the VTIMEZONE %d, want %d (%s)", parser, what, *got.UnixVTimezone, instant.Unix(), instant.UTC())
	}
	if !utc && icaljs && got.Zone != want.tzid {
		t.Errorf("%s: %s: zone %q, want %q", parser, what, got.Zone, want.tzid)
	}
}

// renderGoICal decodes the document with go-ical and checks that every
// event's DTSTART and DTEND resolve to the rendered instants.
func renderGoICal(t *testing.T, doc []byte, events []Event) {
	t.Helper()
	cal, err := DecodeCalendar(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("go-ical: %v", err)
	}
	got := cal.Events()
	if len(got) != len(events) {
		t.Fatalf("go-ical saw %d events, want %d", len(got), len(events))
	}
	for i, ev := range events {
		en := ev.Entry
		uid, err := got[i].Props.Text(goical.PropUID)
		if err != nil || uid != en.ID+"@calgate" {
			t.Errorf("go-ical: event %d: UID %q (%v)", i, uid, err)
		}
		start, err := got[i].DateTimeStart(en.Loc())
		if err != nil || !start.Equal(en.Start) {
			t.Errorf("go-ical: %s: DTSTART %v (%v), want %v", en.ID, start, err, en.Start)
		}
		end, err := got[i].DateTimeEnd(en.Loc())
		if err != nil || !end.Equal(en.End) {
			t.Errorf("go-ical: %s: DTEND %v (%v), want %v", en.ID, end, err, en.End)
		}
	}
}

// renderValidate runs every outside parser on a rendered document.
func renderValidate(t *testing.T, doc []byte, cal Calendar, events []Event) {
	renderValidateGoAndJS(t, doc, cal, events)
	t.Run("python-icalendar", func(t *testing.T) {
		seen := icaltest.Python(t, doc)
		if seen.Method != cal.Method {
			t.Errorf("icalendar: METHOD %q, want %q", seen.Method, cal.Method)
		}
		renderCheck(t, "icalendar", events, seen, false)
	})
}

// renderValidateGoAndJS checks a rendered calendar with go-ical and
// ical.js.
func renderValidateGoAndJS(t *testing.T, doc []byte, cal Calendar, events []Event) {
	t.Run("go-ical", func(t *testing.T) { renderGoICal(t, doc, events) })
	t.Run("ical.js", func(t *testing.T) {
		seen := icaltest.ICALJS(t, doc)
		if seen.Method != cal.Method {
			t.Errorf("ical.js: METHOD %q, want %q", seen.Method, cal.Method)
		}
		renderCheck(t, "ical.js", events, seen, true)
	})
}

func TestRenderedFeedsParseInOutsideParsers(t *testing.T) {
	for _, tc := range renderCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, tc.cal, tc.events); err != nil {
				t.Fatal(err)
			}
			renderValidate(t, buf.Bytes(), tc.cal, tc.events)
		})
	}
}

func TestRenderedLargeFeedParsesInOutsideParsers(t *testing.T) {
	events := renderLargeFeed(t, 10000)
	cal := Calendar{Name: "Bulk", Timezone: "Europe/Berlin", Method: MethodPublish}
	var buf bytes.Buffer
	if err := Render(&buf, cal, events); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("BEGIN:VTIMEZONE")); n != 3 {
		t.Errorf("%d VTIMEZONEs, want 3 (Berlin, New York, Tokyo)", n)
	}
	renderValidate(t, buf.Bytes(), cal, events)
}

// TestRenderedZonesAcrossYearsParse checks zones over several years, a
// zone that changed its rules (New York in 2007) and zones without
// daylight saving time, through the parsers that read the VTIMEZONE.
func TestRenderedZonesAcrossYearsParse(t *testing.T) {
	var events []Event
	for i, tz := range []string{"Europe/Berlin", "America/New_York", "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney", "Europe/London", "America/Sao_Paulo"} {
		loc, _ := calgate.LoadZone(tz)
		for _, d := range []string{"2005-03-27", "2006-10-29", "2007-03-11", "2007-11-04", "2013-07-01", "2024-04-07", "2024-10-06", "2027-03-28", "2027-10-31"} {
			day, _, _ := calgate.ParseTime(d, loc)
			for _, h := range []int{1, 3, 12} {
				start := day.Add(time.Duration(h) * time.Hour)
				events = append(events, Event{Entry: &calgate.Entry{
					ID: fmt.Sprintf("ent_%d_%s_%d", i, d, h), Kind: calgate.KindReservation, Source: "s", ExternalID: "x",
					Timezone: tz, Status: calgate.StatusConfirmed, Resource: "R", Title: tz,
					Start: start, End: start.Add(90 * time.Minute), UpdatedAt: start,
				}})
			}
		}
	}
	var buf bytes.Buffer
	if err := Render(&buf, Calendar{Method: MethodPublish}, events); err != nil {
		t.Fatal(err)
	}
	renderValidate(t, buf.Bytes(), Calendar{Method: MethodPublish}, events)
}

// Entries at both ends of the range calgate stores (calgate.MinTime,
// calgate.MaxTime) render calendars that outside parsers read at the
// right instants. (In 1900 many zones kept local mean time, whose offsets
// have seconds that the parsers round; TestVTimezoneHasAnObservance…
// checks those zones' VTIMEZONEs. python-icalendar expands VTIMEZONE rules
// only up to 2037, so it cannot read the far end.)
func TestRenderedEntriesAtTheEndsOfTheStoredRangeParse(t *testing.T) {
	var events []Event
	add := func(tz string, start time.Time) {
		events = append(events, Event{Entry: &calgate.Entry{
			ID: fmt.Sprintf("ent_%d", len(events)), Kind: calgate.KindReservation, Source: "s", ExternalID: "x",
			Timezone: tz, Status: calgate.StatusConfirmed, Resource: "R", Title: tz,
			Start: start, End: start.Add(90 * time.Minute), UpdatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		}})
	}
	for _, tz := range []string{"Europe/Berlin", "America/New_York", "America/Sao_Paulo", "Pacific/Kiritimati", "Asia/Kolkata"} {
		loc, _ := calgate.LoadZone(tz)
		add(tz, time.Date(calgate.MaxTime.Year()-1, 12, 30, 12, 0, 0, 0, loc))
	}
	for _, tz := range []string{"America/New_York"} {
		loc, _ := calgate.LoadZone(tz)
		add(tz, time.Date(calgate.MinTime.Year(), 1, 1, 12, 0, 0, 0, loc))
	}
	var buf bytes.Buffer
	if err := Render(&buf, Calendar{Method: MethodPublish}, events); err != nil {
		t.Fatal(err)
	}
	renderValidateGoAndJS(t, buf.Bytes(), Calendar{Method: MethodPublish}, events)
}
