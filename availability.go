package calgate

import (
	"errors"
	"sort"
	"strconv"
	"time"
)

// Availability limits.
const (
	// MaxAvailabilityWindow bounds from..to of an availability question.
	MaxAvailabilityWindow = 92 * 24 * time.Hour
	// MaxAvailabilityResources bounds the resources of one question.
	MaxAvailabilityResources = 200
	// MaxSlots bounds the slots one query answers.
	MaxSlots = 10000
)

// ParseISODuration reads an ISO 8601 duration of weeks, days, hours,
// minutes and seconds (PT2H, PT90M, P1DT12H, P1W); a day is 24 hours.
// Years and months, whose length varies, are refused.
func ParseISODuration(s string) (time.Duration, error) {
	bad := errors.New("must be an ISO 8601 duration such as PT2H, PT30M or P1D")
	if len(s) < 3 || s[0] != 'P' {
		return 0, bad
	}
	var total time.Duration
	inTime := false
	num := ""
	seen := false
	rank := -1 // units come in order: W, D, then H, M, S, each once
	for _, c := range s[1:] {
		switch {
		case c >= '0' && c <= '9':
			num += string(c)
			continue
		case c == 'T' && !inTime && num == "":
			inTime = true
			continue
		}
		if num == "" || len(num) > 9 {
			return 0, bad
		}
		n, _ := strconv.Atoi(num)
		var unit time.Duration
		var r int
		switch {
		case !inTime && c == 'W':
			unit, r = 7*24*time.Hour, 0
		case !inTime && c == 'D':
			unit, r = 24*time.Hour, 1
		case inTime && c == 'H':
			unit, r = time.Hour, 2
		case inTime && c == 'M':
			unit, r = time.Minute, 3
		case inTime && c == 'S':
			unit, r = time.Second, 4
		default:
			return 0, bad
		}
		if r <= rank {
			return 0, bad
		}
		rank = r
		total += time.Duration(n) * unit
		num, seen = "", true
	}
	if num != "" || !seen || (inTime && rank < 2) {
		return 0, bad
	}
	return total, nil
}

// Slot is an interval in which a set of resources is free at once.
type Slot struct {
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Resources []string  `json:"resources"`
}

// CommonSlots answers "when are n of these resources free at once": every
// interval of length d starting at from, from+step, … that ends by to, in
// which at least n of the resources are free throughout, with the names of
// all that are. free maps each name to its sorted, disjoint free
// intervals; names fixes the order of the answer. With n equal to the
// number of names it is "all of them". ok is false when more than
// MaxSlots slots would be answered.
func CommonSlots(names []string, free map[string][]Interval, from, to time.Time, d, step time.Duration, n int) (slots []Slot, ok bool) {
	slots = []Slot{}
	if d <= 0 || step <= 0 {
		return slots, true
	}
	for t := from; !t.Add(d).After(to); t = t.Add(step) {
		want := Interval{t, t.Add(d)}
		var who []string
		for _, name := range names {
			if covers(free[name], want) {
				who = append(who, name)
			}
		}
		if len(who) >= n && len(who) > 0 {
			if len(slots) == MaxSlots {
				return slots, false
			}
			slots = append(slots, Slot{Start: want.Start, End: want.End, Resources: who})
		}
	}
	return slots, true
}

// covers reports whether one of the sorted, disjoint intervals of list
// holds iv whole.
func covers(list []Interval, iv Interval) bool {
	i := sort.Search(len(list), func(i int) bool { return list[i].End.After(iv.Start) })
	return i < len(list) && !list[i].Start.After(iv.Start) && !list[i].End.Before(iv.End)
}

// ResourceAvailability is the answer for one resource: when it is fully
// taken and when it is free, within a window.
type ResourceAvailability struct {
	Resource *Resource
	Busy     []Interval
	Free     []Interval
}

// Availability works out a resource's busy intervals (at least capacity
// of the busy entries under way; times holds each busy entry's interval)
// and its free intervals at least d long (open by its working hours and
// not busy) within [from, to).
func Availability(r *Resource, times []Interval, from, to time.Time, d time.Duration) ResourceAvailability {
	window := Interval{from, to}
	taken := FullyTaken(times, r.Capacity)
	busy := make([]Interval, 0, len(taken))
	for _, iv := range taken {
		if iv = iv.Intersect(window); !iv.Empty() {
			busy = append(busy, iv)
		}
	}
	return ResourceAvailability{Resource: r, Busy: busy, Free: FreeSlots(r, busy, from, to, d)}
}
