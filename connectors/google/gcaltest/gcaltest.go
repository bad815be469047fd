// Package gcaltest is a local Google Calendar for tests: Google's OAuth
// 2.0 authorize and token endpoints and the parts of the Calendar API v3
// calgate uses (calendarList, calendars.insert, events insert, get,
// update, delete and list with sync tokens), written from Google's
// published API reference. It is strict: it refuses what Google refuses (a
// wrong client, redirect or PKCE verifier, a revoked refresh token with
// invalid_grant, an expired access token with 401, an event id that is not
// base32hex of 5 to 1,024 characters, an id already used in the calendar
// with 409 duplicate, a time zone that is not an IANA name, an end before
// the start, a stale sync token with 410 fullSyncRequired, more calls than
// the per-user quota with 403 rateLimitExceeded), keeps deleted events as
// cancelled (their ids stay taken), and lets a test act as a person who
// edits or deletes events in the calendar.
package gcaltest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate/connectors/connectorstest"
)

// Scope is the OAuth scope the fake requires.
const Scope = "https://www.googleapis.com/auth/calendar"

// Options configure a Server.
type Options struct {
	connectorstest.App
	// User is the account's e-mail address (its primary calendar's id),
	// UserName its name.
	User     string
	UserName string
	// AccessTokenTTL is how long an access token lives (default 1 h).
	AccessTokenTTL time.Duration
	// PerMinute is the per-user quota (default 600 calls a minute, Minute
	// its window, default 1 min); NoLimit turns it off.
	PerMinute int
	Minute    time.Duration
	NoLimit   bool
}

type calendar struct {
	entry  CalendarListEntry
	events map[string]*stored
}

type stored struct {
	ev  Event
	seq int64
}

// Server is a running fake.
type Server struct {
	*httptest.Server
	// Counts counts what the fake did (Count(op)):
	// "insert event", "update event", "delete event", "list
	// events", "insert calendar", "duplicate", "exchange code", "refresh
	// token".
	*connectorstest.Counts
	// OAuth is Google's authorization server: client credentials in HTTP
	// Basic or the form, the calendar scope, PKCE; a refresh token only for
	// access_type=offline, none in a refresh answer.
	*connectorstest.OAuth
	o      Options
	limits *connectorstest.Limits

	mu         sync.Mutex
	calendars  map[string]*calendar
	seq        int64
	syncTokens map[string]syncState
	pages      map[string][]*Event
	pageNext   map[string]string
	throttleAt int
	lose       map[string]int
}

type syncState struct {
	calendar string
	seq      int64
	valid    bool
}

// Start starts a fake account and stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	connectorstest.Defaults(&o, Options{App: connectorstest.App{ClientID: "1234567890-calgate.apps.googleusercontent.com", ClientSecret: "GOCSPX-fake-secret"}, User: "planner@example.com",
		UserName: "Plant planner", AccessTokenTTL: time.Hour, PerMinute: 600, Minute: time.Minute})
	s := &Server{o: o, Counts: &connectorstest.Counts{}, limits: connectorstest.NewLimits(o.NoLimit, 0, connectorstest.Window{Calls: o.PerMinute, Per: o.Minute}),
		calendars: map[string]*calendar{}, syncTokens: map[string]syncState{}, pages: map[string][]*Event{},
		pageNext: map[string]string{}, lose: map[string]int{}}
	s.calendars[o.User] = &calendar{entry: CalendarListEntry{Kind: "calendar#calendarListEntry", ID: o.User, Summary: o.User,
		TimeZone: "Europe/Berlin", AccessRole: "owner", Primary: true}, events: map[string]*stored{}}
	s.OAuth = connectorstest.NewOAuth(connectorstest.OAuthOptions{Counts: s.Counts, App: o.App,
		Client: connectorstest.ClientInEither, ClientStatus: http.StatusUnauthorized, Scopes: []string{Scope}, OfflineOnly: true,
		Refresh: connectorstest.RefreshOmitted, AccessTTL: o.AccessTokenTTL, CodePrefix: "4/0A", AccessPrefix: "ya29.", RefreshPrefix: "1//0g",
		Redirect: func(_, back url.Values) { back.Set("scope", Scope) },
		Answer:   func(a map[string]any) { a["scope"] = Scope }})
	s.Server = connectorstest.Serve(t, map[string]http.HandlerFunc{"GET /o/oauth2/auth": s.Authorize, "POST /token": s.Token, "/calendar/v3/": s.api})
	return s
}

// AuthURL, TokenURL and APIURL are the endpoints to configure.
func (s *Server) AuthURL() string  { return s.URL + "/o/oauth2/auth" }
func (s *Server) TokenURL() string { return s.URL + "/token" }
func (s *Server) APIURL() string   { return s.URL + "/calendar/v3/" }

