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
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a Server.
type Options struct {
	ClientID     string
	ClientSecret string
	// RedirectURI is the one redirect URI registered for the app.
	RedirectURI string
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
	o Options
	t testing.TB

	mu         sync.Mutex
	codes      map[string]codeGrant
	access     map[string]time.Time // access token -> expiry
	refresh    map[string]bool      // refresh token -> valid
	customers  []*customer
	docs       map[string]*document // id -> document
	nextID     int
	requestIDs map[string]stored
	calls      []time.Time
	inFlight   int
	violations int
	counts     map[string]int
	minor      map[string]int
	throttle   int
	// beforeAnswer runs after a write is done and before it is answered.
	beforeAnswer func(op string)
}

type codeGrant struct{ redirect string }

type stored struct {
	status int
	body   []byte
}

// Start starts a fake company with one item, Id "1" ("Services"), and
// stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	if o.ClientID == "" {
		o.ClientID = "qbo-client"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "qbo-secret"
	}
	if o.Realm == "" {
		o.Realm = "9130357766"
	}
	if o.CompanyName == "" {
		o.CompanyName = "Sandbox Company_US_1"
	}
	if o.AccessTokenTTL <= 0 {
		o.AccessTokenTTL = time.Hour
	}
	if o.Limit <= 0 {
		o.Limit = 500
	}
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.Concurrent <= 0 {
		o.Concurrent = 10
	}
	s := &Server{o: o, t: t, codes: map[string]codeGrant{}, access: map[string]time.Time{}, refresh: map[string]bool{},
		docs: map[string]*document{}, nextID: 100, requestIDs: map[string]stored{}, counts: map[string]int{}, minor: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /connect/oauth2", s.authorize)
	mux.HandleFunc("POST /oauth2/v1/tokens/bearer", s.token)
	mux.HandleFunc("/v3/company/{realm}/", s.api)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// AuthURL, TokenURL and APIURL are the endpoints to configure.
func (s *Server) AuthURL() string  { return s.URL + "/connect/oauth2" }
func (s *Server) TokenURL() string { return s.URL + "/oauth2/v1/tokens/bearer" }
func (s *Server) APIURL() string   { return s.URL }

// Options returns the fake's settings.
func (s *Server) Options() Options { return s.o }

func newToken(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// ExpireAccessTokens makes every access token issued so far expired.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.access {
		s.access[k] = time.Time{}
	}
}

// RevokeRefreshTokens refuses every refresh token issued so far (the user
// disconnected the app), and expires the access tokens.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	for k := range s.refresh {
		s.refresh[k] = false
	}
	s.mu.Unlock()
	s.ExpireAccessTokens()
}

// Throttle answers the next n API calls with 429 and Retry-After: 1, as
// if another app used the company's budget (they are not violations).
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// BeforeAnswer runs fn after each write is done and before it is answered
// (nil: none). Tests cancel a push there to play a worker killed after the
// company accepted its call.
func (s *Server) BeforeAnswer(fn func(op string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeAnswer = fn
}

// Count returns how often an operation was done (not replayed):
// "create customer", "create invoice", "update invoice", "void invoice",
// "create salesreceipt", …, "query", "refresh token", "exchange code",
// "replay".
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

// Violations counts calls beyond the company's limits.
func (s *Server) Violations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.violations
}

// CallsWithoutMinorVersion counts API calls that carried no minorversion.
func (s *Server) CallsWithoutMinorVersion() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.minor["missing"]
}

func (s *Server) count(op string) {
	s.counts[op]++
}

// CheckNoViolations fails the test if the limits were exceeded.
func (s *Server) CheckNoViolations(t testing.TB) {
	t.Helper()
	if n := s.Violations(); n > 0 {
		t.Errorf("QuickBooks fake: %d calls beyond the company's limit of %d per %s and %d at once", n, s.o.Limit, s.o.Window, s.o.Concurrent)
	}
}

func basicAuth(r *http.Request) (string, string, bool) { return r.BasicAuth() }

func hasScope(scopes, want string) bool {
	for _, s := range strings.Fields(scopes) {
		if s == want {
			return true
		}
	}
	return false
}
