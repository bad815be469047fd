package calgate

import (
	"context"
	"time"
)

// Subscription states.
const (
	// SubscriptionPending means the subscription has not been polled yet.
	SubscriptionPending = "pending"
	// SubscriptionOK means the last poll succeeded (or found the feed
	// unchanged).
	SubscriptionOK = "ok"
	// SubscriptionError means the last poll failed; LastError says why and
	// the entries of the subscription are as the last good poll left them.
	SubscriptionError = "error"
)

// SourcePrefixICal starts the source of every entry an iCal subscription
// writes: "ical:<subscription id>".
const SourcePrefixICal = "ical:"

// PollCounts is what one poll of a subscription did.
type PollCounts struct {
	// NotModified is set when the server answered 304 Not Modified.
	NotModified bool `json:"not_modified"`
	// Events is the number of occurrences the feed held in the window.
	Events    int `json:"events"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Archived  int `json:"archived"`
	// Transparent counts the occurrences left out because they do not
	// block time (TRANSP:TRANSPARENT).
	Transparent int `json:"transparent"`
	Failed      int `json:"failed"`
}

// Subscription is an external iCalendar feed (an Airbnb calendar, a
// published Google or Outlook calendar) polled into entries of one kind on
// one resource.
type Subscription struct {
	ID           string        `json:"id"`
	WorkspaceID  string        `json:"workspace_id"`
	Name         string        `json:"name"`
	URL          string        `json:"url"`
	Kind         Kind          `json:"kind"`
	Resource     string        `json:"resource"`
	PollInterval time.Duration `json:"-"`
	State        string        `json:"state"`
	LastError    string        `json:"last_error"`
	// ETag and LastModified are the validators of the last good answer,
	// sent back as If-None-Match and If-Modified-Since.
	ETag          string     `json:"etag"`
	LastModified  string     `json:"last_modified"`
	LastPolledAt  *time.Time `json:"last_polled_at"`
	LastSuccessAt *time.Time `json:"last_success_at"`
	LastResult    PollCounts `json:"last_result"`
	NextPollAt    time.Time  `json:"next_poll_at"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// Source is the source of the subscription's entries.
func (s *Subscription) Source() string { return SourcePrefixICal + s.ID }

// SubscriptionStore keeps iCal subscriptions.
type SubscriptionStore interface {
	CreateSubscription(ctx context.Context, s *Subscription) error
	// Subscription returns one subscription of the workspace (ErrNotFound
	// for other workspaces' ids).
	Subscription(ctx context.Context, workspaceID, id string) (*Subscription, error)
	// Subscriptions lists a workspace's subscriptions in id order after
	// cursor and returns the next page's cursor.
	Subscriptions(ctx context.Context, workspaceID, cursor string, limit int) ([]*Subscription, string, error)
	// UpdateSubscriptionSettings writes the settings (name, url, kind,
	// resource, poll interval, next poll, validators) of s.
	UpdateSubscriptionSettings(ctx context.Context, s *Subscription) error
	// RecordPoll writes the outcome of a poll (state, last error, validators,
	// times and counts) and the next poll, without touching the settings.
	RecordPoll(ctx context.Context, s *Subscription) error
	DeleteSubscription(ctx context.Context, workspaceID, id string) error
	// ClaimDueSubscriptions moves the next poll of up to limit subscriptions
	// due at now to leaseUntil, so that one worker of several gets each and
	// a poll lost with the queue comes due again, and returns those this
	// caller claimed with NextPollAt holding the due time it claimed. The
	// poll schedules the next one when it records its outcome.
	ClaimDueSubscriptions(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*Subscription, error)
}
