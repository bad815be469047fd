package subscriptions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/ical"
	"github.com/calgate/calgate/outbound"
)

// Limits and defaults of subscriptions.
const (
	// MinPollInterval is the shortest poll interval a subscription may have.
	MinPollInterval = 5 * time.Minute
	// DefaultPollInterval is used when a subscription names none.
	DefaultPollInterval = 15 * time.Minute
	// MaxPollInterval is the longest poll interval.
	MaxPollInterval = 7 * 24 * time.Hour
	// MaxFeedBytes caps the size of a fetched feed; the outbound client
	// fails reads past it.
	MaxFeedBytes = 10 << 20
	// FetchTimeout bounds one fetch, redirects included.
	FetchTimeout = 30 * time.Second
	// SweepInterval is how often every worker looks for due subscriptions.
	SweepInterval = 30 * time.Second
	// JobType is the queue job that polls one subscription.
	JobType = "ical_subscription_poll"
	// sweepBatch bounds the subscriptions one sweep claims.
	sweepBatch = 200
)

// Store is what the service needs from the database.
type Store interface {
	calgate.SubscriptionStore
	Upsert(ctx context.Context, workspaceID, actor string, items []calgate.UpsertItem, opts calgate.UpsertOptions) (*calgate.BulkResult, error)
	Workspace(ctx context.Context, id string) (*calgate.Workspace, error)
}

// Deps are what subscriptions work with: the store, the client that
// fetches feeds, the queue of polls and the metrics hook.
type Deps struct {
	Store Store
	// Client fetches feeds: the hardened outbound client, capped at
	// MaxFeedBytes with FetchTimeout.
	Client *http.Client
	// Jobs enqueues the polls the sweep claims.
	Jobs calgate.Jobs
	// Resolver checks URL hosts (nil: net.DefaultResolver).
	Resolver *net.Resolver
	// Notify wakes the outbox dispatcher after a poll wrote changes.
	Notify func()
	// OnPoll, when set, is told the outcome of every poll: "updated",
	// "not_modified" or "error" (for metrics).
	OnPoll func(outcome string)
	Logger *slog.Logger
}

// Options are a Service's settings; zero values take the defaults.
type Options struct {
	// AllowPrivate lets subscription URLs name private and loopback hosts.
	AllowPrivate bool
	// Horizon is how far ahead recurrences are expanded (0: one year).
	Horizon time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Service manages subscriptions and polls them.
type Service struct {
	d Deps
	o Options
}

// New returns a Service.
func New(d Deps, o Options) *Service {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Horizon <= 0 {
		o.Horizon = ical.DefaultHorizon
	}
	if d.Notify == nil {
		d.Notify = func() {}
	}
	if d.OnPoll == nil {
		d.OnPoll = func(string) {}
	}
	return &Service{d: d, o: o}
}

// Register plugs the poll job and the sweep that finds due polls into
// the queue.
func (s *Service) Register(r calgate.Registry) {
	r.HandleJob(JobType, calgate.Policy{MaxRetry: 3, Timeout: 2 * time.Minute}, s.HandleJob)
	r.Every("ical-subscriptions-sweep", SweepInterval, s.Sweep)
}

// Sweep claims the subscriptions that are due and enqueues one poll job
// for each. It runs in every worker: the claim in the database makes each
// due poll go to one of them, and the job id (subscription and due time)
// drops duplicates in the queue.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	due, err := s.d.Store.ClaimDueSubscriptions(ctx, now, now.Add(PollLease), sweepBatch)
	return calgate.EnqueueDue(ctx, s.d.Jobs, JobType, due, err, (*calgate.Subscription).DueRow)
}

func (s *Service) now() time.Time { return s.o.Now().UTC().Truncate(time.Microsecond) }

// Input is a subscription's settings as given by a request; nil fields are
// not set (defaults on create, unchanged on update).
type Input struct {
	Name         *string
	URL          *string
	Kind         *calgate.Kind
	Resource     *string
	PollInterval *time.Duration
}

