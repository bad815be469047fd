// Package xerotest is a local Xero for tests: the identity service's
// authorize and token endpoints (OAuth 2.0 with PKCE), the connections
// endpoint and the parts of the Accounting API calgate uses (Contacts and
// Invoices), written from Xero's published API reference. It is strict: it
// refuses what Xero refuses (a wrong client or verifier, a used or refused
// refresh token with invalid_grant, an expired access token with 401, a
// call without xero-tenant-id with 403, a duplicate contact Name, an
// unknown property or account code, a status change Xero does not allow,
// more calls than the organisation's limits with 429, Retry-After and
// X-Rate-Limit-Problem), answers a repeated Idempotency-Key with the first
// answer, and counts what it was asked.
package xerotest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate/connectors/connectorstest"
)

// Options configure a Server.
type Options struct {
	connectorstest.App
	// TenantID and TenantName are the organisation the user connects.
	TenantID   string
	TenantName string
	// AccessTokenTTL is how long an access token lives (default 30 min).
	AccessTokenTTL time.Duration
	// PerMinute (default 60, with Minute as its window, default 1 min),
	// PerDay (default 5,000) and Concurrent (default 5) are the
	// organisation's limits; NoLimit turns them off.
	PerMinute  int
	Minute     time.Duration
	PerDay     int
	Concurrent int
	NoLimit    bool
}

// Server is a running fake.
type Server struct {
	*httptest.Server
	// Counts counts what the fake did (Count(op)):
	// "create contact", "create invoice", "update invoice", "delete
	// invoice", "void invoice" (done, not replayed), "replay", "exchange
	// code" and "refresh token".
	*connectorstest.Counts
	// OAuth is Xero's identity service: client credentials in HTTP
	// Basic, PKCE, a state and the accounting scopes required, each
	// refresh token good once.
	*connectorstest.OAuth
	// Replays answers a repeated Idempotency-Key with the first answer.
	*connectorstest.Replays
	o      Options
	limits *connectorstest.Limits

	mu         sync.Mutex
	contacts   []*contact
	invoices   map[string]*invoice
	order      []string
	noTenant   int
	nextNumber int
}

// Start starts a fake organisation and stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	connectorstest.Defaults(&o, Options{App: connectorstest.App{ClientID: "xero-client", ClientSecret: "xero-secret"}, TenantID: "fe79f7dd-b6d4-4a92-ba7b-538af6289c58",
		TenantName: "Demo Company (NZ)", AccessTokenTTL: 30 * time.Minute, PerMinute: 60, Minute: time.Minute, PerDay: 5000,
		Concurrent: 5})
	s := &Server{o: o, Counts: &connectorstest.Counts{}, invoices: map[string]*invoice{}, nextNumber: 1,
		limits: connectorstest.NewLimits(o.NoLimit, o.Concurrent, connectorstest.Window{Calls: o.PerMinute, Per: o.Minute}, connectorstest.Window{Calls: o.PerDay, Per: 24 * time.Hour})}
	s.Replays = &connectorstest.Replays{Counts: s.Counts}
	s.OAuth = connectorstest.NewOAuth(connectorstest.OAuthOptions{Counts: s.Counts, App: o.App,
		Client: connectorstest.ClientInBasic, Scopes: []string{"offline_access", "accounting.transactions", "accounting.contacts"},
		RequireState: true, Refresh: connectorstest.RotateRefresh, AccessTTL: o.AccessTokenTTL, CodePrefix: "c", AccessPrefix: "eyJ", RefreshPrefix: "r",
		Redirect: func(q, back url.Values) { back.Set("scope", q.Get("scope")) },
		Answer:   func(a map[string]any) { a["scope"] = "offline_access accounting.transactions accounting.contacts" },
		Error: func(w http.ResponseWriter, status int, code, _ string) {
			writeJSON(w, status, map[string]string{"error": code})
		}})
	s.Server = connectorstest.Serve(t, map[string]http.HandlerFunc{"GET /identity/connect/authorize": s.Authorize, "POST /connect/token": s.Token, "GET /connections": s.connections, "/api.xro/2.0/": s.api})
	return s
}

// AuthURL, TokenURL and APIURL are the endpoints to configure.
func (s *Server) AuthURL() string  { return s.URL + "/identity/connect/authorize" }
func (s *Server) TokenURL() string { return s.URL + "/connect/token" }
func (s *Server) APIURL() string   { return s.URL }

