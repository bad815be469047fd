package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/internal/testenv"
	"github.com/calgate/calgate/webhooks"
)

// benchGateway starts a whole gateway for a benchmark and returns it with
// its Redis URL (empty for the embedded one) and the address it listens on.
func benchGateway(b *testing.B, postgres bool) (*app, string, string) {
	b.Helper()
	cfg := testConfig(b)
	cfg.AdminToken = "cgt_bench_admin_token_0123456789abcdefghijkl"
	cfg.Log.Level = "error"
	cfg.Worker.Concurrency = 50
	cfg.DefaultTimezone = "UTC"
	// The queue's own lease and sweep, as in production.
	cfg.Outbox = defaultConfig().Outbox
	if postgres {
		cfg.DatabaseURL = testenv.Postgres(b)
		cfg.RedisURL = testenv.Redis(b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := openApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	if err := a.bootstrap(ctx, io.Discard); err != nil {
		cancel()
		a.close()
		b.Fatal(err)
	}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.run(ctx, roleWorker|roleAPI, ready) }()
	addr := <-ready
	b.Cleanup(func() {
		cancel()
		<-done
		a.close()
	})
	return a, cfg.RedisURL, addr
}

// arrivals is a receiver that notes when each entry's first delivery
// arrived, keyed by the entry's external id.
type arrivals struct {
	mu      sync.Mutex
	first   map[string]time.Time
	total   atomic.Int64
	handler http.Handler
}

func newArrivals(b *testing.B) *arrivals {
	r := &arrivals{first: map[string]time.Time{}}
	r.handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		now := time.Now()
		var body struct {
			Data struct {
				Entry struct {
					ExternalID string `json:"external_id"`
				} `json:"entry"`
			} `json:"data"`
		}
		_ = json.NewDecoder(req.Body).Decode(&body)
		r.mu.Lock()
		if _, seen := r.first[body.Data.Entry.ExternalID]; !seen {
			r.first[body.Data.Entry.ExternalID] = now
		}
		r.mu.Unlock()
		r.total.Add(1)
	})
	return r
}

// url starts another server (another host:port, so another connection
// pool, as distinct endpoints have) that counts into r.
func (r *arrivals) url(b *testing.B) string {
	srv := httptest.NewServer(r.handler)
	b.Cleanup(srv.Close)
	return srv.URL
}

// count is how many entries whose external id starts with prefix arrived.
func (r *arrivals) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for id := range r.first {
		if strings.HasPrefix(id, prefix) {
			n++
		}
	}
	return n
}

func (r *arrivals) at(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.first[id]
	return t, ok
}

