package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/ical"
	"github.com/calgate/calgate/sync/subscriptions"
)

// icsServer serves an iCalendar body with an ETag, answers 304 to a
// matching If-None-Match, and records what it was sent.
type icsServer struct {
	*httptest.Server
	mu          sync.Mutex
	body        string
	etag        string
	status      int
	ifNoneMatch []string
}

func newICSServer(t *testing.T, body string) *icsServer {
	s := &icsServer{body: body, etag: `"1"`, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.ifNoneMatch = append(s.ifNoneMatch, r.Header.Get("If-None-Match"))
		if s.status != http.StatusOK {
			http.Error(w, "upstream broke", s.status)
			return
		}
		if r.Header.Get("If-None-Match") == s.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", s.etag)
		w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
		fmt.Fprint(w, s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *icsServer) serve(body, etag string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.etag, s.status = body, etag, status
}

func (s *icsServer) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ifNoneMatch...)
}

// airbnbBlock is one block of an Airbnb export, in days from today.
type airbnbBlock struct {
	uid, summary string
	from, to     int
}

// airbnbFeed writes an export in the shape Airbnb produces, dated from
// today so that it stays inside the poll window whenever the test runs.
func airbnbFeed(blocks ...airbnbBlock) string {
	today := time.Now().UTC()
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nPRODID:-//Airbnb Inc//Hosting Calendar 1.0//EN\r\nCALSCALE:GREGORIAN\r\nVERSION:2.0\r\n")
	for _, bl := range blocks {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nDTSTAMP:%s\r\nDTSTART;VALUE=DATE:%s\r\nDTEND;VALUE=DATE:%s\r\nSUMMARY:%s\r\nUID:%s\r\nEND:VEVENT\r\n",
			today.Format("20060102T150405Z"), today.AddDate(0, 0, bl.from).Format("20060102"), today.AddDate(0, 0, bl.to).Format("20060102"), bl.summary, bl.uid)
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.String()
}

func airbnbDay(days int) string { return time.Now().UTC().AddDate(0, 0, days).Format("2006-01-02") }

var airbnbBlocks = []airbnbBlock{
	{"1418fb94e984-aaa@airbnb.com", "Reserved", 10, 14},
	{"7f662ec65913-bbb@airbnb.com", "Airbnb (Not available)", 20, 25},
	{"1418fb94e984-ccc@airbnb.com", "Reserved", 40, 47},
}

// subscribe creates a subscription and returns its reply.
func (g *testGateway) subscribe(t *testing.T, feedURL, resource string) map[string]any {
	t.Helper()
	return decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/ical-subscriptions",
		map[string]any{"url": feedURL, "resource": resource, "poll_interval": "10m"}))
}

// reservationsOf lists the live reservations of a subscription by
// external id.
func (g *testGateway) reservationsOf(t *testing.T, subID string, extra string) map[string]map[string]any {
	t.Helper()
	body := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/reservations?limit=1000&source="+url.QueryEscape("ical:"+subID)+extra, nil))
	out := map[string]map[string]any{}
	for _, it := range body["items"].([]any) {
		e := it.(map[string]any)
		out[e["external_id"].(string)] = e
	}
	return out
}

func TestSubscriptionAirbnbBlocksBecomeReservationsOnTheResource(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		feed := newICSServer(t, airbnbFeed(airbnbBlocks...))
		sub := g.subscribe(t, feed.URL+"/calendar/ical/123.ics?s=abc", "cabin-7")
		if sub["state"] != "ok" || sub["last_error"] != "" || sub["source"] != "ical:"+sub["id"].(string) || sub["poll_interval"] != "10m0s" {
			t.Fatalf("create reply = %v", sub)
		}
		if res := sub["last_result"].(map[string]any); res["created"] != float64(3) {
			t.Fatalf("first poll result = %v, want 3 created", res)
		}
		got := g.reservationsOf(t, sub["id"].(string), "")
		if len(got) != len(airbnbBlocks) {
			t.Fatalf("got %d reservations, want %d", len(got), len(airbnbBlocks))
		}
		for _, b := range airbnbBlocks {
			r := got[b.uid]
			if r == nil {
				t.Fatalf("no reservation for %s", b.uid)
			}
			if r["start"] != airbnbDay(b.from) || r["end"] != airbnbDay(b.to) || r["all_day"] != true || r["resource"] != "cabin-7" ||
				r["title"] != b.summary || r["status"] != "confirmed" || r["timezone"] != "Europe/Berlin" {
				t.Errorf("%s = %v; want %s..%s all-day on cabin-7", b.uid, r, airbnbDay(b.from), airbnbDay(b.to))
			}
		}
	})
}

