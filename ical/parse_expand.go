package ical

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/calgate/calgate"
)

// expandAll turns every UID's master event and overrides into occurrences.
func (p *parser) expandAll() error {
	for _, uid := range p.uids {
		master := p.masters[uid]
		overrides := p.overrides[uid]
		var ms *parseSpan
		allDay := false
		if master != nil {
			s, err := p.span(master, nil)
			if err != nil {
				return err
			}
			ms, allDay = &s, s.start.date
		}
		// Recurrence ids of overrides, in the form the master's instances
		// use, so each replaces exactly the instance it names.
		replaced := make(map[string]*parseEvent, len(overrides))
		for _, ov := range overrides {
			key := parseRIDKey(*ov.rid, allDay || (master == nil && ov.rid.date))
			if cur := replaced[key]; cur == nil || ov.newer(cur) {
				replaced[key] = ov
			}
		}
		if master != nil {
			if err := p.expandMaster(master, *ms, replaced); err != nil {
				return err
			}
		}
		keys := make([]string, 0, len(replaced))
		for key := range replaced {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			ov := replaced[key]
			s, err := p.span(ov, ms)
			if err != nil {
				return err
			}
			if err := p.emit(p.occurrence(ov, master, s, s.start.wall, key)); err != nil {
				return err
			}
		}
	}
	return nil
}

// expandMaster emits the instances of a master event in the window,
// leaving out EXDATEs and the instances that overrides replace.
func (p *parser) expandMaster(master *parseEvent, s parseSpan, replaced map[string]*parseEvent) error {
	rule, err := p.recurrence(master, s)
	if err != nil {
		return err
	}
	rdates := master.comp.Props.Values("RDATE")
	allDay := s.start.date
	key := func(w time.Time) string {
		return parseRIDKey(parseTimeValue{wall: w, date: allDay, zone: s.start.zone}, allDay)
	}
	if rule == nil && len(rdates) == 0 {
		if replaced[key(s.start.wall)] != nil {
			return nil
		}
		return p.emit(p.occurrence(master, nil, s, s.start.wall, ""))
	}

	var walls []time.Time
	seen := map[string]bool{}
	add := func(w time.Time) {
		start := s.start.zone.at(w)
		if !p.inWindow(start, s.end(w, start)) {
			return
		}
		if k := key(w); !seen[k] {
			seen[k] = true
			walls = append(walls, w)
		}
	}
	add(s.start.wall)
	if rule != nil {
		next := rule.Iterator()
		for {
			w, ok := next()
			if !ok {
				break
			}
			p.steps++
			if p.steps > parseMaxSteps {
				return fmt.Errorf("%w: event %q: RRULE expands to more than %d instances", ErrTooManyOccurrences, master.uid, parseMaxSteps)
			}
			if !s.start.zone.at(w).Before(p.winEnd) {
				break
			}
			add(w)
		}
	}
	for _, prop := range rdates {
		values, err := p.timeValues(prop)
		if err != nil {
			return fmt.Errorf("%w: event %q: RDATE: %v", ErrMalformed, master.uid, err)
		}
		for _, v := range values {
			add(p.asWall(v, s))
		}
	}

	excluded := map[string]bool{}
	excludedDays := map[string]bool{}
	for _, prop := range master.comp.Props.Values("EXDATE") {
		values, err := p.timeValues(prop)
		if err != nil {
			return fmt.Errorf("%w: event %q: EXDATE: %v", ErrMalformed, master.uid, err)
		}
		for _, v := range values {
			if v.date && !allDay {
				excludedDays[v.wall.Format(parseDateLayout)] = true
				continue
			}
			excluded[key(p.asWall(v, s))] = true
		}
	}

	for _, w := range walls {
		k := key(w)
		if excluded[k] || excludedDays[w.Format(parseDateLayout)] || replaced[k] != nil {
			continue
		}
		if err := p.emit(p.occurrence(master, nil, s, w, k)); err != nil {
			return err
		}
	}
	return nil
}

