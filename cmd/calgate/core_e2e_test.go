package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/internal/testenv"
)

func TestTokensAreShownOnceHashedAndRevokedAtOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		created := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/tokens", map[string]any{"name": "erp sync", "user": "planner"}))
		secret := created["token"].(string)
		if !strings.HasPrefix(secret, calgate.TokenPrefix) || !strings.HasPrefix(secret, created["prefix"].(string)) {
			t.Fatalf("created = %v", created)
		}
		listing := g.mustCall(t, http.StatusOK, "GET", "/v1/tokens", nil)
		if bytes.Contains(listing, []byte(secret)) {
			t.Fatal("token list shows a secret")
		}
		// The secret is stored only as its hash.
		p, err := g.app.store.TokenByHash(context.Background(), calgate.HashSecret(secret))
		if err != nil || p.Token.User != "planner" {
			t.Fatalf("lookup by hash: %v %v", p, err)
		}
		for _, hdr := range [][]string{{"Authorization", "Bearer " + secret}, {"X-AUTH-TOKEN", secret}} {
			status, body, _ := g.callAs(t, "", "GET", "/v1/auth/test", nil, hdr...)
			if status != http.StatusOK || decode(t, body)["user"] != "planner" {
				t.Fatalf("auth via %s: %d %s", hdr[0], status, body)
			}
		}
		if status, _, _ := g.callAs(t, secret, "POST", "/v1/tokens", map[string]any{"name": "x", "user": "someone-else"}); status != http.StatusForbidden {
			t.Fatalf("non-admin created a token for another user: %d", status)
		}
		g.mustCall(t, http.StatusNoContent, "DELETE", "/v1/tokens/"+created["id"].(string), nil)
		if status, body, _ := g.callAs(t, secret, "GET", "/v1/auth/test", nil); status != http.StatusUnauthorized {
			t.Fatalf("revoked token still works: %d %s", status, body)
		}
		if status, _, hdr := g.callAs(t, "cgt_wrong", "GET", "/v1/jobs", nil); status != http.StatusUnauthorized || hdr.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("wrong token: %d", status)
		}
	})
}

func TestIdempotencyKeyReplaysTheFirstAnswer(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		body := map[string]any{"external_id": "I-1", "workstage": "Cut", "start": "2025-01-01"}
		_, first, _ := g.call(t, "POST", "/v1/jobs", body, "Idempotency-Key", "k-1")
		status, again, hdr := g.call(t, "POST", "/v1/jobs", body, "Idempotency-Key", "k-1")
		if status != http.StatusCreated || !bytes.Equal(first, again) || hdr.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %s", status, again)
		}
		body["workstage"] = "Weld"
		if status, _, _ := g.call(t, "POST", "/v1/jobs", body, "Idempotency-Key", "k-1"); status != http.StatusUnprocessableEntity {
			t.Fatalf("key reused with another body: %d", status)
		}
		events := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/events", nil))["items"].([]any)
		if len(events) != 1 {
			t.Fatalf("%d events, want 1", len(events))
		}
	})
}

func TestConcurrentUpsertsOfOneExternalIDLeaveOneConsistentEntry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					body := map[string]any{"external_id": "SAME", "workstage": "Press", "start": "2025-01-01", "title": "writer " + string(rune('a'+w)) + string(rune('0'+i))}
					if status, data, _ := g.call(t, "POST", "/v1/jobs", body); status != http.StatusOK && status != http.StatusCreated {
						t.Errorf("upsert: %d %s", status, data)
					}
				}
			}()
		}
		wg.Wait()
		items := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/jobs", nil))["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("%d entries, want 1", len(items))
		}
		entry := items[0].(map[string]any)
		history := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/jobs/"+entry["id"].(string)+"/history", nil))["items"].([]any)
		if int(entry["version"].(float64)) != len(history) || len(history) != 80 {
			t.Fatalf("version %v with %d history items, want 80 and 80", entry["version"], len(history))
		}
		for i, h := range history {
			if v := h.(map[string]any)["version"]; v != float64(i+1) {
				t.Fatalf("history item %d has version %v", i, v)
			}
		}
	})
}

