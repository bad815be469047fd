package calgate

import (
	"reflect"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// showFull renders intervals as RFC 3339 pairs in loc.
func showFull(list []Interval, loc *time.Location) []string {
	out := []string{}
	for _, iv := range list {
		out = append(out, iv.Start.In(loc).Format(time.RFC3339)+"/"+iv.End.In(loc).Format(time.RFC3339))
	}
	return out
}

func TestOpenIntervals(t *testing.T) {
	berlin, _ := LoadZone("Europe/Berlin")
	newYork, _ := LoadZone("America/New_York")
	nineToFive := WorkingHours{}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		nineToFive[d] = []TimeRange{{"09:00", "17:00"}}
	}
	tests := []struct {
		name     string
		from, to string
		loc      *time.Location
		hours    WorkingHours
		closed   []string
		want     []string
	}{
		{"spring forward: 09:00 local is an hour earlier in UTC on the Sunday", "2025-03-29T00:00:00Z", "2025-03-31T00:00:00Z", berlin, nineToFive, nil,
			[]string{"2025-03-29T09:00:00+01:00/2025-03-29T17:00:00+01:00", "2025-03-30T09:00:00+02:00/2025-03-30T17:00:00+02:00"}},
		{"closed dates are skipped", "2025-03-29T00:00:00Z", "2025-03-31T00:00:00Z", berlin, nineToFive, []string{"2025-03-29"},
			[]string{"2025-03-30T09:00:00+02:00/2025-03-30T17:00:00+02:00"}},
		{"weekdays without hours are closed", "2025-03-29T00:00:00Z", "2025-04-01T00:00:00Z", berlin, WorkingHours{"mon": {{"08:00", "12:00"}, {"13:00", "17:00"}}}, nil,
			[]string{"2025-03-31T08:00:00+02:00/2025-03-31T12:00:00+02:00", "2025-03-31T13:00:00+02:00/2025-03-31T17:00:00+02:00"}},
		{"no working hours: open around the clock, clipped to the window", "2025-03-29T10:30:00Z", "2025-03-31T08:00:00Z", berlin, nil, nil,
			[]string{"2025-03-29T11:30:00+01:00/2025-03-31T10:00:00+02:00"}},
		{"the window cuts the hours", "2025-03-31T10:00:00Z", "2025-03-31T12:00:00Z", berlin, nineToFive, nil,
			[]string{"2025-03-31T12:00:00+02:00/2025-03-31T14:00:00+02:00"}},
		{"another time zone: New York hours from a UTC window", "2025-11-03T00:00:00Z", "2025-11-04T00:00:00Z", newYork, nineToFive, nil,
			[]string{"2025-11-03T09:00:00-05:00/2025-11-03T17:00:00-05:00"}},
		{"a range to 24:00 joins the next day's 00:00", "2025-03-31T00:00:00Z", "2025-04-02T00:00:00Z", time.UTC,
			WorkingHours{"mon": {{"18:00", "24:00"}}, "tue": {{"00:00", "06:00"}}}, nil,
			[]string{"2025-03-31T18:00:00Z/2025-04-01T06:00:00Z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := showFull(OpenIntervals(utc(tc.from), utc(tc.to), tc.loc, tc.hours, tc.closed), tc.loc)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("open = %v\nwant   %v", got, tc.want)
			}
		})
	}
}

func TestFreeSlots(t *testing.T) {
	r := NewResource("ws", "Room", "Europe/Berlin")
	r.WorkingHours = WorkingHours{"mon": {{"09:00", "17:00"}}}
	from, to := utc("2025-10-27T00:00:00Z"), utc("2025-10-28T00:00:00Z") // a Monday, UTC+1
	busy := []Interval{
		{utc("2025-10-27T09:00:00Z"), utc("2025-10-27T10:00:00Z")}, // 10:00-11:00 local
		{utc("2025-10-27T11:30:00Z"), utc("2025-10-27T12:00:00Z")}, // 12:30-13:00 local
	}
	loc := r.Loc()
	tests := []struct {
		d    time.Duration
		want []string
	}{
		{0, []string{"2025-10-27T09:00:00+01:00/2025-10-27T10:00:00+01:00", "2025-10-27T11:00:00+01:00/2025-10-27T12:30:00+01:00",
			"2025-10-27T13:00:00+01:00/2025-10-27T17:00:00+01:00"}},
		{90 * time.Minute, []string{"2025-10-27T11:00:00+01:00/2025-10-27T12:30:00+01:00", "2025-10-27T13:00:00+01:00/2025-10-27T17:00:00+01:00"}},
		{2 * time.Hour, []string{"2025-10-27T13:00:00+01:00/2025-10-27T17:00:00+01:00"}},
		{5 * time.Hour, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.d.String(), func(t *testing.T) {
			if got := showFull(FreeSlots(r, busy, from, to, tc.d), loc); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("free = %v\nwant   %v", got, tc.want)
			}
		})
	}
}

func TestSubtract(t *testing.T) {
	open := []Interval{{at(8, 0), at(12, 0)}, {at(13, 0), at(17, 0)}}
	busy := []Interval{{at(7, 0), at(9, 0)}, {at(10, 0), at(10, 30)}, {at(11, 30), at(14, 0)}, {at(16, 0), at(18, 0)}}
	if got := show(Subtract(open, busy), time.UTC); got != "[09:00-10:00 10:30-11:30 14:00-16:00]" {
		t.Fatalf("free = %s", got)
	}
}

