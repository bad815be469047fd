// Package mctest is a local Mailchimp for tests, written from the Marketing
// API 3.0 reference and Mailchimp's OAuth 2.0 guide: the login server's
// authorize, token and metadata endpoints, and one data centre's API root,
// audiences, list members (add or update by subscriber hash) and member
// tags.
//
// It is strict: it refuses what Mailchimp refuses (a wrong client or
// redirect URI; a wrong API key or a key of another data centre with 401
// "API Key Invalid"; a subscriber hash that is not the MD5 of the
// lowercased address; a PUT without status_if_new; an unknown status or
// merge field; an invalid address; an address deleted for good; tags of a
// member that does not exist; more than 10 simultaneous connections with
// 429), keeps an unsubscribed member unsubscribed unless a request sends
// status, and counts what it was asked.
package mctest

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate/connectors/connectorstest"
)

// Options configure a Server.
type Options struct {
	connectorstest.App
	// DC is the account's data centre (default us21); APIKey its key
	// (default 32 hex digits and "-us21").
	DC     string
	APIKey string
	// ListID is the account's audience (default "a1b2c3d4e5").
	ListID      string
	AccountID   string
	AccountName string
	// Concurrent is the simultaneous connections allowed (default 10).
	Concurrent int
}

// Server is a running fake: the login server and the API of one data
// centre, at URL + "/" + DC.
type Server struct {
	*httptest.Server
	// Counts counts what the fake did (Count(op)):
	// "create member", "update member", "tag member",
	// "exchange code".
	*connectorstest.Counts
	// OAuth is Mailchimp's authorization server: client credentials in
	// the form; access tokens that do not expire, and no refresh tokens.
	*connectorstest.OAuth
	o Options

	mu         sync.Mutex
	keyRevoked bool
	members    map[string]*member
	order      []string
	forgotten  map[string]bool
	calls      int
	inFlight   int
	violations int
	statusSent int
	hold       chan struct{}
}

type member struct {
	ID          string            `json:"id"`
	Email       string            `json:"email_address"`
	UniqueID    string            `json:"unique_email_id"`
	Status      string            `json:"status"`
	MergeFields map[string]string `json:"merge_fields"`
	Tags        []tag             `json:"tags"`
	ListID      string            `json:"list_id"`
	LastChanged string            `json:"last_changed"`
}

type tag struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// Start starts a fake account and stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	connectorstest.Defaults(&o, Options{App: connectorstest.App{ClientID: "123456789012", ClientSecret: "mc-client-secret"}, DC: "us21", ListID: "a1b2c3d4e5",
		AccountID: "8d3a3db4d97663a9074efcc16", AccountName: "Freddie's Rooms", Concurrent: 10})
	if o.APIKey == "" {
		o.APIKey = "0123456789abcdef0123456789abcdef-" + o.DC
	}
	s := &Server{o: o, Counts: &connectorstest.Counts{}, members: map[string]*member{},
		forgotten: map[string]bool{}}
	s.OAuth = connectorstest.NewOAuth(connectorstest.OAuthOptions{Counts: s.Counts, App: o.App,
		Client: connectorstest.ClientInForm, ClientStatus: http.StatusUnauthorized, Refresh: connectorstest.NoRefresh,
		Answer: func(a map[string]any) { delete(a, "token_type"); a["scope"] = nil },
		Error: func(w http.ResponseWriter, status int, code, _ string) {
			writeJSON(w, status, map[string]string{"error": code})
		}})
	s.Server = connectorstest.Serve(t, map[string]http.HandlerFunc{"GET /oauth2/authorize": s.Authorize, "POST /oauth2/token": s.Token, "GET /oauth2/metadata": s.metadata, "/": s.api})
	return s
}

// AuthURL, TokenURL and MetadataURL are the login server's endpoints;
// APIURL is the API URL template with {dc}.
func (s *Server) AuthURL() string     { return s.URL + "/oauth2/authorize" }
func (s *Server) TokenURL() string    { return s.URL + "/oauth2/token" }
func (s *Server) MetadataURL() string { return s.URL + "/oauth2/metadata" }
func (s *Server) APIURL() string      { return s.URL + "/{dc}" }

// Options returns the fake's settings.
func (s *Server) Options() Options { return s.o }

func newToken() string { return connectorstest.NewToken("") }