func TestChangeFeedPagesInBothOrdersAndFiltersTypes(t *testing.T) {
	g := startGateway(t, engines()[0])
	for i := 0; i < 5; i++ {
		g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs", map[string]any{"external_id": string(rune('a' + i)), "workstage": "W", "start": fmt.Sprintf("2025-01-%02d", i+1)})
	}
	first := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/events?limit=2", nil))
	next := first["next_cursor"].(string)
	second := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/events?limit=10&after="+next, nil))
	if len(first["items"].([]any)) != 2 || len(second["items"].([]any)) != 3 {
		t.Fatalf("pages of %d and %d", len(first["items"].([]any)), len(second["items"].([]any)))
	}
	desc := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/events?order=desc&limit=2&types=entry.*", nil))["items"].([]any)
	if desc[0].(map[string]any)["position"].(float64) <= desc[1].(map[string]any)["position"].(float64) {
		t.Fatalf("desc order: %v", desc)
	}
	if n := len(decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/events?types=entry.archived", nil))["items"].([]any)); n != 0 {
		t.Fatalf("type filter let %d events through", n)
	}
}

// recorder is a destination that records the events it is given.
type recorder struct {
	started atomic.Int64
	mu      sync.Mutex
	seen    map[int64]int
	entries map[string]int
	delay   time.Duration
}

