package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// busyIDs returns the times BusyTimes finds on resource over [from, to),
// sorted, as month-day and time (UTC) of start and end.
func busyIDs(t *testing.T, db *DB, ws, resource string, from, to time.Time) []string {
	t.Helper()
	busy, err := db.BusyTimes(ctx, ws, []string{resource}, from, to, true)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, iv := range busy[resource] {
		out = append(out, iv.Start.UTC().Format("01-02T15:04")+"/"+iv.End.UTC().Format("01-02T15:04"))
	}
	slices.Sort(out)
	return out
}

// longestOf is the longest_entry stored for a resource.
func longestOf(t *testing.T, db *DB, ws, resource string) int64 {
	t.Helper()
	m, err := db.longestEntries(ctx, db.r, ws, []string{resource})
	if err != nil {
		t.Fatal(err)
	}
	return m[resource]
}

// S1103 is the short booking of 3 November on Hall.
const S1103 = "11-03T08:00/11-03T10:00"

// testBusyLongEntry checks that the read bounded by the resource's
// longest entry still finds an entry far longer than the others that
// began long before the window, however it is moved, shortened,
// cancelled, restored, taken to another resource, or its resource removed
// from the catalogue and added again.
func testBusyLongEntry(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	var list []*calgate.Entry
	for d := range 60 {
		s := time.Date(2025, 10, 1, 8, 0, 0, 0, time.UTC).AddDate(0, 0, d)
		list = append(list, booking(t, "S-"+s.Format("0102"), "Hall", s.Format(time.RFC3339), s.Add(2*time.Hour).Format(time.RFC3339)))
	}
	list = append(list, booking(t, "LONG", "Hall", "2025-10-15T12:00:00Z", "2025-11-05T12:00:00Z"))
	upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(list...)...)
	if got, want := longestOf(t, db, ws.ID, "Hall"), int64(21*24*3600); got != want {
		t.Fatalf("longest_entry = %d, want %d", got, want)
	}
	from, to := time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC), time.Date(2025, 11, 4, 0, 0, 0, 0, time.UTC)
	want := []string{"10-15T12:00/11-05T12:00", S1103}
	if got := busyIDs(t, db, ws.ID, "Hall", from, to); !slices.Equal(got, want) {
		t.Fatalf("busy = %v, want %v", got, want)
	}
	long, _, err := db.Entries(ctx, ws.ID, calgate.EntryFilter{Kinds: []calgate.Kind{calgate.KindJob}, Sources: []string{"erp"}, ExternalID: "LONG"})
	if err != nil || len(long) != 1 {
		t.Fatalf("entries = %v, %v", long, err)
	}
	id := long[0].ID
	mutate := func(step string, fn func(e *calgate.Entry)) {
		t.Helper()
		if _, _, err := db.Mutate(ctx, ws.ID, calgate.KindJob, id, "test", func(e *calgate.Entry) error { fn(e); return nil }); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	at := func(s string) time.Time {
		v, _ := time.Parse(time.RFC3339, s)
		return v
	}
	steps := []struct {
		name string
		fn   func(e *calgate.Entry)
		want []string
	}{
		{"shortened", func(e *calgate.Entry) { e.Start = at("2025-11-02T12:00:00Z") }, []string{"11-02T12:00/11-05T12:00", S1103}},
		{"moved later and longer", func(e *calgate.Entry) {
			e.Start, e.End = at("2025-10-01T00:00:00Z"), at("2025-11-03T06:00:00Z")
		}, []string{"10-01T00:00/11-03T06:00", S1103}},
		{"cancelled", func(e *calgate.Entry) { e.Status = calgate.StatusCancelled }, []string{S1103}},
		{"confirmed again", func(e *calgate.Entry) { e.Status = calgate.StatusConfirmed }, []string{"10-01T00:00/11-03T06:00", S1103}},
		{"moved out of the window", func(e *calgate.Entry) { e.End = at("2025-11-02T00:00:00Z") }, []string{S1103}},
		{"moved back", func(e *calgate.Entry) { e.End = at("2025-11-03T01:00:00Z") }, []string{"10-01T00:00/11-03T01:00", S1103}},
	}
	for _, st := range steps {
		mutate(st.name, st.fn)
		if got := busyIDs(t, db, ws.ID, "Hall", from, to); !slices.Equal(got, st.want) {
			t.Fatalf("%s: busy = %v, want %v", st.name, got, st.want)
		}
	}
	if got, want := longestOf(t, db, ws.ID, "Hall"), int64(33*24*3600+6*3600); got != want {
		t.Fatalf("longest_entry after the moves = %d, want %d (raised, never lowered)", got, want)
	}

	// Taken to a resource of short entries, it raises that one's bound.
	upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(booking(t, "B-1", "Booth", "2025-11-03T08:00:00Z", "2025-11-03T09:00:00Z"))...)
	mutate("to Booth", func(e *calgate.Entry) { e.Resource = "Booth" })
	if got := busyIDs(t, db, ws.ID, "Booth", from, to); !slices.Equal(got, []string{"10-01T00:00/11-03T01:00", "11-03T08:00/11-03T09:00"}) {
		t.Fatalf("after the move to Booth: busy = %v", got)
	}
	if got := busyIDs(t, db, ws.ID, "Hall", from, to); !slices.Equal(got, []string{S1103}) {
		t.Fatalf("Hall after the move: busy = %v", got)
	}

	// Removed from the catalogue, Booth's entries are still read (without
	// the bound); added again, it measures them.
	booth, err := db.ResourceByName(ctx, ws.ID, "Booth")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteResource(ctx, ws.ID, booth.ID); err != nil {
		t.Fatal(err)
	}
	if got := busyIDs(t, db, ws.ID, "Booth", from, to); !slices.Equal(got, []string{"10-01T00:00/11-03T01:00", "11-03T08:00/11-03T09:00"}) {
		t.Fatalf("Booth out of the catalogue: busy = %v", got)
	}
	if err := db.CreateResource(ctx, calgate.NewResource(ws.ID, "Booth", "UTC")); err != nil {
		t.Fatal(err)
	}
	if got := longestOf(t, db, ws.ID, "Booth"); got < int64(33*24*3600) {
		t.Fatalf("Booth added again: longest_entry = %d, shorter than its entries", got)
	}
	if got := busyIDs(t, db, ws.ID, "Booth", from, to); !slices.Equal(got, []string{"10-01T00:00/11-03T01:00", "11-03T08:00/11-03T09:00"}) {
		t.Fatalf("Booth added again: busy = %v", got)
	}

	// Renamed onto a name whose entries outlived their resource, a
	// resource measures them.
	upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(booking(t, "G-1", "Gone", "2025-10-01T00:00:00Z", "2025-11-03T12:00:00Z"))...)
	gone, err := db.ResourceByName(ctx, ws.ID, "Gone")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteResource(ctx, ws.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(booking(t, "K-1", "Kiosk", "2025-11-03T10:00:00Z", "2025-11-03T11:00:00Z"))...)
	kiosk, err := db.ResourceByName(ctx, ws.ID, "Kiosk")
	if err != nil {
		t.Fatal(err)
	}
	kiosk.Name = "Gone"
	if err := db.UpdateResource(ctx, kiosk, "test"); err != nil {
		t.Fatal(err)
	}
	if got := busyIDs(t, db, ws.ID, "Gone", from, to); !slices.Equal(got, []string{"10-01T00:00/11-03T12:00", "11-03T10:00/11-03T11:00"}) {
		t.Fatalf("after the rename: busy = %v", got)
	}
}

