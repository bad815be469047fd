package calgate

import (
	"context"
	"encoding/json"
	"time"
)

// Connector states.
const (
	// ConnectorStatePending means the connector waits for the user's
	// consent at the vendor (the authorize URL has not been followed yet).
	ConnectorStatePending = "pending"
	// ConnectorStateConnected means changes are pushed.
	ConnectorStateConnected = "connected"
	// ConnectorStateNeedsReauth means the vendor refused the stored
	// credentials; changes are kept until the user connects again.
	ConnectorStateNeedsReauth = "needs_reauth"
	// ConnectorStatePaused means a user paused the connector; changes are
	// kept until it is resumed.
	ConnectorStatePaused = "paused"
)

// ConnectorFilter selects the entries a connector receives, like a feed's
// filter. Empty lists select everything.
type ConnectorFilter struct {
	Kinds     []Kind   `json:"kinds"`
	Resources []string `json:"resources"`
	Statuses  []Status `json:"statuses"`
	Sources   []string `json:"sources"`
}

// EntryFilter returns the entry filter of f.
func (f ConnectorFilter) EntryFilter() EntryFilter {
	return EntryFilter{Kinds: f.Kinds, Resources: f.Resources, Statuses: f.Statuses, Sources: f.Sources}
}

// Connector links a workspace to an account at a third-party application
// (accounting, CRM, …) and pushes the entries its filter selects there.
type Connector struct {
	ID          string
	WorkspaceID string
	// Type names the application ("quickbooks", "xero").
	Type   string
	Name   string
	Filter ConnectorFilter
	// Mapping is the application's own settings (which item, account or
	// price an entry maps to), checked by the application's package.
	Mapping json.RawMessage
	State   string
	// SealedCredentials are the OAuth tokens or API key, encrypted by the
	// vault. They are never shown.
	SealedCredentials string
	// CredentialsVersion grows with every credentials change, so that two
	// processes refreshing one token at once do not overwrite each other.
	CredentialsVersion int64
	// Account is the remote company or tenant (QuickBooks realm id, Xero
	// tenant id); AccountName its display name.
	Account     string
	AccountName string
	// AccountURL is the base URL of the account's API where it differs per
	// account (Salesforce's instance URL, Mailchimp's data centre); empty
	// where the application has one API URL.
	AccountURL string
	// AuthState is the SHA-256 of the pending authorization's state
	// parameter, SealedVerifier its PKCE verifier, AuthExpiresAt its end.
	AuthState      string
	SealedVerifier string
	AuthExpiresAt  *time.Time
	LastError      string
	LastSuccessAt  *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// ConnectorLink is what a connector knows of one entry at the vendor, and
// what it still owes it: the remote object's id and version (such as a
// QuickBooks SyncToken), the entry version the vendor holds (PushedVersion)
// and the newest one events announced (WantedVersion). While WantedVersion
// is greater, the push is owed: NextAttemptAt is when it is due (nil once
// the retries are used up), LeaseUntil is how long a worker holds it.
type ConnectorLink struct {
	ConnectorID   string
	EntryID       string
	RemoteID      string
	RemoteVersion string
	// RemoteState is the vendor's state of the object ("", "open",
	// "voided", "deleted", …), as the application's package names it.
	RemoteState string
	// RemoteData is more the application keeps per entry (JSON), such as
	// the id of the customer the invoice is for.
	RemoteData json.RawMessage
	// CreateKey is the idempotency key of a create whose outcome is not
	// known (the call was made, no answer was recorded); a retry reuses it.
	CreateKey     string
	PushedVersion int64
	WantedVersion int64
	Attempts      int
	NextAttemptAt *time.Time
	LeaseUntil    *time.Time
	LeaseToken    string
	LastError     string
	UpdatedAt     time.Time
}

// Owed reports whether the vendor does not hold the newest version yet.
func (l *ConnectorLink) Owed() bool { return l.WantedVersion > l.PushedVersion }

// ConnectorCall is one remote call in a connector's log.
type ConnectorCall struct {
	ID          int64
	ConnectorID string
	At          time.Time
	EntryID     string
	// Operation names the call ("query customer", "create invoice",
	// "refresh token").
	Operation  string
	Method     string
	StatusCode int
	// Error is the vendor's error text or the network error; empty on
	// success.
	Error    string
	Duration time.Duration
}

// ConnectorBacklog is how far a connector is behind.
type ConnectorBacklog struct {
	// Pending counts entries whose newest version is not at the vendor.
	Pending int
	// Failed counts those among them whose retries are used up.
	Failed int
}

// ConnectorCallFilter pages a connector's call log, newest first.
type ConnectorCallFilter struct {
	EntryID string
	// Before is the id below which to continue (0: from the newest).
	Before int64
	Limit  int
}

// ConnectorStore keeps connectors, their links to remote objects (the owed
// work) and their call logs.
type ConnectorStore interface {
	CreateConnector(ctx context.Context, c *Connector) error
	// Connector returns a connector; an empty workspaceID finds it in any
	// workspace (workers).
	Connector(ctx context.Context, workspaceID, id string) (*Connector, error)
	Connectors(ctx context.Context, workspaceID string) ([]*Connector, error)
	// ConnectorByAuthState finds the connector whose pending authorization
	// has the state hash.
	ConnectorByAuthState(ctx context.Context, stateHash string) (*Connector, error)
	// UpdateConnector writes settings, state and authorization; the
	// credentials are written only by SaveConnectorCredentials.
	UpdateConnector(ctx context.Context, c *Connector) error
	// SaveConnectorCredentials replaces the sealed credentials if their
	// version is still prev (compare-and-swap) and reports whether it did.
	SaveConnectorCredentials(ctx context.Context, id, sealed string, prev int64) (bool, error)
	// SetConnectorState moves a connector from one state to another
	// (compare-and-swap) and reports whether it did.
	SetConnectorState(ctx context.Context, id, from, to, lastError string, at time.Time) (bool, error)
	// DisconnectConnector moves a connected connector to needs_reauth and,
	// in the same transaction, writes ev (its connector.disconnected event);
	// it reports whether it did (false: not connected any more).
	DisconnectConnector(ctx context.Context, id, reason string, at time.Time, ev *Event) (bool, error)
	// RecordConnectorOutcome notes a push: success (lastError empty) or
	// the reason of a failure.
	RecordConnectorOutcome(ctx context.Context, id, lastError string, at time.Time) error
	DeleteConnector(ctx context.Context, workspaceID, id string) error

	// WantConnectorLinks records, in grouped writes, that entries'
	// versions are owed to connectors (a wanted version only grows) and
	// makes each due at at unless it already waits for a retry.
	WantConnectorLinks(ctx context.Context, wants []ConnectorWant, at time.Time) error
	// OweConnectorLinks makes the entries owed again from scratch (a
	// resync): pushed version 0, due at at, attempts reset.
	OweConnectorLinks(ctx context.Context, connectorID string, versions map[string]int64, at time.Time) error
	// ConnectorLink returns one link; ErrNotFound when none was recorded.
	ConnectorLink(ctx context.Context, connectorID, entryID string) (*ConnectorLink, error)
	// ClaimConnectorLink takes the lease of an owed, due link that no one
	// else holds (or that token holds) until leaseUntil. ErrNotFound when
	// it cannot be claimed.
	ClaimConnectorLink(ctx context.Context, connectorID, entryID, token string, now, leaseUntil time.Time) (*ConnectorLink, error)
	// ClaimDueConnectorLinks claims, in one statement, up to limit owed
	// links of connected connectors that were due before dueBefore and
	// that no one holds, giving each the lease token.
	ClaimDueConnectorLinks(ctx context.Context, dueBefore, now, leaseUntil time.Time, token string, limit int) ([]*ConnectorLink, error)
	// ClaimConnectorLinks claims, in one statement, up to limit owed and
	// due links of one connector that no one holds, giving each the lease
	// token (a batch for applications that write many records in a call).
	ClaimConnectorLinks(ctx context.Context, connectorID, token string, now, leaseUntil time.Time, limit int) ([]*ConnectorLink, error)
	// SetConnectorCreateKey records the key of a create about to be made.
	SetConnectorCreateKey(ctx context.Context, connectorID, entryID, key string) error
	// SaveConnectorLink records a push: the remote object and the pushed
	// version; the lease is released and the link is due again at once if
	// a newer version is wanted.
	SaveConnectorLink(ctx context.Context, l *ConnectorLink, now time.Time) error
	// SaveConnectorLinks records many pushes in one transaction.
	SaveConnectorLinks(ctx context.Context, links []*ConnectorLink, now time.Time) error
	// ReleaseConnectorLink gives the lease back with the attempts, next
	// attempt time (nil: no more retries) and error to keep.
	ReleaseConnectorLink(ctx context.Context, connectorID, entryID string, attempts int, next *time.Time, lastError string) error
	// RescheduleConnectorLinks makes every owed link of a connector due at
	// at, with its attempts reset, and returns their entry ids.
	RescheduleConnectorLinks(ctx context.Context, connectorID string, at time.Time) ([]string, error)
	ConnectorBacklog(ctx context.Context, connectorID string) (ConnectorBacklog, error)

	// LogConnectorCalls appends remote calls to the log.
	LogConnectorCalls(ctx context.Context, calls []*ConnectorCall) error
	// ConnectorCalls lists a connector's calls newest first.
	ConnectorCalls(ctx context.Context, connectorID string, f ConnectorCallFilter) ([]*ConnectorCall, error)
	// PurgeConnectorCalls deletes calls older than before.
	PurgeConnectorCalls(ctx context.Context, before time.Time) (int64, error)
}

// ConnectorInput is what a user sets on a connector; nil fields are left
// as they are (on update) or take their default (on create).
type ConnectorInput struct {
	Type    *string          `json:"type"`
	Name    *string          `json:"name"`
	Filter  *ConnectorFilter `json:"filter"`
	Mapping *json.RawMessage `json:"mapping"`
	// Paused pauses (true) or resumes (false) a connector (PATCH only).
	Paused *bool `json:"paused"`
	// APIKey is the credential of applications that take a key instead of
	// OAuth (private app tokens).
	APIKey *string `json:"api_key"`
}

// A ConnectorWant is an entry's version owed to a connector.
type ConnectorWant struct {
	ConnectorID string
	EntryID     string
	Version     int64
}
