package hubspot_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/connectorstest"
	"github.com/calgate/calgate/connectors/hubspot"
	"github.com/calgate/calgate/connectors/hubspot/hstest"
)

func start(t testing.TB, engine string, o hstest.Options, limits *connectors.Limits) (*connectorstest.Harness, *hstest.Server) {
	t.Helper()
	o.RedirectURI = connectorstest.RedirectURI
	hs := hstest.Start(t, o)
	h := connectorstest.Open(t, engine, nil)
	h.Service.Add(hubspot.New(hubspot.Config{AppConfig: connectors.AppConfig{ClientID: hs.Options().ClientID, ClientSecret: hs.Options().ClientSecret,
		AuthURL: hs.AuthURL(), TokenURL: hs.TokenURL(), APIURL: hs.APIURL(), Limits: limits}}))
	return h, hs
}

func withToken(t testing.TB, h *connectorstest.Harness, hs *hstest.Server, mapping string) *calgate.Connector {
	t.Helper()
	in, key := connectorstest.Input(hubspot.Type, mapping), hs.Options().PrivateAppToken
	in.APIKey = &key
	c := h.ConnectKey(t, in)
	if c.Account != "62515" {
		t.Fatalf("account %q", c.Account)
	}
	return c
}

func meetingsOf(hs *hstest.Server, entryID string) []hstest.Record {
	var out []hstest.Record
	for _, m := range hs.Records("meetings") {
		if m.Properties["calgate_entry_id"] == entryID {
			out = append(out, m)
		}
	}
	return out
}

func TestCreateUpdateCancelLeavesOneMeeting(t *testing.T) {
	for _, engine := range connectorstest.Engines {
		t.Run(engine, func(t *testing.T) {
			h, hs := start(t, engine, hstest.Options{}, nil)
			c := withToken(t, h, hs, `{}`)
			fields := connectorstest.Reservation("r1", "Kick-off")
			e := h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			contacts := hs.Records("contacts")
			if len(contacts) != 1 || contacts[0].Properties["email"] != "ada@example.com" || contacts[0].Properties["firstname"] != "Ada" || contacts[0].Properties["lastname"] != "Lovelace" {
				t.Fatalf("contacts: %+v", contacts)
			}
			ms := meetingsOf(hs, e.ID)
			if len(ms) != 1 || ms[0].Properties["hs_meeting_title"] != "Kick-off" || ms[0].Properties["hs_meeting_start_time"] != "2026-05-04T07:00:00Z" ||
				ms[0].Properties["hs_meeting_end_time"] != "2026-05-04T08:30:00Z" || ms[0].Properties["hs_timestamp"] != "2026-05-04T07:00:00Z" ||
				ms[0].Properties["hs_meeting_outcome"] != "SCHEDULED" || len(ms[0].Contacts) != 1 || ms[0].Contacts[0] != contacts[0].ID {
				t.Fatalf("meeting: %+v", ms)
			}
			calls := hs.Calls()
			fields["title"] = "Kick-off (moved)"
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			if hs.Calls() != calls+1 {
				t.Fatalf("an update cost %d calls, want 1", hs.Calls()-calls)
			}
			fields["status"] = "cancelled"
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			ms = meetingsOf(hs, e.ID)
			if len(ms) != 1 || ms[0].Properties["hs_meeting_outcome"] != "CANCELED" || ms[0].Properties["hs_meeting_title"] != "Kick-off (moved)" || ms[0].Archived {
				t.Fatalf("after the cancellation: %+v", ms)
			}
			for op, want := range map[string]int{"create meetings": 1, "update meetings": 2, "create contacts": 1, "update contacts": 0, "associate": 1} {
				if got := hs.Count(op); got != want {
					t.Errorf("%s: %d, want %d", op, got, want)
				}
			}
		})
	}
}

func TestOAuthDealsAndRefresh(t *testing.T) {
	h, hs := start(t, "sqlite", hstest.Options{}, nil)
	c := h.Connect(t, connectorstest.Input(hubspot.Type, `{"deal_id_property":"calgate_order","on_cancel":"delete"}`))
	first := connectorstest.Reservation("r1", "Day one")
	first["attributes"] = map[string]any{"order": "A-100"}
	second := connectorstest.Reservation("r2", "Day two")
	second["attributes"] = map[string]any{"order": "A-100"}
	second["start"], second["end"] = "2026-05-05T09:00:00+02:00", "2026-05-05T10:00:00+02:00"
	e1, e2 := h.Entry(t, c.ID, first), h.Entry(t, c.ID, second)
	h.PushAll(t, c.ID)
	deals := hs.Records("deals")
	if len(deals) != 1 || deals[0].Properties["dealname"] != "A-100" || len(deals[0].Meetings) != 2 || len(deals[0].Contacts) != 1 {
		t.Fatalf("deals: %+v", deals)
	}
	hs.ExpireAccessTokens()
	first["status"] = "cancelled"
	e1 = h.Entry(t, c.ID, first)
	h.Push(t, c.ID, e1.ID)
	if hs.Count("refresh token") != 1 {
		t.Fatalf("%d refreshes", hs.Count("refresh token"))
	}
	if ms := meetingsOf(hs, e1.ID); len(ms) != 1 || !ms[0].Archived {
		t.Fatalf("cancelled with on_cancel delete: %+v", ms)
	}
	if ms := meetingsOf(hs, e2.ID); len(ms) != 1 || ms[0].Archived {
		t.Fatalf("the other meeting: %+v", ms)
	}
}