// ParsePollInterval reads a poll interval given as a Go duration string
// ("15m", "1h30m") or as a number of seconds (900 or "900").
func ParsePollInterval(raw json.RawMessage) (time.Duration, error) {
	var n float64
	if err := json.Unmarshal(raw, &n); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}
	var str string
	if err := json.Unmarshal(raw, &str); err != nil {
		return 0, calgate.Invalid("poll_interval", "must be a duration such as \"15m\" or a number of seconds")
	}
	str = strings.TrimSpace(str)
	if secs, err := strconv.ParseFloat(str, 64); err == nil {
		return time.Duration(secs * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(str)
	if err != nil {
		return 0, calgate.Invalid("poll_interval", "%q is not a duration such as \"15m\" or a number of seconds", str)
	}
	return d, nil
}

// normalizeURL accepts webcal:// links (as calendar apps publish them) as
// https:// and checks the URL against the outbound address rules.
func (s *Service) normalizeURL(ctx context.Context, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", calgate.Invalid("url", "is required")
	}
	if v := (&calgate.ValidationError{}); !v.Line("url", raw, calgate.MaxURLLength) {
		return "", v
	}
	if rest, ok := cutPrefixFold(raw, "webcal://"); ok {
		raw = "https://" + rest
	}
	if err := outbound.CheckURL(ctx, raw, s.o.AllowPrivate, s.d.Resolver); err != nil {
		var ae *outbound.AddressError
		if errors.As(err, &ae) {
			return "", calgate.Invalid("url", "%s", ae.Reason)
		}
		return "", fmt.Errorf("subscriptions: check url: %w", err)
	}
	return raw, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// apply validates in and writes it into sub; it reports which settings
// changed the feed's content (url, kind, resource).
func (s *Service) apply(ctx context.Context, sub *calgate.Subscription, in Input, create bool) (refetch bool, err error) {
	v := &calgate.ValidationError{}
	if in.URL != nil || create {
		raw := ""
		if in.URL != nil {
			raw = *in.URL
		}
		u, err := s.normalizeURL(ctx, raw)
		var ve *calgate.ValidationError
		switch {
		case errors.As(err, &ve):
			v.Errors = append(v.Errors, ve.Errors...)
		case err != nil:
			return false, err
		case u != sub.URL:
			sub.URL, refetch = u, true
			sub.ETag, sub.LastModified = "", ""
		}
	}
	if in.Kind != nil {
		if !in.Kind.Valid() {
			v.Add("kind", "must be reservation, job or production_window")
		} else if *in.Kind != sub.Kind {
			sub.Kind, refetch = *in.Kind, true
		}
	} else if create {
		sub.Kind = calgate.KindReservation
	}
	if in.Resource != nil || create {
		r := ""
		if in.Resource != nil {
			r = strings.TrimSpace(*in.Resource)
		}
		switch {
		case r == "":
			v.Add("resource", "is required: the resource the feed's events block")
		case !v.Line("resource", r, calgate.MaxIDLength):
			// The entries a poll writes carry it: it obeys their limit.
		case r != sub.Resource:
			sub.Resource, refetch = r, true
		}
	}
	if in.PollInterval != nil {
		d := *in.PollInterval
		switch {
		case d < MinPollInterval:
			v.Add("poll_interval", "must be at least %s", MinPollInterval)
		case d > MaxPollInterval:
			v.Add("poll_interval", "must be at most %s", MaxPollInterval)
		default:
			sub.PollInterval = d.Truncate(time.Second)
		}
	} else if create {
		sub.PollInterval = DefaultPollInterval
	}
	if in.Name != nil {
		sub.Name = strings.TrimSpace(*in.Name)
		v.Line("name", sub.Name, calgate.MaxDisplayNameLength)
	}
	if sub.Name == "" && sub.URL != "" {
		if u, err := url.Parse(sub.URL); err == nil {
			sub.Name = calgate.Truncate(u.Hostname(), calgate.MaxDisplayNameLength)
		}
	}
	if refetch {
		// Validators belong to the old request; the next fetch is a full one.
		sub.ETag, sub.LastModified = "", ""
	}
	return refetch, v.Err()
}

// Create stores a subscription and polls it at once, in the request: the
// answer shows the first poll's outcome. A feed that fails is no error
// here; the subscription is kept in state error with the reason.
func (s *Service) Create(ctx context.Context, workspaceID, actor string, in Input) (*calgate.Subscription, error) {
	now := s.now()
	sub := &calgate.Subscription{ID: calgate.NewID("sub"), WorkspaceID: workspaceID, State: calgate.SubscriptionPending,
		CreatedAt: now, UpdatedAt: now}
	if _, err := s.apply(ctx, sub, in, true); err != nil {
		return nil, err
	}
	sub.NextPollAt = now.Add(sub.PollInterval)
	if err := s.d.Store.CreateSubscription(ctx, sub); err != nil {
		return nil, fmt.Errorf("subscriptions: create: %w", err)
	}
	return s.poll(ctx, sub, actor)
}

// Get returns one subscription of the workspace.
func (s *Service) Get(ctx context.Context, workspaceID, id string) (*calgate.Subscription, error) {
	return s.d.Store.Subscription(ctx, workspaceID, id)
}

// List lists the workspace's subscriptions.
func (s *Service) List(ctx context.Context, workspaceID, cursor string, limit int) ([]*calgate.Subscription, string, error) {
	return s.d.Store.Subscriptions(ctx, workspaceID, cursor, limit)
}

// Update changes a subscription's settings. A new url, kind or resource
// polls the feed at once (a new kind first archives the entries of the old
// one); a new interval reschedules the next poll.
func (s *Service) Update(ctx context.Context, workspaceID, id, actor string, in Input) (*calgate.Subscription, error) {
	sub, err := s.d.Store.Subscription(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	oldKind, oldInterval := sub.Kind, sub.PollInterval
	refetch, err := s.apply(ctx, sub, in, false)
	if err != nil {
		return nil, err
	}
	now := s.now()
	sub.UpdatedAt = now
	if sub.PollInterval != oldInterval {
		sub.NextPollAt = now.Add(sub.PollInterval)
	}
	if err := s.d.Store.UpdateSubscriptionSettings(ctx, sub); err != nil {
		return nil, fmt.Errorf("subscriptions: update %s: %w", id, err)
	}
	if sub.Kind != oldKind {
		if err := s.archive(ctx, workspaceID, actor, oldKind, sub.Source()); err != nil {
			return nil, err
		}
	}
	if refetch {
		return s.poll(ctx, sub, actor)
	}
	return sub, nil
}

// Delete removes a subscription and archives every entry it wrote.
func (s *Service) Delete(ctx context.Context, workspaceID, id, actor string) error {
	sub, err := s.d.Store.Subscription(ctx, workspaceID, id)
	if err != nil {
		return err
	}
	if err := s.d.Store.DeleteSubscription(ctx, workspaceID, id); err != nil {
		return fmt.Errorf("subscriptions: delete %s: %w", id, err)
	}
	return s.archive(ctx, workspaceID, actor, sub.Kind, sub.Source())
}

// archive archives every live entry of a kind and source: an empty
// snapshot.
func (s *Service) archive(ctx context.Context, workspaceID, actor string, kind calgate.Kind, source string) error {
	res, err := s.d.Store.Upsert(ctx, workspaceID, actor, nil, calgate.UpsertOptions{Sync: &calgate.SyncScope{Kind: kind, Source: source}})
	if err != nil {
		return fmt.Errorf("subscriptions: archive %s entries of %s: %w", kind, source, err)
	}
	if res.Archived > 0 {
		s.d.Notify()
	}
	return nil
}

// PollNow polls a subscription at once and returns it with the outcome.
func (s *Service) PollNow(ctx context.Context, workspaceID, id, actor string) (*calgate.Subscription, error) {
	sub, err := s.d.Store.Subscription(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	return s.poll(ctx, sub, actor)
}
