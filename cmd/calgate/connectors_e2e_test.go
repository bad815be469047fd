package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/connectorstest"
	"github.com/calgate/calgate/connectors/quickbooks/qbotest"
	"github.com/calgate/calgate/connectors/xero/xerotest"
)

// redirectURI is the OAuth redirect URI of the test gateways (their public
// URL is http://calgate.test).
const redirectURI = "http://calgate.test" + connectors.CallbackPath

// appEnv points the gateway's settings of an application
// (CALGATE_<APP>_CLIENT_ID and the rest) at a fake's app and endpoints.
func appEnv(t testing.TB, app string, client connectorstest.App, authURL, tokenURL, apiURL string) {
	t.Setenv("CALGATE_"+app+"_CLIENT_ID", client.ClientID)
	t.Setenv("CALGATE_"+app+"_CLIENT_SECRET", client.ClientSecret)
	t.Setenv("CALGATE_"+app+"_AUTH_URL", authURL)
	t.Setenv("CALGATE_"+app+"_TOKEN_URL", tokenURL)
	t.Setenv("CALGATE_"+app+"_API_URL", apiURL)
}

// startQuickBooks starts a fake QuickBooks Online company and points the
// gateway's QuickBooks settings at it.
func startQuickBooks(t *testing.T, o qbotest.Options) *qbotest.Server {
	t.Helper()
	o.RedirectURI = redirectURI
	qb := qbotest.Start(t, o)
	appEnv(t, "QUICKBOOKS", qb.Options().App, qb.AuthURL(), qb.TokenURL(), qb.APIURL())
	t.Setenv("CALGATE_CONNECTOR_SWEEP", "200ms")
	t.Setenv("CALGATE_CONNECTOR_RETRY_SCALE", "0.001")
	t.Setenv("CALGATE_CONNECTOR_LEASE", "3s")
	t.Setenv("CALGATE_WEBHOOK_SWEEP", "200ms")
	return qb
}

// consent plays the user: it opens the authorize URL, lets the
// application's consent page redirect, and follows the redirect to the
// gateway's callback (the test gateway's public host is not its address).
func consent(t *testing.T, g *testGateway, authorizeURL string) {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want a redirect", resp.StatusCode)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(back.String(), redirectURI) {
		t.Fatalf("authorize redirected to %q, not the registered redirect URI", resp.Header.Get("Location"))
	}
	status, body, _ := g.callAs(t, "", http.MethodGet, back.Path+"?"+back.RawQuery, nil)
	if status != http.StatusOK || !strings.Contains(string(body), "is connected") {
		t.Fatalf("callback: %d %s", status, body)
	}
}

// connectorState reads a connector.
func connectorState(t *testing.T, g *testGateway, id string) map[string]any {
	t.Helper()
	return decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/connectors/"+id, nil))
}

// findDocument returns the fake's documents whose private note names the
// entry.
func findDocuments(qb *qbotest.Server, entryID string) []qbotest.Invoice {
	var out []qbotest.Invoice
	for _, d := range qb.Documents() {
		if strings.Contains(d.PrivateNote, entryID) {
			out = append(out, d)
		}
	}
	return out
}

func booking(ext, title, status string) map[string]any {
	r := reservation(ext, title, status)
	r["customer"] = map[string]any{"name": "Ada Lovelace", "email": "ada@example.com"}
	r["quantity"] = 3
	return r
}

