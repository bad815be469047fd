package ical

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// parseTestNow anchors every fixture's window: occurrences from
// 2026-07-03 to 2027-10-01.
var parseTestNow = time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)

// wantOcc is what a user would see of an occurrence: its id, start as an
// instant and as local wall-clock time, end, and flags.
type wantOcc struct {
	id          string
	startUTC    string // RFC 3339
	startLocal  string // "2006-01-02 15:04 MST" in the occurrence's zone
	endUTC      string
	allDay      bool
	tz          string
	cancelled   bool
	transparent bool
	summary     string
}

func parseFixture(t *testing.T, name string, opts ParseOptions) ([]Occurrence, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "ical", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Parse(f, opts)
}

func checkOccurrences(t *testing.T, got []Occurrence, want []wantOcc) {
	t.Helper()
	if len(got) != len(want) {
		for _, o := range got {
			t.Logf("got %s %s", o.ExternalID, o.Start.UTC().Format(time.RFC3339))
		}
		t.Fatalf("got %d occurrences, want %d", len(got), len(want))
	}
	for i, w := range want {
		o := got[i]
		if o.ExternalID != w.id {
			t.Errorf("[%d] external id = %q, want %q", i, o.ExternalID, w.id)
		}
		if s := o.Start.UTC().Format(time.RFC3339); s != w.startUTC {
			t.Errorf("[%d] %s: start = %s, want %s", i, w.id, s, w.startUTC)
		}
		if s := o.Start.Format("2006-01-02 15:04 MST"); s != w.startLocal {
			t.Errorf("[%d] %s: local start = %s, want %s", i, w.id, s, w.startLocal)
		}
		if s := o.End.UTC().Format(time.RFC3339); s != w.endUTC {
			t.Errorf("[%d] %s: end = %s, want %s", i, w.id, s, w.endUTC)
		}
		if o.AllDay != w.allDay || o.Cancelled != w.cancelled || o.Transparent != w.transparent {
			t.Errorf("[%d] %s: allDay/cancelled/transparent = %v/%v/%v, want %v/%v/%v", i, w.id,
				o.AllDay, o.Cancelled, o.Transparent, w.allDay, w.cancelled, w.transparent)
		}
		if o.Timezone != w.tz {
			t.Errorf("[%d] %s: timezone = %q, want %q", i, w.id, o.Timezone, w.tz)
		}
		if o.Summary != w.summary {
			t.Errorf("[%d] %s: summary = %q, want %q", i, w.id, o.Summary, w.summary)
		}
		wantRID := ""
		if uid, rid, ok := strings.Cut(w.id, "/"); ok {
			wantRID = rid
			if o.UID != uid {
				t.Errorf("[%d] uid = %q, want %q", i, o.UID, uid)
			}
		}
		if o.RecurrenceID != wantRID {
			t.Errorf("[%d] recurrence id = %q, want %q", i, o.RecurrenceID, wantRID)
		}
	}
}

const (
	googleWeekly = "4k2j1m9q8r7s6t5u4v3w2x1y0z@google.com"
	outlookDaily = "040000008200E00074C5B7101A82E008000000006F2D3B1F0A3BDC010000000000000000100000009A1B2C3D4E5F60718293A4B5C6D7E8F9"
	appleRDate   = "7C1F3A2B-9D4E-4F6A-8B2C-1E5D7F9A3B4C"
)