// expectedFromParser is what a fixture must become: the parser's
// occurrences at this moment, without transparent events that are not
// cancelled, in wire form.
func expectedFromParser(t *testing.T, body, tz string) map[string]map[string]any {
	t.Helper()
	occs, err := ical.Parse(strings.NewReader(body), ical.ParseOptions{Now: time.Now(), DefaultTZ: tz})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, o := range occs {
		if o.Transparent && !o.Cancelled {
			continue
		}
		out[o.ExternalID] = o.Entry(calgate.KindReservation, "room", "x").Wire()
	}
	return out
}

// TestSubscriptionProducerExportsBecomeTheRightEntries checks that the
// gateway stores what the parser reads from each producer's export at this
// moment. The fixtures carry fixed dates: the exact occurrences of each
// are pinned at a fixed clock in the sync/subscriptions unit tests, and
// the Airbnb test above uses a feed dated from today.
func TestSubscriptionProducerExportsBecomeTheRightEntries(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		for _, name := range []string{"google.ics", "outlook.ics", "apple.ics", "airbnb.ics"} {
			t.Run(name, func(t *testing.T) {
				data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ical", name))
				if err != nil {
					t.Fatal(err)
				}
				feed := newICSServer(t, string(data))
				sub := g.subscribe(t, feed.URL+"/"+name, "room")
				if sub["state"] != "ok" {
					t.Fatalf("state %v: %v", sub["state"], sub["last_error"])
				}
				want := expectedFromParser(t, string(data), "Europe/Berlin")
				got := g.reservationsOf(t, sub["id"].(string), "")
				if len(got) != len(want) {
					t.Fatalf("got %d entries, want %d", len(got), len(want))
				}
				for id, w := range want {
					r := got[id]
					if r == nil {
						t.Errorf("missing %s", id)
						continue
					}
					for _, field := range []string{"start", "end", "all_day", "status", "title", "timezone"} {
						if fmt.Sprint(r[field]) != fmt.Sprint(w[field]) {
							t.Errorf("%s: %s = %v, want %v", id, field, r[field], w[field])
						}
					}
				}
			})
		}
	})
}

func TestSubscriptionPollsConditionallyArchivesVanishedAndSurvivesBrokenFeeds(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		feed := newICSServer(t, airbnbFeed(airbnbBlocks...))
		sub := g.subscribe(t, feed.URL, "cabin-7")
		id := sub["id"].(string)
		before := g.reservationsOf(t, id, "")

		// Unchanged feed: the server sees the ETag and answers 304.
		polled := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/ical-subscriptions/"+id+"/poll", nil))
		if sent := feed.sent(); len(sent) != 2 || sent[1] != `"1"` {
			t.Fatalf("If-None-Match sent: %q, want \"1\" on the second poll", sent)
		}
		if res := polled["last_result"].(map[string]any); res["not_modified"] != true || polled["state"] != "ok" ||
			polled["last_polled_at"] == sub["last_polled_at"] {
			t.Fatalf("after 304: %v", polled)
		}
		for ext, r := range g.reservationsOf(t, id, "") {
			if r["version"] != before[ext]["version"] {
				t.Fatalf("%s changed after a 304", ext)
			}
		}

		// One block vanishes from the source: it is archived.
		feed.serve(airbnbFeed(airbnbBlocks[0], airbnbBlocks[2]), `"2"`, http.StatusOK)
		polled = decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/ical-subscriptions/"+id+"/poll", nil))
		if res := polled["last_result"].(map[string]any); res["archived"] != float64(1) || res["unchanged"] != float64(2) {
			t.Fatalf("second poll result = %v", res)
		}
		live := g.reservationsOf(t, id, "")
		if _, ok := live[airbnbBlocks[1].uid]; ok || len(live) != 2 {
			t.Fatalf("live after removal: %v", live)
		}
		all := g.reservationsOf(t, id, "&include_archived=true")
		if r := all[airbnbBlocks[1].uid]; r == nil || r["archived_at"] == nil {
			t.Fatalf("vanished block not archived: %v", r)
		}

		// Broken feeds change nothing and say why.
		for _, b := range []struct {
			name, body string
			status     int
			reason     string
		}{
			{"html error page", "<!DOCTYPE html><html><body><h1>Sign in</h1></body></html>", http.StatusOK, "not an iCalendar document"},
			{"truncated", airbnbFeed(airbnbBlocks[0])[:120], http.StatusOK, "truncated"},
			{"bad dates", strings.Replace(airbnbFeed(airbnbBlocks[0]), "DTSTART;VALUE=DATE:", "DTSTART;VALUE=DATE:2026-13-", 1), http.StatusOK, "malformed"},
			{"http 500", "", http.StatusInternalServerError, "HTTP 500"},
			{"oversize", strings.Repeat("BEGIN:VCALENDAR\r\n", 700000), http.StatusOK, "larger than the limit of 10 MB"},
		} {
			t.Run(b.name, func(t *testing.T) {
				feed.serve(b.body, `"broken-`+b.name+`"`, b.status)
				g.mustCall(t, http.StatusOK, "POST", "/v1/ical-subscriptions/"+id+"/poll", nil)
				got := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/ical-subscriptions/"+id, nil))
				if got["state"] != "error" || !strings.Contains(got["last_error"].(string), b.reason) || got["etag"] != `"2"` {
					t.Fatalf("state %v, last_error %q, etag %v; want error naming %q and the last good etag", got["state"], got["last_error"], got["etag"], b.reason)
				}
				now := g.reservationsOf(t, id, "")
				if len(now) != len(live) {
					t.Fatalf("broken feed left %d entries, want %d", len(now), len(live))
				}
				for ext, r := range live {
					if now[ext]["version"] != r["version"] {
						t.Fatalf("broken feed changed %s", ext)
					}
				}
			})
		}

		// The feed recovers: the subscription is ok again.
		feed.serve(airbnbFeed(airbnbBlocks...), `"3"`, http.StatusOK)
		polled = decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/ical-subscriptions/"+id+"/poll", nil))
		if polled["state"] != "ok" || polled["last_error"] != "" || len(g.reservationsOf(t, id, "")) != 3 {
			t.Fatalf("after recovery: %v", polled)
		}
		_, metrics, _ := g.call(t, "GET", "/metrics", nil)
		for _, line := range []string{
			`calgate_ical_subscription_polls_total{outcome="updated"} 3`,
			`calgate_ical_subscription_polls_total{outcome="not_modified"} 1`,
			`calgate_ical_subscription_polls_total{outcome="error"} 5`,
		} {
			if !strings.Contains(string(metrics), line) {
				t.Errorf("/metrics lacks %s", line)
			}
		}
	})
}

