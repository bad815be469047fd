package ical

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

var renderUpdate = flag.Bool("update", false, "rewrite the golden files in testdata/render")

// renderTime parses an RFC 3339 time for fixtures.
func renderTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// renderEntry returns a fixture entry; the times are RFC 3339, or dates
// for all-day entries.
func renderEntry(t testing.TB, id string, kind calgate.Kind, tz, start, end string) *calgate.Entry {
	t.Helper()
	loc, err := calgate.LoadZone(tz)
	if err != nil {
		t.Fatal(err)
	}
	e := &calgate.Entry{
		ID: id, WorkspaceID: "ws_1", Kind: kind, Source: "planner", ExternalID: "ext-" + id,
		Timezone: tz, Status: calgate.StatusConfirmed, Resource: "Room 1", Version: 3,
		CreatedAt: renderTime(t, "2025-01-02T09:00:00Z"), UpdatedAt: renderTime(t, "2025-01-03T10:30:00Z"),
	}
	if len(start) == len(calgate.DateLayout) {
		e.AllDay = true
		s, _, err := calgate.ParseTime(start, loc)
		if err != nil {
			t.Fatal(err)
		}
		en, _, err := calgate.ParseTime(end, loc)
		if err != nil {
			t.Fatal(err)
		}
		e.Start, e.End = s, en
		return e
	}
	e.Start, e.End = renderTime(t, start), renderTime(t, end)
	return e
}

type renderCase struct {
	name   string
	cal    Calendar
	events []Event
}

// renderCases are the golden cases: each renders to testdata/render/NAME.ics.
func renderCases(t testing.TB) []renderCase {
	feed := Calendar{Name: "Workshop", Timezone: "Europe/Berlin", Method: MethodPublish}

	allDay := renderEntry(t, "ent_allday", calgate.KindReservation, "Europe/Berlin", "2025-12-24", "2025-12-25")
	allDay.Title = "Christmas Eve closure"

	multiDay := renderEntry(t, "ent_multiday", calgate.KindReservation, "Europe/Berlin", "2025-07-14", "2025-07-19")
	multiDay.Title = "Trade fair"
	multiTimed := renderEntry(t, "ent_multitimed", calgate.KindJob, "Europe/Berlin", "2025-03-03T08:00:00+01:00", "2025-03-05T17:00:00+01:00")
	multiTimed.Resource, multiTimed.Order, multiTimed.Product = "Milling", "A-1001", "Gearbox"

	berlinSummer := renderEntry(t, "ent_berlin_summer", calgate.KindReservation, "Europe/Berlin", "2025-07-01T09:00:00+02:00", "2025-07-01T10:00:00+02:00")
	berlinSummer.Title = "Summer meeting"
	berlinAcross := renderEntry(t, "ent_berlin_across", calgate.KindProductionWindow, "Europe/Berlin", "2025-10-25T22:00:00+02:00", "2025-10-26T06:00:00+01:00")
	berlinAcross.Resource, berlinAcross.Activity = "CC-400", "Night shift"
	berlinAfter := renderEntry(t, "ent_berlin_after", calgate.KindReservation, "Europe/Berlin", "2025-10-27T09:00:00+01:00", "2025-10-27T10:00:00+01:00")
	berlinAfter.Title = "Monday after the change"
	berlinRepeated := renderEntry(t, "ent_berlin_repeated", calgate.KindReservation, "Europe/Berlin", "2025-10-26T02:30:00+01:00", "2025-10-26T03:30:00+01:00")
	berlinRepeated.Title = "Second 02:30 of the night"
	berlinSpring := renderEntry(t, "ent_berlin_spring", calgate.KindReservation, "Europe/Berlin", "2026-03-28T20:00:00+01:00", "2026-03-29T08:00:00+02:00")
	berlinSpring.Title = "Across the spring change"

	nyAcross := renderEntry(t, "ent_ny_across", calgate.KindJob, "America/New_York", "2025-11-01T22:00:00-04:00", "2025-11-02T06:00:00-05:00")
	nyAcross.Resource, nyAcross.Order, nyAcross.Product = "Assembly", "NY-7", "Valve"
	nySpring := renderEntry(t, "ent_ny_spring", calgate.KindReservation, "America/New_York", "2025-03-08T23:00:00-05:00", "2025-03-09T05:00:00-04:00")
	nySpring.Title = "Across the March change"
	nyWinter := renderEntry(t, "ent_ny_winter", calgate.KindReservation, "America/New_York", "2025-12-15T09:00:00-05:00", "2025-12-15T09:30:00-05:00")
	nyWinter.Title = "Standup"

	utc := renderEntry(t, "ent_utc", calgate.KindReservation, "UTC", "2025-05-05T12:00:00Z", "2025-05-05T13:30:00Z")
	utc.Title = "Call with the night shift"

	long := renderEntry(t, "ent_long", calgate.KindReservation, "Europe/Berlin", "2025-06-02T08:00:00+02:00", "2025-06-02T12:00:00+02:00")
	long.Title = "Überprüfung der Fräsmaschine für Kunde Müller-Lüdenscheidt – Größenänderung 日本語の説明と検査"
	long.Description = strings.Repeat("Prüfprotokoll ✓ ", 12)

	escaped := renderEntry(t, "ent_escaped", calgate.KindReservation, "Europe/Berlin", "2025-06-03T08:00:00+02:00", "2025-06-03T09:00:00+02:00")
	escaped.Title = "Lunch; then review, part 1"
	escaped.Description = "Line one,\r\nline two; with \\backslash\rline three\nline four"
	escaped.Location = "Hall 2, Gate 3; Berlin"
	escaped.Resource = "Room A, east"

	cancelled := renderEntry(t, "ent_cancelled", calgate.KindReservation, "Europe/Berlin", "2025-09-10T14:00:00+02:00", "2025-09-10T15:00:00+02:00")
	cancelled.Title = "Cancelled visit"
	cancelled.Status = calgate.StatusCancelled
	cancelled.Version = 5

	return []renderCase{
		{"allday", feed, []Event{{Entry: allDay}}},
		{"multiday", feed, []Event{{Entry: multiDay}, {Entry: multiTimed}}},
		{"dst_berlin", feed, []Event{{Entry: berlinSummer}, {Entry: berlinAcross}, {Entry: berlinAfter}, {Entry: berlinRepeated}, {Entry: berlinSpring}}},
		{"dst_new_york", Calendar{Name: "Plant NY", Timezone: "America/New_York", Method: MethodPublish, Refresh: 15 * time.Minute},
			[]Event{{Entry: nySpring}, {Entry: nyAcross}, {Entry: nyWinter}}},
		{"utc", feed, []Event{{Entry: utc}}},
		{"long_title", feed, []Event{{Entry: long}}},
		{"escaping", feed, []Event{{Entry: escaped, Summary: "Lunch; then review, part 1 \\ done"}}},
		{"cancelled", feed, []Event{{Entry: cancelled}}},
		{"empty", feed, nil},
		{"caldav_object", Calendar{}, []Event{{Entry: nyAcross, Summary: "Assembly: NY-7 / Valve", Description: "Order NY-7"}}},
	}
}

