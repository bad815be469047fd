package ical

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

func renderVTimezone(t *testing.T, name string, from, to int) string {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	e := &encWriter{w: bufio.NewWriter(&buf)}
	e.writeVTimezone(&zoneUse{name: name, loc: loc, fromYear: from, toYear: to})
	if err := e.flush(); err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(buf.String(), "\r\n", "\n")
}

func TestVTimezoneObservances(t *testing.T) {
	tests := []struct {
		name     string
		zone     string
		from, to int
		want     []string // lines that must appear
		count    map[string]int
	}{
		{"Berlin uses last-Sunday rules", "Europe/Berlin", 2025, 2025,
			[]string{"DTSTART:20241027T030000\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nTZNAME:CET",
				"DTSTART:20250330T020000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nTZNAME:CEST"},
			map[string]int{"BEGIN:STANDARD": 1, "BEGIN:DAYLIGHT": 1}},
		{"New York before and after the 2007 change", "America/New_York", 2005, 2009,
			[]string{"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;UNTIL=20061029T060000Z",
				"RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T070000Z",
				"DTSTART:20070311T020000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\n",
				"DTSTART:20071104T020000\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\n"},
			map[string]int{"BEGIN:STANDARD": 2, "BEGIN:DAYLIGHT": 2}},
		{"Tokyo has one STANDARD", "Asia/Tokyo", 2025, 2026,
			[]string{"TZOFFSETTO:+0900\nTZNAME:JST"},
			map[string]int{"BEGIN:STANDARD": 1, "BEGIN:DAYLIGHT": 0, "RRULE": 0}},
		{"a zone that never changed has one STANDARD", "Etc/GMT-3", 2025, 2025,
			[]string{"DTSTART:19700101T000000\nTZOFFSETFROM:+0300\nTZOFFSETTO:+0300"},
			map[string]int{"BEGIN:STANDARD": 1, "BEGIN:DAYLIGHT": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := renderVTimezone(t, tc.zone, tc.from, tc.to)
			if !strings.HasPrefix(got, "BEGIN:VTIMEZONE\nTZID:"+tc.zone+"\n") || !strings.HasSuffix(got, "END:VTIMEZONE\n") {
				t.Errorf("not a VTIMEZONE for %s:\n%s", tc.zone, got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for s, n := range tc.count {
				if c := strings.Count(got, s); c != n {
					t.Errorf("%d × %s, want %d, in\n%s", c, s, n, got)
				}
			}
		})
	}
}

func TestAmbiguousWallTime(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tests := []struct {
		at   string
		want bool
	}{
		{"2025-10-26T01:59:59+02:00", false},
		{"2025-10-26T02:00:00+02:00", true}, // first 02:00
		{"2025-10-26T02:59:59+02:00", true},
		{"2025-10-26T02:00:00+01:00", true}, // second 02:00
		{"2025-10-26T02:59:59+01:00", true},
		{"2025-10-26T03:00:00+01:00", false},
		{"2025-03-30T03:00:00+02:00", false}, // spring: nothing repeats
		{"2025-07-01T12:00:00+02:00", false},
	}
	for _, tc := range tests {
		at, err := time.Parse(time.RFC3339, tc.at)
		if err != nil {
			t.Fatal(err)
		}
		if got := ambiguousWallTime(at.In(berlin)); got != tc.want {
			t.Errorf("ambiguousWallTime(%s) = %v, want %v", tc.at, got, tc.want)
		}
	}
}

// Entries lie between calgate.MinTime and calgate.MaxTime: at both ends
// of that range every zone gets a VTIMEZONE with an observance, as RFC
// 5545 requires (year 1, which the range now refuses, got none).
func TestVTimezoneHasAnObservanceAtBothEndsOfTheStoredRange(t *testing.T) {
	zones := []string{"Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Kiritimati",
		"America/Sao_Paulo", "Africa/Casablanca", "Asia/Tokyo", "Etc/GMT+12", "UTC"}
	for _, zone := range zones {
		for _, years := range [][2]int{{calgate.MinTime.Year(), calgate.MinTime.Year()}, {calgate.MaxTime.Year() - 1, calgate.MaxTime.Year() - 1},
			{calgate.MinTime.Year(), calgate.MaxTime.Year() - 1}} {
			got := renderVTimezone(t, zone, years[0], years[1])
			if !strings.Contains(got, "BEGIN:STANDARD") && !strings.Contains(got, "BEGIN:DAYLIGHT") {
				t.Errorf("%s, years %d to %d: no observance:\n%s", zone, years[0], years[1], got)
			}
		}
	}
}
