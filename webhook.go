package calgate

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Webhook is an endpoint a workspace registered: calgate POSTs every
// matching event to URL, signed with the endpoint's secrets.
type Webhook struct {
	ID          string
	WorkspaceID string
	URL         string
	// Events are event types or wildcards ("entry.*", "*").
	Events      []string
	Filter      WebhookFilter
	Description string
	// Secrets are the signing secrets, sealed (encrypted at rest): the
	// current one first, then an old one until it expires after a rotation.
	Secrets []WebhookSecret
	// Origin is "api" for /v1/webhooks and "hook" for REST hooks.
	Origin         string
	Disabled       bool
	DisabledReason string
	// FailingSince is when the current streak of failed attempts began.
	FailingSince *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// WebhookFilter narrows entry events to some kinds, resources and sources;
// empty lists select everything.
type WebhookFilter struct {
	Kinds     []Kind   `json:"kinds,omitempty"`
	Resources []string `json:"resources,omitempty"`
	Sources   []string `json:"sources,omitempty"`
}

// WebhookSecret is one signing secret in sealed form.
type WebhookSecret struct {
	Sealed string `json:"sealed"`
	// ExpiresAt is set on the old secret of a rotation.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// WebhookOrigins: how an endpoint was registered.
const (
	WebhookOriginAPI  = "api"
	WebhookOriginHook = "hook"
)

// MatchesType reports whether the endpoint subscribes to events of type t.
func (w *Webhook) MatchesType(t EventType) bool {
	for _, p := range w.Events {
		if p == "*" || p == string(t) {
			return true
		}
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasSuffix(prefix, ".") && strings.HasPrefix(string(t), prefix) {
			return true
		}
	}
	return false
}

// Matches reports whether ev goes to the endpoint: its type is subscribed
// and, for entry events, the entry passes the filter before or after the
// change (so a receiver learns that an entry left its view).
func (w *Webhook) Matches(ev *Event) bool {
	if !w.MatchesType(ev.Type) {
		return false
	}
	if ev.Entry == nil {
		return true
	}
	return w.Filter.matches(ev.Entry) || w.Filter.matches(ev.Previous())
}

func (f WebhookFilter) matches(e *Entry) bool {
	if e == nil {
		return false
	}
	if len(f.Kinds) > 0 && !contains(f.Kinds, e.Kind) {
		return false
	}
	if len(f.Resources) > 0 && !contains(f.Resources, e.Resource) {
		return false
	}
	return len(f.Sources) == 0 || contains(f.Sources, e.Source)
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// Delivery is one event to one endpoint: a Standard Webhooks message whose
// ID (webhook-id, "msg_…") and body stay the same on every attempt.
type Delivery struct {
	ID          string
	WebhookID   string
	WorkspaceID string
	EventID     int64
	Type        EventType
	// Payload is the exact body sent, fixed when the delivery is created.
	Payload json.RawMessage
	Status  string
	// Attempts counts the attempts of the current round (a manual retry
	// starts a new round); the attempt log keeps them all.
	Attempts      int
	NextAttemptAt *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// Log is the attempt log, filled by listings.
	Log []DeliveryAttempt
	// New marks a delivery not written yet (PlanDeliveries): the
	// outcome of its first attempt writes it.
	New bool
}

// DeliveryAttempt is one HTTP call of a delivery.
type DeliveryAttempt struct {
	At         time.Time
	StatusCode int
	Latency    time.Duration
	Error      string
	// Response is the start of the receiver's answer (at most 4 KB).
	Response string
	// RetryIn is the wait scheduled after this attempt (0: none).
	RetryIn time.Duration
}

// EndpointChange is what an attempt does to its endpoint, written with
// the attempt.
type EndpointChange struct {
	// Succeeded records a success.
	Succeeded bool
	// ResetStreak ends the endpoint's failure streak (with Succeeded).
	ResetStreak bool
	// Disable, when not empty, disables the endpoint with this reason.
	Disable string
}

// DeliveryFilter selects deliveries of one endpoint, newest first.
type DeliveryFilter struct {
	Status string
	Cursor string
	Limit  int
}

// WebhookStore keeps webhook endpoints, their deliveries and the attempt
// log. Every method taking a workspace id answers ErrNotFound for other
// workspaces' endpoints.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, w *Webhook) error
	Webhook(ctx context.Context, workspaceID, id string) (*Webhook, error)
	// WebhookByID loads an endpoint for the delivery worker.
	WebhookByID(ctx context.Context, id string) (*Webhook, error)
	Webhooks(ctx context.Context, workspaceID, cursor string, limit int) ([]*Webhook, string, error)
	// UpdateWebhook writes the mutable fields (url, events, filter,
	// description, secrets, disabled, reason, failing_since).
	UpdateWebhook(ctx context.Context, w *Webhook) error
	DeleteWebhook(ctx context.Context, workspaceID, id string) error

	// PlanDeliveries works out a delivery of each event per enabled
	// endpoint of its workspace that match accepts, skipping those written
	// before (a repeated event is a no-op), and returns them in event
	// order, marked New, with ids that every run gives alike. payload
	// builds an event's body once, when some endpoint matches; the bodies
	// are stored, the deliveries not: the outcome of a delivery's first
	// attempt writes it (RecordSuccesses, RecordAttempt) or, unattempted,
	// StoreDeliveries.
	PlanDeliveries(ctx context.Context, evs []*Event, match func(*Webhook, *Event) bool, payload func(*Event) (json.RawMessage, error)) ([]*Delivery, error)
	// StoreDeliveries writes New deliveries as pending and unclaimed,
	// due now, for a send job; those written meanwhile are kept.
	StoreDeliveries(ctx context.Context, list []*Delivery) error
	// ClaimEndpointDeliveries takes up to limit due, pending, unclaimed
	// deliveries of one endpoint until leaseUntil, oldest first.
	ClaimEndpointDeliveries(ctx context.Context, webhookID string, now, leaseUntil time.Time, limit int) ([]*Delivery, error)
	// ReleaseDeliveries gives claimed deliveries back without an attempt.
	ReleaseDeliveries(ctx context.Context, ids []string) error
	// EndpointsOwingDeliveries lists enabled endpoints with unclaimed
	// pending deliveries due before a time.
	EndpointsOwingDeliveries(ctx context.Context, before time.Time, limit int) ([]string, error)
	// ClaimDelivery takes a pending, due delivery for one attempt until
	// leaseUntil; ErrNotFound when it is not pending, not due or taken.
	ClaimDelivery(ctx context.Context, id string, now, leaseUntil time.Time) (*Delivery, error)
	// ReleaseDelivery gives a claimed delivery back without an attempt.
	ReleaseDelivery(ctx context.Context, id string) error
	// RecordAttempt writes an attempt, the delivery's new state (the
	// delivery itself when New) and the change to its endpoint in one
	// transaction, and returns the endpoint's failing_since afterwards.
	RecordAttempt(ctx context.Context, d *Delivery, a *DeliveryAttempt, change EndpointChange) (*time.Time, error)
	// RecordSuccesses writes several first-try-style successes at once:
	// each delivery's attempt and its succeeded state, the delivery itself
	// when New (endpoints untouched).
	RecordSuccesses(ctx context.Context, list []*Delivery, attempts []*DeliveryAttempt) error
	Deliveries(ctx context.Context, workspaceID, webhookID string, f DeliveryFilter) ([]*Delivery, string, error)
	// RetryDelivery makes a delivery pending again, due now, in a new round.
	RetryDelivery(ctx context.Context, workspaceID, webhookID, id string, now time.Time) (*Delivery, error)
	// ReplayDeliveries makes every failed delivery created since a time
	// pending again and returns them.
	ReplayDeliveries(ctx context.Context, workspaceID, webhookID string, since, now time.Time) ([]*Delivery, error)
	// DueDeliveries lists pending deliveries due before a time and not
	// claimed, oldest first.
	DueDeliveries(ctx context.Context, before time.Time, limit int) ([]*Delivery, error)
	// PurgeDeliveries deletes the succeeded and failed deliveries made
	// before a time, with their attempts, and returns how many went;
	// pending ones stay.
	PurgeDeliveries(ctx context.Context, before time.Time) (int, error)
	// PurgePayloads deletes the stored bodies of events made before a time
	// that destination no longer owes and no delivery refers to, and
	// returns how many went.
	PurgePayloads(ctx context.Context, destination string, before time.Time) (int, error)
}
