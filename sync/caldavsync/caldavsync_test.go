package caldavsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/store"
	"github.com/calgate/calgate/sync/caldav/caldavtest"
	"github.com/calgate/calgate/vault"
)

// servers are the real CalDAV servers every test runs against.
var servers = []struct {
	name  string
	start func(testing.TB) *caldavtest.Server
}{
	{"radicale", caldavtest.StartRadicale},
	{"xandikos", caldavtest.StartXandikos},
}

func forEachServer(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, s.start(t)))
		})
	}
}

// counter is an http.RoundTripper that counts the requests it forwards and
// notes each one's method and Depth. With noSync set it answers every
// REPORT 403 itself, as a server without sync-collection may.
type counter struct {
	n      atomic.Int64
	next   http.RoundTripper
	noSync atomic.Bool
	// failFrom, when set, answers 503 itself from that request on, as
	// a server that starts failing mid-way does.
	failFrom atomic.Int64

	mu   sync.Mutex
	sent []string
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	n := c.n.Add(1)
	if from := c.failFrom.Load(); from > 0 && n >= from {
		if r.Body != nil {
			r.Body.Close()
		}
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"text/plain"}}, Body: io.NopCloser(strings.NewReader("overloaded")), Request: r}, nil
	}
	c.mu.Lock()
	c.sent = append(c.sent, strings.TrimSpace(r.Method+" "+r.Header.Get("Depth")))
	c.mu.Unlock()
	if c.noSync.Load() && r.Method == "REPORT" {
		if r.Body != nil {
			r.Body.Close()
		}
		return &http.Response{StatusCode: http.StatusForbidden, Status: "403 Forbidden", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"text/plain"}}, Body: io.NopCloser(strings.NewReader("no such report")), Request: r}, nil
	}
	return c.next.RoundTrip(r)
}

// requests returns the requests sent from now on, as "METHOD depth".
func (c *counter) requests() func() []string {
	c.mu.Lock()
	from := len(c.sent)
	c.mu.Unlock()
	return func() []string {
		c.mu.Lock()
		defer c.mu.Unlock()
		return append([]string(nil), c.sent[from:]...)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// jobs records enqueued jobs, collapsing those with the same ID.
type jobs struct {
	mu   sync.Mutex
	jobs map[string]calgate.Job
}

func (j *jobs) Enqueue(_ context.Context, job calgate.Job) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.jobs == nil {
		j.jobs = map[string]calgate.Job{}
	}
	j.jobs[job.Type+"/"+job.ID] = job
	return nil
}

func (j *jobs) count(typ string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for _, job := range j.jobs {
		if job.Type == typ {
			n++
		}
	}
	return n
}

type env struct {
	db   *store.DB
	svc  *Service
	srv  *caldavtest.Server
	ws   string
	reqs *counter
	jobs *jobs
}

func newEnv(t testing.TB, srv *caldavtest.Server) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "calgate.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ws := &calgate.Workspace{ID: calgate.NewID("ws"), Name: "test", Timezone: "Europe/Berlin", CreatedAt: time.Now()}
	if err := db.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	v, err := vault.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	reqs := &counter{next: http.DefaultTransport}
	j := &jobs{}
	svc := New(Deps{Store: db, Jobs: j, Sealer: v, Client: &http.Client{Transport: reqs, Timeout: 10 * time.Second}}, Options{})
	return &env{db: db, svc: svc, srv: srv, ws: ws.ID, reqs: reqs, jobs: j}
}

func ptr[T any](v T) *T { return &v }

