package store

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// writeReservations upserts n new reservations, one event each.
func writeReservations(t *testing.T, db *DB, ws, prefix string, n int) {
	t.Helper()
	list := make([]*calgate.Entry, n)
	for i := range list {
		// Each on a room of its own: overlapping reservations of one room
		// would add conflict events to the count.
		ext := fmt.Sprintf("%s-%d", prefix, i)
		list[i] = parse(t, calgate.KindReservation, with(reservation(ext, "R"), "resource", "room-"+ext))
	}
	upsert(t, db, ws, calgate.UpsertOptions{}, items(list...)...)
}

type span struct{ after, through int64 }

func spans(list []*calgate.Batch, dest string) []span {
	var out []span
	for _, b := range list {
		if b.Destination == dest {
			out = append(out, span{b.After, b.Through})
		}
	}
	return out
}

func testOpenBatches(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	due := time.Now().Add(time.Minute)
	// Destinations seen for the first time owe nothing of the past.
	writeReservations(t, db, ws, "old", 3)
	if got, err := db.OpenBatches(ctx, []string{"alpha", "beta"}, 4, due); err != nil || len(got) != 0 {
		t.Fatalf("first open = %v, %v; want nothing for new destinations", got, err)
	}
	// A destination started before the writes owes them even though no
	// batch was cut before; starting it again changes nothing.
	if err := db.InitCursors(ctx, []string{"gamma"}); err != nil {
		t.Fatal(err)
	}
	writeReservations(t, db, ws, "new", 10)
	if err := db.InitCursors(ctx, []string{"gamma", "alpha"}); err != nil {
		t.Fatal(err)
	}
	got, err := db.OpenBatches(ctx, []string{"alpha", "beta", "gamma"}, 4, due)
	if err != nil {
		t.Fatal(err)
	}
	want := []span{{3, 7}, {7, 11}, {11, 13}}
	for _, dest := range []string{"alpha", "beta", "gamma"} {
		if s := spans(got, dest); !slices.Equal(s, want) {
			t.Errorf("%s batches = %v, want %v", dest, s, want)
		}
	}
	for _, b := range got {
		if b.ID == 0 || !b.DueAt.Equal(dbTime(due)) {
			t.Errorf("batch %+v: want an id and the due time", b)
		}
		stored, err := db.Batch(ctx, b.ID)
		if err != nil || stored.Destination != b.Destination || stored.After != b.After || stored.Through != b.Through {
			t.Errorf("stored batch %d = %+v, %v; want %+v", b.ID, stored, err, b)
		}
	}
	evs, err := db.BatchEvents(ctx, got[0])
	if err != nil || len(evs) != 4 || evs[0].Position != 4 || evs[3].Position != 7 || evs[0].Entry == nil {
		t.Errorf("events of the first batch = %d, %v", len(evs), err)
	}
	if again, err := db.OpenBatches(ctx, []string{"alpha", "beta", "gamma"}, 4, due); err != nil || len(again) != 0 {
		t.Errorf("second open = %v, %v; want nothing", again, err)
	}
	owed, err := db.OwedWork(ctx)
	if err != nil || len(owed) != 3 || owed[0].Destination != "alpha" || owed[0].Batches != 3 || owed[0].Events != 10 || owed[0].Oldest.IsZero() {
		t.Errorf("owed work = %+v, %v", owed, err)
	}
}

