package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/api"
)

// gateway is an api.Server over the fakes, with every capability's routes.
type gateway struct {
	fakes *fakes
	store *fakeStore
	srv   *api.Server
	h     http.Handler
	// logs holds what the server logged: requests are served in the
	// test's goroutine, so no lock is needed.
	logs *bytes.Buffer
}

func newGateway(t *testing.T) *gateway {
	t.Helper()
	f := &fakes{}
	st := newFakeStore(f)
	for _, k := range calgate.Kinds {
		st.addEntry(k, "id1")
	}
	logs := &bytes.Buffer{}
	srv := api.New(api.Deps{Store: st, Logger: slog.New(slog.NewTextHandler(logs, nil)), PublicURL: "https://calgate.example.com"})
	srv.Add(srv.WebhookRoutes(fakeWebhooks{f})...)
	srv.AddSchemas(api.WebhookSchemas())
	srv.Add(srv.FeedsRoutes(fakeFeeds{f})...)
	srv.AddSchemas(api.FeedSchemas())
	srv.Add(srv.SubscriptionRoutes(fakeSubscriptions{f})...)
	srv.AddSchemas(api.SubscriptionSchemas())
	srv.Add(srv.ImportRoutes(fakeImports{f})...)
	srv.AddSchemas(api.ImportSchemas())
	srv.Add(srv.PullRoutes(fakePulls{f})...)
	srv.AddSchemas(api.PullSchemas())
	srv.Add(srv.CalDAVRoutes(fakeCalDAV{f})...)
	srv.AddSchemas(api.CalDAVSchemas())
	srv.Add(srv.ConnectorRoutes(fakeConnectors{f})...)
	srv.Add(srv.ConnectorOptionRoutes(fakeConnectors{f})...)
	srv.AddSchemas(api.ConnectorSchemas(fakeConnectors{f}.Types()))
	srv.AddSchemas(api.ConnectorOptionSchemas())
	srv.EntryICS = srv.EntryICSHandler(fakeFeeds{f})
	return &gateway{fakes: f, store: st, srv: srv, h: srv.Handler(), logs: logs}
}

// do sends a request with the test token unless headers say otherwise
// ("Authorization", "" removes it).
func (g *gateway) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Authorization", "Bearer "+testSecret)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	w := httptest.NewRecorder()
	g.h.ServeHTTP(w, req)
	return w
}

// problem checks that w is a problem document of the status, with a
// calgate problem type, naming field when field is not empty.
func problem(t *testing.T, what string, w *httptest.ResponseRecorder, status int, field string) {
	t.Helper()
	if w.Code != status {
		t.Errorf("%s: status %d, want %d: %s", what, w.Code, status, w.Body)
		return
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	var p api.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Errorf("%s: body is not a problem: %v: %s", what, err, w.Body)
		return
	}
	if p.Status != status || !slices.Contains(api.ProblemTypes(), p.Type) || !strings.HasPrefix(p.Type, "urn:calgate:problem:") || p.Title == "" {
		t.Errorf("%s: problem %+v", what, p)
	}
	if field == "" {
		return
	}
	for _, fe := range p.Errors {
		if fe.Field == field && fe.Message != "" {
			return
		}
	}
	t.Errorf("%s: problem names %v, want %q", what, p.Errors, field)
}

// entryBody is a valid create of kind k.
func entryBody(k calgate.Kind) string { return entryWith(k, "E-1") }

// entryWith is an entry of kind k with the external id.
func entryWith(k calgate.Kind, externalID string) string {
	return `{"external_id":"` + externalID + `","` + k.ResourceField() + `":"R1","start":"2026-03-02 08:00:00","end":"2026-03-02 09:00:00"}`
}

// requestBodies are valid bodies of each request schema.
func requestBody(r api.Route) string {
	for _, k := range calgate.Kinds {
		switch r.Request {
		case "Entry_" + string(k):
			if r.Method == http.MethodPut {
				return entryWith(k, "E-id1") // the entry the fake store holds
			}
			return entryBody(k)
		case "BulkRequest_" + string(k):
			return `{"items":[` + entryBody(k) + `]}`
		}
	}
	return map[string]string{
		"":                    "",
		"TokenRequest":        `{"name":"ERP nightly sync"}`,
		"Patch":               `{"title":"Welding, second shift"}`,
		"WebhookRequest":      `{"url":"https://hooks.example.com/in","events":["entry.*"]}`,
		"HookRequest":         `{"target_url":"https://hooks.example.com/in","event":"entry.created"}`,
		"FeedRequest":         `{"name":"plant"}`,
		"SubscriptionRequest": `{"url":"https://cal.example.com/a.ics","kind":"reservation","resource":"cabin-1","poll_interval":"15m"}`,
		"TemplateDocument":    `{"name":"t1","kind":"job"}`,
		"ImportRequest":       `{"model":{"id":1}}`,
		"PullImportRequest":   `{"url":"https://erp.example.com/orders","template":"planyo"}`,
		"CalDAVTargetRequest": `{"url":"https://dav.example.com/cal/","username":"u","password":"p"}`,
		"ConnectorRequest":    `{"type":"xero","name":"Accounts"}`,
	}[r.Request]
}