// target creates a target on the server's calendar.
func (e *env) target(t testing.TB, onArchive string) *calgate.CalDAVTarget {
	t.Helper()
	tg, cals, err := e.svc.Create(context.Background(), e.ws, calgate.CalDAVTargetInput{
		URL: ptr(e.srv.URL), Username: ptr(e.srv.Username), Password: ptr(e.srv.Password),
		Calendar: ptr(e.srv.CalendarURL), OnArchive: ptr(onArchive), Kinds: ptr([]calgate.Kind{calgate.KindReservation}),
	})
	if err != nil {
		t.Fatalf("create target: %v", err)
	}
	if len(cals) == 0 || !strings.HasSuffix(e.srv.CalendarURL, tg.CalendarURL[len(tg.CalendarURL)-len("/"):]) {
		t.Fatalf("calendars %v, chosen %s", cals, tg.CalendarURL)
	}
	return tg
}

// upsert writes a reservation and returns it.
func (e *env) upsert(t *testing.T, externalID, title string, archive bool) *calgate.Entry {
	t.Helper()
	ctx := context.Background()
	doc := fmt.Sprintf(`{"external_id": %q, "title": %q, "start": "2026-03-02T09:00:00+01:00", "end": "2026-03-02T11:00:00+01:00", "resource": "room-1"}`, externalID, title)
	en, err := calgate.ParseEntry(calgate.KindReservation, []byte(doc), "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.db.Upsert(ctx, e.ws, "test", []calgate.UpsertItem{{Entry: en}}, calgate.UpsertOptions{Verbose: true})
	if err != nil || res.Failed > 0 {
		t.Fatalf("upsert: %v %+v", err, res)
	}
	id := res.Operations[0].ID
	if archive {
		if _, _, err := e.db.Mutate(ctx, e.ws, calgate.KindReservation, id, "test", func(x *calgate.Entry) error {
			now := time.Now().UTC()
			x.ArchivedAt = &now
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.db.Entry(ctx, e.ws, calgate.KindReservation, id, true)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// push runs the push of an entry as the job would, and returns how many
// requests it sent.
func (e *env) push(t testing.TB, tg *calgate.CalDAVTarget, en *calgate.Entry) int64 {
	t.Helper()
	before := e.reqs.n.Load()
	if err := e.svc.runPush(context.Background(), []byte(fmt.Sprintf(`{"t":%q,"e":%q}`, tg.ID, en.ID))); err != nil {
		t.Fatalf("push: %v", err)
	}
	return e.reqs.n.Load() - before
}

// mustHold fails t for each entry whose object the server lacks after
// what.
func (e *env) mustHold(t testing.TB, what string, entries ...*calgate.Entry) {
	t.Helper()
	for _, en := range entries {
		if e.serverEvent(t, ObjectName(en.ID)) == nil {
			t.Errorf("%s missing after %s", en.ExternalID, what)
		}
	}
}

// mustKeepForeign fails t unless the object calgate did not create,
// foreign.ics, is still there as it was written.
func (e *env) mustKeepForeign(t testing.TB) {
	t.Helper()
	if ev := e.serverEvent(t, "foreign.ics"); ev == nil || prop(ev, "SUMMARY") != "Not calgate's" {
		t.Error("an object calgate did not create was touched")
	}
}

// serverEvent fetches an object with a raw GET and parses it; nil when the
// server has no such object.
func (e *env) serverEvent(t testing.TB, name string) *goical.Event {
	t.Helper()
	resp, err := e.srv.Do(context.Background(), http.MethodGet, e.srv.CalendarURL+name, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", name, resp.Status, body)
	}
	cal, err := goical.NewDecoder(strings.NewReader(string(body))).Decode()
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", name, err, body)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%s holds %d events", name, len(evs))
	}
	return &evs[0]
}

func prop(ev *goical.Event, name string) string {
	if p := ev.Props.Get(name); p != nil {
		return p.Value
	}
	return ""
}

func (e *env) rawPut(t *testing.T, name, uid, summary string) {
	t.Helper()
	body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260301T100000Z\r\nDTEND:20260301T110000Z\r\nSUMMARY:" + summary + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	resp, err := e.srv.Do(context.Background(), http.MethodPut, e.srv.CalendarURL+name, []byte(body), http.Header{"Content-Type": {"text/calendar"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("raw PUT %s: %s", name, resp.Status)
	}
}

func (e *env) rawDelete(t *testing.T, name string) {
	t.Helper()
	resp, err := e.srv.Do(context.Background(), http.MethodDelete, e.srv.CalendarURL+name, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func (e *env) reload(t testing.TB, tg *calgate.CalDAVTarget) *calgate.CalDAVTarget {
	t.Helper()
	got, err := e.db.CalDAVTarget(context.Background(), e.ws, tg.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestPushCreatesUpdatesAndDeletesWithOneRequestPerChange(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		tg := e.target(t, calgate.OnArchiveDelete)
		en := e.upsert(t, "r1", "Meeting", false)
		e.push(t, tg, en)
		ev := e.serverEvent(t, ObjectName(en.ID))
		if ev == nil || prop(ev, "SUMMARY") != "Meeting" || prop(ev, "UID") != en.ID+"@calgate" {
			t.Fatalf("after create the server holds %+v", ev)
		}

		en = e.upsert(t, "r1", "Meeting moved", false)
		if n := e.push(t, tg, en); n != 1 {
			t.Errorf("an update cost %d requests, want 1", n)
		}
		if ev := e.serverEvent(t, ObjectName(en.ID)); ev == nil || prop(ev, "SUMMARY") != "Meeting moved" {
			t.Fatalf("after update the server holds %+v", ev)
		}
		if n := e.push(t, tg, en); n != 0 {
			t.Errorf("pushing the same version again cost %d requests, want 0", n)
		}

		en = e.upsert(t, "r1", "Meeting moved", true)
		e.push(t, tg, en)
		if ev := e.serverEvent(t, ObjectName(en.ID)); ev != nil {
			t.Fatalf("after archive the server still holds %s", prop(ev, "SUMMARY"))
		}
		if got := e.reload(t, tg); got.State != calgate.CalDAVStateOK || got.LastSuccessAt == nil || got.Conflicts != 0 {
			t.Errorf("target after pushes: %+v", got)
		}
	})
}

func TestPushKeepsArchivedEntryAsCancelled(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		tg := e.target(t, calgate.OnArchiveCancel)
		en := e.upsert(t, "r1", "Workshop", false)
		e.push(t, tg, en)
		en = e.upsert(t, "r1", "Workshop", true)
		e.push(t, tg, en)
		ev := e.serverEvent(t, ObjectName(en.ID))
		if ev == nil || prop(ev, "STATUS") != "CANCELLED" {
			t.Fatalf("archived entry on the server: %+v", ev)
		}
	})
}

func TestPushOverwritesEditMadeOnServerAndCountsConflict(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		tg := e.target(t, calgate.OnArchiveDelete)
		en := e.upsert(t, "r1", "Ours", false)
		e.push(t, tg, en)
		e.rawPut(t, ObjectName(en.ID), en.ID+"@calgate", "Edited on the server")
		en = e.upsert(t, "r1", "Ours again", false)
		e.push(t, tg, en)
		if ev := e.serverEvent(t, ObjectName(en.ID)); ev == nil || prop(ev, "SUMMARY") != "Ours again" {
			t.Fatalf("after the conflict the server holds %+v", ev)
		}
		if got := e.reload(t, tg); got.Conflicts != 1 {
			t.Errorf("conflicts = %d, want 1", got.Conflicts)
		}
	})
}

