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
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a Server.
type Options struct {
	ClientID     string
	ClientSecret string
	RedirectURI  string
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
	o Options

	mu           sync.Mutex
	codes        map[string]grant
	access       map[string]time.Time
	refresh      map[string]bool
	contacts     []*contact
	invoices     map[string]*invoice
	order        []string
	keys         map[string]stored
	minute, day  []time.Time
	inFlight     int
	violations   int
	counts       map[string]int
	noTenant     int
	throttle     int
	beforeAnswer func(op string)
	nextNumber   int
}

type grant struct{ redirect, challenge string }

type stored struct {
	status int
	body   []byte
}

// Start starts a fake organisation and stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	if o.ClientID == "" {
		o.ClientID = "xero-client"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "xero-secret"
	}
	if o.TenantID == "" {
		o.TenantID = "fe79f7dd-b6d4-4a92-ba7b-538af6289c58"
	}
	if o.TenantName == "" {
		o.TenantName = "Demo Company (NZ)"
	}
	if o.AccessTokenTTL <= 0 {
		o.AccessTokenTTL = 30 * time.Minute
	}
	if o.PerMinute <= 0 {
		o.PerMinute = 60
	}
	if o.Minute <= 0 {
		o.Minute = time.Minute
	}
	if o.PerDay <= 0 {
		o.PerDay = 5000
	}
	if o.Concurrent <= 0 {
		o.Concurrent = 5
	}
	s := &Server{o: o, codes: map[string]grant{}, access: map[string]time.Time{}, refresh: map[string]bool{},
		invoices: map[string]*invoice{}, keys: map[string]stored{}, counts: map[string]int{}, nextNumber: 1}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /identity/connect/authorize", s.authorize)
	mux.HandleFunc("POST /connect/token", s.token)
	mux.HandleFunc("GET /connections", s.connections)
	mux.HandleFunc("/api.xro/2.0/", s.api)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// AuthURL, TokenURL and APIURL are the endpoints to configure.
func (s *Server) AuthURL() string  { return s.URL + "/identity/connect/authorize" }
func (s *Server) TokenURL() string { return s.URL + "/connect/token" }
func (s *Server) APIURL() string   { return s.URL }

// Options returns the fake's settings.
func (s *Server) Options() Options { return s.o }

func newToken(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func guid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
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
// disconnected the app) and expires the access tokens.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	for k := range s.refresh {
		s.refresh[k] = false
	}
	s.mu.Unlock()
	s.ExpireAccessTokens()
}

// IssueAccessToken returns a fresh access token without the OAuth dance.
func (s *Server) IssueAccessToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := newToken("eyJ")
	s.access[tok] = time.Now().Add(s.o.AccessTokenTTL)
	return tok
}

