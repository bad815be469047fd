package main

import (
	"bytes"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/calgate/calgate/connectors/quickbooks/qbotest"
)

// consoleVisitor is an HTTP client with cookies signed in to the console,
// sending forms as a browser does.
type consoleVisitor struct {
	t      *testing.T
	base   string
	client *http.Client
}

var consoleCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (v *consoleVisitor) get(path string) (int, string) {
	v.t.Helper()
	resp, err := v.client.Get(v.base + path)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (v *consoleVisitor) post(path string, form url.Values) (int, string) {
	v.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, v.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", v.base)
	resp, err := v.client.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// csrf reads the CSRF token from the forms of a page.
func (v *consoleVisitor) csrf(path string) string {
	v.t.Helper()
	_, body := v.get(path)
	m := consoleCSRF.FindStringSubmatch(body)
	if m == nil {
		v.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

// signInConsole signs in to the gateway's console with a token.
func signInConsole(t *testing.T, base, token string) *consoleVisitor {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	v := &consoleVisitor{t: t, base: base, client: &http.Client{Jar: jar}}
	status, body := v.post("/console/signin", url.Values{"csrf": {v.csrf("/console/signin")}, "token": {token}})
	if status != http.StatusOK || !strings.Contains(body, `id="timeline"`) {
		t.Fatalf("console sign-in: %d %s", status, body)
	}
	return v
}

// callAsMust is callAs that fails the test unless the status is want.
func (g *testGateway) callAsMust(t *testing.T, token string, want int, method, path string, body any) []byte {
	t.Helper()
	status, data, _ := g.callAs(t, token, method, path, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, data)
	}
	return data
}

func TestConsoleForeignWorkspaceIDsGive404AsInTheAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		other := g.newWorkspaceToken(t, "other")
		feed := decode(t, g.callAsMust(t, other, http.StatusCreated, "POST", "/v1/feeds", map[string]any{"name": "theirs"}))
		hook := decode(t, g.callAsMust(t, other, http.StatusCreated, "POST", "/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/theirs-hook", "events": []string{"entry.*"}}))
		job := decode(t, g.callAsMust(t, other, http.StatusCreated, "POST", "/v1/jobs", map[string]any{"external_id": "X", "workstage": "W", "start": "2026-12-01"}))
		v := signInConsole(t, g.URL, g.Token)
		csrf := v.csrf("/console/tokens")
		for _, tc := range []struct{ method, path, api string }{
			{"GET", "/console/entries/job/" + job["id"].(string), "/v1/jobs/" + job["id"].(string)},
			{"GET", "/console/webhooks/" + hook["id"].(string), "/v1/webhooks/" + hook["id"].(string)},
			{"POST", "/console/webhooks/" + hook["id"].(string) + "/test", "/v1/webhooks/" + hook["id"].(string) + "/test"},
			{"POST", "/console/webhooks/" + hook["id"].(string) + "/rotate", "/v1/webhooks/" + hook["id"].(string) + "/rotate-secret"},
			{"POST", "/console/webhooks/" + hook["id"].(string) + "/enable", ""},
			{"POST", "/console/webhooks/" + hook["id"].(string) + "/deliveries/whatever/retry", "/v1/webhooks/" + hook["id"].(string) + "/deliveries/whatever/retry"},
			{"POST", "/console/feeds/" + feed["id"].(string) + "/rotate", "/v1/feeds/" + feed["id"].(string) + "/rotate"},
		} {
			var status int
			var body string
			if tc.method == "GET" {
				status, body = v.get(tc.path)
			} else {
				status, body = v.post(tc.path, url.Values{"csrf": {csrf}})
			}
			if status != http.StatusNotFound || strings.Contains(body, "theirs") || strings.Contains(body, "theirs-hook") {
				t.Errorf("console %s %s: %d, want 404", tc.method, tc.path, status)
			}
			if tc.api != "" {
				if status, _, _ := g.call(t, tc.method, tc.api, nil); status != http.StatusNotFound {
					t.Errorf("api %s %s: %d, want 404", tc.method, tc.api, status)
				}
			}
		}
		// The other workspace's feed URL still works: nothing was rotated.
		if status, _, _ := g.call(t, "GET", strings.TrimPrefix(feed["url"].(string), g.app.cfg.PublicURL), nil); status != http.StatusOK {
			t.Fatalf("the foreign feed's URL answers %d", status)
		}
	})
}

