package store

import (
	"context"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

func TestCalDAVSyncTokenSQLite(t *testing.T) {
	testCalDAVSyncToken(t, openSQLite(t))
}

func TestCalDAVSyncTokenPostgres(t *testing.T) {
	testCalDAVSyncToken(t, openPostgres(t))
}

// testCalDAVSyncToken checks that the token survives an update of the
// target's settings and is dropped when the calendar changes.
func testCalDAVSyncToken(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now().UTC()
	ws := &calgate.Workspace{ID: calgate.NewID("ws"), Name: "test", Timezone: "UTC", CreatedAt: now}
	if err := db.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	tg := &calgate.CalDAVTarget{ID: calgate.NewID("cdt"), WorkspaceID: ws.ID, URL: "https://dav.example.com/",
		CalendarURL: "https://dav.example.com/cal/a/", OnArchive: calgate.OnArchiveDelete, State: calgate.CalDAVStateOK,
		ReconcileAt: now, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateCalDAVTarget(ctx, tg); err != nil {
		t.Fatal(err)
	}
	token := func() string {
		t.Helper()
		got, err := db.CalDAVTarget(ctx, ws.ID, tg.ID)
		if err != nil {
			t.Fatal(err)
		}
		if (got.SyncToken == "") != (got.SyncTokenAt == nil) {
			t.Errorf("sync token %q asked for at %v", got.SyncToken, got.SyncTokenAt)
		}
		if got.SyncTokenAt != nil && !got.SyncTokenAt.Equal(now.Truncate(time.Microsecond)) {
			t.Errorf("sync token asked for at %v, want %v", got.SyncTokenAt, now)
		}
		return got.SyncToken
	}
	if got := token(); got != "" {
		t.Fatalf("new target has sync token %q", got)
	}
	if err := db.SetCalDAVSyncToken(ctx, tg.ID, "http://radicale.org/ns/sync/1", now); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		change func(*calgate.CalDAVTarget)
		want   string
	}{
		{"settings change keeps it", func(x *calgate.CalDAVTarget) { x.OnArchive = calgate.OnArchiveCancel }, "http://radicale.org/ns/sync/1"},
		{"another calendar drops it", func(x *calgate.CalDAVTarget) { x.CalendarURL = "https://dav.example.com/cal/b/" }, ""},
	}
	for _, st := range steps {
		st.change(tg)
		tg.UpdatedAt = time.Now()
		if err := db.UpdateCalDAVTarget(ctx, tg); err != nil {
			t.Fatal(err)
		}
		if got := token(); got != st.want {
			t.Errorf("%s: sync token %q, want %q", st.name, got, st.want)
		}
	}
	if err := db.SetCalDAVSyncToken(ctx, tg.ID, "http://radicale.org/ns/sync/2", now); err != nil {
		t.Fatal(err)
	}
	if err := db.SetCalDAVSyncToken(ctx, tg.ID, "", now); err != nil {
		t.Fatal(err)
	}
	if got := token(); got != "" {
		t.Errorf("sync token after clearing it: %q", got)
	}
	if err := db.SetCalDAVSyncToken(ctx, "cdt_missing", "x", now); err == nil {
		t.Error("setting the token of a missing target succeeded")
	}
}
