// Package calendar holds what the live calendar connectors (Google
// Calendar, Microsoft 365) share: their mapping (which calendar, and the
// same title and description templates as a feed) and how an entry
// becomes an event, by the feeds' rules (ical.Times for time zones and
// all-day entries, ical templates for titles), so that a live calendar
// shows an entry exactly as a subscribed feed does.
package calendar

import (
	"encoding/json"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/ical"
)

// DefaultCalendarName is the name of the calendar created for a connector
// whose mapping names none.
const DefaultCalendarName = "calgate"

// MaxCalendarName bounds a calendar's name.
const MaxCalendarName = 255

// Mapping is a calendar connector's settings.
type Mapping struct {
	// CalendarID is the calendar entries go to (an id from the
	// connector's choices). Filled in when the connector is connected.
	CalendarID string `json:"calendar_id"`
	// CalendarName names the calendar to use when CalendarID is empty: the
	// account's calendar of that name that calgate may write, else a new
	// one created with it (default DefaultCalendarName).
	CalendarName string `json:"calendar_name"`
	// TitleTemplates and DescriptionTemplates map a kind to its template,
	// as a feed's (ical.ParseTemplate).
	TitleTemplates       map[calgate.Kind]string `json:"title_templates,omitempty"`
	DescriptionTemplates map[calgate.Kind]string `json:"description_templates,omitempty"`

	titles, descriptions map[calgate.Kind]*ical.Template
}

// Decode reads a mapping (nil or empty: the defaults) and checks it; a bad
// setting is a *calgate.ValidationError naming it under "mapping.".
func Decode(raw json.RawMessage) (*Mapping, error) {
	decoded, err := connectors.DecodeMapping[Mapping](raw, "calendar")
	if err != nil {
		return nil, err
	}
	m := &decoded
	v := &calgate.ValidationError{}
	m.CalendarID = strings.TrimSpace(m.CalendarID)
	m.CalendarName = strings.TrimSpace(m.CalendarName)
	if len(m.CalendarID) > 1024 {
		v.Add("mapping.calendar_id", "must be at most 1024 bytes")
	}
	if m.CalendarID == "" && m.CalendarName == "" {
		m.CalendarName = DefaultCalendarName
	}
	if utf8.RuneCountInString(m.CalendarName) > MaxCalendarName {
		v.Add("mapping.calendar_name", "must be at most %d characters", MaxCalendarName)
	}
	m.titles = templates(v, "mapping.title_templates", m.TitleTemplates)
	m.descriptions = templates(v, "mapping.description_templates", m.DescriptionTemplates)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// templates checks per-kind templates as a feed's.
func templates(v *calgate.ValidationError, field string, src map[calgate.Kind]string) map[calgate.Kind]*ical.Template {
	out := map[calgate.Kind]*ical.Template{}
	kinds := make([]string, 0, len(src))
	for k := range src {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	for _, name := range kinds {
		k := calgate.Kind(name)
		if !k.Valid() {
			v.Add(field+"."+name, "unknown kind (reservation, job or production_window)")
			continue
		}
		if src[k] == "" {
			continue
		}
		t, err := ical.ParseTemplate(src[k])
		if err != nil {
			v.Add(field+"."+name, "%v", err)
			continue
		}
		out[k] = t
	}
	return out
}

// JSON returns the mapping as stored.
func (m *Mapping) JSON() json.RawMessage {
	raw, _ := json.Marshal(m)
	return raw
}

// Event is an entry as a calendar shows it.
type Event struct {
	Summary     string
	Description string
	Location    string
	Times       ical.EventTimes
	// Tentative marks a tentative entry (the others are confirmed).
	Tentative bool
}

// Render turns an entry into its event: the title of the kind's template,
// else the entry's title, else the kind's default title (as a feed's
// SUMMARY); the description of the kind's template, else the entry's; the
// times as a feed writes them.
func (m *Mapping) Render(e *calgate.Entry) Event {
	ev := Event{Location: e.Location, Times: ical.Times(e), Tentative: e.Status == calgate.StatusTentative}
	if t := m.titles[e.Kind]; t != nil {
		ev.Summary = t.Execute(e)
	}
	if ev.Summary == "" {
		ev.Summary = e.Title
	}
	if ev.Summary == "" {
		ev.Summary = ical.DefaultTitle(e.Kind).Execute(e)
	}
	if t := m.descriptions[e.Kind]; t != nil {
		ev.Description = t.Execute(e)
	}
	if ev.Description == "" {
		ev.Description = e.Description
	}
	return ev
}

// Wanted reports whether a push's entry belongs in the calendar: selected
// by the filter, not archived and not cancelled. Other entries' events
// are removed.
func Wanted(p *connectors.Push) bool {
	return wanted(p.Entry, p.Selected)
}

// WantedEntry is Wanted for an entry and whether the filter selects it.
func WantedEntry(e *calgate.Entry, selected bool) bool { return wanted(e, selected) }

func wanted(e *calgate.Entry, selected bool) bool {
	return e != nil && selected && !e.Archived() && e.Status != calgate.StatusCancelled
}

// Link remote states of calendar connectors.
const (
	// StatePresent: calgate's event is in the calendar.
	StatePresent = "present"
	// StateDeleted: calgate deleted its event (or never made one).
	StateDeleted = "deleted"
	// StateGone: a reconciliation found the event deleted by someone;
	// the push makes it again.
	StateGone = "gone"
	// StateChanged: a reconciliation found the event changed by someone;
	// the push writes calgate's version over it.
	StateChanged = "changed"
)

// Live reports whether a link's event is (or should be) in the calendar
// as calgate last knew it.
func Live(l *calgate.ConnectorLink) bool {
	return l.RemoteID != "" && (l.RemoteState == StatePresent || l.RemoteState == StateChanged)
}

// RemoteData is what a calendar connector's link keeps besides the
// event's id.
type RemoteData struct {
	// CalendarID is the calendar the event is in.
	CalendarID string `json:"calendar_id"`
}

// DataOf reads a link's remote data.
func DataOf(l *calgate.ConnectorLink) RemoteData {
	var d RemoteData
	if len(l.RemoteData) > 0 {
		_ = json.Unmarshal(l.RemoteData, &d)
	}
	return d
}

// Cursor is where a calendar connector's reconciliation goes on from: the
// calendar's sync token or delta link, valid for that calendar only.
type Cursor struct {
	CalendarID string `json:"calendar_id"`
	Token      string `json:"token"`
	// Since is when the listing the token continues began (RFC 3339).
	Since string `json:"since,omitempty"`
}

// ParseCursor reads a cursor; a cursor of another calendar, or none, is
// the zero Cursor.
func ParseCursor(raw, calendarID string) Cursor {
	var c Cursor
	if raw == "" || json.Unmarshal([]byte(raw), &c) != nil || c.CalendarID != calendarID {
		return Cursor{}
	}
	return c
}

// String returns the cursor as stored.
func (c Cursor) String() string {
	if c.Token == "" {
		return ""
	}
	raw, _ := json.Marshal(c)
	return string(raw)
}
