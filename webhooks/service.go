package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calgate/calgate"
)

// Sealer encrypts secrets at rest (vault.Vault implements it).
type Sealer interface {
	Seal(plaintext []byte) string
	Open(sealed string) ([]byte, error)
}

// EventAppender writes events that are not entry changes (the store).
type EventAppender interface {
	AppendEvent(ctx context.Context, ev *calgate.Event) error
}

// Defaults of Options.
const (
	DefaultConcurrency   = 8
	DefaultDisableAfter  = 120 * time.Hour
	DefaultSweepInterval = 5 * time.Second
	DefaultTimeout       = 15 * time.Second
	// DefaultRetention is how long the delivery log keeps a message that
	// succeeded or failed.
	DefaultRetention = 30 * 24 * time.Hour
	// PurgeInterval is how often the delivery log is purged.
	PurgeInterval = time.Hour
	// RotationOverlap is how long the old secret keeps signing after a
	// rotation.
	RotationOverlap = 24 * time.Hour
)

// Deps are what webhooks work with: endpoints and deliveries in the
// store, sealed secrets, the client deliveries go through, metrics.
type Deps struct {
	Store  calgate.WebhookStore
	Events EventAppender
	Jobs   calgate.Jobs
	Sealer Sealer
	// Client is the hardened outbound client deliveries go through.
	Client *http.Client
	// Resolver looks up hosts at registration (nil: the system's).
	Resolver *net.Resolver
	// Notify wakes the outbox dispatcher after an event is written.
	Notify func()
	Logger *slog.Logger
	// Metrics, when set, counts deliveries and their latency.
	Metrics *Metrics
}

// Options are a Service's settings; zero values take the defaults.
type Options struct {
	// AllowPrivate lets endpoints point at internal addresses (the
	// deployment's CALGATE_ALLOW_PRIVATE_TARGETS).
	AllowPrivate bool
	// Concurrency bounds the calls in flight to one endpoint (default 8).
	Concurrency int
	// DisableAfter disables an endpoint failing that long (default 120 h).
	DisableAfter time.Duration
	// RetryScale multiplies the retry schedule (default 1; tests use a
	// small fraction). Retry-After waits are never scaled.
	RetryScale float64
	// Timeout bounds one call (default 15 s); a claim lasts a little longer.
	Timeout time.Duration
	// Overdue is how late a pending delivery must be before the sweep
	// enqueues it again (default 5 s).
	Overdue time.Duration
	// SweepInterval is how often the sweep looks for overdue deliveries
	// (default DefaultSweepInterval).
	SweepInterval time.Duration
	// Retention is how long a message that succeeded or failed stays in
	// the delivery log, with its attempts and its event's body (default
	// DefaultRetention); pending messages stay until they are sent.
	Retention time.Duration
}

// Service manages endpoints and delivers events to them. It is the
// webhooks destination of the queue.
type Service struct {
	d      Deps
	o      Options
	logger *slog.Logger

	mu    sync.Mutex
	slots map[string]*slot
	cache map[string]cachedEndpoint
	succ  successes
}

// slot is an endpoint's concurrency limit.
type slot struct {
	ch    chan struct{}
	users int
	// freed is when a call of the endpoint last gave its slot back, in
	// Unix nanoseconds.
	freed atomic.Int64
}

type cachedEndpoint struct {
	w       *calgate.Webhook
	secrets [][]byte
	at      time.Time
}

// endpointCacheTTL bounds how stale the worker's view of an endpoint's
// URL, secrets and state may be.
const endpointCacheTTL = time.Second

