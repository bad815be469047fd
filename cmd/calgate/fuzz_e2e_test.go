package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/api"
)

// FuzzHTTPWrites sends random and mutated bodies to every write route of
// a gateway on SQLite and one on PostgreSQL, the same request to both,
// and fails when either answers 5xx (a panic in a handler is a 500), when
// a 4xx is not a problem document, or when the engines answer differently
// (a different status, or different counts in a bulk or import report).
//
// `go test` runs the seed corpus: a hand-written body per route, then
// CALGATE_FUZZ_CASES (default 80) bodies mutated from them by a generator
// seeded with CALGATE_FUZZ_SEED (default 1). A longer run by hand:
//
//	CALGATE_FUZZ_CASES=5000 CALGATE_FUZZ_SEED=$RANDOM go test -run FuzzHTTPWrites ./cmd/calgate/
//	go test -run '^$' -fuzz FuzzHTTPWrites -fuzztime 10m ./cmd/calgate/
//
// (with the variables of .ci/run for PostgreSQL and Redis). The second
// lets Go's fuzzing engine mutate the bytes; a failing input is saved
// under testdata/fuzz/FuzzHTTPWrites and runs with every `go test` after.
func FuzzHTTPWrites(f *testing.F) {
	routes := fuzzRoutes()
	for i, r := range routes {
		for _, s := range r.seeds {
			f.Add(uint8(i), []byte(s))
		}
	}
	// The connectors' applications, registered as a deployment does (no
	// call leaves the machine: a connector waits for consent).
	f.Setenv("CALGATE_QUICKBOOKS_CLIENT_ID", "fuzz-client")
	f.Setenv("CALGATE_QUICKBOOKS_CLIENT_SECRET", "fuzz-secret")
	f.Setenv("CALGATE_XERO_CLIENT_ID", "fuzz-client")
	f.Setenv("CALGATE_XERO_CLIENT_SECRET", "fuzz-secret")
	cases, seed := fuzzBudget(f)
	rng := rand.New(rand.NewPCG(seed, 0x63616c67))
	for range cases {
		i := rng.IntN(len(routes))
		r := routes[i]
		f.Add(uint8(i), r.mutate(rng, []byte(r.seeds[rng.IntN(len(r.seeds))])))
	}
	h := newFuzzHarness(f, routes)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		h.check(t, routes[int(route)%len(routes)], body)
	})
}

func fuzzBudget(f *testing.F) (cases int, seed uint64) {
	cases, seed = 80, 1
	if v := os.Getenv("CALGATE_FUZZ_CASES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			f.Fatalf("CALGATE_FUZZ_CASES=%q is not a number of cases", v)
		}
		cases = n
	}
	if v := os.Getenv("CALGATE_FUZZ_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			f.Fatalf("CALGATE_FUZZ_SEED=%q is not a number", v)
		}
		seed = n
	}
	return cases, seed
}

// fuzzRoute is one write route: its gin pattern, the path it is called
// on (with $NAME placeholders for the fixtures of each gateway), the
// content type and seed bodies.
type fuzzRoute struct {
	method, pattern, path string
	ctype                 string
	// header is a request header the route needs ("name: value").
	header string
	// foreignErrors: the route answers errors in the shape of the system
	// it imitates (PlanningNow), not as problem documents.
	foreignErrors bool
	seeds         []string
}

// URLs in bodies are placeholders the harness fills in, so that a saved
// corpus stays valid and no request leaves the machine: a mutated body
// whose URL is not one of fuzzURLs is not sent.
var fuzzURLs = []string{"$ICS", "$ICS/broken", "$LOCAL/hook", "$LOCAL/orders", "http://127.0.0.1:1/dav/", "webcal://127.0.0.1:1/x.ics",
	"ftp://127.0.0.1/x", "", "not a url", "http://[::1]:1/", "http://127.0.0.1:1/" + strings.Repeat("p", 3000)}