func TestPushNeverSendsAnOlderVersion(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tg := e.target(t, calgate.OnArchiveDelete)
		v1 := e.upsert(t, "r1", "First", false)
		v2 := e.upsert(t, "r1", "Second", false)
		// Events arrive out of order and twice.
		for _, en := range []*calgate.Entry{v2, v1, v2} {
			ev := &calgate.Event{WorkspaceID: e.ws, Type: calgate.EventEntryUpdated, EntryID: en.ID, Entry: en}
			if err := e.svc.HandleEvent(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if n := e.jobs.count(JobFlush); n != 1 {
			t.Errorf("%d flush jobs, want 1 per target and batch", n)
		}
		e.push(t, tg, v1)
		if n := e.push(t, tg, v1); n != 0 {
			t.Errorf("a stale push sent %d requests", n)
		}
		if ev := e.serverEvent(t, ObjectName(v1.ID)); ev == nil || prop(ev, "SUMMARY") != "Second" {
			t.Fatalf("server holds %+v, want the newest version", ev)
		}
		b, err := e.db.CalDAVBacklog(ctx, tg.ID)
		if err != nil || b.Pending != 0 {
			t.Errorf("backlog %+v, %v", b, err)
		}
	})
}

func TestPushStopsOnWrongPasswordWithoutRetrying(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tg := e.target(t, calgate.OnArchiveDelete)
		tg.SealedPassword = e.svc.deps.Sealer.Seal([]byte("wrong"))
		if err := e.db.UpdateCalDAVTarget(ctx, tg); err != nil {
			t.Fatal(err)
		}
		en := e.upsert(t, "r1", "Meeting", false)
		e.push(t, tg, en)
		got := e.reload(t, tg)
		if got.State != calgate.CalDAVStateError || !strings.Contains(got.LastError, "401") {
			t.Fatalf("target after a refused push: state %q, last error %q", got.State, got.LastError)
		}
		if n := e.push(t, tg, en); n != 0 {
			t.Errorf("a target in state error still sent %d requests", n)
		}
		// New credentials bring it back and the pending change goes out.
		if _, _, err := e.svc.Update(ctx, e.ws, tg.ID, calgate.CalDAVTargetInput{Password: ptr(e.srv.Password)}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Reconcile(ctx, e.reload(t, tg)); err != nil {
			t.Fatal(err)
		}
		if ev := e.serverEvent(t, ObjectName(en.ID)); ev == nil {
			t.Fatal("the pending change did not arrive after the password was fixed")
		}
	})
}

