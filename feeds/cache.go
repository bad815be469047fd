package feeds

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keys. A ready copy is stored as its small head (ETag and
// Last-Modified, read on every request) and its body (read only by a
// process that does not hold those bytes yet).
const (
	keyPrefix = "calgate:feeds:"
	keyHead   = keyPrefix + "head:" // feed id → "etag lastmod-unix-nanos"
	keyBody   = keyPrefix + "body:" // feed id → rendered bytes
	keyGen    = keyPrefix + "gen:"  // feed id → changes seen by the destination
	keyURL    = keyPrefix + "url:"  // token hash → feed id
)

// DefaultTTL is how long a ready copy lives in Redis; a feed nobody reads
// and nothing changes is rendered again on its next GET.
const DefaultTTL = 24 * time.Hour

// Ready is a rendered feed as served: the bytes and their validators.
type Ready struct {
	Body         []byte
	ETag         string // strong, quoted
	LastModified time.Time

	gzOnce sync.Once
	gz     []byte
}

// Gzipped returns the body compressed with gzip, computed once.
func (r *Ready) Gzipped() []byte {
	r.gzOnce.Do(func() {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		_, _ = zw.Write(r.Body)
		_ = zw.Close()
		r.gz = b.Bytes()
	})
	return r.gz
}

// etagOf is the strong ETag of a body: a hash of its bytes.
func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// head is the small part of a ready copy.
type head struct {
	etag    string
	lastMod time.Time
}

func (h head) String() string {
	return h.etag + " " + strconv.FormatInt(h.lastMod.UnixNano(), 10)
}

func parseHead(s string) (head, bool) {
	etag, ts, ok := strings.Cut(s, " ")
	if !ok {
		return head{}, false
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return head{}, false
	}
	return head{etag: etag, lastMod: time.Unix(0, n).UTC()}, true
}

// Cache keeps ready copies in Redis, and the bytes of recent versions in
// process memory by ETag (content-addressed, so never stale).
type Cache struct {
	rdb redis.UniversalClient
	ttl time.Duration

	lookup *redis.Script

	mu       sync.Mutex
	local    map[string]*Ready // by ETag
	order    []string
	size     int
	maxLocal int
}

// NewCache returns a cache over rdb. ttl bounds each ready copy's life
// (DefaultTTL when zero); maxLocalBytes bounds the bodies held in memory.
func NewCache(rdb redis.UniversalClient, ttl time.Duration, maxLocalBytes int) *Cache {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Cache{rdb: rdb, ttl: ttl, local: map[string]*Ready{}, maxLocal: maxLocalBytes,
		// One round trip: the feed id of a token hash and that feed's head.
		lookup: redis.NewScript(`local id = redis.call('GET', KEYS[1])
if not id then return false end
local h = redis.call('GET', ARGV[1] .. id)
if not h then return {id} end
return {id, h}`)}
}

// errMiss means Redis holds no such key.
var errMiss = errors.New("feeds: not cached")

// byToken returns the feed id cached for a token hash and that feed's head
// (zero when there is no ready copy). errMiss: the token is not cached.
func (c *Cache) byToken(ctx context.Context, tokenHash string) (string, head, error) {
	res, err := c.lookup.Run(ctx, c.rdb, []string{keyURL + tokenHash}, keyHead).Slice()
	if errors.Is(err, redis.Nil) {
		return "", head{}, errMiss
	}
	if err != nil {
		return "", head{}, fmt.Errorf("feeds: cache lookup: %w", err)
	}
	id, _ := res[0].(string)
	if len(res) < 2 {
		return id, head{}, nil
	}
	s, _ := res[1].(string)
	h, _ := parseHead(s)
	return id, h, nil
}

// setToken caches the feed id of a token hash.
func (c *Cache) setToken(ctx context.Context, tokenHash, feedID string) error {
	if err := c.rdb.Set(ctx, keyURL+tokenHash, feedID, c.ttl).Err(); err != nil {
		return fmt.Errorf("feeds: cache token: %w", err)
	}
	return nil
}

// forgetToken drops the cached feed id of a token hash.
func (c *Cache) forgetToken(ctx context.Context, tokenHash string) error {
	if err := c.rdb.Del(ctx, keyURL+tokenHash).Err(); err != nil {
		return fmt.Errorf("feeds: forget token: %w", err)
	}
	return nil
}

// head returns the head of a feed's ready copy; errMiss when there is none.
func (c *Cache) head(ctx context.Context, feedID string) (head, error) {
	s, err := c.rdb.Get(ctx, keyHead+feedID).Result()
	if errors.Is(err, redis.Nil) {
		return head{}, errMiss
	}
	if err != nil {
		return head{}, fmt.Errorf("feeds: cache head %s: %w", feedID, err)
	}
	h, ok := parseHead(s)
	if !ok {
		return head{}, errMiss
	}
	return h, nil
}

// ready returns the ready copy of a feed with the given head, from memory
// or Redis; errMiss when Redis holds other bytes or none.
func (c *Cache) ready(ctx context.Context, feedID string, h head) (*Ready, error) {
	if r := c.fromLocal(h.etag); r != nil {
		if r.LastModified.Equal(h.lastMod) {
			return r, nil
		}
		return &Ready{Body: r.Body, ETag: r.ETag, LastModified: h.lastMod}, nil
	}
	body, err := c.rdb.Get(ctx, keyBody+feedID).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, errMiss
	}
	if err != nil {
		return nil, fmt.Errorf("feeds: cache body %s: %w", feedID, err)
	}
	if etagOf(body) != h.etag {
		// Replaced between the two reads: the caller renders again.
		return nil, errMiss
	}
	r := &Ready{Body: body, ETag: h.etag, LastModified: h.lastMod}
	c.toLocal(r)
	return r, nil
}