func TestStoredTimeReadsSQLiteText(t *testing.T) {
	for _, s := range []string{"2025-11-03 08:00:00+00:00", "2025-11-03 08:00:00.5+00:00", "2025-11-03 08:00:00.123456+00:00",
		"2025-11-03 08:00:00.123456789+00:00", "2025-11-03 09:00:00+01:00"} {
		var got storedTime
		if err := got.Scan(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		want, _ := time.Parse(sqliteTimeLayout, s)
		if !time.Time(got).Equal(want) || time.Time(got).Location() != time.UTC {
			t.Fatalf("%s: got %v, want %v", s, time.Time(got), want)
		}
	}
	var bad storedTime
	if err := bad.Scan("2025-11-03 8:00"); err == nil {
		t.Fatal("bad text read without error")
	}
}

// testBusyManyResourcesAtOnce checks that one read of several resources,
// whose entries come interleaved and in groups of different longest
// entries, gives each resource what a read of it alone gives.
func testBusyManyResourcesAtOnce(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	names := []string{"Lathe", "Mill", "Press", "Saw"}
	var list []*calgate.Entry
	for d := range 20 {
		for i, n := range names {
			s := time.Date(2025, 11, 1, 6+i, 0, 0, 0, time.UTC).AddDate(0, 0, d)
			length := time.Duration(1+i%2) * time.Hour
			list = append(list, booking(t, n+"-"+s.Format("0102"), n, s.Format(time.RFC3339), s.Add(length).Format(time.RFC3339)))
		}
	}
	list = append(list, booking(t, "PRESS-LONG", "Press", "2025-10-20T12:00:00Z", "2025-11-06T12:00:00Z"))
	upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(list...)...)
	from, to := time.Date(2025, 11, 5, 0, 0, 0, 0, time.UTC), time.Date(2025, 11, 12, 0, 0, 0, 0, time.UTC)
	all, err := db.BusyTimes(ctx, ws.ID, append(names, "Idle"), from, to, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		var got []string
		for _, iv := range all[n] {
			got = append(got, iv.Start.UTC().Format("01-02T15:04")+"/"+iv.End.UTC().Format("01-02T15:04"))
		}
		slices.Sort(got)
		want := busyIDs(t, db, ws.ID, n, from, to)
		if len(want) < 7 || !slices.Equal(got, want) {
			t.Errorf("%s read with the others = %v, alone = %v", n, got, want)
		}
	}
	var mill []string
	for d := 5; d < 12; d++ {
		mill = append(mill, fmt.Sprintf("11-%02dT07:00/11-%02dT09:00", d, d))
	}
	if got := busyIDs(t, db, ws.ID, "Mill", from, to); !slices.Equal(got, mill) {
		t.Errorf("Mill = %v, want %v", got, mill)
	}
	if got := busyIDs(t, db, ws.ID, "Press", from, to); len(got) != 8 || got[0] != "10-20T12:00/11-06T12:00" {
		t.Errorf("Press = %v, want the long entry and seven days", got)
	}
	if len(all["Idle"]) != 0 || len(all) != len(names) {
		t.Errorf("resources answered: %d (Idle %v)", len(all), all["Idle"])
	}
}