// TestBulkCostsTheDocumentedCalls: 1,000 new entries of 1,000 customers
// cost 3 calls per 100 (contacts, meetings, associations); changing them
// all costs one per 100.
func TestBulkCostsTheDocumentedCalls(t *testing.T) {
	h, hs := start(t, "sqlite", hstest.Options{}, nil)
	c := withToken(t, h, hs, `{}`)
	calls := hs.Calls()
	list := make([]map[string]any, 1000)
	for i := range list {
		list[i] = connectorstest.Reservation(fmt.Sprintf("b%04d", i), "Bulk")
		list[i]["customer"] = map[string]any{"name": fmt.Sprintf("Guest %d", i), "email": fmt.Sprintf("g%d@example.com", i)}
	}
	h.Entries(t, c.ID, list)
	if n := h.PushAll(t, c.ID); n != 10 {
		t.Fatalf("%d full batches", n)
	}
	if got := hs.Calls() - calls; got != 30 || len(hs.Records("meetings")) != 1000 || hs.Count("associate") != 1000 {
		t.Fatalf("1,000 new entries cost %d calls, want 30", got)
	}
	for i := range list {
		list[i]["title"] = "Bulk, renamed"
	}
	h.Entries(t, c.ID, list)
	h.PushAll(t, c.ID)
	if got := hs.Calls() - calls; got != 40 {
		t.Fatalf("renaming 1,000 entries cost %d calls, want 10", got-30)
	}
	if hs.Violations() != 0 {
		t.Fatalf("%d calls beyond the burst limit", hs.Violations())
	}
}

func TestBadContactFailsAlone(t *testing.T) {
	h, hs := start(t, "sqlite", hstest.Options{}, nil)
	c := withToken(t, h, hs, `{}`)
	good := h.Entry(t, c.ID, connectorstest.Reservation("g1", "Good"))
	bad := connectorstest.Reservation("b1", "Bad")
	bad["customer"] = map[string]any{"name": "Nobody", "email": "not an address"}
	be := h.Entry(t, c.ID, bad)
	h.PushAll(t, c.ID)
	if ms := meetingsOf(hs, good.ID); len(ms) != 1 {
		t.Fatalf("the good entry: %+v", ms)
	}
	if l := h.Link(t, c.ID, be.ID); !l.Owed() || l.Attempts != 1 || !strings.Contains(l.LastError, "INVALID_EMAIL") || len(meetingsOf(hs, be.ID)) != 0 {
		t.Fatalf("the bad entry: %+v", l)
	}
}

func TestBurstLimitIsRespected(t *testing.T) {
	limits := &connectors.Limits{Windows: []connectors.Window{{Calls: 10, Per: time.Second}}}
	h, hs := start(t, "sqlite", hstest.Options{Burst: 10, Window: time.Second}, limits)
	c := withToken(t, h, hs, `{}`)
	for i := range 12 {
		fields := connectorstest.Reservation(fmt.Sprintf("r%d", i), "One by one")
		fields["customer"] = map[string]any{"name": "Guest", "email": fmt.Sprintf("g%d@example.com", i)}
		e := h.Entry(t, c.ID, fields)
		h.Push(t, c.ID, e.ID)
	}
	if hs.Violations() != 0 || len(hs.Records("meetings")) != 12 {
		t.Fatalf("%d violations, %d meetings", hs.Violations(), len(hs.Records("meetings")))
	}
	// Another app spent the burst: 429 with Retry-After, not a failure.
	hs.Throttle(1)
	e := h.Entry(t, c.ID, connectorstest.Reservation("t1", "Throttled"))
	h.Push(t, c.ID, e.ID)
	l := h.Link(t, c.ID, e.ID)
	if !l.Owed() || l.Attempts != 0 || !strings.Contains(l.LastError, "ten_secondly_rolling") {
		t.Fatalf("after a 429: %+v", l)
	}
}

func TestHubSpotMappingIsChecked(t *testing.T) {
	v := hubspot.New(hubspot.Config{})
	_, err := v.Mapping(json.RawMessage(`{"on_cancel":"ignore","meeting_id_property":"Bad Name","deal_stage":"won"}`))
	var ve *calgate.ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 3 {
		t.Fatalf("Mapping = %v", err)
	}
}
