package console

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	calgate "github.com/calgate/calgate"
)

func TestTheScheduleFiltersByKindResourceAndSource(t *testing.T) {
	f := newFixture(t)
	mk := func(kind calgate.Kind, field, res, id, source string) *calgate.Entry {
		return f.entry(f.ws, kind, map[string]any{"external_id": id, field: res, "source": source, "title": id,
			"start": "2026-12-08T08:00:00+01:00", "end": "2026-12-08T10:00:00+01:00"})
	}
	saw := mk(calgate.KindJob, "workstage", "Saw", "job-saw", "erp")
	press := mk(calgate.KindJob, "workstage", "Press", "job-press", "mes")
	room := mk(calgate.KindReservation, "resource", "Saw", "res-saw", "erp")
	b := f.browser()
	b.signIn(f.secret)
	for _, tc := range []struct {
		query string
		want  []*calgate.Entry
	}{
		{"", []*calgate.Entry{saw, press, room}},
		{"&kind=job", []*calgate.Entry{saw, press}},
		{"&kind=job&kind=reservation", []*calgate.Entry{saw, press, room}},
		{"&resource=Saw", []*calgate.Entry{saw, room}},
		{"&source=mes", []*calgate.Entry{press}},
		{"&kind=reservation&resource=Saw&source=erp", []*calgate.Entry{room}},
	} {
		status, body := b.get("/console/schedule?view=week&date=2026-12-08" + tc.query)
		if status != http.StatusOK {
			t.Fatalf("%s: %d", tc.query, status)
		}
		if n := strings.Count(body, `data-entry="`); n != len(tc.want) {
			t.Errorf("%s: %d bars, want %d", tc.query, n, len(tc.want))
		}
		for _, e := range tc.want {
			if !strings.Contains(body, `data-entry="`+e.ID+`"`) {
				t.Errorf("%s: no bar for %s", tc.query, e.ExternalID)
			}
		}
	}
	// Another week shows none of them.
	if _, body := b.get("/console/schedule?view=week&date=2026-12-15"); strings.Contains(body, `data-entry="`) {
		t.Error("the next week shows this week's entries")
	}
}

func TestSubscriptionEntriesAreMarked(t *testing.T) {
	f := newFixture(t)
	e := f.entry(f.ws, calgate.KindReservation, map[string]any{"external_id": "uid-1", "resource": "Cabin", "source": calgate.SourcePrefixICal + "sub_1",
		"title": "Airbnb block", "start": "2026-12-08T00:00:00Z", "end": "2026-12-09T00:00:00Z"})
	b := f.browser()
	b.signIn(f.secret)
	_, body := b.get("/console/schedule?view=week&date=2026-12-08")
	if !strings.Contains(body, `from-sub" data-entry="`+e.ID+`"`) {
		t.Fatalf("the bar is not marked as a subscription's:\n%s", body)
	}
	if _, body = b.get("/console/entries/reservation/" + e.ID); !strings.Contains(body, `id="from-subscription"`) {
		t.Fatal("the entry page does not say it came from a subscription")
	}
}

func TestHealthCountsEventsAndListsFailingSubscriptions(t *testing.T) {
	f := newFixture(t)
	// Three jobs on three workstages: three events, no conflict among them.
	for _, id := range []string{"a", "b", "c"} {
		f.entry(f.ws, calgate.KindJob, map[string]any{"external_id": id, "workstage": "W" + id, "start": "2026-12-08T08:00:00Z", "end": "2026-12-08T09:00:00Z"})
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	sub := &calgate.Subscription{ID: calgate.NewID("sub"), WorkspaceID: f.ws.ID, Name: "supplier calendar", URL: "https://example.com/a.ics",
		Kind: calgate.KindReservation, Resource: "Cabin", PollInterval: time.Hour, State: calgate.SubscriptionError,
		LastError: "answered 503 Service Unavailable", LastPolledAt: &now, NextPollAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
	if err := f.db.CreateSubscription(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	if err := f.db.RecordPoll(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	target := &calgate.CalDAVTarget{ID: calgate.NewID("cdt"), WorkspaceID: f.ws.ID, URL: "https://dav.example.com/",
		CalendarURL: "https://dav.example.com/cal/a/", CalendarName: "Workshop", OnArchive: calgate.OnArchiveDelete, State: calgate.CalDAVStateOK,
		LastError: "PUT answered 507 Insufficient Storage", ReconcileAt: now, CreatedAt: now, UpdatedAt: now}
	if err := f.db.CreateCalDAVTarget(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	b.signIn(f.secret)
	status, body := b.get("/console/health")
	if status != http.StatusOK {
		t.Fatalf("health: %d", status)
	}
	for _, want := range []string{`id="events-total">3<`, "supplier calendar", "answered 503 Service Unavailable", `id="owed"`,
		"Workshop (https://dav.example.com/)", "507 Insufficient Storage"} {
		if !strings.Contains(body, want) {
			t.Errorf("health lacks %q", want)
		}
	}
	if _, body = b.get("/console/sync"); !strings.Contains(body, "supplier calendar") || !strings.Contains(body, "answered 503") ||
		!strings.Contains(body, "507 Insufficient Storage") {
		t.Error("the calendars page does not show the subscription's error")
	}
	// A token that is not an admin's sees its workspace, not the gateway's
	// owed work.
	tok, secret := calgate.NewToken(f.ws.ID, "clerk", "console", false)
	if err := f.db.CreateToken(context.Background(), tok, calgate.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	clerk := f.browser()
	clerk.signIn(secret)
	if _, body = clerk.get("/console/health"); strings.Contains(body, `id="owed"`) || !strings.Contains(body, `id="events-total">3<`) {
		t.Error("a non-admin token sees owed work, or not its workspace's events")
	}
	if _, body = clerk.get("/console/tokens"); strings.Contains(body, f.token.ID) || !strings.Contains(body, tok.ID) {
		t.Error("a non-admin token sees other users' tokens, or not its own")
	}
}

func TestTheSchedulePagesByItsView(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn(f.secret)
	for _, tc := range []struct{ view, prev, next string }{
		{"day", "2026-12-08", "2026-12-10"},
		{"week", "2026-11-30", "2026-12-14"}, // the week of Wednesday 9 December starts on the 7th
		{"month", "2026-11-01", "2027-01-01"},
	} {
		_, body := b.get("/console/schedule?view=" + tc.view + "&date=2026-12-09")
		for _, want := range []string{"date=" + tc.prev + "&amp;view=" + tc.view + `" rel="prev"`, "date=" + tc.next + "&amp;view=" + tc.view + `" rel="next"`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s view lacks the link %s", tc.view, want)
			}
		}
	}
}

func TestTheTimelineSaysWhenItShowsOnlyPart(t *testing.T) {
	f := newFixture(t)
	seedWeek(t, f, time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), MaxTimelineEntries+1, 10)
	b := f.browser()
	b.signIn(f.secret)
	_, body := b.get("/console/schedule?view=week&date=2026-12-07")
	if !strings.Contains(body, fmt.Sprintf("%d entries (only the first ones are shown", MaxTimelineEntries)) {
		t.Fatal("the page does not say that entries were left out")
	}
	if n := strings.Count(body, `data-entry="`); n != MaxTimelineEntries {
		t.Fatalf("%d bars, want %d", n, MaxTimelineEntries)
	}
}
