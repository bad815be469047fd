package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/calgate/calgate"
)

// Tokens cached on PostgreSQL. Every API request looks its token up; at a
// thousand requests a second that lookup was a quarter of the statements
// the database ran. A process that caches tokens (DB.CacheTokens) keeps the
// principals it found in memory, and a revocation reaches every such
// process through PostgreSQL's LISTEN/NOTIFY:
//
//   - RevokeToken notifies tokenChannel in its transaction, so every
//     listening process drops its cache when the revocation commits, and
//     the revoking process drops its own before RevokeToken returns.
//   - The cache serves only while its listener is connected. When the
//     connection is lost, the cache is emptied and bypassed until the
//     listener is back, so a revocation is never missed for want of a
//     notification.
//   - A lookup that was under way when the cache was dropped is not kept
//     (generation check): it may have read the token before the revocation.
//   - An entry is kept at most tokenCacheMaxAge, so a change made to the
//     tokens table by hand is seen within that time.
//
// Only found tokens are kept: an unknown or revoked secret is looked up
// each time, so a new token works at once and guessing fills no memory.
// Whatever else makes a token invalid (its workspace renamed or deleted)
// must notify tokenChannel too.
const (
	tokenChannel      = "calgate_tokens"
	tokenCacheMaxAge  = time.Minute
	tokenCacheMaxSize = 10000
	// tokenListenRetry is the wait before the listener connects again.
	tokenListenRetry = time.Second
)

// tokenCache is the principals found by secret hash, shared by a DB and
// the DBs WithPool makes from it.
type tokenCache struct {
	mu   sync.Mutex
	live bool   // the listener is connected: entries may be served
	gen  uint64 // bumped on every drop
	m    map[string]cachedToken

	// stop ends the listener; done is closed when it has ended.
	stop context.CancelFunc
	done chan struct{}
}

type cachedToken struct {
	p  calgate.Principal
	at time.Time
}

// get returns the principal cached for hash, and the generation a lookup
// made now must carry to be kept.
func (c *tokenCache) get(hash string, now time.Time) (*calgate.Principal, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live {
		return nil, c.gen, false
	}
	e, ok := c.m[hash]
	if !ok || now.Sub(e.at) >= tokenCacheMaxAge {
		return nil, c.gen, false
	}
	p := e.p
	return &p, c.gen, true
}

// put keeps p unless the cache was dropped since the lookup began (gen).
func (c *tokenCache) put(hash string, p *calgate.Principal, gen uint64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || c.gen != gen {
		return
	}
	if len(c.m) >= tokenCacheMaxSize {
		clear(c.m)
	}
	c.m[hash] = cachedToken{p: *p, at: at}
}

// drop empties the cache.
func (c *tokenCache) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	c.gen++
}

// serve empties the cache and says whether it may fill again: only while
// the listener is connected.
func (c *tokenCache) serve(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	c.gen++
	c.live = live
}

// CacheTokens makes TokenByHash keep the tokens it finds, on PostgreSQL
// (see above), until Close; a no-op on SQLite, where the lookup runs in
// process. Call it before WithPool: the DBs made from this one share the
// cache.
func (db *DB) CacheTokens() {
	if !db.d.postgres || db.tokens != nil {
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	c := &tokenCache{m: map[string]cachedToken{}, stop: stop, done: make(chan struct{})}
	db.tokens, db.ownsTokens = c, true
	go func() {
		defer close(c.done)
		for {
			err := db.listenTokens(ctx, c)
			c.serve(false)
			if ctx.Err() != nil {
				return
			}
			db.logger.Warn("store: token cache off until its listener reconnects", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(tokenListenRetry):
			}
		}
	}()
}

// listenTokens holds one connection that listens on tokenChannel, serving
// the cache while it does; it drops the cache on every notification. The
// connection is closed afterwards, never handed back to the pool.
func (db *DB) listenTokens(ctx context.Context, c *tokenCache) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: token cache: unexpected driver connection %T", dc)
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+tokenChannel); err != nil {
			return errors.Join(err, driver.ErrBadConn)
		}
		c.serve(true)
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				return errors.Join(err, driver.ErrBadConn)
			}
			c.drop()
		}
	})
}

// stopTokens ends the listener of the cache.
func (db *DB) stopTokens() {
	if c := db.tokens; c != nil {
		c.stop()
		<-c.done
	}
}
