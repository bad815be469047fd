package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/imports"
	"github.com/calgate/calgate/metrics"
	"github.com/calgate/calgate/outbound"
	"github.com/calgate/calgate/queue"
	"github.com/calgate/calgate/store"
	"github.com/calgate/calgate/vault"
)

type role int

const (
	roleAPI role = 1 << iota
	roleWorker
)

// app is the wired gateway: store, queue, dispatcher, capabilities and API.
type app struct {
	cfg    *Config
	logger *slog.Logger
	store  *store.DB
	// requests is the store as the API's handlers reach it: on
	// PostgreSQL through a pool of its own, so that a burst of requests
	// does not keep the dispatcher and the destinations waiting for a
	// connection (the same database as store).
	requests   *store.DB
	queue      *queue.Queue
	dispatcher *queue.Dispatcher
	metrics    *metrics.Metrics
	vault      *vault.Vault
	server     *api.Server
	// redis is a client of the queue's Redis (real or embedded), for
	// caches such as ready-rendered feeds.
	redis redis.UniversalClient
	// imports runs imports and exports; the compatibility surfaces
	// translate into it.
	imports *imports.Service
	// parts holds what the web console needs (wire_console.go).
	parts consoleParts
}

func openApp(ctx context.Context, cfg *Config, logger *slog.Logger) (*app, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir, logger)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, logger: logger, store: db, requests: db, metrics: metrics.New()}
	// Every request looks its token up: on PostgreSQL, keep what was
	// found until a revocation is announced (store/tokencache.go).
	db.CacheTokens()
	if a.requests, err = db.WithPool(store.PostgresPool); err != nil {
		db.Close()
		return nil, err
	}
	key, err := secretKey(cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	if a.vault, err = vault.New(key); err != nil {
		db.Close()
		return nil, err
	}
	a.queue, err = queue.Open(queue.Options{RedisURL: cfg.RedisURL, Concurrency: cfg.Worker.Concurrency,
		BatchSize: cfg.Outbox.Batch, Lease: cfg.Outbox.Lease, SweepInterval: cfg.Outbox.Sweep}, logger)
	if err != nil {
		db.Close()
		return nil, err
	}
	a.metrics.QueueDepth(a.queue.Depth)
	a.metrics.OwedWork(db.OwedWork)
	a.redis = a.queue.RedisConnOpt().MakeRedisClient().(redis.UniversalClient)
	a.dispatcher = queue.NewDispatcher(db, a.queue, logger, time.Second)
	a.dispatcher.OnDispatched = func(n int) { a.metrics.EventsDispatched.Add(float64(n)) }
	a.server = api.New(api.Deps{
		Store: a.requests.Grouped(), Logger: logger, Metrics: a.metrics, Notify: a.dispatcher.Notify,
		QueueReady: a.queue.Ping, PublicURL: cfg.PublicURL,
	})
	if err := a.register(ctx); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

// register plugs the capabilities into the queue and the API. Each
// capability wires itself in a file of its own (wire_<capability>.go).
func (a *app) register(ctx context.Context) error {
	// Idempotency keys are kept for a day: long enough for any client's
	// retries, short enough that the table stays small.
	a.queue.Every("idempotency-purge", time.Hour, func(ctx context.Context) error {
		_, err := a.store.PurgeIdempotentResponses(ctx, time.Now().Add(-24*time.Hour))
		return err
	})
	for _, wire := range []func(context.Context) error{a.wireFeeds, a.wireWebhooks, a.wireSync, a.wireSubscriptions, a.wireImports, a.wirePulls,
		a.wireConnectors, a.wirePlanningPME, a.wirePlanningNow, a.wireSkyplanner, a.wireResources, a.wireConsole} {
		if err := wire(ctx); err != nil {
			return err
		}
	}
	return nil
}

// httpClient returns the hardened outbound client with a response cap and
// timeout of the caller's choosing; the address rules are the deployment's.
func (a *app) httpClient(maxResponseBytes int64, timeout time.Duration) *http.Client {
	return outbound.NewClient(outbound.Options{AllowPrivate: a.cfg.AllowPrivateTargets, MaxResponseBytes: maxResponseBytes, Timeout: timeout})
}

func secretKey(cfg *Config) ([]byte, error) {
	if cfg.SecretKey != "" {
		return vault.ParseKey(cfg.SecretKey)
	}
	return vault.LoadOrCreateKey(cfg.DataDir)
}

func (a *app) close() {
	if a.redis != nil {
		_ = a.redis.Close()
	}
	if err := a.queue.Close(); err != nil {
		a.logger.Warn("queue close", "err", err)
	}
	if a.requests != nil && a.requests != a.store {
		if err := a.requests.Close(); err != nil {
			a.logger.Warn("store close", "err", err)
		}
	}
	if err := a.store.Close(); err != nil {
		a.logger.Warn("store close", "err", err)
	}
}

// bootstrap creates workspace "default" with an admin token on the first
// start (no token anywhere) and prints the token once.
func (a *app) bootstrap(ctx context.Context, out io.Writer) error {
	n, err := a.store.CountTokens(ctx)
	if err != nil || n > 0 {
		return err
	}
	ws, err := ensureWorkspace(ctx, a.store, "default", a.cfg.DefaultTimezone)
	if err != nil {
		return err
	}
	tok, secret := calgate.NewToken(ws.ID, "admin", "first-start admin token", true)
	if a.cfg.AdminToken != "" {
		secret = a.cfg.AdminToken
		tok.Prefix = secret[:8]
	}
	if err := a.store.CreateToken(ctx, tok, calgate.HashSecret(secret)); err != nil {
		return err
	}
	if a.cfg.AdminToken == "" {
		fmt.Fprintf(out, "\nFirst start: workspace %q created with an admin token. It is shown only this once:\n\n    %s\n\nUse it as \"Authorization: Bearer <token>\" or \"X-AUTH-TOKEN: <token>\".\n\n", ws.Name, secret)
	}
	return nil
}

func ensureWorkspace(ctx context.Context, st calgate.WorkspaceStore, name, tz string) (*calgate.Workspace, error) {
	ws, err := st.WorkspaceByName(ctx, name)
	if err == nil {
		return ws, nil
	}
	if !errors.Is(err, calgate.ErrNotFound) {
		return nil, err
	}
	if _, err := calgate.LoadZone(tz); err != nil {
		return nil, fmt.Errorf("workspace time zone: %w", err)
	}
	ws = &calgate.Workspace{ID: calgate.NewID("ws"), Name: name, Timezone: tz, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := st.CreateWorkspace(ctx, ws); err != nil {
		// Another process may have created it at the same moment.
		if again, err2 := st.WorkspaceByName(ctx, name); err2 == nil {
			return again, nil
		}
		return nil, err
	}
	return ws, nil
}

// gatewayAbout is what the help of serve, api and worker says.
var gatewayAbout = map[string]string{
	"serve":  "Run the REST API and the queue workers in one process. Without DATABASE_URL it keeps\nits data in SQLite in the data directory; without REDIS_URL it embeds its own Redis.",
	"api":    "Run the REST API and an outbox dispatcher; queue workers run elsewhere (calgate\nworker), so REDIS_URL must name the Redis they share.",
	"worker": "Run the queue workers, the outbox sweep and periodic work; health and metrics are\nserved on --worker-addr. REDIS_URL must name the Redis the API processes use.",
}

func runGateway(ctx context.Context, name string, args []string, stdout io.Writer, roles role) error {
	fs := newFlags(name, name+" [flags]", gatewayAbout[name])
	cfg, err := parseConfig(fs, scopeAll, args, stdout)
	if err != nil {
		return err
	}
	if roles != roleAPI|roleWorker && cfg.RedisURL == "" {
		return errors.New("calgate api and calgate worker run as separate processes and need a shared Redis: set REDIS_URL (or run calgate serve, which embeds one)")
	}
	logger := cfg.logger()
	a, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.bootstrap(ctx, stdout); err != nil {
		return err
	}
	return a.run(ctx, roles, nil)
}

// run serves until ctx ends, then shuts down gracefully: the listener stops
// taking requests, requests and tasks in flight finish, and the outbox is
// drained one last time. ready, when set, receives the listen address.
func (a *app) run(ctx context.Context, roles role, ready chan<- string) error {
	if err := a.dispatcher.Init(ctx); err != nil {
		return err
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	errc := make(chan error, 2)

	wg.Add(1)
	go func() {
		defer wg.Done()
		a.dispatcher.Run(workCtx)
	}()
	if roles&roleWorker != 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.queue.RunWorker(workCtx, a.store, a.cfg.ShutdownTimeout); err != nil {
				errc <- err
			}
		}()
	}
	var srv *http.Server
	addr, handler := a.cfg.Addr, http.Handler(nil)
	switch {
	case roles&roleAPI != 0:
		handler = a.withConsole(a.server.Handler())
	case a.cfg.Worker.Addr != "":
		// A worker alone serves its health and metrics (webhook and
		// CalDAV metrics are recorded only where tasks run).
		addr, handler = a.cfg.Worker.Addr, a.server.OperationsHandler()
	}
	if handler != nil {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			stopWork()
			wg.Wait()
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		h := a.cfg.HTTP
		// Bodies and answers get deadlines that move with the data (a slow
		// upload passes, a stalled one is cut off), so the server sets no
		// fixed ReadTimeout or WriteTimeout of its own.
		handler = api.WithTimeouts(handler, api.Timeouts{Body: h.Body, MinBodyRate: h.MinBodyRate, Write: h.Write})
		srv = &http.Server{Handler: handler, ReadHeaderTimeout: h.ReadHeader, IdleTimeout: h.Idle}
		a.logger.Info("listening", "addr", ln.Addr().String(), "database", a.store.Dialect(), "embedded_redis", a.queue.Embedded(),
			"api", roles&roleAPI != 0, "worker", roles&roleWorker != 0)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
		if ready != nil {
			ready <- ln.Addr().String()
		}
	} else if ready != nil {
		ready <- ""
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if srv != nil {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			a.logger.Warn("http shutdown", "err", err)
		}
	}
	stopWork()
	wg.Wait()
	// Hand what the last requests wrote to the queue; what cannot go now
	// stays in the outbox for the next start.
	drainCtx, cancelDrain := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelDrain()
	if _, err := a.dispatcher.Drain(drainCtx); err != nil {
		a.logger.Warn("final dispatch", "err", err)
	}
	return runErr
}

func runMigrate(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("migrate", "migrate [flags]", "Apply the database migrations and exit. Every process also migrates at start,\nunder a lock.")
	cfg, err := parseConfig(fs, scopeStore, args, out)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir, cfg.logger())
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(out, "migrations applied (%s)\n", db.Dialect())
	return nil
}

