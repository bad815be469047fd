package main

import (
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

// loadConfig reads the environment, then lets flags override it.
func loadConfig(fs *flag.FlagSet, args []string) (*Config, error) {
	c := &Config{}
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