func problemFields(t *testing.T, body []byte) []string {
	t.Helper()
	var fields []string
	errs, _ := decode(t, body)["errors"].([]any)
	for _, fe := range errs {
		fields = append(fields, fe.(map[string]any)["field"].(string))
	}
	return fields
}

func TestSubscriptionSettingsAreValidated(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		feed := newICSServer(t, airbnbFeed(airbnbBlocks...))
		for _, tt := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"interval below five minutes", map[string]any{"url": feed.URL, "resource": "r", "poll_interval": "4m"}, "poll_interval"},
			{"interval in seconds below five minutes", map[string]any{"url": feed.URL, "resource": "r", "poll_interval": 60}, "poll_interval"},
			{"interval not a duration", map[string]any{"url": feed.URL, "resource": "r", "poll_interval": "often"}, "poll_interval"},
			{"no resource", map[string]any{"url": feed.URL}, "resource"},
			{"no url", map[string]any{"resource": "r"}, "url"},
			{"unknown kind", map[string]any{"url": feed.URL, "resource": "r", "kind": "meeting"}, "kind"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				status, body, _ := g.call(t, "POST", "/v1/ical-subscriptions", tt.body)
				if fields := problemFields(t, body); status != http.StatusUnprocessableEntity || len(fields) == 0 || fields[0] != tt.field {
					t.Fatalf("status %d, fields %v; want 422 naming %s: %s", status, fields, tt.field, body)
				}
			})
		}
		sub := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/ical-subscriptions",
			map[string]any{"url": feed.URL, "resource": "r", "poll_interval": 3600, "kind": "job", "name": "Supplier"}))
		if sub["poll_interval"] != "1h0m0s" || sub["kind"] != "job" || sub["name"] != "Supplier" {
			t.Fatalf("created %v", sub)
		}
		patched := decode(t, g.mustCall(t, http.StatusOK, "PATCH", "/v1/ical-subscriptions/"+sub["id"].(string), map[string]any{"poll_interval": "30m"}))
		if patched["poll_interval"] != "30m0s" || patched["resource"] != "r" {
			t.Fatalf("patched %v", patched)
		}
		list := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/ical-subscriptions", nil))
		if items := list["items"].([]any); len(items) != 1 {
			t.Fatalf("list = %v", list)
		}
		doc := decode(t, g.mustCall(t, http.StatusOK, "GET", "/openapi.json", nil))
		paths := doc["paths"].(map[string]any)
		schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
		for _, p := range []string{"/v1/ical-subscriptions", "/v1/ical-subscriptions/{id}", "/v1/ical-subscriptions/{id}/poll"} {
			if paths[p] == nil {
				t.Errorf("/openapi.json lacks %s", p)
			}
		}
		for _, name := range []string{"Subscription", "SubscriptionRequest", "List_Subscription", "PollCounts"} {
			if schemas[name] == nil {
				t.Errorf("/openapi.json lacks schema %s", name)
			}
		}
	})
}

