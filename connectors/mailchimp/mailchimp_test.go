package mailchimp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/connectorstest"
	"github.com/calgate/calgate/connectors/mailchimp"
	"github.com/calgate/calgate/connectors/mailchimp/mctest"
)

func start(t testing.TB, engine string) (*connectorstest.Harness, *mctest.Server) {
	t.Helper()
	mc := mctest.Start(t, mctest.Options{App: connectorstest.App{RedirectURI: connectorstest.RedirectURI}})
	h := connectorstest.Open(t, engine, nil)
	h.Service.Add(mailchimp.New(mailchimp.Config{AppConfig: connectors.AppConfig{ClientID: mc.Options().ClientID, ClientSecret: mc.Options().ClientSecret,
		AuthURL: mc.AuthURL(), TokenURL: mc.TokenURL(), APIURL: mc.APIURL()}, MetadataURL: mc.MetadataURL()}))
	return h, mc
}

func withKey(t testing.TB, h *connectorstest.Harness, mc *mctest.Server, mapping string) *calgate.Connector {
	t.Helper()
	in, key := connectorstest.Input(mailchimp.Type, mapping), mc.Options().APIKey
	in.APIKey = &key
	c := h.ConnectKey(t, in)
	if c.Account != mc.Options().AccountID || c.AccountURL != mc.URL+"/us21" {
		t.Fatalf("connected to %q at %q", c.Account, c.AccountURL)
	}
	return c
}

func TestMembersAreAddedAndTagged(t *testing.T) {
	for _, engine := range connectorstest.Engines {
		t.Run(engine, func(t *testing.T) {
			h, mc := start(t, engine)
			c := withKey(t, h, mc, `{"list_id":"a1b2c3d4e5","tags":["{resource}","{kind}","booked via {source}"]}`)
			fields := connectorstest.Reservation("r1", "Kick-off")
			fields["customer"] = map[string]any{"name": "Ada King Lovelace", "email": "Ada@Example.com", "phone": "+44 20 7946 0000"}
			e := h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			m := mc.Members()
			if len(m) != 1 || m[0].Email != "Ada@Example.com" || m[0].Status != "transactional" || m[0].FirstName != "Ada King" ||
				m[0].LastName != "Lovelace" || m[0].Phone != "+44 20 7946 0000" || !slices.Equal(m[0].Tags, []string{"Room 1", "booked via api", "reservation"}) {
				t.Fatalf("members: %+v", m)
			}
			if l := h.Link(t, c.ID, e.ID); l.RemoteID != mailchimp.SubscriberHash("ada@example.com") || l.Owed() {
				t.Fatalf("link: %+v", l)
			}
			calls := mc.Calls()
			// A change the audience does not see costs nothing.
			fields["title"] = "Kick-off (moved)"
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			if mc.Calls() != calls {
				t.Fatalf("%d calls for a title change", mc.Calls()-calls)
			}
			fields["resource"] = "Room 2"
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			fields["status"] = "cancelled"
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			m = mc.Members()
			if len(m) != 1 || !slices.Contains(m[0].Tags, "Room 2") || mc.Calls() != calls+2 {
				t.Fatalf("members %+v after %d calls", m, mc.Calls()-calls)
			}
			if mc.StatusSent() != 0 || mc.Count("create member") != 1 || mc.Count("update member") != 1 {
				t.Fatalf("status sent %d, created %d, updated %d", mc.StatusSent(), mc.Count("create member"), mc.Count("update member"))
			}
		})
	}
}

func TestUnsubscribedMemberStaysUnsubscribed(t *testing.T) {
	h, mc := start(t, "sqlite")
	c := withKey(t, h, mc, `{"list_id":"a1b2c3d4e5","status_if_new":"subscribed","consent_attribute":"newsletter"}`)
	fields := connectorstest.Reservation("r1", "First stay")
	fields["attributes"] = map[string]any{"newsletter": true}
	e := h.Entry(t, c.ID, fields)
	other := connectorstest.Reservation("r2", "No consent")
	other["customer"] = map[string]any{"name": "Charles Babbage", "email": "charles@example.com"}
	o := h.Entry(t, c.ID, other)
	h.PushAll(t, c.ID)
	m := mc.Members()
	if len(m) != 2 || m[0].Status != "subscribed" && m[1].Status != "subscribed" {
		t.Fatalf("members: %+v", m)
	}
	for _, mb := range m {
		if mb.Email == "charles@example.com" && mb.Status != "transactional" {
			t.Fatalf("without consent: %+v", mb)
		}
	}
	mc.Unsubscribe("ada@example.com")
	fields = connectorstest.Reservation("r3", "Second stay")
	fields["resource"] = "Room 9"
	fields["attributes"] = map[string]any{"newsletter": true}
	e = h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	for _, mb := range mc.Members() {
		if mb.Email == "ada@example.com" && (mb.Status != "unsubscribed" || !slices.Contains(mb.Tags, "Room 9")) {
			t.Fatalf("after unsubscribing: %+v", mb)
		}
	}
	if mc.StatusSent() != 0 {
		t.Fatalf("%d writes sent status", mc.StatusSent())
	}
	// An address deleted for good is not added again, and not retried.
	mc.Forget("charles@example.com")
	other["resource"] = "Room 7"
	o = h.Entry(t, c.ID, other)
	h.Push(t, c.ID, o.ID)
	if l := h.Link(t, c.ID, o.ID); l.Owed() || l.RemoteState != "refused" {
		t.Fatalf("forgotten: %+v", l)
	}
}