func TestParseProducerExports(t *testing.T) {
	tests := []struct {
		file string
		opts ParseOptions
		want []wantOcc
	}{{
		// Weekly on Wednesdays at 09:00 Berlin across the change from CEST
		// to CET on 2026-10-25: same wall-clock time, one hour later in UTC.
		// 10-21 is an EXDATE, 11-04 is moved to 11:00 by a RECURRENCE-ID.
		file: "google.ics",
		opts: ParseOptions{Now: parseTestNow},
		want: []wantOcc{
			{googleWeekly + "/20261014T070000Z", "2026-10-14T07:00:00Z", "2026-10-14 09:00 CEST", "2026-10-14T08:00:00Z", false, "Europe/Berlin", false, false, "Wochenplanung Fertigung"},
			{"0p9o8i7u6z5t4r3e2w1q@google.com", "2026-10-19T12:30:00Z", "2026-10-19 12:30 UTC", "2026-10-19T14:00:00Z", false, "UTC", false, false, "Anlieferung Stahlprofile, 12 t"},
			{googleWeekly + "/20261028T080000Z", "2026-10-28T08:00:00Z", "2026-10-28 09:00 CET", "2026-10-28T09:00:00Z", false, "Europe/Berlin", false, false, "Wochenplanung Fertigung"},
			{googleWeekly + "/20261104T080000Z", "2026-11-04T10:00:00Z", "2026-11-04 11:00 CET", "2026-11-04T11:00:00Z", false, "Europe/Berlin", false, false, "Wochenplanung Fertigung (verschoben)"},
			{googleWeekly + "/20261111T080000Z", "2026-11-11T08:00:00Z", "2026-11-11 09:00 CET", "2026-11-11T09:00:00Z", false, "Europe/Berlin", false, false, "Wochenplanung Fertigung"},
			{"7hq3c5v0b1n2m4k6j8g9f0d1s2@google.com", "2026-12-23T23:00:00Z", "2026-12-24 00:00 CET", "2026-12-26T23:00:00Z", true, "Europe/Berlin", false, true, "Betriebsferien"},
		},
	}, {
		// Windows TZID, daily COUNT=5 across the October change, the 26th
		// cancelled by an override; the all-day event takes DefaultTZ.
		file: "outlook.ics",
		opts: ParseOptions{Now: parseTestNow, DefaultTZ: "Europe/Berlin"},
		want: []wantOcc{
			{outlookDaily + "/20261023T061500Z", "2026-10-23T06:15:00Z", "2026-10-23 08:15 CEST", "2026-10-23T06:30:00Z", false, "Europe/Berlin", false, false, "Daily Stand-up Linie 2"},
			{outlookDaily + "/20261024T061500Z", "2026-10-24T06:15:00Z", "2026-10-24 08:15 CEST", "2026-10-24T06:30:00Z", false, "Europe/Berlin", false, false, "Daily Stand-up Linie 2"},
			{outlookDaily + "/20261025T071500Z", "2026-10-25T07:15:00Z", "2026-10-25 08:15 CET", "2026-10-25T07:30:00Z", false, "Europe/Berlin", false, false, "Daily Stand-up Linie 2"},
			{outlookDaily + "/20261026T071500Z", "2026-10-26T07:15:00Z", "2026-10-26 08:15 CET", "2026-10-26T07:30:00Z", false, "Europe/Berlin", true, true, "Abgesagt: Daily Stand-up Linie 2"},
			{outlookDaily + "/20261027T071500Z", "2026-10-27T07:15:00Z", "2026-10-27 08:15 CET", "2026-10-27T07:30:00Z", false, "Europe/Berlin", false, false, "Daily Stand-up Linie 2"},
			{"040000008200E00074C5B7101A82E00800000000C4E9A8F2B13ADC01000000000000000010000000F0E1D2C3B4A5968778695A4B3C2D1E0F", "2026-11-02T23:00:00Z", "2026-11-03 00:00 CET", "2026-11-03T23:00:00Z", true, "Europe/Berlin", false, false, "Wartung Anlage 4"},
		},
	}, {
		// RDATE list across the US change on 2026-11-01; floating time and
		// all-day dates in DefaultTZ (the file has no X-WR-TIMEZONE).
		file: "apple.ics",
		opts: ParseOptions{Now: parseTestNow, DefaultTZ: "America/Chicago"},
		want: []wantOcc{
			{appleRDate + "/20261020T140000Z", "2026-10-20T14:00:00Z", "2026-10-20 10:00 EDT", "2026-10-20T15:30:00Z", false, "America/New_York", false, false, "Podcast recording"},
			{appleRDate + "/20261103T150000Z", "2026-11-03T15:00:00Z", "2026-11-03 10:00 EST", "2026-11-03T16:30:00Z", false, "America/New_York", false, false, "Podcast recording"},
			{"5A6B7C8D-9E0F-4A1B-8C2D-3E4F5A6B7C8D", "2026-11-05T15:00:00Z", "2026-11-05 09:00 CST", "2026-11-05T16:00:00Z", false, "America/Chicago", false, false, "Gear check"},
			{appleRDate + "/20261117T190000Z", "2026-11-17T19:00:00Z", "2026-11-17 14:00 EST", "2026-11-17T20:30:00Z", false, "America/New_York", false, false, "Podcast recording"},
			{"E2B5A0C1-3F4D-4E8B-9A6C-7D1E2F3A4B5C", "2026-11-25T06:00:00Z", "2026-11-25 00:00 CST", "2026-11-28T06:00:00Z", true, "America/Chicago", false, true, "Thanksgiving break"},
		},
	}, {
		// All-day blocks; the May reservation is more than 90 days back.
		file: "airbnb.ics",
		opts: ParseOptions{Now: parseTestNow, DefaultTZ: "Europe/Lisbon"},
		want: []wantOcc{
			{"1418fb94e984-72fae6599063c1b9fd22785f45589162@airbnb.com", "2026-10-09T23:00:00Z", "2026-10-10 00:00 WEST", "2026-10-14T23:00:00Z", true, "Europe/Lisbon", false, false, "Reserved"},
			{"7f662ec65913-74b1e15a69fd543a7107b9b2d79fd88a@airbnb.com", "2026-10-19T23:00:00Z", "2026-10-20 00:00 WEST", "2026-11-05T00:00:00Z", true, "Europe/Lisbon", false, false, "Airbnb (Not available)"},
			{"1418fb94e984-d8eaa2c05fe52537d3fa272b042c2e13@airbnb.com", "2026-12-23T00:00:00Z", "2026-12-23 00:00 WET", "2026-12-29T00:00:00Z", true, "Europe/Lisbon", false, false, "Reserved"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseFixture(t, tt.file, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			checkOccurrences(t, got, tt.want)
		})
	}
}

func TestParseKeepsTextEscapesAndFoldedLines(t *testing.T) {
	got, err := parseFixture(t, "google.ics", ParseOptions{Now: parseTestNow})
	if err != nil {
		t.Fatal(err)
	}
	o := got[0]
	wantDesc := "Wöchentliche Abstimmung der Fertigung: Fräsen, Drehen, Montage und Qualitätssicherung. Bitte die aktuellen Auftragslisten mitbringen.\nAgenda: https://docs.google.com/document/d/1aBcDeFgHiJkLmNoPqRsTuVwXyZ/edit"
	if o.Description != wantDesc {
		t.Errorf("description = %q, want %q", o.Description, wantDesc)
	}
	if want := "Halle 3, Besprechungsraum 2, Industriestraße 12, 70565 Stuttgart, Deutschland"; o.Location != want {
		t.Errorf("location = %q, want %q", o.Location, want)
	}
	if o.Sequence != 2 || !o.LastModified.Equal(time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("sequence/last-modified = %d/%s", o.Sequence, o.LastModified)
	}
	moved := got[3]
	if moved.Description != "Verschoben wegen Audit, gleiche Agenda." || moved.Sequence != 3 {
		t.Errorf("override description/sequence = %q/%d", moved.Description, moved.Sequence)
	}
}

func TestParseAirbnbDescriptionCarriesReservationURL(t *testing.T) {
	got, err := parseFixture(t, "airbnb.ics", ParseOptions{Now: parseTestNow})
	if err != nil {
		t.Fatal(err)
	}
	want := "Reservation URL: https://www.airbnb.com/hosting/reservations/details/HM3KTNNJQ5\nPhone Number (Last 4 Digits): 2833"
	if got[0].Description != want {
		t.Errorf("description = %q, want %q", got[0].Description, want)
	}
	if got[1].Description != "" {
		t.Errorf("not-available block description = %q, want empty", got[1].Description)
	}
}

func TestParseBrokenDocumentsFailClearly(t *testing.T) {
	tests := []struct {
		file    string
		is      error
		message []string
	}{
		{"html-error.ics", ErrNotICalendar, []string{"not an iCalendar document: starts with <html"}},
		{"truncated.ics", ErrTruncated, []string{"no END:VCALENDAR"}},
		{"bad-date.ics", ErrMalformed, []string{`"bad-date-1@example.com"`, "DTSTART", "20261340T250000Z"}},
		{"malformed-param.ics", ErrMalformed, []string{"line 7", "DTSTART", "TZID"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseFixture(t, tt.file, ParseOptions{Now: parseTestNow})
			if err == nil {
				t.Fatalf("no error, got %d occurrences", len(got))
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %q", err, tt.is)
			}
			for _, m := range tt.message {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

// parseDoc wraps VEVENT lines (and any VTIMEZONE) in a calendar.
func parseDoc(lines ...string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calgate//test//EN\r\n" +
		strings.Join(lines, "\r\n") + "\r\nEND:VCALENDAR\r\n"
}

func TestParseInlineShapes(t *testing.T) {
	customTZ := []string{
		"BEGIN:VTIMEZONE", "TZID:Customized Time Zone",
		"BEGIN:STANDARD", "DTSTART:16010101T030000", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100",
		"RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10", "END:STANDARD",
		"BEGIN:DAYLIGHT", "DTSTART:16010101T020000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200",
		"RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3", "END:DAYLIGHT",
		"END:VTIMEZONE",
	}
	tests := []struct {
		name string
		doc  string
		opts ParseOptions
		want []wantOcc
	}{{
		name: "custom TZID falls back to the VTIMEZONE offsets in force",
		doc: parseDoc(append(customTZ,
			"BEGIN:VEVENT", "UID:c1", "SUMMARY:Shift",
			"DTSTART;TZID=Customized Time Zone:20261024T100000",
			"DTEND;TZID=Customized Time Zone:20261024T110000",
			"RRULE:FREQ=DAILY;COUNT=2", "END:VEVENT")...),
		want: []wantOcc{
			{"c1/20261024T080000Z", "2026-10-24T08:00:00Z", "2026-10-24 10:00 +02", "2026-10-24T09:00:00Z", false, "Etc/GMT-2", false, false, "Shift"},
			{"c1/20261025T090000Z", "2026-10-25T09:00:00Z", "2026-10-25 10:00 +01", "2026-10-25T10:00:00Z", false, "Etc/GMT-1", false, false, "Shift"},
		},
	}, {
		name: "X-WR-TIMEZONE is the zone of floating times",
		doc: strings.Replace(parseDoc("BEGIN:VEVENT", "UID:f1", "SUMMARY:Floating",
			"DTSTART:20261012T080000", "DURATION:PT90M", "END:VEVENT"),
			"VERSION:2.0", "VERSION:2.0\r\nX-WR-TIMEZONE:Asia/Tokyo", 1),
		opts: ParseOptions{DefaultTZ: "Europe/Berlin"},
		want: []wantOcc{
			{"f1", "2026-10-11T23:00:00Z", "2026-10-12 08:00 JST", "2026-10-12T00:30:00Z", false, "Asia/Tokyo", false, false, "Floating"},
		},
	}, {
		name: "no DTEND: timed ends at start, all-day lasts one day",
		doc: parseDoc("BEGIN:VEVENT", "UID:p1", "SUMMARY:Point", "DTSTART:20261012T080000Z", "END:VEVENT",
			"BEGIN:VEVENT", "UID:d1", "SUMMARY:Day", "DTSTART;VALUE=DATE:20261013", "END:VEVENT"),
		want: []wantOcc{
			{"p1", "2026-10-12T08:00:00Z", "2026-10-12 08:00 UTC", "2026-10-12T08:00:00Z", false, "UTC", false, false, "Point"},
			{"d1", "2026-10-13T00:00:00Z", "2026-10-13 00:00 UTC", "2026-10-14T00:00:00Z", true, "UTC", false, false, "Day"},
		},
	}, {
		name: "all-day weekly series with date EXDATE and a cancelled override",
		doc: parseDoc("BEGIN:VEVENT", "UID:w1", "SUMMARY:Cleaning", "DTSTART;VALUE=DATE:20261005",
			"DTEND;VALUE=DATE:20261006", "RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE;VALUE=DATE:20261012", "END:VEVENT",
			"BEGIN:VEVENT", "UID:w1", "RECURRENCE-ID;VALUE=DATE:20261019", "DTSTART;VALUE=DATE:20261019",
			"STATUS:CANCELLED", "END:VEVENT"),
		want: []wantOcc{
			{"w1/20261005", "2026-10-05T00:00:00Z", "2026-10-05 00:00 UTC", "2026-10-06T00:00:00Z", true, "UTC", false, false, "Cleaning"},
			{"w1/20261019", "2026-10-19T00:00:00Z", "2026-10-19 00:00 UTC", "2026-10-20T00:00:00Z", true, "UTC", true, false, "Cleaning"},
			{"w1/20261026", "2026-10-26T00:00:00Z", "2026-10-26 00:00 UTC", "2026-10-27T00:00:00Z", true, "UTC", false, false, "Cleaning"},
		},
	}, {
		name: "open-ended series is cut at the horizon and 90 days back",
		doc: parseDoc("BEGIN:VEVENT", "UID:m1", "SUMMARY:Monthly", "DTSTART:20200115T090000Z",
			"DTEND:20200115T100000Z", "RRULE:FREQ=MONTHLY", "END:VEVENT"),
		opts: ParseOptions{Horizon: 60 * 24 * time.Hour},
		want: []wantOcc{
			{"m1/20260715T090000Z", "2026-07-15T09:00:00Z", "2026-07-15 09:00 UTC", "2026-07-15T10:00:00Z", false, "UTC", false, false, "Monthly"},
			{"m1/20260815T090000Z", "2026-08-15T09:00:00Z", "2026-08-15 09:00 UTC", "2026-08-15T10:00:00Z", false, "UTC", false, false, "Monthly"},
			{"m1/20260915T090000Z", "2026-09-15T09:00:00Z", "2026-09-15 09:00 UTC", "2026-09-15T10:00:00Z", false, "UTC", false, false, "Monthly"},
			{"m1/20261015T090000Z", "2026-10-15T09:00:00Z", "2026-10-15 09:00 UTC", "2026-10-15T10:00:00Z", false, "UTC", false, false, "Monthly"},
			{"m1/20261115T090000Z", "2026-11-15T09:00:00Z", "2026-11-15 09:00 UTC", "2026-11-15T10:00:00Z", false, "UTC", false, false, "Monthly"},
		},
	}, {
		name: "UTC EXDATE and RECURRENCE-ID match a zoned series; RDATE adds to RRULE",
		doc: parseDoc("BEGIN:VEVENT", "UID:g1", "SUMMARY:Review",
			"DTSTART;TZID=Europe/Berlin:20261005T170000", "DTEND;TZID=Europe/Berlin:20261005T173000",
			"RRULE:FREQ=WEEKLY;COUNT=3", "EXDATE:20261012T150000Z", "RDATE;TZID=Europe/Berlin:20261008T080000",
			"END:VEVENT",
			"BEGIN:VEVENT", "UID:g1", "SUMMARY:Review (longer)", "RECURRENCE-ID:20261019T150000Z",
			"DTSTART;TZID=Europe/Berlin:20261019T170000", "DTEND;TZID=Europe/Berlin:20261019T183000", "END:VEVENT"),
		want: []wantOcc{
			{"g1/20261005T150000Z", "2026-10-05T15:00:00Z", "2026-10-05 17:00 CEST", "2026-10-05T15:30:00Z", false, "Europe/Berlin", false, false, "Review"},
			{"g1/20261008T060000Z", "2026-10-08T06:00:00Z", "2026-10-08 08:00 CEST", "2026-10-08T06:30:00Z", false, "Europe/Berlin", false, false, "Review"},
			{"g1/20261019T150000Z", "2026-10-19T15:00:00Z", "2026-10-19 17:00 CEST", "2026-10-19T16:30:00Z", false, "Europe/Berlin", false, false, "Review (longer)"},
		},
	}, {
		name: "Windows display name as quoted TZID",
		doc: parseDoc("BEGIN:VEVENT", "UID:o1", "SUMMARY:Call",
			`DTSTART;TZID="(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna":20261102T100000`,
			"DURATION:PT30M", "END:VEVENT"),
		want: []wantOcc{
			{"o1", "2026-11-02T09:00:00Z", "2026-11-02 10:00 CET", "2026-11-02T09:30:00Z", false, "Europe/Berlin", false, false, "Call"},
		},
	}, {
		name: "the highest SEQUENCE of a duplicated UID wins",
		doc: parseDoc("BEGIN:VEVENT", "UID:s1", "SEQUENCE:2", "SUMMARY:New", "DTSTART:20261012T080000Z", "END:VEVENT",
			"BEGIN:VEVENT", "UID:s1", "SEQUENCE:1", "SUMMARY:Old", "DTSTART:20261011T080000Z", "END:VEVENT"),
		want: []wantOcc{
			{"s1", "2026-10-12T08:00:00Z", "2026-10-12 08:00 UTC", "2026-10-12T08:00:00Z", false, "UTC", false, false, "New"},
		},
	}, {
		name: "METHOD:CANCEL cancels every event; globally unique TZID prefix",
		doc: strings.Replace(parseDoc("BEGIN:VEVENT", "UID:x1", "SUMMARY:Gone",
			"DTSTART;TZID=/mozilla.org/20050126_1/Europe/Paris:20261012T080000",
			"DTEND;TZID=/mozilla.org/20050126_1/Europe/Paris:20261012T090000", "END:VEVENT"),
			"VERSION:2.0", "VERSION:2.0\r\nMETHOD:CANCEL", 1),
		want: []wantOcc{
			{"x1", "2026-10-12T06:00:00Z", "2026-10-12 08:00 CEST", "2026-10-12T07:00:00Z", false, "Europe/Paris", true, false, "Gone"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Now.IsZero() {
				tt.opts.Now = parseTestNow
			}
			got, err := Parse(strings.NewReader(tt.doc), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			checkOccurrences(t, got, tt.want)
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		opts    ParseOptions
		is      error
		message string
	}{
		{"empty body", "", ParseOptions{}, ErrNotICalendar, "empty document"},
		{"JSON error body", `{"error":"forbidden"}`, ParseOptions{}, ErrNotICalendar, `starts with {"error":"forbidden"}`},
		{"stray quote in a parameter", parseDoc("BEGIN:VEVENT", "UID:q1", `ATTENDEE;CN="Anna"Schmidt:mailto:a@example.com`, "DTSTART:20261012T080000Z", "END:VEVENT"),
			ParseOptions{}, ErrMalformed, "parameter CN"},
		{"unknown TZID without VTIMEZONE", parseDoc("BEGIN:VEVENT", "UID:t1", "DTSTART;TZID=Mars/Olympus:20261012T080000", "END:VEVENT"),
			ParseOptions{}, ErrMalformed, `"Mars/Olympus"`},
		{"missing DTSTART", parseDoc("BEGIN:VEVENT", "UID:n1", "SUMMARY:No start", "END:VEVENT"),
			ParseOptions{}, ErrMalformed, `event "n1": DTSTART is missing`},
		{"bad RRULE", parseDoc("BEGIN:VEVENT", "UID:r1", "DTSTART:20261012T080000Z", "RRULE:FREQ=SOMETIMES", "END:VEVENT"),
			ParseOptions{}, ErrMalformed, `event "r1": RRULE`},
		{"RRULE that can never occur", parseDoc("BEGIN:VEVENT", "UID:r2", "DTSTART:20261012T080000Z", "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "END:VEVENT"),
			ParseOptions{}, ErrMalformed, "never falls"},
		{"bad DTEND", parseDoc("BEGIN:VEVENT", "UID:e1", "DTSTART:20261012T080000Z", "DTEND:tomorrow", "END:VEVENT"),
			ParseOptions{}, ErrMalformed, `event "e1": DTEND`},
		{"mismatched END", parseDoc("BEGIN:VEVENT", "UID:e2", "DTSTART:20261012T080000Z", "END:VTODO"),
			ParseOptions{}, ErrMalformed, "END"},
		{"too many occurrences", parseDoc("BEGIN:VEVENT", "UID:h1", "DTSTART:20261001T000000Z", "RRULE:FREQ=HOURLY", "END:VEVENT"),
			ParseOptions{Horizon: 7 * 365 * 24 * time.Hour}, ErrTooManyOccurrences, "50000"},
		{"too many steps before the window", parseDoc("BEGIN:VEVENT", "UID:h2", "DTSTART:18000101T000000Z", "RRULE:FREQ=HOURLY", "END:VEVENT"),
			ParseOptions{}, ErrTooManyOccurrences, `event "h2"`},
		{"bad default zone", parseDoc("BEGIN:VEVENT", "UID:z1", "DTSTART:20261012T080000Z", "END:VEVENT"),
			ParseOptions{DefaultTZ: "Local"}, nil, "not an IANA name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Now.IsZero() {
				tt.opts.Now = parseTestNow
			}
			got, err := Parse(strings.NewReader(tt.doc), tt.opts)
			if err == nil {
				t.Fatalf("no error, got %d occurrences", len(got))
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %q", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not mention %q", err, tt.message)
			}
		})
	}
}

func TestOccurrenceEntry(t *testing.T) {
	start := time.Date(2026, 10, 12, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		occ  Occurrence
		want calgate.Entry
	}{{
		name: "confirmed with summary",
		occ: Occurrence{UID: "u", ExternalID: "u/20261012T080000Z", RecurrenceID: "20261012T080000Z", Summary: "Stand-up",
			Description: "d", Location: "l", Start: start, End: start.Add(time.Hour), Timezone: "UTC"},
		want: calgate.Entry{Kind: calgate.KindJob, Source: "ical:feed-1", ExternalID: "u/20261012T080000Z", Title: "Stand-up",
			Description: "d", Location: "l", Start: start, End: start.Add(time.Hour), Timezone: "UTC",
			Status: calgate.StatusConfirmed, Resource: "Linie 2"},
	}, {
		name: "cancelled without summary, zero length widened",
		occ:  Occurrence{UID: "u", ExternalID: "u", Start: start, End: start, Timezone: "UTC", Cancelled: true},
		want: calgate.Entry{Kind: calgate.KindJob, Source: "ical:feed-1", ExternalID: "u", Title: "Busy",
			Start: start, End: start.Add(time.Minute), Timezone: "UTC", Status: calgate.StatusCancelled, Resource: "Linie 2"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.occ.Entry(calgate.KindJob, "Linie 2", "ical:feed-1")
			if diff := calgate.Diff(&tt.want, got); len(diff) != 0 || got.ExternalID != tt.want.ExternalID ||
				got.Source != tt.want.Source || got.Kind != tt.want.Kind {
				t.Errorf("entry differs: %v (external id %q, source %q)", diff, got.ExternalID, got.Source)
			}
		})
	}
}

func TestParseIsStableAcrossRuns(t *testing.T) {
	for _, name := range []string{"google.ics", "outlook.ics", "apple.ics", "airbnb.ics"} {
		a, err := parseFixture(t, name, ParseOptions{Now: parseTestNow, DefaultTZ: "Europe/Berlin"})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := parseFixture(t, name, ParseOptions{Now: parseTestNow, DefaultTZ: "Europe/Berlin"})
		for i := range a {
			if a[i].ExternalID != b[i].ExternalID || !a[i].Start.Equal(b[i].Start) {
				t.Fatalf("%s: order differs at %d: %s vs %s", name, i, a[i].ExternalID, b[i].ExternalID)
			}
		}
	}
}

func BenchmarkParseRecurring(b *testing.B) {
	doc := parseDoc("BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "END:VTIMEZONE",
		"BEGIN:VEVENT", "UID:bench-daily@example.com", "SUMMARY:Daily shift handover",
		"DTSTART;TZID=Europe/Berlin:20250101T060000", "DTEND;TZID=Europe/Berlin:20250101T061500",
		"RRULE:FREQ=DAILY", "EXDATE;TZID=Europe/Berlin:20261224T060000,20261225T060000",
		"END:VEVENT")
	b.ReportAllocs()
	for b.Loop() {
		occs, err := Parse(strings.NewReader(doc), ParseOptions{Now: parseTestNow})
		if err != nil || len(occs) < 400 {
			b.Fatalf("%d occurrences, %v", len(occs), err)
		}
	}
}