const (
	seedJob         = `{"external_id":"J-1","source":"erp","workstage":"Welding","order":"A-1","order_item":"1","product":"P","title":"Weld","description":"two\nlines","location":"Hall 2","start":"2026-03-02 07:00:00","end":"2026-03-02 11:30:00","timezone":"Europe/Berlin","status":"tentative","attributes":{"prio":1,"tags":["a"]}}`
	seedReservation = `{"external_id":"R-1","resource":"Room 3","start":"2026-11-01","end":"2026-11-03","customer":{"name":"Ada","email":"ada@example.com","phone":"+49 1"},"quantity":2}`
	seedWindow      = `{"external_id":"T-9","cost_centre":"CNC-2","order":"A-100","position":"10","activity":"Milling","start":"2026-10-28T06:00:00Z","end":"2026-10-28T14:00:00Z"}`
	seedTemplate    = `{"name":"%s","kind":"job","direction":"import","description":"plain jobs","fields":{"external_id":{"path":"id"},"workstage":{"path":"ws"},"start":{"path":"from"},"end":{"path":"to"},"title":{"path":"what"}}}`
	seedCSVTemplate = `{"name":"fz-csv","kind":"reservation","direction":"import","input":"table","columns":{"Booking":"external_id","Room":"resource","Guest":"title","Start":{"field":"start","transform":[{"type":"date","layout":"dd.MM.yyyy HH:mm"}]},"End":{"field":"end","transform":[{"type":"date","layout":"dd.MM.yyyy HH:mm"}]}},"fields":{"source":{"const":"shop"}}}`
)

