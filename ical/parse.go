package ical

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode"

	goical "github.com/emersion/go-ical"
)

// Errors that Parse wraps, so that callers (the subscription importer) can
// tell a feed that is not a calendar at all from one that is damaged.
var (
	// ErrNotICalendar means the document does not start with
	// BEGIN:VCALENDAR: typically an HTML error or login page.
	ErrNotICalendar = errors.New("ical: not an iCalendar document")
	// ErrTruncated means the document ends before END:VCALENDAR.
	ErrTruncated = errors.New("ical: truncated iCalendar document")
	// ErrMalformed means the document is a calendar whose content cannot be
	// read: a broken content line, a bad date, an unknown time zone, an
	// invalid RRULE.
	ErrMalformed = errors.New("ical: malformed iCalendar document")
	// ErrTooManyOccurrences means expanding the recurrences would produce
	// more than MaxOccurrences occurrences in the window.
	ErrTooManyOccurrences = errors.New("ical: too many occurrences")
)

// Parse limits and defaults.
const (
	// DefaultHorizon is how far after ParseOptions.Now recurrences are
	// expanded when ParseOptions.Horizon is zero.
	DefaultHorizon = 365 * 24 * time.Hour
	// PastWindow is how far before ParseOptions.Now occurrences are kept.
	PastWindow = 90 * 24 * time.Hour
	// MaxOccurrences caps the occurrences one document may yield.
	MaxOccurrences = 50000
	// parseMaxSteps caps the recurrence instances generated while
	// expanding one document, including those before the window.
	parseMaxSteps = 1000000
)

// ParseOptions tells Parse which window to expand and how to read times
// that carry no zone.
type ParseOptions struct {
	// Now anchors the window; the zero value means time.Now().
	Now time.Time
	// Horizon is how far after Now occurrences are produced; zero means
	// DefaultHorizon. Occurrences are kept from PastWindow (90 days) before
	// Now, so a subscription still shows what happened recently.
	Horizon time.Duration
	// DefaultTZ is the IANA zone for floating times and all-day dates when
	// the document names none in X-WR-TIMEZONE; empty means UTC.
	DefaultTZ string
}

// Occurrence is one instance of a VEVENT: a single event, or one expanded
// instance of a recurring event (with overrides applied).
type Occurrence struct {
	UID string
	// RecurrenceID is empty for single events. For instances of a
	// recurring event it is the instance's original start: UTC in basic
	// format (20060102T150405Z), or the date (20060102) for all-day events.
	RecurrenceID string
	// ExternalID identifies the occurrence across fetches: the UID, or the
	// UID + "/" + RecurrenceID for instances of a recurring event.
	ExternalID  string
	Summary     string
	Description string
	Location    string
	// Start and End are instants. All-day occurrences run from midnight of
	// the first day to midnight after the last (End exclusive) in Timezone.
	// An event without DTEND or DURATION ends when it starts (timed) or
	// after one day (all-day).
	Start, End time.Time
	AllDay     bool
	// Timezone is the IANA name of the zone the event's times were given
	// in, "UTC" for UTC times, or an Etc/GMT±N name for a custom VTIMEZONE.
	Timezone string
	// Cancelled is set by STATUS:CANCELLED on the event or on an overriding
	// instance, and by METHOD:CANCEL on the calendar.
	Cancelled bool
	// Transparent is set by TRANSP:TRANSPARENT: the event does not block
	// time.
	Transparent  bool
	Sequence     int
	LastModified time.Time
}

