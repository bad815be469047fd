package subscriptions

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/outbound"
	"github.com/calgate/calgate/store"
)

// testNow anchors the window the producer fixtures were written for.
var testNow = time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)

// feedServer serves one iCalendar body with an ETag and records the
// conditional headers it was sent.
type feedServer struct {
	*httptest.Server
	mu          sync.Mutex
	body        string
	status      int
	etag        string
	ifNoneMatch []string
	requests    int
}

func newFeedServer(t *testing.T, body string) *feedServer {
	f := &feedServer{body: body, status: http.StatusOK, etag: `"v1"`}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.requests++
		f.ifNoneMatch = append(f.ifNoneMatch, r.Header.Get("If-None-Match"))
		if f.status != http.StatusOK {
			w.WriteHeader(f.status)
			return
		}
		if f.etag != "" && r.Header.Get("If-None-Match") == f.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", f.etag)
		w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
		_, _ = w.Write([]byte(f.body))
	}))
	t.Cleanup(f.Close)
	return f
}

// set replaces what the server answers from now on.
func (f *feedServer) set(body, etag string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.body, f.etag, f.status = body, etag, status
}

type recordedJobs struct {
	mu   sync.Mutex
	jobs []calgate.Job
}

func (r *recordedJobs) Enqueue(_ context.Context, j calgate.Job) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, j)
	return nil
}

type fixture struct {
	svc  *Service
	db   *store.DB
	ws   *calgate.Workspace
	jobs *recordedJobs
	now  time.Time
}

