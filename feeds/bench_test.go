package feeds

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/calgate/calgate"
)

// benchEntries returns n entries of every kind, in three time zones, some
// all-day and some cancelled, as a busy plant's feed holds them.
func benchEntries(n int) []*calgate.Entry {
	zones := []string{"Europe/Berlin", "America/New_York", "UTC"}
	start := time.Date(2027, 1, 1, 6, 0, 0, 0, time.UTC)
	out := make([]*calgate.Entry, n)
	for i := range out {
		s := start.Add(time.Duration(i) * 3 * time.Hour)
		e := &calgate.Entry{ID: "ent_" + strconv.Itoa(100000+i), WorkspaceID: "ws_1", Kind: calgate.Kinds[i%3], Source: "erp",
			ExternalID: "E-" + strconv.Itoa(i), Start: s, End: s.Add(90 * time.Minute), Timezone: zones[i%3],
			Status: calgate.StatusConfirmed, Resource: "Machine " + strconv.Itoa(i%12), Details: calgate.Details{Order: "PROJ-2027-" + strconv.Itoa(i%40), Product: "ART-" + strconv.Itoa(i%90), Activity: "Run"},
			Description: "Batch " + strconv.Itoa(i) + ", line 2; shift A",
			Version:     int64(1 + i%4), CreatedAt: start, UpdatedAt: start}
		if i%3 == 0 {
			e.Title = "Reservation " + strconv.Itoa(i) + " – Größe Überprüfung"
		}
		if i%50 == 0 {
			e.AllDay = true
			d := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, e.Loc())
			e.Start, e.End = d, d.AddDate(0, 0, 1)
		}
		if i%20 == 0 {
			e.Status = calgate.StatusCancelled
		}
		out[i] = e
	}
	return out
}

func benchRender(b *testing.B, n int) {
	entries := benchEntries(n)
	f := &calgate.Feed{ID: "feed_1", Name: "Plant", Timezone: "Europe/Berlin",
		TitleTemplates: map[calgate.Kind]string{calgate.KindJob: "{workstage}: {order} / {product}"}}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		body, err := RenderEntries(f, entries, nil, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		size = len(body)
	}
	b.SetBytes(int64(size))
}

func BenchmarkFeedRender1k(b *testing.B)  { benchRender(b, 1000) }
func BenchmarkFeedRender10k(b *testing.B) { benchRender(b, 10000) }

// BenchmarkFeedGet serves a ready 1,000-entry feed through the handler the
// api uses (token lookup and head in Redis, bytes from memory) next to
// plain net/http writing the same bytes from memory, both over loopback
// with keep-alive. A real Redis is used when CALGATE_TEST_REDIS_URL is set.
func BenchmarkFeedGet(b *testing.B) {
	fx := newFixture(b)
	if u := os.Getenv("CALGATE_TEST_REDIS_URL"); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			b.Fatal(err)
		}
		opt.DB = 15
		rdb := redis.NewClient(opt)
		b.Cleanup(func() { rdb.Close() })
		fx.svc.cache = NewCache(rdb, time.Minute, 64<<20)
	}
	ctx := context.Background()
	for _, e := range benchEntries(1000) {
		e.WorkspaceID = fx.ws.ID
		e.Start, e.End = fx.now.Add(e.Start.Sub(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))), fx.now.Add(e.End.Sub(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)))
		fx.store.put(e)
	}
	v, err := fx.svc.Create(ctx, fx.ws, &Input{Name: ptr("Plant")})
	if err != nil {
		b.Fatal(err)
	}
	tok := token(b, v)
	ready, err := fx.svc.Ready(ctx, tok)
	if err != nil {
		b.Fatal(err)
	}
	if n := strings.Count(string(ready.Body), "BEGIN:VEVENT"); n != 1000 {
		b.Fatalf("feed holds %d events", n)
	}
	body := ready.Body
	// The memo of what Redis said expires by the real clock.
	fx.svc.now = time.Now
	handlers := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"calgate", func(w http.ResponseWriter, r *http.Request) {
			rc, err := fx.svc.Ready(r.Context(), strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/feeds/"), ".ics"))
			if err != nil {
				http.Error(w, "no such feed", http.StatusNotFound)
				return
			}
			Serve(w, r, rc, time.Hour)
		}},
		{"plain-net-http", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ContentType)
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
		}},
	}
	for _, hc := range handlers {
		b.Run(hc.name, func(b *testing.B) {
			srv := httptest.NewServer(hc.h)
			defer srv.Close()
			client := srv.Client()
			client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
			url := srv.URL + "/feeds/" + tok + ".ics"
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodGet, url, nil)
					req.Header.Set("Accept-Encoding", "identity")
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					n, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || n != int64(len(body)) {
						b.Errorf("status %d, %d bytes", resp.StatusCode, n)
						return
					}
				}
			})
		})
	}
}
