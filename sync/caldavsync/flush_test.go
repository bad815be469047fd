package caldavsync

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// clock is a settable time for the service.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// announce hands the entries' changes to the destination as one batch,
// as the queue does.
func (e *env) announce(t *testing.T, entries ...*calgate.Entry) {
	t.Helper()
	evs := make([]*calgate.Event, len(entries))
	for i, en := range entries {
		evs[i] = &calgate.Event{ID: int64(i + 1), Position: int64(i + 1), WorkspaceID: e.ws, Type: calgate.EventEntryCreated, EntryID: en.ID, Entry: en}
	}
	if err := e.svc.HandleEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

func (e *env) jobsOf(typ string) []calgate.Job {
	e.jobs.mu.Lock()
	defer e.jobs.mu.Unlock()
	var out []calgate.Job
	for _, j := range e.jobs.jobs {
		if j.Type == typ {
			out = append(out, j)
		}
	}
	return out
}

func TestFlushWritesEveryPendingObjectOfABatchOnce(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tg := e.target(t, calgate.OnArchiveDelete)
		var entries []*calgate.Entry
		for i := range 150 {
			entries = append(entries, e.upsert(t, fmt.Sprintf("r%d", i), "Booking", false))
		}
		e.announce(t, entries...)
		if n := e.jobs.count(JobFlush); n != 1 {
			t.Fatalf("%d flush jobs for one batch to one target, want 1", n)
		}
		before := e.reqs.n.Load()
		if err := e.svc.Flush(ctx, tg.ID); err != nil {
			t.Fatal(err)
		}
		if n := e.reqs.n.Load() - before; n != int64(len(entries)) {
			t.Errorf("the flush sent %d requests for %d new objects, want one each", n, len(entries))
		}
		e.mustHold(t, "a flush", entries...)
		if b, err := e.db.CalDAVBacklog(ctx, tg.ID); err != nil || b.Pending != 0 {
			t.Errorf("backlog after the flush: %+v, %v", b, err)
		}
		// A second flush of the same batch (its task ran twice) sends nothing.
		before = e.reqs.n.Load()
		if err := e.svc.Flush(ctx, tg.ID); err != nil {
			t.Fatal(err)
		}
		if n := e.reqs.n.Load() - before; n != 0 {
			t.Errorf("flushing again sent %d requests", n)
		}
	})
}

func TestFlushBacksOffWhileTheServerIsDownAndCatchesUp(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		c := &clock{now: time.Now()}
		e.svc.opts.Now = c.Now
		tg := e.target(t, calgate.OnArchiveDelete)
		a, b := e.upsert(t, "a", "One", false), e.upsert(t, "b", "Two", false)
		e.announce(t, a, b)
		e.srv.Stop()
		if err := e.svc.Flush(ctx, tg.ID); err != nil {
			t.Fatalf("a flush to a stopped server returned %v; it records its own backoff", err)
		}
		got := e.reload(t, tg)
		if got.State != calgate.CalDAVStateOK || got.PushAttempts != 1 || got.PushRetryAt == nil || got.LastError == "" {
			t.Fatalf("target while its server is down: %+v", got)
		}
		retries := 0
		for _, j := range e.jobsOf(JobFlush) {
			if !j.At.IsZero() && !j.At.Before(*got.PushRetryAt) && j.At.Sub(*got.PushRetryAt) <= time.Second {
				retries++
			}
		}
		if retries != 1 {
			t.Errorf("%d flushes scheduled for the end of the backoff, want 1", retries)
		}
		// Until the backoff ends, flushes send nothing.
		e.srv.Start()
		before := e.reqs.n.Load()
		if err := e.svc.Flush(ctx, tg.ID); err != nil {
			t.Fatal(err)
		}
		if n := e.reqs.n.Load() - before; n != 0 {
			t.Errorf("a flush during the backoff sent %d requests", n)
		}
		c.add(2 * time.Second)
		if err := e.svc.Flush(ctx, tg.ID); err != nil {
			t.Fatal(err)
		}
		e.mustHold(t, "the server came back", a, b)
		if got := e.reload(t, tg); got.PushAttempts != 0 || got.PushRetryAt != nil {
			t.Errorf("backoff not cleared after a successful flush: %+v", got)
		}
	})
}

