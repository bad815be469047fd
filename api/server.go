package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/metrics"
)

// Store is what the core routes need from the database: entries, tokens,
// the change feed and idempotency keys (calgate.Store implements it).
type Store interface {
	calgate.EntryStore
	IdempotencyStore
	// Ping reports whether the database answers (for /readyz).
	Ping(ctx context.Context) error
	CreateToken(ctx context.Context, t *calgate.Token, secretHash string) error
	TokenByHash(ctx context.Context, secretHash string) (*calgate.Principal, error)
	Tokens(ctx context.Context, workspaceID string) ([]*calgate.Token, error)
	RevokeToken(ctx context.Context, workspaceID, id string) error
	TouchToken(ctx context.Context, id string, at time.Time) error
	Events(ctx context.Context, workspaceID string, f calgate.EventFilter) ([]*calgate.Event, error)
	Sequence(ctx context.Context) (int, error)
	// EntryConflicts lists the current double bookings of one entry (the
	// answers of PUT and PATCH carry them).
	EntryConflicts(ctx context.Context, workspaceID, entryID string) ([]calgate.Conflict, error)
}

// Gin context keys.
const (
	ctxRequestID = "calgate.request_id"
	ctxPrincipal = "calgate.principal"
	ctxBody      = "calgate.body"
)

// Deps are what the api needs from the rest of the gateway.
type Deps struct {
	Store   Store
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// Notify wakes the outbox dispatcher after a write (optional).
	Notify func()
	// QueueReady reports whether the queue is reachable (for /readyz).
	QueueReady func(ctx context.Context) error
	// PublicURL is the base of URLs handed out (feeds).
	PublicURL string
	// EntryICS, when set, answers GET /v1/<kind>/<id>.ics.
	EntryICS func(c *gin.Context, k calgate.Kind, id string)
}

// Server is the HTTP interface. Build it with New, add capability routes
// with Add before calling Handler.
type Server struct {
	Deps
	logger  *slog.Logger
	engine  *gin.Engine
	routes  []Route
	schemas map[string]any

	touchMu sync.Mutex
	touched map[string]time.Time
}

// Route is one API operation: how it is served and how the OpenAPI document
// describes it.
type Route struct {
	Method  string
	Path    string // gin pattern, e.g. /v1/jobs/:id
	Summary string
	Tag     string
	// Public routes need no token.
	Public bool
	// Request and Response name schemas of the OpenAPI document ("" for
	// none); Query lists the query parameters.
	Request  string
	Response string
	Status   int // success status (default 200)
	Query    []string
	// CSV says the handler answers CSV requests itself (see WantsCSV);
	// other list routes are answered as CSV from their JSON.
	CSV     bool
	Handler gin.HandlerFunc
}

// isList reports whether r lists items, and so also answers CSV, under its
// path and under its path with ".csv".
func (r Route) isList() bool {
	return r.Method == http.MethodGet && strings.HasPrefix(r.Response, "List_")
}

// New builds the server with the core routes.
func New(d Deps) *Server {
	gin.SetMode(gin.ReleaseMode)
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	s := &Server{Deps: d, logger: d.Logger, touched: map[string]time.Time{}}
	s.coreRoutes()
	return s
}

// Add registers capability routes.
func (s *Server) Add(routes ...Route) { s.routes = append(s.routes, routes...) }

// GinRoutes lists the routes the engine serves (after Handler).
func (s *Server) GinRoutes() []gin.RouteInfo {
	if s.engine == nil {
		return nil
	}
	return s.engine.Routes()
}

// Routes lists every registered route.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// Handler builds the gin engine from the route table.
func (s *Server) Handler() http.Handler {
	s.engine = s.build(s.routes)
	return s.engine
}

// OperationsHandler serves only /healthz, /readyz and /metrics: what a
// process without the API (calgate worker) offers its orchestrator and
// its Prometheus.
func (s *Server) OperationsHandler() http.Handler {
	var ops []Route
	for _, r := range s.routes {
		switch r.Path {
		case "/healthz", "/readyz", "/metrics":
			ops = append(ops, r)
		}
	}
	return s.build(ops)
}

