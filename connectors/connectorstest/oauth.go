package connectorstest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// NewToken returns prefix and 32 random hex digits: codes, tokens and ids
// of the fakes.
func NewToken(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// WriteJSON answers status with v as JSON of the content type given
// (default application/json).
func WriteJSON(w http.ResponseWriter, status int, v any, contentType ...string) {
	ct := "application/json"
	if len(contentType) > 0 {
		ct = contentType[0]
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// App is a deployment's registration at a fake application: the client
// the fake knows. Every fake's Options embed it.
type App struct {
	ClientID     string
	ClientSecret string
	// RedirectURI is the one redirect URI registered for the app.
	RedirectURI string
}

// Client is where a token endpoint takes the client's credentials.
type Client int

const (
	// ClientInBasic takes them as HTTP Basic authentication only.
	ClientInBasic Client = iota
	// ClientInForm takes them as client_id and client_secret in the form
	// only.
	ClientInForm
	// ClientInEither takes Basic authentication, else the form's.
	ClientInEither
)

// Refresh is what a refresh grant does with the refresh token.
type Refresh int

const (
	// RefreshNew answers with a new refresh token; the old one stays good
	// until it is revoked.
	RefreshNew Refresh = iota
	// RotateRefresh answers with a new refresh token and refuses the old
	// one from then on: each is good once.
	RotateRefresh
	// RefreshSame answers with the refresh token it was given.
	RefreshSame
	// RefreshOmitted answers with no refresh token: the client keeps its
	// own.
	RefreshOmitted
	// NoRefresh issues no refresh tokens and refuses the refresh grant
	// (access tokens that do not expire).
	NoRefresh
)

// OAuthOptions are an application's authorization server as a fake plays
// it.
type OAuthOptions struct {
	App
	Client Client
	// ClientStatus is the status of an invalid_client answer (default
	// 400).
	ClientStatus int
	// Scopes are the scopes an authorization must ask for, every one;
	// Check refuses what else the application refuses (its message, "" to
	// go on).
	Scopes []string
	Check  func(r *http.Request) string
	// RequireState refuses an authorization without a state.
	RequireState bool
	// OfflineOnly issues a refresh token only to an authorization with
	// access_type=offline (Google).
	OfflineOnly bool
	Refresh     Refresh
	// AccessTTL is how long an access token lives; zero: for ever.
	AccessTTL time.Duration
	// CodePrefix, AccessPrefix and RefreshPrefix start the codes and
	// tokens issued, as the application's do.
	CodePrefix, AccessPrefix, RefreshPrefix string
	// TokenType is the token answer's token_type (default Bearer).
	TokenType string
	// Redirect adds the application's parameters to the redirect back
	// (QuickBooks' realmId), given the authorization's query.
	Redirect func(q url.Values, back url.Values)
	// Answer adds the application's fields to a token answer.
	Answer func(answer map[string]any)
	// Error writes a refused token request (default {"error": code,
	// "error_description": description}).
	Error func(w http.ResponseWriter, status int, code, description string)
	// Counts counts "exchange code" and "refresh token" (default: a count
	// of its own).
	Counts *Counts
}

// OAuth is an application's OAuth 2.0 authorization server for the fakes:
// the authorize endpoint (RFC 6749 4.1.1), which checks the client, the
// redirect URI, the response type, the scopes and the PKCE method (RFC
// 7636) and redirects back at once as if the user had consented; the token
// endpoint, which checks the client's credentials, takes a code once with
// the redirect URI and verifier it was issued for, and refresh tokens
// until they are revoked (or once, as the application does); and the
// access tokens it issued, for the fake's API to check. Each fake embeds
// one, so that every application is as strict as the others.
type OAuth struct {
	o OAuthOptions

	mu      sync.Mutex
	codes   map[string]grant
	access  map[string]time.Time
	refresh map[string]bool
}

type grant struct {
	redirect, challenge string
	offline             bool
}

// forever is the expiry of tokens that do not expire.
var forever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// NewOAuth returns an authorization server with no tokens issued.
func NewOAuth(o OAuthOptions) *OAuth {
	if o.ClientStatus == 0 {
		o.ClientStatus = http.StatusBadRequest
	}
	if o.TokenType == "" {
		o.TokenType = "Bearer"
	}
	if o.Error == nil {
		o.Error = func(w http.ResponseWriter, status int, code, description string) {
			WriteJSON(w, status, map[string]string{"error": code, "error_description": description})
		}
	}
	if o.Counts == nil {
		o.Counts = &Counts{}
	}
	return &OAuth{o: o, codes: map[string]grant{}, access: map[string]time.Time{}, refresh: map[string]bool{}}
}

// Authorize is the authorize endpoint.
func (a *OAuth) Authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	scopes := map[string]bool{}
	for _, sc := range strings.Fields(q.Get("scope")) {
		scopes[sc] = true
	}
	refuse := func(msg string) { http.Error(w, msg, http.StatusBadRequest) }
	switch {
	case q.Get("client_id") != a.o.ClientID:
		refuse("invalid_client: unknown client_id")
		return
	case q.Get("redirect_uri") != a.o.RedirectURI:
		refuse("redirect_uri_mismatch: redirect_uri does not match the app's")
		return
	case q.Get("response_type") != "code":
		refuse("unsupported_response_type: response_type must be code")
		return
	case a.o.RequireState && q.Get("state") == "":
		refuse("invalid_request: state is required")
		return
	case q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256":
		refuse("invalid_request: code_challenge_method must be S256")
		return
	}
	for _, sc := range a.o.Scopes {
		if !scopes[sc] {
			refuse("invalid_scope: " + strings.Join(a.o.Scopes, " ") + " are needed")
			return
		}
	}
	if a.o.Check != nil {
		if msg := a.o.Check(r); msg != "" {
			refuse(msg)
			return
		}
	}
	code := NewToken(a.o.CodePrefix)
	a.mu.Lock()
	a.codes[code] = grant{redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), offline: q.Get("access_type") == "offline"}
	a.mu.Unlock()
	back := url.Values{"code": {code}}
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	if a.o.Redirect != nil {
		a.o.Redirect(q, back)
	}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

// client reports whether the request carries the client's credentials
// where the application takes them.
func (a *OAuth) client(r *http.Request) bool {
	id, secret, basic := r.BasicAuth()
	switch {
	case a.o.Client == ClientInForm || (a.o.Client == ClientInEither && !basic):
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	case !basic:
		return false
	}
	return id == a.o.ClientID && secret == a.o.ClientSecret
}

// Token is the token endpoint.
func (a *OAuth) Token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.o.Error(w, http.StatusBadRequest, "invalid_request", "the form cannot be read")
		return
	}
	if !a.client(r) {
		a.o.Error(w, a.o.ClientStatus, "invalid_client", "unknown client or wrong secret")
		return
	}
	f := r.PostForm
	a.mu.Lock()
	defer a.mu.Unlock()
	answer := map[string]any{"token_type": a.o.TokenType, "expires_in": int(a.o.AccessTTL.Seconds())}
	switch f.Get("grant_type") {
	case "authorization_code":
		g, ok := a.codes[f.Get("code")]
		delete(a.codes, f.Get("code"))
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if !ok || g.redirect != f.Get("redirect_uri") || (g.challenge != "" && base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge) {
			a.o.Error(w, http.StatusBadRequest, "invalid_grant", "unknown or used code, or a wrong redirect_uri or code_verifier")
			return
		}
		if a.o.Refresh != NoRefresh && (g.offline || !a.o.OfflineOnly) {
			answer["refresh_token"] = a.newRefresh()
		}
		a.o.Counts.Add("exchange code")
	case "refresh_token":
		rt := f.Get("refresh_token")
		if a.o.Refresh == NoRefresh {
			a.o.Error(w, http.StatusBadRequest, "unsupported_grant_type", "refresh tokens are not issued")
			return
		}
		if !a.refresh[rt] {
			a.o.Error(w, http.StatusBadRequest, "invalid_grant", "expired, revoked or used refresh token")
			return
		}
		switch a.o.Refresh {
		case RotateRefresh:
			a.refresh[rt] = false
			answer["refresh_token"] = a.newRefresh()
		case RefreshNew:
			answer["refresh_token"] = a.newRefresh()
		case RefreshSame:
			answer["refresh_token"] = rt
		}
		a.o.Counts.Add("refresh token")
	default:
		a.o.Error(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
		return
	}
	answer["access_token"] = a.newAccess()
	if a.o.Answer != nil {
		a.o.Answer(answer)
	}
	WriteJSON(w, http.StatusOK, answer)
}

func (a *OAuth) newRefresh() string {
	rt := NewToken(a.o.RefreshPrefix)
	a.refresh[rt] = true
	return rt
}

func (a *OAuth) newAccess() string {
	at := NewToken(a.o.AccessPrefix)
	a.access[at] = forever
	if a.o.AccessTTL > 0 {
		a.access[at] = time.Now().Add(a.o.AccessTTL)
	}
	return at
}

// IssueAccessToken returns a fresh access token without the OAuth dance,
// for benchmarks that call the API directly.
func (a *OAuth) IssueAccessToken() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.newAccess()
}

