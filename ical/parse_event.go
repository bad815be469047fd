package ical

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// parser holds the state of one Parse call.
type parser struct {
	winStart, winEnd time.Time
	floating         parseZone
	vtimezones       map[string]*goical.Component
	zones            map[string]parseZone

	uids      []string // in document order
	masters   map[string]*parseEvent
	overrides map[string]map[string]*parseEvent
	pos       int

	steps int
	out   []Occurrence
}

// parseEvent is one VEVENT with what is needed to pick among duplicates.
type parseEvent struct {
	comp      *goical.Component
	uid       string
	rid       *parseTimeValue // RECURRENCE-ID of an override
	cancelAll bool            // METHOD:CANCEL on its calendar
	seq       int
	lastMod   time.Time
	pos       int
}

func newParser(cals []*goical.Calendar, opts ParseOptions) (*parser, error) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	horizon := opts.Horizon
	if horizon <= 0 {
		horizon = DefaultHorizon
	}
	p := &parser{
		winStart:   now.Add(-PastWindow),
		winEnd:     now.Add(horizon),
		vtimezones: map[string]*goical.Component{},
		zones:      map[string]parseZone{},
		masters:    map[string]*parseEvent{},
		overrides:  map[string]map[string]*parseEvent{},
		floating:   parseZone{name: "UTC", loc: time.UTC},
	}
	if opts.DefaultTZ != "" {
		loc, name, ok := parseLoadIANA(opts.DefaultTZ)
		if !ok {
			return nil, fmt.Errorf("ical: parse: default time zone %q is not an IANA name", opts.DefaultTZ)
		}
		p.floating = parseZone{name: name, loc: loc}
	}
	for _, cal := range cals {
		if z, ok := parseZoneNamed(parsePropValue(cal.Component, "X-WR-TIMEZONE")); ok {
			p.floating = z
			break
		}
	}
	return p, nil
}

// collect files the VTIMEZONEs and VEVENTs of a calendar.
func (p *parser) collect(cal *goical.Calendar) error {
	cancelAll := strings.EqualFold(strings.TrimSpace(parsePropValue(cal.Component, "METHOD")), "CANCEL")
	for _, child := range cal.Children {
		if child.Name == goical.CompTimezone {
			if tzid := parsePropValue(child, "TZID"); tzid != "" {
				p.vtimezones[tzid] = child
			}
		}
	}
	for _, child := range cal.Children {
		if child.Name != goical.CompEvent {
			continue
		}
		if err := p.collectEvent(child, cancelAll); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) collectEvent(comp *goical.Component, cancelAll bool) error {
	p.pos++
	ev := &parseEvent{comp: comp, cancelAll: cancelAll, pos: p.pos}
	ev.uid = strings.TrimSpace(parsePropValue(comp, "UID"))
	if ev.uid == "" {
		sum := sha256.Sum256([]byte(parsePropValue(comp, "DTSTART") + "\n" + parsePropValue(comp, "SUMMARY")))
		ev.uid = hex.EncodeToString(sum[:10]) + "@uid.invalid"
	}
	ev.seq, _ = strconv.Atoi(strings.TrimSpace(parsePropValue(comp, "SEQUENCE")))
	if prop := comp.Props.Get("LAST-MODIFIED"); prop != nil {
		if v, err := p.timeValue(*prop, strings.TrimSpace(prop.Value)); err == nil {
			ev.lastMod = v.instant().UTC()
		}
	}
	if _, seen := p.masters[ev.uid]; !seen {
		if _, seen := p.overrides[ev.uid]; !seen {
			p.uids = append(p.uids, ev.uid)
		}
	}
	prop := comp.Props.Get("RECURRENCE-ID")
	if prop == nil {
		if cur := p.masters[ev.uid]; cur == nil || ev.newer(cur) {
			p.masters[ev.uid] = ev
		}
		return nil
	}
	rid, err := p.timeValue(*prop, strings.TrimSpace(prop.Value))
	if err != nil {
		return fmt.Errorf("%w: event %q: RECURRENCE-ID: %v", ErrMalformed, ev.uid, err)
	}
	ev.rid = &rid
	byRID := p.overrides[ev.uid]
	if byRID == nil {
		byRID = map[string]*parseEvent{}
		p.overrides[ev.uid] = byRID
	}
	key := parseRIDKey(rid, rid.date)
	if cur := byRID[key]; cur == nil || ev.newer(cur) {
		byRID[key] = ev
	}
	return nil
}

// newer reports whether ev supersedes cur: higher SEQUENCE, then later
// LAST-MODIFIED, then later in the document.
func (ev *parseEvent) newer(cur *parseEvent) bool {
	if ev.seq != cur.seq {
		return ev.seq > cur.seq
	}
	if !ev.lastMod.Equal(cur.lastMod) {
		return ev.lastMod.After(cur.lastMod)
	}
	return ev.pos > cur.pos
}

// parseRIDKey formats a recurrence id: the date for all-day series, the
// instant in UTC otherwise.
func parseRIDKey(v parseTimeValue, allDay bool) string {
	if allDay {
		return v.wall.Format(parseDateLayout)
	}
	return v.instant().UTC().Format(parseUTCLayout)
}

// parseSpan is an event's start and how long it lasts.
type parseSpan struct {
	start parseTimeValue
	dur   time.Duration // timed events
	days  int           // all-day events
}

// end returns the end instant of an instance starting at wall-clock w.
func (s parseSpan) end(w time.Time, start time.Time) time.Time {
	if s.start.date {
		return s.start.zone.at(w.AddDate(0, 0, s.days))
	}
	return start.Add(s.dur)
}

// span reads DTSTART and DTEND or DURATION of an event. rid stands in for
// a missing DTSTART on an override.
func (p *parser) span(ev *parseEvent, fallback *parseSpan) (parseSpan, error) {
	comp := ev.comp
	var s parseSpan
	prop := comp.Props.Get("DTSTART")
	switch {
	case prop != nil:
		v, err := p.timeValue(*prop, strings.TrimSpace(prop.Value))
		if err != nil {
			return s, fmt.Errorf("%w: event %q: DTSTART: %v", ErrMalformed, ev.uid, err)
		}
		s.start = v
	case ev.rid != nil:
		s.start = *ev.rid
	default:
		return s, fmt.Errorf("%w: event %q: DTSTART is missing", ErrMalformed, ev.uid)
	}
	start := s.start.instant()
	if prop := comp.Props.Get("DTEND"); prop != nil {
		v, err := p.timeValue(*prop, strings.TrimSpace(prop.Value))
		if err != nil {
			return s, fmt.Errorf("%w: event %q: DTEND: %v", ErrMalformed, ev.uid, err)
		}
		if s.start.date {
			s.days = int(v.wall.Sub(s.start.wall).Round(24*time.Hour) / (24 * time.Hour))
		} else {
			s.dur = v.instant().Sub(start)
		}
	} else if prop := comp.Props.Get("DURATION"); prop != nil {
		d, err := prop.Duration()
		if err != nil {
			return s, fmt.Errorf("%w: event %q: DURATION: %v", ErrMalformed, ev.uid, err)
		}
		if s.start.date {
			s.days = int((d + 24*time.Hour - 1) / (24 * time.Hour))
		} else {
			s.dur = d
		}
	} else if fallback != nil {
		s.dur, s.days = fallback.dur, fallback.days
	}
	if s.start.date && s.days < 1 {
		s.days = 1
	}
	if s.dur < 0 {
		s.dur = 0
	}
	return s, nil
}

// parseRRuleOption reads an RRULE value, tolerating lower case, empty parts
// and X- extensions that rrule-go refuses.
func parseRRuleOption(value string) (*rrule.ROption, error) {
	value = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(value)), "RRULE:")
	var parts []string
	for _, part := range strings.Split(value, ";") {
		part = strings.TrimSpace(part)
		if part == "" || strings.HasPrefix(part, "X-") {
			continue
		}
		parts = append(parts, part)
	}
	opt, err := rrule.StrToROption(strings.Join(parts, ";"))
	if err != nil {
		return nil, err
	}
	return opt, nil
}

