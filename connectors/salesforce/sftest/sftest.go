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
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
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
	// Counts counts what the fake did (Count(op)):
	// the records an operation wrote ("create Contact",
	// "update Contact", "create Event", "update Event", "delete Event"), and
	// how often the login server did "exchange code" and "refresh token".
	*connectorstest.Counts
	// OAuth is the login server's web server flow: client credentials in
	// the form, the api and refresh_token scopes, PKCE; a refresh answer
	// carries no new refresh token.
	*connectorstest.OAuth
	o Options

	mu         sync.Mutex
	records    map[string]*record // by id
	order      []string
	next       int
	calls      int
	violations int
	throttle   int
}

// Start starts a fake org and stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	connectorstest.Defaults(&o, Options{App: connectorstest.App{ClientID: "3MVG9sf-consumer-key", ClientSecret: "sf-consumer-secret"}, OrgID: "00D5g000004ZbQXEA0", UserID: "0055g00000Abc12AAB",
		ContactExternalIDField: "calgate_Customer_Key__c", EventExternalIDField: "calgate_Entry_Id__c", SessionTTL: 2 * time.Hour,
		DailyLimit: 15000})
	s := &Server{o: o, Counts: &connectorstest.Counts{}, records: map[string]*record{}}
	s.OAuth = connectorstest.NewOAuth(connectorstest.OAuthOptions{Counts: s.Counts, App: o.App,
		Client: connectorstest.ClientInForm, Scopes: []string{"api"}, Refresh: connectorstest.RefreshOmitted, AccessTTL: o.SessionTTL,
		CodePrefix: "aPrx", AccessPrefix: o.OrgID + "!AQ", RefreshPrefix: "5Aep",
		Check: func(r *http.Request) string {
			if sc := " " + r.URL.Query().Get("scope") + " "; !strings.Contains(sc, " refresh_token ") && !strings.Contains(sc, " offline_access ") {
				return "invalid_scope: api and refresh_token are needed"
			}
			return ""
		},
		Answer: func(a map[string]any) {
			a["instance_url"], a["id"] = s.Instance.URL, s.Login.URL+"/id/"+o.OrgID+"/"+o.UserID
			a["issued_at"], a["scope"] = strconv.FormatInt(time.Now().UnixMilli(), 10), "api refresh_token"
			a["signature"] = base64.StdEncoding.EncodeToString([]byte(connectorstest.NewToken("")))
			delete(a, "expires_in") // the token answer does not say
		}})
	s.Login = connectorstest.Serve(t, map[string]http.HandlerFunc{"GET /services/oauth2/authorize": s.Authorize, "POST /services/oauth2/token": s.Token})
	s.Instance = connectorstest.Serve(t, map[string]http.HandlerFunc{"/": s.api})
	return s
}

// LoginURL is the login server to configure.
func (s *Server) LoginURL() string { return s.Login.URL }

// InstanceURL is the org's instance, as the token answer gives it.
func (s *Server) InstanceURL() string { return s.Instance.URL }

// Options returns the fake's settings.
func (s *Server) Options() Options { return s.o }

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

// Violations counts calls beyond the org's daily limit.
func (s *Server) Violations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.violations
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	connectorstest.WriteJSON(w, status, v, "application/json;charset=UTF-8")
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
