package console

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/imports"
)

// Cookie names. The session cookie holds a random secret (only its hash is
// stored); the sign-in cookie holds the CSRF token of the sign-in form,
// before there is a session.
const (
	sessionCookie = "calgate_console"
	signinCookie  = "calgate_console_signin"
)

// csrfField is the name of the hidden field every form carries.
const csrfField = "csrf"

// visit is one signed-in request: the session and who it acts as.
type visit struct {
	session   *calgate.Session
	principal *calgate.Principal
}

// workspaceID is the workspace of the visit.
func (v *visit) workspaceID() string { return v.principal.Workspace.ID }

// actor names the visitor in events and history as the API names a
// token's caller: "user/token id".
func (v *visit) actor() string { return v.principal.Token.User + "/" + v.principal.Token.ID }

type pageHandler func(w http.ResponseWriter, r *http.Request, v *visit)

// authed runs h for a request with a live session; others are sent to the
// sign-in page. A form (any method but GET and HEAD) must come from this
// origin and carry the session's CSRF token, or it is refused with 403.
func (c *Console) authed(h pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := c.visitOf(r)
		if errors.Is(err, calgate.ErrNotFound) {
			c.clearCookie(w, r, sessionCookie)
			http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
			return
		}
		if err != nil {
			c.fail(w, r, nil, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !c.sameOrigin(r) || !c.checkCSRF(r, v.session.CSRF) {
				c.forbidden(w, r, v)
				return
			}
		}
		h(w, r, v)
	})
}

// visitOf finds the session of the request's cookie.
func (c *Console) visitOf(r *http.Request) (*visit, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, calgate.ErrNotFound
	}
	s, p, err := c.Store.SessionByHash(r.Context(), calgate.HashSecret(ck.Value), c.Now())
	if err != nil {
		return nil, err
	}
	return &visit{session: s, principal: p}, nil
}

// checkCSRF compares the form's CSRF token with want in constant time.
// Multipart forms (uploads) are parsed by their handler first.
func (c *Console) checkCSRF(r *http.Request, want string) bool {
	var got string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		r.Body = http.MaxBytesReader(nil, r.Body, imports.MaxFileBytes)
		if err := r.ParseMultipartForm(maxUploadMemory); err != nil {
			return false
		}
		got = r.FormValue(csrfField)
	} else {
		r.Body = http.MaxBytesReader(nil, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			return false
		}
		got = r.PostForm.Get(csrfField)
	}
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Limits on form bodies: plain forms are small; an upload keeps this much
// in memory and the rest in a temporary file.
const (
	maxFormBytes    = 64 << 10
	maxUploadMemory = 8 << 20
)

// sameOrigin refuses a form whose Origin (or, without one, Referer) names
// another site than the one it was sent to (or the gateway's public URL,
// for a proxy that changes the Host header). Browsers send Origin with
// every POST; a request with neither is not from a browser and is judged
// by its CSRF token alone.
func (c *Console) sameOrigin(r *http.Request) bool {
	from := r.Header.Get("Origin")
	if from == "" {
		from = r.Header.Get("Referer")
	}
	if from == "" {
		return true
	}
	u, err := url.Parse(from)
	if err != nil || u.Host == "" {
		return false
	}
	if u.Host == r.Host {
		return true
	}
	public, err := url.Parse(c.PublicURL)
	return err == nil && public.Host != "" && strings.EqualFold(u.Host, public.Host)
}

// secure reports whether cookies must be marked Secure: the request came
// over TLS (directly or through a proxy that says so) or the gateway's
// public URL is https.
func (c *Console) secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") ||
		strings.HasPrefix(strings.ToLower(c.PublicURL), "https://")
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteStrictMode})
}

func (c *Console) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	c.setCookie(w, r, name, "", -1)
}

type signinData struct {
	CSRF  string
	Error string
}

// signinPage shows the sign-in form with a fresh CSRF token, kept in a
// cookie until the form comes back (double submit).
func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	if _, err := c.visitOf(r); err == nil {
		http.Redirect(w, r, "/console/schedule", http.StatusSeeOther)
		return
	}
	c.showSignin(w, r, http.StatusOK, "")
}

func (c *Console) showSignin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	token := calgate.NewSecret(24)
	c.setCookie(w, r, signinCookie, token, 3600)
	w.Header().Set("Cache-Control", "no-store")
	c.render(w, r, status, "signin", nil, signinData{CSRF: token, Error: msg})
}

// signin exchanges a workspace token, posted in the form body, for a
// session cookie.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.showSignin(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	ck, err := r.Cookie(signinCookie)
	got := r.PostForm.Get(csrfField)
	if err != nil || got == "" || !c.sameOrigin(r) || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(got)) != 1 {
		c.showSignin(w, r, http.StatusForbidden, "The form expired or came from another site. Please sign in again.")
		return
	}
	secret := strings.TrimSpace(r.PostForm.Get("token"))
	if secret == "" {
		c.showSignin(w, r, http.StatusUnprocessableEntity, "Enter a token of your workspace.")
		return
	}
	p, err := c.Store.TokenByHash(r.Context(), calgate.HashSecret(secret))
	if errors.Is(err, calgate.ErrNotFound) {
		c.showSignin(w, r, http.StatusUnauthorized, "This token is not valid (or was revoked).")
		return
	}
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	cookie := calgate.NewSecret(32)
	now := c.Now()
	s := &calgate.Session{WorkspaceID: p.Workspace.ID, TokenID: p.Token.ID, CSRF: calgate.NewSecret(24),
		CreatedAt: now, ExpiresAt: now.Add(c.SessionTTL)}
	if err := c.Store.CreateSession(r.Context(), s, calgate.HashSecret(cookie)); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	c.Logger.Info("console sign-in", "workspace", p.Workspace.ID, "token", p.Token.ID, "session", s.ID)
	c.clearCookie(w, r, signinCookie)
	c.setCookie(w, r, sessionCookie, cookie, int(c.SessionTTL.Seconds()))
	http.Redirect(w, r, "/console/schedule", http.StatusSeeOther)
}

// signout ends the session.
func (c *Console) signout(w http.ResponseWriter, r *http.Request, v *visit) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if err := c.Store.DeleteSession(r.Context(), calgate.HashSecret(ck.Value)); err != nil {
			c.fail(w, r, v, err)
			return
		}
	}
	c.clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}