// routePath fills a route's parameters with value (the event of a sample
// stays a real event type).
func routePath(r api.Route, value string) string {
	var parts []string
	for _, seg := range strings.Split(r.Path, "/") {
		switch {
		case seg == ":event":
			seg = "entry.created"
		case seg == ":file":
			seg = value + ".ics"
		case strings.HasPrefix(seg, ":"):
			seg = value
		}
		parts = append(parts, seg)
	}
	p := strings.Join(parts, "/")
	switch r.Path {
	case "/v1/webhooks/:id/replay":
		p += "?since=2026-03-01T00:00:00Z"
	case "/v1/connectors/oauth/callback":
		p += "?state=" + value + "&code=c1"
	}
	return p
}

func successStatus(r api.Route) int {
	if r.Status != 0 {
		return r.Status
	}
	return http.StatusOK
}

// TestEveryRouteAnswersItsSuccess sends a valid request to every route and
// checks the status the route table declares, and that a JSON answer
// matches the route's schema in the OpenAPI document.
func TestEveryRouteAnswersItsSuccess(t *testing.T) {
	g := newGateway(t)
	doc := loadOpenAPI(t, g.srv)
	if n := len(g.srv.Routes()); n < 90 {
		t.Fatalf("only %d routes", n)
	}
	for _, r := range g.srv.Routes() {
		g := newGateway(t)
		path := routePath(r, "id1")
		w := g.do(r.Method, path, requestBody(r))
		if w.Code != successStatus(r) {
			t.Errorf("%s %s: %d, want %d: %s", r.Method, path, w.Code, successStatus(r), w.Body)
			continue
		}
		if r.Response == "" || r.Method == http.MethodHead {
			continue
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: Content-Type %q", r.Method, path, ct)
			continue
		}
		checkSchema(t, doc, r.Response, r.Method+" "+path, w.Body.Bytes())
	}
}

// TestEveryRouteRefusesWithAProblem drives every route's refusals: no
// token, a body that is not JSON, malformed JSON, a service that refuses a
// field, and a resource that does not exist.
func TestEveryRouteRefusesWithAProblem(t *testing.T) {
	g := newGateway(t)
	// Routes that call no service or store with the request.
	noService := map[string]bool{"/healthz": true, "/metrics": true, "/openapi.json": true, "/v1/auth/test": true, "/v1/workspace": true}
	for _, r := range g.srv.Routes() {
		what := r.Method + " " + r.Path
		body := requestBody(r)
		if !r.Public {
			problem(t, what+" without a token", g.do(r.Method, routePath(r, "id1"), body, "Authorization", ""), http.StatusUnauthorized, "")
		}
		if r.Request != "" {
			// Every JSON route takes a body without Content-Type, and
			// refuses another explicit type, naming the header.
			other := "text/plain"
			if strings.HasPrefix(r.Path, "/v1/import/") {
				other = "application/pdf" // imports read text/plain as CSV
			}
			problem(t, what+" with "+other, g.do(r.Method, routePath(r, "id1"), body, "Content-Type", other), http.StatusUnsupportedMediaType, "Content-Type")
			// A template document is read by the imports service, which
			// names its own faults.
			if r.Request != "TemplateDocument" {
				problem(t, what+" with malformed JSON", g.do(r.Method, routePath(r, "id1"), `{"name": `), http.StatusBadRequest, "body")
				problem(t, what+" with an unknown field", g.do(r.Method, routePath(r, "id1"), `{"no_such_field": 1}`), http.StatusBadRequest, "no_such_field")
			}
		}
		if !noService[r.Path] && r.Path != "/readyz" {
			g.fakes.setFail(calgate.Invalid("probe", "is refused by the service"))
			w := g.do(r.Method, routePath(r, "id1"), body)
			g.fakes.setFail(nil)
			if r.Method == http.MethodHead {
				if w.Code != http.StatusUnprocessableEntity {
					t.Errorf("%s refused by the service: %d", what, w.Code)
				}
			} else {
				problem(t, what+" refused by the service", w, http.StatusUnprocessableEntity, "probe")
			}
		}
		if strings.Contains(r.Path, "/:") && r.Path != "/v1/hooks/samples/:event" {
			w := g.do(r.Method, routePath(r, "missing"), body)
			if r.Method == http.MethodHead {
				if w.Code != http.StatusNotFound {
					t.Errorf("%s of nothing: %d", what, w.Code)
				}
			} else {
				problem(t, what+" of nothing", w, http.StatusNotFound, "")
			}
		}
	}
	g.fakes.setFail(calgate.ErrNotFound)
	w := g.do(http.MethodGet, "/readyz", "")
	g.fakes.setFail(nil)
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database down: %d", w.Code)
	}
}

