package connectors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/calgate/calgate"
)

// Job types the service registers.
const (
	// JobPush pushes one entry to one connector.
	JobPush = "connector.push"
)

// Defaults of Options.
const (
	DefaultSweepInterval = 5 * time.Second
	DefaultLease         = 2 * time.Minute
	DefaultAuthTTL       = time.Hour
	DefaultBatchDelay    = time.Second
	// CallLogRetention is how long the call log keeps a call.
	CallLogRetention = 30 * 24 * time.Hour
	// CallbackPath is the path of the OAuth redirect URL.
	CallbackPath = "/v1/connectors/oauth/callback"
)

// Store is what the service needs from the database.
type Store interface {
	calgate.ConnectorStore
	calgate.ConnectorReconcileStore
	Entry(ctx context.Context, workspaceID string, kind calgate.Kind, id string, includeArchived bool) (*calgate.Entry, error)
	Entries(ctx context.Context, workspaceID string, f calgate.EntryFilter) ([]*calgate.Entry, string, error)
	AppendEvent(ctx context.Context, ev *calgate.Event) error
}

// Sealer encrypts stored credentials (the gateway's vault).
type Sealer interface {
	Seal(plaintext []byte) string
	Open(sealed string) ([]byte, error)
}

// Deps are what connectors work with: links and calls in the store,
// sealed tokens, the client to the applications, metrics.
type Deps struct {
	Store  Store
	Jobs   calgate.Jobs
	Sealer Sealer
	// Client reaches the applications (the hardened outbound client).
	Client  *http.Client
	Logger  *slog.Logger
	Metrics *Metrics
	// Notify wakes the outbox dispatcher after an event is written.
	Notify func()
}

// Options are a Service's settings; zero values take the defaults.
type Options struct {
	// PublicURL is the gateway's public base URL; the OAuth redirect URL
	// is PublicURL + CallbackPath.
	PublicURL string
	// SweepInterval is how often owed pushes are looked for (default 5 s);
	// a push is re-enqueued once it is that much overdue.
	SweepInterval time.Duration
	// Lease is how long a worker holds a push (default 2 min).
	Lease time.Duration
	// BatchDelay is how long a change to an application that writes in
	// batches (a BatchVendor) waits for the changes that follow it, so that
	// they share calls (default 1 s).
	BatchDelay time.Duration
	// RetryScale multiplies the retry schedule (default 1; tests shrink
	// it). Retry-After waits are never scaled.
	RetryScale float64
	// Processes is the number of worker processes of the deployment; each
	// uses its share of every application's rate limits (default 1).
	Processes int
	// ReconcileInterval is how often connectors of applications that
	// reconcile are reconciled (default 15 min); ReconcileLease how long
	// a worker holds a run (default 10 min).
	ReconcileInterval time.Duration
	ReconcileLease    time.Duration
	// Now returns the time (default time.Now).
	Now func() time.Time
}

// Service manages connectors and pushes entries to them. It implements
// calgate.Destination.
type Service struct {
	d       Deps
	o       Options
	log     *slog.Logger
	vendors map[string]Vendor
	rates   tenants

	refreshMu sync.Mutex
	refreshes map[string]*sync.Mutex
}

var _ calgate.BatchDestination = (*Service)(nil)

