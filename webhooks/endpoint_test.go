package webhooks

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

func TestValidEventPatternAcceptsTypesAndWildcards(t *testing.T) {
	tests := []struct {
		pattern string
		ok      bool
	}{
		{"entry.created", true},
		{"entry.rescheduled", true},
		{"webhook.disabled", true},
		{"entry.*", true},
		{"webhook.*", true},
		{"*", true},
		{"entry.exploded", false},
		{"nothing.*", false},
		{"entry*", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidEventPattern(tt.pattern); got != tt.ok {
			t.Errorf("ValidEventPattern(%q) = %v, want %v", tt.pattern, got, tt.ok)
		}
	}
}

func TestWebhookMatchesTypesAndFilter(t *testing.T) {
	job := &calgate.Entry{Kind: calgate.KindJob, Resource: "Welding", Source: "erp"}
	moved := &calgate.Event{Type: calgate.EventEntryRescheduled, Entry: job}
	tests := []struct {
		name string
		w    calgate.Webhook
		ev   *calgate.Event
		want bool
	}{
		{"wildcard", calgate.Webhook{Events: []string{"entry.*"}}, moved, true},
		{"all", calgate.Webhook{Events: []string{"*"}}, moved, true},
		{"other type", calgate.Webhook{Events: []string{"entry.cancelled"}}, moved, false},
		{"kind filter", calgate.Webhook{Events: []string{"*"}, Filter: calgate.WebhookFilter{Kinds: []calgate.Kind{calgate.KindReservation}}}, moved, false},
		{"resource filter", calgate.Webhook{Events: []string{"*"}, Filter: calgate.WebhookFilter{Resources: []string{"Welding"}}}, moved, true},
		{"source filter", calgate.Webhook{Events: []string{"*"}, Filter: calgate.WebhookFilter{Sources: []string{"crm"}}}, moved, false},
		{"left the filter", calgate.Webhook{Events: []string{"*"}, Filter: calgate.WebhookFilter{Resources: []string{"Painting"}}},
			&calgate.Event{Type: calgate.EventEntryUpdated, Entry: job, Diff: calgate.FieldDiff{"workstage": {From: "Painting", To: "Welding"}}}, true},
		{"non-entry event ignores the filter", calgate.Webhook{Events: []string{"webhook.*"}, Filter: calgate.WebhookFilter{Kinds: []calgate.Kind{calgate.KindJob}}},
			&calgate.Event{Type: calgate.EventWebhookDisabled}, true},
	}
	for _, tt := range tests {
		if got := tt.w.Matches(tt.ev); got != tt.want {
			t.Errorf("%s: Matches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSampleOfEveryEventTypeHasTheDeliveryShape(t *testing.T) {
	s := New(Deps{}, Options{})
	for _, typ := range calgate.AllEventTypes {
		body, err := s.Sample(typ)
		if err != nil {
			t.Fatalf("Sample(%s): %v", typ, err)
		}
		var m struct {
			Type      string         `json:"type"`
			Timestamp time.Time      `json:"timestamp"`
			Data      map[string]any `json:"data"`
		}
		if err := json.Unmarshal(body, &m); err != nil || m.Type != string(typ) || m.Timestamp.IsZero() || len(m.Data) == 0 {
			t.Errorf("Sample(%s) = %s (%v)", typ, body, err)
		}
		// Entry events carry the entry in its wire form and the diff, as
		// the change feed shows them.
		if strings.HasPrefix(string(typ), "entry.") {
			entry, _ := m.Data["entry"].(map[string]any)
			if m.Data["kind"] != "job" || entry["workstage"] != "Welding" || entry["id"] != "ent_sample" || m.Data["diff"] == nil {
				t.Errorf("Sample(%s) data = %v", typ, m.Data)
			}
		}
	}
	if _, err := s.Sample("entry.exploded"); err == nil {
		t.Error("Sample of an unknown type succeeded")
	}
}

func TestAcquireLimitsCallsPerEndpoint(t *testing.T) {
	s := New(Deps{}, Options{Concurrency: 2})
	ctx := context.Background()
	r1, ok1 := s.acquire(ctx, "wh_a", 0)
	r2, ok2 := s.acquire(ctx, "wh_a", 0)
	_, ok3 := s.acquire(ctx, "wh_a", time.Millisecond)
	rb, okb := s.acquire(ctx, "wh_b", 0)
	if !ok1 || !ok2 || ok3 || !okb {
		t.Fatalf("acquire = %v %v %v %v, want a third call to wh_a refused and wh_b free", ok1, ok2, ok3, okb)
	}
	r1()
	r4, ok4 := s.acquire(ctx, "wh_a", 0)
	if !ok4 {
		t.Fatal("a released slot cannot be taken again")
	}
	r2()
	r4()
	rb()
	if n := len(s.slots); n != 0 {
		t.Errorf("%d endpoints' slots kept after every call ended", n)
	}
}

func TestRetryScaleShortensTheSchedule(t *testing.T) {
	s := New(Deps{}, Options{RetryScale: 0.001})
	d, ok := s.retryDelay(4)
	if !ok || d < 1440*time.Millisecond || d > 2160*time.Millisecond {
		t.Errorf("retryDelay(4) = %v, %v; want 30 min × 0.001 ± 20%%", d, ok)
	}
	if _, ok := s.retryDelay(MaxAttempts + 1); ok {
		t.Error("a retry past MaxAttempts was scheduled")
	}
}

// busyEndpoint takes an endpoint's only call slot with n callers in turn,
// each holding it for a few milliseconds: an endpoint that answers
// quickly but is busy. It returns once they all wait or hold the slot;
// stop waits for them to finish.
func busyEndpoint(t *testing.T, s *Service, id string, n int) (stop func()) {
	t.Helper()
	// The slot is held until every caller waits for it.
	first, ok := s.acquire(context.Background(), id, 0)
	if !ok {
		t.Fatal("a free slot cannot be taken")
	}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, ok := s.acquire(context.Background(), id, time.Minute)
			if !ok {
				t.Error("a caller of the busy endpoint got no slot")
				return
			}
			time.Sleep(5 * time.Millisecond)
			release()
		}()
	}
	for {
		s.mu.Lock()
		users := s.slots[id].users
		s.mu.Unlock()
		if users == n+1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	first()
	return wg.Wait
}

func TestAcquireWhileAnsweringWaitsForABusyEndpoint(t *testing.T) {
	s := New(Deps{}, Options{Concurrency: 1})
	ctx := context.Background()
	// 400 calls of 5 ms ahead: the last slot frees after 2 s at the
	// earliest, while one of the endpoint's calls ends every 5 ms.
	stop := busyEndpoint(t, s, "wh_a", 400)
	if _, ok := s.acquire(ctx, "wh_a", 500*time.Millisecond); ok {
		t.Fatal("acquire waited past its 500 ms for a slot")
	}
	release, ok := s.acquireWhileAnswering(ctx, "wh_a", 500*time.Millisecond, time.Now().Add(time.Minute))
	if !ok {
		t.Fatal("acquireWhileAnswering gave up on an endpoint that kept ending calls")
	}
	release()
	stop()
}

func TestAcquireWhileAnsweringLeavesAHangingEndpoint(t *testing.T) {
	s := New(Deps{}, Options{Concurrency: 1})
	ctx := context.Background()
	// One call ends, the next one hangs.
	first, ok := s.acquire(ctx, "wh_a", 0)
	if !ok {
		t.Fatal("a free slot cannot be taken")
	}
	first()
	held, ok := s.acquire(ctx, "wh_a", 0)
	if !ok {
		t.Fatal("a released slot cannot be taken again")
	}
	if _, ok := s.acquireWhileAnswering(ctx, "wh_a", 50*time.Millisecond, time.Now().Add(time.Minute)); ok {
		t.Fatal("acquireWhileAnswering got a slot that was never given back")
	}
	held()
}

func TestAcquireWhileAnsweringStopsAtItsDeadline(t *testing.T) {
	s := New(Deps{}, Options{Concurrency: 1})
	stop := busyEndpoint(t, s, "wh_a", 400)
	if _, ok := s.acquireWhileAnswering(context.Background(), "wh_a", time.Minute, time.Now().Add(200*time.Millisecond)); ok {
		t.Fatal("acquireWhileAnswering got a slot 2 s away with a deadline 200 ms away")
	}
	stop()
}