// asWall expresses an RDATE or EXDATE value in the wall clock of the
// series it belongs to.
func (p *parser) asWall(v parseTimeValue, s parseSpan) time.Time {
	switch {
	case s.start.date && v.date:
		return v.wall
	case s.start.date:
		w := s.start.zone.wall(v.instant())
		return time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC)
	case v.date:
		sw := s.start.wall
		return time.Date(v.wall.Year(), v.wall.Month(), v.wall.Day(), sw.Hour(), sw.Minute(), sw.Second(), 0, time.UTC)
	default:
		return s.start.zone.wall(v.instant())
	}
}

// occurrence builds the occurrence of ev starting at wall-clock w. Text
// that an override leaves out is taken from its master.
func (p *parser) occurrence(ev, master *parseEvent, s parseSpan, w time.Time, rid string) Occurrence {
	start := s.start.zone.at(w)
	o := Occurrence{
		UID:          ev.uid,
		RecurrenceID: rid,
		ExternalID:   ev.uid,
		Summary:      parseEventText(ev, master, "SUMMARY"),
		Description:  parseEventText(ev, master, "DESCRIPTION"),
		Location:     parseEventText(ev, master, "LOCATION"),
		Start:        start,
		End:          s.end(w, start),
		AllDay:       s.start.date,
		Timezone:     s.start.zone.label(start),
		Cancelled:    ev.cancelled() || (master != nil && master.cancelled()),
		Transparent:  strings.EqualFold(strings.TrimSpace(parsePropValue(ev.comp, "TRANSP")), "TRANSPARENT"),
		Sequence:     ev.seq,
		LastModified: ev.lastMod,
	}
	if rid != "" {
		o.ExternalID = ev.uid + "/" + rid
	}
	return o
}

func (ev *parseEvent) cancelled() bool {
	return ev.cancelAll || strings.EqualFold(strings.TrimSpace(parsePropValue(ev.comp, "STATUS")), "CANCELLED")
}

func parseEventText(ev, master *parseEvent, name string) string {
	if prop := ev.comp.Props.Get(name); prop != nil || master == nil {
		return strings.TrimSpace(parseText(parsePropValue(ev.comp, name)))
	}
	return strings.TrimSpace(parseText(parsePropValue(master.comp, name)))
}

// inWindow reports whether [start, end) reaches into the parse window; a
// zero-length occurrence counts when its start is inside.
func (p *parser) inWindow(start, end time.Time) bool {
	if !start.Before(p.winEnd) {
		return false
	}
	if end.After(start) {
		return end.After(p.winStart)
	}
	return !start.Before(p.winStart)
}

// emit keeps an occurrence that falls in the window.
func (p *parser) emit(o Occurrence) error {
	if !p.inWindow(o.Start, o.End) {
		return nil
	}
	if len(p.out) >= MaxOccurrences {
		return fmt.Errorf("%w: more than %d in the window (event %q)", ErrTooManyOccurrences, MaxOccurrences, o.UID)
	}
	p.out = append(p.out, o)
	return nil
}

// Entry builds the calgate entry of an occurrence pulled from a subscribed
// calendar: Title is the SUMMARY (or "Busy" when the feed hides it),
// Status is cancelled or confirmed, and resource fills the kind's resource
// field. Since calgate entries must end after they start, a zero-length
// timed occurrence gets a one-minute span.
//
// Transparent occurrences are the caller's choice: the subscription
// importer skips TRANSP:TRANSPARENT events because they do not block time.
func (o Occurrence) Entry(kind calgate.Kind, resource, source string) *calgate.Entry {
	e := &calgate.Entry{
		Kind:        kind,
		Source:      source,
		ExternalID:  o.ExternalID,
		Title:       o.Summary,
		Description: o.Description,
		Location:    o.Location,
		Start:       o.Start,
		End:         o.End,
		AllDay:      o.AllDay,
		Timezone:    o.Timezone,
		Status:      calgate.StatusConfirmed,
		Resource:    resource,
	}
	if e.Title == "" {
		e.Title = "Busy"
	}
	if o.Cancelled {
		e.Status = calgate.StatusCancelled
	}
	if !e.End.After(e.Start) {
		if e.AllDay {
			e.End = e.Start.AddDate(0, 0, 1)
		} else {
			e.End = e.Start.Add(time.Minute)
		}
	}
	return e
}