// testOpenBatchesUnderLoad cuts batches from several goroutines while
// others write: every event reaches every destination exactly once.
func testOpenBatchesUnderLoad(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	dests := []string{"alpha", "beta"}
	if _, err := db.OpenBatches(ctx, dests, 7, time.Now()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var all []*calgate.Batch
	stop := make(chan struct{})
	var cutters sync.WaitGroup
	errs := make(chan error, 8)
	for range 3 {
		cutters.Add(1)
		go func() {
			defer cutters.Done()
			for {
				got, err := db.OpenBatches(ctx, dests, 7, time.Now())
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				all = append(all, got...)
				mu.Unlock()
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range 10 {
				writeReservations(t, db, ws, fmt.Sprintf("w%d-%d", w, i), 5)
			}
		}()
	}
	writers.Wait()
	close(stop)
	cutters.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	last, err := db.OpenBatches(ctx, dests, 7, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, last...)
	for _, dest := range dests {
		seen := map[int64]int{}
		for _, b := range all {
			if b.Destination != dest {
				continue
			}
			if b.Len() > 7 || b.Len() < 1 {
				t.Errorf("%s batch %+v has %d events", dest, b, b.Len())
			}
			for p := b.After + 1; p <= b.Through; p++ {
				seen[p]++
			}
		}
		for p := int64(1); p <= 200; p++ {
			if seen[p] != 1 {
				t.Errorf("%s: position %d handed over %d times", dest, p, seen[p])
			}
		}
		if len(seen) != 200 {
			t.Errorf("%s: %d positions handed over, want 200", dest, len(seen))
		}
	}
}

func testCompleteBatch(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	if _, err := db.OpenBatches(ctx, []string{"alpha"}, 10, time.Now()); err != nil {
		t.Fatal(err)
	}
	writeReservations(t, db, ws, "r", 10)
	got, err := db.OpenBatches(ctx, []string{"alpha"}, 10, time.Now())
	if err != nil || len(got) != 1 {
		t.Fatalf("open = %v, %v", got, err)
	}
	b := got[0]
	boom := errors.New("receiver down")
	retryAt := time.Now().Add(time.Hour)
	// A receiver's answer quoted in an error may hold a NUL or bytes that
	// are not UTF-8; PostgreSQL must store it as SQLite does.
	odd := errors.New("other \x00 \xff" + strings.Repeat("é", 600))
	retries, err := db.CompleteBatch(ctx, b, map[int64]error{3: boom, 4: boom, 9: odd, 42: boom}, retryAt)
	if err != nil {
		t.Fatal(err)
	}
	if s := spans(retries, "alpha"); !slices.Equal(s, []span{{2, 4}, {8, 9}}) {
		t.Errorf("retries = %v, want the runs 3-4 and 9 (42 is not in the batch)", s)
	}
	for _, r := range retries {
		if r.ID == 0 || r.Attempts != 1 || !r.DueAt.Equal(dbTime(retryAt)) || r.LastError == "" {
			t.Errorf("retry %+v: want an id, one attempt, the retry time and the error", r)
		}
	}
	if _, err := db.Batch(ctx, b.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("completed batch still owed: %v", err)
	}
	// A second run of the same task records nothing more.
	if again, err := db.CompleteBatch(ctx, b, map[int64]error{5: boom}, retryAt); err != nil || len(again) != 0 {
		t.Errorf("completing twice = %v, %v", again, err)
	}
	for _, r := range retries {
		if _, err := db.CompleteBatch(ctx, r, nil, retryAt); err != nil {
			t.Fatal(err)
		}
	}
	if owed, err := db.OwedWork(ctx); err != nil || len(owed) != 0 {
		t.Errorf("owed after completing all = %+v, %v", owed, err)
	}
}

// Destinations complete their batches at the same moment: the deletions
// share statements, and each is in the database when its CompleteBatch
// returns.
func testCompleteBatchesAtOnce(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	dests := []string{"alpha", "beta", "gamma", "delta"}
	if _, err := db.OpenBatches(ctx, dests, 1, time.Now()); err != nil {
		t.Fatal(err)
	}
	writeReservations(t, db, ws, "r", 60)
	batches, err := db.OpenBatches(ctx, dests, 1, time.Now())
	if err != nil || len(batches) != 240 {
		t.Fatalf("open = %d batches, %v", len(batches), err)
	}
	var wg sync.WaitGroup
	for _, b := range batches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := db.CompleteBatch(ctx, b, nil, time.Now()); err != nil {
				t.Error(err)
				return
			}
			if _, err := db.Batch(ctx, b.ID); !errors.Is(err, calgate.ErrNotFound) {
				t.Errorf("batch %d still owed after CompleteBatch returned: %v", b.ID, err)
			}
		}()
	}
	wg.Wait()
	if owed, err := db.OwedWork(ctx); err != nil || len(owed) != 0 {
		t.Errorf("owed after completing all = %+v, %v", owed, err)
	}
}

