package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"sort"
	"sync"
	"time"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/feeds"
	"github.com/calgate/calgate/imports"
	"github.com/calgate/calgate/imports/pull"
	"github.com/calgate/calgate/imports/template"
	"github.com/calgate/calgate/sync/subscriptions"
	"github.com/calgate/calgate/webhooks"
)

// The fakes keep what the api's tests need in memory. Every fake answers
// with fail when it is set, so that a test can drive each route's error
// path; an id "missing" is calgate.ErrNotFound.

// testSecret is the token the fake store knows.
const testSecret = "cgt_test-secret"

var fakeTime = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// fakes holds the failure that every fake service answers with.
type fakes struct {
	mu   sync.Mutex
	fail error
}

func (f *fakes) err(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if id == "missing" {
		return calgate.ErrNotFound
	}
	return nil
}

func (f *fakes) setFail(err error) {
	f.mu.Lock()
	f.fail = err
	f.mu.Unlock()
}

// fakeStore is an in-memory api.Store: entries by id, tokens, events and
// idempotency keys.
type fakeStore struct {
	*fakes
	mu      sync.Mutex
	entries map[string]*calgate.Entry
	tokens  map[string]*calgate.Token
	events  []*calgate.Event
	keys    map[string]storedAnswer
	seq     int
	// conflicts are the double bookings of entries, by id.
	conflicts map[string][]calgate.Conflict
}

func newFakeStore(f *fakes) *fakeStore {
	admin := &calgate.Token{ID: "tok_admin", WorkspaceID: "ws_test", User: "admin", Name: "admin", Admin: true, CreatedAt: fakeTime}
	other := &calgate.Token{ID: "id1", WorkspaceID: "ws_test", User: "erp", Name: "ERP", CreatedAt: fakeTime}
	return &fakeStore{fakes: f, entries: map[string]*calgate.Entry{}, tokens: map[string]*calgate.Token{admin.ID: admin, other.ID: other},
		keys: map[string]storedAnswer{}}
}

// addEntry keeps an entry of kind k under id, as if it had been written.
func (s *fakeStore) addEntry(k calgate.Kind, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	s.entries[string(k)+"/"+id] = &calgate.Entry{ID: id, WorkspaceID: "ws_test", Kind: k, Source: "api", ExternalID: "E-" + id, Resource: "R1",
		Start: start, End: start.Add(time.Hour), Timezone: "UTC", Status: calgate.StatusConfirmed, Version: 1, CreatedAt: fakeTime, UpdatedAt: fakeTime}
}

var testWorkspace = calgate.Workspace{ID: "ws_test", Name: "default", Timezone: "Europe/Berlin", CreatedAt: fakeTime}

func (s *fakeStore) Ping(ctx context.Context) error { return s.err("") }

func (s *fakeStore) CreateToken(ctx context.Context, t *calgate.Token, secretHash string) error {
	if err := s.err(""); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[t.ID] = t
	return nil
}

