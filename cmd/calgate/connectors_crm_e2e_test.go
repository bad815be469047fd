package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/calgate/calgate/connectors/connectorstest"
	"github.com/calgate/calgate/connectors/hubspot/hstest"
	"github.com/calgate/calgate/connectors/mailchimp/mctest"
	"github.com/calgate/calgate/connectors/salesforce/sftest"
)

// connectorTestEnv shortens the connector schedules of a test gateway.
func connectorTestEnv(t *testing.T) {
	t.Setenv("CALGATE_CONNECTOR_SWEEP", "200ms")
	t.Setenv("CALGATE_CONNECTOR_RETRY_SCALE", "0.001")
	t.Setenv("CALGATE_CONNECTOR_LEASE", "3s")
	t.Setenv("CALGATE_CONNECTOR_BATCH_DELAY", "300ms")
}

func sfEvents(sf *sftest.Server, entryID string) []sftest.Event {
	var out []sftest.Event
	for _, ev := range sf.Events() {
		if ev.ExternalID == entryID {
			out = append(out, ev)
		}
	}
	return out
}

func TestSalesforceConnectorEndToEnd(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		sf := sftest.Start(t, sftest.Options{App: connectorstest.App{RedirectURI: redirectURI}})
		t.Setenv("CALGATE_SALESFORCE_CLIENT_ID", sf.Options().ClientID)
		t.Setenv("CALGATE_SALESFORCE_CLIENT_SECRET", sf.Options().ClientSecret)
		t.Setenv("CALGATE_SALESFORCE_LOGIN_URL", sf.LoginURL())
		connectorTestEnv(t)
		g := startGateway(t, e)

		status, body, _ := g.call(t, http.MethodPost, "/v1/connectors", map[string]any{"type": "salesforce", "mapping": map[string]any{"api_version": "40.0", "on_cancel": "hide"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"mapping.api_version"`) || !strings.Contains(string(body), `"mapping.on_cancel"`) {
			t.Fatalf("bad mapping: %d %s", status, body)
		}
		created := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/connectors", map[string]any{
			"type": "salesforce", "name": "CRM", "filter": map[string]any{"kinds": []string{"reservation"}}}))
		id := created["id"].(string)
		authURL := created["authorize_url"].(string)
		if !strings.HasPrefix(authURL, sf.LoginURL()+"/services/oauth2/authorize") || !strings.Contains(authURL, "code_challenge_method=S256") {
			t.Fatalf("authorize URL %s", authURL)
		}
		consent(t, g, authURL)
		if c := connectorState(t, g, id); c["state"] != "connected" || c["account"] != sf.Options().OrgID {
			t.Fatalf("after consent: %v", c)
		}

		entry := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", booking("s1", "Site visit", "confirmed")))
		entryID := entry["id"].(string)
		eventually(t, "the Event in Salesforce", func() bool { return len(sfEvents(sf, entryID)) == 1 })
		ev := sfEvents(sf, entryID)[0]
		if ev.Subject != "Site visit" || ev.WhoID == "" || len(sf.Contacts()) != 1 || sf.Contacts()[0].Email != "ada@example.com" {
			t.Fatalf("event %+v, contacts %+v", ev, sf.Contacts())
		}
		g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations", booking("s1", "Site visit (moved)", "confirmed"))
		eventually(t, "the Event changed", func() bool {
			evs := sfEvents(sf, entryID)
			return len(evs) == 1 && evs[0].Subject == "Site visit (moved)"
		})
		g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations", booking("s1", "Site visit (moved)", "cancelled"))
		eventually(t, "the Event deleted", func() bool {
			evs := sfEvents(sf, entryID)
			return len(evs) == 1 && evs[0].Deleted
		})
		eventually(t, "nothing owed", func() bool { return connectorState(t, g, id)["pending"] == float64(0) })
		if sf.Count("create Event") != 1 || sf.Count("delete Event") != 1 {
			t.Fatalf("%d Events created, %d deleted", sf.Count("create Event"), sf.Count("delete Event"))
		}
		log := string(g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/connectors/"+id+"/log?entry_id="+entryID, nil))
		for _, op := range []string{`"upsert Contact"`, `"upsert Event"`, `"delete Event"`} {
			if !strings.Contains(log, op) {
				t.Errorf("the log has no %s: %s", op, log)
			}
		}
	})
}

func TestHubSpotConnectorEndToEnd(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		hs := hstest.Start(t, hstest.Options{App: connectorstest.App{RedirectURI: redirectURI}})
		t.Setenv("CALGATE_HUBSPOT_API_URL", hs.APIURL())
		connectorTestEnv(t)
		g := startGateway(t, e)

		status, body, _ := g.call(t, http.MethodPost, "/v1/connectors", map[string]any{"type": "hubspot", "api_key": "pat-na1-wrong"})
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"api_key"`) {
			t.Fatalf("a wrong token: %d %s", status, body)
		}
		created := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/connectors", map[string]any{
			"type": "hubspot", "api_key": hs.Options().PrivateAppToken}))
		id := created["id"].(string)
		if created["state"] != "connected" || created["authorize_url"] != nil || created["account"] != "62515" {
			t.Fatalf("created: %v", created)
		}
		if raw := string(g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/connectors/"+id, nil)); strings.Contains(raw, hs.Options().PrivateAppToken) {
			t.Fatalf("the reply shows the token: %s", raw)
		}
		entry := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", booking("h1", "Demo", "confirmed")))
		entryID := entry["id"].(string)
		meetings := func() []hstest.Record {
			var out []hstest.Record
			for _, m := range hs.Records("meetings") {
				if m.Properties["calgate_entry_id"] == entryID {
					out = append(out, m)
				}
			}
			return out
		}
		eventually(t, "the meeting in HubSpot", func() bool { return len(meetings()) == 1 && len(meetings()[0].Contacts) == 1 })
		g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations", booking("h1", "Demo (moved)", "confirmed"))
		eventually(t, "the meeting changed", func() bool { return meetings()[0].Properties["hs_meeting_title"] == "Demo (moved)" })
		g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations", booking("h1", "Demo (moved)", "cancelled"))
		eventually(t, "the meeting cancelled", func() bool {
			m := meetings()
			return len(m) == 1 && m[0].Properties["hs_meeting_outcome"] == "CANCELED"
		})
		if n := len(hs.Records("meetings")); n != 1 || hs.Violations() != 0 {
			t.Fatalf("%d meetings, %d violations", n, hs.Violations())
		}
	})
}

