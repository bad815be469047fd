package feeds

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/calgate/calgate"
)

// memStore keeps feeds and entries in memory for the service's tests.
type memStore struct {
	mu        sync.Mutex
	feeds     map[string]*calgate.Feed
	entries   []*calgate.Entry
	ws        map[string]*calgate.Workspace
	resources map[string]*calgate.Resource
}

func (m *memStore) ResourcesByName(_ context.Context, ws string, names []string) (map[string]*calgate.Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]*calgate.Resource{}
	for _, n := range names {
		if r, ok := m.resources[n]; ok && r.WorkspaceID == ws {
			out[n] = r
		}
	}
	return out, nil
}

func newMemStore() *memStore {
	return &memStore{feeds: map[string]*calgate.Feed{}, ws: map[string]*calgate.Workspace{}}
}

func (m *memStore) CreateFeed(_ context.Context, f *calgate.Feed) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *f
	m.feeds[f.ID] = &c
	return nil
}

func (m *memStore) Feed(_ context.Context, ws, id string) (*calgate.Feed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.feeds[id]
	if !ok || f.WorkspaceID != ws {
		return nil, calgate.ErrNotFound
	}
	c := *f
	return &c, nil
}

func (m *memStore) FeedByTokenHash(_ context.Context, hash string) (*calgate.Feed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range m.feeds {
		if f.TokenHash == hash {
			c := *f
			return &c, nil
		}
	}
	return nil, calgate.ErrNotFound
}