func TestGinRefusalsAreProblems(t *testing.T) {
	g := newGateway(t)
	problem(t, "unknown route", g.do(http.MethodGet, "/v1/nothing-here", ""), http.StatusNotFound, "")
	problem(t, "wrong method", g.do(http.MethodPut, "/v1/jobs", entryBody(calgate.KindJob)), http.StatusMethodNotAllowed, "")
	var p api.Problem
	_ = json.Unmarshal(g.do(http.MethodPut, "/v1/jobs", "").Body.Bytes(), &p)
	if p.Type != "urn:calgate:problem:method-not-allowed" {
		t.Errorf("405 type = %q", p.Type)
	}
}

// TestJSONBodiesFollowOneRule sends the README's kinds of request to a
// single upsert, a bulk and a token creation: JSON is taken with or
// without its Content-Type, and a form type (what curl -d sends without
// -H) is refused naming the header.
func TestJSONBodiesFollowOneRule(t *testing.T) {
	job := entryBody(calgate.KindJob)
	tests := []struct {
		name, path, body, contentType string
		status                        int
	}{
		{"upsert without Content-Type", "/v1/jobs", job, "", http.StatusCreated},
		{"upsert as application/json", "/v1/jobs", job, "application/json", http.StatusCreated},
		{"upsert with a charset", "/v1/jobs", job, "application/json; charset=utf-8", http.StatusCreated},
		{"upsert as a form", "/v1/jobs", job, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"bulk without Content-Type", "/v1/jobs/bulk", `{"items":[` + job + `]}`, "", http.StatusOK},
		{"bulk as a form", "/v1/jobs/bulk", `{"items":[` + job + `]}`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"token without Content-Type", "/v1/tokens", `{"name":"erp"}`, "", http.StatusCreated},
		{"token as a form", "/v1/tokens", `{"name":"erp"}`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"patch as merge-patch+json", "/v1/jobs/id1", `{"title":"x"}`, "application/merge-patch+json", http.StatusOK},
	}
	for _, tt := range tests {
		g := newGateway(t)
		method := http.MethodPost
		if strings.HasSuffix(tt.path, "/id1") {
			method = http.MethodPatch
		}
		w := g.do(method, tt.path, tt.body, "Content-Type", tt.contentType)
		if tt.status == http.StatusUnsupportedMediaType {
			problem(t, tt.name, w, tt.status, "Content-Type")
			if !strings.Contains(w.Body.String(), "Content-Type: application/json") {
				t.Errorf("%s: the problem does not say which header to send: %s", tt.name, w.Body)
			}
			continue
		}
		if w.Code != tt.status {
			t.Errorf("%s: %d, want %d: %s", tt.name, w.Code, tt.status, w.Body)
		}
	}
}

func TestAccessLogAtInfo(t *testing.T) {
	g := newGateway(t)
	w := g.do(http.MethodPost, "/v1/jobs", entryBody(calgate.KindJob), "X-Request-Id", "req-42")
	if w.Code != http.StatusCreated {
		t.Fatalf("upsert: %d %s", w.Code, w.Body)
	}
	var line string
	for _, l := range strings.Split(g.logs.String(), "\n") {
		if strings.Contains(l, "msg=request") {
			line = l
		}
	}
	for _, want := range []string{"level=INFO", "method=POST", "route=/v1/jobs", "status=201", "latency_ms=", "request_id=req-42", "workspace=ws_test"} {
		if !strings.Contains(line, want) {
			t.Errorf("access log line %q lacks %s", line, want)
		}
	}
}

func TestIdempotencyKeyReplaysTheFirstAnswer(t *testing.T) {
	g := newGateway(t)
	job := entryBody(calgate.KindJob)
	first := g.do(http.MethodPost, "/v1/jobs", job, "Idempotency-Key", "k1")
	again := g.do(http.MethodPost, "/v1/jobs", job, "Idempotency-Key", "k1")
	if first.Code != http.StatusCreated || again.Code != http.StatusCreated || again.Header().Get("Idempotent-Replayed") != "true" || again.Body.String() != first.Body.String() {
		t.Errorf("replay: %d %d %q", first.Code, again.Code, again.Header().Get("Idempotent-Replayed"))
	}
	problem(t, "key reused with another body", g.do(http.MethodPost, "/v1/jobs", entryBody(calgate.KindJob)+" ", "Idempotency-Key", "k1"),
		http.StatusUnprocessableEntity, "Idempotency-Key")
}

func TestCreateTokenForAnotherUserNeedsAnAdmin(t *testing.T) {
	g := newGateway(t)
	g.store.mu.Lock()
	g.store.tokens["tok_admin"].Admin = false
	g.store.mu.Unlock()
	problem(t, "non-admin", g.do(http.MethodPost, "/v1/tokens", `{"name":"x","user":"someone-else"}`), http.StatusForbidden, "user")
}
