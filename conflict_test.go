package calgate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// at is a UTC time on 2025-10-27 at hh:mm.
func at(hh, mm int) time.Time { return time.Date(2025, 10, 27, hh, mm, 0, 0, time.UTC) }

func busyEntry(id string, start, end time.Time) *Entry {
	return &Entry{ID: id, Kind: KindJob, ExternalID: "x-" + id, Resource: "Welding", Start: start, End: end, Status: StatusConfirmed}
}

func pairIDs(pairs []ConflictPair) []string {
	out := []string{}
	for _, p := range pairs {
		out = append(out, p.A+"+"+p.B)
	}
	return out
}

func TestConflictPairs(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		entries  []*Entry
		want     []string
	}{
		{"end equal to start is no overlap", 1, []*Entry{busyEntry("a", at(8, 0), at(10, 0)), busyEntry("b", at(10, 0), at(12, 0))}, []string{}},
		{"one minute of overlap conflicts", 1, []*Entry{busyEntry("a", at(8, 0), at(10, 1)), busyEntry("b", at(10, 0), at(12, 0))}, []string{"a+b"}},
		{"inside another conflicts", 1, []*Entry{busyEntry("a", at(8, 0), at(18, 0)), busyEntry("b", at(10, 0), at(11, 0))}, []string{"a+b"}},
		{"capacity 2 carries two at once", 2, []*Entry{busyEntry("a", at(8, 0), at(12, 0)), busyEntry("b", at(9, 0), at(11, 0))}, []string{}},
		{"capacity 2: a third overbooks, every pair in the crowded time conflicts", 2, []*Entry{
			busyEntry("a", at(8, 0), at(12, 0)), busyEntry("b", at(9, 0), at(11, 0)), busyEntry("c", at(10, 0), at(13, 0))},
			[]string{"a+b", "a+c", "b+c"}},
		{"capacity 2: an overlap outside the crowded time is not a conflict", 2, []*Entry{
			busyEntry("a", at(8, 0), at(12, 0)), busyEntry("b", at(9, 0), at(10, 0)), busyEntry("c", at(9, 30), at(10, 30)), busyEntry("d", at(11, 0), at(12, 0))},
			[]string{"a+b", "a+c", "b+c"}},
		{"capacity 2: three in a row touching at the ends", 2, []*Entry{
			busyEntry("a", at(8, 0), at(10, 0)), busyEntry("b", at(8, 0), at(10, 0)), busyEntry("c", at(10, 0), at(12, 0))}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := pairIDs(ConflictPairs("Welding", tc.entries, tc.capacity))
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("pairs = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestConflictPairOverlapIsTheIntersection(t *testing.T) {
	pairs := ConflictPairs("Welding", []*Entry{busyEntry("b", at(9, 0), at(11, 0)), busyEntry("a", at(10, 0), at(12, 0))}, 1)
	if len(pairs) != 1 || pairs[0].A != "a" || pairs[0].B != "b" || !pairs[0].Start.Equal(at(10, 0)) || !pairs[0].End.Equal(at(11, 0)) {
		t.Fatalf("pairs = %+v", pairs)
	}
}

func TestCountsAsBusy(t *testing.T) {
	archived := at(0, 0)
	tests := []struct {
		name           string
		status         Status
		archived       bool
		countTentative bool
		want           bool
	}{
		{"confirmed", StatusConfirmed, false, false, true},
		{"cancelled never", StatusCancelled, false, true, false},
		{"archived never", StatusConfirmed, true, true, false},
		{"tentative when the workspace counts them", StatusTentative, false, true, true},
		{"tentative not when it does not", StatusTentative, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := busyEntry("a", at(8, 0), at(9, 0))
			e.Status = tc.status
			if tc.archived {
				e.ArchivedAt = &archived
			}
			if got := CountsAsBusy(e, tc.countTentative); got != tc.want {
				t.Fatalf("CountsAsBusy = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAllDayAgainstTimedAcrossDST(t *testing.T) {
	berlin, _ := LoadZone("Europe/Berlin")
	// 2025-10-26 is 25 hours long in Berlin (clocks go back at 03:00).
	allDay, _, err := ParseTime("2025-10-26", berlin)
	if err != nil {
		t.Fatal(err)
	}
	dayEnd := time.Date(2025, 10, 27, 0, 0, 0, 0, berlin)
	day := &Entry{ID: "day", Resource: "Room", Start: allDay, End: dayEnd, AllDay: true, Status: StatusConfirmed}
	if got := dayEnd.Sub(allDay); got != 25*time.Hour {
		t.Fatalf("the day lasts %v, want 25h", got)
	}
	tests := []struct {
		name       string
		start, end time.Time
		want       int
	}{
		{"the last hour of the long day", time.Date(2025, 10, 26, 23, 0, 0, 0, berlin), time.Date(2025, 10, 26, 23, 30, 0, 0, berlin), 1},
		{"the repeated 02:30 (second time, UTC+1)", time.Date(2025, 10, 26, 1, 30, 0, 0, time.UTC), time.Date(2025, 10, 26, 1, 45, 0, 0, time.UTC), 1},
		{"midnight after, which ends the day", dayEnd, dayEnd.Add(time.Hour), 0},
		{"the evening before in UTC, inside the day in Berlin", time.Date(2025, 10, 25, 22, 30, 0, 0, time.UTC), time.Date(2025, 10, 25, 23, 0, 0, 0, time.UTC), 1},
		{"the evening before in Berlin", time.Date(2025, 10, 25, 21, 0, 0, 0, time.UTC), time.Date(2025, 10, 25, 22, 0, 0, 0, time.UTC), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			timed := &Entry{ID: "timed", Resource: "Room", Start: tc.start, End: tc.end, Status: StatusConfirmed}
			if got := len(ConflictsOf(timed, []*Entry{day}, 1)); got != tc.want {
				t.Fatalf("%d conflicts, want %d", got, tc.want)
			}
		})
	}
}

func TestConflictsOfNamesTheOthersAndSkipsItself(t *testing.T) {
	e := busyEntry("new", at(9, 0), at(11, 0))
	others := []*Entry{busyEntry("new", at(9, 0), at(11, 0)), busyEntry("a", at(10, 0), at(12, 0)), busyEntry("b", at(11, 0), at(12, 0))}
	got := ConflictsOf(e, others, 1)
	want := []Conflict{{EntryID: "a", Kind: KindJob, ExternalID: "x-a", Resource: "Welding", Start: at(10, 0), End: at(11, 0)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("conflicts = %+v, want %+v", got, want)
	}
	err := error(&ConflictError{Resource: "Welding", Conflicts: got})
	if !errors.Is(err, ErrConflict) || err.Error() != `double booking: "Welding" is taken by a` {
		t.Fatalf("error = %v", err)
	}
	if b, _ := json.Marshal(got[0]); string(b) != `{"entry_id":"a","kind":"job","external_id":"x-a","resource":"Welding","start":"2025-10-27T10:00:00Z","end":"2025-10-27T11:00:00Z"}` {
		t.Fatalf("wire form %s", b)
	}
}

func TestBusyIntervals(t *testing.T) {
	entries := []*Entry{busyEntry("a", at(8, 0), at(10, 0)), busyEntry("b", at(9, 0), at(11, 0)), busyEntry("c", at(11, 0), at(12, 0))}
	tests := []struct {
		capacity int
		want     string
	}{
		{1, "[08:00-12:00]"},
		{2, "[09:00-10:00]"},
		{3, "[]"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint("capacity ", tc.capacity), func(t *testing.T) {
			if got := show(BusyIntervals(entries, tc.capacity), time.UTC); got != tc.want {
				t.Fatalf("busy = %s, want %s", got, tc.want)
			}
		})
	}
}

// show renders intervals as [hh:mm-hh:mm …] in loc (with the date when it
// is not the first interval's).
func show(list []Interval, loc *time.Location) string {
	s := "["
	for i, iv := range list {
		if i > 0 {
			s += " "
		}
		s += iv.Start.In(loc).Format("15:04") + "-" + iv.End.In(loc).Format("15:04")
	}
	return s + "]"
}

// However crowded a time, every entry that double-books keeps its earliest
// conflicts: a week-long block under sixty jobs is in sixty pairs, one per
// job, and each of sixty jobs in the same hour keeps fifty.
func TestConflictPairsReportEveryDoubleBooking(t *testing.T) {
	block := busyEntry("block", at(0, 0), at(0, 0).AddDate(0, 0, 7))
	entries := []*Entry{block}
	for i := range 60 {
		start := at(8, 0).Add(time.Duration(i) * 2 * time.Hour)
		entries = append(entries, busyEntry(fmt.Sprintf("job-%02d", i), start, start.Add(time.Hour)))
	}
	if got := len(ConflictPairs("Welding", entries, 1)); got != 60 {
		t.Fatalf("%d pairs under the block, want 60, one per job", got)
	}
	var crowd []*Entry
	for i := range 60 {
		crowd = append(crowd, busyEntry(fmt.Sprintf("e%02d", i), at(8, 0), at(9, 0)))
	}
	count := map[string]int{}
	for _, p := range ConflictPairs("Welding", crowd, 1) {
		count[p.A]++
		count[p.B]++
	}
	for _, e := range crowd {
		if count[e.ID] < MaxConflictsPerEntry {
			t.Errorf("%s is in %d pairs, want at least %d", e.ID, count[e.ID], MaxConflictsPerEntry)
		}
	}
}

// On capacity 1 the pairs kept are, for every entry, its first
// MaxConflictsPerEntry overlaps by the other's start and id: checked
// against that rule written out plainly, over crowded random schedules.
func TestConflictPairsKeepEachEntrysEarliest(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 19))
	for round := range 20 {
		var entries []*Entry
		for i := range 40 + rng.IntN(80) {
			start := at(0, 0).Add(time.Duration(rng.IntN(48*4)) * 15 * time.Minute)
			entries = append(entries, busyEntry(fmt.Sprintf("r%d-%03d", round, i), start, start.Add(time.Duration(1+rng.IntN(16*4))*15*time.Minute)))
		}
		want := map[string]bool{}
		for _, e := range entries {
			var others []*Entry
			for _, o := range entries {
				if o != e && o.Start.Before(e.End) && e.Start.Before(o.End) {
					others = append(others, o)
				}
			}
			slices.SortFunc(others, func(a, b *Entry) int {
				if c := a.Start.Compare(b.Start); c != 0 {
					return c
				}
				return strings.Compare(a.ID, b.ID)
			})
			for _, o := range others[:min(len(others), MaxConflictsPerEntry)] {
				a, b := e.ID, o.ID
				if b < a {
					a, b = b, a
				}
				want[a+"+"+b] = true
			}
		}
		got := pairIDs(ConflictPairs("Welding", entries, 1))
		if len(got) != len(want) {
			t.Fatalf("round %d: %d pairs, want %d", round, len(got), len(want))
		}
		for _, p := range got {
			if !want[p] {
				t.Fatalf("round %d: pair %s is no entry's earliest", round, p)
			}
		}
	}
}
