package google_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/calendar"
	"github.com/calgate/calgate/connectors/connectorstest"
	"github.com/calgate/calgate/connectors/google"
	"github.com/calgate/calgate/connectors/google/gcaltest"
	"github.com/calgate/calgate/ical"
)

func setup(t testing.TB, engine string, o gcaltest.Options, mapping string) (*connectorstest.Harness, *gcaltest.Server, *calgate.Connector) {
	t.Helper()
	o.RedirectURI = connectorstest.RedirectURI
	g := gcaltest.Start(t, o)
	h := connectorstest.Open(t, engine, nil)
	h.Service.Add(google.New(google.Config{ClientID: g.Options().ClientID, ClientSecret: g.Options().ClientSecret,
		AuthURL: g.AuthURL(), TokenURL: g.TokenURL(), APIURL: g.APIURL(), NoLimits: o.NoLimit}))
	c := h.Connect(t, connectorstest.Input(google.Type, mapping))
	if c.Account != g.Options().User || c.State != calgate.ConnectorStateConnected {
		t.Fatalf("connected to %q (%s)", c.Account, c.State)
	}
	return h, g, c
}

func eventOf(t testing.TB, g *gcaltest.Server, calendarID, id string) gcaltest.Event {
	t.Helper()
	for _, ev := range g.Events(calendarID) {
		if ev.ID == id {
			return ev
		}
	}
	t.Fatalf("no event %s in %s: %+v", id, calendarID, g.Events(calendarID))
	return gcaltest.Event{}
}

func TestCreateMoveCancelLeavesOneEventInTheRightState(t *testing.T) {
	for _, engine := range connectorstest.Engines {
		t.Run(engine, func(t *testing.T) {
			h, g, c := setup(t, engine, gcaltest.Options{}, `{"calendar_name":"Room bookings","title_templates":{"reservation":"{resource}: {title}"}}`)
			calID := connectorstest.CalendarID(t, c)
			if cals := g.Calendars(); len(cals) != 2 || g.Count("insert calendar") != 1 {
				t.Fatalf("calendars: %+v", cals)
			}
			fields := connectorstest.Reservation("r1", "Kick-off")
			e := h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			id := google.EventID(c.ID, e.ID)
			ev := eventOf(t, g, calID, id)
			if ev.Summary != "Room 1: Kick-off" || ev.Status != "confirmed" || ev.Start.DateTime != "2026-05-04T09:00:00+02:00" ||
				ev.Start.TimeZone != "Europe/Berlin" || ev.End.DateTime != "2026-05-04T10:30:00+02:00" ||
				ev.ExtendedProperties.Private["calgateEntry"] != e.ID {
				t.Fatalf("created: %+v %+v %+v", ev, ev.Start, ev.End)
			}

			fields["start"], fields["end"] = "2026-05-05T13:00:00+02:00", "2026-05-05T15:00:00+02:00"
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			if ev = eventOf(t, g, calID, id); ev.Start.DateTime != "2026-05-05T13:00:00+02:00" || ev.Status != "confirmed" {
				t.Fatalf("moved: %+v", ev.Start)
			}
			fields["status"] = "cancelled"
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			if ev = eventOf(t, g, calID, id); ev.Status != "cancelled" {
				t.Fatalf("cancelled: %+v", ev)
			}
			if n := len(g.Events(calID)); n != 1 {
				t.Fatalf("%d events, want 1", n)
			}
			for op, want := range map[string]int{"insert event": 1, "update event": 1, "delete event": 1, "duplicate": 0} {
				if got := g.Count(op); got != want {
					t.Errorf("%s: %d, want %d", op, got, want)
				}
			}
			if l := h.Link(t, c.ID, e.ID); l.Owed() || l.RemoteState != calendar.StateDeleted {
				t.Fatalf("link: %+v", l)
			}
		})
	}
}