func (r *recorder) Name() string           { return "test-recorder" }
func (r *recorder) Policy() calgate.Policy { return calgate.Policy{MaxRetry: 3} }
func (r *recorder) HandleEvent(ctx context.Context, ev *calgate.Event) error {
	r.started.Add(1)
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[ev.ID]++
	if ev.Entry != nil {
		if r.entries == nil {
			r.entries = map[string]int{}
		}
		r.entries[ev.Entry.ExternalID]++
	}
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// startWithRecorder starts a gateway on cfg with a recording destination.
func startWithRecorder(t *testing.T, cfg *Config, rec *recorder) *testGateway {
	t.Helper()
	return startWithHook(t, cfg, func(a *app) { a.queue.AddDestination(rec) })
}

func startWithHook(t *testing.T, cfg *Config, hook func(a *app)) *testGateway {
	t.Helper()
	return startWithHookAs(t, cfg, roleAPI|roleWorker, hook)
}

// startWithHookAs starts a gateway with the given roles; hook may add to
// it before it runs.
func startWithHookAs(t *testing.T, cfg *Config, roles role, hook func(a *app)) *testGateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := openApp(ctx, cfg, testLogger(t))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	hook(a)
	if err := a.bootstrap(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	g := &testGateway{Token: cfg.AdminToken, app: a, stop: cancel, done: make(chan error, 1)}
	go func() { g.done <- a.run(ctx, roles, ready) }()
	g.URL = "http://" + <-ready
	t.Cleanup(g.Stop)
	return g
}

// TestOutboxHandsOverEventsWrittenWhileRedisWasDown runs an API process
// alone, whose events can reach a worker only through Redis, and stops
// Redis: the writes are accepted and the database records them as owed.
// Redis comes back empty and a worker process starts: the sweep hands it
// every owed event.
func TestOutboxHandsOverEventsWrittenWhileRedisWasDown(t *testing.T) {
	redisServer := testenv.StartRedisServer(t)
	cfg := testConfig(t)
	cfg.RedisURL = redisServer.URL
	cfg.DatabaseURL = testenv.Postgres(t)
	rec := &recorder{seen: map[int64]int{}}
	addRecorder := func(a *app) { a.queue.AddDestination(rec) }
	g := startWithHookAs(t, cfg, roleAPI, addRecorder)

	redisServer.Stop()
	for i := 0; i < 5; i++ {
		// Writes succeed while Redis is down: the outbox holds the events.
		g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs", map[string]any{"external_id": "during-" + string(rune('a'+i)), "workstage": "W", "start": fmt.Sprintf("2025-01-%02d", i+1)})
	}
	// The database owes them to every destination, and says so.
	eventually(t, "the five events to be owed to the recorder", func() bool { return owedEvents(t, g, rec.Name()) == 5 })
	if m := string(g.mustCall(t, http.StatusOK, "GET", "/metrics", nil)); !strings.Contains(m, `calgate_outbox_owed_events{destination="test-recorder"} 5`) {
		t.Errorf("/metrics does not show the owed events:\n%s", m)
	}
	redisServer.Start() // empty: it kept nothing
	startWithHookAs(t, cfg, roleWorker, addRecorder)
	eventually(t, "the owed events to reach the worker", func() bool { return rec.count() == 5 })
	eventually(t, "nothing to be owed any more", func() bool { return owedEvents(t, g, "") == 0 })
}

// owedEvents counts the events the database records as owed to a
// destination (every destination when dest is empty).
func owedEvents(t *testing.T, g *testGateway, dest string) int64 {
	t.Helper()
	owed, err := g.app.store.OwedWork(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, o := range owed {
		if dest == "" || o.Destination == dest {
			n += o.Events
		}
	}
	return n
}

func TestOutboxRedispatchesAfterAProcessDiedBeforeEnqueue(t *testing.T) {
	cfg := testConfig(t)
	// A process that started (so its destinations owe what comes) but died
	// right after a commit, before any dispatch: its event stays owed.
	db, err := openApp(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	db.queue.AddDestination(&recorder{seen: map[int64]int{}})
	if err := db.dispatcher.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := db.bootstrap(context.Background(), io.Discard); err != nil {
		t.Fatal(err)
	}
	ws, _ := db.store.WorkspaceByName(context.Background(), "default")
	e, _ := calgate.ParseEntry(calgate.KindJob, []byte(`{"external_id":"orphan","workstage":"W","start":"2025-01-01"}`), "UTC")
	if _, err := db.store.Upsert(context.Background(), ws.ID, "test", []calgate.UpsertItem{{Entry: e}}, calgate.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	db.close()
	rec := &recorder{seen: map[int64]int{}}
	startWithRecorder(t, cfg, rec)
	eventually(t, "the orphaned event to be dispatched on start", func() bool { return rec.count() == 1 })
}

func TestGracefulShutdownFinishesRequestsAndTasksInFlight(t *testing.T) {
	cfg := testConfig(t)
	// Long enough for the request below to finish even under the race
	// detector: shutdown waits for it, it does not cut it off.
	cfg.ShutdownTimeout = time.Minute
	rec := &recorder{seen: map[int64]int{}, delay: 500 * time.Millisecond}
	g := startWithRecorder(t, cfg, rec)
	items := make([]any, 2000)
	for i := range items {
		items[i] = map[string]any{"external_id": fmt.Sprintf("bulk-%d", i), "workstage": "W", "start": time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly)}
	}
	g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs", map[string]any{"external_id": "slow", "workstage": "W", "start": "2024-12-01"})
	eventually(t, "a worker to pick the task up", func() bool { return rec.started.Load() == 1 })
	body, _ := json.Marshal(map[string]any{"items": items})
	type answer struct {
		status int
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", g.URL+"/v1/jobs/bulk", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+g.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		resp.Body.Close()
		done <- answer{status: resp.StatusCode}
	}()
	time.Sleep(50 * time.Millisecond)
	g.Stop()
	if a := <-done; a.err != nil || a.status != http.StatusOK {
		t.Fatalf("bulk request in flight during shutdown: %d %v", a.status, a.err)
	}
	rec.mu.Lock()
	slow := rec.entries["slow"]
	rec.mu.Unlock()
	if slow != 1 {
		t.Fatalf("task in flight did not finish once: recorded %d times", slow)
	}
	// Reopen the same database: the bulk request was written whole.
	g2 := startWithConfig(t, cfg, roleAPI|roleWorker)
	var total int
	cursor := ""
	for {
		page := decode(t, g2.mustCall(t, http.StatusOK, "GET", "/v1/jobs?limit=1000&cursor="+cursor, nil))
		total += len(page["items"].([]any))
		if cursor = page["next_cursor"].(string); cursor == "" {
			break
		}
	}
	if total != 2001 {
		t.Fatalf("%d entries after restart, want 2001", total)
	}
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	g := startGateway(t, engines()[0])
	raw := g.mustCall(t, http.StatusOK, "GET", "/openapi.json", nil)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load /openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("/openapi.json is invalid: %v", err)
	}
	// Every route the gateway serves is documented: the native /v1 routes,
	// operations, feeds and the compatibility surfaces (/api/…, PlanningPME
	// and Skyplanner prefixes) alike. Nothing is excluded.
	var excluded []string
	routes := g.app.server.GinRoutes()
	if len(routes) < 100 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	prefixes := map[string]int{}
	for _, r := range routes {
		if slices.Contains(excluded, r.Path) {
			continue
		}
		prefixes[strings.SplitN(strings.TrimPrefix(r.Path, "/"), "/", 2)[0]]++
		item := doc.Paths.Find(api.OpenAPIPath(r.Path))
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s %s is missing from /openapi.json", r.Method, r.Path)
		}
	}
	for _, p := range []string{"v1", "feeds", "healthz", "api", ":workspace"} {
		if prefixes[p] == 0 {
			t.Errorf("no route under /%s was checked (%v)", p, prefixes)
		}
	}
	types := doc.Components.Schemas["Problem"].Value.Properties["type"].Value.Enum
	for _, pt := range api.ProblemTypes() {
		if !slices.Contains(types, any(pt)) {
			t.Errorf("problem type %s is not in /openapi.json", pt)
		}
	}
}

func TestOperationsEndpointsAndProblemsForUnknownRoutes(t *testing.T) {
	g := startGateway(t, engines()[0])
	g.mustCall(t, http.StatusOK, "GET", "/healthz", nil)
	ready := decode(t, g.mustCall(t, http.StatusOK, "GET", "/readyz", nil))
	if ready["status"] != "ok" {
		t.Fatalf("readyz = %v", ready)
	}
	g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs", map[string]any{"external_id": "m", "workstage": "W", "start": "2025-01-01"})
	metrics := string(g.mustCall(t, http.StatusOK, "GET", "/metrics", nil))
	for _, name := range []string{"calgate_http_request_duration_seconds", "calgate_events_written_total", "calgate_queue_depth"} {
		if !strings.Contains(metrics, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	for _, c := range []struct {
		method, path string
		status       int
	}{{"GET", "/v1/nothing-here", 404}, {"PUT", "/v1/jobs", 405}} {
		status, _, hdr := g.call(t, c.method, c.path, nil)
		if status != c.status || hdr.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d %s", c.method, c.path, status, hdr.Get("Content-Type"))
		}
	}
}

func TestFirstStartPrintsTheAdminTokenOnce(t *testing.T) {
	cfg := testConfig(t)
	cfg.AdminToken = ""
	a, err := openApp(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	var out bytes.Buffer
	if err := a.bootstrap(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	secret := ""
	for _, f := range strings.Fields(out.String()) {
		if strings.HasPrefix(f, calgate.TokenPrefix) {
			secret = f
		}
	}
	if p, err := a.store.TokenByHash(context.Background(), calgate.HashSecret(secret)); err != nil || !p.Token.Admin || p.Workspace.Name != "default" {
		t.Fatalf("printed token %q does not authenticate as the default admin: %v", secret, err)
	}
	out.Reset()
	if err := a.bootstrap(context.Background(), &out); err != nil || out.Len() != 0 {
		t.Fatalf("second start printed %q (%v)", out.String(), err)
	}
}

func TestTokensCommandCreatesWorkspaceAndToken(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"tokens", "create", "--workspace", "plant-2", "--user", "ops", "--data-dir", dir}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.DataDir = dir
	g := startWithConfig(t, cfg, roleAPI|roleWorker)
	status, body, _ := g.callAs(t, strings.TrimSpace(out.String()), "GET", "/v1/auth/test", nil)
	if status != http.StatusOK || decode(t, body)["workspace"].(map[string]any)["name"] != "plant-2" {
		t.Fatalf("CLI token: %d %s", status, body)
	}
	// Names follow the rules of the API.
	err := run(context.Background(), []string{"tokens", "create", "--workspace", "plant\xff", "--user", "ops", "--data-dir", t.TempDir()}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--workspace") {
		t.Fatalf("a workspace name that is not UTF-8: %v", err)
	}
}
