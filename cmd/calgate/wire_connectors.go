package main

import (
	"context"
	"fmt"
	"time"

	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/google"
	"github.com/calgate/calgate/connectors/hubspot"
	"github.com/calgate/calgate/connectors/mailchimp"
	"github.com/calgate/calgate/connectors/microsoft"
	"github.com/calgate/calgate/connectors/quickbooks"
	"github.com/calgate/calgate/connectors/salesforce"
	"github.com/calgate/calgate/connectors/xero"
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
	svc.Add(quickbooks.New(k.QuickBooks))
	svc.Add(xero.New(k.Xero))
	svc.Add(salesforce.New(k.Salesforce))
	svc.Add(hubspot.New(k.HubSpot))
	svc.Add(mailchimp.New(k.Mailchimp))
	svc.Add(google.New(k.Google))
	svc.Add(microsoft.New(k.Microsoft))
	svc.Register(a.queue)
	a.parts.connectors = svc
	a.server.Add(a.server.ConnectorRoutes(svc)...)
	a.server.Add(a.server.ConnectorOptionRoutes(svc)...)
	a.server.AddSchemas(api.ConnectorSchemas(svc.Types()))
	a.server.AddSchemas(api.ConnectorOptionSchemas())
	return nil
}
