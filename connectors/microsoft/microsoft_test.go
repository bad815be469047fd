package microsoft_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/connectorstest"
	"github.com/calgate/calgate/connectors/microsoft"
	"github.com/calgate/calgate/connectors/microsoft/graphtest"
	"github.com/calgate/calgate/ical"
)

// clock is the services' time: the real time plus an offset a test moves
// on.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func setup(t testing.TB, engine string, o graphtest.Options, mapping string, clk ...*clock) (*connectorstest.Harness, *graphtest.Server, *calgate.Connector) {
	t.Helper()
	o.RedirectURI = connectorstest.RedirectURI
	g := graphtest.Start(t, o)
	h := connectorstest.Open(t, engine, func(opt *connectors.Options) {
		if len(clk) > 0 {
			opt.Now = clk[0].now
		}
	})
	h.Service.Add(microsoft.New(microsoft.Config{AppConfig: connectors.AppConfig{ClientID: g.Options().ClientID, ClientSecret: g.Options().ClientSecret,
		AuthURL: g.AuthURL("common"), TokenURL: g.TokenURL("common"), APIURL: g.APIURL(), NoLimits: o.NoLimit}}))
	c := h.Connect(t, connectorstest.Input(microsoft.Type, mapping))
	if c.Account != g.Options().UserID || c.AccountName != g.Options().UserPrincipalName {
		t.Fatalf("connected to %q (%q)", c.Account, c.AccountName)
	}
	return h, g, c
}

func TestCreateMoveCancelLeavesOneEventInTheRightState(t *testing.T) {
	for _, engine := range connectorstest.Engines {
		t.Run(engine, func(t *testing.T) {
			h, g, c := setup(t, engine, graphtest.Options{}, `{"calendar_name":"Jobs","title_templates":{"reservation":"{resource}: {title}"}}`)
			calID := connectorstest.CalendarID(t, c)
			if g.Count("create calendar") != 1 || len(g.Calendars()) != 2 {
				t.Fatalf("calendars: %+v", g.Calendars())
			}
			fields := connectorstest.Reservation("r1", "Kick-off")
			e := h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			evs := g.Events(calID)
			if len(evs) != 1 || evs[0].Subject != "Room 1: Kick-off" || evs[0].Start.DateTime != "2026-05-04T07:00:00.0000000" ||
				evs[0].End.DateTime != "2026-05-04T08:30:00.0000000" || evs[0].ShowAs != "busy" {
				t.Fatalf("created: %+v", evs)
			}
			id := evs[0].ID
			stored, _ := g.Event(id)
			if stored.OriginalStartTimeZone != "W. Europe Standard Time" || stored.TransactionID == "" ||
				len(stored.SingleValueExtendedProperties) != 1 || stored.SingleValueExtendedProperties[0].ID != microsoft.PropertyID ||
				!strings.HasSuffix(stored.SingleValueExtendedProperties[0].Value, e.ID) {
				t.Fatalf("stored: %+v", stored)
			}

			fields["start"], fields["end"], fields["status"] = "2026-05-05T13:00:00+02:00", "2026-05-05T15:00:00+02:00", "tentative"
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			if evs = g.Events(calID); len(evs) != 1 || evs[0].ID != id || evs[0].Start.DateTime != "2026-05-05T11:00:00.0000000" || evs[0].ShowAs != "tentative" {
				t.Fatalf("moved: %+v", evs)
			}
			fields["status"] = "cancelled"
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			if evs = g.Events(calID); len(evs) != 0 {
				t.Fatalf("cancelled: %+v", evs)
			}
			for op, want := range map[string]int{"create event": 1, "update event": 1, "delete event": 1, "replay": 0} {
				if got := g.Count(op); got != want {
					t.Errorf("%s: %d, want %d", op, got, want)
				}
			}
		})
	}
}

