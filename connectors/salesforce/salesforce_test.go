package salesforce_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors/connectorstest"
	"github.com/calgate/calgate/connectors/salesforce"
	"github.com/calgate/calgate/connectors/salesforce/sftest"
)

func setup(t testing.TB, engine string, o sftest.Options, mapping string) (*connectorstest.Harness, *sftest.Server, *calgate.Connector) {
	t.Helper()
	o.RedirectURI = connectorstest.RedirectURI
	sf := sftest.Start(t, o)
	h := connectorstest.Open(t, engine, nil)
	h.Service.Add(salesforce.New(salesforce.Config{ClientID: sf.Options().ClientID, ClientSecret: sf.Options().ClientSecret, LoginURL: sf.LoginURL()}))
	c := h.Connect(t, connectorstest.Input(salesforce.Type, mapping))
	if c.Account != sf.Options().OrgID || c.AccountURL != sf.InstanceURL() {
		t.Fatalf("connected to %q at %q", c.Account, c.AccountURL)
	}
	return h, sf, c
}

func eventsOf(sf *sftest.Server, entryID string) []sftest.Event {
	var out []sftest.Event
	for _, ev := range sf.Events() {
		if ev.ExternalID == entryID {
			out = append(out, ev)
		}
	}
	return out
}

func TestCreateUpdateCancelLeavesOneEvent(t *testing.T) {
	for _, engine := range connectorstest.Engines {
		t.Run(engine, func(t *testing.T) {
			h, sf, c := setup(t, engine, sftest.Options{}, `{}`)
			fields := connectorstest.Reservation("r1", "Kick-off")
			fields["location"] = "Main building"
			e := h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			contacts := sf.Contacts()
			if len(contacts) != 1 || contacts[0].ExternalID != "ada@example.com" || contacts[0].FirstName != "Ada" || contacts[0].LastName != "Lovelace" {
				t.Fatalf("contacts: %+v", contacts)
			}
			evs := eventsOf(sf, e.ID)
			if len(evs) != 1 || evs[0].WhoID != contacts[0].ID || evs[0].Subject != "Kick-off" || evs[0].Start != "2026-05-04T07:00:00.000Z" ||
				evs[0].End != "2026-05-04T08:30:00.000Z" || evs[0].Location != "Main building" || evs[0].ShowAs != "Busy" ||
				!strings.Contains(evs[0].Description, "resource: Room 1") || evs[0].AllDay {
				t.Fatalf("event: %+v", evs)
			}

			fields["title"] = "Kick-off (moved)"
			fields["start"] = "2026-05-05T09:00:00+02:00"
			fields["end"] = "2026-05-05T11:00:00+02:00"
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			// A re-delivered change, or a resync, updates the same Event.
			if _, err := h.Service.Resync(context.Background(), h.Workspace.ID, c.ID); err != nil {
				t.Fatal(err)
			}
			h.Push(t, c.ID, e.ID)
			evs = eventsOf(sf, e.ID)
			if len(evs) != 1 || evs[0].Subject != "Kick-off (moved)" || evs[0].Start != "2026-05-05T07:00:00.000Z" || evs[0].Deleted {
				t.Fatalf("after the update: %+v", evs)
			}

			fields["status"] = "cancelled"
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			evs = eventsOf(sf, e.ID)
			if len(evs) != 1 || !evs[0].Deleted {
				t.Fatalf("after the cancellation: %+v", evs)
			}
			for op, want := range map[string]int{"create Event": 1, "update Event": 2, "delete Event": 1, "create Contact": 1, "update Contact": 0} {
				if got := sf.Count(op); got != want {
					t.Errorf("%s: %d, want %d", op, got, want)
				}
			}
			if l := h.Link(t, c.ID, e.ID); l.Owed() || l.RemoteState != "deleted" {
				t.Fatalf("link: %+v", l)
			}
			// Confirming it again makes a new Event (the old one is in the
			// recycle bin).
			fields["status"] = "confirmed"
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			if evs = eventsOf(sf, e.ID); len(evs) != 2 || evs[1].Deleted || h.Link(t, c.ID, e.ID).RemoteID != evs[1].ID {
				t.Fatalf("after confirming again: %+v", evs)
			}
		})
	}
}

func TestCancellationMarksTheEvent(t *testing.T) {
	h, sf, c := setup(t, "sqlite", sftest.Options{}, `{"on_cancel":"mark","cancelled_prefix":"[X] "}`)
	fields := connectorstest.Reservation("r1", "Workshop")
	e := h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	fields["status"] = "cancelled"
	e = h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	evs := eventsOf(sf, e.ID)
	if len(evs) != 1 || evs[0].Deleted || evs[0].Subject != "[X] Workshop" || evs[0].ShowAs != "Free" || evs[0].WhoID == "" {
		t.Fatalf("marked: %+v", evs)
	}
	// Confirmed again, the same Event is live again.
	fields["status"] = "confirmed"
	e = h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	if evs = eventsOf(sf, e.ID); len(evs) != 1 || evs[0].Subject != "Workshop" || evs[0].ShowAs != "Busy" {
		t.Fatalf("confirmed again: %+v", evs)
	}
}

