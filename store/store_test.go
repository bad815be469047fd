package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// runStoreSuite runs every store behaviour against one engine; open gives
// a fresh, migrated database for each test.
func runStoreSuite(t *testing.T, open func(t *testing.T) *DB) {
	tests := []struct {
		name string
		run  func(t *testing.T, db *DB)
	}{
		{"MigrateTwiceIsHarmless", testMigrateTwice},
		{"Workspaces", testWorkspaces},
		{"Tokens", testTokens},
		{"UpsertCreatedUnchangedUpdated", testUpsertCreatedUnchangedUpdated},
		{"UpsertEventTypes", testUpsertEventTypes},
		{"UpsertSameKeyTwiceInOneBatch", testUpsertSameKeyTwice},
		{"UpsertSimulateWritesNothing", testUpsertSimulate},
		{"UpsertFailuresAndStopOnError", testUpsertStopOnError},
		{"UpsertVerboseListsEveryOperation", testUpsertVerbose},
		{"UpsertReturnGivesTheStoredEntries", testUpsertReturnGivesTheStoredEntries},
		{"GroupedWritesEachAsIfAlone", testGroupedWritesEachAsIfAlone},
		{"GroupedFallsBackWhenABatchFails", testGroupedFallsBackWhenABatchFails},
		{"GroupedKeepsEveryWriteUnderConcurrency", testGroupedKeepsEveryWriteUnderConcurrency},
		{"UpsertSyncArchivesMissing", testUpsertSync},
		{"UpsertDocumentsReplaceWhatTheyNoLongerHold", testUpsertDocumentsReplaceWhatTheyNoLongerHold},
		{"Records", testRecords},
		{"UpsertConcurrentSameKey", testUpsertConcurrentSameKey},
		{"UpsertConcurrentOverlappingBatches", testUpsertConcurrentBatches},
		{"Mutate", testMutate},
		{"EntriesFilters", testEntriesFilters},
		{"EntriesCursorPaging", testEntriesPaging},
		{"WorkspaceIsolation", testWorkspaceIsolation},
		{"SequenceOrdersEvents", testSequence},
		{"SequencePlacesLateCommitsAfter", testSequenceLateCommit},
		{"FeedReaderMissesNothingUnderConcurrentWrites", testFeedUnderLoad},
		{"EventsFilters", testEventsFilters},
		{"OpenBatchesCutsEveryDestinationOnce", testOpenBatches},
		{"OpenBatchesUnderConcurrentWritersSkipsNothing", testOpenBatchesUnderLoad},
		{"CompleteBatchKeepsOnlyTheFailedOwed", testCompleteBatch},
		{"CompleteBatchesAtOnceDeletesEach", testCompleteBatchesAtOnce},
		{"OverdueBatchesAreClaimedOnce", testClaimOverdueBatches},
		{"IdempotencyKeys", testIdempotency},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, open(t))
		})
	}
}

var ctx = context.Background()

func newWorkspace(t *testing.T, db *DB, name string) *calgate.Workspace {
	t.Helper()
	ws := &calgate.Workspace{Name: name, Timezone: "Europe/Berlin"}
	if err := db.CreateWorkspace(ctx, ws); err != nil {
		t.Fatalf("create workspace %s: %v", name, err)
	}
	return ws
}

// parse builds an entry from its wire form, as the api does.
func parse(t testing.TB, kind calgate.Kind, fields map[string]any) *calgate.Entry {
	t.Helper()
	body, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	e, err := calgate.ParseEntry(kind, body, "Europe/Berlin")
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	return e
}

