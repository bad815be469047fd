package ical

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds Parse arbitrary documents, seeded with every fixture:
// it must return occurrences or an error, never panic or hang.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "ical", "*.ics"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(parseDoc("BEGIN:VEVENT", "UID:a", "DTSTART;VALUE=DATE:20261005",
		"RRULE:FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2", "END:VEVENT")))
	f.Fuzz(func(t *testing.T, data []byte) {
		occs, err := Parse(strings.NewReader(string(data)), ParseOptions{
			Now: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC), DefaultTZ: "Europe/Berlin"})
		if err != nil && occs != nil {
			t.Fatalf("occurrences returned with error %v", err)
		}
		if len(occs) > MaxOccurrences {
			t.Fatalf("%d occurrences exceed the cap", len(occs))
		}
	})
}