func TestTimeZonesAsGraphTakesThem(t *testing.T) {
	h, g, c := setup(t, "sqlite", graphtest.Options{}, "")
	calID := connectorstest.CalendarID(t, c)
	cases := []struct {
		fields         map[string]any
		zone, start    string
		allDay         bool
		startUTC, date string
	}{
		{map[string]any{"start": "2026-05-04T09:00:00+02:00", "end": "2026-05-04T10:00:00+02:00", "timezone": "Europe/Berlin"}, "W. Europe Standard Time", "2026-05-04T09:00:00", false, "2026-05-04T07:00:00.0000000", ""},
		{map[string]any{"start": "2026-05-04T09:00:00+02:00", "end": "2026-05-04T10:00:00+02:00", "timezone": "Europe/Vienna"}, "Europe/Vienna", "2026-05-04T09:00:00", false, "2026-05-04T07:00:00.0000000", ""},
		{map[string]any{"start": "2026-05-04T09:00:00Z", "end": "2026-05-04T10:00:00Z", "timezone": "UTC"}, "UTC", "2026-05-04T09:00:00", false, "2026-05-04T09:00:00.0000000", ""},
		{map[string]any{"start": "2026-10-25T02:30:00+01:00", "end": "2026-10-25T04:00:00+01:00", "timezone": "Europe/Berlin"}, "UTC", "2026-10-25T01:30:00", false, "2026-10-25T01:30:00.0000000", ""},
		{map[string]any{"start": "2026-05-04", "end": "2026-05-06", "all_day": true, "timezone": "America/New_York"}, "Eastern Standard Time", "2026-05-04T00:00:00", true, "", "2026-05-04"},
	}
	for i, tc := range cases {
		fields := connectorstest.Reservation(string(rune('a'+i)), "zone")
		delete(fields, "end")
		for k, v := range tc.fields {
			fields[k] = v
		}
		e := h.Entry(t, c.ID, fields)
		h.Push(t, c.ID, e.ID)
		l := h.Link(t, c.ID, e.ID)
		stored, ok := g.Event(l.RemoteID)
		if !ok || stored.Start.TimeZone != tc.zone || stored.Start.DateTime != tc.start || (stored.IsAllDay != nil && *stored.IsAllDay) != tc.allDay {
			t.Errorf("%v: stored %+v %+v", tc.fields, stored.Start, stored.IsAllDay)
		}
		// The same instant (or date) a feed writes.
		times := ical.Times(e)
		for _, ev := range g.Events(calID) {
			if ev.ID != l.RemoteID {
				continue
			}
			if tc.allDay && (ev.Start.DateTime[:10] != times.StartDate || ev.End.DateTime[:10] != times.EndDate) {
				t.Errorf("all-day: %+v %+v, feed %s–%s", ev.Start, ev.End, times.StartDate, times.EndDate)
			}
			if !tc.allDay && (ev.Start.DateTime != tc.startUTC || ev.Start.DateTime != times.Start.UTC().Format("2006-01-02T15:04:05.0000000")) {
				t.Errorf("%v: %+v, feed %s", tc.fields, ev.Start, times.Start)
			}
		}
	}
}

