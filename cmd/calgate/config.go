package main

import (
	"errors"
	"flag"
	"log/slog"
	"net/url"
	"os"
	"time"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/google"
	"github.com/calgate/calgate/connectors/hubspot"
	"github.com/calgate/calgate/connectors/mailchimp"
	"github.com/calgate/calgate/connectors/microsoft"
	"github.com/calgate/calgate/connectors/quickbooks"
	"github.com/calgate/calgate/connectors/salesforce"
	"github.com/calgate/calgate/connectors/xero"
	"github.com/calgate/calgate/mail"
	"github.com/calgate/calgate/queue"
	"github.com/calgate/calgate/sync/caldavsync"
	"github.com/calgate/calgate/vault"
	"github.com/calgate/calgate/webhooks"
)

// Config is every setting of the gateway, one sub-struct per capability.
// Each setting has an environment variable and a flag of the same meaning
// (see settings); defaults are defaultConfig's, documented in the README.
type Config struct {
	Addr                string
	DataDir             string
	DatabaseURL         string
	RedisURL            string
	PublicURL           string
	AdminToken          string
	AllowPrivateTargets bool
	SecretKey           string
	DefaultTimezone     string
	ShutdownTimeout     time.Duration

	Log    LogConfig
	Worker WorkerConfig
	Outbox OutboxConfig
	HTTP   HTTPTimeouts

	Feeds         FeedsConfig
	Webhooks      WebhooksConfig
	CalDAV        CalDAVConfig
	Subscriptions SubscriptionsConfig
	Imports       ImportsConfig
	Connectors    ConnectorsConfig
}

// LogConfig is how the gateway logs.
type LogConfig struct {
	Format string // text or json
	Level  string // debug, info, warn or error
}

// WorkerConfig is what a worker process runs and where it reports.
type WorkerConfig struct {
	// Concurrency is how many tasks a worker runs at once.
	Concurrency int
	// Addr is where calgate worker serves /healthz, /readyz and /metrics
	// (empty: nowhere).
	Addr string
}

// OutboxConfig is how events travel from the database to the queue.
type OutboxConfig struct {
	// Lease is how long a batch of events handed to the queue may take
	// before the sweep hands it over again.
	Lease time.Duration
	// Sweep is how often workers look for such batches.
	Sweep time.Duration
	// Batch bounds a destination task's events.
	Batch int
}

// HTTPTimeouts are the limits the HTTP server puts on clients.
type HTTPTimeouts struct {
	// ReadHeader is how long a client may take to send the request line
	// and headers.
	ReadHeader time.Duration
	// Body is the longest pause while a request body arrives, and the
	// grace period before MinBodyRate applies.
	Body time.Duration
	// MinBodyRate is the average rate in bytes per second a request body
	// must keep after the grace period (0: none).
	MinBodyRate int64
	// Write is how long the gateway may take to answer after the body.
	Write time.Duration
	// Idle is how long a kept-alive connection may wait for its next
	// request.
	Idle time.Duration
}

// FeedsConfig configures iCal feeds.
type FeedsConfig struct {
	// Refresh is the poll interval announced to subscribers and the
	// max-age of served feeds.
	Refresh time.Duration
}

// WebhooksConfig configures webhook deliveries.
type WebhooksConfig struct {
	Timeout      time.Duration
	Concurrency  int
	DisableAfter time.Duration
	Sweep        time.Duration
	RetryScale   float64
	Retention    time.Duration
}

// CalDAVConfig configures CalDAV targets.
type CalDAVConfig struct {
	ReconcileInterval time.Duration
}

// SubscriptionsConfig configures iCal subscriptions.
type SubscriptionsConfig struct {
	// Horizon is how far ahead recurring events are expanded.
	Horizon time.Duration
}

// ImportsConfig configures imports and scheduled pulls.
type ImportsConfig struct {
	// SMTPURL, when set, lets a failed pull e-mail the addresses on it,
	// from SMTPFrom.
	SMTPURL  string
	SMTPFrom string
	// Token is the API token calgate import --url sends to a remote
	// gateway.
	Token string
}