func TestSubscriptionRefusesPrivateURLsUnlessAllowed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e, func(cfg *Config) { cfg.AllowPrivateTargets = false })
		feed := newICSServer(t, airbnbFeed(airbnbBlocks...))
		status, body, _ := g.call(t, "POST", "/v1/ical-subscriptions", map[string]any{"url": feed.URL, "resource": "r"})
		if fields := problemFields(t, body); status != http.StatusUnprocessableEntity || len(fields) == 0 || fields[0] != "url" ||
			!strings.Contains(string(body), "loopback") {
			t.Fatalf("status %d: %s; want 422 naming url (loopback)", status, body)
		}
		if sent := feed.sent(); len(sent) != 0 {
			t.Fatalf("the private server was contacted %d times", len(sent))
		}
	})
}

func TestSubscriptionsAreIsolatedByWorkspaceAndDeleteArchives(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		feed := newICSServer(t, airbnbFeed(airbnbBlocks...))
		id := g.subscribe(t, feed.URL, "cabin-7")["id"].(string)
		other := g.newWorkspaceToken(t, "other")
		for _, req := range []struct{ method, path string }{
			{"GET", "/v1/ical-subscriptions/" + id},
			{"PATCH", "/v1/ical-subscriptions/" + id},
			{"POST", "/v1/ical-subscriptions/" + id + "/poll"},
			{"DELETE", "/v1/ical-subscriptions/" + id},
		} {
			var body any
			if req.method == "PATCH" {
				body = map[string]any{"resource": "stolen"}
			}
			if status, data, _ := g.callAs(t, other, req.method, req.path, body); status != http.StatusNotFound {
				t.Fatalf("%s %s from another workspace: %d %s", req.method, req.path, status, data)
			}
		}
		if status, data, _ := g.callAs(t, other, "GET", "/v1/ical-subscriptions", nil); status != http.StatusOK || len(decode(t, data)["items"].([]any)) != 0 {
			t.Fatalf("other workspace lists %s", data)
		}
		if status, data, _ := g.callAs(t, other, "GET", "/v1/reservations?source=ical:"+id, nil); status != http.StatusOK || len(decode(t, data)["items"].([]any)) != 0 {
			t.Fatalf("other workspace sees the entries: %s", data)
		}

		g.mustCall(t, http.StatusNoContent, "DELETE", "/v1/ical-subscriptions/"+id, nil)
		if live := g.reservationsOf(t, id, ""); len(live) != 0 {
			t.Fatalf("%d entries live after unsubscribing", len(live))
		}
		g.mustCall(t, http.StatusNotFound, "GET", "/v1/ical-subscriptions/"+id, nil)
	})
}

func TestSubscriptionDuePollRunsOnceThroughTheQueue(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		feed := newICSServer(t, airbnbFeed(airbnbBlocks...))
		created := g.subscribe(t, feed.URL, "cabin-7")
		id, wsID := created["id"].(string), created["workspace_id"].(string)
		feed.serve(airbnbFeed(airbnbBlocks[0]), `"2"`, http.StatusOK)

		// Make the subscription due, then sweep as two workers would.
		ctx := context.Background()
		sub, err := g.app.store.Subscription(ctx, wsID, id)
		if err != nil {
			t.Fatal(err)
		}
		sub.NextPollAt = time.Now().Add(-time.Minute)
		if err := g.app.store.UpdateSubscriptionSettings(ctx, sub); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			sweeper := subscriptions.New(subscriptions.Deps{Store: g.app.store, Jobs: g.app.queue}, subscriptions.Options{})
			if err := sweeper.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, "the scheduled poll", func() bool {
			got := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/ical-subscriptions/"+id, nil))
			return got["last_polled_at"] != created["last_polled_at"]
		})
		got := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/ical-subscriptions/"+id, nil))
		if res := got["last_result"].(map[string]any); got["state"] != "ok" || res["archived"] != float64(2) {
			t.Fatalf("scheduled poll: %v", got)
		}
		if live := g.reservationsOf(t, id, ""); len(live) != 1 {
			t.Fatalf("%d live entries after the scheduled poll, want 1", len(live))
		}
		if sent := feed.sent(); len(sent) != 2 {
			t.Fatalf("the feed was fetched %d times, want 2 (create, one scheduled poll)", len(sent))
		}
		if next, _ := time.Parse(time.RFC3339, got["next_poll_at"].(string)); !next.After(time.Now().Add(5 * time.Minute)) {
			t.Fatalf("next poll at %v, want one interval ahead", got["next_poll_at"])
		}
	})
}
