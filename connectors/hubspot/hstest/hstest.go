// Package hstest is a local HubSpot for tests, written from HubSpot's CRM
// v3 API reference, the associations v4 API and the OAuth and API usage
// guides: the OAuth 2.0 authorize and token endpoints, the account details,
// batch upserts of contacts (by email), meetings and deals (by a unique
// property), plain contact creates, meeting batch archives and default
// association batches.
//
// It is strict: it refuses what HubSpot refuses (a wrong client or
// redirect URI; a refused refresh token; an expired access token with 401
// EXPIRED_AUTHENTICATION; a property the object does not have; an
// idProperty that is no unique property; more than 100 inputs; an invalid
// e-mail, a bad meeting outcome or deal stage, which fail the whole batch;
// a duplicate contact on a plain create with 409; more requests than the
// burst limit per 10 seconds with 429 and Retry-After), and counts what it
// was asked.
package hstest

import (
	"crypto/rand"
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
	// PrivateAppToken is a private app's access token the account accepts
	// (default "pat-na1-…").
	PrivateAppToken string
	PortalID        int64
	// MeetingIDProperty and DealIDProperty are the account's unique
	// meeting and deal properties (defaults calgate_entry_id and
	// calgate_order).
	MeetingIDProperty string
	DealIDProperty    string
	// Burst is the requests allowed per Window (defaults 100 per 10 s).
	Burst  int
	Window time.Duration
	// AccessTokenTTL is how long an OAuth access token lives (default 30
	// min).
	AccessTokenTTL time.Duration
}

// Server is a running fake account.
type Server struct {
	*httptest.Server
	o Options

	mu         sync.Mutex
	codes      map[string]string
	access     map[string]time.Time
	refresh    map[string]bool
	objects    map[string]map[string]*object // type → id → record
	assoc      map[string]bool               // "from/fromID/to/toID"
	next       int64
	window     []time.Time
	calls      int
	counts     map[string]int
	violations int
	throttle   int
}

type object struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
	CreatedAt  string            `json:"createdAt"`
	UpdatedAt  string            `json:"updatedAt"`
	Archived   bool              `json:"archived"`
}

// Start starts a fake account and stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	if o.ClientID == "" {
		o.ClientID = "5fd4c5a2-0d3e-4a47-a1a2-hubspot-client"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "hs-client-secret"
	}
	if o.PrivateAppToken == "" {
		o.PrivateAppToken = "pat-na1-" + newToken()
	}
	if o.PortalID == 0 {
		o.PortalID = 62515
	}
	if o.MeetingIDProperty == "" {
		o.MeetingIDProperty = "calgate_entry_id"
	}
	if o.DealIDProperty == "" {
		o.DealIDProperty = "calgate_order"
	}
	if o.Burst <= 0 {
		o.Burst = 100
	}
	if o.Window <= 0 {
		o.Window = 10 * time.Second
	}
	if o.AccessTokenTTL <= 0 {
		o.AccessTokenTTL = 30 * time.Minute
	}
	s := &Server{o: o, codes: map[string]string{}, access: map[string]time.Time{}, refresh: map[string]bool{},
		objects: map[string]map[string]*object{"contacts": {}, "meetings": {}, "deals": {}}, assoc: map[string]bool{}, counts: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth/authorize", s.authorize)
	mux.HandleFunc("POST /oauth/v1/token", s.token)
	mux.HandleFunc("/", s.api)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// AuthURL, TokenURL and APIURL are the endpoints to configure.
func (s *Server) AuthURL() string  { return s.URL + "/oauth/authorize" }
func (s *Server) TokenURL() string { return s.URL + "/oauth/v1/token" }
func (s *Server) APIURL() string   { return s.URL }

// Options returns the fake's settings.
func (s *Server) Options() Options { return s.o }

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, category, format string, args ...any) {
	writeJSON(w, status, map[string]any{"status": "error", "message": fmt.Sprintf(format, args...), "correlationId": newToken(), "category": category})
}

// ExpireAccessTokens makes every OAuth access token expired.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.access {
		s.access[k] = time.Time{}
	}
}

// RevokeRefreshTokens refuses every refresh token (the app was
// uninstalled) and expires the access tokens.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	for k := range s.refresh {
		s.refresh[k] = false
	}
	s.mu.Unlock()
	s.ExpireAccessTokens()
}

// Throttle answers the next n API calls with 429 (another app used the
// burst), Retry-After 1; they are not violations.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Calls counts the API calls answered (not the token endpoint's).
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Count returns how often an operation was done: "create contacts",
// "update contacts", "create meetings", "update meetings", "archive
// meetings", "create deals", "associate" (pairs), "refresh token".
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

// Violations counts calls beyond the burst limit.
func (s *Server) Violations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.violations
}

// Record is a record as tests see it.
type Record struct {
	ID         string
	Properties map[string]string
	Archived   bool
	// Contacts, Meetings and Deals are the ids it is associated with.
	Contacts, Meetings, Deals []string
}

