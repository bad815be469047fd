package ical

import (
	"strings"
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

// writeTimes writes DTSTART and DTEND (see EventTimes): dates for all-day
// entries, local times with TZID in the entry's zone, or UTC times.
func (e *encWriter) writeTimes(en *calgate.Entry) {
	t := e.zones.times(en)
	if t.AllDay {
		e.prop("DTSTART", ";VALUE=DATE", strings.ReplaceAll(t.StartDate, "-", ""))
		e.prop("DTEND", ";VALUE=DATE", strings.ReplaceAll(t.EndDate, "-", ""))
		return
	}
	e.writeDateTime("DTSTART", t.StartZone, t.Start)
	if t.HasEnd {
		e.writeDateTime("DTEND", t.EndZone, t.End)
	}
}

// writeDateTime writes a DATE-TIME: local time with TZID, or UTC when
// tzid is empty.
func (e *encWriter) writeDateTime(prop, tzid string, t time.Time) {
	if tzid == "" {
		e.timeProp(prop, "", t.UTC(), utcLayout)
		return
	}
	e.line = append(e.line[:0], prop...)
	e.line = append(e.line, ";TZID="...)
	e.line = append(e.line, tzid...)
	e.line = append(e.line, ':')
	e.line = t.AppendFormat(e.line, localLayout)
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