// ExpireAccessTokens makes every access token issued so far expired.
func (a *OAuth) ExpireAccessTokens() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.access {
		a.access[k] = time.Time{}
	}
}

// RevokeRefreshTokens refuses every refresh token issued so far (the user
// disconnected the app) and expires the access tokens.
func (a *OAuth) RevokeRefreshTokens() {
	a.mu.Lock()
	for k := range a.refresh {
		a.refresh[k] = false
	}
	a.mu.Unlock()
	a.ExpireAccessTokens()
}

// AccessToken looks up the access token of the request's Authorization
// header in one of the schemes ("Bearer" when none is named): whether it
// was issued, and when it expires.
func (a *OAuth) AccessToken(r *http.Request, schemes ...string) (expiry time.Time, issued bool) {
	if len(schemes) == 0 {
		schemes = []string{"Bearer"}
	}
	auth := r.Header.Get("Authorization")
	for _, scheme := range schemes {
		if tok, ok := strings.CutPrefix(auth, scheme+" "); ok {
			a.mu.Lock()
			defer a.mu.Unlock()
			expiry, issued = a.access[tok]
			return expiry, issued
		}
	}
	return time.Time{}, false
}

// Valid reports whether the request carries an access token issued and
// not expired.
func (a *OAuth) Valid(r *http.Request, schemes ...string) bool {
	exp, ok := a.AccessToken(r, schemes...)
	return ok && time.Now().Before(exp)
}

// Serve serves a fake's routes (ServeMux patterns) until the test ends.
func Serve(t testing.TB, routes map[string]http.HandlerFunc) *httptest.Server {
	mux := http.NewServeMux()
	for pattern, h := range routes {
		mux.HandleFunc(pattern, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// Call sends req to a fake, as the fakes' own tests do, and returns the
// answer's status and body.
func Call(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
