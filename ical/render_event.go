package ical

import (
	"time"

	"github.com/calgate/calgate"
)

// writeEvent writes one VEVENT.
func (e *encWriter) writeEvent(ev *Event) {
	en := ev.Entry
	e.raw("BEGIN:VEVENT")
	e.text("UID", en.ID, "@calgate")
	stamp := en.UpdatedAt
	if stamp.IsZero() {
		stamp = en.CreatedAt
	}
	if stamp.IsZero() {
		stamp = en.Start
	}
	e.timeProp("DTSTAMP", "", stamp.UTC(), utcLayout)
	if !en.CreatedAt.IsZero() {
		e.timeProp("CREATED", "", en.CreatedAt.UTC(), utcLayout)
	}
	if !en.UpdatedAt.IsZero() {
		e.timeProp("LAST-MODIFIED", "", en.UpdatedAt.UTC(), utcLayout)
	}
	e.intProp("SEQUENCE", max(en.Version, 0))
	e.writeTimes(en)
	e.prop("STATUS", "", renderStatus(en))
	summary := ev.Summary
	if summary == "" {
		summary = en.Title
	}
	if summary == "" {
		summary = DefaultTitle(en.Kind).Execute(en)
	}
	e.text("SUMMARY", summary)
	description := ev.Description
	if description == "" {
		description = en.Description
	}
	if description != "" {
		e.text("DESCRIPTION", description)
	}
	if en.Location != "" {
		e.text("LOCATION", en.Location)
	}
	e.textList("CATEGORIES", string(en.Kind), en.Resource)
	e.raw("TRANSP:OPAQUE")
	e.text("X-CALGATE-ENTRY-ID", en.ID)
	e.text("X-CALGATE-KIND", string(en.Kind))
	e.text("X-CALGATE-SOURCE", en.Source)
	e.text("X-CALGATE-EXTERNAL-ID", en.ExternalID)
	e.intProp("X-CALGATE-VERSION", en.Version)
	e.raw("END:VEVENT")
}

// writeTimes writes DTSTART and DTEND: dates for all-day entries (end
// exclusive, at least one day), local times with TZID in the entry's zone,
// or UTC times.
func (e *encWriter) writeTimes(en *calgate.Entry) {
	if en.AllDay {
		loc := e.zones.dateZone(en)
		start := en.Start.In(loc)
		end := en.End.In(loc)
		if !end.After(start) {
			end = start.AddDate(0, 0, 1)
		}
		e.timeProp("DTSTART", ";VALUE=DATE", start, dateLayout)
		e.timeProp("DTEND", ";VALUE=DATE", end, dateLayout)
		return
	}
	name, loc := e.zones.zone(en)
	e.writeDateTime("DTSTART", name, loc, en.Start)
	// RFC 5545 wants DTEND after DTSTART; without one the event is an
	// instant, which is the best reading of an end not after the start.
	if en.End.Truncate(time.Second).After(en.Start.Truncate(time.Second)) {
		e.writeDateTime("DTEND", name, loc, en.End)
	}
}

// writeDateTime writes a DATE-TIME in the named zone, or in UTC when there
// is no zone or when the wall-clock time is ambiguous: a time that happens
// twice because the clock went back. RFC 5545 reads such a time as its
// first occurrence, but clients differ (Go, pytz and ical.js all pick
// differently), while a UTC time means the same instant to every client.
func (e *encWriter) writeDateTime(prop, tzid string, loc *time.Location, t time.Time) {
	t = t.Truncate(time.Second)
	if loc == nil || ambiguousWallTime(t.In(loc)) {
		e.timeProp(prop, "", t.UTC(), utcLayout)
		return
	}
	e.line = append(e.line[:0], prop...)
	e.line = append(e.line, ";TZID="...)
	e.line = append(e.line, tzid...)
	e.line = append(e.line, ':')
	e.line = t.In(loc).AppendFormat(e.line, localLayout)
	e.flushLine()
}

// ambiguousWallTime reports whether t's wall-clock time happens twice in
// its zone: just before the offset goes back, or just after.
func ambiguousWallTime(t time.Time) bool {
	start, end := t.ZoneBounds()
	_, now := t.Zone()
	if !start.IsZero() {
		_, before := start.Add(-time.Second).Zone()
		if back := time.Duration(before-now) * time.Second; back > 0 && t.Sub(start) < back {
			return true
		}
	}
	if !end.IsZero() {
		_, after := end.Zone()
		if back := time.Duration(now-after) * time.Second; back > 0 && end.Sub(t) <= back {
			return true
		}
	}
	return false
}

func renderStatus(en *calgate.Entry) string {
	if en.Archived() {
		return "CANCELLED"
	}
	switch en.Status {
	case calgate.StatusCancelled:
		return "CANCELLED"
	case calgate.StatusTentative:
		return "TENTATIVE"
	default:
		return "CONFIRMED"
	}
}