// benchWebhooks registers n endpoints, each on a receiver server of its own.
func benchWebhooks(b *testing.B, a *app, ws string, rcv *arrivals, n int) {
	b.Helper()
	for range n {
		now := time.Now()
		w := &calgate.Webhook{ID: calgate.NewID("wh"), WorkspaceID: ws, URL: rcv.url(b), Events: []string{"entry.*"},
			Secrets: []calgate.WebhookSecret{{Sealed: a.vault.Seal([]byte(webhooks.NewSecret()))}}, CreatedAt: now, UpdatedAt: now}
		if err := a.store.CreateWebhook(context.Background(), w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWebhookDeliveries measures, per engine, the path a user sees:
// jobs posted to the HTTP API (bulk requests of 1,000) until every message
// has reached a local receiver, with 8 endpoints per event and with one
// (deliveries/s and events/s); the ingest-to-receipt latency of single
// requests at a steady 500 events/s (and 1,000 on PostgreSQL + Redis) to
// one endpoint (p50_ms, p99_ms); the latency of a lone event (lone_ms);
// and in the same run the rate of raw asynq no-op tasks on the same Redis
// (asynq_noop/s) and the ratio to it.
func BenchmarkWebhookDeliveries(b *testing.B) {
	for _, eng := range []struct {
		name     string
		postgres bool
		rates    []int
	}{{"sqlite+embedded", false, []int{500}}, {"postgres+redis", true, []int{500, 1000}}} {
		b.Run(eng.name, func(b *testing.B) {
			a, redisURL, addr := benchGateway(b, eng.postgres)
			api := benchAPI(a, addr)
			var best float64
			for _, endpoints := range []int{8, 1} {
				b.Run(fmt.Sprintf("endpoints=%d", endpoints), func(b *testing.B) {
					rcv := newArrivals(b)
					token := api.workspace(b, fmt.Sprintf("bench-%d-%d", endpoints, time.Now().UnixNano()), rcv, endpoints)
					const bulk = 1000
					round := 0
					var rate float64
					for b.Loop() {
						round++
						want := rcv.total.Load() + int64(bulk*endpoints)
						began := time.Now()
						api.bulk(b, token, fmt.Sprintf("r%d", round), bulk)
						waitFor(b, func() bool { return rcv.total.Load() >= want })
						rate = float64(bulk*endpoints) / time.Since(began).Seconds()
					}
					b.ReportMetric(rate, "deliveries/s")
					b.ReportMetric(rate/float64(endpoints), "events/s")
					best = max(best, rate)
				})
			}
			if eng.postgres {
				if _, err := a.store.Reader().ExecContext(context.Background(), "ANALYZE"); err != nil {
					b.Fatal(err)
				}
			}
			for _, perSecond := range eng.rates {
				b.Run(fmt.Sprintf("steady=%d/s", perSecond), func(b *testing.B) {
					lat := newArrivals(b)
					token := api.workspace(b, fmt.Sprintf("latency-%d-%d", perSecond, time.Now().UnixNano()), lat, 1)
					var ds, answers []time.Duration
					for b.Loop() {
						d, a := api.steady(b, token, lat, perSecond, 3*time.Second)
						ds, answers = append(ds, d...), append(answers, a...)
					}
					slices.Sort(ds)
					slices.Sort(answers)
					b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50_ms")
					b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, "p99_ms")
					// The part of it the API's answer takes.
					b.ReportMetric(float64(answers[len(answers)/2].Microseconds())/1000, "answer_p50_ms")
					b.ReportMetric(float64(answers[len(answers)*99/100].Microseconds())/1000, "answer_p99_ms")
				})
			}
			b.Run("lone", func(b *testing.B) {
				rcv := newArrivals(b)
				token := api.workspace(b, fmt.Sprintf("lone-%d", time.Now().UnixNano()), rcv, 1)
				var ds []time.Duration
				for b.Loop() {
					// Alone: nothing else is in flight.
					d, _ := api.steady(b, token, rcv, 20, time.Second)
					ds = append(ds, d...)
				}
				slices.Sort(ds)
				b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "lone_ms")
			})
			b.Run("asynq", func(b *testing.B) {
				var noop float64
				for b.Loop() {
					noop = asynqNoopRate(b, redisURL, a)
				}
				b.ReportMetric(noop, "asynq_noop/s")
				b.ReportMetric(best/noop, "ratio")
			})
		})
	}
}

// benchClient posts to a benchmark gateway's API as its users do.
type benchClient struct {
	a      *app
	url    string
	client *http.Client
}

func benchAPI(a *app, addr string) *benchClient {
	return &benchClient{a: a, url: "http://" + addr, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// workspace creates a workspace with an admin token and n endpoints, each
// on a receiver server of its own, and returns the token.
func (c *benchClient) workspace(b *testing.B, name string, rcv *arrivals, n int) string {
	b.Helper()
	ctx := context.Background()
	ws, err := ensureWorkspace(ctx, c.a.store, name, "UTC")
	if err != nil {
		b.Fatal(err)
	}
	tok, secret := calgate.NewToken(ws.ID, "bench", "bench", true)
	if err := c.a.store.CreateToken(ctx, tok, calgate.HashSecret(secret)); err != nil {
		b.Fatal(err)
	}
	if n > 0 {
		benchWebhooks(b, c.a, ws.ID, rcv, n)
	}
	return secret
}

func (c *benchClient) post(b *testing.B, token, path string, body any, want int) {
	data, err := json.Marshal(body)
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, c.url+path, bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(resp.Body)
		b.Fatalf("POST %s: %d %s", path, resp.StatusCode, msg)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
}

// bulk posts n new jobs in one bulk request.
func (c *benchClient) bulk(b *testing.B, token, prefix string, n int) {
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = benchJob(fmt.Sprintf("%s-%d", prefix, i))
	}
	c.post(b, token, "/v1/jobs/bulk", map[string]any{"items": items}, http.StatusOK)
}

// benchSlot hands each benchmark job a time of its own.
var benchSlot atomic.Int64

// benchJob is a four-hour job on one workstage, after the previous one: a
// plant's plan, in which the double-booking check runs and finds nothing.
func benchJob(id string) map[string]any {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(benchSlot.Add(1)%1_000_000) * 4 * time.Hour)
	return map[string]any{"external_id": id, "source": "bench", "title": "Welding " + id, "workstage": "Welding", "order": "PROJ-1",
		"start": start.Format(time.RFC3339), "end": start.Add(4 * time.Hour).Format(time.RFC3339), "timezone": "UTC"}
}

// steady posts single jobs at perSecond for a while, then waits for their
// messages and returns each one's time from request to receipt, and from
// request to the API's answer.
func (c *benchClient) steady(b *testing.B, token string, rcv *arrivals, perSecond int, d time.Duration) (receipts, answers []time.Duration) {
	n := int(d.Seconds() * float64(perSecond))
	sent := make([]time.Time, n)
	answers = make([]time.Duration, n)
	ids := make([]string, n)
	prefix := fmt.Sprintf("s%d", time.Now().UnixNano())
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	var wg sync.WaitGroup
	for i := range n {
		<-tick.C
		ids[i] = fmt.Sprintf("%s-%d", prefix, i)
		sent[i] = time.Now()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.post(b, token, "/v1/jobs", benchJob(ids[i]), http.StatusCreated)
			answers[i] = time.Since(sent[i])
		}()
	}
	wg.Wait()
	waitFor(b, func() bool { return rcv.count(prefix) >= n })
	receipts = make([]time.Duration, n)
	for i, id := range ids {
		got, _ := rcv.at(id)
		receipts[i] = got.Sub(sent[i])
	}
	return receipts, answers
}