// Parse reads an iCalendar document (RFC 5545) fetched from an external
// calendar and returns its VEVENTs as occurrences in the window
// [Now-90 days, Now+Horizon), sorted by start and then external id.
//
// Recurring events are expanded from RRULE, RDATE and EXDATE; a VEVENT with
// the same UID and a RECURRENCE-ID replaces the instance it names (with
// STATUS:CANCELLED it marks that instance cancelled). When a UID appears
// more than once for the same instance, the copy with the highest SEQUENCE
// wins, then the latest LAST-MODIFIED, then the last in the document.
// RANGE=THISANDFUTURE on RECURRENCE-ID is read as affecting one instance,
// and an RDATE given as a PERIOD keeps the event's own duration. RRULEs
// with FREQ=MINUTELY or SECONDLY are refused as malformed.
//
// TZID names are read as IANA names, Windows names (via CLDR's mapping),
// or from the document's VTIMEZONE (its X-LIC-LOCATION, else the offset of
// its STANDARD or DAYLIGHT rule in force at each instant). A VEVENT without
// UID gets one derived from its DTSTART and SUMMARY.
//
// Parse reads r to the end: the caller bounds its size. It never panics on
// bad input; its errors wrap ErrNotICalendar,
// ErrTruncated, ErrMalformed or ErrTooManyOccurrences.
func Parse(r io.Reader, opts ParseOptions) (occs []Occurrence, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			occs, err = nil, fmt.Errorf("%w: %v", ErrMalformed, rec)
		}
	}()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("ical: parse: read: %w", err)
	}
	cals, err := parseDecode(data)
	if err != nil {
		return nil, err
	}
	p, err := newParser(cals, opts)
	if err != nil {
		return nil, err
	}
	for _, cal := range cals {
		if err := p.collect(cal); err != nil {
			return nil, err
		}
	}
	if err := p.expandAll(); err != nil {
		return nil, err
	}
	sort.SliceStable(p.out, func(i, j int) bool {
		a, b := p.out[i], p.out[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		return a.ExternalID < b.ExternalID
	})
	return p.out, nil
}

// parseDecode checks that data looks like an iCalendar document and decodes
// every VCALENDAR in it, turning the decoder's panics into errors.
func parseDecode(data []byte) ([]*goical.Calendar, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: empty document", ErrNotICalendar)
	}
	first, _, _ := bytes.Cut(trimmed, []byte("\n"))
	if !strings.EqualFold(strings.TrimSpace(string(first)), "BEGIN:VCALENDAR") {
		return nil, fmt.Errorf("%w: starts with %s", ErrNotICalendar, parseSnippet(first))
	}
	lastNL := bytes.LastIndexByte(trimmed, '\n')
	last := strings.TrimSpace(string(trimmed[lastNL+1:]))
	if !strings.EqualFold(last, "END:VCALENDAR") {
		return nil, fmt.Errorf("%w: no END:VCALENDAR at the end", ErrTruncated)
	}
	if err := parseCheckLines(trimmed); err != nil {
		return nil, err
	}
	dec := goical.NewDecoder(bytes.NewReader(trimmed))
	var cals []*goical.Calendar
	for {
		cal, err := parseDecodeOne(dec)
		if errors.Is(err, io.EOF) && len(cals) > 0 {
			return cals, nil
		}
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: document ends inside a component", ErrTruncated)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		cals = append(cals, cal)
	}
}

// DecodeCalendar decodes one calendar with go-ical as it is, but never
// panics: go-ical's decoder panics on some malformed content lines, and
// that becomes an error here. Parse adds its own checks before it; tests use
// this for round trips through go-ical.
func DecodeCalendar(r io.Reader) (*goical.Calendar, error) {
	return parseDecodeOne(goical.NewDecoder(r))
}

// parseDecodeOne runs the go-ical decoder, which panics on some malformed
// content lines, under recover.
func parseDecodeOne(dec *goical.Decoder) (cal *goical.Calendar, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			cal, err = nil, fmt.Errorf("malformed content line (%v)", rec)
		}
	}()
	return dec.Decode()
}

// parseSnippet quotes the first word of a line that is not iCalendar, for an
// error message: "<html", "<!DOCTYPE", "{".
func parseSnippet(line []byte) string {
	s := strings.TrimSpace(string(line))
	if i := strings.IndexAny(s, " \t>"); i > 0 {
		s = s[:i]
	}
	var b strings.Builder
	for i, r := range s {
		if i >= 32 {
			break
		}
		if unicode.IsPrint(r) {
			b.WriteRune(r)
		} else {
			b.WriteRune('?')
		}
	}
	return b.String()
}