// store keeps a freshly rendered body as the feed's ready copy. When the
// bytes equal the current copy, only the lifetime is renewed and
// Last-Modified stays. onlyIfAbsent leaves an existing copy alone (a
// render on the spot must not replace a newer one from a worker). It
// returns the copy now current and whether the bytes changed.
func (c *Cache) store(ctx context.Context, feedID string, body []byte, now time.Time, onlyIfAbsent bool) (*Ready, bool, error) {
	etag := etagOf(body)
	old, err := c.head(ctx, feedID)
	switch {
	case err == nil && old.etag == etag:
		pipe := c.rdb.Pipeline()
		pipe.Expire(ctx, keyHead+feedID, c.ttl)
		pipe.Expire(ctx, keyBody+feedID, c.ttl)
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, false, fmt.Errorf("feeds: renew %s: %w", feedID, err)
		}
		r := &Ready{Body: body, ETag: etag, LastModified: old.lastMod}
		c.toLocal(r)
		return r, false, nil
	case err == nil && onlyIfAbsent:
		if r, err := c.ready(ctx, feedID, old); err == nil {
			return r, false, nil
		}
	case err != nil && !errors.Is(err, errMiss):
		return nil, false, err
	}
	h := head{etag: etag, lastMod: now.UTC().Truncate(time.Second)}
	pipe := c.rdb.TxPipeline()
	pipe.Set(ctx, keyBody+feedID, body, c.ttl)
	pipe.Set(ctx, keyHead+feedID, h.String(), c.ttl)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, false, fmt.Errorf("feeds: store %s: %w", feedID, err)
	}
	r := &Ready{Body: body, ETag: etag, LastModified: h.lastMod}
	c.toLocal(r)
	return r, true, nil
}

// drop removes a feed's ready copy and change counter.
func (c *Cache) drop(ctx context.Context, feedID string) error {
	if err := c.rdb.Del(ctx, keyHead+feedID, keyBody+feedID, keyGen+feedID).Err(); err != nil {
		return fmt.Errorf("feeds: drop %s: %w", feedID, err)
	}
	return nil
}

// bump counts a change that concerns the feed.
func (c *Cache) bump(ctx context.Context, feedID string) error {
	pipe := c.rdb.Pipeline()
	pipe.Incr(ctx, keyGen+feedID)
	pipe.Expire(ctx, keyGen+feedID, c.ttl)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("feeds: count change of %s: %w", feedID, err)
	}
	return nil
}

// gen returns the feed's change counter.
func (c *Cache) gen(ctx context.Context, feedID string) (int64, error) {
	n, err := c.rdb.Get(ctx, keyGen+feedID).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("feeds: change count of %s: %w", feedID, err)
	}
	return n, nil
}

func (c *Cache) fromLocal(etag string) *Ready {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.local[etag]
}

// toLocal keeps a body in memory, evicting the oldest beyond the bound.
func (c *Cache) toLocal(r *Ready) {
	if len(r.Body) > c.maxLocal {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.local[r.ETag]; ok {
		return
	}
	c.local[r.ETag] = r
	c.order = append(c.order, r.ETag)
	c.size += len(r.Body)
	for c.size > c.maxLocal && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		if o, ok := c.local[old]; ok {
			c.size -= len(o.Body)
			delete(c.local, old)
		}
	}
}
