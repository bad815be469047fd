// Package connectorstest runs a connectors.Service against a real database
// (SQLite, or PostgreSQL from CALGATE_TEST_DATABASE_URL) for the tests and
// benchmarks of each application's package: it connects a connector
// through the application's fake consent page and the real callback,
// writes entries, and runs pushes and sweeps by hand.
package connectorstest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/calendar"
	"github.com/calgate/calgate/internal/testenv"
	"github.com/calgate/calgate/store"
	"github.com/calgate/calgate/vault"
)

// PublicURL is the gateway's public URL in these tests.
const PublicURL = "http://calgate.test"

// RedirectURI is the redirect URI to register at the fakes.
const RedirectURI = PublicURL + connectors.CallbackPath

// Engines names the databases every test runs on.
var Engines = []string{"sqlite", "postgres"}

// Input is the input that creates a connector of the application typ with
// the mapping (none when mapping is empty).
func Input(typ, mapping string) calgate.ConnectorInput {
	in := calgate.ConnectorInput{Type: &typ}
	if mapping != "" {
		raw := json.RawMessage(mapping)
		in.Mapping = &raw
	}
	return in
}

// CalendarID returns the calendar a calendar connector (Google,
// Microsoft) writes to, from its mapping, failing t when there is none.
func CalendarID(t testing.TB, c *calgate.Connector) string {
	t.Helper()
	m, err := calendar.Decode(c.Mapping)
	if err != nil || m.CalendarID == "" {
		t.Fatalf("mapping %s: %v", c.Mapping, err)
	}
	return m.CalendarID
}

// Jobs records enqueued jobs instead of queueing them.
type Jobs struct {
	mu   sync.Mutex
	list []calgate.Job
}

// Enqueue implements calgate.Jobs.
func (j *Jobs) Enqueue(ctx context.Context, job calgate.Job) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.list = append(j.list, job)
	return nil
}

// Take returns and forgets the jobs enqueued so far.
func (j *Jobs) Take() []calgate.Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := j.list
	j.list = nil
	return out
}

// Harness is a service on a database with one workspace.
type Harness struct {
	DB        *store.DB
	Service   *connectors.Service
	Jobs      *Jobs
	Workspace *calgate.Workspace
}

// Open opens a fresh database of the engine and a service on it;
// configure may change the options before the service is built.
func Open(t testing.TB, engine string, configure func(*connectors.Options)) *Harness {
	t.Helper()
	ctx := context.Background()
	var db *store.DB
	var err error
	if engine == "postgres" {
		db, err = store.OpenPostgres(ctx, testenv.Postgres(t), nil)
	} else {
		db, err = store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "calgate.db"), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key := make([]byte, vault.KeySize)
	v, err := vault.New(key)
	if err != nil {
		t.Fatal(err)
	}
	ws := &calgate.Workspace{ID: calgate.NewID("ws"), Name: "test", Timezone: "Europe/Berlin", CreatedAt: time.Now().UTC()}
	if err := db.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	jobs := &Jobs{}
	o := connectors.Options{PublicURL: PublicURL, RetryScale: 0.001}
	if configure != nil {
		configure(&o)
	}
	svc := connectors.New(connectors.Deps{Store: db, Jobs: jobs, Sealer: v}, o)
	return &Harness{DB: db, Service: svc, Jobs: jobs, Workspace: ws}
}