// Options returns the fake's settings.
func (s *Server) Options() Options { return s.o }

func guid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Throttle answers the next n accounting calls with 429 (minute limit,
// Retry-After: 1), as if another app had used the budget; they are not
// violations.
func (s *Server) Throttle(n int) { s.limits.Throttle(n) }

// Violations counts calls beyond the organisation's limits.
func (s *Server) Violations() int { return s.limits.Violations() }

// CallsWithoutTenant counts accounting calls refused for a missing or
// wrong xero-tenant-id.
func (s *Server) CallsWithoutTenant() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.noTenant
}

// CheckNoViolations fails the test if the limits were exceeded.
func (s *Server) CheckNoViolations(t testing.TB) {
	t.Helper()
	if n := s.Violations(); n > 0 {
		t.Errorf("Xero fake: %d calls beyond the organisation's limits (%d per %s, %d a day, %d at once)", n, s.o.PerMinute, s.o.Minute, s.o.PerDay, s.o.Concurrent)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	connectorstest.WriteJSON(w, status, v, "application/json; charset=utf-8")
}

// problem is the identity and gateway errors' shape.
func problem(w http.ResponseWriter, status int, title, detail string) {
	writeJSON(w, status, map[string]any{"Type": nil, "Title": title, "Status": status, "Detail": detail, "Instance": guid()})
}

// validation is an ApiException with validation errors.
func validation(w http.ResponseWriter, messages ...string) {
	errs := make([]map[string]string, 0, len(messages))
	for _, m := range messages {
		errs = append(errs, map[string]string{"Message": m})
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
		"Elements": []map[string]any{{"ValidationErrors": errs}}})
}

// bearer checks the access token; false after answering 401.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request) bool {
	exp, ok := s.AccessToken(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		problem(w, http.StatusUnauthorized, "Unauthorized", "AuthenticationUnsuccessful")
		return false
	}
	if time.Now().After(exp) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The token expired"`)
		problem(w, http.StatusUnauthorized, "Unauthorized", fmt.Sprintf("TokenExpired: token expired at %s", exp.UTC().Format("01/02/2006 15:04:05")))
		return false
	}
	return true
}

func (s *Server) connections(w http.ResponseWriter, r *http.Request) {
	if !s.bearer(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, []map[string]any{{"id": guid(), "authEventId": guid(), "tenantId": s.o.TenantID, "tenantType": "ORGANISATION",
		"tenantName": s.o.TenantName, "createdDateUtc": time.Now().UTC().Format("2006-01-02T15:04:05.0000000"), "updatedDateUtc": time.Now().UTC().Format("2006-01-02T15:04:05.0000000")}})
}

// admit applies the organisation's limits; false after answering 429.
func (s *Server) admit(w http.ResponseWriter) (func(), bool) {
	done, refused := s.limits.Admit()
	if refused != nil {
		problemName := "concurrent"
		switch {
		case refused.Throttled || refused.Window == 0:
			problemName = "minute"
		case refused.Window == 1:
			problemName = "day"
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(refused.Wait.Seconds())+1))
		w.Header().Set("X-Rate-Limit-Problem", problemName)
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"Title": "Too Many Requests", "Status": 429, "Detail": "Too many requests in the last " + problemName})
		return nil, false
	}
	if !s.o.NoLimit {
		w.Header().Set("X-MinLimit-Remaining", strconv.Itoa(s.limits.Remaining(0)))
		w.Header().Set("X-DayLimit-Remaining", strconv.Itoa(s.limits.Remaining(1)))
	}
	return done, true
}

// api serves /api.xro/2.0/….
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	if !s.bearer(w, r) {
		return
	}
	if r.Header.Get("Xero-Tenant-Id") != s.o.TenantID {
		s.mu.Lock()
		s.noTenant++
		s.mu.Unlock()
		problem(w, http.StatusForbidden, "Forbidden", "AuthenticationUnsuccessful")
		return
	}
	done, ok := s.admit(w)
	if !ok {
		return
	}
	defer done()
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 128 {
		validation(w, "Idempotency-Key must be at most 128 characters")
		return
	}
	write := r.Method == http.MethodPost || r.Method == http.MethodPut
	s.Replays.Serve(w, r, write, key, func(w http.ResponseWriter) string {
		return s.route(w, r, strings.TrimPrefix(r.URL.Path, "/api.xro/2.0"))
	})
}
