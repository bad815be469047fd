package ical

import (
	"time"

	"github.com/calgate/calgate"
)

// EventTimes are an entry's start and end as calendars receive them, by
// the rules of the feeds' DTSTART and DTEND, so that a live calendar shows
// an entry exactly as a subscribed feed does.
type EventTimes struct {
	// AllDay entries have dates, StartDate and EndDate ("2006-01-02"),
	// read in the entry's zone; the end is exclusive and at least a day
	// after the start.
	AllDay    bool
	StartDate string
	EndDate   string
	// Timed entries have Start and End, whole seconds, each in the
	// location it is written in: the entry's zone, whose IANA name is
	// StartZone or EndZone, or UTC (the zone "") when the entry has no
	// loadable zone other than UTC or when the wall-clock time happens
	// twice (the hour the clocks go back).
	Start     time.Time
	End       time.Time
	StartZone string
	EndZone   string
	// HasEnd is false when the end is not after the start: feeds write no
	// DTEND then, and End equals Start.
	HasEnd bool
}

// Times returns an entry's times as calendars receive them.
func Times(e *calgate.Entry) EventTimes {
	return renderZones{}.times(e)
}

func (z renderZones) times(en *calgate.Entry) EventTimes {
	if en.AllDay {
		loc := z.dateZone(en)
		start := en.Start.In(loc)
		end := en.End.In(loc)
		if !end.After(start) {
			end = start.AddDate(0, 0, 1)
		}
		return EventTimes{AllDay: true, StartDate: start.Format("2006-01-02"), EndDate: end.Format("2006-01-02"), HasEnd: true}
	}
	name, loc := z.zone(en)
	t := EventTimes{}
	t.Start, t.StartZone = wallTime(name, loc, en.Start)
	// RFC 5545 wants DTEND after DTSTART; without one the event is an
	// instant, which is the best reading of an end not after the start.
	if en.End.Truncate(time.Second).After(en.Start.Truncate(time.Second)) {
		t.End, t.EndZone = wallTime(name, loc, en.End)
		t.HasEnd = true
	} else {
		t.End, t.EndZone = t.Start, t.StartZone
	}
	return t
}

// wallTime returns t in the named zone, or in UTC (zone "") when there is
// no zone or when the wall-clock time is ambiguous: a time that happens
// twice because the clock went back. RFC 5545 reads such a time as its
// first occurrence, but clients differ (Go, pytz and ical.js all pick
// differently), while a UTC time means the same instant to every client.
func wallTime(name string, loc *time.Location, t time.Time) (time.Time, string) {
	t = t.Truncate(time.Second)
	if loc == nil || ambiguousWallTime(t.In(loc)) {
		return t.UTC(), ""
	}
	return t.In(loc), name
}
