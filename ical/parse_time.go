package ical

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// Layouts of iCalendar date and date-time values and of recurrence ids.
const (
	parseDateLayout     = "20060102"
	parseDateTimeLayout = "20060102T150405"
	parseUTCLayout      = "20060102T150405Z"
)

// parseZone turns wall-clock times into instants. Wall-clock times are
// carried as time.Time values in UTC whose fields are the wall clock, so
// recurrence rules can be expanded in local time whatever the zone is.
type parseZone struct {
	// name is the IANA name (or "UTC"); empty for a VTIMEZONE-only zone.
	name string
	loc  *time.Location
	vtz  *parseVTimezone
}

// at returns the instant of a wall-clock time in the zone.
func (z parseZone) at(w time.Time) time.Time {
	if z.loc != nil {
		return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, z.loc)
	}
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, z.vtz.location(w))
}

// wall returns the wall-clock time of an instant in the zone.
func (z parseZone) wall(t time.Time) time.Time {
	if z.loc != nil {
		t = t.In(z.loc)
	} else {
		t = t.UTC()
		t = t.Add(time.Duration(z.vtz.offsetAt(t)) * time.Second)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// label is the Occurrence.Timezone of an instant in the zone.
func (z parseZone) label(t time.Time) string {
	if z.name != "" {
		return z.name
	}
	_, off := t.Zone()
	return parseFixedZone(off).String()
}

// parseFixedZone names a fixed offset the IANA way (Etc/GMT-1 is UTC+1)
// when whole hours allow it, and falls back to an unnamed offset labelled
// UTC otherwise.
func parseFixedZone(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	if off%3600 == 0 && off >= -12*3600 && off <= 14*3600 {
		h := off / 3600
		name := "Etc/GMT+" + strconv.Itoa(-h)
		if h > 0 {
			name = "Etc/GMT-" + strconv.Itoa(h)
		}
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	return time.FixedZone("UTC", off)
}

// parseVTimezone is a VTIMEZONE read from the document, for TZIDs that are
// neither IANA nor Windows names.
type parseVTimezone struct {
	observances []parseObservance
	// byYear caches the transitions that matter for a year.
	byYear map[int][]parseTransition
	// locs caches the fixed zone of each offset.
	locs map[int]*time.Location
}

// location returns the fixed zone in force at wall-clock time w.
func (vtz *parseVTimezone) location(w time.Time) *time.Location {
	off := vtz.offsetAt(w)
	loc := vtz.locs[off]
	if loc == nil {
		loc = parseFixedZone(off)
		vtz.locs[off] = loc
	}
	return loc
}

type parseObservance struct {
	onset time.Time // DTSTART, wall clock
	rule  *rrule.RRule
	to    int // TZOFFSETTO in seconds
}

type parseTransition struct {
	at time.Time // wall clock
	to int
}

// newParseVTimezone reads the STANDARD and DAYLIGHT observances of a
// VTIMEZONE; it returns nil when none has a usable TZOFFSETTO.
func newParseVTimezone(comp *goical.Component) *parseVTimezone {
	vtz := &parseVTimezone{byYear: map[int][]parseTransition{}, locs: map[int]*time.Location{}}
	for _, child := range comp.Children {
		if child.Name != "STANDARD" && child.Name != "DAYLIGHT" {
			continue
		}
		to, ok := parseUTCOffset(parsePropValue(child, "TZOFFSETTO"))
		if !ok {
			continue
		}
		obs := parseObservance{to: to}
		if v := parsePropValue(child, "DTSTART"); v != "" {
			if t, err := time.Parse(parseDateTimeLayout, strings.TrimSuffix(v, "Z")); err == nil {
				obs.onset = t
			}
		}
		if v := parsePropValue(child, "RRULE"); v != "" && !obs.onset.IsZero() {
			if opt, err := parseRRuleOption(v); err == nil {
				opt.Dtstart = obs.onset
				if opt.Until.IsZero() {
					// rrule-go otherwise stops 292 years after DTSTART,
					// and Outlook's observances start in 1601.
					opt.Until = time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)
				}
				if r, err := rrule.NewRRule(*opt); err == nil {
					obs.rule = r
				}
			}
		}
		vtz.observances = append(vtz.observances, obs)
	}
	if len(vtz.observances) == 0 {
		return nil
	}
	return vtz
}

// offsetAt returns the UTC offset, in seconds, of the observance whose
// onset is the latest at or before the wall-clock time w.
func (vtz *parseVTimezone) offsetAt(w time.Time) int {
	ts := vtz.transitions(w.Year())
	i := sort.Search(len(ts), func(i int) bool { return ts[i].at.After(w) })
	if i > 0 {
		return ts[i-1].to
	}
	// Before every onset: the earliest observance is the best guess.
	earliest := vtz.observances[0]
	for _, o := range vtz.observances[1:] {
		if o.onset.Before(earliest.onset) {
			earliest = o
		}
	}
	return earliest.to
}

// transitions lists, sorted, the onsets of every observance in a year and
// the latest onset of each before that year.
func (vtz *parseVTimezone) transitions(year int) []parseTransition {
	if ts, ok := vtz.byYear[year]; ok {
		return ts
	}
	from := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	var ts []parseTransition
	for _, o := range vtz.observances {
		switch {
		case o.rule != nil:
			if prev := o.rule.Before(from, false); !prev.IsZero() {
				ts = append(ts, parseTransition{prev, o.to})
			}
			for _, t := range o.rule.Between(from, to, true) {
				ts = append(ts, parseTransition{t, o.to})
			}
		case !o.onset.After(to):
			ts = append(ts, parseTransition{o.onset, o.to})
		}
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].at.Before(ts[j].at) })
	if len(vtz.byYear) < 64 {
		vtz.byYear[year] = ts
	}
	return ts
}