func (m *memStore) Feeds(_ context.Context, ws, cursor string, limit int) ([]*calgate.Feed, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*calgate.Feed
	for _, f := range m.feeds {
		if f.WorkspaceID == ws && f.ID > cursor {
			c := *f
			out = append(out, &c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, "", nil
}

func (m *memStore) UpdateFeed(ctx context.Context, f *calgate.Feed) error {
	if _, err := m.Feed(ctx, f.WorkspaceID, f.ID); err != nil {
		return err
	}
	return m.CreateFeed(ctx, f)
}

func (m *memStore) DeleteFeed(_ context.Context, ws, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f, ok := m.feeds[id]; !ok || f.WorkspaceID != ws {
		return calgate.ErrNotFound
	}
	delete(m.feeds, id)
	return nil
}

func (m *memStore) Entries(_ context.Context, ws string, f calgate.EntryFilter) ([]*calgate.Entry, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*calgate.Entry
	for _, e := range m.entries {
		if e.WorkspaceID == ws && e.ID > f.Cursor && f.Matches(e) {
			out = append(out, e.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if f.Limit > 0 && len(out) > f.Limit {
		return out[:f.Limit], out[f.Limit-1].ID, nil
	}
	return out, "", nil
}

func (m *memStore) Entry(_ context.Context, ws string, kind calgate.Kind, id string, includeArchived bool) (*calgate.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.entries {
		if e.WorkspaceID == ws && e.Kind == kind && e.ID == id && (includeArchived || !e.Archived()) {
			return e.Clone(), nil
		}
	}
	return nil, calgate.ErrNotFound
}

func (m *memStore) Workspace(_ context.Context, id string) (*calgate.Workspace, error) {
	if ws, ok := m.ws[id]; ok {
		return ws, nil
	}
	return nil, calgate.ErrNotFound
}

func (m *memStore) put(e *calgate.Entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, old := range m.entries {
		if old.ID == e.ID {
			m.entries[i] = e
			return
		}
	}
	m.entries = append(m.entries, e)
}

// memJobs records enqueued jobs, dropping one whose ID is queued.
type memJobs struct {
	mu   sync.Mutex
	jobs []calgate.Job
}

func (j *memJobs) Enqueue(_ context.Context, job calgate.Job) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, q := range j.jobs {
		if q.ID == job.ID {
			return nil
		}
	}
	j.jobs = append(j.jobs, job)
	return nil
}

// take removes and returns the queued jobs.
func (j *memJobs) take() []calgate.Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := j.jobs
	j.jobs = nil
	return out
}

// plainSealer stands in for the vault.
type plainSealer struct{}

func (plainSealer) Seal(p []byte) string { return "sealed:" + string(p) }
func (plainSealer) Open(s string) ([]byte, error) {
	if len(s) < 7 {
		return nil, errors.New("not sealed")
	}
	return []byte(s[7:]), nil
}

type fixture struct {
	svc   *Service
	store *memStore
	jobs  *memJobs
	mr    *miniredis.Miniredis
	ws    *calgate.Workspace
	now   time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	fx := &fixture{store: newMemStore(), jobs: &memJobs{}, mr: mr,
		ws:  &calgate.Workspace{ID: "ws_1", Name: "one", Timezone: "Europe/Berlin"},
		now: time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)}
	fx.store.ws[fx.ws.ID] = fx.ws
	fx.svc = New(Deps{Store: fx.store, Cache: NewCache(rdb, 0, 64<<20), Jobs: fx.jobs, Sealer: plainSealer{}},
		Options{PublicURL: "https://cal.example/", Now: func() time.Time { return fx.now }})
	return fx
}

func (fx *fixture) entry(id string, kind calgate.Kind, resource string, start time.Time) *calgate.Entry {
	e := &calgate.Entry{ID: id, WorkspaceID: fx.ws.ID, Kind: kind, Source: "erp", ExternalID: id, Title: "Entry " + id,
		Start: start, End: start.Add(time.Hour), Timezone: "Europe/Berlin", Status: calgate.StatusConfirmed,
		Resource: resource, Version: 1, CreatedAt: fx.now, UpdatedAt: fx.now}
	fx.store.put(e)
	return e
}

func ptr[T any](v T) *T { return &v }

// token returns the token of a feed URL.
func token(t testing.TB, v View) string {
	t.Helper()
	const prefix = "https://cal.example/feeds/"
	if len(v.URL) <= len(prefix)+4 || v.URL[:len(prefix)] != prefix {
		t.Fatalf("URL %q", v.URL)
	}
	return v.URL[len(prefix) : len(v.URL)-4]
}

func TestCreateHandsOutURLsAndKeepsOnlyTheHash(t *testing.T) {
	fx := newFixture(t)
	v, err := fx.svc.Create(context.Background(), fx.ws, &Input{Name: ptr("Plant")})
	if err != nil {
		t.Fatal(err)
	}
	tok := token(t, v)
	if len(tok) < 32 || v.WebcalURL != "webcal://cal.example/feeds/"+tok+".ics" {
		t.Fatalf("url %q webcal %q", v.URL, v.WebcalURL)
	}
	if v.PastDays != calgate.DefaultFeedPastDays || !v.IncludeCancelled || v.Timezone != "Europe/Berlin" {
		t.Fatalf("defaults: %+v", v)
	}
	f, _ := fx.store.Feed(context.Background(), fx.ws.ID, v.ID)
	if f.TokenHash != calgate.HashSecret(tok) || bytes.Contains(f.TokenSealed, []byte("plain")) {
		t.Fatalf("stored %q", f.TokenHash)
	}
	again, err := fx.svc.Get(context.Background(), fx.ws.ID, v.ID)
	if err != nil || again.URL != v.URL {
		t.Fatalf("GET shows %q (%v), want %q", again.URL, err, v.URL)
	}
}

func TestReadyRendersOnTheSpotThenReadsTheCache(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	fx.entry("ent_1", calgate.KindReservation, "room-1", fx.now.Add(24*time.Hour))
	v, _ := fx.svc.Create(ctx, fx.ws, &Input{Name: ptr("Plant")})
	r1, err := fx.svc.Ready(ctx, token(t, v))
	if err != nil || !bytes.Contains(r1.Body, []byte("UID:ent_1@calgate")) {
		t.Fatalf("first GET: %v", err)
	}
	r2, err := fx.svc.Ready(ctx, token(t, v))
	if err != nil || r2.ETag != r1.ETag {
		t.Fatalf("second GET: %v", err)
	}
	if st := fx.svc.Stats(); st.OnTheSpot != 1 || st.Hits != 1 || st.Renders != 1 {
		t.Fatalf("stats %+v, want one render on the spot and one hit", st)
	}
	if _, err := fx.svc.Ready(ctx, "wrong"); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestRotateEndsTheOldTokenAtOnce(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	v, _ := fx.svc.Create(ctx, fx.ws, &Input{Name: ptr("Plant")})
	old := token(t, v)
	if _, err := fx.svc.Ready(ctx, old); err != nil {
		t.Fatal(err)
	}
	rv, err := fx.svc.Rotate(ctx, fx.ws.ID, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.svc.Ready(ctx, old); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("old token after rotation: %v", err)
	}
	if _, err := fx.svc.Ready(ctx, token(t, rv)); err != nil {
		t.Fatalf("new token: %v", err)
	}
	if _, err := fx.svc.Rotate(ctx, "ws_other", v.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("rotate from another workspace: %v", err)
	}
}

func TestEventsReachFeedsMatchingBeforeOrAfter(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	feeds := map[string]string{}
	for _, name := range []string{"a", "b", "c"} {
		v, err := fx.svc.Create(ctx, fx.ws, &Input{Name: ptr(name), Resources: &[]string{"machine-" + name}})
		if err != nil {
			t.Fatal(err)
		}
		feeds[name] = v.ID
	}
	vAll, _ := fx.svc.Create(ctx, fx.ws, &Input{Name: ptr("all")})
	vOther, _ := fx.svc.Create(ctx, &calgate.Workspace{ID: "ws_2", Timezone: "UTC"}, &Input{Name: ptr("other")})
	fx.jobs.take() // the renders asked for on creation
	e := fx.entry("ent_1", calgate.KindJob, "machine-b", fx.now.Add(time.Hour))
	ev := &calgate.Event{ID: 1, WorkspaceID: fx.ws.ID, Type: calgate.EventEntryUpdated, Entry: e,
		Diff: calgate.FieldDiff{"workstage": {From: "machine-a", To: "machine-b"}}}
	if err := fx.svc.Destination().HandleEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, j := range fx.jobs.take() {
		got[j.ID] = true
	}
	want := map[string]bool{feeds["a"]: true, feeds["b"]: true, vAll.ID: true}
	if len(got) != len(want) || got[feeds["c"]] || got[vOther.ID] {
		t.Fatalf("render jobs for %v, want %v", got, want)
	}
	for id := range want {
		if !got[id] {
			t.Fatalf("no render job for %s", id)
		}
	}
}

func TestRenderJobStartsOverWhileChangesArrive(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	v, _ := fx.svc.Create(ctx, fx.ws, &Input{Name: ptr("all")})
	f, _ := fx.store.Feed(ctx, fx.ws.ID, v.ID)
	// A store whose listing counts a change mid-render, as a concurrent
	// event would.
	renders := 0
	fx.svc.store = &hookStore{memStore: fx.store, onEntries: func() {
		renders++
		if renders == 1 {
			fx.entry("ent_late", calgate.KindJob, "x", fx.now.Add(time.Hour))
			if err := fx.svc.cache.bump(ctx, f.ID); err != nil {
				t.Error(err)
			}
		}
	}}
	if err := fx.svc.HandleRender(ctx, []byte(f.WorkspaceID+"/"+f.ID)); err != nil {
		t.Fatal(err)
	}
	if renders != 2 {
		t.Fatalf("%d renders, want 2 (one more for the change that came during the first)", renders)
	}
	r, err := fx.svc.Ready(ctx, token(t, v))
	if err != nil || !bytes.Contains(r.Body, []byte("UID:ent_late@calgate")) {
		t.Fatalf("the ready copy misses the late change (%v)", err)
	}
}

type hookStore struct {
	*memStore
	onEntries func()
}

func (h *hookStore) Entries(ctx context.Context, ws string, f calgate.EntryFilter) ([]*calgate.Entry, string, error) {
	h.onEntries()
	return h.memStore.Entries(ctx, ws, f)
}

func TestSameBytesKeepLastModified(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	v, _ := fx.svc.Create(ctx, fx.ws, &Input{Name: ptr("all")})
	f, _ := fx.store.Feed(ctx, fx.ws.ID, v.ID)
	first, _, err := fx.svc.renderAndStore(ctx, f, false)
	if err != nil {
		t.Fatal(err)
	}
	fx.now = fx.now.Add(time.Hour)
	second, changed, err := fx.svc.renderAndStore(ctx, f, false)
	if err != nil || changed || !second.LastModified.Equal(first.LastModified) {
		t.Fatalf("re-render of the same entries: changed %v, Last-Modified %v → %v (%v)", changed, first.LastModified, second.LastModified, err)
	}
	fx.entry("ent_"+strconv.Itoa(2), calgate.KindJob, "x", fx.now.Add(time.Hour))
	third, changed, _ := fx.svc.renderAndStore(ctx, f, false)
	if !changed || third.ETag == first.ETag || !third.LastModified.After(first.LastModified) {
		t.Fatalf("new entry: changed %v, ETag %s → %s", changed, first.ETag, third.ETag)
	}
}
