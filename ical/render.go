package ical

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/calgate/calgate"
)

// ProdID is the PRODID every rendered calendar carries.
const ProdID = "-//calgate//calgate//EN"

// MethodPublish is the METHOD of published feeds (RFC 5546).
const MethodPublish = "PUBLISH"

// DefaultRefresh is how often subscribers are asked to poll a feed when
// Calendar.Refresh is not set.
const DefaultRefresh = time.Hour

const (
	utcLayout   = "20060102T150405Z"
	localLayout = "20060102T150405"
	dateLayout  = "20060102"
)

// Calendar holds the calendar-level properties of a rendered document.
type Calendar struct {
	// Name is the calendar's display name (X-WR-CALNAME); none when empty.
	Name string
	// Timezone is the calendar's default IANA time zone (X-WR-TIMEZONE);
	// none when empty. Events carry their own zones either way.
	Timezone string
	// Refresh is how often subscribers should poll (REFRESH-INTERVAL and
	// X-PUBLISHED-TTL); DefaultRefresh when zero or negative. It is written
	// only for documents with a Method.
	Refresh time.Duration
	// Method is MethodPublish for feeds and "" for CalDAV objects, which
	// must not carry a METHOD (RFC 4791, section 4.1).
	Method string
}

// Event is one entry to render with its already rendered texts.
type Event struct {
	Entry *calgate.Entry
	// Summary is the event's title; when empty, the entry's title, then
	// the kind's DefaultTitle.
	Summary string
	// Description is the event's description; when empty, the entry's.
	Description string
}

// Render writes a whole calendar (a feed) with one VEVENT per event, in
// the order given, preceded by one VTIMEZONE per time zone the timed events
// use. The output is streamed through a buffer and is the same bytes for
// the same input.
func Render(w io.Writer, cal Calendar, events []Event) error {
	enc := newEncWriter(w)
	zones, err := enc.zones.collect(events)
	if err != nil {
		return err
	}
	enc.writeCalendarStart(cal)
	for _, z := range zones {
		enc.writeVTimezone(z)
	}
	for i := range events {
		enc.writeEvent(&events[i])
		if enc.err != nil {
			break
		}
	}
	enc.raw("END:VCALENDAR")
	if err := enc.flush(); err != nil {
		return fmt.Errorf("ical: render calendar: %w", err)
	}
	return nil
}

// RenderEntry writes one VCALENDAR holding one VEVENT: an "add to calendar"
// download or a CalDAV calendar object (with cal.Method "").
func RenderEntry(w io.Writer, cal Calendar, ev Event) error {
	return Render(w, cal, []Event{ev})
}

// collect checks the events and returns the time zones their timed
// entries use, sorted by name, with the years each must cover.
func (zc renderZones) collect(events []Event) ([]*zoneUse, error) {
	byName := map[string]*zoneUse{}
	for i := range events {
		e := events[i].Entry
		if e == nil {
			return nil, fmt.Errorf("ical: event %d has no entry", i)
		}
		if e.ID == "" {
			return nil, fmt.Errorf("ical: event %d (%s/%s) has no id", i, e.Source, e.ExternalID)
		}
		if e.AllDay {
			continue
		}
		name, loc := zc.zone(e)
		if loc == nil {
			continue
		}
		z := byName[name]
		if z == nil {
			y := e.Start.In(loc).Year()
			z = &zoneUse{name: name, loc: loc, fromYear: y, toYear: y}
			byName[name] = z
		}
		z.cover(e.Start)
		z.cover(e.End)
	}
	zones := make([]*zoneUse, 0, len(byName))
	for _, z := range byName {
		zones = append(zones, z)
	}
	sort.Slice(zones, func(i, j int) bool { return zones[i].name < zones[j].name })
	return zones, nil
}

// renderZones caches the time zones of one rendering by entry time zone
// name, since loading a zone reads the zone database.
type renderZones map[string]*time.Location

// zone returns the TZID and location of a timed entry, or a nil location
// when its times are written in UTC (UTC itself, or a zone that cannot be
// loaded).
func (z renderZones) zone(e *calgate.Entry) (string, *time.Location) {
	switch e.Timezone {
	case "", "UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu":
		return "", nil
	}
	loc, ok := z[e.Timezone]
	if !ok {
		loc, _ = calgate.LoadZone(e.Timezone)
		z[e.Timezone] = loc
	}
	if loc == nil {
		return "", nil
	}
	return loc.String(), loc
}

// dateZone returns the zone in which an all-day entry's dates are read.
func (z renderZones) dateZone(e *calgate.Entry) *time.Location {
	if _, loc := z.zone(e); loc != nil {
		return loc
	}
	return time.UTC
}

func (e *encWriter) writeCalendarStart(cal Calendar) {
	e.raw("BEGIN:VCALENDAR")
	e.raw("VERSION:2.0")
	e.raw("PRODID:" + ProdID)
	e.raw("CALSCALE:GREGORIAN")
	if cal.Method != "" {
		e.text("METHOD", cal.Method)
	}
	if cal.Name != "" {
		e.text("X-WR-CALNAME", cal.Name)
	}
	if cal.Timezone != "" {
		e.text("X-WR-TIMEZONE", cal.Timezone)
	}
	if cal.Method != "" {
		refresh := cal.Refresh
		if refresh <= 0 {
			refresh = DefaultRefresh
		}
		d := formatDuration(refresh)
		e.prop("REFRESH-INTERVAL", ";VALUE=DURATION", d)
		e.prop("X-PUBLISHED-TTL", "", d)
	}
}

// formatDuration renders a positive duration as an RFC 5545 DURATION,
// rounded to whole seconds (at least one).
func formatDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s < 1 {
		s = 1
	}
	if s%86400 == 0 {
		return "P" + strconv.FormatInt(s/86400, 10) + "D"
	}
	out := "PT"
	if h := s / 3600; h > 0 {
		out += strconv.FormatInt(h, 10) + "H"
	}
	if m := s / 60 % 60; m > 0 {
		out += strconv.FormatInt(m, 10) + "M"
	}
	if sec := s % 60; sec > 0 {
		out += strconv.FormatInt(sec, 10) + "S"
	}
	return out
}