func hashOf(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(email)))
	return hex.EncodeToString(sum[:])
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

type problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail"`
	Instance string       `json:"instance"`
	Errors   []fieldError `json:"errors,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	connectorstest.WriteJSON(w, status, v, "application/json; charset=utf-8")
}

func fail(w http.ResponseWriter, status int, title, detail string, errs ...fieldError) {
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{Type: "https://mailchimp.com/developer/marketing/docs/errors/", Title: title, Status: status,
		Detail: detail, Instance: newToken(), Errors: errs})
}

// RevokeKey makes the API key invalid (the user deleted it).
func (s *Server) RevokeKey() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keyRevoked = true
}

// Unsubscribe unsubscribes a member, as the customer would from a mail.
func (s *Server) Unsubscribe(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.members[hashOf(email)]; m != nil {
		m.Status = "unsubscribed"
	}
}

// Forget deletes a member for good: Mailchimp refuses to add it again.
func (s *Server) Forget(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.members, hashOf(email))
	s.forgotten[hashOf(email)] = true
}

// Hold makes API calls wait until the returned function is called (to
// see how many calls are made at once).
func (s *Server) Hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = make(chan struct{})
	ch := s.hold
	return sync.OnceFunc(func() { close(ch) })
}

// Calls counts the API calls answered (not the login server's).
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// StatusSent counts member writes that carried status (calgate never
// sends it).
func (s *Server) StatusSent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statusSent
}

// Violations counts calls beyond the simultaneous connections allowed.
func (s *Server) Violations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.violations
}

// Member is a member as tests see it.
type Member struct {
	Email, Status, FirstName, LastName, Phone string
	Tags                                      []string
}

// Members lists the audience's members in the order they were added.
func (s *Server) Members() []Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Member
	for _, id := range s.order {
		m := s.members[id]
		if m == nil {
			continue
		}
		v := Member{Email: m.Email, Status: m.Status, FirstName: m.MergeFields["FNAME"], LastName: m.MergeFields["LNAME"], Phone: m.MergeFields["PHONE"]}
		for _, t := range m.Tags {
			v.Tags = append(v.Tags, t.Name)
		}
		out = append(out, v)
	}
	return out
}

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	if !s.Valid(r, "OAuth") {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"dc": s.o.DC, "role": "owner", "accountname": s.o.AccountName, "user_id": 123,
		"login": map[string]any{"login_name": "owner"}, "login_url": "https://login.mailchimp.com",
		"api_endpoint": "https://" + s.o.DC + ".api.mailchimp.com"})
}

// authorized checks the API key (Basic, any user) or the OAuth token
// (Bearer or OAuth) for the data centre of the path.
func (s *Server) authorized(r *http.Request, dc string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, key, ok := r.BasicAuth(); ok {
		return !s.keyRevoked && key == s.o.APIKey && dc == s.o.DC
	}
	return s.Valid(r, "Bearer", "OAuth") && dc == s.o.DC
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	dc, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	path, ok := strings.CutPrefix("/"+rest, "/3.0")
	if !ok {
		fail(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
		return
	}
	if !s.authorized(r, dc) {
		fail(w, http.StatusUnauthorized, "API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong datacenter.")
		return
	}
	s.mu.Lock()
	s.calls++
	if s.inFlight >= s.o.Concurrent {
		s.violations++
		s.mu.Unlock()
		fail(w, http.StatusTooManyRequests, "Too Many Requests", "You have exceeded the limit of 10 simultaneous connections.")
		return
	}
	s.inFlight++
	hold := s.hold
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.inFlight--; s.mu.Unlock() }()
	if hold != nil {
		select {
		case <-hold:
		case <-time.After(10 * time.Second):
		}
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case path == "/" || path == "":
		writeJSON(w, http.StatusOK, map[string]any{"account_id": s.o.AccountID, "account_name": s.o.AccountName, "login_id": "1", "role": "owner"})
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "lists":
		if parts[1] != s.o.ListID {
			fail(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": s.o.ListID, "name": "Guests"})
	case r.Method == http.MethodPut && len(parts) == 4 && parts[0] == "lists" && parts[2] == "members":
		s.putMember(w, r, parts[1], parts[3])
	case r.Method == http.MethodPost && len(parts) == 5 && parts[0] == "lists" && parts[2] == "members" && parts[4] == "tags":
		s.tagMember(w, r, parts[1], parts[3])
	default:
		fail(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
	}
}

var statuses = map[string]bool{"subscribed": true, "unsubscribed": true, "cleaned": true, "pending": true, "transactional": true}

var mergeFields = map[string]bool{"FNAME": true, "LNAME": true, "PHONE": true, "ADDRESS": true, "BIRTHDAY": true}

func (s *Server) putMember(w http.ResponseWriter, r *http.Request, listID, hash string) {
	if listID != s.o.ListID {
		fail(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
		return
	}
	var in struct {
		EmailAddress string            `json:"email_address"`
		StatusIfNew  string            `json:"status_if_new"`
		Status       string            `json:"status"`
		EmailType    string            `json:"email_type"`
		MergeFields  map[string]string `json:"merge_fields"`
		Language     string            `json:"language"`
		VIP          bool              `json:"vip"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "Invalid Resource", "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
			fieldError{Field: "", Message: "Schema describes object, " + err.Error()})
		return
	}
	if a, err := mail.ParseAddress(in.EmailAddress); err != nil || a.Address != in.EmailAddress {
		fail(w, http.StatusBadRequest, "Invalid Resource", "Please provide a valid email address.")
		return
	}
	if hashOf(in.EmailAddress) != hash {
		fail(w, http.StatusBadRequest, "Invalid Resource", "The email address does not match the subscriber hash in the URL.")
		return
	}
	if !statuses[in.StatusIfNew] || (in.Status != "" && !statuses[in.Status]) {
		fail(w, http.StatusBadRequest, "Invalid Resource", "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
			fieldError{Field: "status_if_new", Message: "Data did not match any of the schemas described in anyOf."})
		return
	}
	var bad []fieldError
	for k, v := range in.MergeFields {
		if !mergeFields[k] {
			bad = append(bad, fieldError{Field: k, Message: "This merge field does not exist."})
		} else if k == "PHONE" && len(v) > 50 {
			bad = append(bad, fieldError{Field: k, Message: "Please enter a valid phone number."})
		}
	}
	if len(bad) > 0 {
		fail(w, http.StatusBadRequest, "Invalid Resource", "Your merge fields were invalid.", bad...)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forgotten[hash] {
		fail(w, http.StatusBadRequest, "Forgotten Email Not Subscribed", in.EmailAddress+" was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.")
		return
	}
	if in.Status != "" {
		s.statusSent++
	}
	m := s.members[hash]
	if m == nil {
		m = &member{ID: hash, Email: in.EmailAddress, UniqueID: newToken()[:10], Status: in.StatusIfNew, MergeFields: map[string]string{}, Tags: []tag{}, ListID: listID}
		s.members[hash] = m
		s.order = append(s.order, hash)
		s.Counts.Add("create member")
	} else {
		s.Counts.Add("update member")
		if in.Status != "" {
			m.Status = in.Status
		}
	}
	for k, v := range in.MergeFields {
		m.MergeFields[k] = v
	}
	m.Email, m.LastChanged = in.EmailAddress, time.Now().UTC().Format(time.RFC3339)
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) tagMember(w http.ResponseWriter, r *http.Request, listID, hash string) {
	var in struct {
		Tags []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"tags"`
		IsSyncing bool `json:"is_syncing"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || len(in.Tags) == 0 {
		fail(w, http.StatusBadRequest, "Invalid Resource", "The resource submitted could not be validated.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[hash]
	if listID != s.o.ListID || m == nil {
		fail(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
		return
	}
	for _, t := range in.Tags {
		if t.Name == "" || len([]rune(t.Name)) > 100 || (t.Status != "active" && t.Status != "inactive") {
			fail(w, http.StatusBadRequest, "Invalid Resource", "Tag names are 1 to 100 characters and status is active or inactive.")
			return
		}
	}
	for _, t := range in.Tags {
		at := -1
		for i, have := range m.Tags {
			if have.Name == t.Name {
				at = i
			}
		}
		switch {
		case t.Status == "active" && at < 0:
			m.Tags = append(m.Tags, tag{ID: len(m.Tags) + 1, Name: t.Name})
		case t.Status == "inactive" && at >= 0:
			m.Tags = append(m.Tags[:at], m.Tags[at+1:]...)
		}
	}
	s.Counts.Add("tag member")
	w.WriteHeader(http.StatusNoContent)
}