// reservation returns a valid reservation's wire fields.
func reservation(ext, title string) map[string]any {
	return map[string]any{
		"external_id": ext, "source": "erp", "title": title, "resource": "room-1",
		"start": "2025-10-26T08:00:00+01:00", "end": "2025-10-26T10:00:00+01:00",
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func items(entries ...*calgate.Entry) []calgate.UpsertItem {
	out := make([]calgate.UpsertItem, len(entries))
	for i, e := range entries {
		out[i] = calgate.UpsertItem{Entry: e}
	}
	return out
}

func upsert(t *testing.T, db *DB, ws string, opts calgate.UpsertOptions, list ...calgate.UpsertItem) *calgate.BulkResult {
	t.Helper()
	res, err := db.Upsert(ctx, ws, "tok_test", list, opts)
	if err != nil {
		t.Fatalf("upsert: %v", err)
	}
	return res
}

type counts struct{ created, updated, unchanged, failed, archived int }

func checkCounts(t *testing.T, res *calgate.BulkResult, want counts) {
	t.Helper()
	got := counts{res.Created, res.Updated, res.Unchanged, res.Failed, res.Archived}
	if got != want {
		t.Errorf("counts = %+v, want %+v (errors %+v)", got, want, res.Errors)
	}
}

// history sequences and returns an entry's events, oldest first.
func history(t *testing.T, db *DB, ws, entryID string) []*calgate.Event {
	t.Helper()
	if _, err := db.Sequence(ctx); err != nil {
		t.Fatalf("sequence: %v", err)
	}
	evs, err := db.Events(ctx, ws, calgate.EventFilter{EntryID: entryID, Limit: 1000})
	if err != nil {
		t.Fatalf("events of %s: %v", entryID, err)
	}
	return evs
}

func eventTypes(evs []*calgate.Event) []calgate.EventType {
	out := make([]calgate.EventType, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

func onlyEntry(t *testing.T, db *DB, ws, ext string) *calgate.Entry {
	t.Helper()
	list, _, err := db.Entries(ctx, ws, calgate.EntryFilter{ExternalID: ext, IncludeArchived: true})
	if err != nil {
		t.Fatalf("entries: %v", err)
	}
	if len(list) != 1 {
		t.Fatalf("entries with external id %s = %d, want 1", ext, len(list))
	}
	return list[0]
}

func testMigrateTwice(t *testing.T, db *DB) {
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if d := db.Dialect(); d != DialectPostgres && d != DialectSQLite {
		t.Errorf("Dialect() = %q", d)
	}
}

func testWorkspaces(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme")
	if ws.ID == "" || ws.CreatedAt.IsZero() {
		t.Fatalf("workspace not filled in: %+v", ws)
	}
	got, err := db.Workspace(ctx, ws.ID)
	if err != nil || got.Name != "acme" || got.Timezone != "Europe/Berlin" || !got.CreatedAt.Equal(ws.CreatedAt) {
		t.Errorf("Workspace = %+v, %v; want %+v", got, err, ws)
	}
	if got, err := db.WorkspaceByName(ctx, "acme"); err != nil || got.ID != ws.ID {
		t.Errorf("WorkspaceByName = %+v, %v", got, err)
	}
	if err := db.CreateWorkspace(ctx, &calgate.Workspace{Name: "acme", Timezone: "UTC"}); !errors.Is(err, calgate.ErrConflict) {
		t.Errorf("duplicate name: err = %v, want ErrConflict", err)
	}
	if _, err := db.Workspace(ctx, "ws_missing"); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("missing workspace: err = %v, want ErrNotFound", err)
	}
	if _, err := db.WorkspaceByName(ctx, "nope"); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("missing workspace name: err = %v, want ErrNotFound", err)
	}
}

func testTokens(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme")
	other := newWorkspace(t, db, "other")
	secret := calgate.NewSecret(32)
	tok := &calgate.Token{WorkspaceID: ws.ID, User: "ann", Name: "ci", Prefix: secret[:6], Admin: true}
	if err := db.CreateToken(ctx, tok, calgate.HashSecret(secret)); err != nil {
		t.Fatalf("create token: %v", err)
	}
	if err := db.CreateToken(ctx, &calgate.Token{WorkspaceID: "ws_missing"}, "h"); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("token in missing workspace: err = %v, want ErrNotFound", err)
	}
	p, err := db.TokenByHash(ctx, calgate.HashSecret(secret))
	if err != nil {
		t.Fatalf("token by hash: %v", err)
	}
	if p.Token.ID != tok.ID || p.Token.User != "ann" || !p.Token.Admin || p.Workspace.ID != ws.ID || p.Workspace.Name != "acme" {
		t.Errorf("principal = %+v", p)
	}
	if _, err := db.TokenByHash(ctx, calgate.HashSecret("wrong")); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("wrong secret: err = %v, want ErrNotFound", err)
	}
	at := time.Date(2025, 5, 1, 12, 0, 0, 123456789, time.UTC)
	if err := db.TouchToken(ctx, tok.ID, at); err != nil {
		t.Fatalf("touch: %v", err)
	}
	list, err := db.Tokens(ctx, ws.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("tokens = %v, %v", list, err)
	}
	if list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("last used = %v, want %v", list[0].LastUsedAt, at)
	}
	if n, err := db.CountTokens(ctx); err != nil || n != 1 {
		t.Errorf("count = %d, %v; want 1", n, err)
	}
	if err := db.RevokeToken(ctx, other.ID, tok.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("revoke from another workspace: err = %v, want ErrNotFound", err)
	}
	if err := db.RevokeToken(ctx, ws.ID, tok.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if err := db.RevokeToken(ctx, ws.ID, tok.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("revoke twice: err = %v, want ErrNotFound", err)
	}
	if _, err := db.TokenByHash(ctx, calgate.HashSecret(secret)); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("revoked token found: err = %v", err)
	}
	if list, _ := db.Tokens(ctx, ws.ID); len(list) != 0 {
		t.Errorf("revoked token listed: %+v", list)
	}
	if n, _ := db.CountTokens(ctx); n != 0 {
		t.Errorf("count after revoke = %d", n)
	}
}