// recurrence builds the RRULE of a master event in the event's wall clock,
// or returns nil when it has none.
func (p *parser) recurrence(ev *parseEvent, s parseSpan) (*rrule.RRule, error) {
	prop := ev.comp.Props.Get("RRULE")
	if prop == nil {
		return nil, nil
	}
	opt, err := parseRRuleOption(prop.Value)
	if err != nil {
		return nil, fmt.Errorf("%w: event %q: RRULE: %v", ErrMalformed, ev.uid, err)
	}
	if opt.Freq == rrule.MINUTELY || opt.Freq == rrule.SECONDLY {
		return nil, fmt.Errorf("%w: event %q: RRULE: FREQ=%s is not supported", ErrMalformed, ev.uid, opt.Freq)
	}
	if !parseRuleCanOccur(opt) {
		return nil, fmt.Errorf("%w: event %q: RRULE: BYMONTHDAY never falls in BYMONTH", ErrMalformed, ev.uid)
	}
	if !opt.Until.IsZero() {
		until := parseUntilValue(prop.Value)
		if strings.HasSuffix(strings.ToUpper(until), "Z") {
			// A UTC UNTIL bounds instants; the rule runs in wall clock.
			opt.Until = s.start.zone.wall(opt.Until)
		} else if len(until) == len(parseDateLayout) && !s.start.date {
			// A date UNTIL on a timed event includes that whole day.
			opt.Until = opt.Until.Add(24*time.Hour - time.Second)
		}
	}
	if opt.Until.IsZero() {
		// Nothing past the window is kept, and rrule-go otherwise stops
		// 292 years after DTSTART.
		opt.Until = s.start.zone.wall(p.winEnd).AddDate(0, 0, 1)
	}
	opt.Dtstart = s.start.wall
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil, fmt.Errorf("%w: event %q: RRULE: %v", ErrMalformed, ev.uid, err)
	}
	return r, nil
}

// parseUntilValue returns the raw UNTIL part of an RRULE value.
func parseUntilValue(rule string) string {
	for _, part := range strings.Split(rule, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && strings.EqualFold(k, "UNTIL") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// parseRuleCanOccur rejects rules whose BYMONTHDAY fits none of their
// months (BYMONTHDAY=30;BYMONTH=2): rrule-go would search them until the
// year 9999.
func parseRuleCanOccur(opt *rrule.ROption) bool {
	if len(opt.Bymonthday) == 0 {
		return true
	}
	months := opt.Bymonth
	if len(months) == 0 {
		months = []int{1}
	}
	for _, md := range opt.Bymonthday {
		if md < 0 {
			md = -md
		}
		for _, m := range months {
			// Days in the month of a leap year.
			if md <= time.Date(2024, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
				return true
			}
		}
	}
	return false
}