// parseUTCOffset reads a UTC offset value: +0100, -0530, +013045.
func parseUTCOffset(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 5 && len(s) != 7 {
		return 0, false
	}
	sign := 1
	switch s[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return 0, false
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n < 0 {
		return 0, false
	}
	if len(s) == 5 {
		n *= 100
	}
	h, m, sec := n/10000, n/100%100, n%100
	if h > 23 || m > 59 || sec > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60 + sec), true
}

// parseLoadIANA loads an IANA zone, refusing "Local" and the empty name
// (which Go maps to the machine's zone and to UTC). It also accepts the
// globally unique form "/mozilla.org/20050126_1/Europe/Berlin" by trying
// ever shorter suffixes.
func parseLoadIANA(name string) (*time.Location, string, bool) {
	name = strings.Trim(strings.TrimSpace(name), `"`)
	switch strings.ToUpper(name) {
	case "", "LOCAL":
		return nil, "", false
	case "UTC", "GMT", "Z", "ETC/UTC", "ETC/GMT", "UNIVERSAL", "ZULU":
		return time.UTC, "UTC", true
	}
	for candidate := strings.TrimPrefix(name, "/"); candidate != ""; {
		if len(candidate) < 64 && !strings.EqualFold(candidate, "Local") {
			if loc, err := time.LoadLocation(candidate); err == nil {
				return loc, loc.String(), true
			}
		}
		i := strings.IndexByte(candidate, '/')
		if i < 0 {
			break
		}
		candidate = candidate[i+1:]
	}
	return nil, "", false
}

// parseZoneNamed resolves an IANA or Windows zone name (no VTIMEZONE).
func parseZoneNamed(name string) (parseZone, bool) {
	if loc, n, ok := parseLoadIANA(name); ok {
		return parseZone{name: n, loc: loc}, true
	}
	if iana, ok := parseWindowsZone(strings.Trim(strings.TrimSpace(name), `"`)); ok {
		if loc, n, ok := parseLoadIANA(iana); ok {
			return parseZone{name: n, loc: loc}, true
		}
	}
	return parseZone{}, false
}

