package main

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/feeds"
)

// feedLocalCacheBytes bounds the feed bodies each process keeps in memory
// beside the ready copies in Redis.
const feedLocalCacheBytes = 256 << 20

// wireFeeds registers the feeds capability: the destination that keeps
// ready copies current, its render job, the routes and the per-entry .ics.
// cfg.Feeds.Refresh (CALGATE_FEED_REFRESH) is the poll interval announced
// to subscribers and the max-age of served feeds.
func (a *app) wireFeeds(ctx context.Context) error {
	cache := feeds.NewCache(a.redis, feeds.DefaultTTL, feedLocalCacheBytes)
	svc := feeds.New(feeds.Deps{Store: a.store, Cache: cache, Jobs: a.queue, Sealer: a.vault, Logger: a.logger},
		feeds.Options{PublicURL: a.cfg.PublicURL, Refresh: a.cfg.Feeds.Refresh})
	a.parts.feeds = svc
	svc.Register(a.queue)
	a.server.Add(a.server.FeedsRoutes(svc)...)
	a.server.AddSchemas(api.FeedSchemas())
	a.server.EntryICS = a.server.EntryICSHandler(svc)
	return registerFeedMetrics(a.metrics.Registry, svc)
}

// registerFeedMetrics exposes the feed service's counters.
func registerFeedMetrics(r *prometheus.Registry, svc *feeds.Service) error {
	counters := []struct {
		name, help string
		get        func(feeds.Stats) int64
	}{
		{"calgate_feed_renders_total", "Feeds rendered, by workers and on the spot.", func(s feeds.Stats) int64 { return s.Renders }},
		{"calgate_feed_renders_on_the_spot_total", "Feed GETs that found no ready copy and rendered one.", func(s feeds.Stats) int64 { return s.OnTheSpot }},
		{"calgate_feed_cache_hits_total", "Feed GETs answered from a ready copy.", func(s feeds.Stats) int64 { return s.Hits }},
		{"calgate_feed_render_requests_total", "Feed renders asked for by entry events.", func(s feeds.Stats) int64 { return s.Enqueued }},
	}
	for _, c := range counters {
		get := c.get
		if err := r.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help},
			func() float64 { return float64(get(svc.Stats())) })); err != nil {
			return fmt.Errorf("feeds: register metric %s: %w", c.name, err)
		}
	}
	return nil
}