// Records lists an object type's records ("contacts", "meetings",
// "deals") in the order they were made.
func (s *Server) Records(objectType string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for n := int64(1); n <= s.next; n++ {
		o := s.objects[objectType][strconv.FormatInt(n, 10)]
		if o == nil {
			continue
		}
		r := Record{ID: o.ID, Properties: map[string]string{}, Archived: o.Archived}
		for k, v := range o.Properties {
			r.Properties[k] = v
		}
		for key := range s.assoc {
			p := strings.Split(key, "/")
			for _, side := range [][2]int{{0, 2}, {2, 0}} {
				if p[side[0]] == objectType && p[side[0]+1] == o.ID {
					switch p[side[1]] {
					case "contacts":
						r.Contacts = append(r.Contacts, p[side[1]+1])
					case "meetings":
						r.Meetings = append(r.Meetings, p[side[1]+1])
					case "deals":
						r.Deals = append(r.Deals, p[side[1]+1])
					}
				}
			}
		}
		out = append(out, r)
	}
	return out
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("client_id") != s.o.ClientID:
		http.Error(w, "invalid client_id", http.StatusBadRequest)
		return
	case q.Get("redirect_uri") != s.o.RedirectURI:
		http.Error(w, "redirect_uri does not match the app's", http.StatusBadRequest)
		return
	case !strings.Contains(" "+q.Get("scope")+" ", " crm.objects.contacts.write "):
		http.Error(w, "scope crm.objects.contacts.write is required", http.StatusBadRequest)
		return
	}
	code := newToken()
	s.mu.Lock()
	s.codes[code] = q.Get("redirect_uri")
	s.mu.Unlock()
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f := r.PostForm
	if f.Get("client_id") != s.o.ClientID || f.Get("client_secret") != s.o.ClientSecret {
		writeJSON(w, http.StatusBadRequest, map[string]string{"status": "BAD_CLIENT_ID", "message": "missing or unknown client id", "error": "invalid_client"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch f.Get("grant_type") {
	case "authorization_code":
		redirect, ok := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code"))
		if !ok || redirect != f.Get("redirect_uri") {
			writeJSON(w, http.StatusBadRequest, map[string]string{"status": "BAD_AUTH_CODE", "message": "missing or unknown auth code", "error": "invalid_grant"})
			return
		}
		s.counts["exchange code"]++
	case "refresh_token":
		if !s.refresh[f.Get("refresh_token")] {
			writeJSON(w, http.StatusBadRequest, map[string]string{"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token", "error": "invalid_grant"})
			return
		}
		s.counts["refresh token"]++
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"status": "BAD_GRANT_TYPE", "error": "unsupported_grant_type"})
		return
	}
	at, rt := "CJ"+newToken(), f.Get("refresh_token")
	if rt == "" {
		rt = newToken()
		s.refresh[rt] = true
	}
	s.access[at] = time.Now().Add(s.o.AccessTokenTTL)
	writeJSON(w, http.StatusOK, map[string]any{"access_token": at, "refresh_token": rt, "expires_in": int(s.o.AccessTokenTTL.Seconds()), "token_type": "bearer"})
}

// admit checks the token and the burst limit; false after answering.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, known := s.access[tok]
	switch {
	case !ok || (!known && tok != s.o.PrivateAppToken):
		fail(w, http.StatusUnauthorized, "INVALID_AUTHENTICATION", "Authentication credentials not found. This API supports OAuth 2.0 authentication.")
		return false
	case known && time.Now().After(exp):
		fail(w, http.StatusUnauthorized, "EXPIRED_AUTHENTICATION", "The OAuth token used to make this call expired.")
		return false
	}
	s.calls++
	now := time.Now()
	kept := s.window[:0]
	for _, at := range s.window {
		if now.Sub(at) < s.o.Window {
			kept = append(kept, at)
		}
	}
	s.window = kept
	over := len(s.window) >= s.o.Burst
	if s.throttle > 0 || over {
		if s.throttle > 0 {
			s.throttle--
		} else {
			s.violations++
		}
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
			"errorType": "RATE_LIMIT", "correlationId": newToken(), "policyName": "TEN_SECONDLY_ROLLING"})
		return false
	}
	s.window = append(s.window, now)
	w.Header().Set("X-HubSpot-RateLimit-Max", strconv.Itoa(s.o.Burst))
	w.Header().Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(s.o.Burst-len(s.window)))
	w.Header().Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.FormatInt(s.o.Window.Milliseconds(), 10))
	return true
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r) {
		return
	}
	p := r.URL.Path
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case r.Method == http.MethodGet && p == "/account-info/v3/details":
		writeJSON(w, http.StatusOK, map[string]any{"portalId": s.o.PortalID, "accountType": "STANDARD", "timeZone": "Europe/Berlin",
			"companyCurrency": "EUR", "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"})
	case r.Method == http.MethodPost && len(parts) == 6 && parts[0] == "crm" && parts[1] == "v3" && parts[4] == "batch" && parts[5] == "upsert":
		s.batchUpsert(w, r, parts[3])
	case r.Method == http.MethodPost && p == "/crm/v3/objects/meetings/batch/archive":
		s.archive(w, r)
	case r.Method == http.MethodPost && p == "/crm/v3/objects/contacts":
		s.createContact(w, r)
	case r.Method == http.MethodPost && len(parts) == 7 && parts[1] == "v4" && parts[2] == "associations" && parts[5] == "batch" && parts[6] == "associate":
		fail(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "not found")
	case r.Method == http.MethodPost && len(parts) == 8 && parts[1] == "v4" && parts[2] == "associations" && parts[5] == "batch" && parts[7] == "default":
		s.associate(w, r, parts[3], parts[4])
	default:
		fail(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "%s %s is not served by this fake", r.Method, p)
	}
}
