package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/calgate/calgate"
)

// credentials are what a connector keeps sealed: OAuth tokens or a key.
type credentials struct {
	Token  *oauth2.Token `json:"token,omitempty"`
	APIKey string        `json:"api_key,omitempty"`
}

type oauthOption = oauth2.AuthCodeOption

func newVerifier() string                   { return oauth2.GenerateVerifier() }
func challenge(verifier string) oauthOption { return oauth2.S256ChallengeOption(verifier) }
func param(k, v string) oauthOption         { return oauth2.SetAuthURLParam(k, v) }

// oauthConfig is the application's client with calgate's redirect URL.
func (s *Service) oauthConfig(a Auth) *oauth2.Config {
	cfg := *a.OAuth
	cfg.RedirectURL = s.RedirectURL()
	return &cfg
}

// httpContext makes x/oauth2 use the hardened outbound client.
func (s *Service) httpContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, s.d.Client)
}

func (s *Service) openCredentials(c *calgate.Connector) (credentials, error) {
	var cr credentials
	if c.SealedCredentials == "" {
		return cr, nil
	}
	plain, err := s.d.Sealer.Open(c.SealedCredentials)
	if err != nil {
		return cr, fmt.Errorf("connectors: %s: open credentials: %w", c.ID, err)
	}
	if err := json.Unmarshal(plain, &cr); err != nil {
		return cr, fmt.Errorf("connectors: %s: decode credentials: %w", c.ID, err)
	}
	return cr, nil
}

// saveCredentials seals and stores credentials over the version c holds,
// and updates c.
func (s *Service) saveCredentials(ctx context.Context, c *calgate.Connector, cr credentials) error {
	plain, err := json.Marshal(cr)
	if err != nil {
		return fmt.Errorf("connectors: encode credentials: %w", err)
	}
	sealed := s.d.Sealer.Seal(plain)
	ok, err := s.d.Store.SaveConnectorCredentials(ctx, c.ID, sealed, c.CredentialsVersion)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("connector %s: credentials changed meanwhile: %w", c.ID, calgate.ErrConflict)
	}
	c.SealedCredentials, c.CredentialsVersion = sealed, c.CredentialsVersion+1
	return nil
}

// callbackError is a 400 naming a parameter of the callback.
func callbackError(field, format string, args ...any) error {
	v := calgate.Invalid(field, format, args...)
	v.Malformed = true
	return v
}

// Callback completes an authorization: the application redirected the user
// back with a code (or an error) and the state calgate gave. It exchanges
// the code for tokens, learns the remote account, connects the connector
// and pushes what it owes.
func (s *Service) Callback(ctx context.Context, q url.Values) (*calgate.Connector, error) {
	state := q.Get("state")
	if state == "" {
		return nil, callbackError("state", "is missing")
	}
	c, err := s.d.Store.ConnectorByAuthState(ctx, hashState(state))
	if errors.Is(err, calgate.ErrNotFound) || (err == nil && (c.AuthExpiresAt == nil || s.now().After(*c.AuthExpiresAt))) {
		return nil, callbackError("state", "is unknown or expired: start the authorization again (POST /v1/connectors/{id}/authorize)")
	}
	if err != nil {
		return nil, err
	}
	vendor := s.vendors[c.Type]
	if vendor == nil || vendor.Auth().OAuth == nil {
		return nil, callbackError("state", "belongs to a connector that does not use OAuth")
	}
	if e := q.Get("error"); e != "" {
		c.LastError = "authorization refused: " + e + " " + q.Get("error_description")
		c.UpdatedAt = s.now()
		_ = s.d.Store.UpdateConnector(ctx, c)
		return nil, callbackError("error", "the application answered %s: %s", e, q.Get("error_description"))
	}
	code := q.Get("code")
	if code == "" {
		return nil, callbackError("code", "is missing")
	}
	auth := vendor.Auth()
	var opts []oauth2.AuthCodeOption
	if auth.PKCE {
		verifier, err := s.d.Sealer.Open(c.SealedVerifier)
		if err != nil {
			return nil, fmt.Errorf("connectors: %s: open verifier: %w", c.ID, err)
		}
		opts = append(opts, oauth2.VerifierOption(string(verifier)))
	}
	cl := s.newClient(c, vendor, "")
	defer cl.flush(ctx)
	start := time.Now()
	tok, err := s.oauthConfig(auth).Exchange(s.httpContext(ctx), code, opts...)
	cl.logTokenCall("exchange code", start, err)
	if err != nil {
		return nil, callbackError("code", "the application refused the authorization code: %v", err)
	}
	if err := s.saveCredentials(ctx, c, credentials{Token: tok}); err != nil {
		return nil, err
	}
	cl.conn, cl.token = c, tok
	acct, err := vendor.Account(ctx, cl, q)
	if err != nil {
		var ve *calgate.ValidationError
		if errors.As(err, &ve) {
			ve.Malformed = true
			return nil, ve
		}
		return nil, fmt.Errorf("connectors: %s: learn the account: %w", c.ID, err)
	}
	if c.Account != "" && c.Account != acct.ID {
		return nil, fmt.Errorf("connector %s belongs to account %s (%s), not %s: create another connector for that one: %w",
			c.ID, c.Account, c.AccountName, acct.ID, calgate.ErrConflict)
	}
	c.Account, c.AccountName, c.AccountURL = acct.ID, acct.Name, acct.URL
	if err := s.prepare(ctx, c, vendor); err != nil {
		var ve *calgate.ValidationError
		if errors.As(err, &ve) {
			ve.Malformed = true
			return nil, ve
		}
		return nil, fmt.Errorf("connectors: %s: prepare the mapping: %w", c.ID, err)
	}
	c.AuthState, c.SealedVerifier, c.AuthExpiresAt, c.LastError = "", "", nil, ""
	if c.State != calgate.ConnectorStatePaused {
		c.State = calgate.ConnectorStateConnected
	}
	c.UpdatedAt = s.now()
	if err := s.d.Store.UpdateConnector(ctx, c); err != nil {
		return nil, err
	}
	if c.State == calgate.ConnectorStateConnected {
		if err := s.resume(ctx, c); err != nil {
			return nil, err
		}
	}
	if err := s.scheduleReconcile(ctx, c, vendor); err != nil {
		return nil, err
	}
	return c, nil
}

