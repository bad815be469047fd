package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/calgate/calgate/internal/testenv"
	"github.com/calgate/calgate/sync/caldav"
	"github.com/calgate/calgate/sync/caldav/caldavtest"
	"github.com/calgate/calgate/webhooks"
)

// delivered is what a receiver got, by webhook-id: the entry and version
// each message carries.
type delivered struct {
	mu    sync.Mutex
	byID  map[string]string // webhook-id → "entry@version"
	byKey map[string]string // "entry@version" → webhook-id
	calls int
	dupID int // the same webhook-id twice (allowed, counted)
	split []string
}

func (d *delivered) add(id, key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if prev, ok := d.byID[id]; ok {
		d.dupID++
		if prev != key {
			d.split = append(d.split, fmt.Sprintf("webhook-id %s carried %s and %s", id, prev, key))
		}
		return
	}
	if other, ok := d.byKey[key]; ok && other != id {
		d.split = append(d.split, fmt.Sprintf("%s came under two webhook-ids, %s and %s", key, other, id))
	}
	d.byID[id], d.byKey[key] = key, id
}

func (d *delivered) keys() map[string]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]bool, len(d.byKey))
	for k := range d.byKey {
		out[k] = true
	}
	return out
}

// verifyingReceiver is a webhook endpoint that refuses what does not carry
// a valid Standard Webhooks signature of the secret (set once the endpoint
// is registered) and records the rest. It returns its URL.
func verifyingReceiver(t *testing.T) (string, *delivered, func(secret string)) {
	d := &delivered{byID: map[string]string{}, byKey: map[string]string{}}
	var mu sync.Mutex
	var key []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		mu.Lock()
		k := key
		mu.Unlock()
		if err != nil || k == nil || webhooks.Verify(k, r.Header, body, 5*time.Minute, time.Now()) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var msg struct {
			Data struct {
				Entry struct {
					ID      string `json:"id"`
					Version int64  `json:"version"`
				} `json:"entry"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		d.add(r.Header.Get(webhooks.HeaderID), fmt.Sprintf("%s@%d", msg.Data.Entry.ID, msg.Data.Entry.Version))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, d, func(secret string) {
		s, err := webhooks.DecodeSecret(secret)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		key = s
		mu.Unlock()
	}
}

// entryEvents lists "entry@version" of every entry event of the workspace,
// through the change feed.
func entryEvents(t *testing.T, g *testGateway) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	after := ""
	for {
		page := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/events?types=entry.*&limit=1000&after="+after, nil))
		items := page["items"].([]any)
		for _, it := range items {
			e := it.(map[string]any)["data"].(map[string]any)["entry"].(map[string]any)
			out[fmt.Sprintf("%s@%d", e["id"], int64(e["version"].(float64)))] = true
		}
		// The change feed always hands out a cursor to poll on with.
		if after, _ = page["next_cursor"].(string); after == "" || len(items) < 1000 {
			return out
		}
	}
}

// liveEntries lists the id and version of every live entry of a kind.
func liveEntries(t *testing.T, g *testGateway, route string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	cursor := ""
	for {
		page := decode(t, g.mustCall(t, http.StatusOK, "GET", route+"?limit=1000&cursor="+cursor, nil))
		for _, it := range page["items"].([]any) {
			e := it.(map[string]any)
			out[e["id"].(string)] = int64(e["version"].(float64))
		}
		if cursor, _ = page["next_cursor"].(string); cursor == "" {
			return out
		}
	}
}

// missingOf names up to five keys of want that got lacks.
func missingOf(want, got map[string]bool) (int, []string) {
	n := 0
	var some []string
	for k := range want {
		if !got[k] {
			n++
			if len(some) < 5 {
				some = append(some, k)
			}
		}
	}
	return n, some
}

// calendarHolds reports whether the calendar holds exactly one object per
// live entry, each at the entry's version, and what differs when not.
func calendarHolds(t *testing.T, srv *caldavtest.Server, live map[string]int64) (bool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := caldav.New(http.DefaultClient, srv.CalendarURL, caldav.Credentials{Username: srv.Username, Password: srv.Password})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := cl.List(ctx)
	if err != nil {
		return false, err.Error()
	}
	names := map[string]bool{}
	for _, o := range objs {
		names[o.Name] = true
	}
	if len(objs) != len(live) {
		return false, fmt.Sprintf("%d objects for %d live entries", len(objs), len(live))
	}
	for id := range live {
		if !names[id+".ics"] {
			return false, "no object for " + id
		}
	}
	for id, version := range live {
		body, _, err := cl.Get(ctx, id+".ics")
		if err != nil {
			return false, err.Error()
		}
		if !strings.Contains(string(body), fmt.Sprintf("X-CALGATE-VERSION:%d\r\n", version)) {
			return false, fmt.Sprintf("%s is not at version %d", id, version)
		}
	}
	return true, ""
}

// bulk posts items to a bulk route and fails unless every item is taken.
func bulk(t *testing.T, g *testGateway, route string, items []map[string]any) {
	t.Helper()
	res := decode(t, g.mustCall(t, http.StatusOK, "POST", route+"/bulk", map[string]any{"items": items}))
	if res["failed"].(float64) != 0 {
		t.Errorf("bulk into %s: %v", route, res["errors"])
	}
}

func jobItem(i int, title string) map[string]any {
	ws := "Welding"
	if i%2 == 1 {
		ws = "Painting"
	}
	// One after another: entries that overlapped would add conflict
	// events, which this test does not count.
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 4 * time.Hour)
	return map[string]any{"external_id": fmt.Sprintf("J-%d", i), "workstage": ws, "title": title,
		"start": start.Format(time.RFC3339), "end": start.Add(4 * time.Hour).Format(time.RFC3339)}
}

func reservationItem(i int) map[string]any {
	start := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
	return map[string]any{"external_id": fmt.Sprintf("R-%d", i), "resource": fmt.Sprintf("Room %d", i%7), "title": "Booking",
		"start": start.Format(time.RFC3339), "end": start.Add(time.Hour).Format(time.RFC3339)}
}

// TestProductionShapeLosesNothingUnderFaults runs two API and two worker
// processes on PostgreSQL and a Redis of the test's own, with a webhook
// endpoint, a CalDAV target (Radicale) and a feed. During the fan-out of a
// few thousand entries Redis is emptied, a worker is killed with SIGKILL
// and Redis is restarted. Every message must arrive (signatures checked,
// each under one webhook-id), Radicale must hold one object per live
// entry at its version and the feed the final state.
func TestProductionShapeLosesNothingUnderFaults(t *testing.T) {
	pg := testenv.Postgres(t)
	rs := testenv.StartRedisServer(t)
	rad := caldavtest.StartRadicale(t)
	env := procEnv(t, t.TempDir(), "DATABASE_URL="+pg, "REDIS_URL="+rs.URL)
	api1, api2 := startProc(t, "api", env), startProc(t, "api", env)
	w1, w2 := startProc(t, "worker", env), startProc(t, "worker", env)
	g1, g2 := api1.client(), api2.client()

	rcv, got, setSecret := verifyingReceiver(t)
	_, secret := createWebhook(t, g1, rcv, "entry.*")
	setSecret(secret)
	g2.mustCall(t, http.StatusCreated, "POST", "/v1/caldav-targets", map[string]any{
		"url": rad.URL, "username": rad.Username, "password": rad.Password, "calendar": rad.CalendarURL, "kinds": []string{"reservation"}})
	status, data, _ := g1.call(t, "POST", "/v1/feeds", map[string]any{"name": "welding", "kinds": []string{"job"}, "resources": []string{"Welding"}})
	if status != http.StatusCreated {
		t.Fatalf("create feed: %d %s", status, data)
	}
	feed := feedPath(t, decode(t, data)["url"].(string))

	const jobs, reservations = 2400, 300
	rdb := redis.NewClient(mustRedisOptions(t, rs.URL))
	defer rdb.Close()
	var wg sync.WaitGroup
	ingest := func(g *testGateway, from, to int) {
		defer wg.Done()
		for start := from; start < to; start += 400 {
			items := make([]map[string]any, 0, 400)
			for i := start; i < min(start+400, to); i++ {
				items = append(items, jobItem(i, "Job"))
			}
			bulk(t, g, "/v1/jobs", items)
		}
	}
	wg.Add(2)
	go ingest(g1, 0, jobs/2)
	go ingest(g2, jobs/2, jobs)
	res := make([]map[string]any, reservations)
	for i := range res {
		res[i] = reservationItem(i)
	}
	bulk(t, g2, "/v1/reservations", res)
	// Mid fan-out: Redis loses everything, a worker dies, Redis restarts.
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	w1.kill()
	wg.Wait()
	rs.Stop()
	// Writes go on while Redis is down: updates, moves and deletions.
	for i := 0; i < 200; i++ {
		g1.mustCall(t, http.StatusOK, "POST", "/v1/jobs", jobItem(i, "Job (changed)"))
	}
	var archived []string
	for id := range liveEntries(t, g2, "/v1/reservations") {
		if len(archived) == 40 {
			break
		}
		g2.mustCall(t, http.StatusOK, "DELETE", "/v1/reservations/"+id, nil)
		archived = append(archived, id)
	}
	rs.Start()

	want := entryEvents(t, g1)
	if len(want) < jobs+reservations+240 {
		t.Fatalf("%d entry events recorded, want at least %d", len(want), jobs+reservations+240)
	}
	eventuallyWithin(t, 90*time.Second, "every message to reach the receiver", func() bool {
		n, _ := missingOf(want, got.keys())
		return n == 0
	})
	if n, some := missingOf(want, got.keys()); n > 0 {
		t.Fatalf("%d of %d messages never arrived, such as %v", n, len(want), some)
	}
	got.mu.Lock()
	if len(got.split) > 0 {
		t.Errorf("a change came under more than one webhook-id: %v", got.split[:min(5, len(got.split))])
	}
	t.Logf("%d messages, %d calls, %d repeated with the same webhook-id", len(want), got.calls, got.dupID)
	got.mu.Unlock()

	live := liveEntries(t, g1, "/v1/reservations")
	if len(live) != reservations-len(archived) {
		t.Fatalf("%d live reservations, want %d", len(live), reservations-len(archived))
	}
	waitUntil(t, 90*time.Second, "Radicale to hold one object per live reservation", func() (bool, string) {
		return calendarHolds(t, rad, live)
	})
	eventuallyWithin(t, 30*time.Second, "the feed to show the final state", func() bool {
		_, body, _ := fetchFeed(t, g2, feed)
		s := string(body)
		return strings.Count(s, "BEGIN:VEVENT") == jobs/2 && strings.Count(s, "SUMMARY:Job (changed)") == 100
	})
	// The surviving worker recorded its webhook attempts where Prometheus
	// scrapes it.
	if m := w2.get(t, "/metrics"); !strings.Contains(m, `calgate_webhook_attempts_total{outcome="succeeded"}`) {
		t.Errorf("the worker's /metrics lacks webhook attempts:\n%s", tail(m, 2000))
	}
}

// waitUntil polls cond until it holds, and fails with cond's last reason
// when it does not within limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, why)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func mustRedisOptions(t *testing.T, url string) *redis.Options {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return opt
}

// TestEmbeddedDefaultsLoseNothingWhenKilled runs `calgate serve` on the
// embedded defaults with a webhook endpoint, posts jobs from four clients,
// kills the process with SIGKILL mid-way (its in-process Redis dies with
// it), and restarts it on the same data directory: every event that was
// written reaches the receiver.
func TestEmbeddedDefaultsLoseNothingWhenKilled(t *testing.T) {
	dir := t.TempDir()
	env := procEnv(t, dir)
	srv := startProc(t, "serve", env)
	g := srv.client()
	rcv, got, setSecret := verifyingReceiver(t)
	_, secret := createWebhook(t, g, rcv, "entry.*")
	setSecret(secret)

	var answered sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	killed := make(chan struct{})
	for w := range 4 {
		answered.Add(1)
		go func() {
			defer answered.Done()
			for i := 0; i < 50; i++ {
				body, _ := json.Marshal(jobItem(w*1000+i, "Job"))
				req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/jobs", strings.NewReader(string(body)))
				req.Header.Set("Authorization", "Bearer "+g.Token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the process is gone
				}
				resp.Body.Close()
				mu.Lock()
				ok++
				n := ok
				mu.Unlock()
				if n == 100 {
					close(killed)
				}
			}
		}()
	}
	<-killed
	srv.kill()
	answered.Wait()
	mu.Lock()
	answers := ok
	mu.Unlock()

	srv.start()
	want := entryEvents(t, g)
	if len(want) < answers {
		t.Fatalf("%d events after the restart, but %d writes were answered", len(want), answers)
	}
	eventuallyWithin(t, 60*time.Second, "every event written before the kill to arrive", func() bool {
		n, _ := missingOf(want, got.keys())
		return n == 0
	})
	if n, some := missingOf(want, got.keys()); n > 0 {
		t.Fatalf("%d of %d messages never arrived after the restart, such as %v", n, len(want), some)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.split) > 0 {
		t.Errorf("a change came under more than one webhook-id: %v", got.split[:min(5, len(got.split))])
	}
	t.Logf("%d answered before the kill, %d events, %d calls", answers, len(want), got.calls)
}
