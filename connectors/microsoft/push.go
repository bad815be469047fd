package microsoft

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/calendar"
	"github.com/calgate/calgate/ical"
)

// The Graph event resource, as far as calgate writes and reads it.

// DateTimeTimeZone is a wall-clock time and the time zone it is read in.
type DateTimeTimeZone struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// ItemBody is an event's body.
type ItemBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

// Location is an event's place.
type Location struct {
	DisplayName string `json:"displayName"`
}

// ExtendedProperty is a single-value extended property.
type ExtendedProperty struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// Removed marks a delta item that left the calendar view.
type Removed struct {
	Reason string `json:"reason"`
}

// Event is an event.
type Event struct {
	ID                            string             `json:"id,omitempty"`
	ChangeKey                     string             `json:"changeKey,omitempty"`
	Subject                       string             `json:"subject"`
	Body                          *ItemBody          `json:"body,omitempty"`
	Start                         *DateTimeTimeZone  `json:"start,omitempty"`
	End                           *DateTimeTimeZone  `json:"end,omitempty"`
	IsAllDay                      *bool              `json:"isAllDay,omitempty"`
	Location                      *Location          `json:"location,omitempty"`
	ShowAs                        string             `json:"showAs,omitempty"`
	TransactionID                 string             `json:"transactionId,omitempty"`
	SingleValueExtendedProperties []ExtendedProperty `json:"singleValueExtendedProperties,omitempty"`
	Removed                       *Removed           `json:"@removed,omitempty"`
}

const wallLayout = "2006-01-02T15:04:05"

// ZoneName is the time zone name Graph gets for an IANA zone: the Windows
// name whose main zone it is, else the IANA name itself (Graph takes
// both); "UTC" for UTC.
func ZoneName(iana string) string {
	switch iana {
	case "", "UTC", "Etc/UTC":
		return "UTC"
	}
	if w, ok := ical.IANAWindowsZone(iana); ok {
		return w
	}
	return iana
}

// markOf is the value of calgate's extended property on an entry's
// event: the connector's and the entry's ids.
func markOf(connectorID, entryID string) string { return connectorID + " " + entryID }

// event renders an entry as calgate's event.
func event(e *calgate.Entry, m *calendar.Mapping) *Event {
	r := m.Render(e)
	t := r.Times
	ev := &Event{Subject: r.Summary, Body: &ItemBody{ContentType: "text", Content: r.Description}, Location: &Location{DisplayName: r.Location}, ShowAs: "busy"}
	if r.Tentative {
		ev.ShowAs = "tentative"
	}
	allDay := t.AllDay
	ev.IsAllDay = &allDay
	if t.AllDay {
		zone := "UTC"
		if loc, err := calgate.LoadZone(e.Timezone); err == nil && e.Timezone != "" {
			zone = ZoneName(loc.String())
		}
		ev.Start = &DateTimeTimeZone{DateTime: t.StartDate + "T00:00:00", TimeZone: zone}
		ev.End = &DateTimeTimeZone{DateTime: t.EndDate + "T00:00:00", TimeZone: zone}
		return ev
	}
	ev.Start = &DateTimeTimeZone{DateTime: t.Start.Format(wallLayout), TimeZone: ZoneName(t.StartZone)}
	ev.End = &DateTimeTimeZone{DateTime: t.End.Format(wallLayout), TimeZone: ZoneName(t.EndZone)}
	return ev
}

