package console

import (
	"net/http"
	"strconv"
	"strings"

	calgate "github.com/calgate/calgate"
)

// maxTokenName bounds a token's name and user, as the API does.
const maxTokenName = 200

type tokensData struct {
	Tokens  []*calgate.Token
	Current string // the token this session acts as
	Admin   bool
	// Created and Secret show a new token once.
	Created *calgate.Token
	Secret  string
	Errors  []calgate.FieldError
	Name    string
}

func itoa(n int) string { return strconv.Itoa(n) }

// visibleTokens lists the tokens the visitor may see: all of them for an
// admin token, a user's own otherwise.
func (c *Console) visibleTokens(r *http.Request, v *visit) ([]*calgate.Token, error) {
	all, err := c.Store.Tokens(r.Context(), v.workspaceID())
	if err != nil {
		return nil, err
	}
	out := []*calgate.Token{}
	for _, t := range all {
		if v.principal.Token.Admin || t.User == v.principal.Token.User {
			out = append(out, t)
		}
	}
	return out, nil
}

func (c *Console) tokens(w http.ResponseWriter, r *http.Request, v *visit) {
	c.showTokens(w, r, v, http.StatusOK, tokensData{})
}

func (c *Console) showTokens(w http.ResponseWriter, r *http.Request, v *visit, status int, d tokensData) {
	list, err := c.visibleTokens(r, v)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	d.Tokens, d.Current, d.Admin = list, v.principal.Token.ID, v.principal.Token.Admin
	c.render(w, r, status, "tokens", v, d)
}

// createToken makes a token and shows its secret this once. As in the
// API, only an admin token makes tokens for other users or admin tokens.
func (c *Console) createToken(w http.ResponseWriter, r *http.Request, v *visit) {
	me := v.principal.Token
	name, user := strings.TrimSpace(r.PostForm.Get("name")), strings.TrimSpace(r.PostForm.Get("user"))
	admin := r.PostForm.Get("admin") != ""
	if user == "" {
		user = me.User
	}
	ve := &calgate.ValidationError{}
	if name == "" {
		ve.Add("name", "is required")
	} else {
		ve.Line("name", name, maxTokenName)
	}
	ve.Line("user", user, maxTokenName)
	if !me.Admin && (user != me.User || admin) {
		ve.Add("user", "only an admin token can create tokens for other users or admin tokens")
	}
	if len(ve.Errors) > 0 {
		c.showTokens(w, r, v, http.StatusUnprocessableEntity, tokensData{Errors: ve.Errors, Name: name})
		return
	}
	tok, secret := calgate.NewToken(v.workspaceID(), user, name, admin)
	if err := c.Store.CreateToken(r.Context(), tok, calgate.HashSecret(secret)); err != nil {
		c.fail(w, r, v, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	c.showTokens(w, r, v, http.StatusOK, tokensData{Created: tok, Secret: secret})
}

// revokeToken revokes a token the visitor may see. Its sessions end with
// it: revoking the token of this session signs the visitor out.
func (c *Console) revokeToken(w http.ResponseWriter, r *http.Request, v *visit) {
	id := r.PathValue("id")
	list, err := c.visibleTokens(r, v)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	found := false
	for _, t := range list {
		found = found || t.ID == id
	}
	if !found {
		c.fail(w, r, v, calgate.ErrNotFound)
		return
	}
	if err := c.Store.RevokeToken(r.Context(), v.workspaceID(), id); err != nil {
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/console/tokens", http.StatusSeeOther)
}