func newFixture(t *testing.T, tz string, allowPrivate bool) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "calgate.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ws := &calgate.Workspace{Name: "w", Timezone: tz}
	if err := db.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, ws: ws, jobs: &recordedJobs{}, now: testNow}
	f.svc = New(Deps{Store: db, Jobs: f.jobs,
		Client: outbound.NewClient(outbound.Options{AllowPrivate: allowPrivate, MaxResponseBytes: MaxFeedBytes, Timeout: FetchTimeout})},
		Options{AllowPrivate: allowPrivate, Now: func() time.Time { return f.now }})
	return f
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ical", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func (f *fixture) create(t *testing.T, url string) *calgate.Subscription {
	t.Helper()
	resource := "cabin-1"
	sub, err := f.svc.Create(context.Background(), f.ws.ID, "test/tok", Input{URL: &url, Resource: &resource})
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// entries returns the live entries of the subscription by external id.
func (f *fixture) entries(t *testing.T, sub *calgate.Subscription) map[string]*calgate.Entry {
	t.Helper()
	list, _, err := f.db.Entries(context.Background(), f.ws.ID, calgate.EntryFilter{Sources: []string{sub.Source()}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*calgate.Entry{}
	for _, e := range list {
		out[e.ExternalID] = e
	}
	return out
}

type wantEntry struct {
	id        string
	start     string
	allDay    bool
	cancelled bool
}

func TestProducerFeedsBecomeEntries(t *testing.T) {
	const googleWeekly = "4k2j1m9q8r7s6t5u4v3w2x1y0z@google.com"
	const outlookDaily = "040000008200E00074C5B7101A82E008000000006F2D3B1F0A3BDC010000000000000000100000009A1B2C3D4E5F60718293A4B5C6D7E8F9"
	const appleRDate = "7C1F3A2B-9D4E-4F6A-8B2C-1E5D7F9A3B4C"
	tests := []struct {
		file, tz string
		want     []wantEntry
	}{
		{"google.ics", "Europe/Berlin", []wantEntry{
			{googleWeekly + "/20261014T070000Z", "2026-10-14T07:00:00Z", false, false},
			{"0p9o8i7u6z5t4r3e2w1q@google.com", "2026-10-19T12:30:00Z", false, false},
			{googleWeekly + "/20261028T080000Z", "2026-10-28T08:00:00Z", false, false},
			{googleWeekly + "/20261104T080000Z", "2026-11-04T10:00:00Z", false, false},
			{googleWeekly + "/20261111T080000Z", "2026-11-11T08:00:00Z", false, false},
			// Betriebsferien is TRANSP:TRANSPARENT: it does not block time.
		}},
		{"outlook.ics", "Europe/Berlin", []wantEntry{
			{outlookDaily + "/20261023T061500Z", "2026-10-23T06:15:00Z", false, false},
			{outlookDaily + "/20261024T061500Z", "2026-10-24T06:15:00Z", false, false},
			{outlookDaily + "/20261025T071500Z", "2026-10-25T07:15:00Z", false, false},
			{outlookDaily + "/20261026T071500Z", "2026-10-26T07:15:00Z", false, true},
			{outlookDaily + "/20261027T071500Z", "2026-10-27T07:15:00Z", false, false},
			{"040000008200E00074C5B7101A82E00800000000C4E9A8F2B13ADC01000000000000000010000000F0E1D2C3B4A5968778695A4B3C2D1E0F", "2026-11-02T23:00:00Z", true, false},
		}},
		{"apple.ics", "America/Chicago", []wantEntry{
			{appleRDate + "/20261020T140000Z", "2026-10-20T14:00:00Z", false, false},
			{appleRDate + "/20261103T150000Z", "2026-11-03T15:00:00Z", false, false},
			{"5A6B7C8D-9E0F-4A1B-8C2D-3E4F5A6B7C8D", "2026-11-05T15:00:00Z", false, false},
			{appleRDate + "/20261117T190000Z", "2026-11-17T19:00:00Z", false, false},
		}},
		{"airbnb.ics", "Europe/Lisbon", []wantEntry{
			{"1418fb94e984-72fae6599063c1b9fd22785f45589162@airbnb.com", "2026-10-09T23:00:00Z", true, false},
			{"7f662ec65913-74b1e15a69fd543a7107b9b2d79fd88a@airbnb.com", "2026-10-19T23:00:00Z", true, false},
			{"1418fb94e984-d8eaa2c05fe52537d3fa272b042c2e13@airbnb.com", "2026-12-23T00:00:00Z", true, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := newFixture(t, tt.tz, true)
			srv := newFeedServer(t, readFixture(t, tt.file))
			sub := f.create(t, srv.URL+"/"+tt.file)
			if sub.State != calgate.SubscriptionOK || sub.LastError != "" {
				t.Fatalf("state %s, last error %q", sub.State, sub.LastError)
			}
			if sub.LastResult.Created != len(tt.want) {
				t.Errorf("created %d, want %d (%+v)", sub.LastResult.Created, len(tt.want), sub.LastResult)
			}
			got := f.entries(t, sub)
			if len(got) != len(tt.want) {
				t.Errorf("got %d entries, want %d", len(got), len(tt.want))
			}
			for _, w := range tt.want {
				e, ok := got[w.id]
				if !ok {
					t.Errorf("missing %s", w.id)
					continue
				}
				if s := e.Start.UTC().Format(time.RFC3339); s != w.start || e.AllDay != w.allDay ||
					(e.Status == calgate.StatusCancelled) != w.cancelled || e.Kind != calgate.KindReservation || e.Resource != "cabin-1" {
					t.Errorf("%s: start %s all-day %v status %s kind %s resource %s; want %s %v cancelled=%v",
						w.id, s, e.AllDay, e.Status, e.Kind, e.Resource, w.start, w.allDay, w.cancelled)
				}
			}
		})
	}
}

func TestSecondPollIsConditionalAndChangesNothing(t *testing.T) {
	f := newFixture(t, "Europe/Lisbon", true)
	srv := newFeedServer(t, readFixture(t, "airbnb.ics"))
	sub := f.create(t, srv.URL)
	before := f.entries(t, sub)
	f.now = f.now.Add(time.Hour)
	again, err := f.svc.PollNow(context.Background(), f.ws.ID, sub.ID, "test/tok")
	if err != nil {
		t.Fatal(err)
	}
	if srv.ifNoneMatch[1] != `"v1"` {
		t.Fatalf("second request sent If-None-Match %q, want \"v1\"", srv.ifNoneMatch[1])
	}
	if !again.LastResult.NotModified || again.State != calgate.SubscriptionOK || !again.LastPolledAt.Equal(f.now) {
		t.Fatalf("after 304: %+v", again)
	}
	after := f.entries(t, sub)
	for id, e := range before {
		if after[id] == nil || after[id].Version != e.Version {
			t.Fatalf("%s changed after a 304", id)
		}
	}
}

func TestVanishedEventIsArchivedAndBrokenFeedChangesNothing(t *testing.T) {
	f := newFixture(t, "Europe/Lisbon", true)
	full := readFixture(t, "airbnb.ics")
	srv := newFeedServer(t, full)
	sub := f.create(t, srv.URL)
	const gone = "7f662ec65913-74b1e15a69fd543a7107b9b2d79fd88a@airbnb.com"
	start := strings.Index(full, "BEGIN:VEVENT\nDTSTAMP:20261001T121502Z\nDTSTART;VALUE=DATE:20261020")
	if start < 0 {
		start = strings.Index(full, "BEGIN:VEVENT\r\nDTSTAMP:20261001T121502Z\r\nDTSTART;VALUE=DATE:20261020")
	}
	end := strings.Index(full[start:], "END:VEVENT") + len("END:VEVENT")
	srv.set(full[:start]+strings.TrimLeft(full[start+end:], "\r\n"), `"v2"`, http.StatusOK)
	polled, err := f.svc.PollNow(context.Background(), f.ws.ID, sub.ID, "test/tok")
	if err != nil {
		t.Fatal(err)
	}
	if polled.LastResult.Archived != 1 || polled.LastResult.Unchanged != 2 {
		t.Fatalf("second poll: %+v", polled.LastResult)
	}
	live := f.entries(t, sub)
	if _, ok := live[gone]; ok || len(live) != 2 {
		t.Fatalf("live entries %v: %s should be archived", slices.Collect(maps.Keys(live)), gone)
	}

	broken := []struct {
		name, body string
		status     int
		reason     string
	}{
		{"html error page", "<!DOCTYPE html><html><body>Sign in</body></html>", http.StatusOK, "not an iCalendar document"},
		{"truncated file", readFixture(t, "truncated.ics"), http.StatusOK, "truncated"},
		{"bad dates", readFixture(t, "bad-date.ics"), http.StatusOK, "malformed"},
		{"server error", "", http.StatusInternalServerError, "HTTP 500"},
		{"oversize", strings.Repeat("X", MaxFeedBytes+1), http.StatusOK, "larger than the limit of 10 MB"},
	}
	for i, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			srv.set(b.body, `"broken`+string(rune('a'+i))+`"`, b.status)
			got, err := f.svc.PollNow(context.Background(), f.ws.ID, sub.ID, "test/tok")
			if err != nil {
				t.Fatal(err)
			}
			if got.State != calgate.SubscriptionError || !strings.Contains(got.LastError, b.reason) {
				t.Fatalf("state %s, last error %q; want error naming %q", got.State, got.LastError, b.reason)
			}
			if got.ETag != `"v2"` {
				t.Errorf("etag %q after a broken feed, want the last good \"v2\"", got.ETag)
			}
			now := f.entries(t, sub)
			if len(now) != len(live) {
				t.Fatalf("broken feed changed the entries: %d, want %d", len(now), len(live))
			}
			for id, e := range live {
				if now[id] == nil || now[id].Version != e.Version {
					t.Fatalf("broken feed changed %s", id)
				}
			}
		})
	}
}

