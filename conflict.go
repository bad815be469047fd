package calgate

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Interval is a half-open span of time [Start, End): an interval that ends
// when another starts does not overlap it.
type Interval struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Overlaps reports whether a and b share an instant.
func (a Interval) Overlaps(b Interval) bool {
	return a.Start.Before(b.End) && b.Start.Before(a.End)
}

// Intersect returns the common part of a and b (empty when they do not
// overlap).
func (a Interval) Intersect(b Interval) Interval {
	out := Interval{Start: maxTime(a.Start, b.Start), End: minTime(a.End, b.End)}
	if !out.Start.Before(out.End) {
		return Interval{}
	}
	return out
}

// Empty reports whether the interval holds no instant.
func (a Interval) Empty() bool { return !a.Start.Before(a.End) }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Conflict policies: what a write does when it overbooks a resource.
const (
	// PolicyWarn accepts the write and reports the conflict (the default).
	PolicyWarn = "warn"
	// PolicyReject refuses the write (409, or a failed bulk item).
	PolicyReject = "reject"
)

// ValidPolicy reports whether p names a conflict policy.
func ValidPolicy(p string) bool { return p == PolicyWarn || p == PolicyReject }

// CountsAsBusy reports whether e occupies its resource: cancelled and
// archived entries never do, tentative ones only when countTentative, and
// an entry without a resource occupies nothing.
func CountsAsBusy(e *Entry, countTentative bool) bool {
	if e == nil || e.Archived() || e.Status == StatusCancelled || e.Resource == "" || !e.Start.Before(e.End) {
		return false
	}
	return e.Status != StatusTentative || countTentative
}

// ConflictPair is one double booking: two entries of one resource that
// overlap while the resource carries more entries than its capacity. A is
// the smaller id; Start and End are the two entries' overlap.
type ConflictPair struct {
	Resource string    `json:"resource"`
	A        string    `json:"-"`
	B        string    `json:"-"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

// overCapacity returns the merged intervals in which more than capacity of
// the times (entries' intervals) are under way at once. Ends sort before
// starts at the same instant, so an entry that ends when another starts
// does not overlap it.
func overCapacity(times []Interval, capacity int) []Interval {
	type edge struct {
		at    time.Time
		delta int
	}
	edges := make([]edge, 0, 2*len(times))
	for _, e := range times {
		edges = append(edges, edge{e.Start, 1}, edge{e.End, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	var out []Interval
	n := 0
	var since time.Time
	for _, ed := range edges {
		before := n
		n += ed.delta
		switch {
		case before <= capacity && n > capacity:
			since = ed.at
		case before > capacity && n <= capacity:
			if out == nil {
				// At most one interval an entry: allocated once.
				out = make([]Interval, 0, len(times))
			}
			out = appendMerged(out, Interval{since, ed.at})
		}
	}
	return out
}

// timesOf returns the entries' intervals.
func timesOf(entries []*Entry) []Interval {
	out := make([]Interval, len(entries))
	for i, e := range entries {
		out[i] = Interval{e.Start, e.End}
	}
	return out
}

// appendMerged appends iv to a sorted list, joining it to the last
// interval when they touch or overlap.
func appendMerged(list []Interval, iv Interval) []Interval {
	if iv.Empty() {
		return list
	}
	if k := len(list); k > 0 && !iv.Start.After(list[k-1].End) {
		if iv.End.After(list[k-1].End) {
			list[k-1].End = iv.End
		}
		return list
	}
	return append(list, iv)
}

// touches reports whether iv overlaps one of the sorted, disjoint
// intervals of list.
func touches(list []Interval, iv Interval) bool {
	i := sort.Search(len(list), func(i int) bool { return list[i].End.After(iv.Start) })
	return i < len(list) && list[i].Start.Before(iv.End)
}

// MaxConflictsPerEntry bounds the conflicts each entry brings into the
// conflicts kept: a resource booked a thousand times over at once would
// otherwise hold half a million pairs. Every entry keeps its earliest
// conflicts (by the other's start, then id), so that no double booking
// goes unreported however crowded its time; an entry can be in more pairs
// when it is among the earliest conflicts of many others (a week-long
// block under sixty jobs is in sixty).
const MaxConflictsPerEntry = 50

// ConflictPairs finds the double bookings among the entries of one
// resource of the given capacity (at least 1). The entries must be the
// ones that count as busy (CountsAsBusy). A pair conflicts when the two
// overlap and, somewhere in their overlap, more than capacity entries are
// under way. A pair is kept when it is among the first
// MaxConflictsPerEntry conflicts of either of its entries. Pairs come
// sorted by A, then B.
func ConflictPairs(resource string, entries []*Entry, capacity int) []ConflictPair {
	capacity = max(capacity, 1)
	if len(entries) <= capacity {
		return nil
	}
	over := overCapacity(timesOf(entries), capacity)
	if len(over) == 0 {
		return nil
	}
	sorted := slices.Clone(entries)
	sort.Slice(sorted, func(i, j int) bool {
		if !sorted[i].Start.Equal(sorted[j].Start) {
			return sorted[i].Start.Before(sorted[j].Start)
		}
		return sorted[i].ID < sorted[j].ID
	})
	var out []ConflictPair
	type key struct{ a, b string }
	kept := map[key]bool{}
	// active holds the entries that started before e and are still under
	// way when it starts, in the sorted order.
	var active []*Entry
	for i, e := range sorted {
		active = slices.DeleteFunc(active, func(a *Entry) bool { return !a.End.After(e.Start) })
		n := 0
		// take records e's conflict with o, if they conflict, and says
		// whether e may have more.
		take := func(o *Entry) bool {
			ov := Interval{o.Start, o.End}.Intersect(Interval{e.Start, e.End})
			if ov.Empty() || !touches(over, ov) {
				return true
			}
			n++
			p := ConflictPair{Resource: resource, A: o.ID, B: e.ID, Start: ov.Start, End: ov.End}
			if p.B < p.A {
				p.A, p.B = p.B, p.A
			}
			if k := (key{p.A, p.B}); !kept[k] {
				kept[k] = true
				out = append(out, p)
			}
			return n < MaxConflictsPerEntry
		}
		// e's overlaps in the sorted order: those under way when it
		// starts, then those that start before it ends.
		more := true
		for _, a := range active {
			if more = take(a); !more {
				break
			}
		}
		for j := i + 1; more && j < len(sorted) && sorted[j].Start.Before(e.End); j++ {
			more = take(sorted[j])
		}
		active = append(active, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].A != out[j].A {
			return out[i].A < out[j].A
		}
		return out[i].B < out[j].B
	})
	return out
}

// Conflict is one entry a write overlaps beyond the resource's capacity,
// as a write's answer and a 409 name it.
type Conflict struct {
	EntryID    string    `json:"entry_id"`
	Kind       Kind      `json:"kind,omitempty"`
	ExternalID string    `json:"external_id,omitempty"`
	Resource   string    `json:"resource"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
}

