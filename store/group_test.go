package store

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// groupWatch replaces a Grouped's batch writer with one that notes the
// size of every batch and holds the first one until released, so that the
// writes made meanwhile queue behind it.
type groupWatch struct {
	mu      sync.Mutex
	sizes   []int
	entered chan struct{}
	release chan struct{}
}

func watchGroups(g *Grouped, fail func(n int) error) *groupWatch {
	w := &groupWatch{entered: make(chan struct{}), release: make(chan struct{})}
	write := g.upsert
	g.upsert = func(ctx context.Context, ws, actor string, items []calgate.UpsertItem, opts calgate.UpsertOptions) (*calgate.BulkResult, error) {
		w.mu.Lock()
		w.sizes = append(w.sizes, len(items))
		first := len(w.sizes) == 1
		w.mu.Unlock()
		if first {
			close(w.entered)
			<-w.release
		}
		if fail != nil {
			if err := fail(len(items)); err != nil {
				return nil, err
			}
		}
		return write(ctx, ws, actor, items, opts)
	}
	return w
}

func (w *groupWatch) batches() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int(nil), w.sizes...)
}

// queued is how many writes wait in g's batches.
func queued(g *Grouped) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, grp := range g.groups {
		for _, b := range grp.waiting {
			n += len(b.items)
		}
	}
	return n
}

// groupedWrite is one single write made through a Grouped and its answer.
type groupedWrite struct {
	entry *calgate.Entry
	res   *calgate.BulkResult
	err   error
	done  chan struct{}
}

// startHeld makes the first write, which the watch holds in its batch
// until released, and returns once it is held.
func startHeld(g *Grouped, watch *groupWatch, ws string, e *calgate.Entry) *groupedWrite {
	w := &groupedWrite{entry: e, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.res, w.err = g.Upsert(ctx, ws, "tok_test", items(e), calgate.UpsertOptions{Verbose: true, Return: true})
	}()
	<-watch.entered
	return w
}

// startWrites makes each write in its own goroutine, in order: each one
// is queued before the next starts, so their order in a batch is known.
func startWrites(t *testing.T, g *Grouped, ws string, list ...*calgate.Entry) []*groupedWrite {
	t.Helper()
	var out []*groupedWrite
	for _, e := range list {
		w := &groupedWrite{entry: e, done: make(chan struct{})}
		before := queued(g)
		go func() {
			defer close(w.done)
			w.res, w.err = g.Upsert(ctx, ws, "tok_test", items(e), calgate.UpsertOptions{Verbose: true, Return: true})
		}()
		deadline := time.Now().Add(10 * time.Second)
		for queued(g) == before {
			if time.Now().After(deadline) {
				t.Fatalf("write %s never queued", e.ExternalID)
			}
			time.Sleep(time.Millisecond)
		}
		out = append(out, w)
	}
	return out
}