func TestConsoleIsServedWithTheAPIOnly(t *testing.T) {
	e := engines()[1] // separate processes need a shared Redis
	cfg := testConfig(t)
	e.configure(t, cfg)
	api := startWithConfig(t, cfg, roleAPI)
	if status, body, _ := api.call(t, "GET", "/console/signin", nil); status != http.StatusOK || !strings.Contains(string(body), `action="/console/signin"`) {
		t.Fatalf("calgate api: /console/signin answers %d", status)
	}
	wcfg := testConfig(t)
	e.configure(t, wcfg)
	wcfg.Worker.Addr = "127.0.0.1:0"
	worker := startWithConfig(t, wcfg, roleWorker)
	if status, _, _ := worker.call(t, "GET", "/console/signin", nil); status != http.StatusNotFound {
		t.Fatalf("calgate worker: /console/signin answers %d, want 404", status)
	}
}

func TestConsoleFormsWithoutCSRFAreRefused(t *testing.T) {
	g := startGateway(t, engines()[0])
	v := signInConsole(t, g.URL, g.Token)
	hook := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook", "events": []string{"entry.*"}}))
	feed := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/feeds", map[string]any{"name": "f"}))
	h, fd := hook["id"].(string), feed["id"].(string)
	for _, path := range []string{"/console/signout", "/console/tokens", "/console/tokens/tok_x/revoke", "/console/feeds", "/console/feeds/" + fd + "/rotate",
		"/console/webhooks/" + h + "/test", "/console/webhooks/" + h + "/rotate", "/console/webhooks/" + h + "/enable",
		"/console/webhooks/" + h + "/replay", "/console/webhooks/" + h + "/deliveries/d/retry", "/console/imports"} {
		if status, _ := v.post(path, url.Values{"name": {"x"}}); status != http.StatusForbidden {
			t.Errorf("POST %s without its CSRF token: %d, want 403", path, status)
		}
	}
	// Nothing changed: the feed's URL is the same, the session is alive.
	if status, _, _ := g.call(t, "GET", strings.TrimPrefix(feed["url"].(string), g.app.cfg.PublicURL), nil); status != http.StatusOK {
		t.Errorf("the feed URL answers %d after a refused rotation", status)
	}
	if status, body := v.get("/console/schedule"); status != http.StatusOK || !strings.Contains(body, `id="timeline"`) {
		t.Errorf("signed out by a refused form")
	}
}

func TestConsoleFeedRotationAndWebhookActions(t *testing.T) {
	g := startGateway(t, engines()[0])
	v := signInConsole(t, g.URL, g.Token)
	csrf := v.csrf("/console/tokens")
	feed := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/feeds", map[string]any{"name": "rotating"}))
	oldPath := strings.TrimPrefix(feed["url"].(string), g.app.cfg.PublicURL)
	status, body := v.post("/console/feeds/"+feed["id"].(string)+"/rotate", url.Values{"csrf": {csrf}})
	if status != http.StatusOK || strings.Contains(body, feed["url"].(string)) || !strings.Contains(body, `href="webcal://`) {
		t.Fatalf("rotate: %d", status)
	}
	if status, _, _ := g.call(t, "GET", oldPath, nil); status != http.StatusNotFound {
		t.Fatalf("old feed URL answers %d after rotation, want 404", status)
	}
	now := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/feeds/"+feed["id"].(string), nil))
	if !strings.Contains(body, now["url"].(string)) {
		t.Fatal("the feeds page does not show the new URL")
	}

	rcv := newHookReceiver(t, nil)
	id, _ := createWebhook(t, g, rcv.srv.URL+"/hooks", "entry.created")
	status, body = v.post("/console/webhooks/"+id+"/test", url.Values{"csrf": {csrf}})
	if status != http.StatusOK || !strings.Contains(body, "Test message: accepted") || rcv.count() != 1 {
		t.Fatalf("test: %d, receiver got %d", status, rcv.count())
	}
	if got := rcv.requests()[0].payload(t)["type"]; got != "webhook.test" {
		t.Fatalf("test message type %v", got)
	}
	status, body = v.post("/console/webhooks/"+id+"/rotate", url.Values{"csrf": {csrf}})
	secrets := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/webhooks/"+id+"/secret", nil))
	if status != http.StatusOK || !strings.Contains(html.UnescapeString(body), `value="`+secrets["secret"].(string)+`"`) || len(secrets["secrets"].([]any)) != 2 {
		t.Fatalf("rotate: %d, secrets %v", status, secrets)
	}
	g.mustCall(t, http.StatusOK, "PATCH", "/v1/webhooks/"+id, map[string]any{"disabled": true})
	if _, body = v.get("/console/webhooks/" + id); !strings.Contains(body, "Re-enable") {
		t.Fatal("a disabled endpoint offers no re-enable button")
	}
	if status, body = v.post("/console/webhooks/"+id+"/enable", url.Values{"csrf": {csrf}}); status != http.StatusOK || !strings.Contains(body, "enabled again") {
		t.Fatalf("enable: %d", status)
	}
	if hook := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/webhooks/"+id, nil)); hook["disabled"] != false {
		t.Fatalf("endpoint still disabled: %v", hook)
	}
}