// ConflictsOf lists the entries among others that e would overlap beyond
// capacity. others are the busy entries of e's resource (e itself, by id,
// is skipped). Only entries that overlap e can matter, so the check is
// exact whatever else others holds.
func ConflictsOf(e *Entry, others []*Entry, capacity int) []Conflict {
	span := Interval{e.Start, e.End}
	near := []*Entry{e}
	for _, o := range others {
		if o.ID != e.ID && span.Overlaps(Interval{o.Start, o.End}) {
			near = append(near, o)
		}
	}
	byID := make(map[string]*Entry, len(near))
	for _, o := range near {
		byID[o.ID] = o
	}
	var out []Conflict
	for _, p := range ConflictPairs(e.Resource, near, capacity) {
		other := p.A
		switch e.ID {
		case p.A:
			other = p.B
		case p.B:
		default:
			continue
		}
		o := byID[other]
		out = append(out, Conflict{EntryID: o.ID, Kind: o.Kind, ExternalID: o.ExternalID, Resource: e.Resource, Start: p.Start, End: p.End})
	}
	SortConflicts(out)
	return out
}

// ConflictError refuses a write that would double-book a resource whose
// policy is reject. It is an ErrConflict.
type ConflictError struct {
	Resource  string
	Conflicts []Conflict
}

func (e *ConflictError) Error() string {
	ids := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		ids[i] = c.EntryID
	}
	return fmt.Sprintf("double booking: %q is taken by %s", e.Resource, strings.Join(ids, ", "))
}

// Is makes a ConflictError match ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// BusyIntervals returns when a resource of the given capacity is fully
// taken: the merged intervals in which at least capacity of the busy
// entries are under way.
func BusyIntervals(entries []*Entry, capacity int) []Interval {
	return FullyTaken(timesOf(entries), capacity)
}

// FullyTaken is BusyIntervals on the times of the busy entries: the
// merged intervals in which at least capacity of them are under way.
func FullyTaken(times []Interval, capacity int) []Interval {
	return overCapacity(times, max(capacity, 1)-1)
}

// SortConflicts orders conflicts by the start of the overlap, then by the
// other entry's kind, external id and id: the order answers give them in.
func SortConflicts(list []Conflict) {
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		switch {
		case !a.Start.Equal(b.Start):
			return a.Start.Before(b.Start)
		case !a.End.Equal(b.End):
			return a.End.Before(b.End)
		case a.Kind != b.Kind:
			return a.Kind < b.Kind
		case a.ExternalID != b.ExternalID:
			return a.ExternalID < b.ExternalID
		}
		return a.EntryID < b.EntryID
	})
}
