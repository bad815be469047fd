package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// modelEntry is what the model of testConflictsFollowOverlaps knows of
// one entry.
type modelEntry struct {
	ext, id    string
	start, end time.Time
	busy       bool
}

type modelKey struct{ a, b string }

// modelPairs is every double booking of the model's entries on a
// resource of capacity 1: each two busy entries that overlap (fewer than
// MaxConflictsPerEntry overlap at once, so none is left out).
func modelPairs(entries map[string]*modelEntry) map[modelKey]calgate.Interval {
	out := map[modelKey]calgate.Interval{}
	for _, x := range entries {
		for _, y := range entries {
			if !x.busy || !y.busy || x.id >= y.id {
				continue
			}
			ov := calgate.Interval{Start: x.start, End: x.end}.Intersect(calgate.Interval{Start: y.start, End: y.end})
			if !ov.Empty() {
				out[modelKey{x.id, y.id}] = ov
			}
		}
	}
	return out
}

// testConflictsFollowOverlaps writes many overlapping entries of a
// capacity-1 resource one at a time, then moves, cancels, archives and
// restores some, and after each write compares the stored conflicts, the
// write's answer and the events written with what the entries' times
// alone say: the pairs are the overlapping busy entries; a write looks at
// the pairs that meet the span the entry held and holds; an entry gets
// entry.conflicted when it is the one written and gained a partner, or
// had no conflict there and has one now (listing its conflicts there),
// and entry.conflict_resolved when it had conflicts there and has none
// left anywhere.
func testConflictsFollowOverlaps(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	const resource = "Welding"
	base := time.Date(2025, 10, 27, 6, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(19, 5))
	span := func() (time.Time, time.Time) {
		s := base.Add(time.Duration(rng.IntN(16)) * 30 * time.Minute)
		return s, s.Add(time.Duration(1+rng.IntN(6)) * 30 * time.Minute)
	}
	entries := map[string]*modelEntry{}
	byID := map[string]*modelEntry{}
	seen := 0

	conflictOf := func(other *modelEntry, iv calgate.Interval) calgate.Conflict {
		return calgate.Conflict{EntryID: other.id, Kind: calgate.KindJob, ExternalID: other.ext, Resource: resource, Start: iv.Start, End: iv.End}
	}
	// step checks one write of ext, which held old (nil when new) and
	// now is as entries say; answer is the write's own conflicts.
	step := func(what string, old *modelEntry, ext string, before map[modelKey]calgate.Interval, answer []calgate.Conflict) {
		t.Helper()
		cur := entries[ext]
		after := modelPairs(entries)
		s := calgate.Interval{Start: cur.start, End: cur.end}
		if old != nil {
			s = calgate.Interval{Start: minT(old.start, cur.start), End: maxT(old.end, cur.end)}
		}
		had := map[string]map[string]bool{}
		for k, iv := range before {
			if s.Overlaps(iv) {
				addPair(had, k.a, k.b)
				addPair(had, k.b, k.a)
			}
		}
		now := map[string][]calgate.Conflict{}
		anywhere := map[string]bool{}
		for k, iv := range after {
			anywhere[k.a], anywhere[k.b] = true, true
			if s.Overlaps(iv) {
				now[k.a] = append(now[k.a], conflictOf(byID[k.b], iv))
				now[k.b] = append(now[k.b], conflictOf(byID[k.a], iv))
			}
		}
		var want []conflictEventData
		for _, id := range slices.Sorted(mapKeys(now)) {
			calgate.SortConflicts(now[id])
			gained := len(had[id]) == 0
			for _, cf := range now[id] {
				gained = gained || (id == cur.id && !had[id][cf.EntryID])
			}
			if gained {
				want = append(want, conflictEventData{EntryID: id, Kind: calgate.KindJob, Resource: resource, Conflicts: now[id]})
			}
		}
		for _, id := range slices.Sorted(mapKeys(had)) {
			if len(now[id]) == 0 && !anywhere[id] {
				want = append(want, conflictEventData{EntryID: "resolved:" + id, Kind: calgate.KindJob, Resource: resource, Conflicts: []calgate.Conflict{}})
			}
		}
		evs := conflictEvents(t, db, ws.ID)
		if got, exp := jsonOf(t, append([]conflictEventData{}, evs[seen:]...)), jsonOf(t, append([]conflictEventData{}, want...)); got != exp {
			t.Fatalf("%s: events\n%s\nwant\n%s", what, got, exp)
		}
		seen = len(evs)
		if answer != nil {
			mine := now[cur.id]
			if mine == nil {
				mine = []calgate.Conflict{}
			}
			if got, exp := jsonOf(t, answer), jsonOf(t, mine); got != exp {
				t.Fatalf("%s: answer's conflicts\n%s\nwant\n%s", what, got, exp)
			}
		}
		var stored []string
		var cursor string
		for {
			list, next, err := db.Conflicts(ctx, ws.ID, calgate.ConflictFilter{Cursor: cursor, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range list {
				stored = append(stored, fmt.Sprintf("%s %s %s %s %s", p.Resource, p.A, p.B, p.Start.UTC().Format(time.RFC3339), p.End.UTC().Format(time.RFC3339)))
			}
			if cursor = next; cursor == "" {
				break
			}
		}
		var exp []string
		for k, iv := range after {
			exp = append(exp, fmt.Sprintf("%s %s %s %s %s", resource, k.a, k.b, iv.Start.Format(time.RFC3339), iv.End.Format(time.RFC3339)))
		}
		slices.Sort(stored)
		slices.Sort(exp)
		if !slices.Equal(stored, exp) {
			t.Fatalf("%s: stored conflicts\n%v\nwant\n%v", what, stored, exp)
		}
	}
	write := func(what, ext string, start, end time.Time, kv ...any) {
		t.Helper()
		before := modelPairs(entries)
		var old *modelEntry
		if e := entries[ext]; e != nil {
			c := *e
			old = &c
		}
		res := upsert(t, db, ws.ID, calgate.UpsertOptions{Verbose: true},
			items(booking(t, ext, resource, start.Format(time.RFC3339), end.Format(time.RFC3339), kv...))...)
		op := res.Operations[0]
		e := &modelEntry{ext: ext, id: op.ID, start: start, end: end, busy: len(kv) == 0}
		entries[ext], byID[op.ID] = e, e
		answer := op.Conflicts
		if answer == nil {
			answer = []calgate.Conflict{}
		}
		step(what, old, ext, before, answer)
	}

	const n = 14
	for i := range n {
		s, e := span()
		write(fmt.Sprintf("create J-%d", i), fmt.Sprintf("J-%d", i), s, e)
	}
	if len(modelPairs(entries)) < 2*n {
		t.Fatalf("only %d overlaps: the test needs more", len(modelPairs(entries)))
	}
	for _, i := range []int{3, 0, 11, 7, 3} {
		s, e := span()
		for s.Equal(entries[fmt.Sprintf("J-%d", i)].start) {
			s, e = span()
		}
		write(fmt.Sprintf("move J-%d", i), fmt.Sprintf("J-%d", i), s, e)
	}
	for _, i := range []int{5, 9} {
		ext := fmt.Sprintf("J-%d", i)
		write("cancel "+ext, ext, entries[ext].start, entries[ext].end, "status", "cancelled")
	}
	for _, i := range []int{2, 12} {
		ext := fmt.Sprintf("J-%d", i)
		before := modelPairs(entries)
		old := *entries[ext]
		if _, _, err := db.Mutate(ctx, ws.ID, calgate.KindJob, old.id, "tok", func(e *calgate.Entry) error {
			at := time.Now()
			e.ArchivedAt = &at
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		entries[ext].busy = false
		step("archive "+ext, &old, ext, before, nil)
	}
	// Back again: the cancelled one confirmed, the archived one restored,
	// each at a new time.
	for _, i := range []int{9, 12} {
		s, e := span()
		write(fmt.Sprintf("restore J-%d", i), fmt.Sprintf("J-%d", i), s, e)
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