func TestMailchimpConnectorEndToEnd(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		mc := mctest.Start(t, mctest.Options{App: connectorstest.App{RedirectURI: redirectURI}})
		appEnv(t, "MAILCHIMP", mc.Options().App, mc.AuthURL(), mc.TokenURL(), mc.APIURL())
		t.Setenv("CALGATE_MAILCHIMP_METADATA_URL", mc.MetadataURL())
		connectorTestEnv(t)
		g := startGateway(t, e)

		status, body, _ := g.call(t, http.MethodPost, "/v1/connectors", map[string]any{"type": "mailchimp", "mapping": map[string]any{"status_if_new": "subscribed"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"mapping.list_id"`) || !strings.Contains(string(body), `"mapping.consent_attribute"`) {
			t.Fatalf("bad mapping: %d %s", status, body)
		}
		created := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/connectors", map[string]any{
			"type": "mailchimp", "mapping": map[string]any{"list_id": mc.Options().ListID}}))
		id := created["id"].(string)
		consent(t, g, created["authorize_url"].(string))
		if c := connectorState(t, g, id); c["state"] != "connected" || c["account"] != mc.Options().AccountID {
			t.Fatalf("after consent: %v", c)
		}
		g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", booking("m1", "Stay", "confirmed"))
		eventually(t, "the member in Mailchimp", func() bool {
			m := mc.Members()
			return len(m) == 1 && m[0].Email == "ada@example.com" && m[0].Status == "transactional" && len(m[0].Tags) == 2
		})
		mc.Unsubscribe("ada@example.com")
		g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", booking("m2", "Second stay", "confirmed"))
		other := booking("m3", "Other room", "confirmed")
		other["resource"] = "Room 7"
		g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", other)
		eventually(t, "the new tag", func() bool {
			m := mc.Members()
			return len(m) == 1 && len(m[0].Tags) == 3
		})
		if m := mc.Members(); m[0].Status != "unsubscribed" || mc.StatusSent() != 0 {
			t.Fatalf("re-subscribed: %+v (%d writes with status)", m, mc.StatusSent())
		}
	})
}