// Options returns the fake's settings.
func (s *Server) Options() Options { return s.o }

var newToken = connectorstest.NewToken

// ExpireSyncTokens invalidates every sync token issued so far: the next
// incremental list answers 410.
func (s *Server) ExpireSyncTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.syncTokens {
		st.valid = false
		s.syncTokens[k] = st
	}
}

// Throttle answers the next n API calls with status (403
// userRateLimitExceeded or 429 rateLimitExceeded), as when other apps used
// the quota; they are not violations.
func (s *Server) Throttle(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleAt = status
	s.limits.Throttle(n)
}

// LoseAnswer makes the next n successful calls of an operation ("insert
// event", …) happen and then lose their answer (the connection closes).
func (s *Server) LoseAnswer(op string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lose[op] = n
}

// Violations counts calls beyond the per-user quota.
func (s *Server) Violations() int { return s.limits.Violations() }

// AddCalendar adds a calendar to the user's list with an access role
// ("owner", "writer", "reader") and returns its id.
func (s *Server) AddCalendar(summary, accessRole string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := newToken("") + "@group.calendar.google.com"
	s.calendars[id] = &calendar{entry: CalendarListEntry{Kind: "calendar#calendarListEntry", ID: id, Summary: summary,
		TimeZone: "Europe/Berlin", AccessRole: accessRole}, events: map[string]*stored{}}
	return id
}

// Calendars returns the user's calendar list.
func (s *Server) Calendars() []CalendarListEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CalendarListEntry, 0, len(s.calendars))
	for _, c := range s.calendars {
		out = append(out, c.entry)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Events returns a calendar's events, cancelled ones included, by id.
func (s *Server) Events(calendarID string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendars[calendarID]
	if c == nil {
		return nil
	}
	out := make([]Event, 0, len(c.events))
	for _, st := range c.events {
		out = append(out, clone(&st.ev))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Edit changes an event as a person would in Google Calendar.
func (s *Server) Edit(calendarID, eventID string, fn func(*Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.calendars[calendarID].events[eventID]
	fn(&st.ev)
	s.touch(st)
}

// Delete deletes an event as a person would (it becomes cancelled).
func (s *Server) Delete(calendarID, eventID string) {
	s.Edit(calendarID, eventID, func(e *Event) { e.Status = "cancelled" })
}

// Insert adds an event that calgate did not make, as a person would.
func (s *Server) Insert(calendarID string, ev Event) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev.ID = newToken("p")[:20]
	if ev.Status == "" {
		ev.Status = "confirmed"
	}
	ev.Kind, ev.Created = "calendar#event", time.Now().UTC().Format(time.RFC3339Nano)
	st := &stored{ev: ev}
	s.calendars[calendarID].events[ev.ID] = st
	s.touch(st)
	return ev.ID
}

// touch records a change of an event (with the lock held).
func (s *Server) touch(st *stored) {
	s.seq++
	st.seq = s.seq
	st.ev.Etag = fmt.Sprintf(`"%d"`, s.seq)
	st.ev.Updated = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
}

func clone(e *Event) Event {
	raw, _ := json.Marshal(e)
	var out Event
	_ = json.Unmarshal(raw, &out)
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	connectorstest.WriteJSON(w, status, v, "application/json; charset=UTF-8")
}

// fail answers Google's error shape.
func fail(w http.ResponseWriter, status int, domain, reason, message string, location ...string) {
	item := ErrorItem{Domain: domain, Reason: reason, Message: message}
	if len(location) == 2 {
		item.LocationType, item.Location = location[0], location[1]
	}
	writeJSON(w, status, map[string]ErrorBody{"error": {Errors: []ErrorItem{item}, Code: status, Message: message}})
}

// bearer checks the access token; false after answering 401.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request) bool {
	if !s.Valid(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
		fail(w, http.StatusUnauthorized, "global", "authError", "Invalid Credentials", "header", "Authorization")
		return false
	}
	return true
}

// admit applies the per-user quota; false after answering 403.
func (s *Server) admit(w http.ResponseWriter) bool {
	done, refused := s.limits.Admit()
	switch {
	case refused == nil:
		done() // the quota counts calls made, not calls at once
		return true
	case refused.Throttled && s.throttleStatus() == http.StatusForbidden:
		fail(w, http.StatusForbidden, "usageLimits", "userRateLimitExceeded", "User Rate Limit Exceeded")
	case refused.Throttled:
		fail(w, http.StatusTooManyRequests, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded")
	default:
		fail(w, http.StatusForbidden, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded")
	}
	return false
}

func (s *Server) throttleStatus() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttleAt
}

// answer writes a successful answer, or loses it when the test asked.
func (s *Server) answer(w http.ResponseWriter, op string, status int, v any) {
	s.mu.Lock()
	s.Counts.Add(op)
	lose := s.lose[op] > 0
	if lose {
		s.lose[op]--
	}
	s.mu.Unlock()
	if lose {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.(net.Conn).Close()
				return
			}
		}
	}
	writeJSON(w, status, v)
}

// api serves /calendar/v3/….
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	if !s.bearer(w, r) || !s.admit(w) {
		return
	}
	if alt := r.URL.Query().Get("alt"); alt != "" && alt != "json" {
		fail(w, http.StatusBadRequest, "global", "invalidParameter", "Invalid value for alt", "parameter", "alt")
		return
	}
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/calendar/v3/")
	parts := strings.Split(path, "/")
	for i, p := range parts {
		parts[i], _ = url.PathUnescape(p)
	}
	switch {
	case len(parts) == 3 && parts[0] == "users" && parts[1] == "me" && parts[2] == "calendarList" && r.Method == http.MethodGet:
		s.listCalendars(w, r)
	case len(parts) == 4 && parts[0] == "users" && parts[1] == "me" && parts[2] == "calendarList" && r.Method == http.MethodGet:
		s.getCalendarListEntry(w, parts[3])
	case len(parts) == 1 && parts[0] == "calendars" && r.Method == http.MethodPost:
		s.insertCalendar(w, r)
	case len(parts) == 3 && parts[0] == "calendars" && parts[2] == "events":
		switch r.Method {
		case http.MethodPost:
			s.insertEvent(w, r, parts[1])
		case http.MethodGet:
			s.listEvents(w, r, parts[1])
		default:
			fail(w, http.StatusMethodNotAllowed, "global", "httpMethodNotAllowed", "Method Not Allowed")
		}
	case len(parts) == 4 && parts[0] == "calendars" && parts[2] == "events":
		switch r.Method {
		case http.MethodGet:
			s.getEvent(w, parts[1], parts[3])
		case http.MethodPut:
			s.updateEvent(w, r, parts[1], parts[3])
		case http.MethodDelete:
			s.deleteEvent(w, parts[1], parts[3])
		default:
			fail(w, http.StatusMethodNotAllowed, "global", "httpMethodNotAllowed", "Method Not Allowed")
		}
	default:
		fail(w, http.StatusNotFound, "global", "notFound", "Not Found")
	}
}

