package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/calgate/calgate"
)

// Vendor is one third-party application: what is particular to it.
type Vendor interface {
	// Type names the application in the API ("quickbooks"). It is stable.
	Type() string
	// Auth says how the application authenticates calgate.
	Auth() Auth
	// Limits are the application's rate limits per remote tenant.
	Limits() Limits
	// Mapping checks a connector's mapping settings and returns them with
	// their defaults filled in; a bad setting is a *calgate.ValidationError
	// naming the field under "mapping.".
	Mapping(raw json.RawMessage) (json.RawMessage, error)
	// Account learns the remote account after the user's consent, from the
	// callback's query (QuickBooks' realmId), the token answer
	// (Client.TokenExtra) or by asking the application (Xero's
	// connections). For a connector that uses an API key it is called when
	// the key is set, with a nil callback: an ErrReauth then refuses the
	// key.
	Account(ctx context.Context, c *Client, callback url.Values) (Account, error)
	// Push brings one entry's remote object up to date (see Push).
	Push(ctx context.Context, c *Client, p *Push) error
	// ErrorText is the application's error message in an error answer.
	ErrorText(status int, body []byte) string
}

// Auth is how an application authenticates calgate.
type Auth struct {
	// OAuth is the application's OAuth 2.0 client (id, secret, endpoints,
	// scopes); the framework sets the redirect URL. Nil when the
	// application takes an API key.
	OAuth *oauth2.Config
	// PKCE sends a code challenge (RFC 7636) with the authorization.
	PKCE bool
	// AuthParams are extra parameters of the authorization URL.
	AuthParams url.Values
	// APIKeyHeader, for applications that take an API key (a private app
	// token), is the header the key is sent in ("Authorization" sends
	// "Bearer <key>"). An application with OAuth that sets it takes either:
	// a connector created with an api_key uses the key, one created
	// without goes through the consent.
	APIKeyHeader string
	// APIKeyBasic sends the key as the password of HTTP Basic
	// authentication instead (Mailchimp).
	APIKeyBasic bool
	// TokenScheme is the scheme of the Authorization header that carries
	// an OAuth access token (default the token's type, Bearer); Mailchimp's
	// metadata endpoint wants "OAuth".
	TokenScheme string
}

// TakesAPIKey reports whether the application accepts an API key.
func (a Auth) TakesAPIKey() bool { return a.OAuth == nil || a.APIKeyHeader != "" || a.APIKeyBasic }

// Account is the remote company or tenant a connector writes into.
type Account struct {
	ID   string
	Name string
	// URL is the base URL of the account's API where it differs per
	// account (Salesforce's instance URL, Mailchimp's data centre); it is
	// kept as the connector's AccountURL. An application that sets it must
	// have derived it from its own answers or checked its form.
	URL string
}

// BatchVendor is an application that writes many records in one call
// (Salesforce's sObject Collections, HubSpot's batch endpoints). Its
// pushes are claimed in batches: a change waits a moment (Options.
// BatchDelay) for the changes that follow it, and the owed pushes of a
// connector go to PushBatch up to BatchSize at a time, so a bulk import of
// 10,000 entries costs a few dozen calls instead of tens of thousands. Its
// writes must be upserts by a key of calgate's (an external id), so that a
// retry after a lost answer cannot make a record twice: its pushes carry
// no CreateKey.
type BatchVendor interface {
	Vendor
	// BatchSize is the most pushes one PushBatch is given.
	BatchSize() int
	// PushBatch brings the pushes' remote objects up to date and returns
	// one error per push, nil for those done: one bad entry fails alone.
	// Push of a BatchVendor is never called by the framework.
	PushBatch(ctx context.Context, c *Client, ps []*Push) []error
}

// FailAll returns err for each of n pushes: a call that failed as a whole.
func FailAll(n int, err error) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}

// Push is one entry's push: what the application must make true, and the
// link it updates.
type Push struct {
	Connector *calgate.Connector
	// Entry is the entry now (archived ones too); nil when it is gone.
	Entry *calgate.Entry
	// Selected reports whether the connector's filter selects the entry
	// (archived entries are never selected). What an application does
	// with a selected entry (an invoice only when confirmed, say) is its
	// own rule.
	Selected bool
	// Link is what is known of the remote object. The application updates
	// RemoteID, RemoteVersion, RemoteState and RemoteData; they are saved
	// when Push returns nil.
	Link *calgate.ConnectorLink
	// CreateKey is the idempotency key of a create of the entry's object:
	// the same on every retry until the create is recorded.
	CreateKey string
	// CreateRetried reports that a create with CreateKey may have been made
	// before without its answer being recorded: look the object up first
	// where the application allows.
	CreateRetried bool
	// Version is the entry version being pushed.
	Version int64
}

// Key returns an idempotency key for one operation of this push, derived
// from the connector, the entry, the version and the parts: a retry of the
// same operation gets the same key.
func (p *Push) Key(op string, parts ...string) string {
	return Key(p.Connector.ID, p.Link.EntryID, p.Version, op, parts...)
}

// Errors a Vendor or the Client returns.
var (
	// ErrReauth means the application refused the stored credentials (a
	// refused refresh token): the connector needs to be connected again.
	ErrReauth = errors.New("connectors: the application refused the credentials")
	// ErrNotConfigured means the deployment has no client id for the
	// application.
	ErrNotConfigured = errors.New("connectors: not configured in this deployment")
)

// RetryAfterError is a 429 or 503 answer (or, with Status 0, calgate's
// own limit for the account spent for longer than a push may wait): try
// again after Wait.
type RetryAfterError struct {
	Status int
	Wait   time.Duration
	Text   string
}

func (e *RetryAfterError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s: retry after %s", e.Text, e.Wait.Round(time.Second))
	}
	return fmt.Sprintf("the application answered %d (%s); retry after %s", e.Status, e.Text, e.Wait)
}

// HTTPError is another error answer of the application.
type HTTPError struct {
	Operation string
	Status    int
	// Text is the application's error message.
	Text string
	Body []byte
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s: the application answered %d: %s", e.Operation, e.Status, e.Text)
}

// StatusOf returns the HTTP status of an application's error answer, 0
// when err is not one.
func StatusOf(err error) int {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status
	}
	var re *RetryAfterError
	if errors.As(err, &re) {
		return re.Status
	}
	return 0
}
