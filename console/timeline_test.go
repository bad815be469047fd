package console

import (
	"fmt"
	"testing"
	"time"

	calgate "github.com/calgate/calgate"
)

func mustZone(t testing.TB, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestWindowOf(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	wed := time.Date(2026, 12, 9, 15, 0, 0, 0, berlin)
	tests := []struct {
		view     string
		from, to string
	}{
		{ViewDay, "2026-12-09", "2026-12-10"},
		{ViewWeek, "2026-12-07", "2026-12-14"},
		{"", "2026-12-07", "2026-12-14"},
		{ViewMonth, "2026-12-01", "2027-01-01"},
	}
	for _, tc := range tests {
		w := WindowOf(tc.view, wed, berlin)
		if got := w.From.Format(time.DateOnly); got != tc.from || w.To.Format(time.DateOnly) != tc.to || w.From.Hour() != 0 {
			t.Errorf("%q: %s – %s, want %s – %s", tc.view, w.From, w.To, tc.from, tc.to)
		}
	}
	// A Sunday belongs to the week that began on the Monday before it.
	if w := WindowOf(ViewWeek, time.Date(2026, 12, 13, 23, 0, 0, 0, berlin), berlin); w.From.Day() != 7 {
		t.Errorf("Sunday's week starts %s", w.From)
	}
}

func entryAt(id, resource string, kind calgate.Kind, start, end time.Time) *calgate.Entry {
	return &calgate.Entry{ID: id, Kind: kind, Resource: resource, Start: start, End: end, Status: calgate.StatusConfirmed, Title: id, Source: "erp"}
}

func TestBuildTimelinePlacesBarsOnTheirRowAndTime(t *testing.T) {
	utc := time.UTC
	w := WindowOf(ViewWeek, time.Date(2026, 12, 7, 0, 0, 0, 0, utc), utc)
	tue := time.Date(2026, 12, 8, 6, 0, 0, 0, utc)
	sub := entryAt("sub", "CNC-2", calgate.KindJob, tue, tue.Add(time.Hour))
	sub.Source = calgate.SourcePrefixICal + "sub_1"
	entries := []*calgate.Entry{
		entryAt("a", "CNC-10", calgate.KindJob, tue, tue.Add(6*time.Hour)),
		entryAt("b", "CNC-2", calgate.KindJob, tue, tue.Add(6*time.Hour)),
		entryAt("c", "CNC-2", calgate.KindJob, tue.Add(2*time.Hour), tue.Add(3*time.Hour)), // overlaps b
		entryAt("d", "CNC-2", calgate.KindJob, tue.Add(6*time.Hour), tue.Add(7*time.Hour)), // after b
		entryAt("e", "Room 1", calgate.KindReservation, w.From.Add(-24*time.Hour), w.From.Add(12*time.Hour)),
		sub,
	}
	tl := BuildTimeline(w, entries, tue)
	if len(tl.Columns) != 7 || !tl.Columns[1].Today || tl.Columns[0].Today {
		t.Fatalf("columns %+v: want 7 days with Tuesday as today", tl.Columns)
	}
	var order []string
	bars := map[string]Bar{}
	for _, r := range tl.Rows {
		order = append(order, r.Field+":"+r.Resource)
		for _, b := range r.Bars {
			bars[b.ID] = b
		}
	}
	if fmt.Sprint(order) != "[resource:Room 1 workstage:CNC-2 workstage:CNC-10]" {
		t.Fatalf("rows %v", order)
	}
	// Tuesday 06:00 is 30 of the week's 168 hours; six hours are 6/168.
	if b := bars["a"]; b.Left != "17.857%" || b.Width != "3.571%" || b.Lane != 0 {
		t.Fatalf("bar a: %+v", b)
	}
	if bars["b"].Lane != 0 || bars["c"].Lane != 1 || bars["d"].Lane != 0 || bars["sub"].Lane != 1 {
		t.Fatalf("lanes: b %d c %d d %d sub %d", bars["b"].Lane, bars["c"].Lane, bars["d"].Lane, bars["sub"].Lane)
	}
	if tl.Rows[1].Lanes != 2 || tl.Rows[1].Height != 2*laneHeight+4 {
		t.Fatalf("CNC-2 row: %d lanes, height %d", tl.Rows[1].Lanes, tl.Rows[1].Height)
	}
	// Cut at the window's start: from 0 for the 12 hours inside it.
	if b := bars["e"]; b.Left != "0.000%" || b.Width != "7.143%" {
		t.Fatalf("bar e: %+v", b)
	}
	if !bars["sub"].Subscription || bars["a"].Subscription {
		t.Fatal("subscription entries are not marked (or others are)")
	}
	if bars["a"].Href != "/console/entries/job/a" {
		t.Fatalf("href %q", bars["a"].Href)
	}
}

func TestNaturalLess(t *testing.T) {
	for _, tc := range [][2]string{{"CNC-2", "CNC-10"}, {"a", "b"}, {"M9", "M010"}, {"", "a"}, {"Press 1", "Press 1b"}} {
		if !naturalLess(tc[0], tc[1]) || naturalLess(tc[1], tc[0]) {
			t.Errorf("%q < %q does not hold one way only", tc[0], tc[1])
		}
	}
}