// New returns a Service working with d, configured by o.
func New(d Deps, o Options) *Service {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.DisableAfter <= 0 {
		o.DisableAfter = DefaultDisableAfter
	}
	if o.RetryScale <= 0 {
		o.RetryScale = 1
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Overdue <= 0 {
		o.Overdue = 5 * time.Second
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	return &Service{d: d, o: o, logger: d.Logger, slots: map[string]*slot{}, cache: map[string]cachedEndpoint{}}
}

// endpoint returns an endpoint with its opened secrets, from a cache
// refreshed every second.
func (s *Service) endpoint(ctx context.Context, id string) (*calgate.Webhook, [][]byte, error) {
	now := time.Now()
	s.mu.Lock()
	c, ok := s.cache[id]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < endpointCacheTTL {
		return c.w, c.secrets, nil
	}
	w, err := s.d.Store.WebhookByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	secrets, err := s.openSecrets(w, now)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	s.cache[id] = cachedEndpoint{w: w, secrets: secrets, at: now}
	s.mu.Unlock()
	return w, secrets, nil
}

// forget drops an endpoint from the cache after a change.
func (s *Service) forget(id string) {
	s.mu.Lock()
	delete(s.cache, id)
	s.mu.Unlock()
}

// openSecrets decrypts the secrets still in force at now, current first.
func (s *Service) openSecrets(w *calgate.Webhook, now time.Time) ([][]byte, error) {
	var keys [][]byte
	for _, sec := range w.Secrets {
		if sec.ExpiresAt != nil && !now.Before(*sec.ExpiresAt) {
			continue
		}
		plain, err := s.d.Sealer.Open(sec.Sealed)
		if err != nil {
			return nil, fmt.Errorf("webhooks: open secret of %s: %w", w.ID, err)
		}
		key, err := DecodeSecret(string(plain))
		if err != nil {
			return nil, fmt.Errorf("webhooks: secret of %s: %w", w.ID, err)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// acquire takes one of an endpoint's call slots, waiting at most wait;
// release gives it back (calling it again does nothing). A fast endpoint frees a slot within milliseconds,
// while a slow one costs its callers no more than wait.
func (s *Service) acquire(ctx context.Context, endpointID string, wait time.Duration) (release func(), ok bool) {
	return s.take(ctx, endpointID, wait, time.Time{})
}

// acquireWhileAnswering is acquire for an endpoint that may be busy rather
// than slow: it waits on for as long as the endpoint keeps ending calls,
// and gives up once none of its calls ended within idle, or at deadline.
// An endpoint that answers in milliseconds but has all its slots taken by
// other batches is waited for; one whose calls hang is left after idle.
func (s *Service) acquireWhileAnswering(ctx context.Context, endpointID string, idle time.Duration, deadline time.Time) (release func(), ok bool) {
	return s.take(ctx, endpointID, idle, deadline)
}

// take is acquire, and with a deadline acquireWhileAnswering.
func (s *Service) take(ctx context.Context, endpointID string, wait time.Duration, deadline time.Time) (release func(), ok bool) {
	s.mu.Lock()
	sl := s.slots[endpointID]
	if sl == nil {
		sl = &slot{ch: make(chan struct{}, s.o.Concurrency)}
		s.slots[endpointID] = sl
	}
	sl.users++
	s.mu.Unlock()
	done := func() {
		s.mu.Lock()
		sl.users--
		if sl.users == 0 {
			delete(s.slots, endpointID)
		}
		s.mu.Unlock()
	}
	// release may be called more than once; only the first call counts.
	release = sync.OnceFunc(func() {
		sl.freed.Store(time.Now().UnixNano())
		<-sl.ch
		done()
	})
	select {
	case sl.ch <- struct{}{}:
		return release, true
	default:
	}
	first := wait
	if !deadline.IsZero() {
		first = min(wait, time.Until(deadline))
	}
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case sl.ch <- struct{}{}:
			return release, true
		case <-ctx.Done():
		case now := <-t.C:
			if idle := now.Sub(time.Unix(0, sl.freed.Load())); !deadline.IsZero() && now.Before(deadline) && idle < wait {
				// A call ended within wait: the endpoint is answering.
				t.Reset(min(wait-idle, deadline.Sub(now)))
				continue
			}
		}
		done()
		return nil, false
	}
}

// retryDelay is the wait before attempt number next, scaled, with jitter.
func (s *Service) retryDelay(next int) (time.Duration, bool) {
	d, ok := NextDelay(next, rand.Float64)
	return time.Duration(float64(d) * s.o.RetryScale), ok
}

// body builds the Standard Webhooks body of an event.
func (s *Service) body(ev *calgate.Event) (json.RawMessage, error) {
	m, err := NewMessage("", string(ev.Type), ev.CreatedAt, ev.WireData())
	if err != nil {
		return nil, err
	}
	return m.Body, nil
}

// notFoundOr maps a missing endpoint to calgate.ErrNotFound.
func notFoundOr(err error) error {
	if errors.Is(err, calgate.ErrNotFound) {
		return calgate.ErrNotFound
	}
	return err
}