// Push implements connectors.Vendor. A wanted entry (selected, neither
// cancelled nor archived) has one event in the mapping's calendar:
// created with a transactionId when calgate has none there (after a lost
// answer, first looked for by calgate's extended property), else PATCHed
// (an event deleted meanwhile is created again); other entries have their
// event deleted. An event left in another calendar, when the mapping's
// calendar changed, is deleted there.
func (v *Vendor) Push(ctx context.Context, c *connectors.Client, p *connectors.Push) error {
	m, err := calendar.Decode(p.Connector.Mapping)
	if err != nil {
		return err
	}
	if m.CalendarID == "" {
		return calgate.Invalid("mapping.calendar_id", "no calendar is chosen yet")
	}
	l := p.Link
	data := calendar.DataOf(l)
	if l.RemoteID != "" && data.CalendarID != m.CalendarID && l.RemoteState != calendar.StateDeleted {
		if err := v.delete(ctx, c, l.RemoteID); err != nil {
			return err
		}
		l.RemoteState = calendar.StateDeleted
	}
	if !calendar.Wanted(p) {
		if l.RemoteID != "" && l.RemoteState != calendar.StateDeleted && l.RemoteState != calendar.StateGone {
			if err := v.delete(ctx, c, l.RemoteID); err != nil {
				return err
			}
		}
		l.RemoteState = calendar.StateDeleted
		return nil
	}
	ev := event(p.Entry, m)
	var out Event
	existing := l.RemoteID != "" && (l.RemoteState == calendar.StatePresent || l.RemoteState == calendar.StateChanged)
	if existing {
		err = v.call(ctx, c, "update event", http.MethodPatch, "/me/events/"+url.PathEscape(l.RemoteID), ev, &out)
		if connectors.StatusOf(err) == http.StatusNotFound {
			existing = false
		} else if err != nil {
			return err
		}
	}
	if !existing {
		key := p.CreateKey
		if key == "" || l.RemoteID != "" {
			key = p.Key("recreate", l.RemoteID)
		}
		if out, err = v.create(ctx, c, p, m, ev, key, p.CreateRetried && l.RemoteID == ""); err != nil {
			return err
		}
	}
	raw, _ := json.Marshal(calendar.RemoteData{CalendarID: m.CalendarID})
	l.RemoteID, l.RemoteVersion, l.RemoteState, l.RemoteData = out.ID, out.ChangeKey, calendar.StatePresent, raw
	return nil
}

// create makes the entry's event with the transactionId key. When a create
// may have been made before without its answer (retried), or Graph says
// the key made another event, the event is looked for by calgate's
// extended property and PATCHed instead.
func (v *Vendor) create(ctx context.Context, c *connectors.Client, p *connectors.Push, m *calendar.Mapping, ev *Event, key string, retried bool) (Event, error) {
	var out Event
	find := func() (string, error) {
		filter := "singleValueExtendedProperties/Any(ep: ep/id eq '" + PropertyID + "' and ep/value eq '" + markOf(p.Connector.ID, p.Link.EntryID) + "')"
		var found struct {
			Value []Event `json:"value"`
		}
		u := "/me/calendars/" + url.PathEscape(m.CalendarID) + "/events?" + url.Values{"$filter": {filter}, "$select": {"id,changeKey"}}.Encode()
		if err := v.call(ctx, c, "find event", http.MethodGet, u, nil, &found); err != nil || len(found.Value) == 0 {
			return "", err
		}
		return found.Value[0].ID, nil
	}
	if retried {
		id, err := find()
		if err != nil {
			return out, err
		}
		if id != "" {
			err = v.call(ctx, c, "update event", http.MethodPatch, "/me/events/"+url.PathEscape(id), ev, &out)
			return out, err
		}
	}
	created := *ev
	created.TransactionID = key
	created.SingleValueExtendedProperties = []ExtendedProperty{{ID: PropertyID, Value: markOf(p.Connector.ID, p.Link.EntryID)}}
	err := v.call(ctx, c, "create event", http.MethodPost, "/me/calendars/"+url.PathEscape(m.CalendarID)+"/events", &created, &out)
	if errorCode(err) == "ErrorDuplicateTransactionId" {
		id, ferr := find()
		if ferr != nil || id == "" {
			return out, err
		}
		err = v.call(ctx, c, "update event", http.MethodPatch, "/me/events/"+url.PathEscape(id), ev, &out)
	}
	return out, err
}

// delete deletes an event; one already gone (404) is fine.
func (v *Vendor) delete(ctx context.Context, c *connectors.Client, id string) error {
	err := v.call(ctx, c, "delete event", http.MethodDelete, "/me/events/"+url.PathEscape(id), nil, nil)
	if connectors.StatusOf(err) == http.StatusNotFound {
		return nil
	}
	return err
}

func windowsToIANA(name string) (string, bool) { return ical.WindowsZoneIANA(name) }
