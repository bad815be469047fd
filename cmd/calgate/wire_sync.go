package main

import (
	"context"
	"time"

	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/outbound"
	"github.com/calgate/calgate/sync/caldavsync"
)

// caldavMaxResponse bounds one answer of a CalDAV server (a calendar's
// PROPFIND listing can be large).
const caldavMaxResponse = 64 << 20

// wireSync registers CalDAV targets: the "caldav" destination, its flush,
// push and reconcile jobs, the sweep of lost flushes (the outbox's lease and
// sweep interval), the periodic reconciliation
// (CALGATE_CALDAV_RECONCILE_INTERVAL, default 15m) and the
// /v1/caldav-targets routes.
func (a *app) wireSync(ctx context.Context) error {
	interval, err := envDuration("CALGATE_CALDAV_RECONCILE_INTERVAL", caldavsync.DefaultReconcileInterval, time.Second)
	if err != nil {
		return err
	}
	opts := caldavsync.Options{
		Store: a.store, Jobs: a.queue, Sealer: a.vault,
		HTTPClient:        a.httpClient(caldavMaxResponse, 30*time.Second),
		Logger:            a.logger.With("capability", "caldav"),
		ReconcileInterval: interval,
		PushLease:         a.cfg.OutboxLease,
		SweepInterval:     a.cfg.OutboxSweep,
	}
	if !a.cfg.AllowPrivateTargets {
		opts.CheckURL = func(ctx context.Context, raw string) error {
			return outbound.CheckURL(ctx, raw, false, nil)
		}
	}
	svc := caldavsync.New(opts)
	svc.Register(a.queue)
	a.server.Add(a.server.CalDAVRoutes(svc)...)
	a.server.AddSchemas(api.CalDAVSchemas())
	return nil
}
