package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
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
// its Redis URL (empty for the embedded one).
func benchGateway(b *testing.B, postgres bool) (*app, string) {
	b.Helper()
	cfg := &Config{
		Addr: "127.0.0.1:0", DataDir: filepath.Join(b.TempDir(), "data"), PublicURL: "http://calgate.test",
		AdminToken: "cgt_bench_admin_token_0123456789abcdefghijkl", AllowPrivateTargets: true, LogFormat: "text",
		LogLevel: "error", Concurrency: 50, ShutdownTimeout: 5 * time.Second, DefaultTimezone: "UTC",
	}
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
	<-ready
	b.Cleanup(func() {
		cancel()
		<-done
		a.close()
	})
	return a, cfg.RedisURL
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

func (r *arrivals) at(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.first[id]
	return t, ok
}

func benchEntry(id string) calgate.UpsertItem {
	s := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	return calgate.UpsertItem{Entry: &calgate.Entry{Kind: calgate.KindJob, Source: "bench", ExternalID: id, Title: "Welding " + id,
		Start: s, End: s.Add(4 * time.Hour), Timezone: "UTC", Status: calgate.StatusConfirmed, Resource: "Welding", Order: "PROJ-1"}}
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

// BenchmarkWebhookDeliveries measures, per engine, the sustained delivery
// rate from a bulk ingest to a local receiver (deliveries/s), the
// ingest-to-receipt latency at a steady 500 events/s (p50_ms, p99_ms), and
// in the same run the rate of raw asynq no-op tasks on the same Redis
// (asynq_noop/s) and the ratio of the two.
func BenchmarkWebhookDeliveries(b *testing.B) {
	for _, eng := range []struct {
		name     string
		postgres bool
	}{{"sqlite+embedded", false}, {"postgres+redis", true}} {
		b.Run(eng.name, func(b *testing.B) {
			a, redisURL := benchGateway(b, eng.postgres)
			ctx := context.Background()
			ws, err := ensureWorkspace(ctx, a.store, "bench", "UTC")
			if err != nil {
				b.Fatal(err)
			}
			rcv := newArrivals(b)
			const endpoints, bulk = 8, 1000
			benchWebhooks(b, a, ws.ID, rcv, endpoints)
			round := 0
			var rate float64
			for b.Loop() {
				round++
				items := make([]calgate.UpsertItem, bulk)
				for i := range items {
					items[i] = benchEntry(fmt.Sprintf("r%d-%d", round, i))
				}
				want := rcv.total.Load() + int64(bulk*endpoints)
				began := time.Now()
				if _, err := a.store.Upsert(ctx, ws.ID, "bench", items, calgate.UpsertOptions{}); err != nil {
					b.Fatal(err)
				}
				a.dispatcher.Notify()
				waitFor(b, func() bool { return rcv.total.Load() >= want })
				rate = float64(bulk*endpoints) / time.Since(began).Seconds()
			}
			b.ReportMetric(rate, "deliveries/s")
			if eng.postgres {
				if _, err := a.store.Reader().ExecContext(ctx, "ANALYZE"); err != nil {
					b.Fatal(err)
				}
			}

			// Latency at a steady 500 events/s to one endpoint of another workspace.
			ws2, err := ensureWorkspace(ctx, a.store, "bench-latency", "UTC")
			if err != nil {
				b.Fatal(err)
			}
			lat := newArrivals(b)
			benchWebhooks(b, a, ws2.ID, lat, 1)
			const perSecond, seconds = 500, 3
			sent := map[string]time.Time{}
			tick := time.NewTicker(time.Second / perSecond)
			for i := range perSecond * seconds {
				<-tick.C
				id := fmt.Sprintf("lat-%d", i)
				sent[id] = time.Now()
				if _, err := a.store.Upsert(ctx, ws2.ID, "bench", []calgate.UpsertItem{benchEntry(id)}, calgate.UpsertOptions{}); err != nil {
					b.Fatal(err)
				}
				a.dispatcher.Notify()
			}
			tick.Stop()
			waitFor(b, func() bool { return lat.total.Load() >= perSecond*seconds })
			var ds []time.Duration
			for id, at := range sent {
				got, ok := lat.at(id)
				if !ok {
					b.Fatalf("entry %s was not delivered", id)
				}
				ds = append(ds, got.Sub(at))
			}
			slices.Sort(ds)
			b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, "p99_ms")

			noop := asynqNoopRate(b, redisURL, a)
			b.ReportMetric(noop, "asynq_noop/s")
			b.ReportMetric(rate/noop, "ratio")
		})
	}
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
	srv := asynq.NewServer(opt, asynq.Config{Concurrency: a.cfg.Concurrency, Queues: map[string]int{"bench-noop": 1},
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
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}
