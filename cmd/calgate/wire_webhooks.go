package main

import (
	"context"
	"fmt"
	"time"

	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/outbound"
	"github.com/calgate/calgate/webhooks"
)

// wireWebhooks registers the webhooks capability: the destination that
// turns events into deliveries, the attempt job, the sweep of overdue
// deliveries, the metrics and the routes. Its settings are cfg.Webhooks
// (CALGATE_WEBHOOK_*).
func (a *app) wireWebhooks(ctx context.Context) error {
	c := a.cfg.Webhooks
	m, err := webhooks.NewMetrics(a.metrics.Registry)
	if err != nil {
		return fmt.Errorf("webhooks: metrics: %w", err)
	}
	svc := webhooks.New(webhooks.Deps{
		Store:   a.store,
		Events:  a.store,
		Jobs:    a.queue,
		Sealer:  a.vault,
		Client:  a.httpClient(outbound.DefaultMaxResponseBytes, c.Timeout),
		Notify:  a.dispatcher.Notify,
		Logger:  a.logger,
		Metrics: m,
	}, webhooks.Options{
		AllowPrivate:  a.cfg.AllowPrivateTargets,
		Concurrency:   c.Concurrency,
		DisableAfter:  c.DisableAfter,
		RetryScale:    c.RetryScale,
		Timeout:       c.Timeout,
		Overdue:       max(c.Sweep, time.Second),
		SweepInterval: c.Sweep,
		Retention:     c.Retention,
	})
	a.parts.webhooks = svc
	svc.Register(a.queue)
	a.server.Add(a.server.WebhookRoutes(svc)...)
	a.server.AddSchemas(api.WebhookSchemas())
	return nil
}
