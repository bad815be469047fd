// Package qbotest is a local QuickBooks Online for tests: Intuit's OAuth
// 2.0 authorize and token endpoints and the parts of the Accounting API
// calgate uses (query, Customer, Invoice, SalesReceipt, CompanyInfo),
// written from Intuit's published API reference. It is strict: it refuses
// what QuickBooks Online refuses (a wrong client, an unknown or used code,
// a refused refresh token with invalid_grant, an expired access token with
// 401, a write with a stale SyncToken, a duplicate DisplayName, an unknown
// property, more calls than the company's limit with 429 and Retry-After),
// answers a repeated requestid with the first answer, and counts what it
// was asked so that tests can assert on it.
package qbotest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate/connectors/connectorstest"
)

// Options configure a Server.
type Options struct {
	connectorstest.App
	// Realm and CompanyName are the company the user connects.
	Realm       string
	CompanyName string
	// AccessTokenTTL is how long an access token lives (default 1 h).
	AccessTokenTTL time.Duration
	// Limit is the calls the company takes per Window (default 500 a
	// minute); Concurrent the calls at once (default 10). NoLimit turns
	// both off. Every call beyond them is answered 429 with Retry-After
	// and counted as a violation.
	Limit      int
	Window     time.Duration
	Concurrent int
	NoLimit    bool
}

// Server is a running fake.
type Server struct {
	*httptest.Server
	// Counts counts what the fake did (Count(op)):
	// "create customer", "create invoice", "update invoice", "void invoice",
	// "create salesreceipt", …, "query" (done, not replayed), "replay",
	// "exchange code" and "refresh token".
	*connectorstest.Counts
	// OAuth is Intuit's authorization server: client credentials in HTTP
	// Basic, the accounting scope and a state required, realmId in the
	// redirect, refresh tokens good until revoked.
	*connectorstest.OAuth
	// Replays answers a repeated requestid with the first answer.
	*connectorstest.Replays
	o      Options
	t      testing.TB
	limits *connectorstest.Limits

	mu        sync.Mutex
	customers []*customer
	docs      map[string]*document // id -> document
	nextID    int
	minor     map[string]int
}

// Start starts a fake company with one item, Id "1" ("Services"), and
// stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	connectorstest.Defaults(&o, Options{App: connectorstest.App{ClientID: "qbo-client", ClientSecret: "qbo-secret"}, Realm: "9130357766", CompanyName: "Sandbox Company_US_1",
		AccessTokenTTL: time.Hour, Limit: 500, Window: time.Minute, Concurrent: 10})
	s := &Server{o: o, Counts: &connectorstest.Counts{}, t: t, docs: map[string]*document{}, nextID: 100, minor: map[string]int{},
		limits: connectorstest.NewLimits(o.NoLimit, o.Concurrent, connectorstest.Window{Calls: o.Limit, Per: o.Window})}
	s.Replays = &connectorstest.Replays{Counts: s.Counts}
	s.OAuth = connectorstest.NewOAuth(connectorstest.OAuthOptions{Counts: s.Counts, App: o.App,
		Client: connectorstest.ClientInBasic, ClientStatus: http.StatusUnauthorized, Scopes: []string{"com.intuit.quickbooks.accounting"},
		RequireState: true, AccessTTL: o.AccessTokenTTL, CodePrefix: "AB11", AccessPrefix: "eyJ", RefreshPrefix: "RT1-", TokenType: "bearer",
		Redirect: func(_ url.Values, back url.Values) { back.Set("realmId", o.Realm) },
		Answer:   func(a map[string]any) { a["x_refresh_token_expires_in"] = 8726400 },
		Error: func(w http.ResponseWriter, status int, code, _ string) {
			connectorstest.WriteJSON(w, status, map[string]string{"error": code})
		}})
	s.Server = connectorstest.Serve(t, map[string]http.HandlerFunc{"GET /connect/oauth2": s.Authorize, "POST /oauth2/v1/tokens/bearer": s.Token, "/v3/company/{realm}/": s.api})
	return s
}

// AuthURL, TokenURL and APIURL are the endpoints to configure.
func (s *Server) AuthURL() string  { return s.URL + "/connect/oauth2" }
func (s *Server) TokenURL() string { return s.URL + "/oauth2/v1/tokens/bearer" }
func (s *Server) APIURL() string   { return s.URL }

// Options returns the fake's settings.
func (s *Server) Options() Options { return s.o }

// Throttle answers the next n API calls with 429 and Retry-After: 1, as
// if another app used the company's budget (they are not violations).
func (s *Server) Throttle(n int) { s.limits.Throttle(n) }

// Violations counts calls beyond the company's limits.
func (s *Server) Violations() int { return s.limits.Violations() }

// CallsWithoutMinorVersion counts API calls that carried no minorversion.
func (s *Server) CallsWithoutMinorVersion() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.minor["missing"]
}

// CheckNoViolations fails the test if the limits were exceeded.
func (s *Server) CheckNoViolations(t testing.TB) {
	t.Helper()
	if n := s.Violations(); n > 0 {
		t.Errorf("QuickBooks fake: %d calls beyond the company's limit of %d per %s and %d at once", n, s.o.Limit, s.o.Window, s.o.Concurrent)
	}
}