func TestContactDeletedInSalesforceIsMadeAgain(t *testing.T) {
	h, sf, c := setup(t, "sqlite", sftest.Options{}, `{}`)
	fields := connectorstest.Reservation("r1", "v1")
	e := h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	sf.Delete(sf.Contacts()[0].ID)
	fields["title"] = "v2"
	e = h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	contacts := sf.Contacts()
	evs := eventsOf(sf, e.ID)
	if len(contacts) != 2 || contacts[1].Deleted || len(evs) != 1 || evs[0].WhoID != contacts[1].ID || evs[0].Subject != "v2" {
		t.Fatalf("contacts %+v, events %+v", contacts, evs)
	}
	if l := h.Link(t, c.ID, e.ID); l.Owed() {
		t.Fatalf("link: %+v", l)
	}
}

func TestAllDayAndLongEntries(t *testing.T) {
	h, sf, c := setup(t, "sqlite", sftest.Options{}, `{}`)
	weekend := connectorstest.Reservation("w1", "Weekend")
	weekend["start"], weekend["end"] = "2026-05-02", "2026-05-04"
	long := connectorstest.Reservation("l1", "Three weeks")
	long["start"], long["end"] = "2026-06-01T08:00:00+02:00", "2026-06-22T18:00:00+02:00"
	we := h.Entry(t, c.ID, weekend)
	le := h.Entry(t, c.ID, long)
	if n := h.PushAll(t, c.ID); n != 0 {
		t.Fatalf("%d full batches", n)
	}
	ev := eventsOf(sf, we.ID)
	if len(ev) != 1 || !ev[0].AllDay || ev[0].ActivityDate != "2026-05-02" || ev[0].DurationInMinutes != 2*24*60 {
		t.Fatalf("all-day event: %+v", ev)
	}
	ev = eventsOf(sf, le.ID)
	if len(ev) != 1 || ev[0].DurationInMinutes != 14*24*60 || !strings.Contains(ev[0].Description, "Until 2026-06-22 18:00 Europe/Berlin") {
		t.Fatalf("long event: %+v", ev)
	}
	// The two entries shared one Contact upsert and one Event upsert.
	if sf.Calls() != 2 {
		t.Fatalf("%d calls", sf.Calls())
	}
}

// TestBulkCostsTheDocumentedCalls pushes 1,000 new entries of 1,000
// customers: 5 batches of 200, each one Contact and one Event upsert, as
// docs/connectors.md says; cancelling them all costs 5 deletes.
func TestBulkCostsTheDocumentedCalls(t *testing.T) {
	for _, engine := range connectorstest.Engines {
		t.Run(engine, func(t *testing.T) {
			h, sf, c := setup(t, engine, sftest.Options{}, `{}`)
			list := make([]map[string]any, 1000)
			for i := range list {
				list[i] = connectorstest.Reservation(fmt.Sprintf("b%04d", i), "Bulk")
				list[i]["customer"] = map[string]any{"name": fmt.Sprintf("Customer %d", i), "email": fmt.Sprintf("c%d@example.com", i)}
			}
			entries := h.Entries(t, c.ID, list)
			if n := h.PushAll(t, c.ID); n != 5 {
				t.Fatalf("%d full batches, want 5", n)
			}
			if got := sf.Calls(); got != 10 {
				t.Fatalf("1,000 new entries cost %d calls, want 10", got)
			}
			if len(sf.Events()) != 1000 || len(sf.Contacts()) != 1000 || sf.Count("create Event") != 1000 {
				t.Fatalf("%d events, %d contacts", len(sf.Events()), len(sf.Contacts()))
			}
			for i := range list {
				list[i]["status"] = "cancelled"
			}
			h.Entries(t, c.ID, list)
			h.PushAll(t, c.ID)
			if got := sf.Calls(); got != 15 {
				t.Fatalf("cancelling 1,000 entries cost %d calls, want 5", got-10)
			}
			for _, id := range entries[:3] {
				if evs := eventsOf(sf, id); len(evs) != 1 || !evs[0].Deleted {
					t.Fatalf("%s: %+v", id, evs)
				}
			}
			if b, _ := h.DB.ConnectorBacklog(context.Background(), c.ID); b.Pending != 0 {
				t.Fatalf("backlog: %+v", b)
			}
		})
	}
}

