package store

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

func TestWebhookStore(t *testing.T) {
	engines := []struct {
		name string
		open func(testing.TB) *DB
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}}
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				run  func(t *testing.T, db *DB)
			}{
				{"RepeatedEventCreatesNoSecondDelivery", testRepeatedEventCreatesNoSecondDelivery},
				{"ClaimIsTakenOnce", testClaimIsTakenOnce},
				{"AttemptsAreLoggedAndStreakKept", testAttemptsAreLogged},
				{"OtherWorkspacesSeeNothing", testWebhookWorkspaceIsolation},
				{"SuccessesAreRecordedTogether", testSuccessesRecordedTogether},
			} {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, eng.open(t)) })
			}
		})
	}
}

func newWebhook(t *testing.T, db *DB, ws string, events ...string) *calgate.Webhook {
	t.Helper()
	now := time.Now()
	w := &calgate.Webhook{ID: calgate.NewID("wh"), WorkspaceID: ws, URL: "https://hooks.example.com/x", Events: events,
		Secrets: []calgate.WebhookSecret{{Sealed: "sealed"}}, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	return w
}

func testEvent(ws string, id int64) *calgate.Event {
	return &calgate.Event{ID: id, WorkspaceID: ws, Type: calgate.EventEntryCreated, CreatedAt: time.Now()}
}

func createDeliveries(t *testing.T, db *DB, ev *calgate.Event, lease time.Time) []*calgate.Delivery {
	t.Helper()
	list, err := db.CreateDeliveries(ctx, ev, func(w *calgate.Webhook) bool { return w.MatchesType(ev.Type) },
		func() (json.RawMessage, error) { return json.RawMessage(`{"type":"entry.created"}`), nil }, lease)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func testRepeatedEventCreatesNoSecondDelivery(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	newWebhook(t, db, ws.ID, "entry.*")
	newWebhook(t, db, ws.ID, "entry.cancelled")
	off := newWebhook(t, db, ws.ID, "*")
	off.Disabled = true
	if err := db.UpdateWebhook(ctx, off); err != nil {
		t.Fatal(err)
	}
	if got := createDeliveries(t, db, testEvent(ws.ID, 7), time.Now()); len(got) != 1 {
		t.Fatalf("created %d deliveries, want 1 (one endpoint matches, one is disabled)", len(got))
	}
	if got := createDeliveries(t, db, testEvent(ws.ID, 7), time.Now()); len(got) != 0 {
		t.Fatalf("the repeated event created %d deliveries, want 0", len(got))
	}
}

func testClaimIsTakenOnce(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	newWebhook(t, db, ws.ID, "*")
	d := createDeliveries(t, db, testEvent(ws.ID, 1), time.Now().Add(-time.Second))[0]
	now := time.Now().Add(time.Second)
	if _, err := db.ClaimDelivery(ctx, d.ID, now, now.Add(time.Minute)); err != nil {
		t.Fatalf("first claim: %v", err)
	}
	if _, err := db.ClaimDelivery(ctx, d.ID, now, now.Add(time.Minute)); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("second claim = %v, want ErrNotFound", err)
	}
	if due, _ := db.DueDeliveries(ctx, now.Add(time.Hour), 10); len(due) != 0 {
		t.Fatalf("a claimed delivery is listed as due")
	}
	if err := db.ReleaseDelivery(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if due, _ := db.DueDeliveries(ctx, now.Add(time.Hour), 10); len(due) != 1 || due[0].ID != d.ID {
		t.Fatalf("a released delivery is not due: %v", due)
	}
}

func testAttemptsAreLogged(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	w := newWebhook(t, db, ws.ID, "*")
	d := createDeliveries(t, db, testEvent(ws.ID, 1), time.Now())[0]
	first := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	next := time.Now().Add(time.Minute)
	d.Attempts, d.NextAttemptAt = 1, &next
	since, err := db.RecordAttempt(ctx, d, &calgate.DeliveryAttempt{At: first, StatusCode: 500, Latency: 3 * time.Millisecond, Error: "endpoint answered 500", Response: "boom", RetryIn: time.Minute}, calgate.EndpointChange{})
	if err != nil || since == nil || !since.Equal(first) {
		t.Fatalf("failing since = %v, %v; want %v", since, err, first)
	}
	d.Attempts, d.Status, d.NextAttemptAt = 2, calgate.DeliverySucceeded, nil
	if _, err := db.RecordAttempt(ctx, d, &calgate.DeliveryAttempt{At: time.Now(), StatusCode: 204}, calgate.EndpointChange{Succeeded: true, ResetStreak: true}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Webhook(ctx, ws.ID, w.ID)
	if err != nil || got.FailingSince != nil {
		t.Fatalf("after a success failing_since = %v, %v; want none", got.FailingSince, err)
	}
	list, _, err := db.Deliveries(ctx, ws.ID, w.ID, calgate.DeliveryFilter{Status: calgate.DeliverySucceeded})
	if err != nil || len(list) != 1 || len(list[0].Log) != 2 {
		t.Fatalf("deliveries = %v, %v", list, err)
	}
	a := list[0].Log[0]
	if a.StatusCode != 500 || a.Response != "boom" || a.Latency != 3*time.Millisecond || a.RetryIn != time.Minute || !a.At.Equal(first) {
		t.Errorf("first attempt = %+v", a)
	}
}

func testWebhookWorkspaceIsolation(t *testing.T, db *DB) {
	a, b := newWorkspace(t, db, "a"), newWorkspace(t, db, "b")
	w := newWebhook(t, db, a.ID, "*")
	d := createDeliveries(t, db, testEvent(a.ID, 1), time.Now())[0]
	if _, err := db.Webhook(ctx, b.ID, w.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("Webhook from b = %v", err)
	}
	if err := db.DeleteWebhook(ctx, b.ID, w.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("DeleteWebhook from b = %v", err)
	}
	if _, err := db.RetryDelivery(ctx, b.ID, w.ID, d.ID, time.Now()); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("RetryDelivery from b = %v", err)
	}
	if list, _, _ := db.Deliveries(ctx, b.ID, w.ID, calgate.DeliveryFilter{}); len(list) != 0 {
		t.Errorf("b sees %d deliveries", len(list))
	}
	if list, _, _ := db.Webhooks(ctx, b.ID, "", 0); len(list) != 0 {
		t.Errorf("b sees %d webhooks", len(list))
	}
	if createDeliveries(t, db, testEvent(b.ID, 2), time.Now()) != nil {
		t.Errorf("an event of b made deliveries to a's endpoint")
	}
}

func testSuccessesRecordedTogether(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	w1, w2 := newWebhook(t, db, ws.ID, "*"), newWebhook(t, db, ws.ID, "*")
	list := createDeliveries(t, db, testEvent(ws.ID, 1), time.Now().Add(time.Minute))
	attempts := make([]*calgate.DeliveryAttempt, len(list))
	for i, d := range list {
		d.Attempts = i + 1
		attempts[i] = &calgate.DeliveryAttempt{At: time.Now(), StatusCode: 200 + i, Latency: time.Millisecond, Response: "ok"}
	}
	if err := db.RecordSuccesses(ctx, list, attempts); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*calgate.Webhook{w1, w2} {
		got, _, err := db.Deliveries(ctx, ws.ID, w.ID, calgate.DeliveryFilter{Status: calgate.DeliverySucceeded})
		if err != nil || len(got) != 1 || len(got[0].Log) != 1 || got[0].NextAttemptAt != nil {
			t.Fatalf("deliveries of %s = %+v, %v", w.ID, got, err)
		}
	}
	if due, _ := db.DueDeliveries(ctx, time.Now().Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("%d succeeded deliveries are due", len(due))
	}
}