func TestCreateValidates(t *testing.T) {
	f := newFixture(t, "UTC", false)
	str := func(s string) *string { return &s }
	dur := func(d time.Duration) *time.Duration { return &d }
	kind := calgate.Kind("meeting")
	tests := []struct {
		name  string
		in    Input
		field string
	}{
		{"missing url", Input{Resource: str("r")}, "url"},
		{"private url", Input{URL: str("http://127.0.0.1/cal.ics"), Resource: str("r")}, "url"},
		{"ftp url", Input{URL: str("ftp://example.com/cal.ics"), Resource: str("r")}, "url"},
		{"missing resource", Input{URL: str("https://192.0.2.1/cal.ics")}, "resource"},
		{"unknown kind", Input{URL: str("https://192.0.2.1/cal.ics"), Resource: str("r"), Kind: &kind}, "kind"},
		{"interval below five minutes", Input{URL: str("https://192.0.2.1/cal.ics"), Resource: str("r"), PollInterval: dur(4 * time.Minute)}, "poll_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Create(context.Background(), f.ws.ID, "test/tok", tt.in)
			var ve *calgate.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a validation error", err)
			}
			if ve.Errors[0].Field != tt.field {
				t.Fatalf("field %q (%v), want %q", ve.Errors[0].Field, ve, tt.field)
			}
		})
	}
}

func TestParsePollInterval(t *testing.T) {
	tests := []struct {
		raw  string
		want time.Duration
		ok   bool
	}{
		{`"15m"`, 15 * time.Minute, true},
		{`"1h30m"`, 90 * time.Minute, true},
		{`900`, 15 * time.Minute, true},
		{`"600"`, 10 * time.Minute, true},
		{`"soon"`, 0, false},
		{`true`, 0, false},
	}
	for _, tt := range tests {
		got, err := ParsePollInterval([]byte(tt.raw))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParsePollInterval(%s) = %v, %v; want %v ok=%v", tt.raw, got, err, tt.want, tt.ok)
		}
	}
}

func TestSweepEnqueuesEachDuePollOnce(t *testing.T) {
	f := newFixture(t, "Europe/Lisbon", true)
	srv := newFeedServer(t, readFixture(t, "airbnb.ics"))
	sub := f.create(t, srv.URL)
	if err := f.svc.Sweep(context.Background()); err != nil || len(f.jobs.jobs) != 0 {
		t.Fatalf("sweep before due enqueued %d (%v)", len(f.jobs.jobs), err)
	}
	f.now = f.now.Add(DefaultPollInterval)
	for range 2 {
		if err := f.svc.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.jobs.jobs) != 1 || f.jobs.jobs[0].Type != JobType || !strings.HasPrefix(f.jobs.jobs[0].ID, sub.ID+":") {
		t.Fatalf("jobs = %+v, want one poll of %s", f.jobs.jobs, sub.ID)
	}
	if err := f.svc.HandleJob(context.Background(), f.jobs.jobs[0].Payload); err != nil {
		t.Fatal(err)
	}
	if srv.requests != 2 {
		t.Fatalf("the feed was fetched %d times, want 2", srv.requests)
	}
}

func TestDeleteArchivesEntries(t *testing.T) {
	f := newFixture(t, "Europe/Lisbon", true)
	srv := newFeedServer(t, readFixture(t, "airbnb.ics"))
	sub := f.create(t, srv.URL)
	if err := f.svc.Delete(context.Background(), f.ws.ID, sub.ID, "test/tok"); err != nil {
		t.Fatal(err)
	}
	if live := f.entries(t, sub); len(live) != 0 {
		t.Fatalf("%d entries live after delete", len(live))
	}
	if _, err := f.svc.Get(context.Background(), f.ws.ID, sub.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}