func TestConsoleShowsAFailedPullOnImportsAndHealth(t *testing.T) {
	g := startGateway(t, engines()[0])
	src := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the export is down", http.StatusBadGateway)
	})
	g.mustCall(t, http.StatusCreated, "POST", "/v1/templates", []byte(csvTemplate))
	pull := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/pull-imports", map[string]any{
		"name": "nightly bookings", "url": src.srv.URL + "/bookings.csv", "template": "shop-bookings", "schedule": "@every 24h"}))
	g.call(t, "POST", "/v1/pull-imports/"+pull["id"].(string)+"/run", nil)
	v := signInConsole(t, g.URL, g.Token)
	if _, body := v.get("/console/imports"); !strings.Contains(body, "nightly bookings") || !strings.Contains(body, "failed") {
		t.Fatalf("the imports page does not show the failed pull:\n%s", body)
	}
	if _, body := v.get("/console/health"); !strings.Contains(body, "Scheduled pull") || !strings.Contains(body, "nightly bookings") {
		t.Fatalf("health does not list the failed pull:\n%s", body)
	}
}

// uploadToConsole posts a file to the console's import form and returns
// the page.
func uploadToConsole(t *testing.T, v *consoleVisitor, name string, file []byte, fields map[string]string) (int, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("csrf", v.csrf("/console/imports"))
	for k, val := range fields {
		w.WriteField(k, val)
	}
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(file)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, v.base+"/console/imports", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Origin", v.base)
	resp, err := v.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(page)
}

func TestConsoleImportsAnExcelWorkbook(t *testing.T) {
	g := startGateway(t, engines()[0])
	g.mustCall(t, http.StatusCreated, "POST", "/v1/templates", []byte(csvTemplate))
	v := signInConsole(t, g.URL, g.Token)
	status, page := uploadToConsole(t, v, "bookings.xlsx", readTestdata(t, "bookings-two-sheets.xlsx"), map[string]string{"template": "shop-bookings", "sheet": "Bookings"})
	if status != http.StatusOK || !strings.Contains(page, "2 created") || !strings.Contains(page, "0 failed") {
		t.Fatalf("Excel upload: %d\n%s", status, page)
	}
	list := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/reservations?source=shop", nil))
	if items, _ := list["items"].([]any); len(items) != 2 {
		t.Fatalf("%d entries after the upload, want 2", len(items))
	}
	// A sheet the workbook lacks is named in the page, and nothing is imported.
	_, page = uploadToConsole(t, v, "bookings.xlsx", readTestdata(t, "bookings-two-sheets.xlsx"), map[string]string{"template": "shop-bookings", "sheet": "Invoices"})
	if !strings.Contains(page, "<code>sheet</code>") || strings.Contains(page, `id="report-counts"`) {
		t.Fatalf("a missing sheet:\n%s", page)
	}
}

func TestConsoleShowsAnImportsProgressBeforeItsReport(t *testing.T) {
	g := startGateway(t, engines()[0])
	g.mustCall(t, http.StatusCreated, "POST", "/v1/templates", []byte(csvTemplate))
	v := signInConsole(t, g.URL, g.Token)
	status, page := uploadToConsole(t, v, "big.csv", []byte(csvRows(6000, 1)), map[string]string{"template": "shop-bookings"})
	if status != http.StatusOK || !strings.Contains(page, "6000 created") {
		t.Fatalf("upload: %d", status)
	}
	// A line after every chunk of 2,500 rows, then the report.
	at := -1
	for _, want := range []string{"2500 rows read", "5000 rows read", "6000 rows read", `id="report-counts"`} {
		i := strings.Index(page, want)
		if i <= at {
			t.Fatalf("%q is missing or out of order in the page", want)
		}
		at = i
	}
}

