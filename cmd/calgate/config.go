package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/calgate/calgate/queue"
)

// Config is every setting of the gateway, filled from the environment and
// mirrored by flags. Defaults are documented in the README.
type Config struct {
	Addr                string
	DataDir             string
	DatabaseURL         string
	RedisURL            string
	PublicURL           string
	AdminToken          string
	AllowPrivateTargets bool
	SecretKey           string
	LogFormat           string
	LogLevel            string
	Concurrency         int
	ShutdownTimeout     time.Duration
	DefaultTimezone     string
	// OutboxLease is how long a batch of events handed to the queue may
	// take before the sweep hands it over again; OutboxSweep is how often
	// workers look for such batches; OutboxBatch bounds a batch's events.
	OutboxLease time.Duration
	OutboxSweep time.Duration
	OutboxBatch int
	// WorkerAddr is where calgate worker serves /healthz, /readyz and
	// /metrics (empty: nowhere).
	WorkerAddr string
	// HTTP are the limits the HTTP server puts on clients.
	HTTP HTTPTimeouts
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

// Defaults of the HTTP server's limits, documented in the README.
var defaultHTTPTimeouts = HTTPTimeouts{
	ReadHeader:  10 * time.Second,
	Body:        30 * time.Second,
	MinBodyRate: 8 << 10,
	Write:       5 * time.Minute,
	Idle:        2 * time.Minute,
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func envBool(name string, def bool) bool {
	v, err := strconv.ParseBool(env(name, strconv.FormatBool(def)))
	if err != nil {
		return def
	}
	return v
}

// envDuration reads a Go duration setting ("15s", "120h"); def when unset,
// an error naming the variable when it is not a duration of at least min.
func envDuration(name string, def, min time.Duration) (time.Duration, error) {
	raw := env(name, "")
	if raw == "" {
		return def, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d < min {
		return 0, fmt.Errorf("%s must be a duration of at least %s (such as %s), not %q", name, min, def, raw)
	}
	return d, nil
}

func envInt(name string, def int) int {
	v, err := strconv.Atoi(env(name, strconv.Itoa(def)))
	if err != nil {
		return def
	}
	return v
}

// envInt64 reads a whole-number setting; def when unset, an error naming
// the variable when it is not a number of at least min.
func envInt64(name string, def, min int64) (int64, error) {
	raw := env(name, "")
	if raw == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < min {
		return 0, fmt.Errorf("%s must be a whole number of at least %d, not %q", name, min, raw)
	}
	return n, nil
}

// httpFlags registers the HTTP server's limits, each with its variable.
func (c *Config) httpFlags(fs *flag.FlagSet) error {
	d := defaultHTTPTimeouts
	var errs []error
	dur := func(dst *time.Duration, flagName, envName string, def time.Duration, usage string) {
		v, err := envDuration(envName, def, time.Second)
		if err != nil {
			errs = append(errs, err)
		}
		fs.DurationVar(dst, flagName, v, usage+" ("+envName+")")
	}
	dur(&c.HTTP.ReadHeader, "http-read-header-timeout", "CALGATE_HTTP_READ_HEADER_TIMEOUT", d.ReadHeader, "how long a client may take to send the request headers")
	dur(&c.HTTP.Body, "http-body-timeout", "CALGATE_HTTP_BODY_TIMEOUT", d.Body, "longest pause while a request body arrives, and the grace period of the minimum body rate")
	dur(&c.HTTP.Write, "http-write-timeout", "CALGATE_HTTP_WRITE_TIMEOUT", d.Write, "how long the gateway may take to answer once the request body is in")
	dur(&c.HTTP.Idle, "http-idle-timeout", "CALGATE_HTTP_IDLE_TIMEOUT", d.Idle, "how long a kept-alive connection may wait for its next request")
	rate, err := envInt64("CALGATE_HTTP_MIN_BODY_RATE", d.MinBodyRate, 0)
	if err != nil {
		errs = append(errs, err)
	}
	fs.Int64Var(&c.HTTP.MinBodyRate, "http-min-body-rate", rate, "bytes per second a request body must average after the grace period; 0 for none (CALGATE_HTTP_MIN_BODY_RATE)")
	return errors.Join(errs...)
}

// check refuses limits that would make the server unusable.
func (t HTTPTimeouts) check() error {
	for name, d := range map[string]time.Duration{"CALGATE_HTTP_READ_HEADER_TIMEOUT": t.ReadHeader, "CALGATE_HTTP_BODY_TIMEOUT": t.Body,
		"CALGATE_HTTP_WRITE_TIMEOUT": t.Write, "CALGATE_HTTP_IDLE_TIMEOUT": t.Idle} {
		if d < time.Second {
			return fmt.Errorf("%s must be at least 1s, not %s", name, d)
		}
	}
	if t.MinBodyRate < 0 {
		return fmt.Errorf("CALGATE_HTTP_MIN_BODY_RATE must not be negative")
	}
	return nil
}

// loadConfig reads the environment, then lets flags override it.
func loadConfig(fs *flag.FlagSet, args []string) (*Config, error) {
	c := &Config{}
	if err := c.httpFlags(fs); err != nil {
		return nil, err
	}
	fs.StringVar(&c.Addr, "addr", env("CALGATE_ADDR", ":8080"), "listen address (CALGATE_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", env("CALGATE_DATA_DIR", "./data"), "SQLite file and other local state (CALGATE_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("DATABASE_URL", ""), "postgres://… for PostgreSQL; empty for SQLite in the data directory (DATABASE_URL)")
	fs.StringVar(&c.RedisURL, "redis-url", env("REDIS_URL", ""), "redis://… for a real Redis; empty for the embedded one (REDIS_URL)")
	fs.StringVar(&c.PublicURL, "public-url", env("CALGATE_PUBLIC_URL", "http://localhost:8080"), "base of the URLs handed out (CALGATE_PUBLIC_URL)")
	fs.StringVar(&c.AdminToken, "admin-token", env("CALGATE_ADMIN_TOKEN", ""), "first-start admin token of workspace default (CALGATE_ADMIN_TOKEN)")
	fs.BoolVar(&c.AllowPrivateTargets, "allow-private-targets", envBool("CALGATE_ALLOW_PRIVATE_TARGETS", false), "allow outbound calls to private and loopback addresses (CALGATE_ALLOW_PRIVATE_TARGETS)")
	fs.StringVar(&c.SecretKey, "secret-key", env("CALGATE_SECRET_KEY", ""), "base64 key that encrypts stored credentials; default: generated into the data directory (CALGATE_SECRET_KEY)")
	fs.StringVar(&c.LogFormat, "log-format", env("CALGATE_LOG_FORMAT", "text"), "text or json (CALGATE_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", env("CALGATE_LOG_LEVEL", "info"), "debug, info, warn or error (CALGATE_LOG_LEVEL)")
	fs.IntVar(&c.Concurrency, "concurrency", envInt("CALGATE_WORKER_CONCURRENCY", 20), "tasks a worker runs at once (CALGATE_WORKER_CONCURRENCY)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight requests and tasks may take to finish on shutdown")
	fs.StringVar(&c.DefaultTimezone, "timezone", env("CALGATE_TIMEZONE", "UTC"), "time zone of workspaces created at start (CALGATE_TIMEZONE)")
	lease, err := envDuration("CALGATE_OUTBOX_LEASE", queue.DefaultLease, 100*time.Millisecond)
	if err != nil {
		return nil, err
	}
	sweep, err := envDuration("CALGATE_OUTBOX_SWEEP", queue.DefaultSweepInterval, 10*time.Millisecond)
	if err != nil {
		return nil, err
	}
	fs.DurationVar(&c.OutboxLease, "outbox-lease", lease, "how long a batch of events handed to the queue may take before it is handed over again (CALGATE_OUTBOX_LEASE)")
	fs.DurationVar(&c.OutboxSweep, "outbox-sweep", sweep, "how often workers hand lost batches to the queue again (CALGATE_OUTBOX_SWEEP)")
	fs.IntVar(&c.OutboxBatch, "outbox-batch", envInt("CALGATE_OUTBOX_BATCH", queue.DefaultBatchSize), "most events in one destination task (CALGATE_OUTBOX_BATCH)")
	fs.StringVar(&c.WorkerAddr, "worker-addr", env("CALGATE_WORKER_ADDR", ":9090"), "where calgate worker serves /healthz, /readyz and /metrics; empty for nowhere (CALGATE_WORKER_ADDR)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.OutboxLease < 100*time.Millisecond || c.OutboxSweep < 10*time.Millisecond {
		return nil, fmt.Errorf("CALGATE_OUTBOX_LEASE must be at least 100ms and CALGATE_OUTBOX_SWEEP at least 10ms")
	}
	if c.OutboxBatch < 1 || c.OutboxBatch > 10000 {
		return nil, fmt.Errorf("CALGATE_OUTBOX_BATCH must be between 1 and 10000, not %d", c.OutboxBatch)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return nil, fmt.Errorf("CALGATE_LOG_FORMAT must be text or json, not %q", c.LogFormat)
	}
	if c.AdminToken != "" && len(c.AdminToken) < 32 {
		return nil, fmt.Errorf("CALGATE_ADMIN_TOKEN must be at least 32 characters")
	}
	if err := c.HTTP.check(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
