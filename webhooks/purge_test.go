package webhooks

import (
	"context"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// purgeStore records what the purge asks of the store.
type purgeStore struct {
	calgate.WebhookStore
	deliveriesBefore, payloadsBefore time.Time
	destination                      string
}

func (p *purgeStore) PurgeDeliveries(_ context.Context, before time.Time) (int, error) {
	p.deliveriesBefore = before
	return 3, nil
}

func (p *purgeStore) PurgePayloads(_ context.Context, destination string, before time.Time) (int, error) {
	p.destination, p.payloadsBefore = destination, before
	return 1, nil
}

// everyRegistry keeps the periodic jobs a service registers.
type everyRegistry struct {
	calgate.Registry
	every map[string]time.Duration
	fns   map[string]func(context.Context) error
}

func (r *everyRegistry) AddDestination(calgate.Destination)                   {}
func (r *everyRegistry) HandleJob(string, calgate.Policy, calgate.JobHandler) {}
func (r *everyRegistry) Every(name string, interval time.Duration, fn func(context.Context) error) {
	r.every[name], r.fns[name] = interval, fn
}

// The service purges its delivery log every hour, of what is older than
// its retention (30 days unless set), bodies included.
func TestPurgeRunsHourlyOverTheRetention(t *testing.T) {
	for _, tc := range []struct {
		retention, want time.Duration
	}{{0, DefaultRetention}, {48 * time.Hour, 48 * time.Hour}} {
		st := &purgeStore{}
		s := New(Deps{Store: st}, Options{Retention: tc.retention})
		reg := &everyRegistry{every: map[string]time.Duration{}, fns: map[string]func(context.Context) error{}}
		s.Register(reg)
		if reg.every["webhooks-log-purge"] != time.Hour {
			t.Fatalf("purge every %s, want hourly (registered: %v)", reg.every["webhooks-log-purge"], reg.every)
		}
		began := time.Now()
		if err := reg.fns["webhooks-log-purge"](context.Background()); err != nil {
			t.Fatal(err)
		}
		if st.deliveriesBefore.Before(began.Add(-tc.want)) || st.deliveriesBefore.After(time.Now().Add(-tc.want)) {
			t.Fatalf("purged deliveries before %s, want %s ago", st.deliveriesBefore, tc.want)
		}
		if !st.payloadsBefore.Equal(st.deliveriesBefore) || st.destination != "webhooks" {
			t.Fatalf("purged bodies before %s for %q, want %s for webhooks", st.payloadsBefore, st.destination, st.deliveriesBefore)
		}
	}
}
