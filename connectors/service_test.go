package connectors_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/connectorstest"
)

// keyVendor is an application that takes an API key (a private app
// token): it PUTs each selected entry to /items/{entry id} and DELETEs it
// otherwise.
type keyVendor struct{ url string }

func (v *keyVendor) Type() string { return "keyed" }
func (v *keyVendor) Auth() connectors.Auth {
	return connectors.Auth{APIKeyHeader: "Authorization"}
}
func (v *keyVendor) Limits() connectors.Limits { return connectors.Limits{} }
func (v *keyVendor) Mapping(raw json.RawMessage) (json.RawMessage, error) {
	return raw, nil
}
func (v *keyVendor) Account(context.Context, *connectors.Client, url.Values) (connectors.Account, error) {
	return connectors.Account{ID: "acct"}, nil
}
func (v *keyVendor) ErrorText(status int, body []byte) string { return strings.TrimSpace(string(body)) }
func (v *keyVendor) Push(ctx context.Context, c *connectors.Client, p *connectors.Push) error {
	method := http.MethodPut
	if !p.Selected {
		method = http.MethodDelete
	}
	body, _ := json.Marshal(map[string]any{"title": p.Entry.Title})
	if _, err := c.Do(ctx, connectors.Request{Operation: strings.ToLower(method) + " item", Method: method, URL: v.url + "/items/" + p.Link.EntryID,
		Body: body, Header: http.Header{"Idempotency-Key": {p.Key(method)}}}); err != nil {
		return err
	}
	p.Link.RemoteID = p.Link.EntryID
	return nil
}

// keyServer accepts one key and can be told to fail.
type keyServer struct {
	mu     sync.Mutex
	key    string
	fail   []int // statuses to answer next
	items  map[string]string
	seen   []string
	server *httptest.Server
}

func startKeyServer(t *testing.T, key string) *keyServer {
	ks := &keyServer{key: key, items: map[string]string{}}
	ks.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.mu.Lock()
		defer ks.mu.Unlock()
		ks.seen = append(ks.seen, r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") != "Bearer "+ks.key {
			http.Error(w, "bad key", http.StatusUnauthorized)
			return
		}
		if len(ks.fail) > 0 {
			status := ks.fail[0]
			ks.fail = ks.fail[1:]
			if status == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "120")
			}
			http.Error(w, fmt.Sprintf("failing with %d", status), status)
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/items/")
		var b struct{ Title string }
		_ = json.NewDecoder(r.Body).Decode(&b)
		if r.Method == http.MethodDelete {
			delete(ks.items, id)
		} else {
			ks.items[id] = b.Title
		}
	}))
	t.Cleanup(ks.server.Close)
	return ks
}