func (s *Server) calendar(w http.ResponseWriter, id string, write bool) *calendar {
	if id == "primary" {
		id = s.o.User
	}
	c := s.calendars[id]
	if c == nil {
		fail(w, http.StatusNotFound, "global", "notFound", "Not Found")
		return nil
	}
	if write && c.entry.AccessRole != "owner" && c.entry.AccessRole != "writer" {
		fail(w, http.StatusForbidden, "global", "requiredAccessLevel", "You need to have writer access to this calendar.")
		return nil
	}
	return c
}

func (s *Server) listCalendars(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	items := make([]*CalendarListEntry, 0, len(s.calendars))
	for _, c := range s.calendars {
		e := c.entry
		e.Etag = `"` + strconv.Itoa(len(e.ID)) + `"`
		items = append(items, &e)
	}
	s.mu.Unlock()
	sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	writeJSON(w, http.StatusOK, CalendarList{Kind: "calendar#calendarList", Etag: `"p3"`, Items: items, NextSyncToken: newToken("")})
}

func (s *Server) getCalendarListEntry(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.calendar(w, id, false); c != nil {
		writeJSON(w, http.StatusOK, c.entry)
	}
}

// decode reads a JSON body strictly; false after answering 400.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		fail(w, http.StatusBadRequest, "global", "parseError", "Parse Error: "+err.Error())
		return false
	}
	return true
}

func (s *Server) insertCalendar(w http.ResponseWriter, r *http.Request) {
	var in Calendar
	if !decode(w, r, &in) {
		return
	}
	if strings.TrimSpace(in.Summary) == "" {
		fail(w, http.StatusBadRequest, "global", "required", "Missing title.", "parameter", "summary")
		return
	}
	if in.TimeZone != "" && !validZone(in.TimeZone) {
		fail(w, http.StatusBadRequest, "global", "invalid", "Invalid time zone definition.")
		return
	}
	s.mu.Lock()
	id := newToken("c_") + "@group.calendar.google.com"
	s.calendars[id] = &calendar{entry: CalendarListEntry{Kind: "calendar#calendarListEntry", ID: id, Summary: in.Summary,
		TimeZone: in.TimeZone, AccessRole: "owner"}, events: map[string]*stored{}}
	s.mu.Unlock()
	in.Kind, in.ID, in.Etag = "calendar#calendar", id, `"1"`
	s.answer(w, "insert calendar", http.StatusOK, in)
}