func TestBadRecordFailsAlone(t *testing.T) {
	h, sf, c := setup(t, "sqlite", sftest.Options{NoMultidayEvents: true}, `{}`)
	good := h.Entry(t, c.ID, connectorstest.Reservation("g1", "One hour"))
	bad := connectorstest.Reservation("b1", "Three days")
	bad["end"] = "2026-05-07T10:30:00+02:00"
	be := h.Entry(t, c.ID, bad)
	badMail := connectorstest.Reservation("m1", "Bad address")
	badMail["customer"] = map[string]any{"name": "Nobody", "email": "not an address"}
	me := h.Entry(t, c.ID, badMail)
	h.PushAll(t, c.ID)
	if evs := eventsOf(sf, good.ID); len(evs) != 1 {
		t.Fatalf("the good entry: %+v", evs)
	}
	for _, tc := range []struct {
		e    *calgate.Entry
		want string
	}{{be, "FIELD_INTEGRITY_EXCEPTION"}, {me, "INVALID_EMAIL_ADDRESS"}} {
		l := h.Link(t, c.ID, tc.e.ID)
		if !l.Owed() || l.Attempts != 1 || !strings.Contains(l.LastError, tc.want) || len(eventsOf(sf, tc.e.ID)) != 0 {
			t.Fatalf("%s: %+v", tc.want, l)
		}
	}
	// An org without multiday events takes max_event_days 1.
	raw := json.RawMessage(`{"max_event_days":1}`)
	if _, err := h.Service.Update(context.Background(), h.Workspace.ID, c.ID, calgate.ConnectorInput{Mapping: &raw}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Service.Resync(context.Background(), h.Workspace.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	h.PushAll(t, c.ID)
	if evs := eventsOf(sf, be.ID); len(evs) != 1 || evs[0].DurationInMinutes != 24*60 {
		t.Fatalf("the long entry clipped to a day: %+v", evs)
	}
}

func TestExpiredSessionRefreshAndReauth(t *testing.T) {
	h, sf, c := setup(t, "sqlite", sftest.Options{}, `{}`)
	fields := connectorstest.Reservation("r1", "v1")
	e := h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	sf.ExpireAccessTokens()
	fields["title"] = "v2"
	e = h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	if sf.Count("refresh token") != 1 || eventsOf(sf, e.ID)[0].Subject != "v2" {
		t.Fatalf("%d refreshes, %+v", sf.Count("refresh token"), eventsOf(sf, e.ID))
	}
	sf.RevokeRefreshTokens()
	fields["title"] = "v3"
	e = h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	cur, _, err := h.Service.Connector(context.Background(), h.Workspace.ID, c.ID)
	if err != nil || cur.State != calgate.ConnectorStateNeedsReauth {
		t.Fatalf("state %q (%v)", cur.State, err)
	}
	if l := h.Link(t, c.ID, e.ID); !l.Owed() {
		t.Fatalf("the change was dropped: %+v", l)
	}
}

func TestRequestLimitExceededWaits(t *testing.T) {
	h, sf, c := setup(t, "sqlite", sftest.Options{}, `{}`)
	e := h.Entry(t, c.ID, connectorstest.Reservation("r1", "Limited"))
	sf.Throttle(1)
	before := time.Now()
	h.Push(t, c.ID, e.ID)
	l := h.Link(t, c.ID, e.ID)
	if !l.Owed() || l.Attempts != 0 || l.NextAttemptAt == nil || l.NextAttemptAt.Before(before.Add(50*time.Minute)) || !strings.Contains(l.LastError, "REQUEST_LIMIT_EXCEEDED") {
		t.Fatalf("link after REQUEST_LIMIT_EXCEEDED: %+v", l)
	}
	calls, _ := h.DB.ConnectorCalls(context.Background(), c.ID, calgate.ConnectorCallFilter{Limit: 10})
	if len(calls) == 0 || calls[0].StatusCode != 403 || !strings.Contains(calls[0].Error, "TotalRequests Limit exceeded") {
		t.Fatalf("log: %+v", calls)
	}
}

func TestUnknownExternalIDFieldIsReported(t *testing.T) {
	h, sf, c := setup(t, "sqlite", sftest.Options{}, `{"event_external_id_field":"Booking_Id__c"}`)
	e := h.Entry(t, c.ID, connectorstest.Reservation("r1", "Nowhere"))
	h.Push(t, c.ID, e.ID)
	if l := h.Link(t, c.ID, e.ID); !l.Owed() || !strings.Contains(l.LastError, "Provided external ID field does not exist") || len(sf.Events()) != 0 {
		t.Fatalf("link: %+v", l)
	}
}

func TestSalesforceMappingIsChecked(t *testing.T) {
	v := salesforce.New(salesforce.Config{})
	_, err := v.Mapping(json.RawMessage(`{"api_version":"45.0","on_cancel":"archive","max_event_days":30,"event_external_id_field":"a b"}`))
	var ve *calgate.ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 4 {
		t.Fatalf("Mapping = %v", err)
	}
	raw, err := v.Mapping(json.RawMessage(`{}`))
	if err != nil || !strings.Contains(string(raw), `"api_version":"62.0"`) || !strings.Contains(string(raw), `"on_cancel":"delete"`) {
		t.Fatalf("defaults: %s %v", raw, err)
	}
}
