package qbotest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// authorize is the consent page: it checks the request as Intuit does and
// redirects back at once, as if the user had consented and picked the
// company, with the code, the state and the realmId.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("client_id") != s.o.ClientID:
		http.Error(w, "invalid client_id", http.StatusBadRequest)
		return
	case q.Get("redirect_uri") != s.o.RedirectURI:
		http.Error(w, "redirect_uri does not match the app's redirect URIs", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "response_type must be code", http.StatusBadRequest)
		return
	case !hasScope(q.Get("scope"), "com.intuit.quickbooks.accounting"):
		http.Error(w, "invalid scope", http.StatusBadRequest)
		return
	case q.Get("state") == "":
		http.Error(w, "state is required", http.StatusBadRequest)
		return
	}
	code := newToken("AB11")
	s.mu.Lock()
	s.codes[code] = codeGrant{redirect: q.Get("redirect_uri")}
	s.mu.Unlock()
	back := url.Values{"code": {code}, "state": {q.Get("state")}, "realmId": {s.o.Realm}}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}

// token is the bearer token endpoint: the client authenticates with HTTP
// Basic; an authorization code is good once, with the redirect_uri it was
// issued for; a refresh token is good until it is revoked.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := basicAuth(r)
	if !ok || id != s.o.ClientID || secret != s.o.ClientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		g, ok := s.codes[r.PostForm.Get("code")]
		delete(s.codes, r.PostForm.Get("code"))
		if !ok || g.redirect != r.PostForm.Get("redirect_uri") {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		s.count("exchange code")
	case "refresh_token":
		if !s.refresh[r.PostForm.Get("refresh_token")] {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		s.count("refresh token")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	access, refresh := newToken("eyJ"), newToken("RT1-")
	s.access[access] = time.Now().Add(s.o.AccessTokenTTL)
	s.refresh[refresh] = true
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "bearer", "access_token": access, "refresh_token": refresh,
		"expires_in": int(s.o.AccessTokenTTL.Seconds()), "x_refresh_token_expires_in": 8726400})
}

// IssueAccessToken returns a fresh access token without the OAuth dance,
// for benchmarks that call the API directly.
func (s *Server) IssueAccessToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := newToken("eyJ")
	s.access[tok] = time.Now().Add(s.o.AccessTokenTTL)
	return tok
}