func fuzzRoutes() []fuzzRoute {
	var routes []fuzzRoute
	for _, k := range []struct{ route, seed, put string }{
		{"jobs", seedJob, strings.Replace(seedJob, `"J-1","source":"erp"`, `"FZ-jobs"`, 1)},
		{"reservations", seedReservation, strings.Replace(seedReservation, `"R-1"`, `"FZ-reservations"`, 1)},
		{"production-windows", seedWindow, strings.Replace(seedWindow, `"T-9"`, `"FZ-production-windows"`, 1)},
	} {
		base := "/v1/" + k.route
		routes = append(routes,
			fuzzRoute{method: "POST", pattern: base, path: base, seeds: []string{k.seed}},
			fuzzRoute{method: "POST", pattern: base + "/bulk", path: base + "/bulk", seeds: []string{
				`{"items":[` + k.seed + `,` + strings.Replace(k.seed, `-1"`, `-2"`, 1) + `],"verbose":true}`,
				`{"items":[` + k.seed + `],"simulate":true,"stop_on_error":true}`}},
			fuzzRoute{method: "PATCH", pattern: base + "/:id", path: base + "/$" + k.route, seeds: []string{`{"title":"moved","attributes":{"prio":null}}`, `{"end":null}`}},
			fuzzRoute{method: "PUT", pattern: base + "/:id", path: base + "/$" + k.route, seeds: []string{k.put}},
		)
	}
	return append(routes,
		fuzzRoute{method: "POST", pattern: "/v1/tokens", path: "/v1/tokens", seeds: []string{`{"name":"ERP nightly","user":"erp"}`, `{"name":"x","admin":true}`}},
		fuzzRoute{method: "POST", pattern: "/v1/feeds", path: "/v1/feeds", seeds: []string{`{"name":"Welding","kinds":["job"],"resources":["Welding"],"statuses":["confirmed"],"sources":["erp"],"past_days":30,"timezone":"Europe/Berlin","include_cancelled":false,"title_templates":{"job":"{workstage}: {order}"},"description_templates":{"job":"{description}"}}`}},
		fuzzRoute{method: "PATCH", pattern: "/v1/feeds/:id", path: "/v1/feeds/$feed", seeds: []string{`{"name":"renamed","past_days":7,"title_templates":{"reservation":"{resource}"}}`}},
		fuzzRoute{method: "POST", pattern: "/v1/webhooks", path: "/v1/webhooks", seeds: []string{`{"url":"$LOCAL/hook","events":["entry.*"],"filter":{"kinds":["job"],"resources":["Welding"],"sources":["erp"]},"description":"ERP"}`}},
		fuzzRoute{method: "PATCH", pattern: "/v1/webhooks/:id", path: "/v1/webhooks/$webhook", seeds: []string{`{"description":"changed","disabled":true,"events":["entry.created"]}`}},
		fuzzRoute{method: "POST", pattern: "/v1/hooks", path: "/v1/hooks", seeds: []string{`{"target_url":"$LOCAL/hook","event":"entry.created"}`}},
		fuzzRoute{method: "POST", pattern: "/v1/caldav-targets", path: "/v1/caldav-targets", seeds: []string{`{"url":"http://127.0.0.1:1/dav/","username":"alice","password":"pw","calendar":"Work","kinds":["job"],"on_archive":"cancel"}`}},
		fuzzRoute{method: "PATCH", pattern: "/v1/caldav-targets/:id", path: "/v1/caldav-targets/$caldav", seeds: []string{`{"kinds":["job","reservation"],"resources":["Welding"],"paused":true}`}},
		fuzzRoute{method: "POST", pattern: "/v1/ical-subscriptions", path: "/v1/ical-subscriptions", seeds: []string{`{"url":"$ICS","resource":"cabin-7","name":"Airbnb","poll_interval":"15m","kind":"reservation"}`}},
		fuzzRoute{method: "PATCH", pattern: "/v1/ical-subscriptions/:id", path: "/v1/ical-subscriptions/$sub", seeds: []string{`{"name":"renamed","poll_interval":3600}`, `{"url":"$ICS/broken"}`}},
		fuzzRoute{method: "POST", pattern: "/v1/resources", path: "/v1/resources", seeds: []string{`{"name":"Press 4","kind":"machine","capacity":2,"timezone":"Europe/Berlin","working_hours":{"mon":[{"start":"09:00","end":"17:00"}]},"closed_dates":["2026-12-25"],"conflict_policy":"warn"}`}},
		fuzzRoute{method: "PATCH", pattern: "/v1/resources/:id", path: "/v1/resources/$resource", seeds: []string{`{"capacity":3,"working_hours":null}`, `{"name":"renamed","closed_dates":[]}`}},
		fuzzRoute{method: "POST", pattern: "/v1/resources/import", path: "/v1/resources/import", ctype: "text/csv", seeds: []string{"name,quantity,working_hours,closed_dates\r\nPress 5,2,mon-fri 09:00-17:00,2026-12-24;2026-12-25\r\n"}},
		fuzzRoute{method: "PUT", pattern: "/v1/availability/settings", path: "/v1/availability/settings", seeds: []string{`{"conflict_policy":"warn","count_tentative":false}`}},
		fuzzRoute{method: "POST", pattern: "/v1/availability/query", path: "/v1/availability/query", seeds: []string{`{"resources":["R","Welding"],"from":"2026-03-02","to":"2026-03-04","duration":"PT1H","interval":"PT30M","min_free":1,"timezone":"UTC"}`}},
		fuzzRoute{method: "POST", pattern: "/v1/templates", path: "/v1/templates", seeds: []string{fmt.Sprintf(seedTemplate, "fz-tpl")}},
		fuzzRoute{method: "PUT", pattern: "/v1/templates/:name", path: "/v1/templates/fz-put", seeds: []string{fmt.Sprintf(seedTemplate, "fz-put")}},
		fuzzRoute{method: "POST", pattern: "/v1/import/:template", path: "/v1/import/fz-json", seeds: []string{
			`{"model":[{"id":"i1","ws":"W","from":"2026-03-02 08:00:00","to":"2026-03-02 09:00:00","what":"x"},{"id":"i2","ws":"W","from":"2026-03-02","what":"y"}],"verbose":true}`,
			`{"model":{"id":"i3","ws":"W","from":"2026-03-02T08:00:00Z","to":"2026-03-02T09:00:00Z"},"mode":"sync"}`}},
		fuzzRoute{method: "POST", pattern: "/v1/import/:template", path: "/v1/import/fz-csv?verbose=true", ctype: "text/csv", seeds: []string{
			"Booking;Room;Guest;Start;End\nb1;R;G;01.07.2026 09:00;01.07.2026 10:00\nb2;R;\"two\nlines\";01.07.2026 11:00;01.07.2026 12:00\n"}},
		fuzzRoute{method: "POST", pattern: "/v1/pull-imports", path: "/v1/pull-imports", seeds: []string{`{"name":"orders","url":"$LOCAL/orders","headers":{"X-AUTH-TOKEN":"t"},"query":{"status":"open","page":{"size":100}},"since_param":"changed_since","since_format":"yyyyMMddHHmmss","template":"planningnow-order","mode":"upsert","schedule":"*/15 * * * *","notify_emails":["ops@example.com"]}`}},
		fuzzRoute{method: "PATCH", pattern: "/v1/pull-imports/:id", path: "/v1/pull-imports/$pull", seeds: []string{`{"schedule":"1h","mode":"sync","sheet":""}`}},
		fuzzRoute{method: "POST", pattern: "/v1/connectors", path: "/v1/connectors", seeds: []string{
			`{"type":"quickbooks","name":"Books","filter":{"kinds":["reservation"],"resources":["Room 1"],"sources":["erp"],"statuses":["confirmed"]},"mapping":{"item_id":"1","price_attribute":"price"}}`,
			`{"type":"xero","name":"Xero","mapping":{"account_code":"200","status":"AUTHORISED"}}`}},
		fuzzRoute{method: "PATCH", pattern: "/v1/connectors/:id", path: "/v1/connectors/$connector", seeds: []string{`{"name":"renamed","paused":true,"mapping":{"item_id":"2"}}`}},
		fuzzRoute{method: "POST", pattern: "/:workspace/api/integration/:template", path: "/default/api/integration/fz-json", header: "X-APPKEY: erp", seeds: []string{
			`{simulate: false, verbose: true, stopOnError: false, model: [{"id":"p1","ws":"W","from":"2026-03-02 08:00:00","to":"2026-03-02 09:00:00"}]}`}},
		fuzzRoute{method: "POST", pattern: "/api/order", path: "/api/order", foreignErrors: true, seeds: []string{fuzzOrder}},
		fuzzRoute{method: "PUT", pattern: "/api/order/:id", path: "/api/order/4711", foreignErrors: true, seeds: []string{fuzzOrder}},
		fuzzRoute{method: "POST", pattern: "/phaser-jobs", path: "/phaser-jobs", seeds: []string{
			`{"id":9001,"phaser_order_row_id":801,"workstage_id":71,"name":"Painting","start_time":"2025-10-06 07:00:00","end_time":"2025-10-06 15:30:00"}`}},
		fuzzRoute{method: "POST", pattern: "/workstages", path: "/workstages", seeds: []string{`{"id":71,"name":"Paint shop"}`}},
	)
}