func TestRetriedInsertAfterALostAnswerMakesNoSecondEvent(t *testing.T) {
	h, g, c := setup(t, "sqlite", gcaltest.Options{}, "")
	calID := connectorstest.CalendarID(t, c)
	g.LoseAnswer("insert event", 1)
	e := h.Entry(t, c.ID, connectorstest.Reservation("r1", "Lost answer"))
	if _, err := h.Service.Push(context.Background(), c.ID, e.ID, ""); err != nil {
		t.Fatal(err)
	}
	if l := h.Link(t, c.ID, e.ID); !l.Owed() || l.LastError == "" {
		t.Fatalf("after the lost answer: %+v", l)
	}
	// The retry is due after the (shrunk) retry delay.
	deadline := time.Now().Add(10 * time.Second)
	for h.Link(t, c.ID, e.ID).Owed() && time.Now().Before(deadline) {
		h.Push(t, c.ID, e.ID)
		time.Sleep(20 * time.Millisecond)
	}
	evs := g.Events(calID)
	if len(evs) != 1 || evs[0].Summary != "Lost answer" || g.Count("insert event") != 1 || g.Count("duplicate") != 1 {
		t.Fatalf("events %+v, inserts %d, duplicates %d", evs, g.Count("insert event"), g.Count("duplicate"))
	}
}

func TestReconcileRestoresWhatAPersonDeletedOrChanged(t *testing.T) {
	for _, engine := range connectorstest.Engines {
		t.Run(engine, func(t *testing.T) {
			h, g, c := setup(t, engine, gcaltest.Options{}, "")
			calID := connectorstest.CalendarID(t, c)
			var entries []*calgate.Entry
			for _, ext := range []string{"a", "b", "c"} {
				e := h.Entry(t, c.ID, connectorstest.Reservation(ext, "Booking "+ext))
				h.Push(t, c.ID, e.ID)
				entries = append(entries, e)
			}
			foreign := g.Insert(calID, gcaltest.Event{Summary: "Dentist", Start: &gcaltest.EventDateTime{Date: "2026-05-06"}, End: &gcaltest.EventDateTime{Date: "2026-05-07"}})
			h.Reconcile(t, c.ID) // the first run lists everything and keeps a sync token
			if n := len(h.Conflicts(t, c.ID)); n != 0 {
				t.Fatalf("%d conflicts before anyone changed anything", n)
			}

			idA, idB := google.EventID(c.ID, entries[0].ID), google.EventID(c.ID, entries[1].ID)
			g.Delete(calID, idA)
			g.Edit(calID, idB, func(ev *gcaltest.Event) {
				ev.Summary = "Moved by hand"
				ev.Start.DateTime = "2026-05-04T11:00:00+02:00"
			})
			g.Edit(calID, foreign, func(ev *gcaltest.Event) { ev.Summary = "Dentist (moved)" })
			lists := g.Count("list events")
			h.Reconcile(t, c.ID)
			if g.Count("list events") != lists+1 {
				t.Fatal("the incremental run did not list once")
			}
			for _, e := range entries[:2] {
				if !h.Link(t, c.ID, e.ID).Owed() {
					t.Fatalf("entry %s not owed after the reconciliation", e.ExternalID)
				}
				h.Push(t, c.ID, e.ID)
			}
			if ev := eventOf(t, g, calID, idA); ev.Status != "confirmed" || ev.Summary != "Booking a" {
				t.Fatalf("deleted event not restored: %+v", ev)
			}
			if ev := eventOf(t, g, calID, idB); ev.Summary != "Booking b" || ev.Start.DateTime != "2026-05-04T09:00:00+02:00" {
				t.Fatalf("changed event not restored: %+v %+v", ev, ev.Start)
			}
			if ev := eventOf(t, g, calID, foreign); ev.Summary != "Dentist (moved)" {
				t.Fatalf("a foreign event was touched: %+v", ev)
			}
			conflicts := h.Conflicts(t, c.ID)
			if len(conflicts) != 2 || !strings.Contains(conflicts[0].Error+conflicts[1].Error, "deleted in Google Calendar") ||
				!strings.Contains(conflicts[0].Error+conflicts[1].Error, "changed in Google Calendar") {
				t.Fatalf("conflicts: %+v %+v", conflicts[0], conflicts)
			}
			// calgate's own writes are no conflict.
			h.Reconcile(t, c.ID)
			if n := len(h.Conflicts(t, c.ID)); n != 2 {
				t.Fatalf("%d conflicts after calgate's own repair", n)
			}
			rec, err := h.DB.ConnectorReconcile(context.Background(), c.ID)
			if err != nil || rec.Conflicts != 2 || rec.LastRunAt == nil || rec.LeaseToken != "" {
				t.Fatalf("record: %+v %v", rec, err)
			}

			// A sync token Google no longer accepts: 410, a full listing.
			g.ExpireSyncTokens()
			idC := google.EventID(c.ID, entries[2].ID)
			g.Delete(calID, idC)
			h.Reconcile(t, c.ID)
			h.Push(t, c.ID, entries[2].ID)
			if ev := eventOf(t, g, calID, idC); ev.Status != "confirmed" {
				t.Fatalf("after the full resync: %+v", ev)
			}
			if n := len(h.Conflicts(t, c.ID)); n != 3 {
				t.Fatalf("%d conflicts, want 3", n)
			}
			if n := len(g.Events(calID)); n != 4 {
				t.Fatalf("%d events, want 4", n)
			}
		})
	}
}