func (s *fakeStore) TokenByHash(ctx context.Context, secretHash string) (*calgate.Principal, error) {
	if secretHash != calgate.HashSecret(testSecret) {
		return nil, calgate.ErrNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return &calgate.Principal{Token: *s.tokens["tok_admin"], Workspace: testWorkspace}, nil
}

func (s *fakeStore) Tokens(ctx context.Context, workspaceID string) ([]*calgate.Token, error) {
	if err := s.err(""); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*calgate.Token
	for _, t := range s.tokens {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *fakeStore) RevokeToken(ctx context.Context, workspaceID, id string) error {
	if err := s.err(id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tokens[id]; !ok {
		return calgate.ErrNotFound
	}
	delete(s.tokens, id)
	return nil
}

func (s *fakeStore) TouchToken(ctx context.Context, id string, at time.Time) error { return nil }

func (s *fakeStore) Upsert(ctx context.Context, workspaceID, actor string, items []calgate.UpsertItem, opts calgate.UpsertOptions) (*calgate.BulkResult, error) {
	if err := s.err(""); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res := &calgate.BulkResult{}
	for i, it := range items {
		r := calgate.ItemResult{Index: i}
		if it.Err != nil {
			r.Operation = calgate.OpFailed
			if ve, ok := it.Err.(*calgate.ValidationError); ok {
				r.Errors = ve.Errors
			}
			res.Count(r, opts.Verbose)
			continue
		}
		e := it.Entry.Clone()
		r.ExternalID, r.Operation = e.ExternalID, calgate.OpCreated
		for _, old := range s.entries {
			if old.Kind == e.Kind && old.Source == e.Source && old.ExternalID == e.ExternalID {
				e.ID, e.Version, e.CreatedAt = old.ID, old.Version+1, old.CreatedAt
				r.Operation = calgate.OpUpdated
			}
		}
		if e.ID == "" {
			s.seq++
			e.ID, e.Version, e.CreatedAt = "ent_"+string(rune('a'+s.seq)), 1, fakeTime
		}
		e.WorkspaceID, e.UpdatedAt = workspaceID, fakeTime
		r.ID, r.Version = e.ID, e.Version
		if opts.Return {
			r.Entry = e.Clone()
		}
		if !opts.Simulate {
			s.entries[string(e.Kind)+"/"+e.ID] = e
			s.events = append(s.events, &calgate.Event{ID: int64(len(s.events) + 1), Position: int64(len(s.events) + 1), WorkspaceID: workspaceID,
				Type: calgate.EventEntryCreated, Kind: e.Kind, EntryID: e.ID, Entry: e.Clone(), Actor: actor, CreatedAt: fakeTime})
		}
		res.Count(r, opts.Verbose)
	}
	res.Simulated = opts.Simulate
	return res, nil
}

func (s *fakeStore) EntryConflicts(ctx context.Context, workspaceID, entryID string) ([]calgate.Conflict, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conflicts[entryID], nil
}

func (s *fakeStore) Mutate(ctx context.Context, workspaceID string, kind calgate.Kind, id, actor string, fn func(*calgate.Entry) error) (*calgate.Entry, calgate.EventType, error) {
	if err := s.err(id); err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.entries[string(kind)+"/"+id]
	if !ok {
		return nil, "", calgate.ErrNotFound
	}
	e := old.Clone()
	if err := fn(e); err != nil {
		return nil, "", err
	}
	e.Version++
	s.entries[string(kind)+"/"+id] = e
	return e.Clone(), calgate.EventEntryUpdated, nil
}

func (s *fakeStore) Entry(ctx context.Context, workspaceID string, kind calgate.Kind, id string, includeArchived bool) (*calgate.Entry, error) {
	if err := s.err(id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[string(kind)+"/"+id]
	if !ok || (e.Archived() && !includeArchived) {
		return nil, calgate.ErrNotFound
	}
	return e.Clone(), nil
}

func (s *fakeStore) Entries(ctx context.Context, workspaceID string, f calgate.EntryFilter) ([]*calgate.Entry, string, error) {
	if err := s.err(""); err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*calgate.Entry
	for _, e := range s.entries {
		if slices.Contains(f.Kinds, e.Kind) && (!e.Archived() || f.IncludeArchived) {
			out = append(out, e.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, "", nil
}

func (s *fakeStore) Events(ctx context.Context, workspaceID string, f calgate.EventFilter) ([]*calgate.Event, error) {
	if err := s.err(""); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*calgate.Event
	for _, ev := range s.events {
		if ev.Position > f.After && (f.EntryID == "" || ev.EntryID == f.EntryID) {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (s *fakeStore) Sequence(ctx context.Context) (int, error) { return 0, nil }

// storedAnswer is what the fake keeps for an idempotency key.
type storedAnswer struct {
	fingerprint, contentType string
	status                   int
	body                     []byte
}

func (s *fakeStore) IdempotentResponse(ctx context.Context, workspaceID, key string) (string, int, string, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.keys[workspaceID+"/"+key]
	if !ok {
		return "", 0, "", nil, calgate.ErrNotFound
	}
	return r.fingerprint, r.status, r.contentType, r.body, nil
}

func (s *fakeStore) SaveIdempotentResponse(ctx context.Context, workspaceID, key, fingerprint string, status int, contentType string, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[workspaceID+"/"+key]; !ok {
		s.keys[workspaceID+"/"+key] = storedAnswer{fingerprint: fingerprint, contentType: contentType, status: status, body: body}
	}
	return nil
}

type fakeWebhooks struct{ *fakes }

func testWebhook(id string) *calgate.Webhook {
	return &calgate.Webhook{ID: id, WorkspaceID: "ws_test", URL: "https://hooks.example.com/in", Events: []string{"*"}, Origin: "api", CreatedAt: fakeTime, UpdatedAt: fakeTime}
}

func testDelivery(id string) *calgate.Delivery {
	return &calgate.Delivery{ID: id, WebhookID: "wh_1", EventID: 7, Type: calgate.EventEntryCreated, Status: "failed", Payload: json.RawMessage(`{}`), CreatedAt: fakeTime, UpdatedAt: fakeTime}
}

func (f fakeWebhooks) Create(ctx context.Context, workspaceID, origin string, in webhooks.EndpointInput) (*calgate.Webhook, string, error) {
	if err := f.err(""); err != nil {
		return nil, "", err
	}
	return testWebhook("wh_1"), "whsec_test", nil
}

func (f fakeWebhooks) Get(ctx context.Context, workspaceID, id string) (*calgate.Webhook, error) {
	return testWebhook(id), f.err(id)
}

func (f fakeWebhooks) List(ctx context.Context, workspaceID, cursor string, limit int) ([]*calgate.Webhook, string, error) {
	return []*calgate.Webhook{testWebhook("wh_1")}, "", f.err("")
}

func (f fakeWebhooks) Update(ctx context.Context, workspaceID, id string, in webhooks.EndpointInput) (*calgate.Webhook, error) {
	return testWebhook(id), f.err(id)
}

func (f fakeWebhooks) Delete(ctx context.Context, workspaceID, id string) error { return f.err(id) }

func (f fakeWebhooks) Secrets(ctx context.Context, workspaceID, id string) ([]webhooks.Secret, error) {
	return []webhooks.Secret{{Secret: "whsec_test"}}, f.err(id)
}

func (f fakeWebhooks) RotateSecret(ctx context.Context, workspaceID, id string) (string, error) {
	return "whsec_new", f.err(id)
}

func (f fakeWebhooks) Test(ctx context.Context, workspaceID, id string) (*webhooks.TestResult, error) {
	if err := f.err(id); err != nil {
		return nil, err
	}
	return &webhooks.TestResult{MessageID: "msg_1", Attempt: webhooks.Attempt{Outcome: webhooks.Succeeded, StatusCode: 204}}, nil
}

func (f fakeWebhooks) Deliveries(ctx context.Context, workspaceID, id string, flt calgate.DeliveryFilter) ([]*calgate.Delivery, string, error) {
	return []*calgate.Delivery{testDelivery("msg_1")}, "", f.err(id)
}

func (f fakeWebhooks) Retry(ctx context.Context, workspaceID, webhookID, id string) (*calgate.Delivery, error) {
	return testDelivery(id), f.err(webhookID)
}

func (f fakeWebhooks) Replay(ctx context.Context, workspaceID, webhookID string, since time.Time) (int, error) {
	return 2, f.err(webhookID)
}

func (f fakeWebhooks) Sample(t calgate.EventType) (json.RawMessage, error) {
	if err := f.err(""); err != nil {
		return nil, err
	}
	return json.RawMessage(`{"type":"` + string(t) + `","timestamp":"2026-03-02T08:00:00Z","data":{}}`), nil
}

type fakeFeeds struct{ *fakes }

func testFeed(id string) feeds.View {
	return feeds.View{ID: id, Name: "plant", Kinds: []calgate.Kind{calgate.KindJob}, Resources: []string{}, Statuses: []calgate.Status{}, Sources: []string{},
		TitleTemplates: map[calgate.Kind]string{}, DescriptionTemplates: map[calgate.Kind]string{}, URL: "https://calgate.example.com/feeds/tok.ics",
		WebcalURL: "webcal://calgate.example.com/feeds/tok.ics", CreatedAt: fakeTime, UpdatedAt: fakeTime}
}

func (f fakeFeeds) Create(ctx context.Context, ws *calgate.Workspace, in *feeds.Input) (feeds.View, error) {
	return testFeed("feed_1"), f.err("")
}

func (f fakeFeeds) Get(ctx context.Context, workspaceID, id string) (feeds.View, error) {
	return testFeed(id), f.err(id)
}

func (f fakeFeeds) List(ctx context.Context, workspaceID, cursor string, limit int) ([]feeds.View, string, error) {
	return []feeds.View{testFeed("feed_1")}, "", f.err("")
}

func (f fakeFeeds) Update(ctx context.Context, workspaceID, id string, in *feeds.Input) (feeds.View, error) {
	return testFeed(id), f.err(id)
}

func (f fakeFeeds) Delete(ctx context.Context, workspaceID, id string) error { return f.err(id) }

func (f fakeFeeds) Rotate(ctx context.Context, workspaceID, id string) (feeds.View, error) {
	return testFeed(id), f.err(id)
}

func (f fakeFeeds) Ready(ctx context.Context, token string) (*feeds.Ready, error) {
	if err := f.err(token); err != nil {
		return nil, err
	}
	return &feeds.Ready{Body: []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), ETag: `"e1"`, LastModified: fakeTime}, nil
}

func (f fakeFeeds) Refresh() time.Duration { return time.Minute }

func (f fakeFeeds) RenderEntry(ctx context.Context, ws *calgate.Workspace, kind calgate.Kind, id string) ([]byte, string, error) {
	return []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), id + ".ics", f.err(id)
}

type fakeSubscriptions struct{ *fakes }

func testSubscription(id string) *calgate.Subscription {
	return &calgate.Subscription{ID: id, Name: "cabins", URL: "https://cal.example.com/a.ics", Kind: calgate.KindReservation, Resource: "cabin-1",
		PollInterval: 15 * time.Minute, State: calgate.SubscriptionOK, CreatedAt: fakeTime, UpdatedAt: fakeTime}
}

func (f fakeSubscriptions) Create(ctx context.Context, workspaceID, actor string, in subscriptions.Input) (*calgate.Subscription, error) {
	return testSubscription("sub_1"), f.err("")
}

func (f fakeSubscriptions) Get(ctx context.Context, workspaceID, id string) (*calgate.Subscription, error) {
	return testSubscription(id), f.err(id)
}

func (f fakeSubscriptions) List(ctx context.Context, workspaceID, cursor string, limit int) ([]*calgate.Subscription, string, error) {
	return []*calgate.Subscription{testSubscription("sub_1")}, "", f.err("")
}

func (f fakeSubscriptions) Update(ctx context.Context, workspaceID, id, actor string, in subscriptions.Input) (*calgate.Subscription, error) {
	return testSubscription(id), f.err(id)
}

func (f fakeSubscriptions) Delete(ctx context.Context, workspaceID, id, actor string) error {
	return f.err(id)
}

func (f fakeSubscriptions) PollNow(ctx context.Context, workspaceID, id, actor string) (*calgate.Subscription, error) {
	return testSubscription(id), f.err(id)
}

type fakeImports struct{ *fakes }

func (f fakeImports) Templates(ctx context.Context, workspaceID string) ([]imports.TemplateInfo, error) {
	return []imports.TemplateInfo{testTemplate("planyo")}, f.err("")
}

func (f fakeImports) Template(ctx context.Context, workspaceID, name string) (imports.TemplateInfo, error) {
	return testTemplate(name), f.err(name)
}

func (f fakeImports) SaveTemplate(ctx context.Context, workspaceID, name string, doc []byte, create bool) (imports.TemplateInfo, bool, error) {
	return testTemplate("t1"), create, f.err(name)
}

func (f fakeImports) DeleteTemplate(ctx context.Context, workspaceID, name string) error {
	return f.err(name)
}

func (f fakeImports) ImportJSON(ctx context.Context, ws *calgate.Workspace, template, actor string, model []byte, opts imports.ImportOptions) (*imports.Report, error) {
	if err := f.err(template); err != nil {
		return nil, err
	}
	return testReport(), nil
}

func (f fakeImports) ImportRows(ctx context.Context, ws *calgate.Workspace, template, actor string, file io.Reader, opts imports.ImportOptions) (*imports.Report, error) {
	if err := f.err(template); err != nil {
		return nil, err
	}
	if _, err := io.Copy(io.Discard, file); err != nil {
		return nil, err
	}
	return testReport(), nil
}

func (f fakeImports) Export(ctx context.Context, workspaceID, name string, since time.Time, cursor string, limit int) (*imports.ExportPage, error) {
	if err := f.err(name); err != nil {
		return nil, err
	}
	return &imports.ExportPage{Items: []map[string]any{{"id": "J-1"}}}, nil
}

func (f fakeImports) ExportTemplate(ctx context.Context, workspaceID, name string) (*template.Template, error) {
	return nil, f.err("missing")
}

func (f fakeImports) ExportEach(ctx context.Context, workspaceID string, t *template.Template, since time.Time, fn func(map[string]any) error) error {
	return f.err("missing")
}

func testTemplate(name string) imports.TemplateInfo {
	return imports.TemplateInfo{Name: name, Kind: calgate.KindJob, Direction: template.Import}
}

func testReport() *imports.Report {
	return &imports.Report{BulkResult: calgate.BulkResult{Errors: []calgate.ItemResult{}}, Template: "planyo", Mode: calgate.ImportModeUpsert}
}

// fakePulls is the pull service: every pull and run is the same.
type fakePulls struct{ *fakes }

func testRun(pullID string) *calgate.PullRun {
	return &calgate.PullRun{ID: "run_1", PullID: pullID, StartedAt: fakeTime, FinishedAt: fakeTime, Status: "ok", Report: json.RawMessage(`{}`)}
}

func testPull(id string) *calgate.PullImport {
	return &calgate.PullImport{ID: id, Name: "erp", URL: "https://erp.example.com/orders", Template: "planyo", Mode: calgate.ImportModeUpsert, Schedule: "@every 1h", HeaderNames: []string{}, NotifyEmails: []string{}, CreatedAt: fakeTime, UpdatedAt: fakeTime}
}

func (f fakePulls) CreatePull(ctx context.Context, workspaceID string, in pull.Input) (*calgate.PullImport, error) {
	return testPull("pull_1"), f.err("")
}

func (f fakePulls) Pull(ctx context.Context, workspaceID, id string) (*calgate.PullImport, error) {
	return testPull(id), f.err(id)
}

func (f fakePulls) Pulls(ctx context.Context, workspaceID, cursor string, limit int) ([]*calgate.PullImport, string, error) {
	return []*calgate.PullImport{testPull("pull_1")}, "", f.err("")
}

func (f fakePulls) UpdatePull(ctx context.Context, workspaceID, id string, in pull.Input) (*calgate.PullImport, error) {
	return testPull(id), f.err(id)
}

func (f fakePulls) DeletePull(ctx context.Context, workspaceID, id string) error { return f.err(id) }

func (f fakePulls) RunPull(ctx context.Context, workspaceID, id string) (*calgate.PullRun, error) {
	return testRun(id), f.err(id)
}

func (f fakePulls) Runs(ctx context.Context, workspaceID, id, cursor string, limit int) ([]*calgate.PullRun, string, error) {
	return []*calgate.PullRun{testRun(id)}, "", f.err(id)
}

type fakeCalDAV struct{ *fakes }

func testTarget(id string) *calgate.CalDAVTarget {
	return &calgate.CalDAVTarget{ID: id, URL: "https://dav.example.com/cal/", Username: "u", OnArchive: calgate.OnArchiveDelete, State: calgate.CalDAVStateOK, CreatedAt: fakeTime, UpdatedAt: fakeTime}
}

func (f fakeCalDAV) Create(ctx context.Context, workspaceID string, in calgate.CalDAVTargetInput) (*calgate.CalDAVTarget, []calgate.CalDAVCalendar, error) {
	return testTarget("dav_1"), nil, f.err("")
}

func (f fakeCalDAV) Update(ctx context.Context, workspaceID, id string, in calgate.CalDAVTargetInput) (*calgate.CalDAVTarget, []calgate.CalDAVCalendar, error) {
	return testTarget(id), nil, f.err(id)
}

func (f fakeCalDAV) Target(ctx context.Context, workspaceID, id string) (*calgate.CalDAVTarget, calgate.CalDAVBacklog, error) {
	return testTarget(id), calgate.CalDAVBacklog{}, f.err(id)
}

func (f fakeCalDAV) Targets(ctx context.Context, workspaceID string) ([]*calgate.CalDAVTarget, error) {
	return []*calgate.CalDAVTarget{testTarget("dav_1")}, f.err("")
}

func (f fakeCalDAV) Delete(ctx context.Context, workspaceID, id string) error { return f.err(id) }

func (f fakeCalDAV) Resync(ctx context.Context, workspaceID, id string) (*calgate.ReconcileResult, error) {
	return &calgate.ReconcileResult{}, f.err(id)
}

type fakeConnectors struct{ *fakes }

func testConnector(id string) *calgate.Connector {
	return &calgate.Connector{ID: id, Type: "xero", Name: "Accounts", State: calgate.ConnectorStateConnected, CreatedAt: fakeTime, UpdatedAt: fakeTime}
}

func (f fakeConnectors) Create(ctx context.Context, workspaceID string, in calgate.ConnectorInput) (*calgate.Connector, string, error) {
	return testConnector("con_1"), "https://login.example.com/authorize", f.err("")
}

func (f fakeConnectors) Update(ctx context.Context, workspaceID, id string, in calgate.ConnectorInput) (*calgate.Connector, error) {
	return testConnector(id), f.err(id)
}

func (f fakeConnectors) Authorize(ctx context.Context, workspaceID, id string) (*calgate.Connector, string, error) {
	return testConnector(id), "https://login.example.com/authorize", f.err(id)
}

func (f fakeConnectors) Connector(ctx context.Context, workspaceID, id string) (*calgate.Connector, calgate.ConnectorBacklog, error) {
	return testConnector(id), calgate.ConnectorBacklog{}, f.err(id)
}

func (f fakeConnectors) Connectors(ctx context.Context, workspaceID string) ([]*calgate.Connector, error) {
	return []*calgate.Connector{testConnector("con_1")}, f.err("")
}

func (f fakeConnectors) Delete(ctx context.Context, workspaceID, id string) error { return f.err(id) }

func (f fakeConnectors) Resync(ctx context.Context, workspaceID, id string) (int, error) {
	return 3, f.err(id)
}

func (f fakeConnectors) Log(ctx context.Context, workspaceID, id string, flt calgate.ConnectorCallFilter) ([]*calgate.ConnectorCall, error) {
	return []*calgate.ConnectorCall{}, f.err(id)
}

func (f fakeConnectors) Callback(ctx context.Context, q url.Values) (*calgate.Connector, error) {
	return testConnector("con_1"), f.err(q.Get("state"))
}

func (f fakeConnectors) Types() []string { return []string{"xero", "quickbooks"} }

func (f fakeConnectors) Choices(ctx context.Context, workspaceID, id string) ([]calgate.ConnectorChoice, error) {
	return []calgate.ConnectorChoice{}, f.err(id)
}

func (f fakeConnectors) ReconcileNow(ctx context.Context, workspaceID, id string) error {
	return f.err(id)
}

func (f fakeConnectors) ReconcileState(ctx context.Context, workspaceID, id string) (*calgate.ConnectorReconcile, error) {
	return &calgate.ConnectorReconcile{}, f.err(id)
}
