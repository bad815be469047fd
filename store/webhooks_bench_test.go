package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// BenchmarkWebhookFanout measures the database's share of a webhook
// fan-out: an outbox batch of 256 events to 8 endpoints (2,048
// deliveries, each event's body about 2 KB) planned (the bodies stored),
// then every delivery written with its successful first attempt in groups
// of 64 as the sender writes them. It reports the time of each part per
// delivery (create_us: the plan).
func BenchmarkWebhookFanout(b *testing.B) {
	const events, endpoints, group = 256, 8, 64
	for _, eng := range benchEngines {
		b.Run(eng.name, func(b *testing.B) {
			db := eng.open(b)
			ws := benchWorkspace(b, db, "fanout", "UTC")
			for i := range endpoints {
				now := time.Now()
				w := &calgate.Webhook{ID: calgate.NewID("wh"), WorkspaceID: ws.ID, URL: fmt.Sprintf("https://hooks%d.example.com/in", i),
					Events: []string{"entry.*"}, Secrets: []calgate.WebhookSecret{{Sealed: "sealed"}}, CreatedAt: now, UpdatedAt: now}
				if err := db.CreateWebhook(ctx, w); err != nil {
					b.Fatal(err)
				}
			}
			body := func(ev *calgate.Event) (json.RawMessage, error) {
				var notes strings.Builder
				for i := range 40 {
					fmt.Fprintf(&notes, "step %d of job %d at station %d; ", i, ev.ID, (ev.ID*7+int64(i))%97)
				}
				return json.Marshal(map[string]any{"type": "entry.created", "timestamp": ev.CreatedAt,
					"data": map[string]any{"entry": map[string]any{"external_id": fmt.Sprintf("job-%d", ev.ID), "notes": notes.String()}}})
			}
			all := func(*calgate.Webhook, *calgate.Event) bool { return true }
			next := int64(1)
			var create, record time.Duration
			for b.Loop() {
				evs := make([]*calgate.Event, events)
				for i := range evs {
					evs[i] = &calgate.Event{ID: next, WorkspaceID: ws.ID, Type: calgate.EventEntryCreated, CreatedAt: time.Now()}
					next++
				}
				began := time.Now()
				list, err := db.PlanDeliveries(ctx, evs, all, body)
				if err != nil || len(list) != events*endpoints {
					b.Fatalf("created %d deliveries (%v), want %d", len(list), err, events*endpoints)
				}
				created := time.Now()
				for start := 0; start < len(list); start += group {
					part := list[start:min(start+group, len(list))]
					attempts := make([]*calgate.DeliveryAttempt, len(part))
					for i, d := range part {
						d.Attempts = 1
						attempts[i] = &calgate.DeliveryAttempt{At: time.Now(), StatusCode: 204, Latency: time.Millisecond}
					}
					if err := db.RecordSuccesses(ctx, part, attempts); err != nil {
						b.Fatal(err)
					}
				}
				create += created.Sub(began)
				record += time.Since(created)
			}
			perDelivery := func(d time.Duration) float64 {
				return float64(d.Microseconds()) / float64(b.N*events*endpoints)
			}
			b.ReportMetric(perDelivery(create), "create_us/delivery")
			b.ReportMetric(perDelivery(record), "record_us/delivery")
			b.ReportMetric(float64(b.N*events*endpoints)/(create+record).Seconds(), "deliveries/s")
		})
	}
}
