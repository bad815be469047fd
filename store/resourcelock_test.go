package store

import (
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// together runs fn(0) … fn(n-1) at once and waits for them all.
func together(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

// staggered is the i-th of a row of two-hour jobs on one day that start
// 45 minutes apart: each overlaps the two before and the two after it,
// across hour boundaries that differ from one to the next.
func staggered(t *testing.T, day, i int, kv ...any) *calgate.Entry {
	start := time.Date(2025, 10, day, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 45 * time.Minute)
	return booking(t, fmt.Sprintf("J-%d-%d", day, i), "Welding", start.Format(time.RFC3339), start.Add(2*time.Hour).Format(time.RFC3339), kv...)
}

// busyOn returns what occupies Welding on a day.
func busyOn(t *testing.T, db *DB, ws string, day int) []*calgate.Entry {
	t.Helper()
	from := time.Date(2025, 10, day, 0, 0, 0, 0, time.UTC)
	var busy []*calgate.Entry
	err := db.busyRows(ctx, db.r, ws, []string{"Welding"}, nil, from, from.Add(48*time.Hour), true, func(e *calgate.Entry) {
		busy = append(busy, e)
	})
	if err != nil {
		t.Fatal(err)
	}
	return busy
}

// testConflictRejectConcurrentOverlaps books partly overlapping jobs from
// eight writers at once, round after round: under reject, what is booked
// never overlaps, and every writer refused was refused for a job that is.
func testConflictRejectConcurrentOverlaps(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	if err := db.SetAvailabilitySettings(ctx, ws.ID, &calgate.AvailabilitySettings{ConflictPolicy: calgate.PolicyReject}); err != nil {
		t.Fatal(err)
	}
	for day := 1; day <= 4; day++ {
		var mu sync.Mutex
		created := 0
		together(8, func(i int) {
			res, err := db.Upsert(ctx, ws.ID, "tok", items(staggered(t, day, i)), calgate.UpsertOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			created += res.Created
			mu.Unlock()
		})
		busy := busyOn(t, db, ws.ID, day)
		if pairs := calgate.ConflictPairs("Welding", busy, 1); len(pairs) > 0 || created == 0 || len(busy) != created {
			t.Fatalf("day %d: %d created, %d busy, double bookings %+v", day, created, len(busy), pairs)
		}
	}
}

// testConflictWarnConcurrentOverlaps writes partly overlapping jobs from
// eight writers at once: under warn, every overlap ends up stored as a
// conflict and every job in one has its entry.conflicted event.
func testConflictWarnConcurrentOverlaps(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	for day := 1; day <= 4; day++ {
		together(8, func(i int) {
			if _, err := db.Upsert(ctx, ws.ID, "tok", items(staggered(t, day, i)), calgate.UpsertOptions{}); err != nil {
				t.Error(err)
			}
		})
		busy := busyOn(t, db, ws.ID, day)
		want := calgate.ConflictPairs("Welding", busy, 1)
		from := time.Date(2025, 10, day, 0, 0, 0, 0, time.UTC)
		got := pairsOf(t, db, ws.ID, calgate.ConflictFilter{From: from, To: from.Add(24 * time.Hour), Limit: 1000})
		if len(busy) != 8 || len(want) != 13 || !samePairs(got, want) {
			t.Fatalf("day %d: %d busy; stored %+v, want %+v", day, len(busy), got, want)
		}
	}
	conflicted := map[string]bool{}
	for _, d := range conflictEvents(t, db, ws.ID) {
		conflicted[d.EntryID] = true
	}
	if len(conflicted) != 32 {
		t.Fatalf("%d entries with an entry.conflicted event, want 32", len(conflicted))
	}
}

func samePairs(a, b []calgate.ConflictPair) bool {
	key := func(p calgate.ConflictPair) string {
		return p.Resource + " " + p.A + " " + p.B + " " + p.Start.UTC().String() + " " + p.End.UTC().String()
	}
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i, p := range a {
		ka[i] = key(p)
	}
	for i, p := range b {
		kb[i] = key(p)
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}

// testConflictConcurrentCancels cancels, from eight writers at once, the
// eight one-hour jobs that overlap a long job (or, on a resource of
// capacity two, two long jobs): no conflict is left, and the long job gets
// exactly one entry.conflict_resolved event.
func testConflictConcurrentCancels(t *testing.T, db *DB) {
	for _, capacity := range []int{1, 2} {
		t.Run(fmt.Sprintf("capacity=%d", capacity), func(t *testing.T) {
			ws := newWorkspace(t, db, fmt.Sprintf("c%d", capacity))
			r := calgate.NewResource(ws.ID, "Welding", "UTC")
			r.Capacity = capacity
			if err := db.CreateResource(ctx, r); err != nil {
				t.Fatal(err)
			}
			var long []string
			for i := range capacity {
				res := upsert(t, db, ws.ID, calgate.UpsertOptions{Verbose: true},
					items(booking(t, fmt.Sprintf("L-%d", i), "Welding", "2025-10-27T08:00:00Z", "2025-10-27T16:00:00Z"))...)
				long = append(long, res.Operations[0].ID)
			}
			hour := func(i int, kv ...any) *calgate.Entry {
				start := time.Date(2025, 10, 27, 8+i, 0, 0, 0, time.UTC)
				return booking(t, fmt.Sprintf("H-%d", i), "Welding", start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339), kv...)
			}
			for i := range 8 {
				upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(hour(i))...)
			}
			if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{Limit: 1000})); n != 8*capacity+capacity-1 {
				t.Fatalf("%d conflicts before, want %d", n, 8*capacity+capacity-1)
			}
			before := len(conflictEvents(t, db, ws.ID))
			together(8, func(i int) {
				if _, err := db.Upsert(ctx, ws.ID, "tok", items(hour(i, "status", "cancelled")), calgate.UpsertOptions{}); err != nil {
					t.Error(err)
				}
			})
			if left := pairsOf(t, db, ws.ID, calgate.ConflictFilter{Limit: 1000}); len(left) != 0 {
				t.Fatalf("conflicts left: %+v", left)
			}
			resolved := map[string]int{}
			for _, id := range eventEntries(conflictEvents(t, db, ws.ID)[before:]) {
				resolved[id]++
			}
			for _, id := range long {
				if resolved["resolved:"+id] != 1 {
					t.Fatalf("entry.conflict_resolved of the long job: %d, events %v", resolved["resolved:"+id], resolved)
				}
			}
			if len(resolved) != 8+capacity {
				t.Fatalf("events after the cancels: %v", resolved)
			}
		})
	}
}