func testClaimOverdueBatches(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	if _, err := db.OpenBatches(ctx, []string{"alpha"}, 1, time.Now()); err != nil {
		t.Fatal(err)
	}
	writeReservations(t, db, ws, "r", 40)
	past := time.Now().Add(-time.Second)
	if _, err := db.OpenBatches(ctx, []string{"alpha"}, 1, past); err != nil {
		t.Fatal(err)
	}
	writeReservations(t, db, ws, "late", 5)
	if _, err := db.OpenBatches(ctx, []string{"alpha"}, 1, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	next := now.Add(time.Minute)
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := db.ClaimOverdueBatches(ctx, now, next, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, b := range got {
					claimed[b.ID]++
					if b.Claims != 1 || !b.DueAt.Equal(dbTime(next)) {
						t.Errorf("claimed %+v: want claims 1 and the new due time", b)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(claimed) != 40 {
		t.Errorf("claimed %d overdue batches, want 40 (the 5 not yet due stay)", len(claimed))
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("batch %d claimed %d times", id, n)
		}
	}
	if again, err := db.ClaimOverdueBatches(ctx, now, next, 100); err != nil || len(again) != 0 {
		t.Errorf("claimed again = %d, %v", len(again), err)
	}
}

// TestUpgradeKeepsWhatTheOldOutboxOwed applies the migrations before the
// owed-batch outbox to a database holding events the old dispatcher had
// and had not handed to the queue, then the rest: the destinations of that
// release owe exactly the events not handed over.
func TestUpgradeKeepsWhatTheOldOutboxOwed(t *testing.T) {
	for _, eng := range []struct {
		name string
		open func(t *testing.T) *DB
	}{
		{"sqlite", func(t *testing.T) *DB {
			path := t.TempDir() + "/calgate.db"
			w, err := openSQLitePool(path, sqliteParams, 1)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Close() })
			return &DB{w: w, r: w, logger: testLogger(t)}
		}},
		{"postgres", func(t *testing.T) *DB {
			p, err := sql.Open("pgx", createPostgresDatabase(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			return &DB{d: dialect{postgres: true}, w: p, r: p, logger: testLogger(t)}
		}},
	} {
		t.Run(eng.name, func(t *testing.T) {
			db := eng.open(t)
			list, err := migrations()
			if err != nil {
				t.Fatal(err)
			}
			conn, err := db.w.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, db.d.schema(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,
				name TEXT NOT NULL, applied_at {{TIME}} NOT NULL)`)); err != nil {
				t.Fatal(err)
			}
			for _, m := range list {
				if m.version >= 9 {
					break
				}
				if _, err := db.applyMigration(ctx, conn, m); err != nil {
					t.Fatal(err)
				}
			}
			conn.Close()
			// Positions 1-4 handed over, 5 and 6 not, and one event
			// written but not yet sequenced.
			for i := 1; i <= 7; i++ {
				var pos, dispatched any
				if i <= 6 {
					pos = i
				}
				if i <= 4 {
					dispatched = dbTime(time.Now())
				}
				if _, err := db.w.ExecContext(ctx, db.d.rebind(`INSERT INTO events (position, workspace_id, type, created_at, dispatched_at)
					VALUES (?, 'ws', 'entry.created', ?, ?)`), pos, dbTime(time.Now()), dispatched); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := db.OpenBatches(ctx, []string{"feeds", "webhooks", "caldav", "connectors"}, 100, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			for _, dest := range []string{"feeds", "webhooks", "caldav"} {
				if s := spans(got, dest); !slices.Equal(s, []span{{4, 7}}) {
					t.Errorf("%s owes %v, want positions 5 to 7", dest, s)
				}
			}
			if s := spans(got, "connectors"); len(s) != 0 {
				t.Errorf("a destination new in this release owes %v, want nothing", s)
			}
		})
	}
}