var propLine = regexp.MustCompile(`(?m)^(DTSTART|DTEND)(;[^:]*)?:(\S+)`)

// TestTimesAreWrittenAsFeedsRenderThem compares each event's start and
// end with the DTSTART and DTEND a feed renders for the same entry.
func TestTimesAreWrittenAsFeedsRenderThem(t *testing.T) {
	h, g, c := setup(t, "sqlite", gcaltest.Options{}, "")
	calID := connectorstest.CalendarID(t, c)
	cases := map[string]map[string]any{
		"berlin":    {"start": "2026-05-04T09:00:00+02:00", "end": "2026-05-04T10:30:00+02:00", "timezone": "Europe/Berlin"},
		"new-york":  {"start": "2026-03-08 01:30:00", "end": "2026-03-08 03:30:00", "timezone": "America/New_York"},
		"utc":       {"start": "2026-05-04T09:00:00Z", "end": "2026-05-04T10:00:00Z", "timezone": "UTC"},
		"ambiguous": {"start": "2026-10-25T02:30:00+01:00", "end": "2026-10-25T04:00:00+01:00", "timezone": "Europe/Berlin"},
		"all-day":   {"start": "2026-05-04", "end": "2026-05-06", "all_day": true, "timezone": "Europe/Berlin"},
	}
	for name, times := range cases {
		fields := connectorstest.Reservation(name, name)
		delete(fields, "end")
		for k, v := range times {
			fields[k] = v
		}
		e := h.Entry(t, c.ID, fields)
		h.Push(t, c.ID, e.ID)
		var feed bytes.Buffer
		if err := ical.RenderEntry(&feed, ical.Calendar{}, ical.Event{Entry: e}); err != nil {
			t.Fatal(err)
		}
		ev := eventOf(t, g, calID, google.EventID(c.ID, e.ID))
		got := map[string]*gcaltest.EventDateTime{"DTSTART": ev.Start, "DTEND": ev.End}
		_, vevent, _ := strings.Cut(feed.String(), "BEGIN:VEVENT")
		lines := propLine.FindAllStringSubmatch(vevent, -1)
		if len(lines) != 2 {
			t.Fatalf("%s: the feed has %d time lines", name, len(lines))
		}
		for _, m := range lines {
			d, params, value := got[m[1]], m[2], m[3]
			switch {
			case params == ";VALUE=DATE":
				if d.Date != value[:4]+"-"+value[4:6]+"-"+value[6:] || d.DateTime != "" {
					t.Errorf("%s %s: feed %s, Google %+v", name, m[1], value, d)
				}
			case strings.HasPrefix(params, ";TZID="):
				loc, _ := time.LoadLocation(params[6:])
				want, _ := time.ParseInLocation("20060102T150405", value, loc)
				at, err := time.Parse(time.RFC3339, d.DateTime)
				if err != nil || !at.Equal(want) || d.TimeZone != params[6:] || at.Format("15:04:05") != want.Format("15:04:05") {
					t.Errorf("%s %s: feed %s%s, Google %+v", name, m[1], params, value, d)
				}
			default:
				want, _ := time.Parse("20060102T150405Z", value)
				at, err := time.Parse(time.RFC3339, d.DateTime)
				if err != nil || !at.Equal(want) || d.TimeZone != "UTC" {
					t.Errorf("%s %s: feed %s, Google %+v", name, m[1], value, d)
				}
			}
		}
	}
}