func TestQuickBooksConnectorCreatesUpdatesAndVoidsAnInvoice(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		qb := startQuickBooks(t, qbotest.Options{})
		g := startGateway(t, e)

		status, body, _ := g.call(t, http.MethodPost, "/v1/connectors", map[string]any{"type": "quickbooks", "mapping": map[string]any{"document": "bill"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"mapping.item_id"`) || !strings.Contains(string(body), `"mapping.document"`) {
			t.Fatalf("bad mapping: %d %s", status, body)
		}
		status, body, _ = g.call(t, http.MethodPost, "/v1/connectors", map[string]any{"type": "sage"})
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"type"`) {
			t.Fatalf("unknown type: %d %s", status, body)
		}

		created := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/connectors", map[string]any{
			"type": "quickbooks", "name": "Books", "filter": map[string]any{"kinds": []string{"reservation"}},
			"mapping": map[string]any{"item_id": "1", "unit_price": 40},
		}))
		id := created["id"].(string)
		authURL, _ := created["authorize_url"].(string)
		if created["state"] != "pending" || !strings.HasPrefix(authURL, qb.AuthURL()) {
			t.Fatalf("created: %v", created)
		}

		// A booking made before the user consented is owed, not lost.
		entry := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", booking("r1", "Kick-off", "confirmed")))
		entryID := entry["id"].(string)
		eventually(t, "the booking owed to the pending connector", func() bool {
			return connectorState(t, g, id)["pending"] == float64(1)
		})

		consent(t, g, authURL)
		c := connectorState(t, g, id)
		if c["state"] != "connected" || c["account"] != qb.Options().Realm || c["account_name"] != qb.Options().CompanyName {
			t.Fatalf("after consent: %v", c)
		}
		if raw := string(g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/connectors/"+id, nil)); strings.Contains(raw, "token") || strings.Contains(raw, "RT1-") {
			t.Fatalf("the reply shows credentials: %s", raw)
		}

		eventually(t, "the invoice in QuickBooks", func() bool { return len(findDocuments(qb, entryID)) == 1 })
		inv := findDocuments(qb, entryID)[0]
		if inv.Kind != "invoice" || inv.Qty != 3 || inv.UnitPrice != 40 || inv.Total != 120 || inv.ServiceDate != "2026-05-04" ||
			!strings.Contains(inv.Description, "Kick-off") || !strings.Contains(inv.Description, "09:00–10:30") {
			t.Fatalf("invoice: %+v", inv)
		}
		if got := qb.Customers(); len(got) != 1 || got[0] != "Ada Lovelace" {
			t.Fatalf("customers: %v", got)
		}

		g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations", booking("r1", "Kick-off (moved)", "confirmed"))
		eventually(t, "the invoice changed", func() bool {
			d := findDocuments(qb, entryID)
			return len(d) == 1 && strings.Contains(d[0].Description, "Kick-off (moved)")
		})
		g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations", booking("r1", "Kick-off (moved)", "cancelled"))
		eventually(t, "the invoice voided", func() bool {
			d := findDocuments(qb, entryID)
			return len(d) == 1 && d[0].Voided
		})
		eventually(t, "nothing owed", func() bool { return connectorState(t, g, id)["pending"] == float64(0) })
		for op, want := range map[string]int{"create invoice": 1, "update invoice": 1, "void invoice": 1, "create customer": 1} {
			if got := qb.Count(op); got != want {
				t.Errorf("%s: %d times, want %d", op, got, want)
			}
		}
		if n := qb.CallsWithoutMinorVersion(); n != 0 {
			t.Errorf("%d calls without minorversion", n)
		}
		qb.CheckNoViolations(t)
		metrics := string(g.mustCall(t, http.StatusOK, http.MethodGet, "/metrics", nil))
		for _, want := range []string{`calgate_connector_pushes_total{outcome="pushed",type="quickbooks"} 3`,
			`calgate_connector_calls_total{outcome="ok",type="quickbooks"}`, `calgate_connector_call_duration_seconds_count{type="quickbooks"}`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("/metrics has no %s", want)
			}
		}

		log := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/connectors/"+id+"/log?entry_id="+entryID, nil))
		ops := map[string]bool{}
		for _, it := range log["items"].([]any) {
			call := it.(map[string]any)
			if call["status_code"] == float64(200) {
				ops[call["operation"].(string)] = true
			}
		}
		for _, op := range []string{"query customer", "create customer", "create invoice", "update invoice", "void invoice"} {
			if !ops[op] {
				t.Errorf("the log has no successful %q: %v", op, log["items"])
			}
		}

		// Workspaces never see each other's connectors.
		other := g.newWorkspaceToken(t, "other")
		for _, path := range []string{"/v1/connectors/" + id, "/v1/connectors/" + id + "/log"} {
			if status, _, _ := g.callAs(t, other, http.MethodGet, path, nil); status != http.StatusNotFound {
				t.Errorf("another workspace: GET %s = %d", path, status)
			}
		}
		if status, _, _ := g.callAs(t, other, http.MethodDelete, "/v1/connectors/"+id, nil); status != http.StatusNotFound {
			t.Errorf("another workspace deleted the connector: %d", status)
		}
		if list := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/connectors", nil, "Authorization", "Bearer "+other)); len(list["items"].([]any)) != 0 {
			t.Errorf("another workspace lists %v", list)
		}
		g.mustCall(t, http.StatusNoContent, http.MethodDelete, "/v1/connectors/"+id, nil)
		g.mustCall(t, http.StatusNotFound, http.MethodGet, "/v1/connectors/"+id, nil)
	})
}