// testWritersOfOtherHoursDoNotWait holds one write of a resource open on
// PostgreSQL: a write of other hours of the same resource goes through
// meanwhile, one that overlaps it, or spans days, waits for it to end.
func testWritersOfOtherHoursDoNotWait(t *testing.T, db *DB) {
	if !db.d.postgres {
		t.Skip("SQLite has one writer at a time")
	}
	ws := newWorkspace(t, db, "a")
	upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(booking(t, "J-0", "Welding", "2025-10-20T08:00:00Z", "2025-10-20T10:00:00Z"))...)
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	open := &conflictRun{db: db, tx: tx, workspaceID: ws.ID, actor: "tok", now: dbTime(time.Now())}
	if err := open.prepare(ctx, map[string]calgate.Interval{"Welding": {
		Start: time.Date(2025, 10, 27, 8, 0, 0, 0, time.UTC), End: time.Date(2025, 10, 27, 10, 0, 0, 0, time.UTC)}}); err != nil {
		t.Fatal(err)
	}
	write := func(e *calgate.Entry) chan error {
		done := make(chan error, 1)
		go func() {
			_, err := db.Upsert(ctx, ws.ID, "tok", items(e), calgate.UpsertOptions{})
			done <- err
		}()
		return done
	}
	select {
	case err := <-write(booking(t, "J-1", "Welding", "2025-10-27T10:00:00Z", "2025-10-27T12:00:00Z")):
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a write of other hours waits for the open one")
	}
	waiting := []chan error{
		write(booking(t, "J-2", "Welding", "2025-10-27T09:30:00Z", "2025-10-27T10:00:00Z")),
		write(booking(t, "J-3", "Welding", "2025-10-28T08:00:00Z", "2025-10-31T08:00:00Z")),
	}
	time.Sleep(300 * time.Millisecond)
	for i, done := range waiting {
		select {
		case err := <-done:
			t.Fatalf("write %d went through while the open one holds its hours: %v", i, err)
		default:
		}
	}
	if err := tx.Rollback(); err != nil && err != sql.ErrTxDone {
		t.Fatal(err)
	}
	for _, done := range waiting {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