func TestQuotaErrorsBackOff(t *testing.T) {
	for _, status := range []int{403, 429} {
		h, g, c := setup(t, "sqlite", gcaltest.Options{}, "")
		calID := connectorstest.CalendarID(t, c)
		g.Throttle(1, status)
		e := h.Entry(t, c.ID, connectorstest.Reservation("q", "Quota"))
		before := time.Now()
		if _, err := h.Service.Push(context.Background(), c.ID, e.ID, ""); err != nil {
			t.Fatal(err)
		}
		l := h.Link(t, c.ID, e.ID)
		if !l.Owed() || l.Attempts != 0 || l.NextAttemptAt == nil || l.NextAttemptAt.Before(before.Add(time.Second)) ||
			!strings.Contains(l.LastError, "quota") {
			t.Fatalf("%d: link after the quota error: %+v", status, l)
		}
		deadline := time.Now().Add(20 * time.Second)
		for h.Link(t, c.ID, e.ID).Owed() && time.Now().Before(deadline) {
			h.Push(t, c.ID, e.ID)
			time.Sleep(50 * time.Millisecond)
		}
		if evs := g.Events(calID); len(evs) != 1 {
			t.Fatalf("%d: events after the back-off: %+v", status, evs)
		}
		if g.Violations() != 0 {
			t.Fatalf("%d violations", g.Violations())
		}
	}
}

func TestChoicesAndMovingToAnotherCalendar(t *testing.T) {
	h, g, c := setup(t, "sqlite", gcaltest.Options{}, "")
	ctx := context.Background()
	first := connectorstest.CalendarID(t, c)
	shop := g.AddCalendar("Shop floor", "writer")
	holidays := g.AddCalendar("Holidays", "reader")
	choices, err := h.Service.Choices(ctx, h.Workspace.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]connectors.Choice{}
	for _, ch := range choices {
		byID[ch.ID] = ch
	}
	if len(choices) != 4 || !byID[g.Options().User].Primary || !byID[shop].Writable || byID[holidays].Writable ||
		!byID[first].Selected || byID[first].Name != calendar.DefaultCalendarName || byID[shop].Field != "mapping.calendar_id" {
		t.Fatalf("choices: %+v", choices)
	}
	e := h.Entry(t, c.ID, connectorstest.Reservation("m", "Moving"))
	h.Push(t, c.ID, e.ID)

	raw := json.RawMessage(`{"calendar_id":"` + holidays + `"}`)
	_, err = h.Service.Update(ctx, h.Workspace.ID, c.ID, calgate.ConnectorInput{Mapping: &raw})
	var ve *calgate.ValidationError
	if !errors.As(err, &ve) || ve.Errors[0].Field != "mapping.calendar_id" {
		t.Fatalf("a read-only calendar: %v", err)
	}
	raw = json.RawMessage(`{"calendar_id":"nope@group.calendar.google.com"}`)
	if _, err = h.Service.Update(ctx, h.Workspace.ID, c.ID, calgate.ConnectorInput{Mapping: &raw}); !errors.As(err, &ve) || ve.Errors[0].Field != "mapping.calendar_id" {
		t.Fatalf("an unknown calendar: %v", err)
	}
	raw = json.RawMessage(`{"calendar_id":"` + shop + `"}`)
	if _, err = h.Service.Update(ctx, h.Workspace.ID, c.ID, calgate.ConnectorInput{Mapping: &raw}); err != nil {
		t.Fatal(err)
	}
	h.Push(t, c.ID, e.ID)
	id := google.EventID(c.ID, e.ID)
	if ev := eventOf(t, g, first, id); ev.Status != "cancelled" {
		t.Fatalf("the old calendar still shows it: %+v", ev)
	}
	if ev := eventOf(t, g, shop, id); ev.Status != "confirmed" || ev.Summary != "Moving" {
		t.Fatalf("the new calendar: %+v", ev)
	}
}

