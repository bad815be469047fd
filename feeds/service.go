package feeds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calgate/calgate"
)

// Store is what the feeds need from the database.
type Store interface {
	calgate.FeedStore
	Entries(ctx context.Context, workspaceID string, f calgate.EntryFilter) ([]*calgate.Entry, string, error)
	Entry(ctx context.Context, workspaceID string, kind calgate.Kind, id string, includeArchived bool) (*calgate.Entry, error)
	Workspace(ctx context.Context, id string) (*calgate.Workspace, error)
	// ResourcesByName returns the named resources that are in the
	// catalogue (an availability feed reads their capacity).
	ResourcesByName(ctx context.Context, workspaceID string, names []string) (map[string]*calgate.Resource, error)
}

// Sealer encrypts the feeds' URL tokens at rest (the gateway's vault).
type Sealer interface {
	Seal(plaintext []byte) string
	Open(sealed string) ([]byte, error)
}

// TokenBytes is the number of random bytes of a feed URL's token (160
// bits).
const TokenBytes = 20

// Deps are what a Service works with: the database, the ready copies,
// the queue, the vault and the logger.
type Deps struct {
	Store  Store
	Cache  *Cache
	Jobs   calgate.Jobs
	Sealer Sealer
	Logger *slog.Logger
}

// Options are a Service's settings; zero values take the defaults.
type Options struct {
	// PublicURL is the base of the feed URLs handed out.
	PublicURL string
	// Refresh is the poll interval announced to subscribers and the
	// Cache-Control max-age (ical.DefaultRefresh when zero).
	Refresh time.Duration
	// Now returns the current time (time.Now when nil).
	Now func() time.Time
	// Memo is how long a process trusts what it last read from Redis
	// about a token (its feed and the ready copy's ETag) before asking
	// again; DefaultMemo when zero, never when negative. Another API
	// process may serve a rotated URL or the previous copy for this long.
	Memo time.Duration
}

// DefaultMemo is the default Options.Memo.
const DefaultMemo = time.Second

// maxMemo bounds the tokens remembered at once.
const maxMemo = 10000

// memo is what a process last read from Redis about a token.
type memo struct {
	feedID string
	head   head
	at     time.Time
}

// Stats counts what the service did since it started.
type Stats struct {
	// Renders counts feeds rendered, by workers and on the spot.
	Renders int64
	// OnTheSpot counts GETs that found no ready copy and rendered one.
	OnTheSpot int64
	// Hits counts GETs answered from a ready copy.
	Hits int64
	// Enqueued counts render jobs asked for by entry events.
	Enqueued int64
}

// Service manages feeds, renders them and serves their ready copies.
type Service struct {
	store   Store
	cache   *Cache
	jobs    calgate.Jobs
	sealer  Sealer
	base    string
	refresh time.Duration
	logger  *slog.Logger
	now     func() time.Time

	memoTTL time.Duration
	memoMu  sync.Mutex
	memos   map[string]memo // by token hash

	renders, onTheSpot, hits, enqueued atomic.Int64
}

