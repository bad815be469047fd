// Package graphtest is a local Microsoft 365 for tests: the Microsoft
// identity platform's v2.0 authorize and token endpoints (OAuth 2.0 with
// PKCE) and the parts of Microsoft Graph v1.0 calgate uses (/me, calendars,
// events with transactionId and single-value extended properties, and the
// calendar view delta query), written from Microsoft's published
// reference. It is strict: it refuses what Graph refuses (a wrong client,
// tenant, redirect or verifier, a revoked refresh token with invalid_grant,
// an expired access token with 401 InvalidAuthenticationToken, a time zone
// that is neither a Windows nor an IANA name with 400, an all-day event
// not at midnight, a transactionId used for another event with 400
// ErrorDuplicateTransactionId, a changed transactionId, a calendar name
// taken with 409, an unknown or expired delta token with 410, more than 4
// calls at once or 10,000 in 10 minutes per mailbox with 429 and
// Retry-After), answers a retried create of the same event with that
// event, and lets a test act as a person who edits or deletes events.
package graphtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
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
	// User is the signed-in user.
	UserID            string
	UserPrincipalName string
	DisplayName       string
	// AccessTokenTTL is how long an access token lives (default 1 h).
	AccessTokenTTL time.Duration
	// PerWindow calls (default 10,000) in Window (default 10 min) and
	// Concurrent calls at once (default 4) per mailbox; NoLimit turns them
	// off.
	PerWindow  int
	Window     time.Duration
	Concurrent int
	NoLimit    bool
	// PageSize is the default size of a delta page (default 10).
	PageSize int
}

type stored struct {
	ev       Event
	calendar string
	start    time.Time
	end      time.Time
	allDay   bool
	seq      int64
	deleted  bool
	bodyHash string
}

type deltaState struct {
	calendar   string
	start, end time.Time
	seq        int64
	valid      bool
}

// Server is a running fake.
type Server struct {
	*httptest.Server
	// Counts counts what the fake did (Count(op)):
	// "create event", "update event", "delete event", "replay",
	// "delta", "create calendar", "exchange code", "refresh token".
	*connectorstest.Counts
	// OAuth is the Microsoft identity platform's v2.0 endpoints of a
	// tenant: client credentials in the form, offline_access and
	// Calendars.ReadWrite, PKCE, refresh tokens good until revoked.
	*connectorstest.OAuth
	o      Options
	limits *connectorstest.Limits

	mu           sync.Mutex
	calendars    []*Calendar
	events       map[string]*stored
	transactions map[string]string
	seq          int64
	deltas       map[string]deltaState
	skips        map[string][]Event
	skipNext     map[string]string
}

// Start starts a fake mailbox and stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	connectorstest.Defaults(&o, Options{App: connectorstest.App{ClientID: "6731de76-14a6-49ae-97bc-6eba6914391e", ClientSecret: "fake~secret"}, UserID: "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
		UserPrincipalName: "foreman@contoso.onmicrosoft.com", DisplayName: "Shop Foreman", AccessTokenTTL: time.Hour, PerWindow: 10000, Window: 10 * time.Minute, Concurrent: 4, PageSize: 10})
	s := &Server{o: o, Counts: &connectorstest.Counts{}, limits: connectorstest.NewLimits(o.NoLimit, o.Concurrent, connectorstest.Window{Calls: o.PerWindow, Per: o.Window}),
		events: map[string]*stored{}, transactions: map[string]string{}, deltas: map[string]deltaState{},
		skips: map[string][]Event{}, skipNext: map[string]string{}}
	s.calendars = []*Calendar{{ID: newID(), Name: "Calendar", CanEdit: true, CanShare: true, IsDefaultCalendar: true,
		ChangeKey: newID()[:12], Owner: &EmailAddress{Name: o.DisplayName, Address: o.UserPrincipalName}}}
	s.OAuth = connectorstest.NewOAuth(connectorstest.OAuthOptions{Counts: s.Counts, App: o.App,
		Client: connectorstest.ClientInForm, ClientStatus: http.StatusUnauthorized, Scopes: []string{"offline_access", "Calendars.ReadWrite"},
		AccessTTL: o.AccessTokenTTL, CodePrefix: "0.AXYA", AccessPrefix: "eyJ0eXAi.", RefreshPrefix: "0.AXYA-r",
		Check: func(r *http.Request) string {
			if tenant, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/"); !tenants.MatchString(tenant) {
				return "AADSTS90002: Tenant not found."
			}
			return ""
		},
		Redirect: func(_, back url.Values) { back.Set("session_state", newToken("")) },
		Answer: func(a map[string]any) {
			a["scope"], a["ext_expires_in"] = "Calendars.ReadWrite User.Read", a["expires_in"]
		}})
	s.Server = connectorstest.Serve(t, map[string]http.HandlerFunc{"/": s.route})
	return s
}