func TestExpiredTokenIsRefreshedAndRevokedOneNeedsReauth(t *testing.T) {
	h, g, c := setup(t, "sqlite", gcaltest.Options{}, "")
	calID := connectorstest.CalendarID(t, c)
	g.ExpireAccessTokens()
	e := h.Entry(t, c.ID, connectorstest.Reservation("t", "Token"))
	h.Push(t, c.ID, e.ID)
	if g.Count("refresh token") != 1 || len(g.Events(calID)) != 1 {
		t.Fatalf("refreshes %d, events %d", g.Count("refresh token"), len(g.Events(calID)))
	}
	g.RevokeRefreshTokens()
	e2 := h.Entry(t, c.ID, connectorstest.Reservation("u", "Revoked"))
	if _, err := h.Service.Push(context.Background(), c.ID, e2.ID, ""); err != nil {
		t.Fatal(err)
	}
	got, _, err := h.Service.Connector(context.Background(), h.Workspace.ID, c.ID)
	if err != nil || got.State != calgate.ConnectorStateNeedsReauth || !strings.Contains(got.LastError, "invalid_grant") {
		t.Fatalf("after a revoked token: %+v %v", got, err)
	}
}

// TestChangesOfEventsWithAPushDueAreListedAgain: a reconciliation does not
// judge an event whose push is due (the listing may be older than what
// calgate is writing), and lists the same changes again next time.
func TestChangesOfEventsWithAPushDueAreListedAgain(t *testing.T) {
	h, g, c := setup(t, "sqlite", gcaltest.Options{}, "")
	ctx := context.Background()
	calID := connectorstest.CalendarID(t, c)
	fields := connectorstest.Reservation("a", "Due")
	e := h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	h.Reconcile(t, c.ID)
	before, err := h.DB.ConnectorReconcile(ctx, c.ID)
	if err != nil || before.Cursor == "" {
		t.Fatalf("record: %+v %v", before, err)
	}
	g.Delete(calID, google.EventID(c.ID, e.ID))
	fields["title"] = "Due, changed"
	e = h.Entry(t, c.ID, fields) // owed, not pushed yet
	h.Reconcile(t, c.ID)
	after, _ := h.DB.ConnectorReconcile(ctx, c.ID)
	if after.Cursor != before.Cursor || len(h.Conflicts(t, c.ID)) != 0 {
		t.Fatalf("cursor moved on (%q → %q) or a conflict was recorded", before.Cursor, after.Cursor)
	}
	h.Push(t, c.ID, e.ID)
	h.Reconcile(t, c.ID)
	if ev := eventOf(t, g, calID, google.EventID(c.ID, e.ID)); ev.Status != "confirmed" || ev.Summary != "Due, changed" {
		t.Fatalf("event: %+v", ev)
	}
	if after, _ = h.DB.ConnectorReconcile(ctx, c.ID); after.Cursor == before.Cursor {
		t.Fatal("the cursor never moved on")
	}
}