// asynqNoopRate runs no-op tasks through asynq on the gateway's Redis with
// the gateway's concurrency and returns tasks/s: 20,000 on a real Redis,
// 2,000 on the much slower embedded one.
func asynqNoopRate(b *testing.B, redisURL string, a *app) float64 {
	b.Helper()
	var opt asynq.RedisConnOpt = a.queue.RedisConnOpt()
	if redisURL != "" {
		o, err := asynq.ParseRedisURI(redisURL)
		if err != nil {
			b.Fatal(err)
		}
		opt = o
	}
	n := 20000
	if redisURL == "" {
		n = 2000
	}
	client := asynq.NewClient(opt)
	defer client.Close()
	var done atomic.Int64
	srv := asynq.NewServer(opt, asynq.Config{Concurrency: a.cfg.Worker.Concurrency, Queues: map[string]int{"bench-noop": 1},
		TaskCheckInterval: 10 * time.Millisecond, LogLevel: asynq.ErrorLevel})
	mux := asynq.NewServeMux()
	mux.HandleFunc("noop", func(context.Context, *asynq.Task) error { done.Add(1); return nil })
	if err := srv.Start(mux); err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	began := time.Now()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				if _, err := client.Enqueue(asynq.NewTask("noop", nil), asynq.Queue("bench-noop")); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	waitFor(b, func() bool { return done.Load() >= int64(n) })
	return float64(n) / time.Since(began).Seconds()
}

// waitFor polls cond for at most two minutes.
func waitFor(b *testing.B, cond func() bool) {
	b.Helper()
	waitEvery(b, time.Millisecond, cond)
}

// waitEvery is waitFor checking every interval: a check that reads the
// database would otherwise take CPU from the gateway being measured.
func waitEvery(b *testing.B, interval time.Duration, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatal("timed out")
		}
		time.Sleep(interval)
	}
}

// BenchmarkEmbeddedBacklog measures, on the embedded defaults, how fast a
// backlog drains to one endpoint: 500 jobs, and 50,000 posted at once (in
// bulk requests of 10,000), counted from the first request to the last
// receipt. The rate per event must not fall as the backlog grows.
func BenchmarkEmbeddedBacklog(b *testing.B) {
	a, _, addr := benchGateway(b, false)
	api := benchAPI(a, addr)
	for _, n := range []int{500, 50000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			rcv := newArrivals(b)
			token := api.workspace(b, fmt.Sprintf("backlog-%d-%d", n, time.Now().UnixNano()), rcv, 1)
			var rate float64
			round := 0
			for b.Loop() {
				round++
				want := rcv.total.Load() + int64(n)
				began := time.Now()
				for from := 0; from < n; from += 10000 {
					api.bulk(b, token, fmt.Sprintf("b%d-%d", round, from), min(10000, n-from))
				}
				waitFor(b, func() bool { return rcv.total.Load() >= want })
				rate = float64(n) / time.Since(began).Seconds()
			}
			b.ReportMetric(rate, "events/s")
		})
	}
}
