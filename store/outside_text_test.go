package store

import (
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// What calgate records from other servers (a feed's validators, a CalDAV
// server's ETag and errors, a pulled server's failure) may hold NUL or
// bytes that are not UTF-8, which PostgreSQL refuses in text: both engines
// store it the same, made storable.
func TestTextFromOtherServersIsStoredAlikeOnBothEngines(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *DB{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ws := newWorkspace(t, db, "outside")
			const raw, want = "bad \x00 \xff end", "bad \uFFFD \uFFFD end"

			s := newSubscription(ws.ID, time.Now())
			if err := db.CreateSubscription(ctx, s); err != nil {
				t.Fatal(err)
			}
			s.State, s.LastError, s.ETag, s.LastModified = calgate.SubscriptionError, raw, `"`+raw+`"`, raw
			if err := db.RecordPoll(ctx, s); err != nil {
				t.Fatal(err)
			}
			got, err := db.Subscription(ctx, ws.ID, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.LastError != want || got.ETag != `"`+want+`"` || got.LastModified != want {
				t.Fatalf("subscription: %q %q %q", got.LastError, got.ETag, got.LastModified)
			}

			now := time.Now().UTC().Truncate(time.Microsecond)
			tg := &calgate.CalDAVTarget{ID: calgate.NewID("cdt"), WorkspaceID: ws.ID, URL: "https://dav.example.com/",
				CalendarURL: "https://dav.example.com/cal/a/", OnArchive: calgate.OnArchiveDelete, State: calgate.CalDAVStateOK,
				ReconcileAt: now, CreatedAt: now, UpdatedAt: now}
			if err := db.CreateCalDAVTarget(ctx, tg); err != nil {
				t.Fatal(err)
			}
			if err := db.RecordCalDAVOutcome(ctx, tg.ID, calgate.CalDAVStateError, raw, now, 0); err != nil {
				t.Fatal(err)
			}
			if err := db.SetCalDAVSyncToken(ctx, tg.ID, raw, now); err != nil {
				t.Fatal(err)
			}
			entry := upsert(t, db, ws.ID, calgate.UpsertOptions{Verbose: true}, items(parse(t, calgate.KindReservation, reservation("o1", "x")))...).Operations[0].ID
			if err := db.SaveCalDAVObject(ctx, &calgate.CalDAVObject{TargetID: tg.ID, EntryID: entry, Name: "o1.ics", ETag: raw,
				PushedVersion: 1, State: calgate.CalDAVObjectPresent, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			gotTarget, err := db.CalDAVTarget(ctx, ws.ID, tg.ID)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := db.CalDAVObject(ctx, tg.ID, entry)
			if err != nil {
				t.Fatal(err)
			}
			if gotTarget.LastError != want || gotTarget.SyncToken != want || obj.ETag != want {
				t.Fatalf("caldav: %q %q %q", gotTarget.LastError, gotTarget.SyncToken, obj.ETag)
			}

			p := &calgate.PullImport{ID: calgate.NewID("pull"), WorkspaceID: ws.ID, Name: "p", URL: "https://example.com/o", HeaderNames: []string{},
				NotifyEmails: []string{}, Template: "t", Mode: calgate.ImportModeUpsert, Schedule: "1h", NextRunAt: now, CreatedAt: now, UpdatedAt: now}
			if err := db.CreatePullImport(ctx, p); err != nil {
				t.Fatal(err)
			}
			run := &calgate.PullRun{ID: calgate.NewID("run"), PullID: p.ID, WorkspaceID: ws.ID, StartedAt: now, FinishedAt: now,
				Status: calgate.PullRunFailed, Error: raw}
			if err := db.FinishPullRun(ctx, run, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			gotPull, err := db.PullImport(ctx, ws.ID, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if gotPull.LastError != want {
				t.Fatalf("pull: %q", gotPull.LastError)
			}
		})
	}
}
