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
	// Counts counts what the fake did (Count(op)):
	// "create contacts", "update contacts", "create meetings",
	// "update meetings", "archive meetings", "create deals", "associate"
	// (pairs), "exchange code", "refresh token".
	*connectorstest.Counts
	// OAuth is HubSpot's authorization server: client credentials in the
	// form, the contacts scope required, a refresh answer carrying the
	// same refresh token.
	*connectorstest.OAuth
	o      Options
	limits *connectorstest.Limits

	mu      sync.Mutex
	objects map[string]map[string]*object // type → id → record
	assoc   map[string]bool               // "from/fromID/to/toID"
	next    int64
	calls   int
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
	connectorstest.Defaults(&o, Options{App: connectorstest.App{ClientID: "5fd4c5a2-0d3e-4a47-a1a2-hubspot-client", ClientSecret: "hs-client-secret"}, PrivateAppToken: "pat-na1-" + newToken(),
		PortalID: 62515, MeetingIDProperty: "calgate_entry_id", DealIDProperty: "calgate_order", Burst: 100, Window: 10 * time.Second,
		AccessTokenTTL: 30 * time.Minute})
	s := &Server{o: o, Counts: &connectorstest.Counts{}, objects: map[string]map[string]*object{"contacts": {}, "meetings": {}, "deals": {}}, assoc: map[string]bool{},
		limits: connectorstest.NewLimits(false, 0, connectorstest.Window{Calls: o.Burst, Per: o.Window})}
	s.OAuth = connectorstest.NewOAuth(connectorstest.OAuthOptions{Counts: s.Counts, App: o.App,
		Client: connectorstest.ClientInForm, Scopes: []string{"crm.objects.contacts.write"}, Refresh: connectorstest.RefreshSame,
		AccessTTL: o.AccessTokenTTL, AccessPrefix: "CJ", TokenType: "bearer",
		Error: func(w http.ResponseWriter, status int, code, description string) {
			writeJSON(w, status, map[string]string{"status": strings.ToUpper(code), "message": description, "error": code})
		}})
	s.Server = connectorstest.Serve(t, map[string]http.HandlerFunc{"GET /oauth/authorize": s.Authorize, "POST /oauth/v1/token": s.Token, "/": s.api})
	return s
}

// AuthURL, TokenURL and APIURL are the endpoints to configure.
func (s *Server) AuthURL() string  { return s.URL + "/oauth/authorize" }
func (s *Server) TokenURL() string { return s.URL + "/oauth/v1/token" }
func (s *Server) APIURL() string   { return s.URL }

// Options returns the fake's settings.
func (s *Server) Options() Options { return s.o }

func newToken() string { return connectorstest.NewToken("") }

func writeJSON(w http.ResponseWriter, status int, v any) {
	connectorstest.WriteJSON(w, status, v, "application/json;charset=utf-8")
}

func fail(w http.ResponseWriter, status int, category, format string, args ...any) {
	writeJSON(w, status, map[string]any{"status": "error", "message": fmt.Sprintf(format, args...), "correlationId": newToken(), "category": category})
}

// Throttle answers the next n API calls with 429 (another app used the
// burst), Retry-After 1; they are not violations.
func (s *Server) Throttle(n int) { s.limits.Throttle(n) }

// Calls counts the API calls answered (not the token endpoint's).
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Violations counts calls beyond the burst limit.
func (s *Server) Violations() int { return s.limits.Violations() }

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

// admit checks the token and the burst limit; false after answering.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	exp, known := s.AccessToken(r)
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !ok || (!known && tok != s.o.PrivateAppToken):
		fail(w, http.StatusUnauthorized, "INVALID_AUTHENTICATION", "Authentication credentials not found. This API supports OAuth 2.0 authentication.")
		return false
	case known && time.Now().After(exp):
		fail(w, http.StatusUnauthorized, "EXPIRED_AUTHENTICATION", "The OAuth token used to make this call expired.")
		return false
	}
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	done, refused := s.limits.Admit()
	if refused != nil {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
			"errorType": "RATE_LIMIT", "correlationId": newToken(), "policyName": "TEN_SECONDLY_ROLLING"})
		return false
	}
	done() // the burst counts calls made, not calls at once
	w.Header().Set("X-HubSpot-RateLimit-Max", strconv.Itoa(s.o.Burst))
	w.Header().Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(s.limits.Remaining(0)))
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