// TestFlushThatFailsMidWayWritesTheRestOnceLater has the server fail in
// the middle of a flush of several pages: what was written stays written,
// nothing more is sent, and the flush after the backoff sends exactly the
// objects that were not written, one request each.
func TestFlushThatFailsMidWayWritesTheRestOnceLater(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		c := &clock{now: time.Now()}
		e.svc.opts.Now = c.Now
		tg := e.target(t, calgate.OnArchiveDelete)
		var entries []*calgate.Entry
		for i := range 3 * flushPage {
			entries = append(entries, e.upsert(t, fmt.Sprintf("r%d", i), "Booking", false))
		}
		e.announce(t, entries...)
		const written = flushPage + 10 // into the second page
		before := e.reqs.n.Load()
		e.reqs.failFrom.Store(before + written + 1)
		if err := e.svc.Flush(ctx, tg.ID); err != nil {
			t.Fatalf("a flush whose server failed returned %v; it records its own backoff", err)
		}
		sent := e.reqs.n.Load() - before
		if sent > written+flushConcurrency {
			t.Errorf("%d requests sent: the flush went on after the server failed", sent)
		}
		if got := e.reload(t, tg); got.PushAttempts != 1 || got.PushRetryAt == nil {
			t.Fatalf("target after the failure: %+v", got)
		}
		b, err := e.db.CalDAVBacklog(ctx, tg.ID)
		if err != nil || b.Pending != len(entries)-written {
			t.Fatalf("backlog after the failure: %+v, %v; want %d pending", b, err, len(entries)-written)
		}
		e.reqs.failFrom.Store(0)
		c.add(2 * time.Second)
		before = e.reqs.n.Load()
		if err := e.svc.Flush(ctx, tg.ID); err != nil {
			t.Fatal(err)
		}
		if n := e.reqs.n.Load() - before; n != int64(len(entries)-written) {
			t.Errorf("the flush after the failure sent %d requests for %d unwritten objects", n, len(entries)-written)
		}
		e.mustHold(t, "the server came back", entries...)
		if b, err := e.db.CalDAVBacklog(ctx, tg.ID); err != nil || b.Pending != 0 {
			t.Errorf("backlog at the end: %+v, %v", b, err)
		}
	})
}

func TestSweepStartsFlushesThatWereLost(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		c := &clock{now: time.Now()}
		e.svc.opts.Now = c.Now
		tg := e.target(t, calgate.OnArchiveDelete)
		a := e.upsert(t, "a", "One", false)
		e.announce(t, a)
		// The flush job is lost. Within the lease the sweep waits for it.
		if err := e.svc.SweepPushes(ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.jobs.count(JobFlush); n != 1 {
			t.Fatalf("the sweep started a flush within the lease: %d flush jobs", n)
		}
		c.add(e.svc.opts.PushLease + time.Second)
		if err := e.svc.SweepPushes(ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.jobs.count(JobFlush); n != 2 {
			t.Fatalf("%d flush jobs after the lease ran out, want the sweep's as well", n)
		}
		// An object a running flush holds is not swept.
		now := c.Now()
		if objs, err := e.db.ClaimCalDAVPushes(ctx, tg.ID, now, now.Add(time.Hour), 10); err != nil || len(objs) != 1 {
			t.Fatalf("claim = %v, %v", objs, err)
		}
		c.add(e.svc.opts.PushLease + time.Second)
		if err := e.svc.SweepPushes(ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.jobs.count(JobFlush); n != 2 {
			t.Errorf("a held object was swept: %d flush jobs", n)
		}
	})
}