func TestQuickBooksConnectorRefreshesAndReconnects(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		qb := startQuickBooks(t, qbotest.Options{})
		g := startGateway(t, e)
		created := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/connectors", map[string]any{
			"type": "quickbooks", "mapping": map[string]any{"item_id": "1", "unit_price": 10}}))
		id := created["id"].(string)
		consent(t, g, created["authorize_url"].(string))
		entry := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", booking("r1", "v1", "confirmed")))
		entryID := entry["id"].(string)
		eventually(t, "the invoice", func() bool { return len(findDocuments(qb, entryID)) == 1 })

		// An expired access token is refreshed.
		qb.ExpireAccessTokens()
		g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations", booking("r1", "v2", "confirmed"))
		eventually(t, "v2 after a refresh", func() bool {
			d := findDocuments(qb, entryID)
			return len(d) == 1 && strings.Contains(d[0].Description, "v2")
		})
		if qb.Count("refresh token") == 0 {
			t.Fatal("no refresh")
		}

		// A refused refresh token: needs_reauth, an event (which a webhook
		// subscribed to it receives), the change kept.
		var hooked atomic.Int32
		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if body, _ := io.ReadAll(r.Body); strings.Contains(string(body), `"connector.disconnected"`) && strings.Contains(string(body), id) {
				hooked.Add(1)
			}
		}))
		t.Cleanup(receiver.Close)
		g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/webhooks", map[string]any{"url": receiver.URL, "events": []string{"connector.disconnected"}})
		qb.RevokeRefreshTokens()
		g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations", booking("r1", "v3", "confirmed"))
		eventually(t, "needs_reauth", func() bool { return connectorState(t, g, id)["state"] == "needs_reauth" })
		eventually(t, "a connector.disconnected event", func() bool {
			evs := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/events?types=connector.disconnected", nil))
			items := evs["items"].([]any)
			if len(items) != 1 {
				return false
			}
			data := items[0].(map[string]any)["data"].(map[string]any)
			return data["connector_id"] == id && strings.Contains(data["reason"].(string), "invalid_grant")
		})
		eventually(t, "the webhook delivery of connector.disconnected", func() bool { return hooked.Load() == 1 })
		g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations", booking("r1", "v4", "confirmed"))
		eventually(t, "the change owed", func() bool { return connectorState(t, g, id)["pending"] == float64(1) })
		if d := findDocuments(qb, entryID); strings.Contains(d[0].Description, "v3") || strings.Contains(d[0].Description, "v4") {
			t.Fatalf("pushed while disconnected: %+v", d)
		}

		again := decode(t, g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/connectors/"+id+"/authorize", nil))
		consent(t, g, again["authorize_url"].(string))
		eventually(t, "the owed change after reconnecting", func() bool {
			d := findDocuments(qb, entryID)
			return len(d) == 1 && strings.Contains(d[0].Description, "v4")
		})
		eventually(t, "connected with nothing owed", func() bool {
			c := connectorState(t, g, id)
			return c["state"] == "connected" && c["pending"] == float64(0)
		})
		if n := qb.Count("create invoice"); n != 1 {
			t.Fatalf("%d invoices created", n)
		}
		// A used state is refused.
		u, _ := url.Parse(again["authorize_url"].(string))
		status, body, _ := g.callAs(t, "", http.MethodGet, connectors.CallbackPath+"?code=x&realmId=1&state="+u.Query().Get("state"), nil)
		if status != http.StatusBadRequest || !strings.Contains(string(body), `"state"`) {
			t.Fatalf("replayed state: %d %s", status, body)
		}
	})
}

func TestQuickBooksConnectorHonoursRetryAfter(t *testing.T) {
	e := engines()[0]
	qb := startQuickBooks(t, qbotest.Options{})
	g := startGateway(t, e)
	created := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/connectors", map[string]any{
		"type": "quickbooks", "mapping": map[string]any{"item_id": "1"}}))
	id := created["id"].(string)
	consent(t, g, created["authorize_url"].(string))
	qb.Throttle(1)
	entry := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", booking("r1", "Throttled", "confirmed")))
	eventually(t, "the invoice after the Retry-After", func() bool { return len(findDocuments(qb, entry["id"].(string))) == 1 })
	log := string(g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/connectors/"+id+"/log", nil))
	if !strings.Contains(log, `"status_code":429`) || !strings.Contains(log, "ThrottleExceeded") {
		t.Fatalf("the 429 is not in the log: %s", log)
	}
}