// refreshLock serialises the refreshes of one connector in this process.
func (s *Service) refreshLock(id string) *sync.Mutex {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	m := s.refreshes[id]
	if m == nil {
		m = &sync.Mutex{}
		s.refreshes[id] = m
	}
	return m
}

// token returns a valid access token, refreshing it when it expired or
// when force is set (the application refused it). A refresh token the
// application refuses is ErrReauth, unless another process refreshed it
// meanwhile: credentials are replaced by compare-and-swap, and a refresh
// that loses the race uses the winner's token.
func (s *Service) token(ctx context.Context, cl *Client, force bool) (*oauth2.Token, error) {
	cr, err := s.openCredentials(cl.conn)
	if err != nil {
		return nil, err
	}
	if cr.Token == nil {
		return nil, fmt.Errorf("connector %s has no token: %w", cl.conn.ID, ErrReauth)
	}
	if !force && cr.Token.Valid() {
		return cr.Token, nil
	}
	mu := s.refreshLock(cl.conn.ID)
	mu.Lock()
	defer mu.Unlock()
	cur, err := s.d.Store.Connector(ctx, "", cl.conn.ID)
	if err != nil {
		return nil, err
	}
	if cur.CredentialsVersion != cl.conn.CredentialsVersion {
		// Refreshed by another push meanwhile.
		cl.conn.SealedCredentials, cl.conn.CredentialsVersion = cur.SealedCredentials, cur.CredentialsVersion
		if cr, err = s.openCredentials(cl.conn); err == nil && cr.Token != nil && cr.Token.Valid() {
			return cr.Token, nil
		}
	}
	old := *cr.Token
	if old.RefreshToken == "" {
		// Tokens that never expire (Mailchimp's) have none: a refused one
		// needs a new consent.
		return nil, fmt.Errorf("%w: the access token was refused and there is no refresh token", ErrReauth)
	}
	old.Expiry = time.Unix(1, 0) // make x/oauth2 refresh
	start := time.Now()
	tok, err := s.oauthConfig(cl.vendor.Auth()).TokenSource(s.httpContext(ctx), &old).Token()
	cl.logTokenCall("refresh token", start, err)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && (re.ErrorCode == "invalid_grant" || re.ErrorCode == "invalid_client" ||
			re.ErrorCode == "unauthorized_client" || (re.Response != nil && re.Response.StatusCode == 401)) {
			return nil, fmt.Errorf("%w: the refresh token was refused (%s)", ErrReauth, re.ErrorCode)
		}
		return nil, fmt.Errorf("connectors: refresh token: %w", err)
	}
	cl.token = tok
	if err := s.saveCredentials(ctx, cl.conn, credentials{Token: tok}); err != nil {
		if !errors.Is(err, calgate.ErrConflict) {
			return nil, err
		}
		// Another process refreshed at the same moment: use its token.
		if cur, err = s.d.Store.Connector(ctx, "", cl.conn.ID); err != nil {
			return nil, err
		}
		cl.conn.SealedCredentials, cl.conn.CredentialsVersion = cur.SealedCredentials, cur.CredentialsVersion
		if cr, err = s.openCredentials(cl.conn); err != nil || cr.Token == nil {
			return nil, fmt.Errorf("connector %s: credentials: %v: %w", cl.conn.ID, err, ErrReauth)
		}
		return cr.Token, nil
	}
	return tok, nil
}

// disconnect puts a connector in needs_reauth and writes, in the same
// transaction, its connector.disconnected event (once: a second refusal
// finds the connector no longer connected).
func (s *Service) disconnect(ctx context.Context, c *calgate.Connector, reason string) {
	ctx = context.WithoutCancel(ctx)
	b, _ := s.d.Store.ConnectorBacklog(ctx, c.ID)
	data, _ := json.Marshal(map[string]any{"connector_id": c.ID, "type": c.Type, "name": c.Name, "reason": reason, "pending": b.Pending})
	ev := &calgate.Event{WorkspaceID: c.WorkspaceID, Type: calgate.EventConnectorDisconnected, Data: data, Actor: "system:connectors", CreatedAt: s.now()}
	moved, err := s.d.Store.DisconnectConnector(ctx, c.ID, reason, s.now(), ev)
	if err != nil {
		s.log.Warn("connectors: disconnect", "connector", c.ID, "err", err)
		return
	}
	if !moved {
		return
	}
	s.log.Warn("connectors: needs reauthorization", "connector", c.ID, "workspace", c.WorkspaceID, "type", c.Type, "reason", reason)
	if s.d.Notify != nil {
		s.d.Notify()
	}
}