func testUpsertCreatedUnchangedUpdated(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	a := reservation("a-1", "Meeting")
	a["attributes"] = json.RawMessage(`{"x":1,"y":{"p":true,"q":[1,2]}}`)
	a["customer"] = map[string]any{"name": "Ann", "email": "ann@example.com"}
	a["quantity"] = 3
	b := reservation("b-1", "Other")
	res := upsert(t, db, ws, calgate.UpsertOptions{}, items(parse(t, calgate.KindReservation, a), parse(t, calgate.KindReservation, b))...)
	checkCounts(t, res, counts{created: 2})
	got := onlyEntry(t, db, ws, "a-1")
	if got.Version != 1 || got.Customer == nil || got.Customer.Email != "ann@example.com" || got.Quantity == nil || *got.Quantity != 3 {
		t.Errorf("stored entry = %+v", got)
	}
	if string(got.Attributes) != `{"x":1,"y":{"p":true,"q":[1,2]}}` {
		t.Errorf("attributes = %s, want them kept as given", got.Attributes)
	}
	if got.Start.Location() != time.UTC || !got.Start.Equal(time.Date(2025, 10, 26, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("start = %v", got.Start)
	}

	// The same content, attribute keys in another order: nothing written.
	a2 := with(a, "attributes", json.RawMessage(`{ "y": {"q":[1,2], "p":true}, "x": 1 }`))
	res = upsert(t, db, ws, calgate.UpsertOptions{}, items(parse(t, calgate.KindReservation, a2), parse(t, calgate.KindReservation, b))...)
	checkCounts(t, res, counts{unchanged: 2})
	if evs := history(t, db, ws, got.ID); len(evs) != 1 {
		t.Errorf("events after unchanged upsert = %v, want only created", eventTypes(evs))
	}

	res = upsert(t, db, ws, calgate.UpsertOptions{}, items(parse(t, calgate.KindReservation, with(a, "title", "Renamed")))...)
	checkCounts(t, res, counts{updated: 1})
	after := onlyEntry(t, db, ws, "a-1")
	if after.ID != got.ID || after.Version != 2 || after.Title != "Renamed" || !after.CreatedAt.Equal(got.CreatedAt) || after.UpdatedAt.Before(got.UpdatedAt) {
		t.Errorf("updated entry = %+v (was %+v)", after, got)
	}
	evs := history(t, db, ws, got.ID)
	if !slices.Equal(eventTypes(evs), []calgate.EventType{calgate.EventEntryCreated, calgate.EventEntryUpdated}) {
		t.Fatalf("events = %v", eventTypes(evs))
	}
	up := evs[1]
	if ch, ok := up.Diff["title"]; !ok || ch.From != "Meeting" || ch.To != "Renamed" || len(up.Diff) != 1 {
		t.Errorf("diff = %+v, want only title Meeting → Renamed", up.Diff)
	}
	if up.Entry == nil || up.Entry.Title != "Renamed" || up.Entry.Version != 2 || up.Actor != "tok_test" || up.Kind != calgate.KindReservation {
		t.Errorf("event = %+v, entry %+v", up, up.Entry)
	}
	if up.Entry != nil && string(up.Entry.Attributes) != string(after.Attributes) {
		t.Errorf("snapshot attributes = %s, want %s", up.Entry.Attributes, after.Attributes)
	}
	if created := evs[0]; created.Diff["title"].To != "Meeting" || created.Entry.Version != 1 {
		t.Errorf("created event = %+v", created)
	}
}

func testUpsertEventTypes(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	base := reservation("r-1", "Meeting")
	steps := []struct {
		name   string
		change func() error
		want   calgate.EventType
		diff   string
	}{
		{"create", func() error {
			_, err := db.Upsert(ctx, ws, "a", items(parse(t, calgate.KindReservation, base)), calgate.UpsertOptions{})
			return err
		}, calgate.EventEntryCreated, "title"},
		{"move", func() error {
			_, err := db.Upsert(ctx, ws, "a", items(parse(t, calgate.KindReservation, with(base, "start", "2025-10-26T09:00:00+01:00"))), calgate.UpsertOptions{})
			return err
		}, calgate.EventEntryRescheduled, "start"},
		{"cancel", func() error {
			_, err := db.Upsert(ctx, ws, "a", items(parse(t, calgate.KindReservation, with(base, "start", "2025-10-26T09:00:00+01:00", "status", "cancelled"))), calgate.UpsertOptions{})
			return err
		}, calgate.EventEntryCancelled, "status"},
		{"archive", func() error {
			e := onlyEntry(t, db, ws, "r-1")
			_, typ, err := db.Mutate(ctx, ws, calgate.KindReservation, e.ID, "a", func(e *calgate.Entry) error {
				now := time.Now()
				e.ArchivedAt = &now
				return nil
			})
			if typ != calgate.EventEntryArchived {
				return fmt.Errorf("mutate reported %q", typ)
			}
			return err
		}, calgate.EventEntryArchived, "archived_at"},
		{"restore by upsert", func() error {
			_, err := db.Upsert(ctx, ws, "a", items(parse(t, calgate.KindReservation, with(base, "start", "2025-10-26T09:00:00+01:00", "status", "cancelled"))), calgate.UpsertOptions{})
			return err
		}, calgate.EventEntryRestored, "archived_at"},
		{"retitle", func() error {
			_, err := db.Upsert(ctx, ws, "a", items(parse(t, calgate.KindReservation, with(base, "start", "2025-10-26T09:00:00+01:00", "status", "cancelled", "title", "New"))), calgate.UpsertOptions{})
			return err
		}, calgate.EventEntryUpdated, "title"},
	}
	for i, st := range steps {
		if err := st.change(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		e := onlyEntry(t, db, ws, "r-1")
		if e.Version != int64(i+1) {
			t.Errorf("%s: version = %d, want %d", st.name, e.Version, i+1)
		}
		evs := history(t, db, ws, e.ID)
		if len(evs) != i+1 {
			t.Fatalf("%s: %d events, want %d", st.name, len(evs), i+1)
		}
		last := evs[i]
		if last.Type != st.want {
			t.Errorf("%s: event %s, want %s", st.name, last.Type, st.want)
		}
		if _, ok := last.Diff[st.diff]; !ok {
			t.Errorf("%s: diff %v lacks %s", st.name, last.Diff, st.diff)
		}
		if last.Entry == nil || last.Entry.Version != e.Version || last.Entry.Archived() != e.Archived() {
			t.Errorf("%s: snapshot %+v does not match entry %+v", st.name, last.Entry, e)
		}
	}
	if e := onlyEntry(t, db, ws, "r-1"); e.Archived() {
		t.Errorf("entry still archived after the restoring upsert")
	}
}

func testUpsertSameKeyTwice(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	base := reservation("x", "First")
	res := upsert(t, db, ws, calgate.UpsertOptions{}, items(
		parse(t, calgate.KindReservation, base),
		parse(t, calgate.KindReservation, with(base, "title", "Second")),
		parse(t, calgate.KindReservation, with(base, "title", "Second")),
	)...)
	checkCounts(t, res, counts{created: 1, updated: 1, unchanged: 1})
	e := onlyEntry(t, db, ws, "x")
	if e.Title != "Second" || e.Version != 2 {
		t.Errorf("entry = %q v%d, want Second v2", e.Title, e.Version)
	}
	evs := history(t, db, ws, e.ID)
	if !slices.Equal(eventTypes(evs), []calgate.EventType{calgate.EventEntryCreated, calgate.EventEntryUpdated}) {
		t.Errorf("events = %v", eventTypes(evs))
	}
	if len(evs) == 2 && (evs[0].Entry.Title != "First" || evs[1].Entry.Title != "Second") {
		t.Errorf("snapshots = %q, %q", evs[0].Entry.Title, evs[1].Entry.Title)
	}
}

func testUpsertSimulate(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	upsert(t, db, ws, calgate.UpsertOptions{}, items(parse(t, calgate.KindReservation, reservation("keep", "K")))...)
	before := countEvents(t, db)
	res := upsert(t, db, ws, calgate.UpsertOptions{Simulate: true, Sync: &calgate.SyncScope{Kind: calgate.KindReservation, Source: "erp"}},
		items(parse(t, calgate.KindReservation, reservation("n-1", "A")), parse(t, calgate.KindReservation, reservation("n-2", "B")))...)
	checkCounts(t, res, counts{created: 2, archived: 1})
	if !res.Simulated {
		t.Error("result not marked simulated")
	}
	list, _, err := db.Entries(ctx, ws, calgate.EntryFilter{IncludeArchived: true})
	if err != nil || len(list) != 1 || list[0].ExternalID != "keep" || list[0].Archived() {
		t.Errorf("entries after simulate = %+v, %v", list, err)
	}
	if after := countEvents(t, db); after != before {
		t.Errorf("simulate wrote %d events", after-before)
	}
}

func testUpsertStopOnError(t *testing.T, db *DB) {
	bad := calgate.UpsertItem{Ref: "line 3", Err: calgate.Invalid("start", "is required"),
		Entry: &calgate.Entry{Kind: calgate.KindReservation, ExternalID: "bad"}}
	tests := []struct {
		name    string
		stop    bool
		want    counts
		stored  int
		stopped bool
	}{
		{"keep going", false, counts{created: 2, failed: 1}, 2, false},
		{"stop at first failure", true, counts{created: 1, failed: 1}, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := newWorkspace(t, db, tc.name).ID
			list := []calgate.UpsertItem{
				{Entry: parse(t, calgate.KindReservation, reservation("g-1", "A"))},
				bad,
				{Entry: parse(t, calgate.KindReservation, reservation("g-2", "B"))},
			}
			res := upsert(t, db, ws, calgate.UpsertOptions{StopOnError: tc.stop}, list...)
			checkCounts(t, res, tc.want)
			if res.Stopped != tc.stopped {
				t.Errorf("stopped = %v, want %v", res.Stopped, tc.stopped)
			}
			if len(res.Errors) != 1 {
				t.Fatalf("errors = %+v", res.Errors)
			}
			e := res.Errors[0]
			if e.Index != 1 || e.Ref != "line 3" || e.ExternalID != "bad" || e.Operation != calgate.OpFailed ||
				len(e.Errors) != 1 || e.Errors[0].Field != "start" {
				t.Errorf("failure = %+v", e)
			}
			stored, _, _ := db.Entries(ctx, ws, calgate.EntryFilter{})
			if len(stored) != tc.stored {
				t.Errorf("stored %d entries, want %d", len(stored), tc.stored)
			}
		})
	}
	ws := newWorkspace(t, db, "plain error").ID
	res := upsert(t, db, ws, calgate.UpsertOptions{}, calgate.UpsertItem{Err: errors.New("row too short")}, calgate.UpsertItem{})
	if res.Failed != 2 || res.Errors[0].Reason != "row too short" || res.Errors[1].Reason == "" {
		t.Errorf("plain failures = %+v", res.Errors)
	}
}

func testUpsertVerbose(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	upsert(t, db, ws, calgate.UpsertOptions{}, items(parse(t, calgate.KindReservation, reservation("u", "U")),
		parse(t, calgate.KindReservation, reservation("c", "C")), parse(t, calgate.KindReservation, reservation("gone", "G")))...)
	res := upsert(t, db, ws, calgate.UpsertOptions{Verbose: true, Sync: &calgate.SyncScope{Kind: calgate.KindReservation, Source: "erp"}},
		calgate.UpsertItem{Entry: parse(t, calgate.KindReservation, reservation("n", "N")), Ref: "r0"},
		calgate.UpsertItem{Entry: parse(t, calgate.KindReservation, reservation("u", "U"))},
		calgate.UpsertItem{Entry: parse(t, calgate.KindReservation, reservation("c", "Changed"))},
		calgate.UpsertItem{Err: calgate.Invalid("title", "too long")},
	)
	var ops []string
	for _, op := range res.Operations {
		ops = append(ops, op.Operation)
	}
	want := []string{calgate.OpCreated, calgate.OpUnchanged, calgate.OpUpdated, calgate.OpFailed, calgate.OpArchived}
	if !slices.Equal(ops, want) {
		t.Fatalf("operations = %v, want %v", ops, want)
	}
	if o := res.Operations[0]; o.Index != 0 || o.Ref != "r0" || o.ID == "" || o.Version != 1 || o.Kind != calgate.KindReservation {
		t.Errorf("created operation = %+v", o)
	}
	if o := res.Operations[2]; o.Version != 2 || o.ExternalID != "c" {
		t.Errorf("updated operation = %+v", o)
	}
	if o := res.Operations[4]; o.ExternalID != "gone" || o.Version != 2 {
		t.Errorf("archived operation = %+v", o)
	}
}

func testUpsertSync(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	job := func(ext, source string) *calgate.Entry {
		return parse(t, calgate.KindJob, map[string]any{"external_id": ext, "source": source, "workstage": "saw",
			"start": "2025-10-27 08:00", "end": "2025-10-27 12:00", "order": "O-1"})
	}
	upsert(t, db, ws, calgate.UpsertOptions{}, items(job("a", "mes"), job("b", "mes"), job("c", "mes"), job("b", "other"),
		parse(t, calgate.KindReservation, with(reservation("b", "R"), "source", "mes")))...)
	res := upsert(t, db, ws, calgate.UpsertOptions{Sync: &calgate.SyncScope{Kind: calgate.KindJob, Source: "mes"}},
		items(job("a", "mes"), job("c", "mes"), job("d", "mes"))...)
	checkCounts(t, res, counts{created: 1, unchanged: 2, archived: 1})
	all, _, err := db.Entries(ctx, ws, calgate.EntryFilter{IncludeArchived: true, ExternalID: "b"})
	if err != nil || len(all) != 3 {
		t.Fatalf("entries b = %d, %v", len(all), err)
	}
	for _, e := range all {
		wantArchived := e.Kind == calgate.KindJob && e.Source == "mes"
		if e.Archived() != wantArchived {
			t.Errorf("%s %s/%s archived = %v, want %v", e.Kind, e.Source, e.ExternalID, e.Archived(), wantArchived)
		}
		if wantArchived {
			evs := history(t, db, ws, e.ID)
			if len(evs) != 2 || evs[1].Type != calgate.EventEntryArchived || e.Version != 2 || evs[1].Entry.Version != 2 {
				t.Errorf("archived entry v%d, events %v", e.Version, eventTypes(evs))
			}
		}
	}
	live, _, _ := db.Entries(ctx, ws, calgate.EntryFilter{Kinds: []calgate.Kind{calgate.KindJob}, Sources: []string{"mes"}})
	if len(live) != 3 {
		t.Errorf("live mes jobs = %d, want 3 (a, c, d)", len(live))
	}
	// A second identical snapshot changes nothing.
	res = upsert(t, db, ws, calgate.UpsertOptions{Sync: &calgate.SyncScope{Kind: calgate.KindJob, Source: "mes"}},
		items(job("a", "mes"), job("c", "mes"), job("d", "mes"))...)
	checkCounts(t, res, counts{unchanged: 3})
}

func testUpsertConcurrentSameKey(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	const workers, each = 8, 50
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		written int
		errs    []error
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e := parse(t, calgate.KindReservation, reservation("same", fmt.Sprintf("w%d-%d", w, i)))
				res, err := db.Upsert(ctx, ws, "a", items(e), calgate.UpsertOptions{})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					written += res.Created + res.Updated
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs[:min(len(errs), 3)] {
		t.Errorf("concurrent upsert: %v", err)
	}
	e := onlyEntry(t, db, ws, "same")
	if e.Version != int64(written) {
		t.Errorf("version = %d, want %d writes", e.Version, written)
	}
	if evs := history(t, db, ws, e.ID); len(evs) != written {
		t.Errorf("events = %d, want %d", len(evs), written)
	}
}

func testMutate(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	other := newWorkspace(t, db, "other").ID
	upsert(t, db, ws, calgate.UpsertOptions{}, items(parse(t, calgate.KindReservation, reservation("m", "M")))...)
	id := onlyEntry(t, db, ws, "m").ID

	e, typ, err := db.Mutate(ctx, ws, calgate.KindReservation, id, "tok_x", func(e *calgate.Entry) error {
		e.Title = "Changed"
		e.Version = 99 // not the caller's to set
		return nil
	})
	if err != nil || typ != calgate.EventEntryUpdated || e.Title != "Changed" || e.Version != 2 {
		t.Fatalf("mutate = %+v, %q, %v", e, typ, err)
	}
	if stored, _ := db.Entry(ctx, ws, calgate.KindReservation, id, false); stored.Title != "Changed" || stored.Version != 2 {
		t.Errorf("stored after mutate = %+v", stored)
	}
	evs := history(t, db, ws, id)
	if len(evs) != 2 || evs[1].Actor != "tok_x" || evs[1].Diff["title"].To != "Changed" {
		t.Errorf("events after mutate = %+v", evs)
	}

	e, typ, err = db.Mutate(ctx, ws, calgate.KindReservation, id, "tok_x", func(e *calgate.Entry) error { return nil })
	if err != nil || typ != "" || e.Version != 2 {
		t.Errorf("no-op mutate = v%d, %q, %v", e.Version, typ, err)
	}
	if evs := history(t, db, ws, id); len(evs) != 2 {
		t.Errorf("no-op mutate wrote an event")
	}

	verr := calgate.Invalid("title", "bad")
	if _, _, err := db.Mutate(ctx, ws, calgate.KindReservation, id, "a", func(e *calgate.Entry) error {
		e.Title = "lost"
		return verr
	}); err != verr {
		t.Errorf("fn error = %v, want it unchanged", err)
	}
	if stored, _ := db.Entry(ctx, ws, "", id, false); stored.Title != "Changed" {
		t.Errorf("failed mutate wrote %q", stored.Title)
	}

	for name, call := range map[string]func() error{
		"other workspace": func() error {
			_, _, err := db.Mutate(ctx, other, calgate.KindReservation, id, "a", func(*calgate.Entry) error { return nil })
			return err
		},
		"other kind": func() error {
			_, _, err := db.Mutate(ctx, ws, calgate.KindJob, id, "a", func(*calgate.Entry) error { return nil })
			return err
		},
		"missing": func() error {
			_, _, err := db.Mutate(ctx, ws, calgate.KindReservation, "ent_missing", "a", func(*calgate.Entry) error { return nil })
			return err
		},
	} {
		if err := call(); !errors.Is(err, calgate.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}

	// Archive, then the entry is hidden unless asked for; restore again.
	_, typ, err = db.Mutate(ctx, ws, calgate.KindReservation, id, "a", func(e *calgate.Entry) error {
		now := time.Now()
		e.ArchivedAt = &now
		return nil
	})
	if err != nil || typ != calgate.EventEntryArchived {
		t.Fatalf("archive = %q, %v", typ, err)
	}
	if _, err := db.Entry(ctx, ws, calgate.KindReservation, id, false); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("archived entry found: %v", err)
	}
	if got, err := db.Entry(ctx, ws, calgate.KindReservation, id, true); err != nil || !got.Archived() {
		t.Errorf("archived entry with includeArchived = %+v, %v", got, err)
	}
	_, typ, err = db.Mutate(ctx, ws, calgate.KindReservation, id, "a", func(e *calgate.Entry) error {
		e.ArchivedAt = nil
		return nil
	})
	if err != nil || typ != calgate.EventEntryRestored {
		t.Errorf("restore = %q, %v", typ, err)
	}

	// Moving onto another entry's external id is a conflict.
	upsert(t, db, ws, calgate.UpsertOptions{}, items(parse(t, calgate.KindReservation, reservation("taken", "T")))...)
	_, _, err = db.Mutate(ctx, ws, calgate.KindReservation, id, "a", func(e *calgate.Entry) error {
		e.ExternalID = "taken"
		return nil
	})
	if !errors.Is(err, calgate.ErrConflict) {
		t.Errorf("external id clash: err = %v, want ErrConflict", err)
	}
}

func testEntriesFilters(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	day := func(d int) string { return fmt.Sprintf("2025-11-%02dT09:00:00Z", d) }
	res := func(ext, resource, status, source string, d int) *calgate.Entry {
		return parse(t, calgate.KindReservation, map[string]any{"external_id": ext, "source": source, "resource": resource,
			"status": status, "start": day(d), "end": day(d + 1)})
	}
	upsert(t, db, ws, calgate.UpsertOptions{}, items(
		res("r1", "room-1", "confirmed", "erp", 1),
		res("r2", "room-2", "tentative", "erp", 3),
		res("r3", "room-1", "cancelled", "crm", 5),
		parse(t, calgate.KindJob, map[string]any{"external_id": "j1", "workstage": "saw", "start": day(2), "end": day(3)}),
		parse(t, calgate.KindProductionWindow, map[string]any{"external_id": "p1", "cost_centre": "cc", "start": day(10), "end": day(12)}),
	)...)
	archivedID := onlyEntry(t, db, ws, "r2").ID
	if _, _, err := db.Mutate(ctx, ws, "", archivedID, "a", func(e *calgate.Entry) error {
		now := time.Now()
		e.ArchivedAt = &now
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	mid := onlyEntry(t, db, ws, "r3").UpdatedAt
	time.Sleep(2 * time.Millisecond)
	if _, _, err := db.Mutate(ctx, ws, "", onlyEntry(t, db, ws, "p1").ID, "a", func(e *calgate.Entry) error {
		e.Title = "later"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	at := func(d int) time.Time { return time.Date(2025, 11, d, 9, 0, 0, 0, time.UTC) }
	tests := []struct {
		name string
		f    calgate.EntryFilter
		want []string
	}{
		{"all live", calgate.EntryFilter{}, []string{"r1", "r3", "j1", "p1"}},
		{"with archived", calgate.EntryFilter{IncludeArchived: true}, []string{"r1", "r2", "r3", "j1", "p1"}},
		{"kind", calgate.EntryFilter{Kinds: []calgate.Kind{calgate.KindReservation}}, []string{"r1", "r3"}},
		{"kinds", calgate.EntryFilter{Kinds: []calgate.Kind{calgate.KindJob, calgate.KindProductionWindow}}, []string{"j1", "p1"}},
		{"resources", calgate.EntryFilter{Resources: []string{"room-1", "saw"}}, []string{"r1", "r3", "j1"}},
		{"statuses", calgate.EntryFilter{Statuses: []calgate.Status{calgate.StatusCancelled}}, []string{"r3"}},
		{"sources", calgate.EntryFilter{Sources: []string{"crm"}}, []string{"r3"}},
		{"external id", calgate.EntryFilter{ExternalID: "j1"}, []string{"j1"}},
		{"window overlaps", calgate.EntryFilter{From: at(2), To: at(5)}, []string{"j1"}},
		{"window edge is exclusive", calgate.EntryFilter{From: at(2), To: at(5).Add(time.Second), IncludeArchived: true}, []string{"r2", "r3", "j1"}},
		{"open-ended from", calgate.EntryFilter{From: at(6)}, []string{"p1"}},
		{"open-ended to", calgate.EntryFilter{To: at(2)}, []string{"r1"}},
		{"since", calgate.EntryFilter{Since: mid}, []string{"p1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list, next, err := db.Entries(ctx, ws, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range list {
				got = append(got, e.ExternalID)
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) || next != "" {
				t.Errorf("got %v (next %q), want %v", got, next, want)
			}
		})
	}
}

func testEntriesPaging(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	var list []*calgate.Entry
	for i := range 7 {
		list = append(list, parse(t, calgate.KindReservation, reservation(fmt.Sprintf("p%d", i), "P")))
	}
	upsert(t, db, ws, calgate.UpsertOptions{}, items(list...)...)
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 4 {
			t.Fatal("paging does not end")
		}
		page, next, err := db.Entries(ctx, ws, calgate.EntryFilter{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 3 {
			t.Fatalf("page of %d", len(page))
		}
		for _, e := range page {
			ids = append(ids, e.ID)
		}
		if next == "" {
			break
		}
		if next != page[len(page)-1].ID {
			t.Errorf("cursor %q is not the last id of the page", next)
		}
		cursor = next
	}
	if len(ids) != 7 || !slices.IsSorted(ids) {
		t.Errorf("paged ids = %v, want 7 in order", ids)
	}
	if page, next, _ := db.Entries(ctx, ws, calgate.EntryFilter{Limit: 7}); len(page) != 7 || next != "" {
		t.Errorf("exact page: %d entries, next %q", len(page), next)
	}
	if page, _, _ := db.Entries(ctx, ws, calgate.EntryFilter{Limit: 100000}); len(page) != 7 {
		t.Errorf("huge limit: %d entries", len(page))
	}
}

func testWorkspaceIsolation(t *testing.T, db *DB) {
	a := newWorkspace(t, db, "a").ID
	b := newWorkspace(t, db, "b").ID
	secret := calgate.NewSecret(32)
	if err := db.CreateToken(ctx, &calgate.Token{WorkspaceID: a, Name: "t"}, calgate.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	upsert(t, db, a, calgate.UpsertOptions{}, items(parse(t, calgate.KindReservation, reservation("shared", "A")))...)
	idA := onlyEntry(t, db, a, "shared").ID
	if err := db.AppendEvent(ctx, &calgate.Event{WorkspaceID: a, Type: calgate.EventWebhookTest, Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Sequence(ctx); err != nil {
		t.Fatal(err)
	}
	if list, _, _ := db.Entries(ctx, b, calgate.EntryFilter{IncludeArchived: true}); len(list) != 0 {
		t.Errorf("b sees %d entries of a", len(list))
	}
	if _, err := db.Entry(ctx, b, "", idA, true); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("b reads a's entry: %v", err)
	}
	if evs, _ := db.Events(ctx, b, calgate.EventFilter{}); len(evs) != 0 {
		t.Errorf("b sees %d events of a", len(evs))
	}
	if evs, _ := db.Events(ctx, b, calgate.EventFilter{EntryID: idA}); len(evs) != 0 {
		t.Errorf("b sees the history of a's entry")
	}
	if toks, _ := db.Tokens(ctx, b); len(toks) != 0 {
		t.Errorf("b sees a's tokens")
	}
	// The same key in b is another entry.
	res := upsert(t, db, b, calgate.UpsertOptions{Sync: &calgate.SyncScope{Kind: calgate.KindJob, Source: "erp"}},
		items(parse(t, calgate.KindReservation, reservation("shared", "B")))...)
	checkCounts(t, res, counts{created: 1})
	res = upsert(t, db, b, calgate.UpsertOptions{Sync: &calgate.SyncScope{Kind: calgate.KindReservation, Source: "erp"}},
		items(parse(t, calgate.KindReservation, reservation("other", "B")))...)
	checkCounts(t, res, counts{created: 1, archived: 1})
	if e := onlyEntry(t, db, a, "shared"); e.Title != "A" || e.Archived() || e.Version != 1 {
		t.Errorf("b's writes changed a's entry: %+v", e)
	}
}

func testSequence(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	if n, err := db.Sequence(ctx); err != nil || n != 0 {
		t.Fatalf("empty sequence = %d, %v", n, err)
	}
	var list []*calgate.Entry
	for i := range 5 {
		// Rooms of their own, so that no conflict event joins the count.
		list = append(list, parse(t, calgate.KindReservation, with(reservation(fmt.Sprintf("s%d", i), "S"), "resource", fmt.Sprintf("room-s%d", i))))
	}
	upsert(t, db, ws, calgate.UpsertOptions{}, items(list...)...)
	ev := &calgate.Event{WorkspaceID: ws, Type: calgate.EventImportFailed, Data: json.RawMessage(`{"reason":"x"}`), Actor: "system:import"}
	if err := db.AppendEvent(ctx, ev); err != nil || ev.ID == 0 {
		t.Fatalf("append = %d, %v", ev.ID, err)
	}
	if evs, _ := db.Events(ctx, ws, calgate.EventFilter{}); len(evs) != 0 {
		t.Errorf("unsequenced events listed: %d", len(evs))
	}
	if n, err := db.Sequence(ctx); err != nil || n != 6 {
		t.Fatalf("sequence = %d, %v; want 6", n, err)
	}
	upsert(t, db, ws, calgate.UpsertOptions{}, items(parse(t, calgate.KindReservation, reservation("late", "L")))...)
	if n, err := db.Sequence(ctx); err != nil || n != 1 {
		t.Fatalf("second sequence = %d, %v; want 1", n, err)
	}
	evs, err := db.Events(ctx, ws, calgate.EventFilter{})
	if err != nil || len(evs) != 7 {
		t.Fatalf("events = %d, %v", len(evs), err)
	}
	for i, ev := range evs {
		if ev.Position != int64(i+1) {
			t.Errorf("event %d at position %d, want %d", ev.ID, ev.Position, i+1)
		}
		if i > 0 && ev.ID <= evs[i-1].ID {
			t.Errorf("positions not in id order: %d after %d", ev.ID, evs[i-1].ID)
		}
		if ev.CreatedAt.IsZero() || ev.WorkspaceID != ws {
			t.Errorf("event %+v", ev)
		}
	}
	appended := evs[5]
	if appended.ID != ev.ID || appended.Type != calgate.EventImportFailed || string(appended.Data) != `{"reason":"x"}` ||
		appended.Actor != "system:import" || appended.Entry != nil {
		t.Errorf("appended event = %+v", appended)
	}
	if got, err := db.Event(ctx, ev.ID); err != nil || got.Position != 6 || got.Type != calgate.EventImportFailed {
		t.Errorf("Event(%d) = %+v, %v", ev.ID, got, err)
	}
	if _, err := db.Event(ctx, 1<<40); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("missing event: %v", err)
	}
	if last := evs[6]; last.Entry == nil || last.Entry.ExternalID != "late" {
		t.Errorf("late event = %+v", last)
	}
}

func testEventsFilters(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	base := reservation("e", "E")
	upsert(t, db, ws, calgate.UpsertOptions{}, items(parse(t, calgate.KindReservation, base), parse(t, calgate.KindReservation, with(reservation("f", "F"), "resource", "room-2")))...)
	upsert(t, db, ws, calgate.UpsertOptions{}, items(parse(t, calgate.KindReservation, with(base, "title", "E2")))...)
	upsert(t, db, ws, calgate.UpsertOptions{}, items(parse(t, calgate.KindReservation, with(base, "title", "E2", "start", "2025-10-26T07:00:00+01:00")))...)
	if _, err := db.Sequence(ctx); err != nil {
		t.Fatal(err)
	}
	eID := onlyEntry(t, db, ws, "e").ID
	tests := []struct {
		name string
		f    calgate.EventFilter
		want []int64
	}{
		{"all", calgate.EventFilter{}, []int64{1, 2, 3, 4}},
		{"after", calgate.EventFilter{After: 2}, []int64{3, 4}},
		{"limit", calgate.EventFilter{Limit: 2}, []int64{1, 2}},
		{"desc", calgate.EventFilter{Desc: true}, []int64{4, 3, 2, 1}},
		{"desc before", calgate.EventFilter{Desc: true, After: 3, Limit: 1}, []int64{2}},
		{"types", calgate.EventFilter{Types: []calgate.EventType{calgate.EventEntryUpdated, calgate.EventEntryRescheduled}}, []int64{3, 4}},
		{"entry history", calgate.EventFilter{EntryID: eID}, []int64{1, 3, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := db.Events(ctx, ws, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, ev := range evs {
				got = append(got, ev.Position)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("positions = %v, want %v", got, tc.want)
			}
		})
	}
}

func testIdempotency(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	other := newWorkspace(t, db, "other").ID
	if _, _, _, _, err := db.IdempotentResponse(ctx, ws, "k1"); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	if err := db.SaveIdempotentResponse(ctx, ws, "k1", "f1", 201, "application/json", []byte(`{"id": "x"}`)); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveIdempotentResponse(ctx, ws, "k1", "f2", 500, "", []byte(`{}`)); err != nil {
		t.Fatalf("second save: %v", err)
	}
	fp, status, ct, body, err := db.IdempotentResponse(ctx, ws, "k1")
	if err != nil || status != 201 || ct != "application/json" || string(body) != `{"id": "x"}` || fp != "f1" {
		t.Errorf("stored = %s %d %s %s, %v; want the first", fp, status, ct, body, err)
	}
	if _, _, _, _, err := db.IdempotentResponse(ctx, other, "k1"); !errors.Is(err, calgate.ErrNotFound) {
		t.Errorf("other workspace sees the key: %v", err)
	}
	if n, err := db.PurgeIdempotentResponses(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Errorf("purge = %d, %v", n, err)
	}
}

// testUpsertConcurrentBatches runs batches naming the same keys in other
// orders, and snapshot syncs of the same scope, all at once: none may fail
// (no deadlock, no unique violation) and every key's version must equal its
// number of events.
func testUpsertConcurrentBatches(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	const workers, rounds, keys = 6, 12, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				var list []*calgate.Entry
				for k := range keys {
					idx := (k*(w+1) + r) % keys // a different order per worker
					list = append(list, parse(t, calgate.KindReservation, reservation(fmt.Sprintf("k%d", idx), fmt.Sprintf("w%d r%d", w, r))))
				}
				opts := calgate.UpsertOptions{}
				if w == 0 && r%3 == 0 {
					opts.Sync = &calgate.SyncScope{Kind: calgate.KindReservation, Source: "erp"}
					list = list[:keys/2]
				}
				if _, err := db.Upsert(ctx, ws, "a", items(list...), opts); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent batch: %v", err)
	}
	all, _, err := db.Entries(ctx, ws, calgate.EntryFilter{IncludeArchived: true})
	if err != nil || len(all) != keys {
		t.Fatalf("entries = %d, %v; want %d", len(all), err, keys)
	}
	for _, e := range all {
		evs := history(t, db, ws, e.ID)
		if int64(len(evs)) != e.Version {
			t.Errorf("%s: version %d, %d events", e.ExternalID, e.Version, len(evs))
		}
		for i, ev := range evs {
			if ev.Entry.Version != int64(i+1) {
				t.Errorf("%s: event %d carries version %d", e.ExternalID, i, ev.Entry.Version)
			}
		}
	}
}

// testSequenceLateCommit holds a transaction with an event open while a
// later event commits and is sequenced: the late one must come after it in
// the feed, so a reader that has paged past the first still gets it.
func testSequenceLateCommit(t *testing.T, db *DB) {
	if db.Dialect() != DialectPostgres {
		t.Skip("SQLite has a single writer: events always commit in id order")
	}
	ws := newWorkspace(t, db, "acme").ID
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	late := &calgate.Event{WorkspaceID: ws, Type: calgate.EventWebhookTest, Data: json.RawMessage(`{"n":"late"}`)}
	if err := db.AppendEventTx(ctx, tx, late); err != nil {
		t.Fatal(err)
	}
	early := &calgate.Event{WorkspaceID: ws, Type: calgate.EventWebhookTest, Data: json.RawMessage(`{"n":"early"}`)}
	if err := db.AppendEvent(ctx, early); err != nil {
		t.Fatal(err)
	}
	if late.ID >= early.ID {
		t.Fatalf("ids %d, %d: the open transaction should hold the lower id", late.ID, early.ID)
	}
	if n, err := db.Sequence(ctx); err != nil || n != 1 {
		t.Fatalf("sequence with one open transaction = %d, %v; want 1", n, err)
	}
	page, err := db.Events(ctx, ws, calgate.EventFilter{})
	if err != nil || len(page) != 1 || page[0].ID != early.ID {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Sequence(ctx); err != nil || n != 1 {
		t.Fatalf("sequence after commit = %d, %v; want 1", n, err)
	}
	next, err := db.Events(ctx, ws, calgate.EventFilter{After: page[0].Position})
	if err != nil || len(next) != 1 || next[0].ID != late.ID || next[0].Position != page[0].Position+1 {
		t.Fatalf("next page = %+v, %v; want the late event", next, err)
	}
}

// testFeedUnderLoad runs writers, a sequencer and a feed reader paging by
// position at once; the reader must see every event exactly once, in
// position order.
func testFeedUnderLoad(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "acme").ID
	const writers, rounds = 4, 15
	var writersDone sync.WaitGroup
	for w := range writers {
		writersDone.Add(1)
		go func() {
			defer writersDone.Done()
			for r := range rounds {
				e := parse(t, calgate.KindReservation, reservation(fmt.Sprintf("w%d-%d", w, r%5), fmt.Sprintf("r%d", r)))
				if _, err := db.Upsert(ctx, ws, "a", items(e), calgate.UpsertOptions{}); err != nil {
					t.Errorf("write: %v", err)
				}
			}
		}()
	}
	stop := make(chan struct{})
	sequencerDone := make(chan struct{})
	go func() {
		defer close(sequencerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.Sequence(ctx); err != nil {
				t.Errorf("sequence: %v", err)
				return
			}
		}
	}()
	seen := map[int64]bool{}
	var last int64
	read := func() {
		for {
			page, err := db.Events(ctx, ws, calgate.EventFilter{After: last, Limit: 7})
			if err != nil {
				t.Errorf("read: %v", err)
				return
			}
			for _, ev := range page {
				if ev.Position <= last {
					t.Errorf("position %d after %d", ev.Position, last)
				}
				if seen[ev.ID] {
					t.Errorf("event %d read twice", ev.ID)
				}
				seen[ev.ID] = true
				last = ev.Position
			}
			if len(page) == 0 {
				return
			}
		}
	}
	writing := make(chan struct{})
	go func() { writersDone.Wait(); close(writing) }()
	for loop := true; loop; {
		select {
		case <-writing:
			loop = false
		default:
			read()
		}
	}
	close(stop)
	<-sequencerDone
	if _, err := db.Sequence(ctx); err != nil {
		t.Fatal(err)
	}
	read()
	if all := countEvents(t, db); len(seen) != all || all == 0 {
		t.Errorf("reader saw %d events, %d were written", len(seen), all)
	}
}

// countEvents counts every event written, sequenced or not.
func countEvents(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
