package google

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	gcal "google.golang.org/api/calendar/v3"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/calendar"
)

// Private extended properties calgate marks its events with.
const (
	propConnector = "calgateConnector"
	propEntry     = "calgateEntry"
	propVersion   = "calgateVersion"
)

// EventID is the id of an entry's event for a connector: base32hex
// (lowercase a-v and digits, as Google requires) of a hash of both, 32
// characters.
func EventID(connectorID, entryID string) string {
	sum := sha256.Sum256([]byte(connectorID + "\x00" + entryID))
	return strings.ToLower(base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:20]))
}

// dateTime is a start or end as Google takes it.
func dateTime(t calendar.Event, end bool) *gcal.EventDateTime {
	tm := t.Times
	if tm.AllDay {
		if end {
			return &gcal.EventDateTime{Date: tm.EndDate}
		}
		return &gcal.EventDateTime{Date: tm.StartDate}
	}
	at, zone := tm.Start, tm.StartZone
	if end {
		at, zone = tm.End, tm.EndZone
	}
	if zone == "" {
		zone = "UTC"
	}
	return &gcal.EventDateTime{DateTime: at.Format(time.RFC3339), TimeZone: zone}
}

// event renders an entry as calgate's event.
func event(connectorID string, e *calgate.Entry, m *calendar.Mapping, version int64) *gcal.Event {
	r := m.Render(e)
	status := "confirmed"
	if r.Tentative {
		status = "tentative"
	}
	return &gcal.Event{
		Summary: r.Summary, Description: r.Description, Location: r.Location,
		Start: dateTime(r, false), End: dateTime(r, true), Status: status, Transparency: "opaque",
		ExtendedProperties: &gcal.EventExtendedProperties{Private: map[string]string{
			propConnector: connectorID, propEntry: e.ID, propVersion: strconv.FormatInt(version, 10)}},
	}
}

// Push implements connectors.Vendor. A wanted entry (selected, neither
// cancelled nor archived) has one event in the mapping's calendar:
// inserted with the entry's event id when calgate has none there (a 409
// means it exists, perhaps deleted: it is updated, which restores it),
// else updated; other entries have their event deleted. An event left in
// another calendar, when the mapping's calendar changed, is deleted there.
func (v *Vendor) Push(ctx context.Context, c *connectors.Client, p *connectors.Push) error {
	m, err := calendar.Decode(p.Connector.Mapping)
	if err != nil {
		return err
	}
	if m.CalendarID == "" {
		return calgate.Invalid("mapping.calendar_id", "no calendar is chosen yet")
	}
	svc, err := v.service(ctx, c)
	if err != nil {
		return err
	}
	l := p.Link
	data := calendar.DataOf(l)
	id := EventID(p.Connector.ID, l.EntryID)
	if l.RemoteID != "" && data.CalendarID != "" && data.CalendarID != m.CalendarID && l.RemoteState != calendar.StateDeleted {
		if err := v.delete(ctx, c, svc, data.CalendarID, l.RemoteID); err != nil {
			return err
		}
		l.RemoteState = calendar.StateDeleted
	}
	if !calendar.Wanted(p) {
		if l.RemoteID != "" && l.RemoteState != calendar.StateDeleted {
			if err := v.delete(ctx, c, svc, m.CalendarID, l.RemoteID); err != nil {
				return err
			}
		}
		l.RemoteState = calendar.StateDeleted
		return nil
	}
	ev := event(p.Connector.ID, p.Entry, m, p.Version)
	var out *gcal.Event
	if l.RemoteID == "" || l.RemoteState == calendar.StateDeleted || l.RemoteState == calendar.StateGone || data.CalendarID != m.CalendarID {
		ev.Id = id
		out, err = svc.Events.Insert(m.CalendarID, ev).Context(connectors.WithOperation(ctx, "insert event")).Do()
		if code(err) == http.StatusConflict {
			// Made before (an answer lost, or deleted since): write it.
			out, err = svc.Events.Update(m.CalendarID, id, ev).Context(connectors.WithOperation(ctx, "update event")).Do()
		}
	} else {
		out, err = svc.Events.Update(m.CalendarID, l.RemoteID, ev).Context(connectors.WithOperation(ctx, "update event")).Do()
		if code(err) == http.StatusNotFound {
			ev.Id = id
			out, err = svc.Events.Insert(m.CalendarID, ev).Context(connectors.WithOperation(ctx, "insert event")).Do()
		}
	}
	if err != nil {
		return v.wrap(c, err)
	}
	_ = v.wrap(c, nil)
	raw, _ := json.Marshal(calendar.RemoteData{CalendarID: m.CalendarID})
	l.RemoteID, l.RemoteVersion, l.RemoteState, l.RemoteData = out.Id, out.Etag, calendar.StatePresent, raw
	return nil
}

// delete deletes an event; one already deleted (410) or gone (404) is
// fine.
func (v *Vendor) delete(ctx context.Context, c *connectors.Client, svc *gcal.Service, calendarID, id string) error {
	err := svc.Events.Delete(calendarID, id).Context(connectors.WithOperation(ctx, "delete event")).Do()
	if s := code(err); s == http.StatusGone || s == http.StatusNotFound {
		return nil
	}
	return v.wrap(c, err)
}