// ConnectorsConfig configures connectors and each application's OAuth app.
type ConnectorsConfig struct {
	Sweep             time.Duration
	Lease             time.Duration
	RetryScale        float64
	Processes         int
	BatchDelay        time.Duration
	ReconcileInterval time.Duration
	ReconcileLease    time.Duration

	QuickBooks quickbooks.Config
	Xero       xero.Config
	Salesforce salesforce.Config
	HubSpot    hubspot.Config
	Mailchimp  mailchimp.Config
	Google     google.Config
	Microsoft  microsoft.Config
}

// vendors are the applications connectors reach, each with its OAuth app
// and endpoints: one line per application.
func (k ConnectorsConfig) vendors() []connectors.Vendor {
	return []connectors.Vendor{
		quickbooks.New(k.QuickBooks), xero.New(k.Xero), salesforce.New(k.Salesforce), hubspot.New(k.HubSpot),
		mailchimp.New(k.Mailchimp), google.New(k.Google), microsoft.New(k.Microsoft),
	}
}

// Defaults of the HTTP server's limits, documented in the README.
var defaultHTTPTimeouts = HTTPTimeouts{
	ReadHeader:  10 * time.Second,
	Body:        30 * time.Second,
	MinBodyRate: 8 << 10,
	Write:       5 * time.Minute,
	Idle:        2 * time.Minute,
}

// defaultConfig is the configuration with no variable and no flag set.
func defaultConfig() *Config {
	return &Config{
		Addr:            ":8080",
		DataDir:         "./data",
		PublicURL:       "http://localhost:8080",
		DefaultTimezone: "UTC",
		ShutdownTimeout: 15 * time.Second,
		Log:             LogConfig{Format: "text", Level: "info"},
		Worker:          WorkerConfig{Concurrency: 20, Addr: ":9090"},
		Outbox:          OutboxConfig{Lease: queue.DefaultLease, Sweep: queue.DefaultSweepInterval, Batch: queue.DefaultBatchSize},
		HTTP:            defaultHTTPTimeouts,
		Feeds:           FeedsConfig{Refresh: time.Hour},
		Webhooks: WebhooksConfig{Timeout: webhooks.DefaultTimeout, Concurrency: webhooks.DefaultConcurrency,
			DisableAfter: webhooks.DefaultDisableAfter, Sweep: webhooks.DefaultSweepInterval, RetryScale: 1,
			Retention: webhooks.DefaultRetention},
		CalDAV:        CalDAVConfig{ReconcileInterval: caldavsync.DefaultReconcileInterval},
		Subscriptions: SubscriptionsConfig{Horizon: 365 * 24 * time.Hour},
		Imports:       ImportsConfig{SMTPFrom: "calgate@localhost"},
		Connectors: ConnectorsConfig{Sweep: connectors.DefaultSweepInterval, Lease: connectors.DefaultLease, RetryScale: 1,
			Processes: 1, BatchDelay: connectors.DefaultBatchDelay,
			ReconcileInterval: connectors.DefaultReconcileInterval, ReconcileLease: connectors.DefaultReconcileLease},
	}
}

