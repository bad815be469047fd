package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
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
				{"ABatchOfEventsCreatesItsDeliveriesTogether", testBatchDeliveries},
				{"EndpointDeliveriesAreClaimedOnce", testEndpointClaims},
				{"AnEventsBodyIsStoredOnce", testBodyStoredOncePerEvent},
				{"DeliveriesWrittenWithTheirOwnBodyStayReadable", testDeliveriesWithTheirOwnBody},
				{"FirstAttemptsWriteTheirDeliveries", testFirstAttemptsWriteTheirDeliveries},
				{"TheDeliveryLogIsPurgedAfterItsRetention", testDeliveryLogPurge},
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
	list, err := db.CreateDeliveries(ctx, []*calgate.Event{ev}, func(w *calgate.Webhook, ev *calgate.Event) bool { return w.MatchesType(ev.Type) },
		func(*calgate.Event) (json.RawMessage, error) { return json.RawMessage(`{"type":"entry.created"}`), nil }, lease)
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

func testBatchDeliveries(t *testing.T, db *DB) {
	a, b := newWorkspace(t, db, "a"), newWorkspace(t, db, "b")
	wa1, wa2 := newWebhook(t, db, a.ID, "*"), newWebhook(t, db, a.ID, "entry.*")
	wb := newWebhook(t, db, b.ID, "entry.cancelled")
	evs := []*calgate.Event{testEvent(a.ID, 1), testEvent(b.ID, 2), testEvent(a.ID, 3)}
	evs[1].Type = calgate.EventEntryCancelled
	bodies := 0
	got, err := db.CreateDeliveries(ctx, evs, func(w *calgate.Webhook, ev *calgate.Event) bool { return w.MatchesType(ev.Type) },
		func(ev *calgate.Event) (json.RawMessage, error) { bodies++; return json.RawMessage(`{}`), nil }, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	type pair struct {
		event int64
		hook  string
	}
	var pairs []pair
	for _, d := range got {
		pairs = append(pairs, pair{d.EventID, d.WebhookID})
	}
	first, second := wa1.ID, wa2.ID
	if second < first {
		first, second = second, first
	}
	want := []pair{{1, first}, {1, second}, {2, wb.ID}, {3, first}, {3, second}}
	if len(pairs) != len(want) {
		t.Fatalf("deliveries %v, want %v", pairs, want)
	}
	for i := range want {
		if pairs[i] != want[i] {
			t.Fatalf("deliveries %v, want %v (in event order, endpoints by id)", pairs, want)
		}
	}
	if bodies != 3 {
		t.Errorf("built %d bodies for 3 events", bodies)
	}
	if again, err := db.CreateDeliveries(ctx, evs, func(*calgate.Webhook, *calgate.Event) bool { return true },
		func(*calgate.Event) (json.RawMessage, error) { return json.RawMessage(`{}`), nil }, time.Now()); err != nil || len(again) != 0 {
		t.Fatalf("the repeated batch created %d deliveries (%v), want none", len(again), err)
	}
}

func testEndpointClaims(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	w := newWebhook(t, db, ws.ID, "*")
	other := newWebhook(t, db, ws.ID, "*")
	var evs []*calgate.Event
	for i := range 30 {
		evs = append(evs, testEvent(ws.ID, int64(i+1)))
	}
	// Created unclaimed (a lease in the past), due now.
	if _, err := db.CreateDeliveries(ctx, evs, func(x *calgate.Webhook, _ *calgate.Event) bool { return x.ID == w.ID || x.ID == other.ID },
		func(*calgate.Event) (json.RawMessage, error) { return json.RawMessage(`{}`), nil }, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if owing, err := db.EndpointsOwingDeliveries(ctx, time.Now().Add(time.Second), 10); err != nil || len(owing) != 2 {
		t.Fatalf("endpoints owing = %v, %v; want both", owing, err)
	}
	now := time.Now().Add(time.Second)
	claimed := map[string]int{}
	var last int64
	for {
		page, err := db.ClaimEndpointDeliveries(ctx, w.ID, now, now.Add(time.Minute), 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, d := range page {
			if d.WebhookID != w.ID {
				t.Fatalf("claimed %s of another endpoint", d.ID)
			}
			if d.EventID < last {
				t.Errorf("event %d claimed after %d: not oldest first", d.EventID, last)
			}
			last = d.EventID
			claimed[d.ID]++
		}
	}
	if len(claimed) != 30 {
		t.Fatalf("claimed %d of 30 deliveries", len(claimed))
	}
	ids := make([]string, 0, len(claimed))
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("%s claimed %d times", id, n)
		}
		ids = append(ids, id)
	}
	if owing, _ := db.EndpointsOwingDeliveries(ctx, now, 10); len(owing) != 1 || owing[0] != other.ID {
		t.Fatalf("endpoints owing after the claim = %v, want only the other one", owing)
	}
	if err := db.ReleaseDeliveries(ctx, ids[:5]); err != nil {
		t.Fatal(err)
	}
	if page, _ := db.ClaimEndpointDeliveries(ctx, w.ID, now, now.Add(time.Minute), 100); len(page) != 5 {
		t.Fatalf("after releasing 5, claimed %d", len(page))
	}
}

func testBodyStoredOncePerEvent(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	w1, w2, w3 := newWebhook(t, db, ws.ID, "*"), newWebhook(t, db, ws.ID, "*"), newWebhook(t, db, ws.ID, "*")
	evs := []*calgate.Event{testEvent(ws.ID, 41), testEvent(ws.ID, 42)}
	body := func(ev *calgate.Event) (json.RawMessage, error) {
		return json.RawMessage(fmt.Sprintf(`{"type":"entry.created","data":{"event":%d}}`, ev.ID)), nil
	}
	all := func(*calgate.Webhook, *calgate.Event) bool { return true }
	only3 := func(w *calgate.Webhook, _ *calgate.Event) bool { return w.ID != w3.ID }
	created, err := db.CreateDeliveries(ctx, evs, only3, body, time.Now().Add(-time.Second))
	if err != nil || len(created) != 4 {
		t.Fatalf("created %d deliveries (%v), want 4", len(created), err)
	}
	var stored int
	if err := db.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_payloads WHERE event_id IN (41, 42)`).Scan(&stored); err != nil || stored != 2 {
		t.Fatalf("%d bodies stored for 2 events (%v), want one each", stored, err)
	}
	// A later run of the same events (a third endpoint now matches) keeps
	// the stored body, even though this run would build another.
	created, err = db.CreateDeliveries(ctx, evs, all, func(*calgate.Event) (json.RawMessage, error) {
		return json.RawMessage(`{"type":"entry.created","data":{"rebuilt":true}}`), nil
	}, time.Now().Add(-time.Second))
	if err != nil || len(created) != 2 {
		t.Fatalf("the second run created %d deliveries (%v), want 2 (the third endpoint's)", len(created), err)
	}
	for _, d := range created {
		if want := fmt.Sprintf(`{"type":"entry.created","data":{"event":%d}}`, d.EventID); string(d.Payload) != want {
			t.Errorf("the second run's delivery %s carries %s, want the stored %s", d.ID, d.Payload, want)
		}
	}
	for _, w := range []*calgate.Webhook{w1, w2, w3} {
		list, _, err := db.Deliveries(ctx, ws.ID, w.ID, calgate.DeliveryFilter{})
		if err != nil || len(list) != 2 {
			t.Fatalf("deliveries of %s = %d, %v; want 2", w.ID, len(list), err)
		}
		for _, d := range list {
			if want := fmt.Sprintf(`{"type":"entry.created","data":{"event":%d}}`, d.EventID); string(d.Payload) != want {
				t.Errorf("listed delivery %s carries %s, want %s", d.ID, d.Payload, want)
			}
		}
		now := time.Now()
		claimed, err := db.ClaimEndpointDeliveries(ctx, w.ID, now, now.Add(time.Minute), 10)
		if err != nil || len(claimed) != 2 {
			t.Fatalf("claimed %d deliveries of %s (%v), want 2", len(claimed), w.ID, err)
		}
		for _, d := range claimed {
			if want := fmt.Sprintf(`{"type":"entry.created","data":{"event":%d}}`, d.EventID); string(d.Payload) != want {
				t.Errorf("claimed delivery %s carries %s, want %s", d.ID, d.Payload, want)
			}
		}
	}
}

// testDeliveriesWithTheirOwnBody reads a delivery as releases before
// bodies were stored per event wrote it: the body in its own row.
func testDeliveriesWithTheirOwnBody(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	w := newWebhook(t, db, ws.ID, "*")
	past := dbTime(time.Now().Add(-time.Minute))
	const body = `{"type":"entry.updated","data":{"legacy":true}}`
	if _, err := db.w.ExecContext(ctx, db.d.rebind(`INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, type, payload,
		status, attempts, next_attempt_at, created_at, updated_at) VALUES (?,?,?,?,?,?,'pending',0,?,?,?)`),
		"msg_legacy", w.ID, ws.ID, 9, "entry.updated", body, db.d.timeArg(past), db.d.timeArg(past), db.d.timeArg(past)); err != nil {
		t.Fatal(err)
	}
	list, _, err := db.Deliveries(ctx, ws.ID, w.ID, calgate.DeliveryFilter{})
	if err != nil || len(list) != 1 || string(list[0].Payload) != body {
		t.Fatalf("listed %v (%v), want the delivery with its own body", list, err)
	}
	now := time.Now()
	d, err := db.ClaimDelivery(ctx, "msg_legacy", now, now.Add(time.Minute))
	if err != nil || string(d.Payload) != body {
		t.Fatalf("claimed %v (%v), want the delivery with its own body", d, err)
	}
}

func planDeliveries(t *testing.T, db *DB, evs ...*calgate.Event) []*calgate.Delivery {
	t.Helper()
	list, err := db.PlanDeliveries(ctx, evs, func(w *calgate.Webhook, ev *calgate.Event) bool { return w.MatchesType(ev.Type) },
		func(*calgate.Event) (json.RawMessage, error) { return json.RawMessage(`{"type":"entry.created"}`), nil })
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// A batch's deliveries are written with the outcome of their first
// attempts, once each, with ids that every run of the batch gives alike;
// those not attempted are written pending for a send job.
func testFirstAttemptsWriteTheirDeliveries(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	w1, w2 := newWebhook(t, db, ws.ID, "*"), newWebhook(t, db, ws.ID, "*")
	ev := testEvent(ws.ID, 1)
	planned := planDeliveries(t, db, ev)
	if len(planned) != 2 {
		t.Fatalf("planned %d deliveries, want 2", len(planned))
	}
	for _, d := range planned {
		if !d.New || d.ID != calgate.DeliveryID(d.WebhookID, ev.ID, ev.CreatedAt) || string(d.Payload) != `{"type":"entry.created"}` {
			t.Fatalf("planned %+v", d)
		}
	}
	if got, _, _ := db.Deliveries(ctx, ws.ID, w1.ID, calgate.DeliveryFilter{}); len(got) != 0 {
		t.Fatalf("planning wrote %d deliveries", len(got))
	}
	again := planDeliveries(t, db, ev)
	if len(again) != 2 || again[0].ID != planned[0].ID || again[1].ID != planned[1].ID {
		t.Fatalf("a second run planned %+v, want the same ids", again)
	}
	byHook := map[string]*calgate.Delivery{}
	for _, d := range planned {
		byHook[d.WebhookID] = d
	}
	ok, failed := byHook[w1.ID], byHook[w2.ID]
	ok.Attempts = 1
	if err := db.RecordSuccesses(ctx, []*calgate.Delivery{ok}, []*calgate.DeliveryAttempt{{At: time.Now(), StatusCode: 204, Latency: time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	next := time.Now().Add(time.Minute)
	failed.Attempts, failed.NextAttemptAt = 1, &next
	if _, err := db.RecordAttempt(ctx, failed, &calgate.DeliveryAttempt{At: time.Now(), StatusCode: 500, Error: "endpoint answered 500", RetryIn: time.Minute},
		calgate.EndpointChange{}); err != nil {
		t.Fatal(err)
	}
	got, _, err := db.Deliveries(ctx, ws.ID, w1.ID, calgate.DeliveryFilter{})
	if err != nil || len(got) != 1 || got[0].ID != ok.ID || got[0].Status != calgate.DeliverySucceeded || got[0].Attempts != 1 || len(got[0].Log) != 1 ||
		string(got[0].Payload) != `{"type":"entry.created"}` {
		t.Fatalf("the success: %+v, %v", got, err)
	}
	got, _, err = db.Deliveries(ctx, ws.ID, w2.ID, calgate.DeliveryFilter{})
	if err != nil || len(got) != 1 || got[0].Status != calgate.DeliveryPending || got[0].NextAttemptAt == nil || len(got[0].Log) != 1 || got[0].Log[0].StatusCode != 500 {
		t.Fatalf("the failure: %+v, %v", got, err)
	}
	if due, _ := db.DueDeliveries(ctx, next.Add(time.Second), 10); len(due) != 1 || due[0].ID != failed.ID {
		t.Fatalf("due = %+v, want the failed delivery", due)
	}
	if left := planDeliveries(t, db, ev); len(left) != 0 {
		t.Fatalf("a run after the attempts planned %d deliveries, want none", len(left))
	}
	// Another run of the same batch recorded its success meanwhile: the
	// first write stands, once.
	ev2 := testEvent(ws.ID, 2)
	runA, runB := planDeliveries(t, db, ev2), planDeliveries(t, db, ev2)
	attempt := func() []*calgate.DeliveryAttempt {
		return []*calgate.DeliveryAttempt{{At: time.Now(), StatusCode: 200}, {At: time.Now(), StatusCode: 200}}
	}
	if err := db.RecordSuccesses(ctx, runA, attempt()); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordSuccesses(ctx, runB, attempt()); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*calgate.Webhook{w1, w2} {
		got, _, _ := db.Deliveries(ctx, ws.ID, w.ID, calgate.DeliveryFilter{Status: calgate.DeliverySucceeded})
		n := 0
		for _, d := range got {
			if d.EventID == 2 {
				n++
				if len(d.Log) != 1 {
					t.Fatalf("event 2 to %s logged %d attempts, want 1", w.ID, len(d.Log))
				}
			}
		}
		if n != 1 {
			t.Fatalf("event 2 to %s: %d deliveries, want 1", w.ID, n)
		}
	}
	// Not attempted: written pending and unclaimed, for a send job.
	ev3 := testEvent(ws.ID, 3)
	rest := planDeliveries(t, db, ev3)
	if err := db.StoreDeliveries(ctx, rest); err != nil {
		t.Fatal(err)
	}
	claimed, err := db.ClaimEndpointDeliveries(ctx, w1.ID, time.Now().Add(time.Second), time.Now().Add(time.Minute), 10)
	if err != nil || len(claimed) != 1 || claimed[0].EventID != 3 || claimed[0].ID != calgate.DeliveryID(w1.ID, 3, ev3.CreatedAt) {
		t.Fatalf("claimed %+v, %v; want event 3's delivery", claimed, err)
	}
	if left := planDeliveries(t, db, ev3); len(left) != 0 {
		t.Fatalf("a run after the hand-over planned %d deliveries, want none", len(left))
	}
}

// CreateDeliveries writes, as claimed until leaseUntil, a delivery of each
// event for every enabled endpoint of its workspace that match accepts
// (PlanDeliveries), and returns the new ones in the order of the events:
// the deliveries of a batch as a send job finds them.
func (db *DB) CreateDeliveries(ctx context.Context, evs []*calgate.Event, match func(*calgate.Webhook, *calgate.Event) bool,
	payload func(*calgate.Event) (json.RawMessage, error), leaseUntil time.Time) ([]*calgate.Delivery, error) {
	list, err := db.PlanDeliveries(ctx, evs, match, payload)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return db.writeDeliveries(ctx, list, &leaseUntil)
}

// The purge deletes final deliveries older than its time with their
// attempts, and the bodies of events that old that no delivery refers to
// and the webhooks destination no longer owes; pending deliveries, bodies
// they or an owed event need, and anything younger stay.
func testDeliveryLogPurge(t *testing.T, db *DB) {
	// Chunks of two: every purge takes several transactions.
	defer func(n int) { purgeChunk = n }(purgeChunk)
	purgeChunk = 2
	ws := newWorkspace(t, db, "a")
	w1, w2 := newWebhook(t, db, ws.ID, "*"), newWebhook(t, db, ws.ID, "*")
	const dest = "webhooks"
	if err := db.InitCursors(ctx, []string{dest}); err != nil {
		t.Fatal(err)
	}
	writeReservations(t, db, ws.ID, "a", 3)
	settled, err := db.OpenBatches(ctx, []string{dest}, 100, time.Now())
	if err != nil || len(settled) != 1 {
		t.Fatalf("open = %v, %v", settled, err)
	}
	if _, err := db.CompleteBatch(ctx, settled[0], nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	writeReservations(t, db, ws.ID, "b", 1)
	owed, err := db.OpenBatches(ctx, []string{dest}, 100, time.Now())
	if err != nil || len(owed) != 1 {
		t.Fatalf("open = %v, %v", owed, err)
	}
	// e5 is sequenced but not yet cut into a batch of the destination.
	writeReservations(t, db, ws.ID, "c", 1)
	if _, err := db.Sequence(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := db.Events(ctx, ws.ID, calgate.EventFilter{Limit: 10})
	if err != nil || len(evs) != 5 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	e1, e2, e3, e4, e5 := evs[0], evs[1], evs[2], evs[3], evs[4]
	at := func(*calgate.Delivery) *calgate.DeliveryAttempt {
		return &calgate.DeliveryAttempt{At: time.Now(), StatusCode: 204, Latency: time.Millisecond}
	}
	of := map[[2]string]*calgate.Delivery{}
	for _, d := range planDeliveries(t, db, e1, e2, e3, e4, e5) {
		of[[2]string{d.WebhookID, strconv.FormatInt(d.EventID, 10)}] = d
	}
	get := func(w *calgate.Webhook, ev *calgate.Event) *calgate.Delivery {
		return of[[2]string{w.ID, strconv.FormatInt(ev.ID, 10)}]
	}
	// e1: one success, one pending; e2: one success, one failed; e3: no
	// delivery written (its endpoints' messages gone); e4 (owed) and e5
	// (not yet in a batch): both successes.
	var successes []*calgate.Delivery
	var attempts []*calgate.DeliveryAttempt
	for _, d := range []*calgate.Delivery{get(w1, e1), get(w2, e2), get(w1, e4), get(w2, e4), get(w1, e5), get(w2, e5)} {
		d.Attempts = 1
		successes, attempts = append(successes, d), append(attempts, at(d))
	}
	if err := db.RecordSuccesses(ctx, successes, attempts); err != nil {
		t.Fatal(err)
	}
	pending := get(w2, e1)
	if err := db.StoreDeliveries(ctx, []*calgate.Delivery{pending}); err != nil {
		t.Fatal(err)
	}
	failed := get(w1, e2)
	failed.Attempts, failed.Status = 8, calgate.DeliveryFailed
	if _, err := db.RecordAttempt(ctx, failed, &calgate.DeliveryAttempt{At: time.Now(), StatusCode: 500, Error: "endpoint answered 500"}, calgate.EndpointChange{}); err != nil {
		t.Fatal(err)
	}

	// Two workers purge at once: between them, each row goes once.
	purge := func(before time.Time, wantDeliveries, wantBodies int) {
		t.Helper()
		var deliveries, bodies atomic.Int64
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := db.PurgeDeliveries(ctx, before)
				if err != nil {
					t.Error(err)
				}
				deliveries.Add(int64(n))
				n, err = db.PurgePayloads(ctx, dest, before)
				if err != nil {
					t.Error(err)
				}
				bodies.Add(int64(n))
			}()
		}
		wg.Wait()
		if deliveries.Load() != int64(wantDeliveries) || bodies.Load() != int64(wantBodies) {
			t.Fatalf("purged %d deliveries and %d bodies, want %d and %d", deliveries.Load(), bodies.Load(), wantDeliveries, wantBodies)
		}
	}
	count := func(query string) int {
		t.Helper()
		var n int
		if err := db.Reader().QueryRowContext(ctx, query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	bodies := func() []int64 {
		t.Helper()
		rows, err := db.Reader().QueryContext(ctx, `SELECT event_id FROM webhook_payloads ORDER BY event_id`)
		if err != nil {
			t.Fatal(err)
		}
		list, err := scanAll(rows, func(r scanner) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}

	// Younger than the retention: nothing goes.
	purge(time.Now().Add(-time.Hour), 0, 0)
	if n := count(`SELECT count(*) FROM webhook_deliveries`); n != 8 {
		t.Fatalf("%d deliveries left, want 8", n)
	}
	// Older: the final deliveries go with their attempts; the pending one
	// stays, with its body; e2's and e3's bodies go, e4's and e5's (owed)
	// stay.
	later := time.Now().Add(time.Hour)
	purge(later, 7, 2)
	if got, _, err := db.Deliveries(ctx, ws.ID, w2.ID, calgate.DeliveryFilter{}); err != nil || len(got) != 1 || got[0].ID != pending.ID ||
		string(got[0].Payload) != `{"type":"entry.created"}` {
		t.Fatalf("left of the second endpoint: %+v, %v; want the pending delivery with its body", got, err)
	}
	if got, _, _ := db.Deliveries(ctx, ws.ID, w1.ID, calgate.DeliveryFilter{}); len(got) != 0 {
		t.Fatalf("left of the first endpoint: %+v, want nothing", got)
	}
	if n := count(`SELECT count(*) FROM webhook_attempts`); n != 0 {
		t.Fatalf("%d attempts left, want none", n)
	}
	if got := bodies(); !slices.Equal(got, []int64{e1.ID, e4.ID, e5.ID}) {
		t.Fatalf("bodies of events %v left, want %v", got, []int64{e1.ID, e4.ID, e5.ID})
	}
	// The pending delivery is sent, and e4's batch done: the rest goes but
	// e5's body.
	claimed, err := db.ClaimDelivery(ctx, pending.ID, time.Now(), time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	claimed.Attempts, claimed.Status = 1, calgate.DeliverySucceeded
	if _, err := db.RecordAttempt(ctx, claimed, at(claimed), calgate.EndpointChange{Succeeded: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CompleteBatch(ctx, owed[0], nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	purge(later, 1, 2)
	if got := bodies(); !slices.Equal(got, []int64{e5.ID}) || count(`SELECT count(*) FROM webhook_deliveries`) != 0 {
		t.Fatalf("bodies %v and %d deliveries left, want e5's body alone", got, count(`SELECT count(*) FROM webhook_deliveries`))
	}
}
