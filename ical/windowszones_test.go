package ical

import (
	"testing"
	"time"
)

func TestWindowsZonesLoadAsIANA(t *testing.T) {
	seen := map[string]bool{}
	for _, z := range parseWindowsZones {
		if seen[z.windows] {
			t.Errorf("%q listed twice", z.windows)
		}
		seen[z.windows] = true
		if _, err := time.LoadLocation(z.iana); err != nil {
			t.Errorf("%q maps to %q, which does not load: %v", z.windows, z.iana, err)
		}
	}
	if len(parseWindowsZones) < 130 {
		t.Errorf("only %d rows", len(parseWindowsZones))
	}
}

func TestWindowsZoneLookup(t *testing.T) {
	tests := []struct{ in, want string }{
		{"W. Europe Standard Time", "Europe/Berlin"},
		{"w. europe standard time", "Europe/Berlin"},
		{"(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "Europe/Berlin"},
		{"Eastern Standard Time", "America/New_York"},
		{"GMT Standard Time", "Europe/London"},
		{"Tokyo Standard Time", "Asia/Tokyo"},
		{"Nowhere Standard Time", ""},
	}
	for _, tt := range tests {
		got, ok := parseWindowsZone(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("parseWindowsZone(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}
