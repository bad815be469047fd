// Package connectors pushes entries into third-party applications
// (accounting, CRM, newsletters, live calendars). It holds what every
// connector shares: the OAuth 2.0 authorization-code flow with PKCE
// (golang.org/x/oauth2, RFC 6749 and RFC 7636) or an API key, credentials
// sealed by the vault and refreshed when they expire, the link table of
// remote objects and owed pushes, the call log, rate limits per remote
// tenant (golang.org/x/time/rate), retries and metrics.
//
// Each application is a small package under this one (connectors/quickbooks,
// connectors/xero, connectors/salesforce, connectors/hubspot,
// connectors/mailchimp) that implements Vendor: its endpoints, how an entry
// maps to its objects and what its errors mean. One that writes many
// records per call implements BatchVendor, and the owed pushes of a
// connector are then claimed and pushed in batches. A new application is
// such a package and one registration in cmd/calgate.
//
// The database owns the work: an event records in connector_links, per
// connector and entry, the newest entry version wanted, and enqueues a push;
// a periodic sweep re-enqueues owed pushes whose lease ran out, so work lost
// from Redis or from a killed worker is pushed again. Creates carry an
// idempotency key derived from the connector, the entry and its version,
// recorded before the call, so a retry after a lost answer reuses it and
// the vendor creates nothing twice.
package connectors
