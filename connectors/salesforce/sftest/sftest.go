// Package sftest is a local Salesforce for tests, written from Salesforce's
// REST API Developer Guide and Object Reference: the login server's OAuth
// 2.0 web server flow (authorize and token endpoints, PKCE, refresh) and an
// org's instance with the REST API's sObject Collections (upsert by
// external id, delete) and plain creates of Contact and Event records.
//
// It is strict: it refuses what Salesforce refuses (a wrong client,
// redirect URI or code verifier; a refused refresh token with invalid_grant;
// an expired session with 401 INVALID_SESSION_ID; an unknown API version; a
// field the object does not have with 400 INVALID_FIELD; an external id
// field that is not one; more than 200 records a call; a missing LastName,
// a bad e-mail, a too long text, a bad picklist value, an Event longer than
// the org allows, a WhoId that is no Contact; a plain create whose external
// id is taken with DUPLICATE_VALUE; the org's daily API requests spent with
// 403 REQUEST_LIMIT_EXCEEDED), and counts what it was asked.
package sftest

import (
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
	// OrgID and UserID are the org and user that consent.
	OrgID  string
	UserID string
	// ContactExternalIDField and EventExternalIDField are the external id
	// fields the org has (defaults: calgate_Customer_Key__c and
	// calgate_Entry_Id__c).
	ContactExternalIDField string
	EventExternalIDField   string
	// SessionTTL is how long an access token is good (default 2 h; the
	// token answer does not say).
	SessionTTL time.Duration
	// DailyLimit is the org's API requests a day (default 15,000).
	DailyLimit int
	// NoMultidayEvents is an org without multiday events: an Event lasts
	// at most 1,440 minutes (otherwise 14 days).
	NoMultidayEvents bool
}

// LatestVersion is the newest API version the fake serves; the oldest is
// 46.0.
const LatestVersion = 63

// Server is a running fake: a login server and an instance.
type Server struct {
	Login    *httptest.Server
	Instance *httptest.Server
	o        Options

	mu         sync.Mutex
	codes      map[string]grant
	access     map[string]time.Time
	refresh    map[string]bool
	records    map[string]*record // by id
	order      []string
	next       int
	calls      int
	counts     map[string]int
	violations int
	throttle   int
}

type grant struct{ redirect, challenge string }

// Start starts a fake org and stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	if o.ClientID == "" {
		o.ClientID = "3MVG9sf-consumer-key"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "sf-consumer-secret"
	}
	if o.OrgID == "" {
		o.OrgID = "00D5g000004ZbQXEA0"
	}
	if o.UserID == "" {
		o.UserID = "0055g00000Abc12AAB"
	}
	if o.ContactExternalIDField == "" {
		o.ContactExternalIDField = "calgate_Customer_Key__c"
	}
	if o.EventExternalIDField == "" {
		o.EventExternalIDField = "calgate_Entry_Id__c"
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 2 * time.Hour
	}
	if o.DailyLimit <= 0 {
		o.DailyLimit = 15000
	}
	s := &Server{o: o, codes: map[string]grant{}, access: map[string]time.Time{}, refresh: map[string]bool{},
		records: map[string]*record{}, counts: map[string]int{}}
	login := http.NewServeMux()
	login.HandleFunc("GET /services/oauth2/authorize", s.authorize)
	login.HandleFunc("POST /services/oauth2/token", s.token)
	s.Login = httptest.NewServer(login)
	s.Instance = httptest.NewServer(http.HandlerFunc(s.api))
	t.Cleanup(s.Login.Close)
	t.Cleanup(s.Instance.Close)
	return s
}

// LoginURL is the login server to configure.
func (s *Server) LoginURL() string { return s.Login.URL }

// InstanceURL is the org's instance, as the token answer gives it.
func (s *Server) InstanceURL() string { return s.Instance.URL }

// Options returns the fake's settings.
func (s *Server) Options() Options { return s.o }

func newToken(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// ExpireAccessTokens ends every session issued so far.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.access {
		s.access[k] = time.Time{}
	}
}

// RevokeRefreshTokens refuses every refresh token issued so far (the user
// revoked the connected app) and ends the sessions.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	for k := range s.refresh {
		s.refresh[k] = false
	}
	s.mu.Unlock()
	s.ExpireAccessTokens()
}

// Throttle answers the next n API calls with REQUEST_LIMIT_EXCEEDED, as if
// other integrations had spent the org's day; they are not violations.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Calls counts the API calls the instance answered (not the login
// server's).
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Count returns how many records an operation wrote: "create Contact",
// "update Contact", "create Event", "update Event", "delete Event", or how
// often the login server did "exchange code" and "refresh token".
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

// Violations counts calls beyond the org's daily limit.
func (s *Server) Violations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.violations
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError is one error of a request refused as a whole.
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

func refuse(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, []apiError{{Message: fmt.Sprintf(format, args...), ErrorCode: code}})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	scopes := map[string]bool{}
	for _, sc := range strings.Fields(q.Get("scope")) {
		scopes[sc] = true
	}
	switch {
	case q.Get("client_id") != s.o.ClientID:
		http.Error(w, "error=invalid_client_id: client identifier invalid", http.StatusBadRequest)
		return
	case q.Get("redirect_uri") != s.o.RedirectURI:
		http.Error(w, "error=redirect_uri_mismatch: redirect_uri must match configuration", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "error=unsupported_response_type", http.StatusBadRequest)
		return
	case !scopes["api"] || !(scopes["refresh_token"] || scopes["offline_access"]):
		http.Error(w, "error=invalid_scope: api and refresh_token are needed", http.StatusBadRequest)
		return
	case q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "" && q.Get("code_challenge_method") != "S256":
		http.Error(w, "error=invalid_request: code_challenge_method", http.StatusBadRequest)
		return
	}
	code := newToken("aPrx")
	s.mu.Lock()
	s.codes[code] = grant{redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge")}
	s.mu.Unlock()
	back := url.Values{"code": {code}}
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	f := r.PostForm
	if f.Get("client_id") != s.o.ClientID {
		oauthError(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	}
	if f.Get("client_secret") != s.o.ClientSecret {
		oauthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	answer := map[string]any{"instance_url": s.Instance.URL, "id": s.Login.URL + "/id/" + s.o.OrgID + "/" + s.o.UserID,
		"token_type": "Bearer", "issued_at": strconv.FormatInt(time.Now().UnixMilli(), 10), "signature": base64.StdEncoding.EncodeToString([]byte(newToken(""))),
		"scope": "api refresh_token"}
	switch f.Get("grant_type") {
	case "authorization_code":
		g, ok := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code"))
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if !ok || g.redirect != f.Get("redirect_uri") {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "authentication failure")
			return
		}
		if g.challenge != "" && base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid code verifier")
			return
		}
		rt := newToken("5Aep")
		s.refresh[rt] = true
		answer["refresh_token"] = rt
		s.counts["exchange code"]++
	case "refresh_token":
		if !s.refresh[f.Get("refresh_token")] {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "expired access/refresh token")
			return
		}
		s.counts["refresh token"]++
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
		return
	}
	at := s.o.OrgID + "!" + newToken("AQ")
	s.access[at] = time.Now().Add(s.o.SessionTTL)
	answer["access_token"] = at
	writeJSON(w, http.StatusOK, answer)
}

// IssueAccessToken returns a fresh session without the OAuth dance.
func (s *Server) IssueAccessToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.o.OrgID + "!" + newToken("AQ")
	s.access[at] = time.Now().Add(s.o.SessionTTL)
	return at
}