// settings lists every setting of c: its variable, the commands that take
// it, the field it fills and what it means. The README's configuration
// tables list the same variables (a test keeps them in step).
func (c *Config) settings() []setting {
	const gw = scopeGateway
	s := []setting{
		{"CALGATE_ADDR", scopeListen, text(&c.Addr, nil), "listen address"},
		{"CALGATE_DATA_DIR", scopeStore, text(&c.DataDir, nil), "SQLite file and other local state"},
		{"DATABASE_URL", scopeStore, text(&c.DatabaseURL, nil), "postgres://… for PostgreSQL; empty for SQLite in the data directory"},
		{"CALGATE_LOG_FORMAT", scopeStore, text(&c.Log.Format, oneOf("text", "json")), "text or json"},
		{"CALGATE_LOG_LEVEL", scopeStore, text(&c.Log.Level, oneOf("debug", "info", "warn", "error")), "debug, info, warn or error"},
		{"CALGATE_TIMEZONE", scopeWorkspace, text(&c.DefaultTimezone, checkZone), "time zone of workspaces created at start"},
		{"REDIS_URL", gw, text(&c.RedisURL, nil), "redis://… for a real Redis; empty for the embedded one"},
		{"CALGATE_PUBLIC_URL", gw, text(&c.PublicURL, checkPublicURL), "base of the URLs handed out"},
		{"CALGATE_ADMIN_TOKEN", gw, text(&c.AdminToken, checkAdminToken), "first-start admin token of workspace default (at least 32 characters)"},
		{"CALGATE_ALLOW_PRIVATE_TARGETS", gw, boolean(&c.AllowPrivateTargets), "allow outbound calls to private and loopback addresses"},
		{"CALGATE_SECRET_KEY", gw, text(&c.SecretKey, checkSecretKey), "base64 key that encrypts stored credentials; default: generated into the data directory"},
		{"CALGATE_SHUTDOWN_TIMEOUT", gw, duration(&c.ShutdownTimeout, time.Second), "how long in-flight requests and tasks may take to finish on shutdown"},
		{"CALGATE_WORKER_CONCURRENCY", gw, integer(&c.Worker.Concurrency, 1, 10000), "tasks a worker runs at once"},
		{"CALGATE_WORKER_ADDR", gw, text(&c.Worker.Addr, nil), "where calgate worker serves /healthz, /readyz and /metrics; empty for nowhere"},
		{"CALGATE_OUTBOX_LEASE", gw, duration(&c.Outbox.Lease, 100*time.Millisecond), "how long a batch of events handed to the queue may take before it is handed over again"},
		{"CALGATE_OUTBOX_SWEEP", gw, duration(&c.Outbox.Sweep, 10*time.Millisecond), "how often workers hand lost batches to the queue again"},
		{"CALGATE_OUTBOX_BATCH", gw, integer(&c.Outbox.Batch, 1, 10000), "most events in one destination task"},
		{"CALGATE_HTTP_READ_HEADER_TIMEOUT", gw, duration(&c.HTTP.ReadHeader, time.Second), "how long a client may take to send the request headers"},
		{"CALGATE_HTTP_BODY_TIMEOUT", gw, duration(&c.HTTP.Body, time.Second), "longest pause while a request body arrives, and the grace period of the minimum body rate"},
		{"CALGATE_HTTP_MIN_BODY_RATE", gw, integer64(&c.HTTP.MinBodyRate, 0), "bytes per second a request body must average after the grace period; 0 for none"},
		{"CALGATE_HTTP_WRITE_TIMEOUT", gw, duration(&c.HTTP.Write, time.Second), "how long the gateway may take to answer once the request body is in"},
		{"CALGATE_HTTP_IDLE_TIMEOUT", gw, duration(&c.HTTP.Idle, time.Second), "how long a kept-alive connection may wait for its next request"},

		{"CALGATE_FEED_REFRESH", gw, duration(&c.Feeds.Refresh, time.Minute), "refresh interval announced in feeds"},

		{"CALGATE_WEBHOOK_TIMEOUT", gw, duration(&c.Webhooks.Timeout, time.Millisecond), "how long a receiver has to answer"},
		{"CALGATE_WEBHOOK_CONCURRENCY", gw, integer(&c.Webhooks.Concurrency, 1, 1000), "calls in flight per endpoint and worker process"},
		{"CALGATE_WEBHOOK_DISABLE_AFTER", gw, duration(&c.Webhooks.DisableAfter, time.Millisecond), "failure streak that disables an endpoint"},
		{"CALGATE_WEBHOOK_SWEEP", gw, duration(&c.Webhooks.Sweep, time.Millisecond), "how often overdue deliveries are re-queued"},
		{"CALGATE_WEBHOOK_RETRY_SCALE", gw, factor(&c.Webhooks.RetryScale), "factor on the retry schedule"},
		{"CALGATE_WEBHOOK_RETENTION", gw, duration(&c.Webhooks.Retention, time.Hour), "how long succeeded and failed messages stay in the delivery log"},

		{"CALGATE_CALDAV_RECONCILE_INTERVAL", gw, duration(&c.CalDAV.ReconcileInterval, time.Second), "periodic reconciliation of CalDAV targets"},

		{"CALGATE_ICAL_HORIZON", gw, duration(&c.Subscriptions.Horizon, time.Hour), "how far ahead recurring events of subscriptions are expanded"},

		{"CALGATE_SMTP_URL", gw, text(&c.Imports.SMTPURL, checkSMTPURL), "smtp://user:pass@host:587 for failed-pull notices; empty for no e-mail"},
		{"CALGATE_SMTP_FROM", gw, text(&c.Imports.SMTPFrom, checkAddress), "sender of failed-pull notices"},
		{"CALGATE_TOKEN", scopeClient, text(&c.Imports.Token, nil), "API token of the remote gateway calgate import --url sends to"},

		{"CALGATE_CONNECTOR_SWEEP", gw, duration(&c.Connectors.Sweep, 10*time.Millisecond), "how often owed connector pushes are looked for"},
		{"CALGATE_CONNECTOR_LEASE", gw, duration(&c.Connectors.Lease, 100*time.Millisecond), "how long a worker holds a connector push"},
		{"CALGATE_CONNECTOR_RETRY_SCALE", gw, factor(&c.Connectors.RetryScale), "factor on the connector retry schedule"},
		{"CALGATE_CONNECTOR_PROCESSES", gw, integer(&c.Connectors.Processes, 1, 10000), "worker processes sharing each application's rate limits"},
		{"CALGATE_CONNECTOR_BATCH_DELAY", gw, duration(&c.Connectors.BatchDelay, time.Millisecond), "how long a change waits for others to share calls"},
		{"CALGATE_CONNECTOR_RECONCILE_INTERVAL", gw, duration(&c.Connectors.ReconcileInterval, 100*time.Millisecond), "how often live calendars are reconciled"},
		{"CALGATE_CONNECTOR_RECONCILE_LEASE", gw, duration(&c.Connectors.ReconcileLease, time.Second), "how long a worker holds a reconciliation"},
	}
	k := &c.Connectors
	s = append(s, oauthApp("QUICKBOOKS", "QuickBooks Online", &k.QuickBooks.ClientID, &k.QuickBooks.ClientSecret)...)
	s = append(s, endpoints("QUICKBOOKS", "QuickBooks Online", map[string]*string{"AUTH_URL": &k.QuickBooks.AuthURL, "TOKEN_URL": &k.QuickBooks.TokenURL, "API_URL": &k.QuickBooks.APIURL})...)
	s = append(s, oauthApp("XERO", "Xero", &k.Xero.ClientID, &k.Xero.ClientSecret)...)
	s = append(s, endpoints("XERO", "Xero", map[string]*string{"AUTH_URL": &k.Xero.AuthURL, "TOKEN_URL": &k.Xero.TokenURL, "API_URL": &k.Xero.APIURL, "SCOPES": &k.Xero.Scopes})...)
	s = append(s, oauthApp("SALESFORCE", "Salesforce", &k.Salesforce.ClientID, &k.Salesforce.ClientSecret)...)
	s = append(s, endpoints("SALESFORCE", "Salesforce", map[string]*string{"LOGIN_URL": &k.Salesforce.LoginURL, "SCOPES": &k.Salesforce.Scopes})...)
	s = append(s, setting{"CALGATE_SALESFORCE_DAILY_CALLS", gw, integer(&k.Salesforce.DailyCalls, 0, 1<<30), "Salesforce API calls per org and day; 0 for 15,000"})
	s = append(s, oauthApp("HUBSPOT", "HubSpot", &k.HubSpot.ClientID, &k.HubSpot.ClientSecret)...)
	s = append(s, endpoints("HUBSPOT", "HubSpot", map[string]*string{"AUTH_URL": &k.HubSpot.AuthURL, "TOKEN_URL": &k.HubSpot.TokenURL, "API_URL": &k.HubSpot.APIURL, "SCOPES": &k.HubSpot.Scopes})...)
	s = append(s,
		setting{"CALGATE_HUBSPOT_BURST", gw, integer(&k.HubSpot.Burst, 0, 1<<30), "HubSpot calls per account and 10 seconds; 0 for 100"},
		setting{"CALGATE_HUBSPOT_DAILY", gw, integer(&k.HubSpot.Daily, 0, 1<<30), "HubSpot calls per account and day; 0 for 250,000"})
	s = append(s, oauthApp("MAILCHIMP", "Mailchimp", &k.Mailchimp.ClientID, &k.Mailchimp.ClientSecret)...)
	s = append(s, endpoints("MAILCHIMP", "Mailchimp", map[string]*string{"AUTH_URL": &k.Mailchimp.AuthURL, "TOKEN_URL": &k.Mailchimp.TokenURL, "METADATA_URL": &k.Mailchimp.MetadataURL, "API_URL": &k.Mailchimp.APIURL})...)
	s = append(s, oauthApp("GOOGLE", "Google Calendar", &k.Google.ClientID, &k.Google.ClientSecret)...)
	s = append(s, endpoints("GOOGLE", "Google Calendar", map[string]*string{"AUTH_URL": &k.Google.AuthURL, "TOKEN_URL": &k.Google.TokenURL, "API_URL": &k.Google.APIURL})...)
	s = append(s, oauthApp("MICROSOFT", "Microsoft 365", &k.Microsoft.ClientID, &k.Microsoft.ClientSecret)...)
	s = append(s, endpoints("MICROSOFT", "Microsoft 365", map[string]*string{"TENANT": &k.Microsoft.Tenant, "AUTH_URL": &k.Microsoft.AuthURL, "TOKEN_URL": &k.Microsoft.TokenURL, "API_URL": &k.Microsoft.APIURL, "SCOPES": &k.Microsoft.Scopes})...)
	return s
}