// tokensAbout is what calgate tokens --help says.
const tokensAbout = `Create an API token in the configured database, without a running gateway (the
first token of a deployment, or one more when every admin token is lost). The
token is printed once on stdout; only its hash is stored. Tokens are sent as
"Authorization: Bearer <token>" or "X-AUTH-TOKEN: <token>"; a running gateway
also creates and revokes them at /v1/tokens.

commands:
  create   create a token for a user of a workspace (the workspace is created
           when missing) and print it

example:
  calgate tokens create --workspace plant-2 --user ops --name "ERP sync" --admin=false`

func runTokens(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("tokens create", "tokens create --user U [--workspace W] [--name N] [--admin=false] [flags]", tokensAbout)
	workspace := fs.String("workspace", "default", "workspace name (created when missing)")
	user := fs.String("user", "", "the user the token belongs to (required)")
	name := fs.String("name", "", "what the token is for (default: cli)")
	admin := fs.Bool("admin", true, "whether the token may manage other users' tokens")
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
			_, err := parseConfig(fs, scopeStore|scopeWorkspace, []string{"--help"}, out)
			return err
		}
		return errors.New("usage: calgate tokens create --user U [--workspace W] [--name N] [--admin=false] (see calgate tokens --help)")
	}
	cfg, err := parseConfig(fs, scopeStore|scopeWorkspace, args[1:], out)
	if err != nil {
		return err
	}
	if *user == "" {
		return errors.New("--user is required")
	}
	if *name == "" {
		*name = "cli"
	}
	// The same rules as tokens made through the API.
	v := &calgate.ValidationError{}
	v.Line("--workspace", *workspace, calgate.MaxDisplayNameLength)
	v.Line("--user", *user, api.MaxTokenNameLength)
	v.Line("--name", *name, api.MaxTokenNameLength)
	if err := v.Err(); err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir, cfg.logger())
	if err != nil {
		return err
	}
	defer db.Close()
	ws, err := ensureWorkspace(ctx, db, *workspace, cfg.DefaultTimezone)
	if err != nil {
		return err
	}
	tok, secret := calgate.NewToken(ws.ID, *user, *name, *admin)
	if err := db.CreateToken(ctx, tok, calgate.HashSecret(secret)); err != nil {
		return err
	}
	fmt.Fprintln(out, secret)
	return nil
}
