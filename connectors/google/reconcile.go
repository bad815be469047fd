package google

import (
	"context"
	"net/http"
	"strconv"
	"time"

	gcal "google.golang.org/api/calendar/v3"

	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/calendar"
)

// clockSkew is how much earlier than a full listing's start a push must
// have been recorded to be trusted to show in it.
const clockSkew = 10 * time.Second

// Reconcile implements connectors.Reconciler. It lists the calendar's
// events changed since the stored sync token (all of them the first time,
// or when Google answers 410 because the token expired) and has calgate's
// events that someone deleted, restored or changed in Google Calendar
// written again from calgate's state, each recorded as a conflict. Events
// without calgate's marks (the connector's and the entry's id in the
// private extended properties) are not looked at.
func (v *Vendor) Reconcile(ctx context.Context, c *connectors.Client, r *connectors.Reconciliation) error {
	m, err := calendar.Decode(r.Connector.Mapping)
	if err != nil || m.CalendarID == "" {
		return err
	}
	svc, err := v.service(ctx, c)
	if err != nil {
		return err
	}
	cur := calendar.ParseCursor(r.Cursor, m.CalendarID)
	items, next, err := v.list(ctx, svc, m.CalendarID, cur.Token)
	if code(err) == http.StatusGone && cur.Token != "" {
		cur.Token = ""
		items, next, err = v.list(ctx, svc, m.CalendarID, "")
	}
	if err != nil {
		return v.wrap(c, err)
	}
	_ = v.wrap(c, nil)
	seen := map[string]bool{}
	for _, ev := range items {
		if ev.ExtendedProperties == nil || ev.ExtendedProperties.Private[propConnector] != r.Connector.ID {
			continue
		}
		entryID := ev.ExtendedProperties.Private[propEntry]
		seen[entryID] = ev.Status != "cancelled"
		if err := v.check(ctx, r, m, ev, entryID); err != nil {
			return err
		}
	}
	if cur.Token == "" {
		// A full listing: calgate's events missing from it are gone.
		links, err := r.Links(ctx)
		if err != nil {
			return err
		}
		for _, l := range links {
			if _, listed := seen[l.EntryID]; listed || !calendar.Live(l) || l.Owed() || calendar.DataOf(l).CalendarID != m.CalendarID ||
				!l.UpdatedAt.Before(r.Started.Add(-clockSkew)) {
				continue
			}
			r.Repair(l.EntryID, calendar.StateGone, "the event is no longer in Google Calendar; made again")
		}
	}
	r.NextCursor = calendar.Cursor{CalendarID: m.CalendarID, Token: next}.String()
	return nil
}

// list lists the calendar's events (deleted ones too), all or changed
// since token, and returns the next sync token.
func (v *Vendor) list(ctx context.Context, svc *gcal.Service, calendarID, token string) ([]*gcal.Event, string, error) {
	call := svc.Events.List(calendarID).ShowDeleted(true).MaxResults(250)
	if token != "" {
		call = call.SyncToken(token)
	}
	var items []*gcal.Event
	next := ""
	err := call.Pages(connectors.WithOperation(ctx, "list events"), func(p *gcal.Events) error {
		items = append(items, p.Items...)
		if p.NextSyncToken != "" {
			next = p.NextSyncToken
		}
		return nil
	})
	return items, next, err
}

// check compares one of calgate's listed events with what calgate pushed
// and has it repaired when someone changed it.
func (v *Vendor) check(ctx context.Context, r *connectors.Reconciliation, m *calendar.Mapping, ev *gcal.Event, entryID string) error {
	l, err := r.Link(ctx, entryID)
	if err != nil || l == nil || l.RemoteID != ev.Id || calendar.DataOf(l).CalendarID != m.CalendarID {
		return err // not calgate's current event
	}
	if l.Owed() {
		r.Again() // a push is under way or due: look again next time
		return nil
	}
	if ev.Etag == l.RemoteVersion || ev.ExtendedProperties.Private[propVersion] != strconv.FormatInt(l.PushedVersion, 10) {
		return nil // as calgate wrote it, or calgate wrote a newer version since
	}
	e, selected, err := r.Entry(ctx, entryID)
	if err != nil {
		return err
	}
	want := calendar.WantedEntry(e, selected)
	switch {
	case ev.Status == "cancelled" && want && l.RemoteState == calendar.StatePresent:
		r.Repair(entryID, calendar.StateGone, "the event was deleted in Google Calendar; restored")
	case ev.Status != "cancelled" && !want && l.RemoteState == calendar.StateDeleted:
		r.Repair(entryID, calendar.StatePresent, "the event was restored in Google Calendar; deleted again")
	case ev.Status != "cancelled" && want && differs(ev, event(r.Connector.ID, e, m, l.PushedVersion)):
		r.Repair(entryID, calendar.StateChanged, "the event was changed in Google Calendar; calgate's version written over it")
	}
	return nil
}

// differs reports whether a listed event shows something else than
// calgate's rendering: title, description, place, status or times.
func differs(got, want *gcal.Event) bool {
	return got.Summary != want.Summary || got.Description != want.Description || got.Location != want.Location ||
		got.Status != want.Status || !sameTime(got.Start, want.Start) || !sameTime(got.End, want.End)
}

// sameTime compares two starts or ends: the same date, or the same
// instant in the same zone.
func sameTime(a, b *gcal.EventDateTime) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Date != "" || b.Date != "" {
		return a.Date == b.Date && a.DateTime == "" && b.DateTime == ""
	}
	ta, errA := time.Parse(time.RFC3339, a.DateTime)
	tb, errB := time.Parse(time.RFC3339, b.DateTime)
	return errA == nil && errB == nil && ta.Equal(tb) && (a.TimeZone == "" || a.TimeZone == b.TimeZone)
}