// AuthURL and TokenURL are the endpoints of a tenant; APIURL is Graph's
// base.
func (s *Server) AuthURL(tenant string) string {
	return s.URL + "/" + tenant + "/oauth2/v2.0/authorize"
}
func (s *Server) TokenURL(tenant string) string { return s.URL + "/" + tenant + "/oauth2/v2.0/token" }
func (s *Server) APIURL() string                { return s.URL + "/v1.0" }

// Options returns the fake's settings.
func (s *Server) Options() Options { return s.o }

func newID() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "AAMk" + base64.RawURLEncoding.EncodeToString(b[:])
}

var newToken = connectorstest.NewToken

// ExpireDeltaTokens makes every delta link issued so far answer 410.
func (s *Server) ExpireDeltaTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, d := range s.deltas {
		d.valid = false
		s.deltas[k] = d
	}
}

// Throttle answers the next n Graph calls with 429 and Retry-After: 1, as
// when other apps used the mailbox's budget; they are not violations.
func (s *Server) Throttle(n int) { s.limits.Throttle(n) }

// Violations counts calls beyond the mailbox's limits.
func (s *Server) Violations() int { return s.limits.Violations() }

// DefaultCalendar returns the id of the mailbox's default calendar.
func (s *Server) DefaultCalendar() string { return s.calendars[0].ID }

// AddCalendar adds a calendar (canEdit false: shared read-only) and
// returns its id.
func (s *Server) AddCalendar(name string, canEdit bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &Calendar{ID: newID(), Name: name, CanEdit: canEdit, ChangeKey: newID()[:12], Owner: &EmailAddress{Name: s.o.DisplayName, Address: s.o.UserPrincipalName}}
	s.calendars = append(s.calendars, c)
	return c.ID
}

// Calendars returns the mailbox's calendars.
func (s *Server) Calendars() []Calendar {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Calendar, len(s.calendars))
	for i, c := range s.calendars {
		out[i] = *c
	}
	return out
}

// Events returns a calendar's events (not the deleted ones) with their
// times in UTC, by subject.
func (s *Server) Events(calendarID string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	for _, st := range s.events {
		if st.calendar == calendarID && !st.deleted {
			out = append(out, s.view(st, "UTC", true))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Subject+out[i].ID < out[j].Subject+out[j].ID })
	return out
}

// Event returns an event as stored (the time zones it was written with)
// and whether it exists (deleted ones do not).
func (s *Server) Event(id string) (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.events[id]
	if st == nil || st.deleted {
		return Event{}, false
	}
	return st.ev, true
}

// Edit changes an event as a person would in Outlook: fn changes its
// subject and location; start and end move it by the given offset.
func (s *Server) Edit(id string, fn func(*Event), move time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.events[id]
	fn(&st.ev)
	st.start, st.end = st.start.Add(move), st.end.Add(move)
	s.touch(st)
}

// Delete deletes an event as a person would.
func (s *Server) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.events[id]
	st.deleted = true
	s.touch(st)
}

// Insert adds an event calgate did not make to a calendar, as a person
// would, and returns its id.
func (s *Server) Insert(calendarID, subject string, start, end time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &stored{calendar: calendarID, start: start, end: end, ev: Event{ID: newID(), Subject: subject, ShowAs: "busy",
		OriginalStartTimeZone: "UTC", OriginalEndTimeZone: "UTC"}}
	s.events[st.ev.ID] = st
	s.touch(st)
	return st.ev.ID
}

func (s *Server) touch(st *stored) {
	s.seq++
	st.seq = s.seq
	st.ev.ChangeKey = newToken("")[:16]
	st.ev.LastModifiedDateTime = time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	connectorstest.WriteJSON(w, status, v, "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
}

// fail answers Graph's error shape.
func fail(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": message,
		"innerError": map[string]string{"date": time.Now().UTC().Format(time.RFC3339), "request-id": newToken("")}}})
}

// route sends /v1.0/… to Graph and /{tenant}/oauth2/v2.0/… to the
// identity platform.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/v1.0/") {
		s.api(w, r)
		return
	}
	_, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case rest == "oauth2/v2.0/authorize" && r.Method == http.MethodGet:
		s.Authorize(w, r)
	case rest == "oauth2/v2.0/token" && r.Method == http.MethodPost:
		s.Token(w, r)
	default:
		http.NotFound(w, r)
	}
}