// startXero starts a fake Xero organisation and points the gateway's Xero
// settings at it.
func startXero(t *testing.T) *xerotest.Server {
	t.Helper()
	x := xerotest.Start(t, xerotest.Options{App: connectorstest.App{RedirectURI: redirectURI}})
	appEnv(t, "XERO", x.Options().App, x.AuthURL(), x.TokenURL(), x.APIURL())
	t.Setenv("CALGATE_CONNECTOR_SWEEP", "200ms")
	t.Setenv("CALGATE_CONNECTOR_RETRY_SCALE", "0.001")
	t.Setenv("CALGATE_CONNECTOR_LEASE", "3s")
	return x
}

func xeroInvoices(x *xerotest.Server, ref string) []xerotest.Invoice {
	var out []xerotest.Invoice
	for _, inv := range x.Invoices() {
		if inv.Reference == ref {
			out = append(out, inv)
		}
	}
	return out
}

func TestXeroConnectorEndToEnd(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		x := startXero(t)
		g := startGateway(t, e)
		created := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/connectors", map[string]any{
			"type": "xero", "name": "Accounts", "filter": map[string]any{"kinds": []string{"reservation"}, "statuses": []string{"confirmed", "cancelled"}},
			"mapping": map[string]any{"account_code": "200", "status": "AUTHORISED", "unit_price": 80},
		}))
		id := created["id"].(string)
		authURL := created["authorize_url"].(string)
		if !strings.Contains(authURL, "code_challenge=") || !strings.Contains(authURL, "code_challenge_method=S256") {
			t.Fatalf("no PKCE in %s", authURL)
		}
		consent(t, g, authURL)
		if c := connectorState(t, g, id); c["state"] != "connected" || c["account"] != x.Options().TenantID || c["account_name"] != x.Options().TenantName {
			t.Fatalf("after consent: %v", c)
		}

		g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", booking("x1", "Workshop", "confirmed"))
		eventually(t, "the invoice in Xero", func() bool { return len(xeroInvoices(x, "x1")) == 1 })
		inv := xeroInvoices(x, "x1")[0]
		if inv.Status != "AUTHORISED" || inv.ContactName != "Ada Lovelace" || inv.Quantity != 3 || inv.UnitAmount != 80 || inv.AccountCode != "200" {
			t.Fatalf("invoice: %+v", inv)
		}
		g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations", booking("x1", "Workshop (two days)", "confirmed"))
		eventually(t, "the invoice changed", func() bool {
			inv := xeroInvoices(x, "x1")
			return len(inv) == 1 && strings.Contains(inv[0].Description, "two days")
		})
		g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations", booking("x1", "Workshop (two days)", "cancelled"))
		eventually(t, "the invoice voided", func() bool {
			inv := xeroInvoices(x, "x1")
			return len(inv) == 1 && inv[0].Status == "VOIDED"
		})
		for op, want := range map[string]int{"create invoice": 1, "update invoice": 1, "void invoice": 1} {
			if got := x.Count(op); got != want {
				t.Errorf("%s: %d, want %d", op, got, want)
			}
		}
		if x.CallsWithoutTenant() != 0 {
			t.Error("calls without xero-tenant-id")
		}
		x.CheckNoViolations(t)

		// A refused refresh token, changes meanwhile, a new consent.
		x.RevokeRefreshTokens()
		g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", booking("x2", "While disconnected", "confirmed"))
		eventually(t, "needs_reauth", func() bool { return connectorState(t, g, id)["state"] == "needs_reauth" })
		eventually(t, "a connector.disconnected event", func() bool {
			evs := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/events?types=connector.*", nil))
			return len(evs["items"].([]any)) == 1
		})
		again := decode(t, g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/connectors/"+id+"/authorize", nil))
		consent(t, g, again["authorize_url"].(string))
		eventually(t, "the owed booking after reconnecting", func() bool { return len(xeroInvoices(x, "x2")) == 1 })

		// A resync pushes the whole selection again: x2 is brought up to
		// date (an update), the voided x1 stays as it is.
		res := decode(t, g.mustCall(t, http.StatusAccepted, http.MethodPost, "/v1/connectors/"+id+"/resync", nil))
		if res["owed"] != float64(2) {
			t.Fatalf("resync: %v", res)
		}
		eventually(t, "the resync done", func() bool { return connectorState(t, g, id)["pending"] == float64(0) })
		if x.Count("create invoice") != 2 || len(xeroInvoices(x, "x1")) != 1 {
			t.Fatalf("resync created %d invoices", x.Count("create invoice"))
		}
	})
}
