package calgate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Resource is something entries occupy: a room, a machine, a workstage,
// a cost centre, a person. Its Name is the value of the entries' resource
// field (resource, workstage or cost_centre). A resource is created with
// the defaults the first time an entry names it.
type Resource struct {
	ID          string `json:"id"`
	WorkspaceID string `json:"-"`
	Name        string `json:"name"`
	// Kind says what sort of thing it is ("room", "machine", …); free text.
	Kind string `json:"kind"`
	// Capacity is how many entries it carries at once (default 1).
	Capacity int `json:"capacity"`
	// Timezone is the IANA zone its working hours are read in.
	Timezone string `json:"timezone"`
	// WorkingHours, when set, limits free time to these hours; nil means
	// always open.
	WorkingHours WorkingHours `json:"working_hours"`
	// ClosedDates are local dates (YYYY-MM-DD) on which it is not open.
	ClosedDates []string `json:"closed_dates"`
	// ConflictPolicy is PolicyWarn or PolicyReject, or "" for the
	// workspace's policy.
	ConflictPolicy string    `json:"conflict_policy"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Resource limits.
const (
	MaxCapacity    = 10000
	MaxClosedDates = 1000
	maxRanges      = 10
)

// NewResource returns a resource with the defaults: capacity 1, the given
// time zone, always open, the workspace's policy.
func NewResource(workspaceID, name, timezone string) *Resource {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return &Resource{ID: NewID("res"), WorkspaceID: workspaceID, Name: name, Capacity: 1, Timezone: timezone,
		ClosedDates: []string{}, CreatedAt: now, UpdatedAt: now}
}

// Loc returns the resource's time zone, UTC when it cannot be loaded.
func (r *Resource) Loc() *time.Location {
	if loc, err := LoadZone(r.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// Validate checks every field and names each bad one.
func (r *Resource) Validate() error {
	v := &ValidationError{}
	if r.Name == "" {
		v.Add("name", "is required")
	} else {
		v.Line("name", r.Name, 255)
	}
	v.Line("kind", r.Kind, 100)
	if r.Capacity < 1 || r.Capacity > MaxCapacity {
		v.Add("capacity", "must be from 1 to %d", MaxCapacity)
	}
	if _, err := LoadZone(r.Timezone); err != nil {
		v.Add("timezone", "%v", err)
	}
	if r.ConflictPolicy != "" && !ValidPolicy(r.ConflictPolicy) {
		v.Add("conflict_policy", "must be %q or %q (empty: the workspace's)", PolicyWarn, PolicyReject)
	}
	r.WorkingHours.validate(v, "working_hours")
	if len(r.ClosedDates) > MaxClosedDates {
		v.Add("closed_dates", "at most %d dates", MaxClosedDates)
	}
	for i, d := range r.ClosedDates {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			v.Add("closed_dates["+strconv.Itoa(i)+"]", "must be a date YYYY-MM-DD")
		}
	}
	return v.Err()
}

// TimeRange is a span of local time within one day, "09:00" to "17:00";
// End may be "24:00".
type TimeRange struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// WorkingHours maps a weekday (mon, tue, wed, thu, fri, sat, sun) to its
// open ranges. A weekday that is missing is closed; a nil map is open
// around the clock.
type WorkingHours map[string][]TimeRange

var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// clock parses "HH:MM" into minutes since midnight (24:00 allowed).
func clock(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err == nil && len(s) == 5 {
		return t.Hour()*60 + t.Minute(), true
	}
	if s == "24:00" {
		return 24 * 60, true
	}
	return 0, false
}

func (w WorkingHours) validate(v *ValidationError, field string) {
	for day, ranges := range w {
		f := field + "." + day
		known := false
		for _, d := range weekdays {
			known = known || d == day
		}
		if !known {
			v.Add(f, "is not a weekday (mon, tue, wed, thu, fri, sat, sun)")
			continue
		}
		if len(ranges) > maxRanges {
			v.Add(f, "at most %d ranges a day", maxRanges)
		}
		for i, r := range ranges {
			s, ok1 := clock(r.Start)
			e, ok2 := clock(r.End)
			switch {
			case !ok1 || s == 24*60:
				v.Add(f+"["+strconv.Itoa(i)+"].start", "must be a time HH:MM")
			case !ok2:
				v.Add(f+"["+strconv.Itoa(i)+"].end", "must be a time HH:MM (24:00 for midnight)")
			case e <= s:
				v.Add(f+"["+strconv.Itoa(i)+"].end", "must be after start")
			}
		}
	}
}

// OpenIntervals returns when a resource is open within [from, to): its
// working hours read in loc on every local day (so a day of a DST change
// has its true length), less closed dates, merged and sorted.
func OpenIntervals(from, to time.Time, loc *time.Location, hours WorkingHours, closed []string) []Interval {
	if !from.Before(to) {
		return nil
	}
	var shut map[string]bool
	if len(closed) > 0 {
		shut = make(map[string]bool, len(closed))
		for _, d := range closed {
			shut[d] = true
		}
	}
	// Each weekday's ranges in minutes, read once rather than every day.
	type minutes struct{ s, e int }
	var week [7][]minutes
	for wd := range week {
		if hours == nil {
			week[wd] = []minutes{{0, 24 * 60}}
			continue
		}
		for _, r := range hours[weekdays[wd]] {
			s, ok1 := clock(r.Start)
			e, ok2 := clock(r.End)
			if ok1 && ok2 && e > s {
				week[wd] = append(week[wd], minutes{s, e})
			}
		}
	}
	window := Interval{from, to}
	var out []Interval
	var today []Interval
	first := from.In(loc)
	day := time.Date(first.Year(), first.Month(), first.Day()-1, 0, 0, 0, 0, loc)
	for ; day.Before(to); day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc) {
		if shut != nil && shut[day.Format(time.DateOnly)] {
			continue
		}
		ranges := week[day.Weekday()]
		if len(ranges) == 0 {
			continue
		}
		y, m, d := day.Date()
		today = today[:0]
		for _, r := range ranges {
			iv := Interval{
				Start: time.Date(y, m, d, r.s/60, r.s%60, 0, 0, loc),
				End:   time.Date(y, m, d, r.e/60, r.e%60, 0, 0, loc),
			}.Intersect(window)
			if !iv.Empty() {
				today = append(today, iv)
			}
		}
		if len(today) > 1 {
			slices.SortFunc(today, func(a, b Interval) int { return a.Start.Compare(b.Start) })
		}
		for _, iv := range today {
			out = appendMerged(out, iv)
		}
	}
	return out
}

// Subtract returns the parts of the sorted, disjoint intervals open not
// covered by the sorted, disjoint intervals busy.
func Subtract(open, busy []Interval) []Interval {
	out := make([]Interval, 0, len(open)+len(busy))
	j := 0
	for _, o := range open {
		cur := o
		for j < len(busy) && !busy[j].End.After(cur.Start) {
			j++
		}
		k := j
		for k < len(busy) && busy[k].Start.Before(cur.End) {
			if busy[k].Start.After(cur.Start) {
				out = append(out, Interval{cur.Start, busy[k].Start})
			}
			if busy[k].End.After(cur.Start) {
				cur.Start = busy[k].End
			}
			if !cur.Start.Before(cur.End) {
				break
			}
			k++
		}
		if cur.Start.Before(cur.End) {
			out = append(out, cur)
		}
	}
	return out
}

// AtLeast keeps the intervals that last at least d.
func AtLeast(list []Interval, d time.Duration) []Interval {
	out := make([]Interval, 0, len(list))
	for _, iv := range list {
		if iv.End.Sub(iv.Start) >= d {
			out = append(out, iv)
		}
	}
	return out
}

// FreeSlots returns the free intervals, at least d long, of a resource in
// [from, to): its open time (OpenIntervals) less its busy intervals.
func FreeSlots(r *Resource, busy []Interval, from, to time.Time, d time.Duration) []Interval {
	open := OpenIntervals(from, to, r.Loc(), r.WorkingHours, r.ClosedDates)
	return AtLeast(Subtract(open, busy), d)
}

// ResourceStore keeps the resource catalogue and the availability settings
// of each workspace. Ids and names of other workspaces give ErrNotFound.
type ResourceStore interface {
	CreateResource(ctx context.Context, r *Resource) error
	Resource(ctx context.Context, workspaceID, id string) (*Resource, error)
	ResourceByName(ctx context.Context, workspaceID, name string) (*Resource, error)
	// ResourcesByName returns the named resources that are in the
	// catalogue, by name.
	ResourcesByName(ctx context.Context, workspaceID string, names []string) (map[string]*Resource, error)
	// Resources lists resources in id order, a page after cursor (an id).
	Resources(ctx context.Context, workspaceID, cursor string, limit int) ([]*Resource, string, error)
	// UpdateResource writes every setting of r. A new name is carried into
	// every entry that named the old one, each with its event; a name
	// already taken is ErrConflict.
	UpdateResource(ctx context.Context, r *Resource, actor string) error
	DeleteResource(ctx context.Context, workspaceID, id string) error
	AvailabilitySettings(ctx context.Context, workspaceID string) (*AvailabilitySettings, error)
	SetAvailabilitySettings(ctx context.Context, workspaceID string, s *AvailabilitySettings) error
	// Conflicts lists the current double bookings.
	Conflicts(ctx context.Context, workspaceID string, f ConflictFilter) ([]ConflictPair, string, error)
	// EntryConflicts lists the current conflicts of one entry.
	EntryConflicts(ctx context.Context, workspaceID, entryID string) ([]Conflict, error)
	// BusyTimes returns, per resource name, the intervals of the entries
	// that occupy it and overlap [from, to), in no particular order.
	BusyTimes(ctx context.Context, workspaceID string, resources []string, from, to time.Time, countTentative bool) (map[string][]Interval, error)
}

// AvailabilitySettings are a workspace's double-booking rules.
type AvailabilitySettings struct {
	// ConflictPolicy applies to resources without a policy of their own.
	ConflictPolicy string `json:"conflict_policy"`
	// CountTentative makes tentative entries occupy their resource.
	CountTentative bool `json:"count_tentative"`
}

// DefaultAvailabilitySettings are the settings of a workspace that set
// none: warn, and tentative entries count.
func DefaultAvailabilitySettings() *AvailabilitySettings {
	return &AvailabilitySettings{ConflictPolicy: PolicyWarn, CountTentative: true}
}

// ConflictFilter selects current conflicts. Zero values select all.
type ConflictFilter struct {
	Resources []string
	From, To  time.Time // the overlap meets [From, To)
	// Cursor continues after a previous page; Limit caps the page.
	Cursor string
	Limit  int
}

// ParseWorkingHours reads working hours written as text, the form a
// spreadsheet column holds: day groups separated by ";", each a weekday or
// a range of weekdays followed by one or more ranges of time, such as
// "mon-fri 09:00-12:00 13:00-17:00; sat 10:00-14:00". An empty text means
// always open (nil).
func ParseWorkingHours(s string) (WorkingHours, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	bad := func(part, why string) error {
		return fmt.Errorf("%q: %s (write e.g. \"mon-fri 09:00-17:00; sat 10:00-14:00\")", part, why)
	}
	out := WorkingHours{}
	for _, group := range strings.Split(s, ";") {
		fields := strings.Fields(strings.ToLower(group))
		if len(fields) < 2 {
			return nil, bad(strings.TrimSpace(group), "a weekday and a time range are needed")
		}
		first, last, isRange := strings.Cut(fields[0], "-")
		from, to := weekdayIndex(first), weekdayIndex(last)
		if !isRange {
			to = from
		}
		if from < 0 || to < 0 {
			return nil, bad(fields[0], "not a weekday (mon, tue, wed, thu, fri, sat, sun)")
		}
		var ranges []TimeRange
		for _, f := range fields[1:] {
			start, end, ok := strings.Cut(f, "-")
			if !ok {
				return nil, bad(f, "not a time range HH:MM-HH:MM")
			}
			ranges = append(ranges, TimeRange{Start: start, End: end})
		}
		// Monday first, so that "fri-mon" wraps over the weekend.
		for i := from; ; i = (i + 1) % 7 {
			day := weekdays[(i+1)%7]
			out[day] = append(out[day], ranges...)
			if i == to {
				break
			}
		}
	}
	v := &ValidationError{}
	out.validate(v, "working_hours")
	if err := v.Err(); err != nil {
		return nil, errors.New(v.Errors[0].Field + ": " + v.Errors[0].Message)
	}
	return out, nil
}

// weekdayIndex numbers a weekday from Monday (0) to Sunday (6); -1 when it
// is none.
func weekdayIndex(s string) int {
	for i, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		if s == d {
			return i
		}
	}
	return -1
}