// New returns the service.
func New(d Deps, o Options) *Service {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.BatchDelay <= 0 {
		o.BatchDelay = DefaultBatchDelay
	}
	if o.RetryScale <= 0 {
		o.RetryScale = 1
	}
	if o.Processes <= 0 {
		o.Processes = 1
	}
	if o.ReconcileInterval <= 0 {
		o.ReconcileInterval = DefaultReconcileInterval
	}
	if o.ReconcileLease <= 0 {
		o.ReconcileLease = DefaultReconcileLease
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if d.Client == nil {
		d.Client = http.DefaultClient
	}
	return &Service{d: d, o: o, log: d.Logger, vendors: map[string]Vendor{}, refreshes: map[string]*sync.Mutex{}}
}

// Add registers an application.
func (s *Service) Add(v Vendor) { s.vendors[v.Type()] = v }

// Types lists the registered applications.
func (s *Service) Types() []string {
	out := make([]string, 0, len(s.vendors))
	for t := range s.vendors {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Register plugs the destination, the push and reconcile jobs, the sweep,
// the claim of due reconciliations and the call log's purge into the
// queue.
func (s *Service) Register(reg calgate.Registry) {
	reg.AddDestination(s)
	reg.HandleJob(JobPush, calgate.Policy{MaxRetry: 3, Timeout: s.o.Lease}, s.runPush)
	reg.HandleJob(JobReconcile, calgate.Policy{MaxRetry: 3, Timeout: s.o.ReconcileLease}, s.runReconcile)
	reg.Every("connectors-sweep", s.o.SweepInterval, s.Sweep)
	reg.Every("connectors-reconcile", s.o.SweepInterval, s.ReconcileDue)
	reg.Every("connectors-log-purge", time.Hour, func(ctx context.Context) error {
		_, err := s.d.Store.PurgeConnectorCalls(ctx, s.now().Add(-CallLogRetention))
		return err
	})
}

func (s *Service) now() time.Time { return s.o.Now().UTC().Truncate(time.Microsecond) }

// RedirectURL is the OAuth redirect URL to register at each application.
func (s *Service) RedirectURL() string {
	return strings.TrimRight(s.o.PublicURL, "/") + CallbackPath
}

// Create stores a new connector and, for OAuth applications, starts its
// authorization: the reply's URL is where the user consents.
func (s *Service) Create(ctx context.Context, workspaceID string, in calgate.ConnectorInput) (*calgate.Connector, string, error) {
	v := &calgate.ValidationError{}
	var vendor Vendor
	if in.Type == nil || *in.Type == "" {
		v.Add("type", "is required: one of %s", strings.Join(s.Types(), ", "))
	} else if vendor = s.vendors[*in.Type]; vendor == nil {
		v.Add("type", "must be one of %s", strings.Join(s.Types(), ", "))
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	auth := vendor.Auth()
	key := ""
	if in.APIKey != nil {
		key = strings.TrimSpace(*in.APIKey)
	}
	switch {
	case key != "" && !auth.TakesAPIKey():
		return nil, "", calgate.Invalid("api_key", "%s takes no API key: leave it out and open the authorize_url of the reply", vendor.Type())
	case key == "" && auth.OAuth == nil:
		return nil, "", calgate.Invalid("api_key", "is required for %s", vendor.Type())
	case key == "" && auth.OAuth.ClientID == "" && auth.TakesAPIKey():
		return nil, "", calgate.Invalid("api_key", "is required: %s's OAuth app is not configured in this deployment", vendor.Type())
	case key == "" && auth.OAuth.ClientID == "":
		return nil, "", calgate.Invalid("type", "%s is not configured in this deployment (its OAuth client id is not set)", vendor.Type())
	}
	now := s.now()
	c := &calgate.Connector{ID: calgate.NewID("con"), WorkspaceID: workspaceID, Type: vendor.Type(), Name: vendor.Type(),
		State: calgate.ConnectorStatePending, CreatedAt: now, UpdatedAt: now}
	if in.Mapping == nil {
		raw := json.RawMessage(`{}`)
		in.Mapping = &raw
	}
	s.apply(c, vendor, in, v)
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	if key != "" {
		acct, cl, err := s.checkKey(ctx, c, vendor, key)
		if err != nil {
			return nil, "", err
		}
		c.Account, c.AccountName, c.AccountURL, c.State = acct.ID, acct.Name, acct.URL, calgate.ConnectorStateConnected
		if err := s.d.Store.CreateConnector(ctx, c); err != nil {
			return nil, "", err
		}
		cl.flush(ctx)
		if err := s.saveCredentials(ctx, c, credentials{APIKey: key}); err != nil {
			return nil, "", err
		}
		return c, "", nil
	}
	authURL := s.startAuth(c, vendor)
	if err := s.d.Store.CreateConnector(ctx, c); err != nil {
		return nil, "", err
	}
	return c, authURL, nil
}

// checkKey asks the application which account an API key opens, without
// storing the key. A key the application refuses is a 422 naming api_key.
// The client's calls are flushed by the caller once the connector exists.
func (s *Service) checkKey(ctx context.Context, c *calgate.Connector, vendor Vendor, key string) (Account, *Client, error) {
	probe := *c
	cl := s.newClient(&probe, vendor, "")
	cl.creds = &credentials{APIKey: key}
	acct, err := vendor.Account(ctx, cl, nil)
	if err != nil {
		var ve *calgate.ValidationError
		switch st := StatusOf(err); {
		case errors.As(err, &ve):
			return acct, nil, ve
		case errors.Is(err, ErrReauth) || st == http.StatusUnauthorized || st == http.StatusForbidden:
			return acct, nil, calgate.Invalid("api_key", "was refused by %s: %v", vendor.Type(), err)
		}
		return acct, nil, fmt.Errorf("connectors: %s: check the API key: %w", vendor.Type(), err)
	}
	if c.Account != "" && c.Account != acct.ID {
		return acct, nil, fmt.Errorf("connector %s belongs to account %s (%s), not %s: create another connector for that one: %w",
			c.ID, c.Account, c.AccountName, acct.ID, calgate.ErrConflict)
	}
	cl.conn = c
	return acct, cl, nil
}

// apply copies the optional settings of in onto c and checks them.
func (s *Service) apply(c *calgate.Connector, vendor Vendor, in calgate.ConnectorInput, v *calgate.ValidationError) {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" || len(name) > 255 {
			v.Add("name", "must be 1 to 255 bytes")
		}
		c.Name = name
	}
	if in.Filter != nil {
		f := *in.Filter
		for i, k := range f.Kinds {
			if !k.Valid() {
				v.Add(fmt.Sprintf("filter.kinds[%d]", i), "must be reservation, job or production_window")
			}
		}
		for i, st := range f.Statuses {
			if !st.Valid() {
				v.Add(fmt.Sprintf("filter.statuses[%d]", i), "must be tentative, confirmed or cancelled")
			}
		}
		c.Filter = f
	}
	if in.Mapping != nil {
		m, err := vendor.Mapping(*in.Mapping)
		if err != nil {
			if ve, ok := err.(*calgate.ValidationError); ok {
				v.Errors = append(v.Errors, ve.Errors...)
			} else {
				v.Add("mapping", "%v", err)
			}
		}
		c.Mapping = m
	}
}

// startAuth begins an authorization: a fresh state bound to the connector
// (stored as its hash) and PKCE verifier (sealed), valid for an hour. It
// returns the URL the user opens.
func (s *Service) startAuth(c *calgate.Connector, vendor Vendor) string {
	auth := vendor.Auth()
	cfg := s.oauthConfig(auth)
	state := calgate.NewSecret(32)
	c.AuthState = hashState(state)
	exp := s.now().Add(DefaultAuthTTL)
	c.AuthExpiresAt = &exp
	var opts []oauthOption
	if auth.PKCE {
		verifier := newVerifier()
		c.SealedVerifier = s.d.Sealer.Seal([]byte(verifier))
		opts = append(opts, challenge(verifier))
	} else {
		c.SealedVerifier = ""
	}
	for k, vals := range auth.AuthParams {
		for _, val := range vals {
			opts = append(opts, param(k, val))
		}
	}
	return cfg.AuthCodeURL(state, opts...)
}

func hashState(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// Authorize starts a new authorization of a connector (to connect it again
// after needs_reauth, or when the first link expired) and returns the URL.
func (s *Service) Authorize(ctx context.Context, workspaceID, id string) (*calgate.Connector, string, error) {
	c, err := s.d.Store.Connector(ctx, workspaceID, id)
	if err != nil {
		return nil, "", err
	}
	vendor := s.vendors[c.Type]
	if vendor == nil {
		return nil, "", fmt.Errorf("connector %s: type %s is not available: %w", id, c.Type, calgate.ErrConflict)
	}
	if vendor.Auth().OAuth == nil || vendor.Auth().OAuth.ClientID == "" {
		return nil, "", fmt.Errorf("connector %s takes an API key here; change it with PATCH: %w", id, calgate.ErrConflict)
	}
	url := s.startAuth(c, vendor)
	c.UpdatedAt = s.now()
	if err := s.d.Store.UpdateConnector(ctx, c); err != nil {
		return nil, "", err
	}
	return c, url, nil
}

// Update changes a connector's name, filter, mapping, API key or pause.
func (s *Service) Update(ctx context.Context, workspaceID, id string, in calgate.ConnectorInput) (*calgate.Connector, error) {
	c, err := s.d.Store.Connector(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	vendor := s.vendors[c.Type]
	if vendor == nil {
		return nil, fmt.Errorf("connector %s: type %s is not available: %w", id, c.Type, calgate.ErrConflict)
	}
	v := &calgate.ValidationError{}
	if in.Type != nil && *in.Type != c.Type {
		v.Add("type", "cannot change; create another connector")
	}
	if in.APIKey != nil && (!vendor.Auth().TakesAPIKey() || strings.TrimSpace(*in.APIKey) == "") {
		v.Add("api_key", "is only for applications that take an API key, and must not be empty")
	}
	oldMapping, oldFilter := c.Mapping, c.Filter
	s.apply(c, vendor, in, v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	rewrite := false
	if _, ok := vendor.(Preparer); ok && (in.Mapping != nil || in.Filter != nil) && c.State == calgate.ConnectorStateConnected {
		if err := s.prepare(ctx, c, vendor); err != nil {
			return nil, err
		}
		rewrite = string(oldMapping) != string(c.Mapping) || !sameFilter(oldFilter, c.Filter)
	}
	resume := false
	if in.Paused != nil {
		switch {
		case *in.Paused && c.State == calgate.ConnectorStateConnected:
			c.State = calgate.ConnectorStatePaused
		case !*in.Paused && c.State == calgate.ConnectorStatePaused:
			c.State, resume = calgate.ConnectorStateConnected, true
		}
	}
	var checked *Client
	if in.APIKey != nil {
		key := strings.TrimSpace(*in.APIKey)
		acct, cl, err := s.checkKey(ctx, c, vendor, key)
		if err != nil {
			return nil, err
		}
		checked = cl
		if err := s.saveCredentials(ctx, c, credentials{APIKey: key}); err != nil {
			return nil, err
		}
		c.Account, c.AccountName, c.AccountURL = acct.ID, acct.Name, acct.URL
		c.AuthState, c.SealedVerifier, c.AuthExpiresAt = "", "", nil
		if c.State == calgate.ConnectorStateNeedsReauth || c.State == calgate.ConnectorStatePending {
			c.State, c.LastError, resume = calgate.ConnectorStateConnected, "", true
		}
	}
	c.UpdatedAt = s.now()
	if err := s.d.Store.UpdateConnector(ctx, c); err != nil {
		return nil, err
	}
	if checked != nil {
		checked.flush(ctx)
	}
	if resume {
		if err := s.resume(ctx, c); err != nil {
			return nil, err
		}
	}
	if rewrite {
		if _, err := s.Resync(ctx, workspaceID, id); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func sameFilter(a, b calgate.ConnectorFilter) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Connector returns a connector with its backlog.
func (s *Service) Connector(ctx context.Context, workspaceID, id string) (*calgate.Connector, calgate.ConnectorBacklog, error) {
	c, err := s.d.Store.Connector(ctx, workspaceID, id)
	if err != nil {
		return nil, calgate.ConnectorBacklog{}, err
	}
	b, err := s.d.Store.ConnectorBacklog(ctx, c.ID)
	return c, b, err
}

// Connectors lists a workspace's connectors.
func (s *Service) Connectors(ctx context.Context, workspaceID string) ([]*calgate.Connector, error) {
	return s.d.Store.Connectors(ctx, workspaceID)
}

// Delete removes a connector with its links and log. The objects at the
// application stay.
func (s *Service) Delete(ctx context.Context, workspaceID, id string) error {
	return s.d.Store.DeleteConnector(ctx, workspaceID, id)
}

// Log lists a connector's remote calls, newest first.
func (s *Service) Log(ctx context.Context, workspaceID, id string, f calgate.ConnectorCallFilter) ([]*calgate.ConnectorCall, error) {
	if _, err := s.d.Store.Connector(ctx, workspaceID, id); err != nil {
		return nil, err
	}
	return s.d.Store.ConnectorCalls(ctx, id, f)
}

// Resync owes every entry the connector's filter selects again, so each is
// pushed (created, or updated to calgate's version), and every entry
// pushed before (whose remote object goes when the filter no longer
// selects it), and reports how many.
func (s *Service) Resync(ctx context.Context, workspaceID, id string) (int, error) {
	c, err := s.d.Store.Connector(ctx, workspaceID, id)
	if err != nil {
		return 0, err
	}
	if c.State != calgate.ConnectorStateConnected {
		return 0, fmt.Errorf("connector %s is %s; connect or resume it first: %w", id, c.State, calgate.ErrConflict)
	}
	f := c.Filter.EntryFilter()
	f.Limit = 1000
	versions := map[string]int64{}
	for {
		list, next, err := s.d.Store.Entries(ctx, workspaceID, f)
		if err != nil {
			return 0, err
		}
		for _, e := range list {
			versions[e.ID] = e.Version
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	links, err := s.d.Store.ConnectorLinks(ctx, c.ID)
	if err != nil {
		return 0, err
	}
	for _, l := range links {
		if _, ok := versions[l.EntryID]; !ok && l.RemoteID != "" {
			versions[l.EntryID] = l.WantedVersion
		}
	}
	if err := s.d.Store.OweConnectorLinks(ctx, c.ID, versions, s.now()); err != nil {
		return 0, err
	}
	if _, batch := s.vendors[c.Type].(BatchVendor); batch && len(versions) > 0 {
		return len(versions), s.schedule(ctx, c, "", "resync")
	}
	for entryID := range versions {
		if err := s.enqueuePush(ctx, c.ID, entryID, "", time.Time{}, ""); err != nil {
			return 0, err
		}
	}
	return len(versions), nil
}

// resume makes every owed push of a connector due and enqueues them.
func (s *Service) resume(ctx context.Context, c *calgate.Connector) error {
	ids, err := s.d.Store.RescheduleConnectorLinks(ctx, c.ID, s.now())
	if err != nil {
		return err
	}
	if _, batch := s.vendors[c.Type].(BatchVendor); batch && len(ids) > 0 {
		return s.schedule(ctx, c, "", "resume")
	}
	for _, entryID := range ids {
		if err := s.enqueuePush(ctx, c.ID, entryID, "", time.Time{}, "resume"); err != nil {
			return err
		}
	}
	return nil
}
