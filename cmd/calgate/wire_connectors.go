package main

import (
	"context"
	"fmt"
	"strconv"
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
// registration per application. Settings (environment):
//
//	CALGATE_CONNECTOR_SWEEP        how often owed pushes are looked for (default 5s)
//	CALGATE_CONNECTOR_LEASE        how long a worker holds a push (default 2m)
//	CALGATE_CONNECTOR_RETRY_SCALE  factor on the retry schedule (default 1; for tests)
//	CALGATE_CONNECTOR_PROCESSES    worker processes sharing the applications' rate limits (default 1)
//	CALGATE_CONNECTOR_BATCH_DELAY  how long a change waits for others to share calls (default 1s)
//	CALGATE_<APP>_CLIENT_ID, _CLIENT_SECRET, _AUTH_URL, _TOKEN_URL, _API_URL
//	                               each application's OAuth app and endpoints (QUICKBOOKS, XERO,
//	                               HUBSPOT, MAILCHIMP; MAILCHIMP_API_URL has {dc})
//	CALGATE_XERO_SCOPES, CALGATE_SALESFORCE_SCOPES, CALGATE_HUBSPOT_SCOPES
//	CALGATE_SALESFORCE_CLIENT_ID, _CLIENT_SECRET, _LOGIN_URL, _DAILY_CALLS
//	CALGATE_HUBSPOT_BURST, CALGATE_HUBSPOT_DAILY  HubSpot's limits per account
//	CALGATE_MAILCHIMP_METADATA_URL                Mailchimp's OAuth metadata endpoint
//	CALGATE_GOOGLE_CLIENT_ID, _CLIENT_SECRET, _AUTH_URL, _TOKEN_URL, _API_URL
//	                               the Google OAuth client and endpoints (Google Calendar)
//	CALGATE_MICROSOFT_CLIENT_ID, _CLIENT_SECRET, _TENANT, _AUTH_URL, _TOKEN_URL, _API_URL, _SCOPES
//	                               the Microsoft app registration and endpoints (Microsoft 365 calendars)
//	CALGATE_CONNECTOR_RECONCILE_INTERVAL  how often live calendars are reconciled (default 15m)
//	CALGATE_CONNECTOR_RECONCILE_LEASE     how long a worker holds a reconciliation (default 10m)
func (a *app) wireConnectors(ctx context.Context) error {
	sweep, err := envDuration("CALGATE_CONNECTOR_SWEEP", connectors.DefaultSweepInterval, 10*time.Millisecond)
	if err != nil {
		return err
	}
	lease, err := envDuration("CALGATE_CONNECTOR_LEASE", connectors.DefaultLease, 100*time.Millisecond)
	if err != nil {
		return err
	}
	scale, err := strconv.ParseFloat(env("CALGATE_CONNECTOR_RETRY_SCALE", "1"), 64)
	if err != nil || scale <= 0 {
		return fmt.Errorf("CALGATE_CONNECTOR_RETRY_SCALE must be a positive number, not %q", env("CALGATE_CONNECTOR_RETRY_SCALE", ""))
	}
	batchDelay, err := envDuration("CALGATE_CONNECTOR_BATCH_DELAY", connectors.DefaultBatchDelay, time.Millisecond)
	if err != nil {
		return err
	}
	reconcile, err := envDuration("CALGATE_CONNECTOR_RECONCILE_INTERVAL", connectors.DefaultReconcileInterval, 100*time.Millisecond)
	if err != nil {
		return err
	}
	reconcileLease, err := envDuration("CALGATE_CONNECTOR_RECONCILE_LEASE", connectors.DefaultReconcileLease, time.Second)
	if err != nil {
		return err
	}
	m, err := connectors.NewMetrics(a.metrics.Registry)
	if err != nil {
		return fmt.Errorf("connectors: metrics: %w", err)
	}
	svc := connectors.New(connectors.Options{
		Store: a.store, Jobs: a.queue, Sealer: a.vault,
		HTTPClient:    a.httpClient(connectorMaxResponse, 30*time.Second),
		PublicURL:     a.cfg.PublicURL,
		Logger:        a.logger.With("capability", "connectors"),
		Metrics:       m,
		Notify:        a.dispatcher.Notify,
		SweepInterval: sweep,
		Lease:         lease,
		BatchDelay:    batchDelay,
		RetryScale:    scale,
		Processes:     max(1, envInt("CALGATE_CONNECTOR_PROCESSES", 1)),

		ReconcileInterval: reconcile,
		ReconcileLease:    reconcileLease,
	})
	svc.Add(quickbooks.New(quickbooks.Config{
		ClientID: env("CALGATE_QUICKBOOKS_CLIENT_ID", ""), ClientSecret: env("CALGATE_QUICKBOOKS_CLIENT_SECRET", ""),
		AuthURL: env("CALGATE_QUICKBOOKS_AUTH_URL", ""), TokenURL: env("CALGATE_QUICKBOOKS_TOKEN_URL", ""), APIURL: env("CALGATE_QUICKBOOKS_API_URL", ""),
	}))
	svc.Add(xero.New(xero.Config{
		ClientID: env("CALGATE_XERO_CLIENT_ID", ""), ClientSecret: env("CALGATE_XERO_CLIENT_SECRET", ""),
		AuthURL: env("CALGATE_XERO_AUTH_URL", ""), TokenURL: env("CALGATE_XERO_TOKEN_URL", ""), APIURL: env("CALGATE_XERO_API_URL", ""),
		Scopes: env("CALGATE_XERO_SCOPES", ""),
	}))
	svc.Add(salesforce.New(salesforce.Config{
		ClientID: env("CALGATE_SALESFORCE_CLIENT_ID", ""), ClientSecret: env("CALGATE_SALESFORCE_CLIENT_SECRET", ""),
		LoginURL: env("CALGATE_SALESFORCE_LOGIN_URL", ""), Scopes: env("CALGATE_SALESFORCE_SCOPES", ""),
		DailyCalls: envInt("CALGATE_SALESFORCE_DAILY_CALLS", 0),
	}))
	svc.Add(hubspot.New(hubspot.Config{
		ClientID: env("CALGATE_HUBSPOT_CLIENT_ID", ""), ClientSecret: env("CALGATE_HUBSPOT_CLIENT_SECRET", ""),
		AuthURL: env("CALGATE_HUBSPOT_AUTH_URL", ""), TokenURL: env("CALGATE_HUBSPOT_TOKEN_URL", ""), APIURL: env("CALGATE_HUBSPOT_API_URL", ""),
		Scopes: env("CALGATE_HUBSPOT_SCOPES", ""), Burst: envInt("CALGATE_HUBSPOT_BURST", 0), Daily: envInt("CALGATE_HUBSPOT_DAILY", 0),
	}))
	svc.Add(mailchimp.New(mailchimp.Config{
		ClientID: env("CALGATE_MAILCHIMP_CLIENT_ID", ""), ClientSecret: env("CALGATE_MAILCHIMP_CLIENT_SECRET", ""),
		AuthURL: env("CALGATE_MAILCHIMP_AUTH_URL", ""), TokenURL: env("CALGATE_MAILCHIMP_TOKEN_URL", ""),
		MetadataURL: env("CALGATE_MAILCHIMP_METADATA_URL", ""), APIURL: env("CALGATE_MAILCHIMP_API_URL", ""),
	}))
	svc.Add(google.New(google.Config{
		ClientID: env("CALGATE_GOOGLE_CLIENT_ID", ""), ClientSecret: env("CALGATE_GOOGLE_CLIENT_SECRET", ""),
		AuthURL: env("CALGATE_GOOGLE_AUTH_URL", ""), TokenURL: env("CALGATE_GOOGLE_TOKEN_URL", ""), APIURL: env("CALGATE_GOOGLE_API_URL", ""),
	}))
	svc.Add(microsoft.New(microsoft.Config{
		ClientID: env("CALGATE_MICROSOFT_CLIENT_ID", ""), ClientSecret: env("CALGATE_MICROSOFT_CLIENT_SECRET", ""),
		Tenant: env("CALGATE_MICROSOFT_TENANT", ""), AuthURL: env("CALGATE_MICROSOFT_AUTH_URL", ""), TokenURL: env("CALGATE_MICROSOFT_TOKEN_URL", ""),
		APIURL: env("CALGATE_MICROSOFT_API_URL", ""), Scopes: env("CALGATE_MICROSOFT_SCOPES", ""),
	}))
	svc.Register(a.queue)
	a.parts.connectors = svc
	a.server.Add(a.server.ConnectorRoutes(svc)...)
	a.server.Add(a.server.ConnectorOptionRoutes(svc)...)
	a.server.AddSchemas(api.ConnectorSchemas(svc.Types()))
	a.server.AddSchemas(api.ConnectorOptionSchemas())
	return nil
}
