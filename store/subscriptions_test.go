package store

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

func TestSubscriptionsSQLite(t *testing.T) {
	runSubscriptionSuite(t, func(t *testing.T) *DB { return openSQLite(t) })
}

func TestSubscriptionsPostgres(t *testing.T) {
	runSubscriptionSuite(t, func(t *testing.T) *DB { return openPostgres(t) })
}

func runSubscriptionSuite(t *testing.T, open func(t *testing.T) *DB) {
	tests := []struct {
		name string
		run  func(t *testing.T, db *DB)
	}{
		{"CreateGetListUpdateDelete", testSubscriptionCRUD},
		{"RecordPollKeepsSettings", testSubscriptionRecordPoll},
		{"ClaimDueRunsEachPollOnce", testSubscriptionClaimOnce},
		{"PullRunLostWithTheQueueComesDueAgain", testPullClaimLease},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

func newSubscription(ws string, next time.Time) *calgate.Subscription {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return &calgate.Subscription{ID: calgate.NewID("sub"), WorkspaceID: ws, Name: "cabin", URL: "https://example.com/a.ics",
		Kind: calgate.KindReservation, Resource: "cabin-1", PollInterval: 15 * time.Minute, State: calgate.SubscriptionPending,
		NextPollAt: next.UTC().Truncate(time.Microsecond), CreatedAt: now, UpdatedAt: now}
}

func testSubscriptionCRUD(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	other := newWorkspace(t, db, "b")
	s := newSubscription(ws.ID, time.Now().Add(time.Hour))
	if err := db.CreateSubscription(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := db.Subscription(ctx, ws.ID, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.URL != s.URL || got.PollInterval != s.PollInterval || !got.NextPollAt.Equal(s.NextPollAt) || got.LastPolledAt != nil {
		t.Fatalf("got %+v, want %+v", got, s)
	}
	if _, err := db.Subscription(ctx, other.ID, s.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("other workspace: err = %v, want not found", err)
	}
	got.Resource, got.PollInterval = "cabin-2", time.Hour
	if err := db.UpdateSubscriptionSettings(ctx, got); err != nil {
		t.Fatal(err)
	}
	list, next, err := db.Subscriptions(ctx, ws.ID, "", 10)
	if err != nil || next != "" || len(list) != 1 || list[0].Resource != "cabin-2" || list[0].PollInterval != time.Hour {
		t.Fatalf("list = %+v, %q, %v", list, next, err)
	}
	if list, _, _ := db.Subscriptions(ctx, other.ID, "", 10); len(list) != 0 {
		t.Fatalf("other workspace lists %d subscriptions", len(list))
	}
	if err := db.DeleteSubscription(ctx, other.ID, s.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("delete from other workspace: err = %v", err)
	}
	if err := db.DeleteSubscription(ctx, ws.ID, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Subscription(ctx, ws.ID, s.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("after delete: err = %v", err)
	}
}

func testSubscriptionRecordPoll(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	s := newSubscription(ws.ID, time.Now())
	if err := db.CreateSubscription(ctx, s); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	s.State, s.LastError, s.ETag, s.LastPolledAt = calgate.SubscriptionError, "HTTP 500", `"v1"`, &at
	s.LastResult = calgate.PollCounts{Events: 3, Created: 2, Transparent: 1}
	s.Resource = "not written by RecordPoll"
	if err := db.RecordPoll(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := db.Subscription(ctx, ws.ID, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != calgate.SubscriptionError || got.LastError != "HTTP 500" || got.ETag != `"v1"` || got.LastPolledAt == nil ||
		!got.LastPolledAt.Equal(at) || got.LastSuccessAt != nil || got.LastResult != s.LastResult || got.Resource != "cabin-1" {
		t.Fatalf("got %+v", got)
	}
}

func testSubscriptionClaimOnce(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	now := time.Now().UTC()
	due := newSubscription(ws.ID, now.Add(-time.Minute))
	later := newSubscription(ws.ID, now.Add(time.Hour))
	for _, s := range []*calgate.Subscription{due, later} {
		if err := db.CreateSubscription(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var claims []*calgate.Subscription
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := db.ClaimDueSubscriptions(ctx, now, now.Add(5*time.Minute), 10)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			claims = append(claims, got...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(claims) != 1 || claims[0].ID != due.ID || !claims[0].NextPollAt.Equal(due.NextPollAt) {
		t.Fatalf("claims = %+v, want only %s once with its due time", claims, due.ID)
	}
	got, err := db.Subscription(ctx, ws.ID, due.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := dbTime(now.Add(5 * time.Minute)); !got.NextPollAt.Equal(want) {
		t.Fatalf("next poll = %s, want the end of the lease %s", got.NextPollAt, want)
	}
	if again, err := db.ClaimDueSubscriptions(ctx, now, now.Add(5*time.Minute), 10); err != nil || len(again) != 0 {
		t.Fatalf("second sweep claimed %d (%v)", len(again), err)
	}
	// A poll that never ran (its job was lost) comes due when the lease
	// ends, with the lease's end as its due time.
	lost, err := db.ClaimDueSubscriptions(ctx, now.Add(5*time.Minute), now.Add(10*time.Minute), 10)
	if err != nil || len(lost) != 1 || lost[0].ID != due.ID || !lost[0].NextPollAt.Equal(dbTime(now.Add(5*time.Minute))) {
		t.Fatalf("claim after the lease = %+v, %v", lost, err)
	}
}

// testPullClaimLease claims a due pull, loses its run (no FinishPullRun),
// and sees it come due again when the lease ends; a finished run schedules
// the next one.
func testPullClaimLease(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	now := time.Now().UTC().Truncate(time.Microsecond)
	p := &calgate.PullImport{ID: calgate.NewID("pull"), WorkspaceID: ws.ID, Name: "erp", URL: "https://example.com/x.csv",
		Template: "planyo", Mode: "upsert", Schedule: "@hourly", NextRunAt: now.Add(-time.Minute), CreatedAt: now, UpdatedAt: now}
	if err := db.CreatePullImport(ctx, p); err != nil {
		t.Fatal(err)
	}
	lease := now.Add(5 * time.Minute)
	got, err := db.ClaimDuePullImports(ctx, now, lease, 10)
	if err != nil || len(got) != 1 || !got[0].NextRunAt.Equal(p.NextRunAt) {
		t.Fatalf("claim = %+v, %v; want the pull with its due time", got, err)
	}
	if again, err := db.ClaimDuePullImports(ctx, now.Add(time.Minute), lease, 10); err != nil || len(again) != 0 {
		t.Fatalf("claimed again within the lease: %d, %v", len(again), err)
	}
	lost, err := db.ClaimDuePullImports(ctx, lease, lease.Add(5*time.Minute), 10)
	if err != nil || len(lost) != 1 {
		t.Fatalf("claim after the lease = %d, %v; want the lost run claimed again", len(lost), err)
	}
	run := &calgate.PullRun{ID: calgate.NewID("run"), PullID: p.ID, WorkspaceID: ws.ID, StartedAt: lease, FinishedAt: lease, Status: calgate.PullRunOK}
	next := lease.Add(time.Hour)
	if err := db.FinishPullRun(ctx, run, next); err != nil {
		t.Fatal(err)
	}
	cur, err := db.PullImport(ctx, ws.ID, p.ID)
	if err != nil || !cur.NextRunAt.Equal(dbTime(next)) {
		t.Fatalf("next run after finishing = %v, %v; want %s", cur.NextRunAt, err, next)
	}
}