func TestPushIsRetriedWhileServerIsDown(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tg := e.target(t, calgate.OnArchiveDelete)
		en := e.upsert(t, "r1", "Meeting", false)
		e.srv.Stop()
		err := e.svc.runPush(ctx, []byte(fmt.Sprintf(`{"t":%q,"e":%q}`, tg.ID, en.ID)))
		if err == nil {
			t.Fatal("a push to a stopped server did not ask for a retry")
		}
		if got := e.reload(t, tg); got.State != calgate.CalDAVStateOK || got.LastError == "" {
			t.Errorf("target while the server is down: %+v", got)
		}
		e.srv.Start()
		e.push(t, tg, en)
		if ev := e.serverEvent(t, ObjectName(en.ID)); ev == nil {
			t.Fatal("the change did not arrive after the server came back")
		}
	})
}

func TestReconcileRestoresDeletedObjectsAndLeavesForeignOnes(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tg := e.target(t, calgate.OnArchiveDelete)
		a := e.upsert(t, "a", "Kept", false)
		b := e.upsert(t, "b", "Deleted behind our back", false)
		c := e.upsert(t, "c", "Archived meanwhile", false)
		for _, en := range []*calgate.Entry{a, b, c} {
			e.push(t, tg, en)
		}
		e.rawDelete(t, ObjectName(b.ID))
		e.rawPut(t, "foreign.ics", "foreign@example.com", "Not calgate's")
		e.upsert(t, "c", "Archived meanwhile", true)
		d := e.upsert(t, "d", "Never pushed", false)

		res, err := e.svc.Reconcile(ctx, tg)
		if err != nil {
			t.Fatal(err)
		}
		want := calgate.ReconcileResult{Created: 2, Deleted: 1, Unchanged: 1}
		if *res != want {
			t.Errorf("reconcile = %+v, want %+v", *res, want)
		}
		e.mustHold(t, "reconcile", a, b, d)
		if e.serverEvent(t, ObjectName(c.ID)) != nil {
			t.Error("the archived entry's object is still there")
		}
		e.mustKeepForeign(t)
		res, err = e.svc.Reconcile(ctx, tg)
		if err != nil || (*res != calgate.ReconcileResult{Unchanged: 3}) {
			t.Errorf("second reconcile = %+v, %v", res, err)
		}
	})
}

