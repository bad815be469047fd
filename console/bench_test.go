package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	calgate "github.com/calgate/calgate"
)

// seedWeek writes n entries spread over the resources of a week that
// starts on monday, in the fixture's workspace.
func seedWeek(b testing.TB, f *fixture, monday time.Time, n, resources int) {
	items := make([]calgate.UpsertItem, 0, n)
	kinds := calgate.Kinds
	for i := range n {
		start := monday.Add(time.Duration(i%(7*20)) * 72 * time.Minute)
		k := kinds[i%len(kinds)]
		e := &calgate.Entry{Kind: k, Source: "erp", ExternalID: fmt.Sprintf("E-%05d", i), Title: fmt.Sprintf("Order %d", i),
			Start: start, End: start.Add(90 * time.Minute), Timezone: "UTC", Status: calgate.StatusConfirmed,
			Resource: fmt.Sprintf("R-%03d", i%resources)}
		items = append(items, calgate.UpsertItem{Entry: e})
	}
	res, err := f.db.Upsert(context.Background(), f.ws.ID, "bench/tok", items, calgate.UpsertOptions{})
	if err != nil || res.Created != n {
		b.Fatalf("seed: %v %+v", err, res)
	}
}

// sessionCookie signs in through the form and returns the cookie header.
func (f *fixture) sessionHeader(tb testing.TB) string {
	b := f.browser()
	b.signIn(f.secret)
	u, _ := url.Parse(f.srv.URL + Prefix)
	for _, ck := range b.client.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			return ck.Name + "=" + ck.Value
		}
	}
	tb.Fatal("no session after signing in")
	return ""
}

// BenchmarkSchedulePage renders the week timeline of 2,000 entries on 100
// resources: the page planners open first.
func BenchmarkSchedulePage(b *testing.B) {
	f := newFixture(b)
	monday := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	seedWeek(b, f, monday, 2000, 100)
	cookie := f.sessionHeader(b)
	c, err := New(Deps{Store: f.db})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/console/schedule?view=week&date=2026-12-09", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "2000 entries") {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkBuildTimeline is the layout alone, without the database.
func BenchmarkBuildTimeline(b *testing.B) {
	monday := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	entries := make([]*calgate.Entry, 2000)
	for i := range entries {
		start := monday.Add(time.Duration(i%(7*20)) * 72 * time.Minute)
		entries[i] = entryAt(fmt.Sprintf("e%05d", i), fmt.Sprintf("R-%03d", i%100), calgate.KindJob, start, start.Add(90*time.Minute))
	}
	w := WindowOf(ViewWeek, monday, time.UTC)
	for b.Loop() {
		BuildTimeline(w, entries, monday)
	}
}