// fuzzOrder is a PlanningNow order with one position and one task.
const fuzzOrder = `{"id":4711,"customer_no":1234,"project_no":"PROJ-2025-Q4","positions":[{"id":1,"pos_no":1,"article_number":"ART-001","article_desc":"Main Component Assembly","amount":"50.00","deliv_date":"2025-10-15","tasks":[{"id":101,"cost_centre_name":"Assembly Line 1","activity_name":"Component Welding","production_start":"2025-09-20 08:00:00","production_end":"2025-09-20 16:30:00"}]}]}`

// fuzzGateway is one engine's gateway with the ids of its fixtures.
type fuzzGateway struct {
	name string
	g    *testGateway
	ids  map[string]string
}

type fuzzHarness struct {
	gateways []*fuzzGateway
	expand   *strings.Replacer
	urls     map[string]bool
	client   *http.Client
}

func newFuzzHarness(f *testing.F, routes []fuzzRoute) *fuzzHarness {
	today := time.Now().UTC()
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fuzz//EN\r\nBEGIN:VEVENT\r\nUID:a@fuzz\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;VALUE=DATE:" +
		today.AddDate(0, 0, 3).Format("20060102") + "\r\nSUMMARY:Blocked\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cal.ics":
			w.Header().Set("Content-Type", "text/calendar")
			io.WriteString(w, ics)
		case "/cal.ics/broken":
			http.Error(w, "broken", http.StatusInternalServerError)
		case "/orders":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `[]`)
		default:
			io.WriteString(w, "ok")
		}
	}))
	f.Cleanup(local.Close)
	h := &fuzzHarness{expand: strings.NewReplacer("$ICS", local.URL+"/cal.ics", "$LOCAL", local.URL), urls: map[string]bool{},
		client: &http.Client{Timeout: 2 * time.Minute}}
	for _, u := range fuzzURLs {
		h.urls[strings.TrimSpace(h.expand.Replace(u))] = true
	}
	// The gateways outlive each input's t; they log to stderr, errors only
	// (a 5xx fails the input anyway).
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	for _, e := range engines() {
		cfg := testConfig(f)
		e.configure(f, cfg)
		g := startWithLogger(f, cfg, roleAPI|roleWorker, logger)
		fg := &fuzzGateway{name: e.name, g: g, ids: h.fixtures(f, g, local.URL)}
		h.gateways = append(h.gateways, fg)
	}
	// Every write route that takes a body is fuzzed.
	for _, r := range h.gateways[0].g.app.server.Routes() {
		if r.Request == "" {
			continue
		}
		if !slices.ContainsFunc(routes, func(fr fuzzRoute) bool { return fr.method == r.Method && fr.pattern == r.Path }) {
			f.Fatalf("%s %s takes a body but has no fuzz route", r.Method, r.Path)
		}
	}
	return h
}