func TestAPIKeyConnectorRetriesAndNeedsANewKey(t *testing.T) {
	ks := startKeyServer(t, "first-key-7f3a9c")
	h := connectorstest.Open(t, "sqlite", nil)
	h.Service.Add(&keyVendor{url: ks.server.URL})
	ctx := context.Background()
	typ, key := "keyed", "first-key-7f3a9c"
	if _, _, err := h.Service.Create(ctx, h.Workspace.ID, calgate.ConnectorInput{Type: &typ}); err == nil || !strings.Contains(err.Error(), "api_key") {
		t.Fatalf("created without a key: %v", err)
	}
	c, authURL, err := h.Service.Create(ctx, h.Workspace.ID, calgate.ConnectorInput{Type: &typ, APIKey: &key})
	if err != nil || authURL != "" || c.State != calgate.ConnectorStateConnected {
		t.Fatalf("create: %+v %q %v", c, authURL, err)
	}
	if strings.Contains(c.SealedCredentials, "first-key-7f3a9c") {
		t.Fatal("the key is stored in the clear")
	}
	e := h.Entry(t, c.ID, connectorstest.Reservation("r1", "One"))

	// A 500 is retried on the schedule: the push is due again later.
	ks.fail = []int{500}
	h.Push(t, c.ID, e.ID)
	l := h.Link(t, c.ID, e.ID)
	if !l.Owed() || l.Attempts != 1 || l.NextAttemptAt == nil || !strings.Contains(l.LastError, "failing with 500") {
		t.Fatalf("after a 500: %+v", l)
	}
	jobs := h.Jobs.Take()
	if len(jobs) != 1 || jobs[0].At.IsZero() {
		t.Fatalf("no delayed retry enqueued: %+v", jobs)
	}
	// The retry, made due now, succeeds.
	if err := h.DB.ReleaseConnectorLink(ctx, c.ID, e.ID, 1, &l.UpdatedAt, l.LastError); err != nil {
		t.Fatal(err)
	}
	h.Push(t, c.ID, e.ID)
	if l = h.Link(t, c.ID, e.ID); l.Owed() || ks.items[e.ID] != "One" {
		t.Fatalf("after the retry: %+v %v", l, ks.items)
	}

	// A 429 waits its Retry-After without counting as a failure.
	ks.fail = []int{http.StatusTooManyRequests}
	e = h.Entry(t, c.ID, connectorstest.Reservation("r1", "Two"))
	h.Push(t, c.ID, e.ID)
	l = h.Link(t, c.ID, e.ID)
	if !l.Owed() || l.Attempts != 0 || l.NextAttemptAt == nil || l.NextAttemptAt.Sub(l.UpdatedAt).Minutes() < 1.9 {
		t.Fatalf("after a 429 with Retry-After 120: %+v", l)
	}
	if jobs := h.Jobs.Take(); len(jobs) != 1 || jobs[0].At.Before(*l.NextAttemptAt) {
		t.Fatalf("the push after the Retry-After: %+v", jobs)
	}

	// A refused key: needs_reauth, the change kept; a new key resumes.
	ks.mu.Lock()
	ks.key, ks.fail = "k2", nil
	ks.mu.Unlock()
	if err := h.DB.ReleaseConnectorLink(ctx, c.ID, e.ID, 0, &l.UpdatedAt, ""); err != nil {
		t.Fatal(err)
	}
	h.Push(t, c.ID, e.ID)
	cur, _, _ := h.Service.Connector(ctx, h.Workspace.ID, c.ID)
	if cur.State != calgate.ConnectorStateNeedsReauth || !h.Link(t, c.ID, e.ID).Owed() {
		t.Fatalf("after a refused key: %s", cur.State)
	}
	newKey := "k2"
	if _, err := h.Service.Update(ctx, h.Workspace.ID, c.ID, calgate.ConnectorInput{APIKey: &newKey}); err != nil {
		t.Fatal(err)
	}
	jobs = h.Jobs.Take()
	if len(jobs) != 1 {
		t.Fatalf("resuming enqueued %d pushes", len(jobs))
	}
	h.Push(t, c.ID, e.ID)
	if ks.items[e.ID] != "Two" {
		t.Fatalf("items: %v", ks.items)
	}
	if _, err := h.Service.Resync(ctx, h.Workspace.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	other := "other"
	if _, _, err := h.Service.Connector(ctx, other, c.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("another workspace sees the connector: %v", err)
	}
}

// TestHandleEventsOwesABatchInOneGo hands the destination a batch of
// events as the queue does: every entry is owed to the connector and each
// gets its push job; events of another workspace and non-entry events are
// left alone.
func TestHandleEventsOwesABatchInOneGo(t *testing.T) {
	ks := startKeyServer(t, "k1")
	h := connectorstest.Open(t, "sqlite", nil)
	h.Service.Add(&keyVendor{url: ks.server.URL})
	ctx := context.Background()
	typ, key := "keyed", "k1"
	c, _, err := h.Service.Create(ctx, h.Workspace.ID, calgate.ConnectorInput{Type: &typ, APIKey: &key})
	if err != nil {
		t.Fatal(err)
	}
	h.Jobs.Take()
	var evs []*calgate.Event
	for i := range 40 {
		e := &calgate.Entry{ID: fmt.Sprintf("ent_%d", i), Kind: calgate.KindReservation, Version: int64(1 + i%3)}
		evs = append(evs, &calgate.Event{ID: int64(i + 1), Position: int64(i + 1), WorkspaceID: h.Workspace.ID,
			Type: calgate.EventEntryCreated, Kind: e.Kind, EntryID: e.ID, Entry: e})
	}
	foreign := &calgate.Entry{ID: "ent_foreign", Kind: calgate.KindReservation, Version: 1}
	evs = append(evs, &calgate.Event{ID: 41, WorkspaceID: "ws_other", Type: calgate.EventEntryCreated, EntryID: foreign.ID, Entry: foreign},
		&calgate.Event{ID: 42, WorkspaceID: h.Workspace.ID, Type: calgate.EventWebhookTest, Data: []byte(`{}`)})
	if err := h.Service.HandleEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		l := h.Link(t, c.ID, fmt.Sprintf("ent_%d", i))
		if l.WantedVersion != int64(1+i%3) || !l.Owed() {
			t.Errorf("ent_%d: %+v", i, l)
		}
	}
	if _, err := h.DB.ConnectorLink(ctx, c.ID, "ent_foreign"); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("another workspace's entry is owed: %v", err)
	}
	if jobs := h.Jobs.Take(); len(jobs) != 40 {
		t.Errorf("%d push jobs, want one per entry (40)", len(jobs))
	}
	// The same batch again (a retried task) owes nothing new.
	if err := h.Service.HandleEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if l := h.Link(t, c.ID, "ent_2"); l.WantedVersion != 3 {
		t.Errorf("after the repeat: %+v", l)
	}
}