func TestRetriedCreateIsNotDoubled(t *testing.T) {
	h, g, c := setup(t, "sqlite", graphtest.Options{}, "")
	calID := connectorstest.CalendarID(t, c)
	e := h.Entry(t, c.ID, connectorstest.Reservation("r1", "Retried"))
	ctx := context.Background()
	// The create was made, its answer lost: the key is recorded on the
	// link, the event exists.
	l := h.Link(t, c.ID, e.ID)
	if _, err := h.DB.ClaimConnectorLink(ctx, c.ID, e.ID, "t1", time.Now(), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	key := "lost-" + e.ID
	if err := h.DB.SetConnectorCreateKey(ctx, c.ID, e.ID, key); err != nil {
		t.Fatal(err)
	}
	if err := h.DB.ReleaseConnectorLink(ctx, c.ID, e.ID, l.Attempts, ptr(time.Now()), "connection reset"); err != nil {
		t.Fatal(err)
	}
	h.Push(t, c.ID, e.ID)
	first := g.Events(calID)
	if len(first) != 1 {
		t.Fatalf("events: %+v", first)
	}
	// Delete the link's record of the event as if the answer had been lost
	// after the create: the retry finds the event by calgate's property.
	if err := h.DB.OweConnectorLinks(ctx, c.ID, map[string]int64{e.ID: e.Version}, time.Now()); err != nil {
		t.Fatal(err)
	}
	got := h.Link(t, c.ID, e.ID)
	got.RemoteID, got.RemoteState, got.CreateKey = "", "", ""
	if err := h.DB.SaveConnectorLink(ctx, got, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := h.DB.OweConnectorLinks(ctx, c.ID, map[string]int64{e.ID: e.Version + 1}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := h.DB.SetConnectorCreateKey(ctx, c.ID, e.ID, key); err != nil {
		t.Fatal(err)
	}
	h.Push(t, c.ID, e.ID)
	if evs := g.Events(calID); len(evs) != 1 || evs[0].ID != first[0].ID || g.Count("create event") != 1 {
		t.Fatalf("after the retried create: %+v, %d creates", evs, g.Count("create event"))
	}
}

func ptr[T any](v T) *T { return &v }

func TestReconcileRestoresWhatAPersonDeletedOrChanged(t *testing.T) {
	for _, engine := range connectorstest.Engines {
		t.Run(engine, func(t *testing.T) {
			clk := &clock{}
			h, g, c := setup(t, engine, graphtest.Options{PageSize: 2}, "", clk)
			calID := connectorstest.CalendarID(t, c)
			// The calendar view follows the weeks around today.
			day := time.Now().UTC().AddDate(0, 0, 7).Format("2006-01-02")
			var entries []*calgate.Entry
			for _, ext := range []string{"a", "b", "c"} {
				fields := connectorstest.Reservation(ext, "Booking "+ext)
				fields["start"], fields["end"], fields["timezone"] = day+"T07:00:00Z", day+"T08:00:00Z", "UTC"
				e := h.Entry(t, c.ID, fields)
				h.Push(t, c.ID, e.ID)
				entries = append(entries, e)
			}
			at, _ := time.Parse("2006-01-02", day)
			foreign := g.Insert(calID, "Dentist", at.Add(8*time.Hour), at.Add(9*time.Hour))
			h.Reconcile(t, c.ID)
			if n := len(h.Conflicts(t, c.ID)); n != 0 {
				t.Fatalf("%d conflicts before anyone changed anything", n)
			}
			idA, idB := h.Link(t, c.ID, entries[0].ID).RemoteID, h.Link(t, c.ID, entries[1].ID).RemoteID
			g.Delete(idA)
			g.Edit(idB, func(ev *graphtest.Event) { ev.Subject = "Moved by hand" }, 2*time.Hour)
			g.Edit(foreign, func(ev *graphtest.Event) { ev.Subject = "Dentist (moved)" }, time.Hour)
			deltas := g.Count("delta")
			h.Reconcile(t, c.ID)
			if g.Count("delta") != deltas+1 {
				t.Fatal("the incremental run did not follow the delta link once")
			}
			for _, e := range entries[:2] {
				h.Push(t, c.ID, e.ID)
			}
			evs := g.Events(calID)
			subjects := []string{}
			for _, ev := range evs {
				subjects = append(subjects, ev.Subject+"@"+ev.Start.DateTime)
			}
			want := "Booking a@" + day + "T07:00:00.0000000,Booking b@" + day + "T07:00:00.0000000,Booking c@" + day + "T07:00:00.0000000,Dentist (moved)@" + day + "T09:00:00.0000000"
			if strings.Join(subjects, ",") != want {
				t.Fatalf("after the repair: %v", subjects)
			}
			conflicts := h.Conflicts(t, c.ID)
			if len(conflicts) != 2 {
				t.Fatalf("conflicts: %+v", conflicts)
			}
			h.Reconcile(t, c.ID)
			if n := len(h.Conflicts(t, c.ID)); n != 2 {
				t.Fatalf("%d conflicts after calgate's own repair", n)
			}

			// A delta link Graph no longer knows: 410, a new round, which
			// trusts records made a while before it began.
			clk.advance(time.Minute)
			g.ExpireDeltaTokens()
			g.Delete(h.Link(t, c.ID, entries[2].ID).RemoteID)
			h.Reconcile(t, c.ID)
			h.Push(t, c.ID, entries[2].ID)
			if n := len(g.Events(calID)); n != 4 {
				t.Fatalf("%d events after the new round, want 4", n)
			}
			if n := len(h.Conflicts(t, c.ID)); n != 3 {
				t.Fatalf("%d conflicts, want 3", n)
			}
		})
	}
}

func TestThrottlingHonoursRetryAfter(t *testing.T) {
	h, g, c := setup(t, "sqlite", graphtest.Options{}, "")
	calID := connectorstest.CalendarID(t, c)
	g.Throttle(1)
	e := h.Entry(t, c.ID, connectorstest.Reservation("q", "Throttled"))
	before := time.Now()
	if _, err := h.Service.Push(context.Background(), c.ID, e.ID, ""); err != nil {
		t.Fatal(err)
	}
	l := h.Link(t, c.ID, e.ID)
	if !l.Owed() || l.Attempts != 0 || l.NextAttemptAt == nil || l.NextAttemptAt.Before(before.Add(time.Second)) || !strings.Contains(l.LastError, "429") {
		t.Fatalf("after the 429: %+v", l)
	}
	deadline := time.Now().Add(20 * time.Second)
	for h.Link(t, c.ID, e.ID).Owed() && time.Now().Before(deadline) {
		h.Push(t, c.ID, e.ID)
		time.Sleep(50 * time.Millisecond)
	}
	if evs := g.Events(calID); len(evs) != 1 || g.Violations() != 0 {
		t.Fatalf("events %+v, violations %d", evs, g.Violations())
	}
}

func TestChoicesAndReadOnlyCalendars(t *testing.T) {
	h, g, c := setup(t, "sqlite", graphtest.Options{}, "")
	ctx := context.Background()
	shared := g.AddCalendar("Shared with me", false)
	choices, err := h.Service.Choices(ctx, h.Workspace.ID, c.ID)
	if err != nil || len(choices) != 3 {
		t.Fatalf("choices: %+v %v", choices, err)
	}
	for _, ch := range choices {
		if (ch.ID == shared) == ch.Writable || (ch.ID == g.DefaultCalendar()) != ch.Primary || (ch.ID == connectorstest.CalendarID(t, c)) != ch.Selected {
			t.Errorf("choice %+v", ch)
		}
	}
	raw := json.RawMessage(`{"calendar_id":"` + shared + `"}`)
	_, err = h.Service.Update(ctx, h.Workspace.ID, c.ID, calgate.ConnectorInput{Mapping: &raw})
	var ve *calgate.ValidationError
	if !errors.As(err, &ve) || ve.Errors[0].Field != "mapping.calendar_id" {
		t.Fatalf("a read-only calendar: %v", err)
	}
	e := h.Entry(t, c.ID, connectorstest.Reservation("d", "Default"))
	h.Push(t, c.ID, e.ID)
	raw = json.RawMessage(`{"calendar_id":"` + g.DefaultCalendar() + `"}`)
	if _, err = h.Service.Update(ctx, h.Workspace.ID, c.ID, calgate.ConnectorInput{Mapping: &raw}); err != nil {
		t.Fatal(err)
	}
	h.Push(t, c.ID, e.ID)
	if evs := g.Events(g.DefaultCalendar()); len(evs) != 1 || len(g.Events(connectorstest.CalendarID(t, c))) != 0 {
		t.Fatalf("after moving to the default calendar: %+v", evs)
	}
}