func TestReconcileAsksOnlyForChangesSinceItsToken(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tg := e.target(t, calgate.OnArchiveDelete)
		a := e.upsert(t, "a", "Kept", false)
		b := e.upsert(t, "b", "Deleted behind our back", false)
		res, err := e.svc.Reconcile(ctx, e.reload(t, tg))
		if err != nil || (*res != calgate.ReconcileResult{Created: 2}) {
			t.Fatalf("first reconcile = %+v, %v", res, err)
		}
		first := e.reload(t, tg)
		if first.SyncToken == "" || first.SyncTokenAt == nil {
			t.Fatalf("no sync token after the first reconcile: %+v", first)
		}

		// Pushed after the token, then deleted on the server: a server
		// need not report it, calgate must still notice.
		c := e.upsert(t, "c", "Pushed after the token", false)
		e.push(t, tg, c)
		e.rawDelete(t, ObjectName(b.ID))
		e.rawDelete(t, ObjectName(c.ID))
		e.rawPut(t, "foreign.ics", "foreign@example.com", "Not calgate's")
		sent := e.reqs.requests()
		res, err = e.svc.Reconcile(ctx, e.reload(t, tg))
		if err != nil {
			t.Fatal(err)
		}
		if want := (calgate.ReconcileResult{Created: 2, Unchanged: 1}); *res != want {
			t.Errorf("incremental reconcile = %+v, want %+v", *res, want)
		}
		reqs := sent()
		if !contains(reqs, "REPORT 0") || contains(reqs, "PROPFIND 1") {
			t.Errorf("incremental reconcile sent %v, want a sync-collection REPORT and no listing", reqs)
		}
		e.mustHold(t, "the incremental reconcile", a, b, c)
		e.mustKeepForeign(t)
		if got := e.reload(t, tg); got.SyncToken == "" || got.SyncToken == first.SyncToken {
			t.Errorf("sync token after the incremental reconcile %q, want a new one (was %q)", got.SyncToken, first.SyncToken)
		}
		res, err = e.svc.Reconcile(ctx, e.reload(t, tg))
		if err != nil || (*res != calgate.ReconcileResult{Unchanged: 3}) {
			t.Errorf("third reconcile = %+v, %v", res, err)
		}
	})
}

func TestReconcileDeletesAnObjectWhosePushIsStillPending(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tg := e.target(t, calgate.OnArchiveDelete)
		a := e.upsert(t, "a", "Archived before its push ran", false)
		for range 2 {
			if _, err := e.svc.Reconcile(ctx, e.reload(t, tg)); err != nil {
				t.Fatal(err)
			}
		}
		// The archive is announced (the record ages) but never pushed; the
		// server reports no change of the object since the token.
		a = e.upsert(t, "a", "Archived before its push ran", true)
		if err := e.svc.HandleEvent(ctx, &calgate.Event{WorkspaceID: e.ws, Type: calgate.EventEntryUpdated, EntryID: a.ID, Entry: a}); err != nil {
			t.Fatal(err)
		}
		res, err := e.svc.Reconcile(ctx, e.reload(t, tg))
		if err != nil || (*res != calgate.ReconcileResult{Deleted: 1}) {
			t.Fatalf("reconcile = %+v, %v; want the archived entry's object deleted", res, err)
		}
		if e.serverEvent(t, ObjectName(a.ID)) != nil {
			t.Error("the archived entry's object is still on the server")
		}
	})
}

