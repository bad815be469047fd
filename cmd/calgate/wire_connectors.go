package main

import (
	"context"
	"fmt"
	"time"

	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/connectors"
)

// connectorMaxResponse bounds one answer of an application.
const connectorMaxResponse = 8 << 20

// wireConnectors registers connectors: the "connectors" destination, the
// push job, the sweep of owed pushes, the metrics, the routes and one
// registration per application. Its settings are cfg.Connectors
// (CALGATE_CONNECTOR_*, and each application's CALGATE_<APP>_*).
func (a *app) wireConnectors(ctx context.Context) error {
	k := a.cfg.Connectors
	m, err := connectors.NewMetrics(a.metrics.Registry)
	if err != nil {
		return fmt.Errorf("connectors: metrics: %w", err)
	}
	svc := connectors.New(connectors.Deps{
		Store: a.store, Jobs: a.queue, Sealer: a.vault,
		Client:  a.httpClient(connectorMaxResponse, 30*time.Second),
		Logger:  a.logger.With("capability", "connectors"),
		Metrics: m,
		Notify:  a.dispatcher.Notify,
	}, connectors.Options{
		PublicURL:     a.cfg.PublicURL,
		SweepInterval: k.Sweep,
		Lease:         k.Lease,
		BatchDelay:    k.BatchDelay,
		RetryScale:    k.RetryScale,
		Processes:     k.Processes,

		ReconcileInterval: k.ReconcileInterval,
		ReconcileLease:    k.ReconcileLease,
	})
	for _, v := range k.vendors() {
		svc.Add(v)
	}
	svc.Register(a.queue)
	a.parts.connectors = svc
	a.server.Add(a.server.ConnectorRoutes(svc)...)
	a.server.Add(a.server.ConnectorOptionRoutes(svc)...)
	a.server.AddSchemas(api.ConnectorSchemas(svc.Types()))
	a.server.AddSchemas(api.ConnectorOptionSchemas())
	return nil
}
