package store

import (
	"errors"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

func TestSessionsSQLite(t *testing.T) {
	testSessions(t, openSQLite(t))
}

func TestSessionsPostgres(t *testing.T) {
	testSessions(t, openPostgres(t))
}

// testSessions checks that a session acts as its token, and ends when it
// expires, when it is signed out and when its token is revoked.
func testSessions(t *testing.T, db *DB) {
	ws := newWorkspace(t, db, "console")
	tok, secret := calgate.NewToken(ws.ID, "ann", "console", false)
	if err := db.CreateToken(ctx, tok, calgate.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	open := func(hash string, ttl time.Duration) *calgate.Session {
		s := &calgate.Session{WorkspaceID: ws.ID, TokenID: tok.ID, CSRF: "csrf-" + hash, ExpiresAt: now.Add(ttl)}
		if err := db.CreateSession(ctx, s, hash); err != nil {
			t.Fatal(err)
		}
		return s
	}
	live := open("h-live", time.Hour)
	open("h-expired", -time.Minute)
	open("h-signed-out", time.Hour)

	s, p, err := db.SessionByHash(ctx, "h-live", now)
	if err != nil {
		t.Fatalf("live session: %v", err)
	}
	if s.ID != live.ID || s.CSRF != "csrf-h-live" || p.Token.ID != tok.ID || p.Token.User != "ann" || p.Workspace.ID != ws.ID {
		t.Fatalf("session %+v principal %+v", s, p)
	}
	for _, hash := range []string{"h-expired", "h-unknown"} {
		if _, _, err := db.SessionByHash(ctx, hash, now); !errors.Is(err, calgate.ErrNotFound) {
			t.Fatalf("%s: %v, want not found", hash, err)
		}
	}
	if err := db.DeleteSession(ctx, "h-signed-out"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SessionByHash(ctx, "h-signed-out", now); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("signed out: %v, want not found", err)
	}
	if n, err := db.PurgeSessions(ctx, now); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v; want the one expired session", n, err)
	}
	if err := db.RevokeToken(ctx, ws.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SessionByHash(ctx, "h-live", now); !errors.Is(err, calgate.ErrNotFound) {
		t.Fatalf("session of a revoked token: %v, want not found", err)
	}
}