func TestRenderMatchesGoldenFiles(t *testing.T) {
	for _, tc := range renderCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			var err error
			if len(tc.events) == 1 {
				err = RenderEntry(&buf, tc.cal, tc.events[0])
			} else {
				err = Render(&buf, tc.cal, tc.events)
			}
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "render", tc.name+".ics")
			if *renderUpdate {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run the tests with -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("rendered %s differs from %s (run with -update after checking the change):\n%s", tc.name, path, buf.String())
			}
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	for _, tc := range renderCases(t) {
		var a, b bytes.Buffer
		if err := Render(&a, tc.cal, tc.events); err != nil {
			t.Fatal(err)
		}
		if err := Render(&b, tc.cal, tc.events); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: two renders differ", tc.name)
		}
	}
}

func TestRenderWritesFeedHeaders(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, Calendar{Name: "Plant, North", Timezone: "Europe/Berlin", Method: MethodPublish}, nil); err != nil {
		t.Fatal(err)
	}
	want := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calgate//calgate//EN\r\nCALSCALE:GREGORIAN\r\n" +
		"METHOD:PUBLISH\r\nX-WR-CALNAME:Plant\\, North\r\nX-WR-TIMEZONE:Europe/Berlin\r\n" +
		"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\nX-PUBLISHED-TTL:PT1H\r\nEND:VCALENDAR\r\n"
	if buf.String() != want {
		t.Errorf("got\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestRenderEntryForCalDAVHasNoMethod(t *testing.T) {
	e := renderEntry(t, "ent_1", calgate.KindReservation, "Europe/Berlin", "2025-06-03T08:00:00+02:00", "2025-06-03T09:00:00+02:00")
	var buf bytes.Buffer
	if err := RenderEntry(&buf, Calendar{}, Event{Entry: e}); err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{"METHOD:", "REFRESH-INTERVAL", "X-PUBLISHED-TTL"} {
		if strings.Contains(buf.String(), banned) {
			t.Errorf("CalDAV object contains %s:\n%s", banned, buf.String())
		}
	}
	if n := strings.Count(buf.String(), "BEGIN:VEVENT"); n != 1 {
		t.Errorf("%d VEVENTs, want 1", n)
	}
}

func TestRenderRefusesEventsWithoutEntryOrID(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"no entry", Event{}, "event 0 has no entry"},
		{"no id", Event{Entry: &calgate.Entry{Source: "s", ExternalID: "x"}}, "event 0 (s/x) has no id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Render(&bytes.Buffer{}, Calendar{}, []Event{tc.ev})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestRenderSummaryFallsBackToTitleThenDefaultTemplate(t *testing.T) {
	job := renderEntry(t, "ent_job", calgate.KindJob, "Europe/Berlin", "2025-06-03T08:00:00+02:00", "2025-06-03T09:00:00+02:00")
	job.Resource, job.Product = "Paint", "Door"
	titled := job.Clone()
	titled.Title = "Paint the door"
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"summary given", Event{Entry: titled, Summary: "Given"}, "SUMMARY:Given\r\n"},
		{"entry title", Event{Entry: titled}, "SUMMARY:Paint the door\r\n"},
		{"default template", Event{Entry: job}, "SUMMARY:Paint: Door\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := RenderEntry(&buf, Calendar{}, tc.ev); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), tc.want) {
				t.Errorf("no %q in\n%s", tc.want, buf.String())
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{time.Hour, "PT1H"}, {15 * time.Minute, "PT15M"}, {90 * time.Minute, "PT1H30M"},
		{24 * time.Hour, "P1D"}, {36 * time.Hour, "PT36H"}, {time.Millisecond, "PT1S"}, {61 * time.Second, "PT1M1S"},
	}
	for _, tc := range tests {
		if got := formatDuration(tc.d); got != tc.want {
			t.Errorf("formatDuration(%v) = %s, want %s", tc.d, got, tc.want)
		}
	}
}