func TestKeysAndAudienceAreChecked(t *testing.T) {
	h, mc := start(t, "sqlite")
	typ := mailchimp.Type
	raw := json.RawMessage(`{"list_id":"a1b2c3d4e5"}`)
	for _, tc := range []struct{ key, want string }{
		{"0123456789abcdef0123456789abcdef-us19", "api_key"},           // another data centre
		{"ffffffffffffffffffffffffffffffff-us21", "api_key"},           // a wrong key
		{"0123456789abcdef0123456789abcdef", "api_key"},                // no data centre
		{"0123456789abcdef0123456789abcdef-evil.example/x", "api_key"}, // not a data centre
	} {
		key := tc.key
		_, _, err := h.Service.Create(context.Background(), h.Workspace.ID, calgate.ConnectorInput{Type: &typ, Mapping: &raw, APIKey: &key})
		var ve *calgate.ValidationError
		if !errors.As(err, &ve) || ve.Errors[0].Field != tc.want {
			t.Errorf("key %q: %v", tc.key, err)
		}
	}
	key := mc.Options().APIKey
	wrongList := json.RawMessage(`{"list_id":"nope"}`)
	_, _, err := h.Service.Create(context.Background(), h.Workspace.ID, calgate.ConnectorInput{Type: &typ, Mapping: &wrongList, APIKey: &key})
	var ve *calgate.ValidationError
	if !errors.As(err, &ve) || ve.Errors[0].Field != "mapping.list_id" {
		t.Fatalf("unknown audience: %v", err)
	}
	// A key deleted at Mailchimp later: needs_reauth, a new key resumes.
	c := withKey(t, h, mc, `{"list_id":"a1b2c3d4e5"}`)
	mc.RevokeKey()
	e := h.Entry(t, c.ID, connectorstest.Reservation("r1", "Revoked"))
	h.Push(t, c.ID, e.ID)
	if cur, _, _ := h.Service.Connector(context.Background(), h.Workspace.ID, c.ID); cur.State != calgate.ConnectorStateNeedsReauth {
		t.Fatalf("state %q", cur.State)
	}
}

func TestOAuthConnectsThroughTheMetadata(t *testing.T) {
	h, mc := start(t, "sqlite")
	c := h.Connect(t, connectorstest.Input(mailchimp.Type, `{"list_id":"a1b2c3d4e5"}`))
	if c.Account != mc.Options().AccountID || c.AccountURL != mc.URL+"/us21" || c.AccountName != mc.Options().AccountName {
		t.Fatalf("connected: %+v", c)
	}
	e := h.Entry(t, c.ID, connectorstest.Reservation("r1", "Through OAuth"))
	h.Push(t, c.ID, e.ID)
	if m := mc.Members(); len(m) != 1 || m[0].Email != "ada@example.com" {
		t.Fatalf("members: %+v", m)
	}
}

// TestBulkCostsTheDocumentedCalls: 1,000 entries of 1,000 customers cost a
// member write and a tags call each; a second change that leaves the
// customers and tags alone costs nothing.
func TestBulkCostsTheDocumentedCalls(t *testing.T) {
	h, mc := start(t, "sqlite")
	c := withKey(t, h, mc, `{"list_id":"a1b2c3d4e5"}`)
	calls := mc.Calls()
	list := make([]map[string]any, 1000)
	for i := range list {
		list[i] = connectorstest.Reservation(fmt.Sprintf("b%04d", i), "Bulk")
		list[i]["customer"] = map[string]any{"name": fmt.Sprintf("Guest %d", i), "email": fmt.Sprintf("g%d@example.com", i)}
	}
	h.Entries(t, c.ID, list)
	h.PushAll(t, c.ID)
	if got := mc.Calls() - calls; got != 2000 || len(mc.Members()) != 1000 {
		t.Fatalf("1,000 new customers cost %d calls (%d members), want 2,000", got, len(mc.Members()))
	}
	for i := range list {
		list[i]["title"] = "Bulk, renamed"
	}
	h.Entries(t, c.ID, list)
	h.PushAll(t, c.ID)
	if got := mc.Calls() - calls; got != 2000 {
		t.Fatalf("renaming 1,000 entries cost %d calls, want none", got-2000)
	}
	if mc.Violations() != 0 {
		t.Fatalf("%d calls beyond 10 at once", mc.Violations())
	}
}

func TestMailchimpMappingIsChecked(t *testing.T) {
	v := mailchimp.New(mailchimp.Config{})
	_, err := v.Mapping(json.RawMessage(`{"status_if_new":"subscribed","tags":[""]}`))
	var ve *calgate.ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 3 {
		t.Fatalf("Mapping = %v", err)
	}
	raw, err := v.Mapping(json.RawMessage(`{"list_id":"abc"}`))
	if err != nil || !strings.Contains(string(raw), `"status_if_new":"transactional"`) {
		t.Fatalf("defaults: %s %v", raw, err)
	}
}
