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
// sweep interval), the periodic reconciliation (cfg.CalDAV, default 15m)
// and the /v1/caldav-targets routes.
func (a *app) wireSync(ctx context.Context) error {
	deps := caldavsync.Deps{
		Store: a.store, Jobs: a.queue, Sealer: a.vault,
		Client: a.httpClient(caldavMaxResponse, 30*time.Second),
		Logger: a.logger.With("capability", "caldav"),
	}
	if !a.cfg.AllowPrivateTargets {
		deps.CheckURL = func(ctx context.Context, raw string) error {
			return outbound.CheckURL(ctx, raw, false, nil)
		}
	}
	svc := caldavsync.New(deps, caldavsync.Options{
		ReconcileInterval: a.cfg.CalDAV.ReconcileInterval,
		PushLease:         a.cfg.Outbox.Lease,
		SweepInterval:     a.cfg.Outbox.Sweep,
	})
	svc.Register(a.queue)
	a.server.Add(a.server.CalDAVRoutes(svc)...)
	a.server.AddSchemas(api.CalDAVSchemas())
	return nil
}