func TestAvailabilityCountsCapacity(t *testing.T) {
	r := NewResource("ws", "Welding", "UTC")
	r.Capacity = 2
	entries := []*Entry{busyEntry("a", at(8, 0), at(12, 0)), busyEntry("b", at(9, 0), at(10, 0))}
	a := Availability(r, timesOf(entries), at(6, 0), at(14, 0), time.Hour)
	if got := show(a.Busy, time.UTC); got != "[09:00-10:00]" {
		t.Fatalf("busy = %s", got)
	}
	if got := show(a.Free, time.UTC); got != "[06:00-09:00 10:00-14:00]" {
		t.Fatalf("free = %s", got)
	}
}

func TestCommonSlots(t *testing.T) {
	free := map[string][]Interval{
		"A": {{at(9, 0), at(11, 0)}},
		"B": {{at(10, 0), at(12, 0)}},
		"C": {{at(9, 0), at(12, 0)}},
	}
	names := []string{"A", "B", "C"}
	type slot struct {
		at  string
		who []string
	}
	tests := []struct {
		name string
		d    time.Duration
		n    int
		want []slot
	}{
		{"all three for an hour", time.Hour, 3, []slot{{"10:00-11:00", []string{"A", "B", "C"}}}},
		{"any two for an hour", time.Hour, 2, []slot{
			{"09:00-10:00", []string{"A", "C"}}, {"10:00-11:00", []string{"A", "B", "C"}}, {"11:00-12:00", []string{"B", "C"}}}},
		{"any two for three hours: no two are free 09-12 together", 3 * time.Hour, 2, []slot{}},
		{"any one for three hours", 3 * time.Hour, 1, []slot{{"09:00-12:00", []string{"C"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := CommonSlots(names, free, at(9, 0), at(12, 0), tc.d, time.Hour, tc.n)
			if !ok {
				t.Fatal("too many slots")
			}
			gotSlots := []slot{}
			for _, s := range got {
				gotSlots = append(gotSlots, slot{s.Start.Format("15:04") + "-" + s.End.Format("15:04"), s.Resources})
			}
			if !reflect.DeepEqual(gotSlots, tc.want) {
				t.Fatalf("slots = %v, want %v", gotSlots, tc.want)
			}
		})
	}
}

func TestParseISODuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"PT2H", 2 * time.Hour, true},
		{"PT90M", 90 * time.Minute, true},
		{"P1DT12H", 36 * time.Hour, true},
		{"P1W", 7 * 24 * time.Hour, true},
		{"PT1H30M15S", time.Hour + 30*time.Minute + 15*time.Second, true},
		{"P1M", 0, false},
		{"P1Y", 0, false},
		{"PT", 0, false},
		{"2H", 0, false},
		{"PT2", 0, false},
		{"", 0, false},
		{"PT1H2H", 0, false},
		{"PT30M1H", 0, false},
		{"P1DT", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseISODuration(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseISODuration(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestResourceValidateNamesEachField(t *testing.T) {
	r := NewResource("ws", "", "Mars/Olympus")
	r.Capacity = 0
	r.ConflictPolicy = "maybe"
	r.WorkingHours = WorkingHours{"funday": nil, "mon": {{"17:00", "09:00"}}, "tue": {{"9am", "17:00"}}}
	r.ClosedDates = []string{"2025-13-01"}
	err := r.Validate()
	ve, ok := err.(*ValidationError)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	fields := map[string]bool{}
	for _, fe := range ve.Errors {
		fields[fe.Field] = true
	}
	for _, f := range []string{"name", "capacity", "timezone", "conflict_policy", "working_hours.funday", "working_hours.mon[0].end", "working_hours.tue[0].start", "closed_dates[0]"} {
		if !fields[f] {
			t.Errorf("no error for %s in %v", f, ve.Errors)
		}
	}
}

func TestParseWorkingHours(t *testing.T) {
	tests := []struct {
		in   string
		want WorkingHours
		ok   bool
	}{
		{"", nil, true},
		{"mon-fri 09:00-12:00 13:00-17:00; sat 10:00-14:00", WorkingHours{
			"mon": {{"09:00", "12:00"}, {"13:00", "17:00"}}, "tue": {{"09:00", "12:00"}, {"13:00", "17:00"}}, "wed": {{"09:00", "12:00"}, {"13:00", "17:00"}},
			"thu": {{"09:00", "12:00"}, {"13:00", "17:00"}}, "fri": {{"09:00", "12:00"}, {"13:00", "17:00"}}, "sat": {{"10:00", "14:00"}}}, true},
		{"Fri-Mon 18:00-24:00", WorkingHours{"fri": {{"18:00", "24:00"}}, "sat": {{"18:00", "24:00"}}, "sun": {{"18:00", "24:00"}}, "mon": {{"18:00", "24:00"}}}, true},
		{"mon", nil, false},
		{"funday 09:00-17:00", nil, false},
		{"mon 17:00-09:00", nil, false},
		{"mon 9-5", nil, false},
	}
	for _, tc := range tests {
		got, err := ParseWorkingHours(tc.in)
		if (err == nil) != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseWorkingHours(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
