package microsoft

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/calendar"
)

// The calendar view a reconciliation follows: from PastDays before the
// round began to FutureDays after. A round older than RoundAge starts
// afresh, so that the view moves on with time.
const (
	PastDays   = 90
	FutureDays = 730
	RoundAge   = 7 * 24 * time.Hour
	// clockSkew is how much earlier than a full listing's start a push
	// must have been recorded to be trusted to show in it.
	clockSkew = 10 * time.Second
)

// Reconcile implements connectors.Reconciler. It follows the calendar
// view delta query of the mapping's calendar (a first round lists the
// view; the stored delta link lists what changed since; Graph's 410 starts
// a new round) and has calgate's events that someone deleted or changed in
// Outlook written again from calgate's state, each recorded as a conflict.
// Events calgate did not make (whose ids no link of the connector holds)
// are not looked at.
func (v *Vendor) Reconcile(ctx context.Context, c *connectors.Client, r *connectors.Reconciliation) error {
	m, err := calendar.Decode(r.Connector.Mapping)
	if err != nil || m.CalendarID == "" {
		return err
	}
	cur := calendar.ParseCursor(r.Cursor, m.CalendarID)
	if since, err := time.Parse(time.RFC3339, cur.Since); err != nil || r.Started.Sub(since) > PastDays*24*time.Hour+RoundAge {
		cur = calendar.Cursor{}
	}
	items, deltaLink, since, err := v.delta(ctx, c, m.CalendarID, cur, r.Started)
	if connectors.StatusOf(err) == http.StatusGone && cur.Token != "" {
		cur = calendar.Cursor{}
		items, deltaLink, since, err = v.delta(ctx, c, m.CalendarID, cur, r.Started)
	}
	if err != nil {
		return err
	}
	links, err := r.Links(ctx)
	if err != nil {
		return err
	}
	byRemote := map[string]*calgate.ConnectorLink{}
	for _, l := range links {
		if l.RemoteID != "" && calendar.DataOf(l).CalendarID == m.CalendarID {
			byRemote[l.RemoteID] = l
		}
	}
	seen := map[string]bool{}
	for i := range items {
		it := &items[i]
		l := byRemote[it.ID]
		if l == nil {
			continue // not calgate's
		}
		seen[l.EntryID] = true
		if l.Owed() {
			r.Again() // a push is under way or due: look again next time
			continue
		}
		if it.Removed == nil && it.ChangeKey == l.RemoteVersion {
			continue // as calgate wrote it
		}
		e, selected, err := r.Entry(ctx, l.EntryID)
		if err != nil {
			return err
		}
		want := calendar.WantedEntry(e, selected)
		switch {
		case it.Removed != nil:
			if it.Removed.Reason == "deleted" && want && calendar.Live(l) {
				r.Repair(l.EntryID, calendar.StateGone, "the event was deleted in Outlook; made again")
			}
		case !want && l.RemoteState == calendar.StateDeleted:
			r.Repair(l.EntryID, calendar.StatePresent, "the event is back in Outlook; deleted again")
		case want && differs(it, event(e, m)):
			r.Repair(l.EntryID, calendar.StateChanged, "the event was changed in Outlook; calgate's version written over it")
		}
	}
	if cur.Token == "" {
		// A new round lists the whole view: calgate's events of the view
		// missing from it are gone.
		from, to := since, since.Add((PastDays+FutureDays)*24*time.Hour)
		for _, l := range byRemote {
			if seen[l.EntryID] || !calendar.Live(l) || l.Owed() || !l.UpdatedAt.Before(r.Started.Add(-clockSkew)) {
				continue
			}
			e, selected, err := r.Entry(ctx, l.EntryID)
			if err != nil {
				return err
			}
			if calendar.WantedEntry(e, selected) && e.Start.Before(to) && e.End.After(from) {
				r.Repair(l.EntryID, calendar.StateGone, "the event is no longer in Outlook; made again")
			}
		}
	}
	r.NextCursor = calendar.Cursor{CalendarID: m.CalendarID, Token: deltaLink, Since: since.Format(time.RFC3339)}.String()
	return nil
}

// delta runs one round of the calendar view delta query: from the stored
// delta link, or a new round over the view from PastDays before now. It
// returns the items, the delta link that ends the round and where the
// view begins.
func (v *Vendor) delta(ctx context.Context, c *connectors.Client, calendarID string, cur calendar.Cursor, now time.Time) ([]Event, string, time.Time, error) {
	u, since := cur.Token, time.Time{}
	if u == "" {
		since = now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -PastDays)
		u = "/me/calendars/" + url.PathEscape(calendarID) + "/calendarView/delta?" + url.Values{
			"startDateTime": {since.Format(time.RFC3339)}, "endDateTime": {since.AddDate(0, 0, PastDays+FutureDays).Format(time.RFC3339)}}.Encode()
	} else if since, _ = time.Parse(time.RFC3339, cur.Since); !strings.HasPrefix(u, v.Config.APIURL+"/") {
		return nil, "", since, fmt.Errorf("microsoft: the stored delta link is not Graph's: %s", u)
	}
	var items []Event
	for {
		var page struct {
			Value     []Event `json:"value"`
			NextLink  string  `json:"@odata.nextLink"`
			DeltaLink string  `json:"@odata.deltaLink"`
		}
		if err := v.call(ctx, c, "calendar view delta", http.MethodGet, u, nil, &page); err != nil {
			return nil, "", since, err
		}
		items = append(items, page.Value...)
		next := page.NextLink
		if next == "" {
			next = page.DeltaLink
		}
		if next != "" && !strings.HasPrefix(next, v.Config.APIURL+"/") {
			return nil, "", since, fmt.Errorf("microsoft: calendar view delta: a link outside Graph: %s", next)
		}
		if page.NextLink == "" {
			return items, page.DeltaLink, since, nil
		}
		u = next
	}
}

// differs reports whether an event Graph listed (times in UTC) shows
// something else than calgate's rendering: subject, place, busy status or
// times.
func differs(got, want *Event) bool {
	if got.Subject != want.Subject || got.ShowAs != want.ShowAs || (got.IsAllDay != nil && *got.IsAllDay != *want.IsAllDay) {
		return true
	}
	place := func(l *Location) string {
		if l == nil {
			return ""
		}
		return l.DisplayName
	}
	return place(got.Location) != place(want.Location) || !sameTime(got.Start, want.Start, *want.IsAllDay) || !sameTime(got.End, want.End, *want.IsAllDay)
}

// sameTime compares a listed time with calgate's: the same date for
// all-day events, the same instant for others.
func sameTime(got, want *DateTimeTimeZone, allDay bool) bool {
	if got == nil || want == nil {
		return got == want
	}
	if allDay {
		return len(got.DateTime) >= 10 && got.DateTime[:10] == want.DateTime[:10]
	}
	a, okA := instant(got)
	b, okB := instant(want)
	return okA && okB && a.Equal(b)
}

// instant reads a Graph time (Windows or IANA zone).
func instant(d *DateTimeTimeZone) (time.Time, bool) {
	name := d.TimeZone
	if iana, ok := windowsToIANA(name); ok {
		name = iana
	}
	loc, err := calgate.LoadZone(name)
	if err != nil {
		return time.Time{}, false
	}
	for _, layout := range []string{"2006-01-02T15:04:05.0000000", wallLayout} {
		if t, err := time.ParseInLocation(layout, d.DateTime, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