func TestReconcileListsEverythingWhenTheTokenIsRefused(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tg := e.target(t, calgate.OnArchiveDelete)
		a := e.upsert(t, "a", "Deleted behind our back", false)
		if _, err := e.svc.Reconcile(ctx, e.reload(t, tg)); err != nil {
			t.Fatal(err)
		}
		good := e.reload(t, tg).SyncToken
		forgotten := good + "-forgotten"
		if err := e.db.SetCalDAVSyncToken(ctx, tg.ID, forgotten, time.Now()); err != nil {
			t.Fatal(err)
		}
		e.rawDelete(t, ObjectName(a.ID))
		res, err := e.svc.Reconcile(ctx, e.reload(t, tg))
		if err != nil || (*res != calgate.ReconcileResult{Created: 1}) {
			t.Fatalf("reconcile with a refused token = %+v, %v", res, err)
		}
		if e.serverEvent(t, ObjectName(a.ID)) == nil {
			t.Error("the deleted object was not restored")
		}
		if got := e.reload(t, tg); got.SyncToken == "" || got.SyncToken == forgotten || got.State != calgate.CalDAVStateOK {
			t.Errorf("after the fallback: sync token %q, state %q", got.SyncToken, got.State)
		}
	})
}

func TestReconcileListsEverythingWithoutSyncCollection(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.reqs.noSync.Store(true)
		tg := e.target(t, calgate.OnArchiveDelete)
		a := e.upsert(t, "a", "Deleted behind our back", false)
		b := e.upsert(t, "b", "Kept", false)
		if _, err := e.svc.Reconcile(ctx, e.reload(t, tg)); err != nil {
			t.Fatal(err)
		}
		e.rawDelete(t, ObjectName(a.ID))
		sent := e.reqs.requests()
		res, err := e.svc.Reconcile(ctx, e.reload(t, tg))
		if err != nil || (*res != calgate.ReconcileResult{Created: 1, Unchanged: 1}) {
			t.Fatalf("reconcile without sync-collection = %+v, %v", res, err)
		}
		if reqs := sent(); !contains(reqs, "PROPFIND 1") {
			t.Errorf("reconcile without sync-collection sent %v, want a Depth-1 listing", reqs)
		}
		e.mustHold(t, "reconcile", a, b)
		if got := e.reload(t, tg); got.SyncToken != "" || got.State != calgate.CalDAVStateOK {
			t.Errorf("without sync-collection: sync token %q, state %q", got.SyncToken, got.State)
		}
	})
}

func TestCreateNamesTheFieldAtFault(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html><body>Welcome</body></html>")
		}))
		defer html.Close()
		cases := []struct {
			name  string
			in    calgate.CalDAVTargetInput
			field string
		}{
			{"wrong password", calgate.CalDAVTargetInput{URL: ptr(e.srv.URL), Username: ptr(e.srv.Username), Password: ptr("nope")}, "password"},
			{"not caldav", calgate.CalDAVTargetInput{URL: ptr(html.URL), Username: ptr("x"), Password: ptr("y")}, "url"},
			{"no such calendar", calgate.CalDAVTargetInput{URL: ptr(e.srv.URL), Username: ptr(e.srv.Username), Password: ptr(e.srv.Password), Calendar: ptr("Holidays")}, "calendar"},
			{"bad on_archive", calgate.CalDAVTargetInput{URL: ptr(e.srv.URL), Password: ptr("y"), OnArchive: ptr("keep")}, "on_archive"},
		}
		for _, tc := range cases {
			_, _, err := e.svc.Create(context.Background(), e.ws, tc.in)
			var ve *calgate.ValidationError
			if !errors.As(err, &ve) || ve.Errors[0].Field != tc.field {
				t.Errorf("%s: error %v, want one naming %s", tc.name, err, tc.field)
			}
		}
	})
}