// Throttle answers the next n accounting calls with 429 (minute limit,
// Retry-After: 1), as if another app had used the budget; they are not
// violations.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// BeforeAnswer runs fn after each write is done and before it is answered.
func (s *Server) BeforeAnswer(fn func(op string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeAnswer = fn
}

// Count returns how often an operation was done (not replayed): "create
// contact", "create invoice", "update invoice", "delete invoice", "void
// invoice", "refresh token", "exchange code", "replay".
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

// Violations counts calls beyond the organisation's limits.
func (s *Server) Violations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.violations
}

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
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
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

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	scopes := strings.Fields(q.Get("scope"))
	has := func(want string) bool {
		for _, sc := range scopes {
			if sc == want {
				return true
			}
		}
		return false
	}
	switch {
	case q.Get("client_id") != s.o.ClientID:
		http.Error(w, "unauthorized_client", http.StatusBadRequest)
		return
	case q.Get("redirect_uri") != s.o.RedirectURI:
		http.Error(w, "invalid redirect_uri", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "unsupported_response_type", http.StatusBadRequest)
		return
	case !has("offline_access") || !has("accounting.transactions") || !has("accounting.contacts"):
		http.Error(w, "invalid_scope: offline_access, accounting.transactions and accounting.contacts are needed", http.StatusBadRequest)
		return
	case q.Get("state") == "":
		http.Error(w, "state is required", http.StatusBadRequest)
		return
	case q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256":
		http.Error(w, "code_challenge_method must be S256", http.StatusBadRequest)
		return
	}
	code := newToken("c")
	s.mu.Lock()
	s.codes[code] = grant{redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge")}
	s.mu.Unlock()
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}, "scope": {q.Get("scope")}}.Encode(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != s.o.ClientID || secret != s.o.ClientSecret {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_client"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	switch f.Get("grant_type") {
	case "authorization_code":
		g, ok := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code"))
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if !ok || g.redirect != f.Get("redirect_uri") || (g.challenge != "" && base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
			return
		}
		s.counts["exchange code"]++
	case "refresh_token":
		// A refresh token is good once: the answer carries the next one.
		if !s.refresh[f.Get("refresh_token")] {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
			return
		}
		s.refresh[f.Get("refresh_token")] = false
		s.counts["refresh token"]++
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	access, refresh := newToken("eyJ"), newToken("r")
	s.access[access] = time.Now().Add(s.o.AccessTokenTTL)
	s.refresh[refresh] = true
	writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
		"expires_in": int(s.o.AccessTokenTTL.Seconds()), "scope": "offline_access accounting.transactions accounting.contacts"})
}

// bearer checks the access token; false after answering 401.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	s.mu.Lock()
	exp, ok := s.access[strings.TrimPrefix(auth, "Bearer ")]
	s.mu.Unlock()
	if !strings.HasPrefix(auth, "Bearer ") || !ok {
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
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	refuse := func(problemName string, wait time.Duration, violation bool) {
		if violation {
			s.violations++
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		w.Header().Set("X-Rate-Limit-Problem", problemName)
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"Title": "Too Many Requests", "Status": 429, "Detail": "Too many requests in the last " + problemName})
	}
	if s.throttle > 0 {
		s.throttle--
		refuse("minute", 0, false)
		return nil, false
	}
	if !s.o.NoLimit {
		s.minute = since(s.minute, now.Add(-s.o.Minute))
		s.day = since(s.day, now.Add(-24*time.Hour))
		switch {
		case s.inFlight >= s.o.Concurrent:
			refuse("concurrent", time.Second, true)
			return nil, false
		case len(s.minute) >= s.o.PerMinute:
			refuse("minute", s.minute[0].Add(s.o.Minute).Sub(now), true)
			return nil, false
		case len(s.day) >= s.o.PerDay:
			refuse("day", s.day[0].Add(24*time.Hour).Sub(now), true)
			return nil, false
		}
		s.minute, s.day = append(s.minute, now), append(s.day, now)
		w.Header().Set("X-MinLimit-Remaining", strconv.Itoa(s.o.PerMinute-len(s.minute)))
		w.Header().Set("X-DayLimit-Remaining", strconv.Itoa(s.o.PerDay-len(s.day)))
	}
	s.inFlight++
	return func() { s.mu.Lock(); s.inFlight--; s.mu.Unlock() }, true
}

func since(list []time.Time, cut time.Time) []time.Time {
	kept := list[:0]
	for _, at := range list {
		if at.After(cut) {
			kept = append(kept, at)
		}
	}
	return kept
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
	if write && key != "" {
		s.mu.Lock()
		prev, seen := s.keys[key]
		if seen {
			s.counts["replay"]++
		}
		s.mu.Unlock()
		if seen {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(prev.status)
			_, _ = w.Write(prev.body)
			return
		}
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	op := s.route(rec, r, strings.TrimPrefix(r.URL.Path, "/api.xro/2.0"))
	if write {
		s.mu.Lock()
		if key != "" && rec.status < 500 {
			s.keys[key] = stored{status: rec.status, body: rec.body.Bytes()}
		}
		hook := s.beforeAnswer
		s.mu.Unlock()
		if hook != nil && rec.status < 300 {
			hook(op)
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