func TestConsoleReplaysFailedDeliveriesSinceATime(t *testing.T) {
	fastRetries(t)
	g := startGateway(t, engines()[0])
	rcv, heal := newFailingReceiver(t)
	id, _ := createWebhook(t, g, rcv.srv.URL, "entry.created")
	postJob(t, g, "J-1")
	postJob(t, g, "J-2")
	eventually(t, "both deliveries to fail", func() bool { return len(deliveries(t, g, id, "?status=failed")) == 2 })
	heal()
	v := signInConsole(t, g.URL, g.Token)
	// The form's time is in the workspace's zone (Europe/Berlin).
	berlin, _ := time.LoadLocation("Europe/Berlin")
	since := time.Now().Add(-time.Hour).In(berlin).Format("2006-01-02T15:04")
	status, body := v.post("/console/webhooks/"+id+"/replay", url.Values{"csrf": {v.csrf("/console/webhooks/" + id)}, "since": {since}})
	if status != http.StatusOK || !strings.Contains(body, "were sent again") {
		t.Fatalf("replay: %d", status)
	}
	eventually(t, "both deliveries to succeed", func() bool { return len(deliveries(t, g, id, "?status=succeeded")) == 2 })
	if status, body = v.post("/console/webhooks/"+id+"/replay", url.Values{"csrf": {v.csrf("/console/webhooks/" + id)}, "since": {"yesterday"}}); status != http.StatusUnprocessableEntity || !strings.Contains(body, "since") {
		t.Fatalf("replay with a bad time: %d, want 422 naming since", status)
	}
}

func TestConsoleConnectsAConnectorAndShowsItsCallLog(t *testing.T) {
	qb := startQuickBooks(t, qbotest.Options{})
	g := startGateway(t, engines()[0])
	created := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/connectors", map[string]any{
		"type": "quickbooks", "name": "Books", "filter": map[string]any{"kinds": []string{"reservation"}},
		"mapping": map[string]any{"item_id": "1", "unit_price": 40}}))
	id := created["id"].(string)
	v := signInConsole(t, g.URL, g.Token)
	if _, body := v.get("/console/connectors"); !strings.Contains(body, "Books") || !strings.Contains(body, "pending") {
		t.Fatalf("the connectors page does not list the pending connector:\n%s", body)
	}
	status, body := v.post("/console/connectors/"+id+"/authorize", url.Values{"csrf": {v.csrf("/console/connectors/" + id)}})
	m := regexp.MustCompile(`id="authorize-link" href="([^"]+)"`).FindStringSubmatch(body)
	if status != http.StatusOK || m == nil {
		t.Fatalf("connect: %d, no link to the consent page:\n%s", status, body)
	}
	link := html.UnescapeString(m[1])
	if !strings.HasPrefix(link, qb.AuthURL()) {
		t.Fatalf("consent link %q, want the application's authorize URL", link)
	}
	consent(t, g, link)
	if _, body = v.get("/console/connectors/" + id); !strings.Contains(body, `id="connector-state">connected<`) {
		t.Fatalf("after consent the page shows:\n%s", body)
	}
	g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", booking("B-1", "Stay", "confirmed"))
	eventually(t, "the invoice", func() bool { return len(qb.Documents()) == 1 })
	eventually(t, "the call log", func() bool {
		_, body = v.get("/console/connectors/" + id)
		return strings.Contains(body, "create invoice")
	})
	// The application refuses the credentials: health lists the connector.
	qb.ExpireAccessTokens()
	qb.RevokeRefreshTokens()
	g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", booking("B-2", "Stay", "confirmed"))
	eventually(t, "the connector to need a new authorization", func() bool { return connectorState(t, g, id)["state"] == "needs_reauth" })
	if _, body = v.get("/console/health"); !strings.Contains(body, "Books (quickbooks)") || !strings.Contains(body, "needs_reauth") {
		t.Fatalf("health does not list the disconnected connector:\n%s", body)
	}
	// Another workspace's connector is not found.
	other := signInConsole(t, g.URL, g.newWorkspaceToken(t, "other"))
	if status, _ := other.get("/console/connectors/" + id); status != http.StatusNotFound {
		t.Fatalf("a foreign connector: %d, want 404", status)
	}
}