func (s *Server) build(routes []Route) *gin.Engine {
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	e.Use(s.requestID, s.observe, s.recover, s.checkParams)
	e.NoRoute(func(c *gin.Context) { writeProblem(c, http.StatusNotFound, "no such route", nil) })
	e.NoMethod(func(c *gin.Context) {
		writeProblem(c, http.StatusMethodNotAllowed, "method not allowed on this route", nil)
	})
	for _, r := range routes {
		chain := []gin.HandlerFunc{}
		if !r.Public {
			chain = append(chain, s.authenticate, s.idempotency)
		}
		if r.isList() && !r.CSV {
			chain = append(chain, s.listCSV)
		}
		chain = append(chain, r.Handler)
		e.Handle(r.Method, r.Path, chain...)
		if r.isList() {
			asCSV := func(c *gin.Context) { c.Set(ctxCSV, true) }
			e.Handle(r.Method, r.Path+".csv", append([]gin.HandlerFunc{asCSV}, chain...)...)
		}
	}
	return e
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if !requestIDPattern.MatchString(id) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set(ctxRequestID, id)
	c.Header("X-Request-Id", id)
	c.Next()
}

func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	d := time.Since(start)
	s.Metrics.HTTPDuration.WithLabelValues(route, c.Request.Method, strconv.Itoa(status)).Observe(d.Seconds())
	// The access log: one line per request, at info (error for a 5xx).
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.logger.Log(c.Request.Context(), level, "request", "method", c.Request.Method, "route", route, "status", status,
		"latency_ms", float64(d.Microseconds())/1000, "request_id", c.GetString(ctxRequestID), "workspace", workspaceIDOf(c))
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.Error("panic in handler", "request_id", c.GetString(ctxRequestID), "route", c.FullPath(), "panic", v)
			writeProblem(c, http.StatusInternalServerError, "internal error; the request id is in the X-Request-Id header", nil)
		}
	}()
	c.Next()
}

// checkParams refuses, before any handler or database sees them, path
// parameters, query parameters and an Idempotency-Key whose text breaks
// the line rule (invalid UTF-8, NUL or another control character): both
// engines then answer alike. A bad path parameter names nothing that
// exists (404); a bad query parameter is a 400 naming it.
func (s *Server) checkParams(c *gin.Context) {
	for _, p := range c.Params {
		if calgate.TextProblem(p.Value, false) != "" {
			writeProblem(c, http.StatusNotFound, "no such resource in this workspace", nil)
			return
		}
	}
	for name, values := range c.Request.URL.Query() {
		if p := calgate.TextProblem(name, false); p != "" {
			s.fail(c, badParam("query", "a parameter name %s", p))
			return
		}
		for _, v := range values {
			if p := calgate.TextProblem(v, false); p != "" {
				s.fail(c, badParam(name, "%s", p))
				return
			}
		}
	}
	if key := c.GetHeader("Idempotency-Key"); key != "" {
		if p := calgate.TextProblem(key, false); p != "" {
			s.fail(c, badParam("Idempotency-Key", "%s", p))
			return
		}
	}
	c.Next()
}

func workspaceIDOf(c *gin.Context) string {
	if p, ok := c.Get(ctxPrincipal); ok {
		return p.(*calgate.Principal).Workspace.ID
	}
	return ""
}

// principal returns the authenticated caller.
func principal(c *gin.Context) *calgate.Principal {
	return c.MustGet(ctxPrincipal).(*calgate.Principal)
}

// actor names the caller in events and history: "user/token id".
func actor(c *gin.Context) string {
	p := principal(c)
	return p.Token.User + "/" + p.Token.ID
}

// PrincipalOf returns the authenticated caller of a route that is not
// Public, for handlers outside this package (compatibility surfaces).
func PrincipalOf(c *gin.Context) *calgate.Principal { return principal(c) }

// ActorOf names the caller in events and history, as the native routes do.
func ActorOf(c *gin.Context) string { return actor(c) }

// Fail answers with the problem document of err, as the native routes do.
func (s *Server) Fail(c *gin.Context, err error) { s.fail(c, err) }

// notify wakes the dispatcher after a committed write.
func (s *Server) notify() {
	if s.Notify != nil {
		s.Notify()
	}
}