// Connect creates a connector and connects it: it opens the authorize URL
// at the fake (which consents and redirects) and hands the redirect's query
// to the service's callback.
func (h *Harness) Connect(t testing.TB, in calgate.ConnectorInput) *calgate.Connector {
	t.Helper()
	ctx := context.Background()
	c, authURL, err := h.Service.Create(ctx, h.Workspace.ID, in)
	if err != nil {
		t.Fatalf("create connector: %v", err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c, err = h.Service.Callback(ctx, back.Query()); err != nil {
		t.Fatalf("callback: %v", err)
	}
	h.Jobs.Take()
	return c
}

// Entry upserts a reservation from its wire fields and records that the
// connector owes its version, as the destination does for its event. It
// returns the entry.
func (h *Harness) Entry(t testing.TB, connectorID string, fields map[string]any) *calgate.Entry {
	t.Helper()
	ctx := context.Background()
	body, _ := json.Marshal(fields)
	e, err := calgate.ParseEntry(calgate.KindReservation, body, h.Workspace.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.DB.Upsert(ctx, h.Workspace.ID, "test", []calgate.UpsertItem{{Entry: e}}, calgate.UpsertOptions{Verbose: true})
	if err != nil || len(res.Operations) != 1 || res.Operations[0].ID == "" {
		t.Fatalf("upsert: %+v %v", res, err)
	}
	cur, err := h.DB.Entry(ctx, h.Workspace.ID, calgate.KindReservation, res.Operations[0].ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.DB.WantConnectorLinks(ctx, []calgate.ConnectorWant{{ConnectorID: connectorID, EntryID: cur.ID, Version: cur.Version}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	return cur
}

// Push runs one push to completion (going round while a newer version is
// owed) and fails the test on an error.
func (h *Harness) Push(t testing.TB, connectorID, entryID string) {
	t.Helper()
	for range 5 {
		again, err := h.Service.Push(context.Background(), connectorID, entryID, "")
		if err != nil {
			t.Fatalf("push %s: %v", entryID, err)
		}
		if !again {
			return
		}
	}
}

// LoseAnswer pushes an entry while the fake application, once it has
// done op, loses the answer, as when the worker is killed mid-call: the
// push must fail with the cancellation, the application having done op.
func (h *Harness) LoseAnswer(t testing.TB, fake interface{ BeforeAnswer(func(op string)) }, op, connectorID, entryID string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fake.BeforeAnswer(func(done string) {
		if done == op {
			cancel()
		}
	})
	defer fake.BeforeAnswer(nil)
	if _, err := h.Service.Push(ctx, connectorID, entryID, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("push %s: %v, want the cancellation after %s", entryID, err, op)
	}
}

// Link returns the connector's link of an entry.
func (h *Harness) Link(t testing.TB, connectorID, entryID string) *calgate.ConnectorLink {
	t.Helper()
	l, err := h.DB.ConnectorLink(context.Background(), connectorID, entryID)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Reservation returns a confirmed reservation's wire fields.
func Reservation(ext, title string) map[string]any {
	return map[string]any{"external_id": ext, "title": title, "resource": "Room 1", "status": "confirmed",
		"start": "2026-05-04T09:00:00+02:00", "end": "2026-05-04T10:30:00+02:00", "quantity": 2,
		"customer": map[string]any{"name": "Ada Lovelace", "email": "ada@example.com"}, "attributes": map[string]any{"price": "25.50"}}
}

// ConnectKey creates a connector that takes an API key (in.APIKey set);
// the key is checked at the application.
func (h *Harness) ConnectKey(t testing.TB, in calgate.ConnectorInput) *calgate.Connector {
	t.Helper()
	c, authURL, err := h.Service.Create(context.Background(), h.Workspace.ID, in)
	if err != nil {
		t.Fatalf("create connector: %v", err)
	}
	if authURL != "" || c.State != calgate.ConnectorStateConnected {
		t.Fatalf("a connector with an API key: state %q, authorize URL %q", c.State, authURL)
	}
	return c
}

// Entries upserts many reservations at once (a bulk import) and records
// that the connector owes each; it returns their ids in order.
func (h *Harness) Entries(t testing.TB, connectorID string, list []map[string]any) []string {
	t.Helper()
	ctx := context.Background()
	items := make([]calgate.UpsertItem, 0, len(list))
	for _, fields := range list {
		body, _ := json.Marshal(fields)
		e, err := calgate.ParseEntry(calgate.KindReservation, body, h.Workspace.Timezone)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, calgate.UpsertItem{Entry: e})
	}
	res, err := h.DB.Upsert(ctx, h.Workspace.ID, "test", items, calgate.UpsertOptions{Verbose: true})
	if err != nil || len(res.Operations) != len(list) {
		t.Fatalf("bulk upsert: %v", err)
	}
	ids := make([]string, 0, len(list))
	versions := map[string]int64{}
	for _, op := range res.Operations {
		if op.ID == "" || op.Version == 0 {
			t.Fatalf("bulk upsert: %+v", op)
		}
		ids = append(ids, op.ID)
		versions[op.ID] = op.Version
	}
	if err := h.DB.OweConnectorLinks(ctx, connectorID, versions, time.Now()); err != nil {
		t.Fatal(err)
	}
	return ids
}

// PushAll pushes every owed entry of a connector whose application writes
// in batches, batch after batch as the push job does, and returns the
// number of batches that were full.
func (h *Harness) PushAll(t testing.TB, connectorID string) int {
	t.Helper()
	full := 0
	for {
		again, err := h.Service.Push(context.Background(), connectorID, "", "")
		if err != nil {
			t.Fatalf("push: %v", err)
		}
		if !again {
			return full
		}
		full++
	}
}

// Reconcile runs the connector's reconciliation now, as a worker that
// claimed it would, and fails the test on an error. The pushes it owes are
// left to the test (Push).
func (h *Harness) Reconcile(t testing.TB, connectorID string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	if err := h.DB.ScheduleConnectorReconcile(ctx, connectorID, now); err != nil {
		t.Fatal(err)
	}
	token := calgate.NewSecret(12)
	claimed, err := h.DB.ClaimDueConnectorReconciles(ctx, now, now.Add(time.Hour), token, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range claimed {
		if err := h.Service.Reconcile(ctx, r.ConnectorID, token); err != nil {
			t.Fatalf("reconcile %s: %v", r.ConnectorID, err)
		}
	}
}

// Conflicts returns the conflicts in the connector's log, newest first.
func (h *Harness) Conflicts(t testing.TB, connectorID string) []*calgate.ConnectorCall {
	t.Helper()
	calls, err := h.DB.ConnectorCalls(context.Background(), connectorID, calgate.ConnectorCallFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []*calgate.ConnectorCall
	for _, c := range calls {
		if c.Operation == "conflict" {
			out = append(out, c)
		}
	}
	return out
}
