package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

func TestConnectorsSQLite(t *testing.T)   { testConnectors(t, openSQLite(t)) }
func TestConnectorsPostgres(t *testing.T) { testConnectors(t, openPostgres(t)) }

// testConnectors walks a connector's owed work through its states: wanted,
// claimed by one worker only, saved, failed and retried, swept, and
// rescheduled after a reconnect.
func testConnectors(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	ws := &calgate.Workspace{ID: calgate.NewID("ws"), Name: "conn", Timezone: "UTC", CreatedAt: now}
	other := &calgate.Workspace{ID: calgate.NewID("ws"), Name: "other", Timezone: "UTC", CreatedAt: now}
	for _, w := range []*calgate.Workspace{ws, other} {
		if err := db.CreateWorkspace(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	c := &calgate.Connector{ID: calgate.NewID("con"), WorkspaceID: ws.ID, Type: "quickbooks", Name: "Books",
		Filter: calgate.ConnectorFilter{Kinds: []calgate.Kind{calgate.KindReservation}}, Mapping: []byte(`{"item_id":"1"}`),
		State: calgate.ConnectorStatePending, AuthState: "hash1", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateConnector(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Connector(ctx, other.ID, c.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("another workspace sees the connector: %v", err)
	}
	got, err := db.ConnectorByAuthState(ctx, "hash1")
	if err != nil || got.ID != c.ID || string(got.Mapping) != `{"item_id":"1"}` || len(got.Filter.Kinds) != 1 {
		t.Fatalf("by auth state: %+v %v", got, err)
	}
	if ok, err := db.SaveConnectorCredentials(ctx, c.ID, "sealed-1", 0); !ok || err != nil {
		t.Fatalf("first credentials: %v %v", ok, err)
	}
	if ok, _ := db.SaveConnectorCredentials(ctx, c.ID, "sealed-stale", 0); ok {
		t.Fatal("credentials written over a newer version")
	}
	if ok, _ := db.SetConnectorState(ctx, c.ID, calgate.ConnectorStatePending, calgate.ConnectorStateConnected, "", now); !ok {
		t.Fatal("state not moved")
	}
	if ok, _ := db.SetConnectorState(ctx, c.ID, calgate.ConnectorStatePending, calgate.ConnectorStateConnected, "", now); ok {
		t.Fatal("state moved twice")
	}

	if err := db.WantConnectorLinks(ctx, []calgate.ConnectorWant{{ConnectorID: c.ID, EntryID: "ent_1", Version: 1}}, now); err != nil {
		t.Fatal(err)
	}
	if err := db.WantConnectorLinks(ctx, []calgate.ConnectorWant{{ConnectorID: c.ID, EntryID: "ent_1", Version: 2}}, now); err != nil {
		t.Fatal(err)
	}
	l, err := db.ClaimConnectorLink(ctx, c.ID, "ent_1", "tok-a", now, now.Add(time.Minute))
	if err != nil || l.WantedVersion != 2 || l.LeaseToken != "tok-a" {
		t.Fatalf("claim: %+v %v", l, err)
	}
	if _, err := db.ClaimConnectorLink(ctx, c.ID, "ent_1", "tok-b", now, now.Add(time.Minute)); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("a second worker claimed a held link: %v", err)
	}
	if _, err := db.ClaimConnectorLink(ctx, c.ID, "ent_1", "tok-a", now, now.Add(time.Minute)); err != nil {
		t.Fatalf("the holder's token does not claim again: %v", err)
	}
	if err := db.SetConnectorCreateKey(ctx, c.ID, "ent_1", "key-1"); err != nil {
		t.Fatal(err)
	}
	// Version 3 is announced while version 2 is pushed.
	if err := db.WantConnectorLinks(ctx, []calgate.ConnectorWant{{ConnectorID: c.ID, EntryID: "ent_1", Version: 3}}, now); err != nil {
		t.Fatal(err)
	}
	l.RemoteID, l.RemoteVersion, l.RemoteState, l.PushedVersion = "130", "0", "open", 2
	if err := db.SaveConnectorLink(ctx, l, now); err != nil {
		t.Fatal(err)
	}
	l, _ = db.ConnectorLink(ctx, c.ID, "ent_1")
	if l.RemoteID != "130" || l.CreateKey != "" || l.PushedVersion != 2 || l.WantedVersion != 3 || l.NextAttemptAt == nil || l.LeaseUntil != nil {
		t.Fatalf("after saving v2 with v3 wanted: %+v", l)
	}
	// A failure waits for its retry; a new version does not cut it short.
	next := now.Add(time.Hour)
	if _, err := db.ClaimConnectorLink(ctx, c.ID, "ent_1", "tok-c", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := db.ReleaseConnectorLink(ctx, c.ID, "ent_1", 1, &next, "vendor said no"); err != nil {
		t.Fatal(err)
	}
	if err := db.WantConnectorLinks(ctx, []calgate.ConnectorWant{{ConnectorID: c.ID, EntryID: "ent_1", Version: 4}}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClaimConnectorLink(ctx, c.ID, "ent_1", "tok-d", now, now.Add(time.Minute)); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("claimed before its retry time: %v", err)
	}
	if b, _ := db.ConnectorBacklog(ctx, c.ID); b.Pending != 1 || b.Failed != 0 {
		t.Fatalf("backlog %+v", b)
	}
	// Retries used up: the link stays owed; a new version makes it due.
	if err := db.ReleaseConnectorLink(ctx, c.ID, "ent_1", 9, nil, "gave up"); err != nil {
		t.Fatal(err)
	}
	if b, _ := db.ConnectorBacklog(ctx, c.ID); b.Pending != 1 || b.Failed != 1 {
		t.Fatalf("backlog after giving up %+v", b)
	}
	if err := db.WantConnectorLinks(ctx, []calgate.ConnectorWant{{ConnectorID: c.ID, EntryID: "ent_1", Version: 5}}, now); err != nil {
		t.Fatal(err)
	}
	if l, _ = db.ConnectorLink(ctx, c.ID, "ent_1"); l.Attempts != 0 || l.NextAttemptAt == nil {
		t.Fatalf("a new version did not revive the link: %+v", l)
	}

	// The sweep claims due links of connected connectors once.
	if err := db.WantConnectorLinks(ctx, []calgate.ConnectorWant{{ConnectorID: c.ID, EntryID: "ent_2", Version: 1}}, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	due, err := db.ClaimDueConnectorLinks(ctx, now, now, now.Add(time.Minute), "sweep-1", 100)
	if err != nil || len(due) != 2 {
		t.Fatalf("sweep: %d links, %v", len(due), err)
	}
	if again, _ := db.ClaimDueConnectorLinks(ctx, now, now, now.Add(time.Minute), "sweep-2", 100); len(again) != 0 {
		t.Fatalf("a second sweep claimed %d held links", len(again))
	}
	if _, err := db.ClaimConnectorLink(ctx, c.ID, "ent_2", "sweep-1", now, now.Add(time.Minute)); err != nil {
		t.Fatalf("the sweep's job cannot take over its lease: %v", err)
	}
	// Lease ran out: claimable again, by the sweep of a later time.
	later := now.Add(2 * time.Minute)
	if again, _ := db.ClaimDueConnectorLinks(ctx, later, later, later.Add(time.Minute), "sweep-3", 100); len(again) != 2 {
		t.Fatalf("expired leases not swept: %d", len(again))
	}
	// A connector that needs reauthorization keeps its links but is not swept.
	if ok, _ := db.SetConnectorState(ctx, c.ID, calgate.ConnectorStateConnected, calgate.ConnectorStateNeedsReauth, "invalid_grant", now); !ok {
		t.Fatal("state")
	}
	much := later.Add(time.Hour)
	if again, _ := db.ClaimDueConnectorLinks(ctx, much, much, much.Add(time.Minute), "sweep-4", 100); len(again) != 0 {
		t.Fatalf("swept %d links of a disconnected connector", len(again))
	}
	ids, err := db.RescheduleConnectorLinks(ctx, c.ID, much)
	if err != nil || len(ids) != 2 {
		t.Fatalf("reschedule: %v %v", ids, err)
	}
	// A resync owes everything again.
	l, _ = db.ConnectorLink(ctx, c.ID, "ent_2")
	l.PushedVersion = 1
	if err := db.SaveConnectorLink(ctx, l, now); err != nil {
		t.Fatal(err)
	}
	if err := db.OweConnectorLinks(ctx, c.ID, map[string]int64{"ent_2": 1, "ent_3": 7}, now); err != nil {
		t.Fatal(err)
	}
	if b, _ := db.ConnectorBacklog(ctx, c.ID); b.Pending != 3 {
		t.Fatalf("backlog after resync %+v", b)
	}

	calls := []*calgate.ConnectorCall{
		{ConnectorID: c.ID, At: now, EntryID: "ent_1", Operation: "create invoice", Method: "POST", StatusCode: 200, Duration: time.Millisecond},
		{ConnectorID: c.ID, At: now, EntryID: "ent_2", Operation: "update invoice", Method: "POST", StatusCode: 400, Error: "Stale Object Error"},
	}
	if err := db.LogConnectorCalls(ctx, calls); err != nil {
		t.Fatal(err)
	}
	list, err := db.ConnectorCalls(ctx, c.ID, calgate.ConnectorCallFilter{Limit: 10})
	if err != nil || len(list) != 2 || list[0].Error != "Stale Object Error" || list[1].Duration != time.Millisecond {
		t.Fatalf("calls: %+v %v", list, err)
	}
	if list, _ := db.ConnectorCalls(ctx, c.ID, calgate.ConnectorCallFilter{EntryID: "ent_1", Limit: 10}); len(list) != 1 {
		t.Fatalf("calls of one entry: %d", len(list))
	}
	if n, err := db.PurgeConnectorCalls(ctx, now.Add(time.Second)); n != 2 || err != nil {
		t.Fatalf("purge: %d %v", n, err)
	}
	if err := db.DeleteConnector(ctx, other.ID, c.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("deleted from another workspace: %v", err)
	}
	if err := db.DeleteConnector(ctx, ws.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ConnectorLink(ctx, c.ID, "ent_1"); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("links survive their connector: %v", err)
	}
}

func TestConnectorBatchClaimsSQLite(t *testing.T)   { testConnectorBatchClaims(t, openSQLite(t)) }
func TestConnectorBatchClaimsPostgres(t *testing.T) { testConnectorBatchClaims(t, openPostgres(t)) }

// testConnectorBatchClaims claims one connector's owed pushes in batches:
// only its own, only due and unheld ones, each once, oldest due first; and
// it keeps the account URL.
func testConnectorBatchClaims(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	ws := &calgate.Workspace{ID: calgate.NewID("ws"), Name: "batch", Timezone: "UTC", CreatedAt: now}
	if err := db.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	var cs []*calgate.Connector
	for range 2 {
		c := &calgate.Connector{ID: calgate.NewID("con"), WorkspaceID: ws.ID, Type: "salesforce", State: calgate.ConnectorStateConnected,
			AccountURL: "https://acme.my.salesforce.com", CreatedAt: now, UpdatedAt: now}
		if err := db.CreateConnector(ctx, c); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	got, err := db.Connector(ctx, ws.ID, cs[0].ID)
	if err != nil || got.AccountURL != "https://acme.my.salesforce.com" {
		t.Fatalf("account url: %+v %v", got, err)
	}
	got.AccountURL = "https://other.my.salesforce.com"
	if err := db.UpdateConnector(ctx, got); err != nil {
		t.Fatal(err)
	}
	if got, _ = db.Connector(ctx, ws.ID, cs[0].ID); got.AccountURL != "https://other.my.salesforce.com" {
		t.Fatalf("account url after update: %q", got.AccountURL)
	}
	for i := range 5 {
		if err := db.WantConnectorLinks(ctx, []calgate.ConnectorWant{{ConnectorID: cs[0].ID, EntryID: "ent_" + string(rune('a'+i)), Version: 1}}, now.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.WantConnectorLinks(ctx, []calgate.ConnectorWant{{ConnectorID: cs[0].ID, EntryID: "ent_later", Version: 1}}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.WantConnectorLinks(ctx, []calgate.ConnectorWant{{ConnectorID: cs[1].ID, EntryID: "ent_a", Version: 1}}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClaimConnectorLink(ctx, cs[0].ID, "ent_b", "held", now.Add(time.Second), now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	first, err := db.ClaimConnectorLinks(ctx, cs[0].ID, "tok-1", now.Add(time.Second), now.Add(time.Minute), 3)
	if err != nil || len(first) != 3 || first[0].EntryID != "ent_a" || first[1].EntryID != "ent_c" || first[2].EntryID != "ent_d" {
		t.Fatalf("first batch: %+v %v", first, err)
	}
	rest, err := db.ClaimConnectorLinks(ctx, cs[0].ID, "tok-2", now.Add(time.Second), now.Add(time.Minute), 3)
	if err != nil || len(rest) != 1 || rest[0].EntryID != "ent_e" || rest[0].LeaseToken != "tok-2" {
		t.Fatalf("second batch: %+v %v", rest, err)
	}
	if none, err := db.ClaimConnectorLinks(ctx, cs[0].ID, "tok-3", now.Add(time.Second), now.Add(time.Minute), 3); err != nil || len(none) != 0 {
		t.Fatalf("third batch: %+v %v", none, err)
	}
	// Once the leases ran out, the links are claimable again.
	again, err := db.ClaimConnectorLinks(ctx, cs[0].ID, "tok-4", now.Add(2*time.Minute), now.Add(3*time.Minute), 10)
	if err != nil || len(again) != 5 {
		t.Fatalf("after the leases: %d %v", len(again), err)
	}
}

func TestConnectorWantsInBulkSQLite(t *testing.T)   { testConnectorWantsInBulk(t, openSQLite(t)) }
func TestConnectorWantsInBulkPostgres(t *testing.T) { testConnectorWantsInBulk(t, openPostgres(t)) }

// testConnectorWantsInBulk records more wants than one statement holds, one
// link named twice in the same call, and a want older than the one stored:
// every link is written once, with its highest version.
func testConnectorWantsInBulk(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	ws := &calgate.Workspace{ID: calgate.NewID("ws"), Name: "bulk", Timezone: "UTC", CreatedAt: now}
	if err := db.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	c := &calgate.Connector{ID: calgate.NewID("con"), WorkspaceID: ws.ID, Type: "xero", Name: "Books", Mapping: []byte(`{}`),
		State: calgate.ConnectorStateConnected, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateConnector(ctx, c); err != nil {
		t.Fatal(err)
	}
	var wants []calgate.ConnectorWant
	for i := range wantsPerStatement*2 + 7 {
		wants = append(wants, calgate.ConnectorWant{ConnectorID: c.ID, EntryID: fmt.Sprintf("ent_%d", i), Version: 3})
	}
	wants = append(wants, calgate.ConnectorWant{ConnectorID: c.ID, EntryID: "ent_0", Version: 5})
	if err := db.WantConnectorLinks(ctx, wants, now); err != nil {
		t.Fatal(err)
	}
	if err := db.WantConnectorLinks(ctx, []calgate.ConnectorWant{{ConnectorID: c.ID, EntryID: "ent_1", Version: 2}}, now); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int64{"ent_0": 5, "ent_1": 3, fmt.Sprintf("ent_%d", wantsPerStatement*2+6): 3} {
		l, err := db.ConnectorLink(ctx, c.ID, id)
		if err != nil || l.WantedVersion != want {
			t.Errorf("%s: %+v %v, want version %d", id, l, err, want)
		}
	}
}