// oauthApp is an application's OAuth client: CALGATE_<APP>_CLIENT_ID and
// _CLIENT_SECRET.
func oauthApp(app, name string, id, secret *string) []setting {
	return []setting{
		{"CALGATE_" + app + "_CLIENT_ID", scopeGateway, text(id, nil), "client id of the deployment's " + name + " app; empty: its connectors are refused or take a key"},
		{"CALGATE_" + app + "_CLIENT_SECRET", scopeGateway, text(secret, nil), "client secret of the deployment's " + name + " app"},
	}
}

// endpointOrder fixes the order of an application's endpoint settings.
var endpointOrder = []string{"TENANT", "LOGIN_URL", "AUTH_URL", "TOKEN_URL", "METADATA_URL", "API_URL", "SCOPES"}

// endpoints are an application's endpoint settings, CALGATE_<APP>_<NAME>;
// empty means the vendor's production values.
func endpoints(app, name string, fields map[string]*string) []setting {
	var s []setting
	for _, k := range endpointOrder {
		if p, ok := fields[k]; ok {
			s = append(s, setting{"CALGATE_" + app + "_" + k, scopeGateway, text(p, nil), name + " " + endpointUsage[k] + "; empty for the vendor's"})
		}
	}
	return s
}

var endpointUsage = map[string]string{
	"TENANT": "tenant (directory)", "LOGIN_URL": "login URL", "AUTH_URL": "authorization URL", "TOKEN_URL": "token URL",
	"METADATA_URL": "OAuth metadata URL", "API_URL": "API base URL", "SCOPES": "OAuth scopes (space-separated)",
}

func checkZone(s string) error {
	_, err := calgate.LoadZone(s)
	return err
}

func checkPublicURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http:// or https:// URL")
	}
	return nil
}

func checkAdminToken(s string) error {
	if s != "" && len(s) < 32 {
		return errors.New("must be at least 32 characters")
	}
	return nil
}

func checkSecretKey(s string) error {
	if s == "" {
		return nil
	}
	_, err := vault.ParseKey(s)
	return err
}

func checkSMTPURL(s string) error {
	if s == "" {
		return nil
	}
	_, err := mail.ParseSMTPURL(s, "calgate@localhost")
	return err
}

func checkAddress(s string) error {
	_, err := mail.ParseSMTPURL("smtp://localhost", s)
	return err
}

// loadConfig registers the settings of scopes as flags of fs, reads the
// environment, then lets args override it. An invalid variable or flag is
// an error naming it. On -h or --help it returns flag.ErrHelp.
func loadConfig(fs *flag.FlagSet, scopes scope, args []string) (*Config, error) {
	c := defaultConfig()
	envErr := bind(fs, c.settings(), scopes)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if envErr != nil {
		return nil, envErr
	}
	return c, nil
}

func (c *Config) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Log.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
