package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/outbound"
	"github.com/calgate/calgate/webhooks"
)

// wireWebhooks registers the webhooks capability: the destination that
// turns events into deliveries, the attempt job, the sweep of overdue
// deliveries, the metrics and the routes. Settings (environment):
//
//	CALGATE_WEBHOOK_TIMEOUT        one call's limit (default 15s)
//	CALGATE_WEBHOOK_CONCURRENCY    calls in flight per endpoint (default 8)
//	CALGATE_WEBHOOK_DISABLE_AFTER  failure streak that disables an endpoint (default 120h)
//	CALGATE_WEBHOOK_SWEEP          how often overdue deliveries are re-enqueued (default 5s)
//	CALGATE_WEBHOOK_RETRY_SCALE    factor on the retry schedule (default 1; for tests)
func (a *app) wireWebhooks(ctx context.Context) error {
	timeout, err := envDuration("CALGATE_WEBHOOK_TIMEOUT", webhooks.DefaultTimeout, time.Millisecond)
	if err != nil {
		return err
	}
	disableAfter, err := envDuration("CALGATE_WEBHOOK_DISABLE_AFTER", webhooks.DefaultDisableAfter, time.Millisecond)
	if err != nil {
		return err
	}
	sweep, err := envDuration("CALGATE_WEBHOOK_SWEEP", webhooks.DefaultSweepInterval, time.Millisecond)
	if err != nil {
		return err
	}
	scale, err := strconv.ParseFloat(env("CALGATE_WEBHOOK_RETRY_SCALE", "1"), 64)
	if err != nil || scale <= 0 {
		return fmt.Errorf("CALGATE_WEBHOOK_RETRY_SCALE must be a positive number, not %q", env("CALGATE_WEBHOOK_RETRY_SCALE", ""))
	}
	m, err := webhooks.NewMetrics(a.metrics.Registry)
	if err != nil {
		return fmt.Errorf("webhooks: metrics: %w", err)
	}
	svc := webhooks.New(webhooks.Options{
		Store:        a.store,
		Events:       a.store,
		Jobs:         a.queue,
		Sealer:       a.vault,
		Client:       a.httpClient(outbound.DefaultMaxResponseBytes, timeout),
		AllowPrivate: a.cfg.AllowPrivateTargets,
		Notify:       a.dispatcher.Notify,
		Logger:       a.logger,
		Metrics:      m,
		Concurrency:  envInt("CALGATE_WEBHOOK_CONCURRENCY", webhooks.DefaultConcurrency),
		DisableAfter: disableAfter,
		RetryScale:   scale,
		Timeout:      timeout,
		Overdue:      max(sweep, time.Second),
	})
	a.parts.webhooks = svc
	svc.Register(a.queue, sweep)
	a.server.Add(a.server.WebhookRoutes(svc)...)
	a.server.AddSchemas(api.WebhookSchemas())
	return nil
}
