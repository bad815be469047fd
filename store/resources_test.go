package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

func TestResourcesSQLite(t *testing.T) {
	runResourceSuite(t, func(t *testing.T) *DB { return openSQLite(t) })
}

func TestResourcesPostgres(t *testing.T) {
	runResourceSuite(t, func(t *testing.T) *DB { return openPostgres(t) })
}

// runResourceSuite runs the availability behaviours of the store against
// one engine.
func runResourceSuite(t *testing.T, open func(t *testing.T) *DB) {
	tests := []struct {
		name string
		run  func(t *testing.T, db *DB)
	}{
		{"CreatedOnFirstUseWithDefaults", testResourceCreatedOnFirstUse},
		{"CRUDAndIsolation", testResourceCRUD},
		{"WarnReportsAndResolves", testConflictWarnAndResolve},
		{"RejectSingleAndBulk", testConflictReject},
		{"RejectInMutate", testConflictRejectMutate},
		{"RejectUnderConcurrentWriters", testConflictRejectConcurrent},
		{"RejectUnderConcurrentOverlaps", testConflictRejectConcurrentOverlaps},
		{"WarnUnderConcurrentOverlaps", testConflictWarnConcurrentOverlaps},
		{"ConcurrentCancelsResolveOnce", testConflictConcurrentCancels},
		{"WritersOfOtherHoursDoNotWait", testWritersOfOtherHoursDoNotWait},
		{"CancelledAndArchivedNeverCount", testConflictCancelledArchived},
		{"TentativeBySetting", testConflictTentativeSetting},
		{"CapacityChangeRechecks", testConflictCapacity},
		{"RenameFollowsIntoEntries", testResourceRename},
		{"ConflictsListFilters", testConflictsList},
		{"ConflictsFollowOverlaps", testConflictsFollowOverlaps},
		{"ConflictsOfALargeBulk", testConflictsOfALargeBulk},
		{"BusyEntriesAndIsolation", testBusyEntries},
		{"BusyFindsLongEntriesBeforeTheWindow", testBusyLongEntry},
		{"BusyOfManyResourcesAtOnce", testBusyManyResourcesAtOnce},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

// booking is a job on workstage ws from start to end (RFC 3339).
func booking(t *testing.T, ext, resource, start, end string, kv ...any) *calgate.Entry {
	t.Helper()
	return parse(t, calgate.KindJob, with(map[string]any{"external_id": ext, "source": "erp", "workstage": resource, "start": start, "end": end}, kv...))
}

// conflictEvents returns the conflict events written so far, oldest first.
func conflictEvents(t *testing.T, db *DB, ws string) []conflictEventData {
	t.Helper()
	if _, err := db.Sequence(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := db.Events(ctx, ws, calgate.EventFilter{Types: []calgate.EventType{calgate.EventEntryConflicted, calgate.EventEntryConflictResolved}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []conflictEventData
	for _, ev := range evs {
		var d conflictEventData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		if ev.Type == calgate.EventEntryConflictResolved {
			d.EntryID = "resolved:" + d.EntryID
		}
		out = append(out, d)
	}
	return out
}

func eventEntries(list []conflictEventData) []string {
	out := []string{}
	for _, d := range list {
		out = append(out, d.EntryID)
	}
	return out
}

func pairsOf(t *testing.T, db *DB, ws string, f calgate.ConflictFilter) []calgate.ConflictPair {
	t.Helper()
	list, _, err := db.Conflicts(ctx, ws, f)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func testResourceCreatedOnFirstUse(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(booking(t, "J-1", "Welding", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z"))...)
	r, err := db.ResourceByName(ctx, ws.ID, "Welding")
	if err != nil {
		t.Fatal(err)
	}
	if r.Capacity != 1 || r.Timezone != "Europe/Berlin" || r.WorkingHours != nil || r.ConflictPolicy != "" || len(r.ClosedDates) != 0 {
		t.Fatalf("defaults = %+v", r)
	}
	// A simulated write creates nothing.
	upsert(t, db, ws.ID, calgate.UpsertOptions{Simulate: true}, items(booking(t, "J-2", "Painting", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z"))...)
	if _, err := db.ResourceByName(ctx, ws.ID, "Painting"); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("simulated write created a resource: %v", err)
	}
}

func testResourceCRUD(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	other := newWorkspace(t, db, "b")
	r := calgate.NewResource(ws.ID, "Room 3", "Europe/Berlin")
	r.Kind, r.Capacity = "room", 2
	r.WorkingHours = calgate.WorkingHours{"mon": {{Start: "09:00", End: "17:00"}}}
	r.ClosedDates = []string{"2025-12-25"}
	if err := db.CreateResource(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateResource(ctx, calgate.NewResource(ws.ID, "Room 3", "UTC")); !errors.Is(err, calgate.ErrConflict) {
		t.Fatalf("duplicate name: %v", err)
	}
	if err := db.CreateResource(ctx, calgate.NewResource(other.ID, "Room 3", "UTC")); err != nil {
		t.Fatalf("the same name in another workspace: %v", err)
	}
	got, err := db.Resource(ctx, ws.ID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Capacity != 2 || got.Kind != "room" || got.WorkingHours["mon"][0].End != "17:00" || !slices.Equal(got.ClosedDates, []string{"2025-12-25"}) {
		t.Fatalf("got %+v", got)
	}
	if _, err := db.Resource(ctx, other.ID, r.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("other workspace reads it: %v", err)
	}
	list, _, err := db.Resources(ctx, ws.ID, "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %v, %v", list, err)
	}
	got.WorkingHours = nil
	if err := db.UpdateResource(ctx, got, "tok"); err != nil {
		t.Fatal(err)
	}
	if again, _ := db.Resource(ctx, ws.ID, r.ID); again.WorkingHours != nil {
		t.Fatalf("working hours not cleared: %+v", again)
	}
	if err := db.DeleteResource(ctx, other.ID, r.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("other workspace deletes it: %v", err)
	}
	if err := db.DeleteResource(ctx, ws.ID, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Resource(ctx, ws.ID, r.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("deleted resource found: %v", err)
	}
}

func testConflictWarnAndResolve(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	// End equal to start: no overlap.
	res := upsert(t, db, ws.ID, calgate.UpsertOptions{Verbose: true},
		items(booking(t, "J-1", "Welding", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z"),
			booking(t, "J-2", "Welding", "2025-10-27T10:00:00Z", "2025-10-27T12:00:00Z"))...)
	if len(res.Operations[0].Conflicts)+len(res.Operations[1].Conflicts) != 0 || len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})) != 0 {
		t.Fatalf("touching entries conflict: %+v", res.Operations)
	}
	a, b := res.Operations[0].ID, res.Operations[1].ID
	// One minute of overlap: accepted, and reported.
	res = upsert(t, db, ws.ID, calgate.UpsertOptions{Verbose: true}, items(booking(t, "J-3", "Welding", "2025-10-27T09:59:00Z", "2025-10-27T10:01:00Z"))...)
	op := res.Operations[0]
	if op.Operation != calgate.OpCreated || len(op.Conflicts) != 2 {
		t.Fatalf("op = %+v", op)
	}
	c := op.ID
	got := map[string]calgate.Conflict{}
	for _, cf := range op.Conflicts {
		got[cf.EntryID] = cf
	}
	if cf := got[a]; cf.ExternalID != "J-1" || !cf.Start.Equal(time.Date(2025, 10, 27, 9, 59, 0, 0, time.UTC)) || !cf.End.Equal(time.Date(2025, 10, 27, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("conflict with J-1 = %+v", cf)
	}
	if _, ok := got[b]; !ok {
		t.Fatalf("no conflict with J-2: %+v", op.Conflicts)
	}
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 2 {
		t.Fatalf("%d stored conflicts, want 2", n)
	}
	evs := eventEntries(conflictEvents(t, db, ws.ID))
	slices.Sort(evs)
	want := []string{a, b, c}
	slices.Sort(want)
	if !slices.Equal(evs, want) {
		t.Fatalf("conflicted events for %v, want %v", evs, want)
	}
	if list, err := db.EntryConflicts(ctx, ws.ID, a); err != nil || len(list) != 1 || list[0].EntryID != c || list[0].ExternalID != "J-3" {
		t.Fatalf("conflicts of J-1 = %+v, %v", list, err)
	}
	// Moving J-3 away resolves all three.
	upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(booking(t, "J-3", "Welding", "2025-10-27T12:00:00Z", "2025-10-27T13:00:00Z"))...)
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 0 {
		t.Fatalf("%d stored conflicts after the move", n)
	}
	evs = eventEntries(conflictEvents(t, db, ws.ID))[3:]
	slices.Sort(evs)
	want = []string{"resolved:" + a, "resolved:" + b, "resolved:" + c}
	slices.Sort(want)
	if !slices.Equal(evs, want) {
		t.Fatalf("events after the move %v, want %v", evs, want)
	}
	// Moving it to another resource that is free keeps it free.
	upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(booking(t, "J-3", "Painting", "2025-10-27T09:00:00Z", "2025-10-27T10:00:00Z"))...)
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 0 {
		t.Fatalf("%d conflicts on another resource", n)
	}
}

func testConflictReject(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	if err := db.SetAvailabilitySettings(ctx, ws.ID, &calgate.AvailabilitySettings{ConflictPolicy: calgate.PolicyReject, CountTentative: true}); err != nil {
		t.Fatal(err)
	}
	res := upsert(t, db, ws.ID, calgate.UpsertOptions{Verbose: true}, items(booking(t, "J-1", "Welding", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z"))...)
	first := res.Operations[0].ID
	res = upsert(t, db, ws.ID, calgate.UpsertOptions{Verbose: true}, items(booking(t, "J-2", "Welding", "2025-10-27T09:00:00Z", "2025-10-27T11:00:00Z"))...)
	op := res.Operations[0]
	if op.Operation != calgate.OpFailed || len(op.Conflicts) != 1 || op.Conflicts[0].EntryID != first || len(op.Errors) != 1 || op.Errors[0].Field != "workstage" {
		t.Fatalf("refused op = %+v", op)
	}
	if list, _, _ := db.Entries(ctx, ws.ID, calgate.EntryFilter{ExternalID: "J-2"}); len(list) != 0 {
		t.Fatal("a refused entry was written")
	}
	// In a bulk only the overbooking item fails, including one that
	// clashes with an earlier item of the same batch.
	res = upsert(t, db, ws.ID, calgate.UpsertOptions{},
		items(booking(t, "J-3", "Welding", "2025-10-27T10:00:00Z", "2025-10-27T11:00:00Z"),
			booking(t, "J-4", "Welding", "2025-10-27T07:00:00Z", "2025-10-27T08:30:00Z"),
			booking(t, "J-5", "Welding", "2025-10-27T10:30:00Z", "2025-10-27T12:00:00Z"),
			booking(t, "J-6", "Painting", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z"))...)
	checkCounts(t, res, counts{created: 2, failed: 2})
	if len(res.Errors) != 2 || res.Errors[0].ExternalID != "J-4" || res.Errors[1].ExternalID != "J-5" {
		t.Fatalf("errors = %+v", res.Errors)
	}
	// A resource may keep warning in a rejecting workspace.
	r, err := db.ResourceByName(ctx, ws.ID, "Welding")
	if err != nil {
		t.Fatal(err)
	}
	r.ConflictPolicy = calgate.PolicyWarn
	if err := db.UpdateResource(ctx, r, "tok"); err != nil {
		t.Fatal(err)
	}
	res = upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(booking(t, "J-4", "Welding", "2025-10-27T07:00:00Z", "2025-10-27T08:30:00Z"))...)
	checkCounts(t, res, counts{created: 1})
}

func testConflictRejectMutate(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	if err := db.SetAvailabilitySettings(ctx, ws.ID, &calgate.AvailabilitySettings{ConflictPolicy: calgate.PolicyReject, CountTentative: true}); err != nil {
		t.Fatal(err)
	}
	res := upsert(t, db, ws.ID, calgate.UpsertOptions{Verbose: true},
		items(booking(t, "J-1", "Welding", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z"),
			booking(t, "J-2", "Welding", "2025-10-27T10:00:00Z", "2025-10-27T12:00:00Z"))...)
	id := res.Operations[1].ID
	_, _, err := db.Mutate(ctx, ws.ID, calgate.KindJob, id, "tok", func(e *calgate.Entry) error {
		e.Start = e.Start.Add(-time.Hour)
		return nil
	})
	var ce *calgate.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, calgate.ErrConflict) || len(ce.Conflicts) != 1 || ce.Conflicts[0].EntryID != res.Operations[0].ID {
		t.Fatalf("err = %v", err)
	}
	if e, _ := db.Entry(ctx, ws.ID, calgate.KindJob, id, false); e.Version != 1 {
		t.Fatal("a refused change was written")
	}
	// Cancelling frees the time; the other may then move in.
	if _, _, err := db.Mutate(ctx, ws.ID, calgate.KindJob, res.Operations[0].ID, "tok", func(e *calgate.Entry) error {
		e.Status = calgate.StatusCancelled
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Mutate(ctx, ws.ID, calgate.KindJob, id, "tok", func(e *calgate.Entry) error {
		e.Start = e.Start.Add(-time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func testConflictCancelledArchived(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	res := upsert(t, db, ws.ID, calgate.UpsertOptions{Verbose: true},
		items(booking(t, "J-1", "Welding", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z", "status", "cancelled"),
			booking(t, "J-2", "Welding", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z"))...)
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 0 || len(res.Operations[1].Conflicts) != 0 {
		t.Fatalf("a cancelled entry conflicts (%d)", n)
	}
	res = upsert(t, db, ws.ID, calgate.UpsertOptions{Verbose: true}, items(booking(t, "J-3", "Welding", "2025-10-27T09:00:00Z", "2025-10-27T11:00:00Z"))...)
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 1 {
		t.Fatalf("%d conflicts, want 1", n)
	}
	// Archiving J-2 resolves the conflict.
	if _, _, err := db.Mutate(ctx, ws.ID, calgate.KindJob, onlyEntry(t, db, ws.ID, "J-2").ID, "tok", func(e *calgate.Entry) error {
		now := time.Now()
		e.ArchivedAt = &now
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 0 {
		t.Fatalf("%d conflicts after archiving", n)
	}
	evs := eventEntries(conflictEvents(t, db, ws.ID))
	if evs[len(evs)-1] != "resolved:"+res.Operations[0].ID && evs[len(evs)-2] != "resolved:"+res.Operations[0].ID {
		t.Fatalf("events %v lack the resolution of J-3", evs)
	}
	// A sync that archives an entry resolves its conflicts too.
	upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(booking(t, "J-4", "Welding", "2025-10-27T09:00:00Z", "2025-10-27T11:00:00Z"))...)
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 1 {
		t.Fatalf("%d conflicts, want 1", n)
	}
	upsert(t, db, ws.ID, calgate.UpsertOptions{Sync: &calgate.SyncScope{Kind: calgate.KindJob, Source: "erp"}},
		items(booking(t, "J-3", "Welding", "2025-10-27T09:00:00Z", "2025-10-27T11:00:00Z"))...)
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 0 {
		t.Fatalf("%d conflicts after the sync archived J-4", n)
	}
}

func testConflictTentativeSetting(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	upsert(t, db, ws.ID, calgate.UpsertOptions{},
		items(booking(t, "J-1", "Welding", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z", "status", "tentative"),
			booking(t, "J-2", "Welding", "2025-10-27T09:00:00Z", "2025-10-27T11:00:00Z"))...)
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 1 {
		t.Fatalf("tentative counts by default: %d conflicts, want 1", n)
	}
	if err := db.SetAvailabilitySettings(ctx, ws.ID, &calgate.AvailabilitySettings{ConflictPolicy: calgate.PolicyWarn, CountTentative: false}); err != nil {
		t.Fatal(err)
	}
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 0 {
		t.Fatalf("tentative no longer counts: %d conflicts, want 0", n)
	}
	upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(booking(t, "J-3", "Welding", "2025-10-27T08:30:00Z", "2025-10-27T09:00:00Z", "status", "tentative"))...)
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 0 {
		t.Fatalf("a new tentative entry conflicts: %d", n)
	}
	if err := db.SetAvailabilitySettings(ctx, ws.ID, &calgate.AvailabilitySettings{ConflictPolicy: calgate.PolicyWarn, CountTentative: true}); err != nil {
		t.Fatal(err)
	}
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 2 {
		t.Fatalf("tentative counts again: %d conflicts, want 2 (J-1+J-2, J-1+J-3)", n)
	}
	st, err := db.AvailabilitySettings(ctx, ws.ID)
	if err != nil || !st.CountTentative || st.ConflictPolicy != calgate.PolicyWarn {
		t.Fatalf("settings = %+v, %v", st, err)
	}
}

func testConflictCapacity(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	upsert(t, db, ws.ID, calgate.UpsertOptions{},
		items(booking(t, "J-1", "Welding", "2025-10-27T08:00:00Z", "2025-10-27T12:00:00Z"),
			booking(t, "J-2", "Welding", "2025-10-27T09:00:00Z", "2025-10-27T10:00:00Z"))...)
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 1 {
		t.Fatalf("%d conflicts at capacity 1", n)
	}
	r, err := db.ResourceByName(ctx, ws.ID, "Welding")
	if err != nil {
		t.Fatal(err)
	}
	r.Capacity = 2
	if err := db.UpdateResource(ctx, r, "tok"); err != nil {
		t.Fatal(err)
	}
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 0 {
		t.Fatalf("%d conflicts at capacity 2", n)
	}
	// A third at once overbooks; one that only meets J-1 does not.
	res := upsert(t, db, ws.ID, calgate.UpsertOptions{Verbose: true},
		items(booking(t, "J-3", "Welding", "2025-10-27T09:30:00Z", "2025-10-27T11:00:00Z"))...)
	if got := len(res.Operations[0].Conflicts); got != 2 {
		t.Fatalf("J-3 conflicts with %d, want 2", got)
	}
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 3 {
		t.Fatalf("%d conflicts, want 3", n)
	}
	// Moving J-2 out of the crowded time resolves every pair: J-1 and J-3
	// alone fit in capacity 2.
	upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(booking(t, "J-2", "Welding", "2025-10-27T12:00:00Z", "2025-10-27T13:00:00Z"))...)
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 0 {
		t.Fatalf("%d conflicts after the move, want 0", n)
	}
}

func testResourceRename(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	upsert(t, db, ws.ID, calgate.UpsertOptions{},
		items(booking(t, "J-1", "Welding", "2025-10-27T08:00:00Z", "2025-10-27T12:00:00Z"),
			booking(t, "J-2", "Welding", "2025-10-27T09:00:00Z", "2025-10-27T10:00:00Z"))...)
	upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(booking(t, "J-9", "Painting", "2025-10-27T09:00:00Z", "2025-10-27T10:00:00Z"))...)
	r, err := db.ResourceByName(ctx, ws.ID, "Welding")
	if err != nil {
		t.Fatal(err)
	}
	r.Name = "Painting"
	if err := db.UpdateResource(ctx, r, "tok"); !errors.Is(err, calgate.ErrConflict) {
		t.Fatalf("rename onto a taken name: %v", err)
	}
	r.Name = "Welding hall 2"
	if err := db.UpdateResource(ctx, r, "tok"); err != nil {
		t.Fatal(err)
	}
	e := onlyEntry(t, db, ws.ID, "J-1")
	if e.Resource != "Welding hall 2" || e.Version != 2 {
		t.Fatalf("entry after rename = %+v", e)
	}
	h := history(t, db, ws.ID, e.ID)
	if last := h[len(h)-1]; last.Type != calgate.EventEntryUpdated || last.Diff["workstage"].To != "Welding hall 2" {
		t.Fatalf("last event = %+v", last)
	}
	if p := pairsOf(t, db, ws.ID, calgate.ConflictFilter{}); len(p) != 1 || p[0].Resource != "Welding hall 2" {
		t.Fatalf("conflicts after rename = %+v", p)
	}
	if _, err := db.ResourceByName(ctx, ws.ID, "Welding"); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("old name still there: %v", err)
	}
}

func testConflictsList(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	other := newWorkspace(t, db, "b")
	for _, w := range []string{ws.ID, other.ID} {
		upsert(t, db, w, calgate.UpsertOptions{},
			items(booking(t, "J-1", "Welding", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z"),
				booking(t, "J-2", "Welding", "2025-10-27T09:00:00Z", "2025-10-27T11:00:00Z"),
				booking(t, "J-3", "Painting", "2025-10-28T09:00:00Z", "2025-10-28T11:00:00Z"),
				booking(t, "J-4", "Painting", "2025-10-28T09:00:00Z", "2025-10-28T11:00:00Z"),
				booking(t, "J-5", "Painting", "2025-10-28T10:00:00Z", "2025-10-28T12:00:00Z"))...)
	}
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{})); n != 4 {
		t.Fatalf("%d conflicts, want 4 (one workspace's)", n)
	}
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{Resources: []string{"Welding"}})); n != 1 {
		t.Fatalf("%d Welding conflicts, want 1", n)
	}
	day := time.Date(2025, 10, 28, 0, 0, 0, 0, time.UTC)
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{From: day, To: day.Add(24 * time.Hour)})); n != 3 {
		t.Fatalf("%d conflicts on the 28th, want 3", n)
	}
	if n := len(pairsOf(t, db, ws.ID, calgate.ConflictFilter{From: day, To: day.Add(10 * time.Hour)})); n != 1 {
		t.Fatalf("%d conflicts before 10:00 on the 28th, want 1 (J-3 and J-4)", n)
	}
	page, next, err := db.Conflicts(ctx, ws.ID, calgate.ConflictFilter{Limit: 3})
	if err != nil || len(page) != 3 || next == "" {
		t.Fatalf("page = %d, next %q, %v", len(page), next, err)
	}
	rest, next, err := db.Conflicts(ctx, ws.ID, calgate.ConflictFilter{Limit: 3, Cursor: next})
	if err != nil || len(rest) != 1 || next != "" {
		t.Fatalf("second page = %d, next %q, %v", len(rest), next, err)
	}
}

// testConflictsOfALargeBulk writes a bulk that double-books its own items
// into more pairs than one statement holds, then moves them all: every
// pair is stored, and every pair's overlap follows the move.
func testConflictsOfALargeBulk(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	const n = 40 // 780 pairs: more than one statement's 500 rows
	write := func(end string) {
		list := make([]*calgate.Entry, n)
		for i := range list {
			list[i] = booking(t, fmt.Sprintf("J-%d", i), "Welding", "2025-10-27T08:00:00Z", end)
		}
		upsert(t, db, ws.ID, calgate.UpsertOptions{}, items(list...)...)
	}
	check := func(end time.Time) {
		t.Helper()
		var all []calgate.ConflictPair
		cursor := ""
		for {
			page, next, err := db.Conflicts(ctx, ws.ID, calgate.ConflictFilter{Limit: 100, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if cursor = next; next == "" {
				break
			}
		}
		if len(all) != n*(n-1)/2 {
			t.Fatalf("%d pairs, want %d", len(all), n*(n-1)/2)
		}
		for _, p := range all {
			if !p.End.Equal(end) {
				t.Fatalf("pair %s/%s ends %s, want %s", p.A, p.B, p.End, end)
			}
		}
	}
	write("2025-10-27T10:00:00Z")
	check(time.Date(2025, 10, 27, 10, 0, 0, 0, time.UTC))
	write("2025-10-27T09:00:00Z")
	check(time.Date(2025, 10, 27, 9, 0, 0, 0, time.UTC))
}

func testBusyEntries(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	other := newWorkspace(t, db, "b")
	upsert(t, db, ws.ID, calgate.UpsertOptions{},
		items(booking(t, "J-1", "Welding", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z"),
			booking(t, "J-2", "Welding", "2025-10-27T10:00:00Z", "2025-10-27T11:00:00Z", "status", "tentative"),
			booking(t, "J-3", "Welding", "2025-10-27T12:00:00Z", "2025-10-27T13:00:00Z", "status", "cancelled"),
			booking(t, "J-4", "Painting", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z"))...)
	upsert(t, db, other.ID, calgate.UpsertOptions{}, items(booking(t, "J-1", "Welding", "2025-10-27T09:00:00Z", "2025-10-27T10:00:00Z"))...)
	from, to := time.Date(2025, 10, 27, 9, 0, 0, 0, time.UTC), time.Date(2025, 10, 27, 18, 0, 0, 0, time.UTC)
	busy, err := db.BusyTimes(ctx, ws.ID, []string{"Welding"}, from, to, true)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(busy["Welding"])
	slices.SortFunc(busy["Welding"], func(a, b calgate.Interval) int { return a.Start.Compare(b.Start) })
	want := []calgate.Interval{
		{Start: time.Date(2025, 10, 27, 8, 0, 0, 0, time.UTC), End: time.Date(2025, 10, 27, 10, 0, 0, 0, time.UTC)},
		{Start: time.Date(2025, 10, 27, 10, 0, 0, 0, time.UTC), End: time.Date(2025, 10, 27, 11, 0, 0, 0, time.UTC)},
	}
	if !slices.EqualFunc(busy["Welding"], want, func(a, b calgate.Interval) bool { return a.Start.Equal(b.Start) && a.End.Equal(b.End) }) || len(busy["Painting"]) != 0 {
		t.Fatalf("busy = %s", got)
	}
	busy, _ = db.BusyTimes(ctx, ws.ID, []string{"Welding"}, from, to, false)
	if len(busy["Welding"]) != 1 {
		t.Fatalf("without tentative: %d", len(busy["Welding"]))
	}
}

// testConflictRejectConcurrent books one slot from eight writers at once:
// under reject, exactly one gets it.
func testConflictRejectConcurrent(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "a")
	if err := db.SetAvailabilitySettings(ctx, ws.ID, &calgate.AvailabilitySettings{ConflictPolicy: calgate.PolicyReject, CountTentative: true}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, failed := 0, 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := booking(t, fmt.Sprintf("J-%d", i), "Welding", "2025-10-27T08:00:00Z", "2025-10-27T10:00:00Z")
			res, err := db.Upsert(ctx, ws.ID, "tok", items(e), calgate.UpsertOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			created += res.Created
			failed += res.Failed
			mu.Unlock()
		}()
	}
	wg.Wait()
	if created != 1 || failed != 7 {
		t.Fatalf("created %d, failed %d; want 1 and 7", created, failed)
	}
}
