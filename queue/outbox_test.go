package queue

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/store"
)

// flaky is a batch destination that fails one event the first time it
// sees it and records every event it handles.
type flaky struct {
	mu      sync.Mutex
	failing int64
	failed  bool
	handled map[int64]int
	batches int
}

func (f *flaky) Name() string           { return "flaky" }
func (f *flaky) Policy() calgate.Policy { return calgate.Policy{Timeout: time.Minute} }
func (f *flaky) HandleEvent(ctx context.Context, ev *calgate.Event) error {
	return f.HandleEvents(ctx, []*calgate.Event{ev})
}

func (f *flaky) HandleEvents(_ context.Context, evs []*calgate.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches++
	errs := calgate.EventErrors{}
	for _, ev := range evs {
		if ev.ID == f.failing && !f.failed {
			f.failed = true
			errs[ev.ID] = errors.New("receiver down")
			continue
		}
		f.handled[ev.ID]++
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func (f *flaky) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.handled)
}

func TestABatchWithOneFailingEventRetriesOnlyThatOne(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "calgate.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := Open(Options{BatchSize: 100, Lease: 2 * time.Second, SweepInterval: 100 * time.Millisecond}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	dest := &flaky{handled: map[int64]int{}}
	q.AddDestination(dest)
	d := NewDispatcher(db, q, slog.New(slog.DiscardHandler), 50*time.Millisecond)
	if err := d.Init(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for range 40 {
		ev := &calgate.Event{WorkspaceID: "ws", Type: calgate.EventWebhookTest, Actor: "test"}
		if err := db.AppendEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	dest.failing = ids[17]

	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 2)
	go func() { done <- q.RunWorker(wctx, db, time.Second) }()
	go func() { d.Run(wctx); done <- nil }()
	deadline := time.Now().Add(30 * time.Second)
	for dest.count() < len(ids) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	owed, err := db.OwedWork(ctx)
	for len(owed) > 0 && err == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		owed, err = db.OwedWork(ctx)
	}
	stop()
	<-done
	<-done
	if err != nil || len(owed) != 0 {
		t.Fatalf("still owed: %+v, %v", owed, err)
	}
	dest.mu.Lock()
	defer dest.mu.Unlock()
	for _, id := range ids {
		if dest.handled[id] != 1 {
			t.Errorf("event %d handled %d times, want once", id, dest.handled[id])
		}
	}
	if dest.batches != 2 {
		t.Errorf("%d batches ran, want 2: the 40 events together, then the failed one alone", dest.batches)
	}
}