// fixtures creates what the PATCH and PUT routes change and returns the
// ids by placeholder.
func (h *fuzzHarness) fixtures(f *testing.F, g *testGateway, local string) map[string]string {
	ids := map[string]string{}
	create := func(path, body string) map[string]any {
		status, data := h.send(f, g, "POST", path, "", []byte(h.expand.Replace(body)))
		if status != http.StatusCreated {
			f.Fatalf("fixture %s: %d %s", path, status, data)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			f.Fatal(err)
		}
		return m
	}
	for _, k := range calgate.Kinds {
		e := create(api.EntryPath(k), fmt.Sprintf(`{"external_id":"FZ-%s","%s":"R","start":"2026-03-02 08:00:00","end":"2026-03-02 09:00:00"}`, api.EntryCollection(k), k.ResourceField()))
		ids[api.EntryCollection(k)] = e["id"].(string)
	}
	ids["feed"] = create("/v1/feeds", `{"name":"fixture"}`)["id"].(string)
	ids["resource"] = create("/v1/resources", `{"name":"fixture-resource"}`)["id"].(string)
	ids["webhook"] = create("/v1/webhooks", `{"url":"$LOCAL/hook","events":["entry.*"]}`)["id"].(string)
	ids["sub"] = create("/v1/ical-subscriptions", `{"url":"$ICS","resource":"fixture"}`)["id"].(string)
	ids["pull"] = create("/v1/pull-imports", `{"url":"$LOCAL/orders","template":"planningnow-order","schedule":"1h"}`)["id"].(string)
	ids["connector"] = create("/v1/connectors", `{"type":"quickbooks","name":"fixture","mapping":{"item_id":"1"}}`)["id"].(string)
	create("/v1/templates", fmt.Sprintf(seedTemplate, "fz-json"))
	create("/v1/templates", seedCSVTemplate)
	// A CalDAV target is made in the store: creating one through the API
	// needs a CalDAV server, and its settings are what is fuzzed here.
	ctx := context.Background()
	ws, err := g.app.store.WorkspaceByName(ctx, "default")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	target := &calgate.CalDAVTarget{ID: calgate.NewID("cdt"), WorkspaceID: ws.ID, URL: "http://127.0.0.1:1/dav/", CalendarURL: "http://127.0.0.1:1/dav/cal/",
		Username: "alice", SealedPassword: g.app.vault.Seal([]byte("pw")), OnArchive: calgate.OnArchiveDelete, State: calgate.CalDAVStateOK,
		ReconcileAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
	if err := g.app.store.CreateCalDAVTarget(ctx, target); err != nil {
		f.Fatal(err)
	}
	ids["caldav"] = target.ID
	return ids
}

// send makes one request with the admin token.
func (h *fuzzHarness) send(t testing.TB, g *testGateway, method, path, ctype string, body []byte) (int, []byte) {
	status, data, _ := h.sendFull(t, g, method, path, ctype, body, "")
	return status, data
}

func (h *fuzzHarness) sendFull(t testing.TB, g *testGateway, method, path, ctype string, body []byte, header string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, g.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype == "" {
		ctype = "application/json"
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+g.Token)
	if name, value, ok := strings.Cut(header, ": "); ok {
		req.Header.Set(name, value)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data, resp.Header
}

// safeURLs reports whether every URL a JSON body names is one of the
// harness's (field names match without regard to case, as decoding does).
func (h *fuzzHarness) safeURLs(body []byte) bool {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return true // not an object: refused before any URL is used
	}
	for k, raw := range doc {
		if !strings.EqualFold(k, "url") && !strings.EqualFold(k, "target_url") {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil && !h.urls[strings.TrimSpace(s)] {
			return false
		}
	}
	return true
}

// fuzzReport is what the engines must agree on in a bulk or import reply.
type fuzzReport struct {
	Created, Updated, Unchanged, Failed, Archived, Skipped int
}

func (h *fuzzHarness) check(t *testing.T, r fuzzRoute, body []byte) {
	if r.ctype == "" {
		body = []byte(h.expand.Replace(string(body)))
		if !h.safeURLs(body) {
			t.Skip("the body names a URL outside the harness")
		}
	}
	statuses := make([]int, len(h.gateways))
	reports := make([]fuzzReport, len(h.gateways))
	for i, fg := range h.gateways {
		path := r.path
		for name, id := range fg.ids {
			path = strings.ReplaceAll(path, "$"+name, id)
		}
		status, data, hdr := h.sendFull(t, fg.g, r.method, path, r.ctype, body, r.header)
		if status >= 500 {
			t.Fatalf("%s: %s %s answered %d: %s\nbody: %q", fg.name, r.method, r.pattern, status, data, body)
		}
		want := "application/problem+json"
		if r.foreignErrors {
			want = "application/json"
		}
		if status >= 400 && !strings.HasPrefix(hdr.Get("Content-Type"), want) {
			t.Fatalf("%s: %s %s answered %d without a %s document: %s", fg.name, r.method, r.pattern, status, want, data)
		}
		statuses[i] = status
		if status == http.StatusOK && (strings.HasSuffix(r.pattern, "/bulk") || strings.HasPrefix(r.pattern, "/v1/import/")) {
			if err := json.Unmarshal(data, &reports[i]); err != nil {
				t.Fatalf("%s: report %s: %v", fg.name, data, err)
			}
		}
	}
	for i := 1; i < len(h.gateways); i++ {
		if statuses[i] != statuses[0] || reports[i] != reports[0] {
			t.Fatalf("%s %s: the engines disagree: %s %d %+v, %s %d %+v\nbody: %q", r.method, r.pattern,
				h.gateways[0].name, statuses[0], reports[0], h.gateways[i].name, statuses[i], reports[i], body)
		}
	}
}
