package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// openCachingPostgres opens url as a process that caches tokens does and
// waits until its listener serves the cache.
func openCachingPostgres(t *testing.T, url string) *DB {
	t.Helper()
	db, err := Open(context.Background(), url, "", testLogger(t))
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	db.CacheTokens()
	waitCache(t, db, true)
	return db
}

// waitCache waits until db's token cache serves (or stops serving).
func waitCache(t *testing.T, db *DB, live bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		db.tokens.mu.Lock()
		got := db.tokens.live
		db.tokens.mu.Unlock()
		if got == live {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("token cache live = %v, want %v", got, live)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tokenFixture makes a workspace with n tokens and returns them with their
// secrets' hashes.
func tokenFixture(t *testing.T, db *DB, n int) (*calgate.Workspace, []*calgate.Token, []string) {
	t.Helper()
	ctx := context.Background()
	ws := &calgate.Workspace{Name: "cache-" + calgate.NewSecret(6), Timezone: "UTC"}
	if err := db.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	var toks []*calgate.Token
	var hashes []string
	for range n {
		tok, secret := calgate.NewToken(ws.ID, "ops", "ci", false)
		if err := db.CreateToken(ctx, tok, calgate.HashSecret(secret)); err != nil {
			t.Fatal(err)
		}
		toks, hashes = append(toks, tok), append(hashes, calgate.HashSecret(secret))
	}
	return ws, toks, hashes
}

// revokeBehindTheCache revokes a token with SQL of its own, as a change by
// hand would: nothing is notified.
func revokeBehindTheCache(t *testing.T, db *DB, id string) {
	t.Helper()
	if _, err := db.w.ExecContext(context.Background(), `UPDATE tokens SET revoked_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
}

func wantToken(t *testing.T, db *DB, hash string, live bool) {
	t.Helper()
	_, err := db.TokenByHash(context.Background(), hash)
	switch {
	case live && err != nil:
		t.Fatalf("token refused: %v", err)
	case !live && !errors.Is(err, calgate.ErrNotFound):
		t.Fatalf("revoked token: err = %v, want not found", err)
	}
}

// Two processes cache tokens; one revokes a token. It refuses the token
// before RevokeToken returns, the other as soon as the notification
// arrives; neither serves it again.
func TestPostgresCachedTokensAreRefusedOnceRevoked(t *testing.T) {
	url := createPostgresDatabase(t)
	a, b := openCachingPostgres(t, url), openCachingPostgres(t, url)
	ws, toks, hashes := tokenFixture(t, a, 2)
	for _, db := range []*DB{a, b} {
		for _, h := range hashes {
			wantToken(t, db, h, true)
		}
	}
	// The lookups are cached: a change the cache is not told of is not
	// seen yet (so the refusals below are the notification's doing).
	revokeBehindTheCache(t, a, toks[0].ID)
	wantToken(t, a, hashes[0], true)
	wantToken(t, b, hashes[0], true)

	if err := b.RevokeToken(context.Background(), ws.ID, toks[1].ID); err != nil {
		t.Fatal(err)
	}
	wantToken(t, b, hashes[1], false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := a.TokenByHash(context.Background(), hashes[1])
		if errors.Is(err, calgate.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other process still accepts the revoked token: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	// The notification emptied the cache: the change made by hand is
	// seen now too.
	wantToken(t, a, hashes[0], false)
	wantToken(t, b, hashes[0], false)
}

// While its listener is disconnected, a process looks every token up: a
// revocation it could not be told of is seen at once. Once the listener is
// back, it caches again.
func TestPostgresTokenCacheIsBypassedWhileItsListenerIsDown(t *testing.T) {
	url := createPostgresDatabase(t)
	db := openCachingPostgres(t, url)
	_, toks, hashes := tokenFixture(t, db, 2)
	wantToken(t, db, hashes[0], true)

	var n int
	if err := db.w.QueryRowContext(context.Background(), `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN `+tokenChannel+`'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("terminate the listener: %d, %v", n, err)
	}
	waitCache(t, db, false)
	revokeBehindTheCache(t, db, toks[0].ID)
	wantToken(t, db, hashes[0], false)

	waitCache(t, db, true)
	wantToken(t, db, hashes[1], true)
	revokeBehindTheCache(t, db, toks[1].ID)
	wantToken(t, db, hashes[1], true)
}

// A secret that was not found is looked up again next time: a token
// created afterwards with it works at once.
func TestPostgresTokenCacheKeepsNoRefusal(t *testing.T) {
	db := openCachingPostgres(t, createPostgresDatabase(t))
	ws, _, _ := tokenFixture(t, db, 0)
	tok, secret := calgate.NewToken(ws.ID, "ops", "late", false)
	wantToken(t, db, calgate.HashSecret(secret), false)
	if err := db.CreateToken(context.Background(), tok, calgate.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	wantToken(t, db, calgate.HashSecret(secret), true)
}

// A lookup under way when the cache is dropped may have read the token
// before its revocation: it is not kept.
func TestTokenCacheDropsALookupThatStraddlesARevocation(t *testing.T) {
	c := &tokenCache{m: map[string]cachedToken{}, live: true}
	now := time.Now()
	_, gen, ok := c.get("h", now)
	if ok {
		t.Fatal("empty cache served")
	}
	c.drop()
	c.put("h", &calgate.Principal{}, gen, now)
	if _, _, ok := c.get("h", now); ok {
		t.Fatal("a lookup begun before the drop was kept")
	}
	_, gen, _ = c.get("h", now)
	c.put("h", &calgate.Principal{}, gen, now)
	if _, _, ok := c.get("h", now); !ok {
		t.Fatal("a lookup begun after the drop was not kept")
	}
	if _, _, ok := c.get("h", now.Add(tokenCacheMaxAge)); ok {
		t.Fatal("an entry older than the maximum age was served")
	}
	c.serve(false)
	c.put("h", &calgate.Principal{}, c.gen, now)
	if _, _, ok := c.get("h", now); ok {
		t.Fatal("a cache without its listener served")
	}
}