var tenants = regexp.MustCompile(`^(common|organizations|consumers|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)

// bearer checks the access token; false after answering 401.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request) bool {
	exp, ok := s.AccessToken(r)
	switch {
	case !ok:
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"`)
		fail(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.")
		return false
	case time.Now().After(exp):
		w.Header().Set("WWW-Authenticate", `Bearer realm="", error="invalid_token"`)
		fail(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
		return false
	}
	return true
}

// admit applies the mailbox's limits; false after answering 429.
func (s *Server) admit(w http.ResponseWriter) (func(), bool) {
	done, refused := s.limits.Admit()
	if refused != nil {
		w.Header().Set("Retry-After", strconv.Itoa(int(refused.Wait.Seconds())+1))
		fail(w, http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
		return nil, false
	}
	return done, true
}

// api serves /v1.0/….
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	if !s.bearer(w, r) {
		return
	}
	done, ok := s.admit(w)
	if !ok {
		return
	}
	defer done()
	prefer, ok := s.preferZone(w, r)
	if !ok {
		return
	}
	text := strings.Contains(r.Header.Get("Prefer"), `outlook.body-content-type="text"`)
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/v1.0/"), "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "me" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, User{ID: s.o.UserID, DisplayName: s.o.DisplayName, UserPrincipalName: s.o.UserPrincipalName, Mail: s.o.UserPrincipalName})
	case len(parts) == 2 && parts[1] == "calendars" && r.Method == http.MethodGet:
		s.mu.Lock()
		list := make([]Calendar, len(s.calendars))
		for i, c := range s.calendars {
			list[i] = *c
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"value": list})
	case len(parts) == 2 && parts[1] == "calendars" && r.Method == http.MethodPost:
		s.createCalendar(w, r)
	case len(parts) == 4 && parts[1] == "calendars" && parts[3] == "events" && r.Method == http.MethodPost:
		s.createEvent(w, r, parts[2], prefer, text)
	case len(parts) == 4 && parts[1] == "calendars" && parts[3] == "events" && r.Method == http.MethodGet:
		s.findEvents(w, r, parts[2], prefer, text)
	case len(parts) == 5 && parts[1] == "calendars" && parts[3] == "calendarView" && parts[4] == "delta" && r.Method == http.MethodGet:
		s.delta(w, r, parts[2], prefer, text)
	case len(parts) == 3 && parts[1] == "events":
		switch r.Method {
		case http.MethodGet:
			s.getEvent(w, parts[2], prefer, text)
		case http.MethodPatch:
			s.updateEvent(w, r, parts[2], prefer, text)
		case http.MethodDelete:
			s.deleteEvent(w, parts[2])
		default:
			fail(w, http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
		}
	default:
		fail(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+parts[len(parts)-1]+"'.")
	}
}

var preferZone = regexp.MustCompile(`outlook\.timezone="([^"]*)"`)

// preferZone reads the Prefer: outlook.timezone the answers' times are
// given in (default UTC); false after answering 400 for a bad one.
func (s *Server) preferZone(w http.ResponseWriter, r *http.Request) (string, bool) {
	m := preferZone.FindStringSubmatch(r.Header.Get("Prefer"))
	if m == nil {
		return "UTC", true
	}
	if _, ok := zone(m[1]); !ok {
		fail(w, http.StatusBadRequest, "TimeZoneNotSupportedException", "A valid TimeZone value must be specified. The following TimeZone value is not supported: '"+m[1]+"'.")
		return "", false
	}
	return m[1], true
}

func (s *Server) createCalendar(w http.ResponseWriter, r *http.Request) {
	var in Calendar
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || strings.TrimSpace(in.Name) == "" {
		fail(w, http.StatusBadRequest, "ErrorInvalidRequest", "The calendar needs a name.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calendars {
		if strings.EqualFold(c.Name, in.Name) {
			fail(w, http.StatusConflict, "ErrorFolderExists", "A folder with the specified name already exists.")
			return
		}
	}
	c := &Calendar{ID: newID(), Name: in.Name, CanEdit: true, CanShare: true, ChangeKey: newToken("")[:16],
		Owner: &EmailAddress{Name: s.o.DisplayName, Address: s.o.UserPrincipalName}}
	s.calendars = append(s.calendars, c)
	s.Counts.Add("create calendar")
	writeJSON(w, http.StatusCreated, c)
}