// testGroupedWritesEachAsIfAlone checks group commit: single writes made
// while another is being written go in one transaction, a second write of
// an entry waits for the next one, and each answer is what the write
// would have got alone, a refused double booking included.
func testGroupedWritesEachAsIfAlone(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	if err := db.SetAvailabilitySettings(ctx, ws, &calgate.AvailabilitySettings{ConflictPolicy: calgate.PolicyReject, CountTentative: true}); err != nil {
		t.Fatal(err)
	}
	g := db.Grouped()
	g.slots = 1
	watch := watchGroups(g, nil)

	first := startHeld(g, watch, ws, booking(t, "A", "Welding", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z", "title", "A1"))
	rest := startWrites(t, g, ws,
		booking(t, "B", "Welding", "2025-10-27T12:00:00Z", "2025-10-27T14:00:00Z"),
		booking(t, "C", "Welding", "2025-10-27T13:00:00Z", "2025-10-27T15:00:00Z"), // B's hours: refused
		booking(t, "D", "Painting", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z"),
		booking(t, "S", "Cutting", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z", "title", "one"),
		booking(t, "A", "Welding", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z", "title", "A2"),
		booking(t, "S", "Cutting", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z", "title", "two"), // S again: next batch
	)
	close(watch.release)
	<-first.done
	for _, w := range rest {
		<-w.done
	}
	if got, want := watch.batches(), []int{1, 5, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch sizes = %v, want %v", got, want)
	}

	want := []struct {
		op      string
		version int64
		title   string
	}{
		{calgate.OpCreated, 1, "A1"},
		{calgate.OpCreated, 1, ""},
		{calgate.OpFailed, 0, ""},
		{calgate.OpCreated, 1, ""},
		{calgate.OpCreated, 1, "one"},
		{calgate.OpUpdated, 2, "A2"},
		{calgate.OpUpdated, 2, "two"},
	}
	all := append([]*groupedWrite{first}, rest...)
	for i, w := range all {
		name := w.entry.ExternalID
		if w.err != nil {
			t.Fatalf("write %d (%s): %v", i, name, w.err)
		}
		if len(w.res.Operations) != 1 {
			t.Fatalf("write %d (%s): operations %+v", i, name, w.res.Operations)
		}
		op := w.res.Operations[0]
		if op.Index != 0 || op.ExternalID != name || op.Operation != want[i].op || op.Version != want[i].version {
			t.Errorf("write %d (%s): result %+v, want %s v%d", i, name, op, want[i].op, want[i].version)
		}
		switch op.Operation {
		case calgate.OpFailed:
			if w.res.Failed != 1 || len(w.res.Errors) != 1 || len(op.Conflicts) != 1 || op.Conflicts[0].EntryID != all[1].res.Operations[0].ID {
				t.Errorf("write %d (%s): refusal %+v", i, name, w.res)
			}
			if list, _, _ := db.Entries(ctx, ws, calgate.EntryFilter{ExternalID: name}); len(list) != 0 {
				t.Errorf("refused %s was written", name)
			}
		case calgate.OpCreated:
			if w.res.Created != 1 || op.Entry == nil || op.Entry.Title != want[i].title || op.Entry.Version != 1 {
				t.Errorf("write %d (%s): answer %+v entry %+v", i, name, w.res, op.Entry)
			}
		case calgate.OpUpdated:
			if w.res.Updated != 1 || op.Entry == nil || op.Entry.Title != want[i].title || op.Entry.Version != 2 {
				t.Errorf("write %d (%s): answer %+v entry %+v", i, name, w.res, op.Entry)
			}
		}
	}
	// The answers are what is stored: the last write of each entry.
	for _, w := range []*groupedWrite{all[5], all[6], all[1], all[3]} {
		op := w.res.Operations[0]
		stored, err := db.Entry(ctx, ws, calgate.KindJob, op.ID, false)
		if err != nil || !reflect.DeepEqual(stored, op.Entry) {
			t.Errorf("%s: stored %+v (%v), answered %+v", w.entry.ExternalID, stored, err, op.Entry)
		}
	}
	if evs := history(t, db, ws, all[4].res.Operations[0].ID); len(evs) != 2 {
		t.Errorf("S: %d events, want 2", len(evs))
	}
}

// testGroupedFallsBackWhenABatchFails checks that when a batch's
// transaction fails as a whole, each of its writes is made on its own.
func testGroupedFallsBackWhenABatchFails(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	g := db.Grouped()
	g.slots = 1
	watch := watchGroups(g, func(n int) error {
		if n > 1 {
			return errors.New("the batch's transaction failed")
		}
		return nil
	})
	first := startHeld(g, watch, ws, booking(t, "A", "Welding", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z"))
	rest := startWrites(t, g, ws,
		booking(t, "B", "Welding", "2025-10-27T12:00:00Z", "2025-10-27T14:00:00Z"),
		booking(t, "C", "Welding", "2025-10-27T16:00:00Z", "2025-10-27T18:00:00Z"),
		booking(t, "D", "Painting", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z"),
	)
	close(watch.release)
	<-first.done
	for _, w := range rest {
		<-w.done
	}
	if got, want := watch.batches(), []int{1, 3, 1, 1, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch sizes = %v, want %v", got, want)
	}
	for _, w := range append([]*groupedWrite{first}, rest...) {
		if w.err != nil || w.res.Created != 1 || w.res.Operations[0].Entry == nil {
			t.Errorf("%s: %+v, %v", w.entry.ExternalID, w.res, w.err)
		}
	}
	if list, _, _ := db.Entries(ctx, ws, calgate.EntryFilter{}); len(list) != 4 {
		t.Errorf("%d entries stored, want 4", len(list))
	}
}

// testGroupedKeepsEveryWriteUnderConcurrency makes many single writes at
// once, some of one entry, through a Grouped with its real slots, and
// checks that every write is stored once, in a version of its own.
func testGroupedKeepsEveryWriteUnderConcurrency(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	g := db.Grouped()
	const writers, each = 16, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	versions := map[int64]bool{}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ext := "same"
				if i%2 == 0 {
					ext = "own-" + string(rune('a'+w)) + "-" + string(rune('a'+i))
				}
				// A room each: the test is about the writes, not double bookings.
				e := parse(t, calgate.KindReservation, with(reservation(ext, "t"+string(rune('a'+w))+string(rune('a'+i))), "resource", "room-"+ext))
				res, err := g.Upsert(ctx, ws, "tok_test", items(e), calgate.UpsertOptions{Verbose: true, Return: true})
				if err != nil {
					t.Error(err)
					return
				}
				op := res.Operations[0]
				if op.Entry == nil || op.Entry.Title != e.Title || op.Entry.Version != op.Version {
					t.Errorf("%s: answered %+v for title %s", ext, op, e.Title)
				}
				if ext == "same" {
					mu.Lock()
					if versions[op.Version] {
						t.Errorf("version %d of the shared entry answered twice", op.Version)
					}
					versions[op.Version] = true
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	same := onlyEntry(t, db, ws, "same")
	if same.Version != writers*each/2 || len(versions) != writers*each/2 {
		t.Errorf("shared entry at version %d with %d answers, want %d", same.Version, len(versions), writers*each/2)
	}
	if list, _, _ := db.Entries(ctx, ws, calgate.EntryFilter{Limit: 1000}); len(list) != writers*each/2+1 {
		t.Errorf("%d entries, want %d", len(list), writers*each/2+1)
	}
}
