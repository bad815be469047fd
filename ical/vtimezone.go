package ical

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// zoneUse records a time zone used by timed events and the range of local
// years those events cover.
type zoneUse struct {
	name     string
	loc      *time.Location
	fromYear int
	toYear   int
}

func (z *zoneUse) cover(t time.Time) {
	y := t.In(z.loc).Year()
	if y < z.fromYear {
		z.fromYear = y
	}
	if y > z.toYear {
		z.toYear = y
	}
}

// encTransition is one change of a zone's offset, name or daylight flag.
type encTransition struct {
	at       time.Time // the instant of the change
	from, to int       // UTC offsets in seconds before and after
	name     string    // abbreviation after the change
	dst      bool      // daylight saving time after the change
}

// onset is the local time, in the offset before the change, at which the
// transition happens: the DTSTART of its observance.
func (t encTransition) onset() time.Time {
	return t.at.UTC().Add(time.Duration(t.from) * time.Second)
}

// maxZoneTransitions bounds the walk through a zone's history, whatever
// years the entries name.
const maxZoneTransitions = 20000

// zoneTransitions walks the zone's transitions with time.Time.ZoneBounds:
// the one in effect on the first of January of fromYear, then every later
// one up to and including the year after toYear (the extra year shows
// whether the last rule goes on). A first of January before the zone's
// first change gets an onset of its own that day. A zone that never
// changed yields nil.
func zoneTransitions(loc *time.Location, fromYear, toYear int) []encTransition {
	cur := time.Date(fromYear, time.January, 1, 0, 0, 0, 0, loc)
	var out []encTransition
	start, end := cur.ZoneBounds()
	switch {
	case start.IsZero() && end.IsZero():
		return nil
	case start.IsZero():
		// The first of January lies in the zone's first period (local
		// mean time, mostly), which has no onset of its own: it gets one
		// on that day, so that every year has an observance.
		name, off := cur.Zone()
		out = append(out, encTransition{at: cur, from: off, to: off, name: name, dst: cur.IsDST()})
		cur = end
	default:
		cur = start
	}
	for len(out) < maxZoneTransitions {
		name, off := cur.Zone()
		_, prev := cur.Add(-time.Second).Zone()
		tr := encTransition{at: cur, from: prev, to: off, name: name, dst: cur.IsDST()}
		if n := len(out); n == 0 || tr.from != tr.to || tr.name != out[n-1].name || tr.dst != out[n-1].dst {
			out = append(out, tr)
		}
		_, end := cur.ZoneBounds()
		if end.IsZero() || !end.After(cur) || end.Year() > toYear+1 {
			break
		}
		cur = end
	}
	return out
}

// observance is one STANDARD or DAYLIGHT component: a single transition, or
// a yearly rule covering transitions of consecutive years.
type observance struct {
	first    encTransition
	last     encTransition
	count    int
	month    time.Month
	weekday  time.Weekday
	nth      int  // week of the month of every transition, when nthOK
	nthOK    bool // every transition falls on the nth weekday
	lastOK   bool // every transition falls on the last weekday of its month
	year     int  // local year of the last transition
	clock    int  // seconds after local midnight of the onset
	ruleable bool // the transitions have month, weekday and clock in common
}

// ruleKey groups transitions that may share one RRULE.
type ruleKey struct {
	dst      bool
	from, to int
	name     string
	month    time.Month
	weekday  time.Weekday
	clock    int
}

