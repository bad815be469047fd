package main

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	calgate "github.com/calgate/calgate"
)

// CALGATE_WEBHOOK_RETENTION reaches the delivery log's purge: with one
// hour, a message that succeeded two hours ago goes and one of a minute
// ago stays (the default, 30 days, would keep both).
func TestWebhookRetentionSettingReachesThePurge(t *testing.T) {
	t.Setenv("CALGATE_WEBHOOK_RETENTION", "1h")
	cfg := testConfig(t)
	ctx := context.Background()
	a, err := openApp(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if err := a.bootstrap(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	ws, err := ensureWorkspace(ctx, a.store, "retention", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	w := &calgate.Webhook{ID: calgate.NewID("wh"), WorkspaceID: ws.ID, URL: "https://hooks.example.com/x", Events: []string{"*"},
		Secrets: []calgate.WebhookSecret{{Sealed: a.vault.Seal([]byte("whsec"))}}, CreatedAt: now, UpdatedAt: now}
	if err := a.store.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	evs := []*calgate.Event{
		{ID: 1, WorkspaceID: ws.ID, Type: calgate.EventEntryCreated, CreatedAt: now.Add(-2 * time.Hour)},
		{ID: 2, WorkspaceID: ws.ID, Type: calgate.EventEntryCreated, CreatedAt: now.Add(-time.Minute)},
	}
	list, err := a.store.PlanDeliveries(ctx, evs, func(*calgate.Webhook, *calgate.Event) bool { return true },
		func(*calgate.Event) (json.RawMessage, error) { return json.RawMessage(`{}`), nil })
	if err != nil || len(list) != 2 {
		t.Fatalf("planned %d, %v", len(list), err)
	}
	for _, d := range list {
		d.Attempts = 1
	}
	if err := a.store.RecordSuccesses(ctx, list, []*calgate.DeliveryAttempt{{At: now, StatusCode: 204}, {At: now, StatusCode: 204}}); err != nil {
		t.Fatal(err)
	}
	if err := a.parts.webhooks.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	left, _, err := a.store.Deliveries(ctx, ws.ID, w.ID, calgate.DeliveryFilter{})
	if err != nil || len(left) != 1 || left[0].EventID != 2 {
		t.Fatalf("left %+v (%v), want the message of a minute ago alone", left, err)
	}
}
