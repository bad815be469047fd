package console

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/feeds"
	"github.com/calgate/calgate/imports"
	"github.com/calgate/calgate/imports/pull"
	"github.com/calgate/calgate/webhooks"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Prefix is where the console is mounted.
const Prefix = "/console/"

// Store is what the console reads and writes directly: the core store,
// sessions, and the state of CalDAV targets and iCal subscriptions.
type Store interface {
	calgate.Store
	calgate.SessionStore
	CalDAVTargets(ctx context.Context, workspaceID string) ([]*calgate.CalDAVTarget, error)
	Subscriptions(ctx context.Context, workspaceID, cursor string, limit int) ([]*calgate.Subscription, string, error)
}

// Deps are the console's collaborators. The services are optional: a
// section whose service is nil is not shown.
type Deps struct {
	Store    Store
	Feeds    *feeds.Service
	Webhooks *webhooks.Service
	Imports  *imports.Service
	// Pulls are the scheduled pulls the imports page and the health page
	// list (optional).
	Pulls *pull.Service
	// Connectors links third-party applications (optional).
	Connectors *connectors.Service
	// QueueDepth reports the tasks waiting in the queue (optional).
	QueueDepth func() (int, error)
	Logger     *slog.Logger
	// PublicURL is the gateway's public base URL; an https one marks the
	// session cookie Secure.
	PublicURL string
	// SessionTTL is how long a session lasts (default 12h).
	SessionTTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Console serves the pages. Build it with New.
type Console struct {
	Deps
	pages *pages
	mux   *http.ServeMux
}

// DefaultSessionTTL is how long a console session lasts.
const DefaultSessionTTL = 12 * time.Hour

// New builds the console.
func New(d Deps) (*Console, error) {
	if d.Store == nil {
		return nil, errors.New("console: a store is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.SessionTTL <= 0 {
		d.SessionTTL = DefaultSessionTTL
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{Deps: d, pages: p, mux: http.NewServeMux()}
	c.routes()
	return c, nil
}

// ServeHTTP serves every page under Prefix with the security headers.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	// Text that breaks the line rule (invalid UTF-8, control characters)
	// never reaches a store: in a path it names nothing (404), in a query
	// it is a bad parameter (400), on either engine alike.
	if calgate.TextProblem(r.URL.Path, false) != "" {
		c.notFound(w, r)
		return
	}
	for name, values := range r.URL.Query() {
		for _, v := range append([]string{name}, values...) {
			if p := calgate.TextProblem(v, false); p != "" {
				visit, _ := c.visitOf(r)
				c.render(w, r, http.StatusBadRequest, "message", visit, message{Heading: "Bad address",
					Fields: []calgate.FieldError{{Field: name, Message: p}}})
				return
			}
		}
	}
	c.mux.ServeHTTP(w, r)
}

// ContentSecurityPolicy allows only the console's own scripts, styles and
// forms: no inline script or style, no frames, no other origin.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Mount returns a handler that serves the console under Prefix and passes
// every other request to next untouched.
func (c *Console) Mount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/console":
			http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		case strings.HasPrefix(r.URL.Path, Prefix):
			c.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func (c *Console) routes() {
	m := c.mux
	m.Handle("GET /console/static/", http.StripPrefix("/console/", http.FileServerFS(staticFiles)))
	m.HandleFunc("GET /console/signin", c.signinPage)
	m.HandleFunc("POST /console/signin", c.signin)
	m.HandleFunc("/console/", c.notFound)

	page := func(pattern string, h pageHandler) { m.Handle(pattern, c.authed(h)) }
	page("GET /console/{$}", c.home)
	page("POST /console/signout", c.signout)
	page("GET /console/schedule", c.schedule)
	page("GET /console/entries/{kind}/{id}", c.entry)
	page("GET /console/health", c.health)
	page("GET /console/tokens", c.tokens)
	page("POST /console/tokens", c.createToken)
	page("POST /console/tokens/{id}/revoke", c.revokeToken)
	page("GET /console/sync", c.syncState)
	if c.Feeds != nil {
		page("GET /console/feeds", c.feeds)
		page("POST /console/feeds", c.createFeed)
		page("POST /console/feeds/{id}/rotate", c.rotateFeed)
	}
	if c.Webhooks != nil {
		page("GET /console/webhooks", c.webhooks)
		page("GET /console/webhooks/{id}", c.webhook)
		page("POST /console/webhooks/{id}/test", c.testWebhook)
		page("POST /console/webhooks/{id}/rotate", c.rotateWebhook)
		page("POST /console/webhooks/{id}/enable", c.enableWebhook)
		page("POST /console/webhooks/{id}/replay", c.replayWebhook)
		page("POST /console/webhooks/{id}/deliveries/{delivery}/retry", c.retryDelivery)
	}
	if c.Imports != nil {
		page("GET /console/imports", c.importsPage)
		page("POST /console/imports", c.runImport)
	}
	if c.Connectors != nil {
		page("GET /console/connectors", c.connectors)
		page("GET /console/connectors/{id}", c.connector)
		page("POST /console/connectors/{id}/authorize", c.authorizeConnector)
	}
}

// home sends a signed-in visitor to the schedule.
func (c *Console) home(w http.ResponseWriter, r *http.Request, s *visit) {
	http.Redirect(w, r, "/console/schedule", http.StatusSeeOther)
}