// renderLargeFeed builds n entries spread over four zones, three kinds and
// two years, some all-day.
func renderLargeFeed(t testing.TB, n int) []Event {
	zones := []string{"Europe/Berlin", "America/New_York", "UTC", "Asia/Tokyo"}
	kinds := []calgate.Kind{calgate.KindReservation, calgate.KindJob, calgate.KindProductionWindow}
	base := renderTime(t, "2025-01-01T06:00:00Z")
	events := make([]Event, n)
	for i := range events {
		tz := zones[i%len(zones)]
		loc, _ := calgate.LoadZone(tz)
		start := base.Add(time.Duration(i) * 97 * time.Minute).In(loc)
		e := &calgate.Entry{
			ID: fmt.Sprintf("ent_%05d", i), Kind: kinds[i%len(kinds)], Source: "bulk", ExternalID: fmt.Sprintf("B-%d", i),
			Timezone: tz, Status: calgate.StatusConfirmed, Resource: fmt.Sprintf("Line %d", i%7),
			Details: calgate.Details{Order: fmt.Sprintf("O-%d", i/3), Product: "Widget, large", Activity: "Run"},
			Title:   fmt.Sprintf("Entry %d", i), Description: "Batch; see order",
			Start: start, End: start.Add(45 * time.Minute), Version: int64(i%5 + 1),
			CreatedAt: base, UpdatedAt: base.Add(time.Duration(i) * time.Second),
			Attributes: json.RawMessage(`{"shift":"early"}`),
		}
		if i%10 == 0 {
			e.AllDay = true
			y, m, d := start.Date()
			e.Start = time.Date(y, m, d, 0, 0, 0, 0, loc)
			e.End = e.Start.AddDate(0, 0, 2)
		}
		events[i] = Event{Entry: e}
	}
	return events
}

func BenchmarkRender10k(b *testing.B) {
	events := renderLargeFeed(b, 10000)
	cal := Calendar{Name: "Bulk", Timezone: "Europe/Berlin", Method: MethodPublish}
	var buf bytes.Buffer
	if err := Render(&buf, cal, events); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf.Reset()
		if err := Render(&buf, cal, events); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRenderEndNotAfterStart(t *testing.T) {
	timed := renderEntry(t, "ent_1", calgate.KindReservation, "Europe/Berlin", "2025-06-03T08:00:00+02:00", "2025-06-03T08:00:00+02:00")
	allDay := renderEntry(t, "ent_2", calgate.KindReservation, "Europe/Berlin", "2025-06-03", "2025-06-03")
	tests := []struct {
		name     string
		e        *calgate.Entry
		want     string
		wantNone string
	}{
		{"timed entry is an instant", timed, "DTSTART;TZID=Europe/Berlin:20250603T080000\r\n", "DTEND"},
		{"all-day entry lasts one day", allDay, "DTSTART;VALUE=DATE:20250603\r\nDTEND;VALUE=DATE:20250604\r\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := RenderEntry(&buf, Calendar{}, Event{Entry: tc.e}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), tc.want) {
				t.Errorf("no %q in\n%s", tc.want, buf.String())
			}
			if tc.wantNone != "" && strings.Contains(buf.String(), tc.wantNone) {
				t.Errorf("%s in\n%s", tc.wantNone, buf.String())
			}
		})
	}
}