// zone resolves a TZID: IANA name, Windows name, then the document's
// VTIMEZONE (its X-LIC-LOCATION, else its observances).
func (p *parser) zone(tzid string) (parseZone, error) {
	if z, ok := p.zones[tzid]; ok {
		return z, nil
	}
	z, ok := parseZoneNamed(tzid)
	if !ok {
		comp := p.vtimezones[tzid]
		if comp == nil {
			return parseZone{}, fmt.Errorf("unknown time zone %q and no VTIMEZONE for it", tzid)
		}
		if z, ok = parseZoneNamed(parsePropValue(comp, "X-LIC-LOCATION")); !ok {
			vtz := newParseVTimezone(comp)
			if vtz == nil {
				return parseZone{}, fmt.Errorf("time zone %q: VTIMEZONE has no TZOFFSETTO", tzid)
			}
			z = parseZone{vtz: vtz}
		}
	}
	p.zones[tzid] = z
	return z, nil
}

// parseTimeValue is one DATE or DATE-TIME value read from a property.
type parseTimeValue struct {
	wall time.Time // wall clock in zone (UTC carrier)
	date bool      // VALUE=DATE: all-day
	zone parseZone
}

// instant is the value's point in time (midnight in the zone for a date).
func (v parseTimeValue) instant() time.Time { return v.zone.at(v.wall) }

// timeValues reads every value of a date property (RDATE and EXDATE may
// list several, separated by commas; a PERIOD's start is kept).
func (p *parser) timeValues(prop goical.Prop) ([]parseTimeValue, error) {
	var out []parseTimeValue
	for _, raw := range strings.Split(prop.Value, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if start, _, ok := strings.Cut(raw, "/"); ok {
			raw = start
		}
		v, err := p.timeValue(prop, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// timeValue reads one DATE or DATE-TIME value of prop.
func (p *parser) timeValue(prop goical.Prop, raw string) (parseTimeValue, error) {
	valueType := strings.ToUpper(prop.Params.Get("VALUE"))
	if valueType == "DATE" || (valueType == "" && len(raw) == len(parseDateLayout)) {
		t, err := time.Parse(parseDateLayout, raw)
		if err != nil {
			return parseTimeValue{}, fmt.Errorf("invalid date %q", raw)
		}
		return parseTimeValue{wall: t, date: true, zone: p.floating}, nil
	}
	if strings.HasSuffix(raw, "Z") || strings.HasSuffix(raw, "z") {
		t, err := time.Parse(parseDateTimeLayout, raw[:len(raw)-1])
		if err != nil {
			return parseTimeValue{}, fmt.Errorf("invalid date-time %q", raw)
		}
		return parseTimeValue{wall: t, zone: parseZone{name: "UTC", loc: time.UTC}}, nil
	}
	t, err := time.Parse(parseDateTimeLayout, raw)
	if err != nil {
		return parseTimeValue{}, fmt.Errorf("invalid date-time %q", raw)
	}
	zone := p.floating
	// An unquoted TZID with commas (a Windows display name) arrives split
	// into several values.
	if tzid := strings.Join(prop.Params.Values("TZID"), ","); tzid != "" {
		if zone, err = p.zone(tzid); err != nil {
			return parseTimeValue{}, err
		}
	}
	return parseTimeValue{wall: t, zone: zone}, nil
}

// parsePropValue returns the raw value of a component's first property
// with that name, or "".
func parsePropValue(comp *goical.Component, name string) string {
	if prop := comp.Props.Get(name); prop != nil {
		return prop.Value
	}
	return ""
}

// parseText unescapes a TEXT value (RFC 5545 3.3.11). Unescaped commas are
// kept: many producers forget to escape them in SUMMARY.
func parseText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n', 'N':
			b.WriteByte('\n')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
