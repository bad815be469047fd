package store

import (
	"errors"
	"reflect"
	"testing"

	"github.com/calgate/calgate"
)

func TestFeedStore(t *testing.T) {
	engines := []struct {
		name string
		open func(t testing.TB) *DB
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { testFeedStore(t, e.open(t)) })
	}
}

func testFeedStore(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "feeds-a")
	other := newWorkspace(t, db, "feeds-b")
	f := &calgate.Feed{WorkspaceID: ws.ID, Name: "Welding", Timezone: "Europe/Berlin", IncludeCancelled: true,
		Filter:         calgate.FeedFilter{Kinds: []calgate.Kind{calgate.KindJob}, Resources: []string{"Welding"}, PastDays: 30},
		TitleTemplates: map[calgate.Kind]string{calgate.KindJob: "{order}"},
		TokenHash:      calgate.HashSecret("secret-1"), TokenSealed: []byte{1, 2, 3}}
	if err := db.CreateFeed(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := db.Feed(ctx, ws.ID, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Fatalf("read back %+v, want %+v", got, f)
	}
	if _, err := db.Feed(ctx, other.ID, f.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("another workspace's feed: %v, want not found", err)
	}
	byToken, err := db.FeedByTokenHash(ctx, calgate.HashSecret("secret-1"))
	if err != nil || byToken.ID != f.ID {
		t.Fatalf("by token: %v %v", byToken, err)
	}
	f.TokenHash = calgate.HashSecret("secret-2")
	f.Filter.Statuses = []calgate.Status{calgate.StatusConfirmed}
	f.TitleTemplates = nil
	if err := db.UpdateFeed(ctx, f); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FeedByTokenHash(ctx, calgate.HashSecret("secret-1")); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("old token after update: %v, want not found", err)
	}
	got, _ = db.Feed(ctx, ws.ID, f.ID)
	if !reflect.DeepEqual(got, f) {
		t.Fatalf("after update %+v, want %+v", got, f)
	}
	moved := *f
	moved.WorkspaceID = other.ID
	if err := db.UpdateFeed(ctx, &moved); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("update from another workspace: %v, want not found", err)
	}
	second := &calgate.Feed{WorkspaceID: ws.ID, Name: "All", Timezone: "UTC", TokenHash: calgate.HashSecret("secret-3")}
	if err := db.CreateFeed(ctx, second); err != nil {
		t.Fatal(err)
	}
	page, next, err := db.Feeds(ctx, ws.ID, "", 1)
	if err != nil || len(page) != 1 || next == "" {
		t.Fatalf("first page %v %q %v", page, next, err)
	}
	page, next, err = db.Feeds(ctx, ws.ID, next, 1)
	if err != nil || len(page) != 1 || next != "" {
		t.Fatalf("second page %v %q %v", page, next, err)
	}
	if list, _, _ := db.Feeds(ctx, other.ID, "", 10); len(list) != 0 {
		t.Fatalf("other workspace lists %d feeds", len(list))
	}
	if err := db.DeleteFeed(ctx, other.ID, f.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("delete from another workspace: %v", err)
	}
	if err := db.DeleteFeed(ctx, ws.ID, f.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Feed(ctx, ws.ID, f.ID); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("deleted feed: %v", err)
	}
}