func TestJoinedTimesAreCut(t *testing.T) {
	got, err := appendJoinedTimes(nil, "2025-11-03 08:00:00+00:00/2025-11-03 09:30:00.25+00:00,2025-11-04 23:00:00.123456+00:00/2025-11-05 01:00:00+00:00")
	if err != nil {
		t.Fatal(err)
	}
	want := []calgate.Interval{
		{Start: time.Date(2025, 11, 3, 8, 0, 0, 0, time.UTC), End: time.Date(2025, 11, 3, 9, 30, 0, 250000000, time.UTC)},
		{Start: time.Date(2025, 11, 4, 23, 0, 0, 123456000, time.UTC), End: time.Date(2025, 11, 5, 1, 0, 0, 0, time.UTC)},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got, err := appendJoinedTimes(want[:1:1], ""); err != nil || len(got) != 1 {
		t.Fatalf("nothing joined: %v %v", got, err)
	}
	for _, bad := range []string{"2025-11-03 08:00:00+00:00", "2025-11-03 08:00:00+00:00/2025-11-03 9:00", "2025-11-03 08:00:00+00:00/2025-11-03 09:00:00+00:00,"} {
		if _, err := appendJoinedTimes(nil, bad); err == nil {
			t.Errorf("%q read without error", bad)
		}
	}
}