func transitionKey(t encTransition) (ruleKey, int, bool) {
	on := t.onset()
	nth := (on.Day()-1)/7 + 1
	last := on.Day()+7 > daysIn(on.Month(), on.Year())
	clock := on.Hour()*3600 + on.Minute()*60 + on.Second()
	return ruleKey{dst: t.dst, from: t.from, to: t.to, name: t.name, month: on.Month(), weekday: on.Weekday(), clock: clock}, nth, last
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// observances groups transitions into components. Transitions of the same
// kind in consecutive years that fall on the same weekday of the same week
// (or the last week) of the same month at the same local time become one
// component with a yearly RRULE; every other transition stands alone.
// Transitions of the year after toYear only tell whether a rule goes on.
func observances(trs []encTransition, toYear int) []*observance {
	open := map[ruleKey]*observance{}
	var all []*observance
	for _, t := range trs {
		key, nth, last := transitionKey(t)
		year := t.onset().Year()
		if o := open[key]; o != nil && o.year == year-1 && ((o.nthOK && o.nth == nth) || (o.lastOK && last)) {
			o.nthOK = o.nthOK && o.nth == nth
			o.lastOK = o.lastOK && last
			o.last, o.year = t, year
			o.count++
			continue
		}
		if year > toYear {
			continue
		}
		o := &observance{first: t, last: t, count: 1, month: key.month, weekday: key.weekday,
			nth: nth, nthOK: true, lastOK: last, year: year, clock: key.clock}
		open[key] = o
		all = append(all, o)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].first.at.Before(all[j].first.at) })
	return all
}

var weekdayCodes = [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

// rrule returns the observance's yearly rule, or "" for a single onset. A
// rule that reaches past toYear runs on without UNTIL.
func (o *observance) rrule(toYear int) string {
	if o.count < 2 {
		return ""
	}
	// A last-week rule is preferred: "the fourth Sunday" of a few years is
	// often "the last Sunday", and the last-week rule is what zones use.
	week := o.nth
	if o.lastOK {
		week = -1
	}
	r := "FREQ=YEARLY;BYMONTH=" + strconv.Itoa(int(o.month)) + ";BYDAY=" + strconv.Itoa(week) + weekdayCodes[o.weekday]
	if o.year <= toYear {
		r += ";UNTIL=" + o.last.at.UTC().Format(utcLayout)
	}
	return r
}

// writeVTimezone writes the VTIMEZONE for z: its STANDARD and DAYLIGHT
// observances over the years z covers. A zone that never changes gets one
// STANDARD observance.
func (e *encWriter) writeVTimezone(z *zoneUse) {
	e.raw("BEGIN:VTIMEZONE")
	e.text("TZID", z.name)
	trs := zoneTransitions(z.loc, z.fromYear, z.toYear)
	if len(trs) == 0 {
		name, off := time.Date(z.fromYear, time.January, 1, 0, 0, 0, 0, z.loc).Zone()
		e.raw("BEGIN:STANDARD")
		// The onset must not come after the entries it covers.
		e.prop("DTSTART", "", fmt.Sprintf("%04d0101T000000", min(z.fromYear, 1970)))
		e.prop("TZOFFSETFROM", "", formatOffset(off))
		e.prop("TZOFFSETTO", "", formatOffset(off))
		e.text("TZNAME", name)
		e.raw("END:STANDARD")
	}
	for _, o := range observances(trs, z.toYear) {
		kind := "STANDARD"
		if o.first.dst {
			kind = "DAYLIGHT"
		}
		e.raw("BEGIN:" + kind)
		e.prop("DTSTART", "", o.first.onset().Format(localLayout))
		if r := o.rrule(z.toYear); r != "" {
			e.prop("RRULE", "", r)
		}
		e.prop("TZOFFSETFROM", "", formatOffset(o.first.from))
		e.prop("TZOFFSETTO", "", formatOffset(o.first.to))
		e.text("TZNAME", o.first.name)
		e.raw("END:" + kind)
	}
	e.raw("END:VTIMEZONE")
}

// formatOffset renders a UTC offset as RFC 5545 UTC-OFFSET: ±HHMM, or
// ±HHMMSS when seconds are not zero.
func formatOffset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign = '-'
		sec = -sec
	}
	if sec%60 != 0 {
		return fmt.Sprintf("%c%02d%02d%02d", sign, sec/3600, sec/60%60, sec%60)
	}
	return fmt.Sprintf("%c%02d%02d", sign, sec/3600, sec/60%60)
}