// New returns a feeds service working with d, configured by opts.
func New(d Deps, opts Options) *Service {
	s := &Service{store: d.Store, cache: d.Cache, jobs: d.Jobs, sealer: d.Sealer,
		base: strings.TrimRight(opts.PublicURL, "/"), refresh: opts.Refresh, logger: d.Logger, now: opts.Now,
		memoTTL: opts.Memo, memos: map[string]memo{}}
	if s.memoTTL == 0 {
		s.memoTTL = DefaultMemo
	}
	if s.refresh <= 0 {
		s.refresh = time.Hour
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Refresh is the poll interval the feeds announce.
func (s *Service) Refresh() time.Duration { return s.refresh }

// Stats returns the service's counters.
func (s *Service) Stats() Stats {
	return Stats{Renders: s.renders.Load(), OnTheSpot: s.onTheSpot.Load(), Hits: s.hits.Load(), Enqueued: s.enqueued.Load()}
}

// url returns the subscribable URL of a token.
func (s *Service) url(token string) string { return s.base + "/feeds/" + token + ".ics" }

// viewOf shows a feed with its URL, recovered from the sealed token.
func (s *Service) viewOf(f *calgate.Feed) View {
	url := ""
	if len(f.TokenSealed) > 0 {
		if tok, err := s.sealer.Open(string(f.TokenSealed)); err == nil {
			url = s.url(string(tok))
		} else {
			s.logger.Warn("feeds: cannot recover feed URL", "feed", f.ID, "err", err)
		}
	}
	return view(f, url)
}

// newToken gives f a fresh URL token.
func (s *Service) newToken(f *calgate.Feed) {
	tok := calgate.NewSecret(TokenBytes)
	f.TokenHash = calgate.HashSecret(tok)
	f.TokenSealed = []byte(s.sealer.Seal([]byte(tok)))
}

// Create makes a feed in the workspace from in.
func (s *Service) Create(ctx context.Context, ws *calgate.Workspace, in *Input) (View, error) {
	f := &calgate.Feed{ID: calgate.NewID("feed"), WorkspaceID: ws.ID, Timezone: ws.Timezone, IncludeCancelled: true,
		Filter: calgate.FeedFilter{PastDays: calgate.DefaultFeedPastDays}}
	if err := in.apply(f); err != nil {
		return View{}, err
	}
	s.newToken(f)
	now := s.now()
	f.CreatedAt, f.UpdatedAt = now, now
	if err := s.store.CreateFeed(ctx, f); err != nil {
		return View{}, err
	}
	// Have it ready before the first subscriber asks.
	s.changed(ctx, f)
	s.logger.Info("feed created", "workspace", ws.ID, "feed", f.ID)
	return s.viewOf(f), nil
}

// Get shows one feed.
func (s *Service) Get(ctx context.Context, workspaceID, id string) (View, error) {
	f, err := s.store.Feed(ctx, workspaceID, id)
	if err != nil {
		return View{}, err
	}
	return s.viewOf(f), nil
}

// List shows a page of the workspace's feeds.
func (s *Service) List(ctx context.Context, workspaceID, cursor string, limit int) ([]View, string, error) {
	list, next, err := s.store.Feeds(ctx, workspaceID, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]View, len(list))
	for i, f := range list {
		out[i] = s.viewOf(f)
	}
	return out, next, nil
}

// Update changes the fields set in in and renders the feed again.
func (s *Service) Update(ctx context.Context, workspaceID, id string, in *Input) (View, error) {
	f, err := s.store.Feed(ctx, workspaceID, id)
	if err != nil {
		return View{}, err
	}
	if err := in.apply(f); err != nil {
		return View{}, err
	}
	f.UpdatedAt = s.now()
	if err := s.store.UpdateFeed(ctx, f); err != nil {
		return View{}, err
	}
	s.changed(ctx, f)
	return s.viewOf(f), nil
}

// Rotate gives the feed a new URL; the old one answers 404 at once.
func (s *Service) Rotate(ctx context.Context, workspaceID, id string) (View, error) {
	f, err := s.store.Feed(ctx, workspaceID, id)
	if err != nil {
		return View{}, err
	}
	oldHash := f.TokenHash
	s.forget(oldHash)
	s.newToken(f)
	f.UpdatedAt = s.now()
	if err := s.store.UpdateFeed(ctx, f); err != nil {
		return View{}, err
	}
	if err := s.cache.forgetToken(ctx, oldHash); err != nil {
		// The database no longer knows the token; a cached mapping would
		// keep it alive, so the caller must hear of it.
		return View{}, fmt.Errorf("feeds: rotate %s: %w", id, err)
	}
	s.logger.Info("feed URL rotated", "workspace", workspaceID, "feed", id)
	return s.viewOf(f), nil
}

// Delete removes the feed; its URL answers 404 at once.
func (s *Service) Delete(ctx context.Context, workspaceID, id string) error {
	f, err := s.store.Feed(ctx, workspaceID, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteFeed(ctx, workspaceID, id); err != nil {
		return err
	}
	s.forget(f.TokenHash)
	if err := s.cache.forgetToken(ctx, f.TokenHash); err != nil {
		return fmt.Errorf("feeds: delete %s: %w", id, err)
	}
	if err := s.cache.drop(ctx, id); err != nil {
		s.logger.Warn("feeds: drop ready copy", "feed", id, "err", err)
	}
	return nil
}

// changed marks a feed's ready copy out of date and asks for a render.
func (s *Service) changed(ctx context.Context, f *calgate.Feed) {
	feedID := f.ID
	if err := s.cache.bump(ctx, feedID); err != nil {
		s.logger.Warn("feeds: mark changed", "feed", feedID, "err", err)
	}
	if err := s.enqueueRender(ctx, f); err != nil {
		// Without a render job the old copy would stay: drop it so that
		// the next GET renders on the spot.
		s.logger.Warn("feeds: enqueue render", "feed", feedID, "err", err)
		if err := s.cache.drop(ctx, feedID); err != nil {
			s.logger.Warn("feeds: drop ready copy", "feed", feedID, "err", err)
		}
	}
}

// Ready returns the ready copy of the feed a URL token opens, rendering it
// when there is none. An unknown or rotated token gives calgate.ErrNotFound.
func (s *Service) Ready(ctx context.Context, token string) (*Ready, error) {
	if token == "" || len(token) > 128 {
		return nil, calgate.ErrNotFound
	}
	hash := calgate.HashSecret(token)
	if m, ok := s.recall(hash); ok {
		if r, err := s.cache.ready(ctx, m.feedID, m.head); err == nil {
			s.hits.Add(1)
			return r, nil
		}
	}
	id, h, err := s.cache.byToken(ctx, hash)
	switch {
	case errors.Is(err, errMiss):
		f, err := s.feedByToken(ctx, hash)
		if err != nil {
			return nil, err
		}
		id = f.ID
		if h, err = s.cache.head(ctx, id); err != nil && !errors.Is(err, errMiss) {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	if h.etag != "" {
		if r, err := s.cache.ready(ctx, id, h); err == nil {
			s.hits.Add(1)
			s.remember(hash, id, h)
			return r, nil
		} else if !errors.Is(err, errMiss) {
			return nil, err
		}
	}
	f, err := s.store.FeedByTokenHash(ctx, hash)
	if err != nil {
		return nil, fmt.Errorf("feeds: ready copy: %w", err)
	}
	s.onTheSpot.Add(1)
	r, _, err := s.renderAndStore(ctx, f, true)
	return r, err
}

// feedByToken finds the feed of a token hash in the database and caches
// the mapping. The database is read again after caching, so a rotation
// that committed in between removes the mapping: a rotated URL never
// comes back.
func (s *Service) feedByToken(ctx context.Context, hash string) (*calgate.Feed, error) {
	f, err := s.store.FeedByTokenHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	if err := s.cache.setToken(ctx, hash, f.ID); err != nil {
		return nil, err
	}
	if _, err := s.store.FeedByTokenHash(ctx, hash); err != nil {
		if ferr := s.cache.forgetToken(ctx, hash); ferr != nil {
			return nil, ferr
		}
		return nil, err
	}
	return f, nil
}

// renderAndStore renders a feed and keeps the result as its ready copy.
func (s *Service) renderAndStore(ctx context.Context, f *calgate.Feed, onlyIfAbsent bool) (*Ready, bool, error) {
	body, err := s.Render(ctx, f)
	if err != nil {
		return nil, false, err
	}
	return s.cache.store(ctx, f.ID, body, s.now(), onlyIfAbsent)
}

// recall returns what this process read about a token within the memo
// time.
func (s *Service) recall(hash string) (memo, bool) {
	if s.memoTTL < 0 {
		return memo{}, false
	}
	s.memoMu.Lock()
	defer s.memoMu.Unlock()
	m, ok := s.memos[hash]
	if !ok || s.now().Sub(m.at) > s.memoTTL {
		return memo{}, false
	}
	return m, true
}

// remember keeps what was read about a token for the memo time.
func (s *Service) remember(hash, feedID string, h head) {
	if s.memoTTL < 0 {
		return
	}
	s.memoMu.Lock()
	defer s.memoMu.Unlock()
	if len(s.memos) >= maxMemo {
		clear(s.memos)
	}
	s.memos[hash] = memo{feedID: feedID, head: h, at: s.now()}
}

// forget drops what this process remembers about a token.
func (s *Service) forget(hash string) {
	s.memoMu.Lock()
	defer s.memoMu.Unlock()
	delete(s.memos, hash)
}
