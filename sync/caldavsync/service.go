package caldavsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/sync/caldav"
)

// Job types the service registers.
const (
	// JobPush pushes one entry to one target (queued by earlier releases).
	JobPush = "caldav.push"
	// JobFlush writes a target's pending objects.
	JobFlush = "caldav.flush"
	// JobReconcile reconciles one target.
	JobReconcile = "caldav.reconcile"
)

// DefaultReconcileInterval is how often each target is reconciled.
const DefaultReconcileInterval = 15 * time.Minute

// Store is what the service needs from the database.
type Store interface {
	calgate.CalDAVStore
	Entry(ctx context.Context, workspaceID string, kind calgate.Kind, id string, includeArchived bool) (*calgate.Entry, error)
	Entries(ctx context.Context, workspaceID string, f calgate.EntryFilter) ([]*calgate.Entry, string, error)
}

// Sealer encrypts stored passwords (the gateway's vault).
type Sealer interface {
	Seal(plaintext []byte) string
	Open(sealed string) ([]byte, error)
}

// Deps are what CalDAV sync works with: targets and pending objects in
// the store, the client to the servers, sealed passwords.
type Deps struct {
	Store  Store
	Jobs   calgate.Jobs
	Sealer Sealer
	// Client reaches the CalDAV servers (the hardened outbound client).
	Client *http.Client
	// CheckURL, when set, refuses target URLs before any request (address
	// rules for user-supplied URLs).
	CheckURL func(ctx context.Context, rawURL string) error
	Logger   *slog.Logger
}

// Options are a Service's settings; zero values take the defaults.
type Options struct {
	// ReconcileInterval is how often each target is reconciled (default
	// DefaultReconcileInterval).
	ReconcileInterval time.Duration
	// PushLease is how long a flush may hold a pending object before the
	// sweep counts the flush as lost (default 30 s); SweepInterval is how
	// often every worker looks for such objects (default 5 s).
	PushLease     time.Duration
	SweepInterval time.Duration
	// Now returns the time (default time.Now).
	Now func() time.Time
}

// Service manages CalDAV targets, pushes changes and reconciles. It
// implements calgate.Destination.
type Service struct {
	deps Deps
	opts Options
	log  *slog.Logger

	mu sync.Mutex
	// conns bounds, per target, the writes this process has in flight, so
	// that flushes of one target side by side share its connections.
	conns map[string]chan struct{}
}

var _ calgate.Destination = (*Service)(nil)

// New returns the service.
func New(d Deps, o Options) *Service {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ReconcileInterval <= 0 {
		o.ReconcileInterval = DefaultReconcileInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PushLease <= 0 {
		o.PushLease = 30 * time.Second
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = 5 * time.Second
	}
	return &Service{deps: d, opts: o, log: d.Logger, conns: map[string]chan struct{}{}}
}

// Register plugs the destination, its jobs and the periodic
// reconciliation into the queue.
func (s *Service) Register(reg calgate.Registry) {
	reg.AddDestination(s)
	reg.HandleJob(JobPush, pushPolicy, s.runPush)
	reg.HandleJob(JobFlush, flushPolicy, s.runFlush)
	reg.Every("caldav.push-sweep", s.opts.SweepInterval, s.SweepPushes)
	reg.HandleJob(JobReconcile, calgate.Policy{MaxRetry: 10, Timeout: 30 * time.Minute}, s.runReconcile)
	reg.Every("caldav.reconcile", min(s.opts.ReconcileInterval, time.Minute), s.ReconcileDue)
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// client returns a client for the target's calendar.
func (s *Service) client(t *calgate.CalDAVTarget) (*caldav.Client, error) {
	pw, err := s.deps.Sealer.Open(t.SealedPassword)
	if err != nil {
		return nil, fmt.Errorf("caldavsync: target %s: password: %w", t.ID, err)
	}
	return caldav.New(s.deps.Client, t.CalendarURL, caldav.Credentials{Username: t.Username, Password: string(pw)})
}

// Create connects to the server, picks the calendar, stores the target and
// schedules its first reconciliation (which pushes what the filter
// selects). It returns the calendars found. Connection failures are
// *calgate.ValidationError naming url, username/password or calendar.
func (s *Service) Create(ctx context.Context, workspaceID string, in calgate.CalDAVTargetInput) (*calgate.CalDAVTarget, []calgate.CalDAVCalendar, error) {
	now := s.now()
	t := &calgate.CalDAVTarget{
		ID: calgate.NewID("cdt"), WorkspaceID: workspaceID, OnArchive: calgate.OnArchiveDelete,
		State: calgate.CalDAVStateOK, CreatedAt: now, UpdatedAt: now, ReconcileAt: now.Add(s.opts.ReconcileInterval),
	}
	v := &calgate.ValidationError{}
	if in.URL == nil || strings.TrimSpace(*in.URL) == "" {
		v.Add("url", "is required: the CalDAV server or calendar URL")
	}
	if in.Password == nil || *in.Password == "" {
		v.Add("password", "is required")
	}
	password := ""
	if in.Password != nil {
		password = *in.Password
	}
	applyInput(t, in, v)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	cals, err := s.connect(ctx, t, password)
	if err != nil {
		return nil, cals, err
	}
	t.SealedPassword = s.deps.Sealer.Seal([]byte(password))
	if err := s.deps.Store.CreateCalDAVTarget(ctx, t); err != nil {
		return nil, nil, err
	}
	s.scheduleReconcile(ctx, t.ID)
	return t, cals, nil
}

// Update changes a target. A new URL, username, password or calendar
// reconnects (and brings a target in state error back to ok); a changed
// filter or a resumed target is reconciled at once.
func (s *Service) Update(ctx context.Context, workspaceID, id string, in calgate.CalDAVTargetInput) (*calgate.CalDAVTarget, []calgate.CalDAVCalendar, error) {
	t, err := s.deps.Store.CalDAVTarget(ctx, workspaceID, id)
	if err != nil {
		return nil, nil, err
	}
	v := &calgate.ValidationError{}
	if in.URL != nil && strings.TrimSpace(*in.URL) == "" {
		v.Add("url", "must not be empty")
	}
	if in.Password != nil && *in.Password == "" {
		v.Add("password", "must not be empty")
	}
	applyInput(t, in, v)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	var cals []calgate.CalDAVCalendar
	if in.URL != nil || in.Username != nil || in.Password != nil || in.Calendar != nil {
		password := ""
		if in.Password != nil {
			password = *in.Password
		} else {
			pw, err := s.deps.Sealer.Open(t.SealedPassword)
			if err != nil {
				return nil, nil, fmt.Errorf("caldavsync: target %s: password: %w", t.ID, err)
			}
			password = string(pw)
		}
		if cals, err = s.connect(ctx, t, password); err != nil {
			return nil, cals, err
		}
		t.SealedPassword = s.deps.Sealer.Seal([]byte(password))
		if t.State == calgate.CalDAVStateError {
			t.State, t.LastError = calgate.CalDAVStateOK, ""
		}
	}
	if in.Paused != nil {
		switch {
		case *in.Paused:
			t.State = calgate.CalDAVStatePaused
		case t.State == calgate.CalDAVStatePaused:
			t.State = calgate.CalDAVStateOK
		}
	}
	t.UpdatedAt = s.now()
	if err := s.deps.Store.UpdateCalDAVTarget(ctx, t); err != nil {
		return nil, nil, err
	}
	if t.State == calgate.CalDAVStateOK {
		s.scheduleReconcile(ctx, t.ID)
	}
	return t, cals, nil
}

// Limits of a target's settings, in bytes, documented in the README.
const (
	MaxUsernameLength = 255
	MaxPasswordLength = 1024
	// MaxCalendarLength bounds the calendar's path or display name.
	MaxCalendarLength = 1024
)

// applyInput copies the optional settings of in onto t and checks them.
func applyInput(t *calgate.CalDAVTarget, in calgate.CalDAVTargetInput, v *calgate.ValidationError) {
	if in.URL != nil {
		t.URL = strings.TrimSpace(*in.URL)
		v.Line("url", t.URL, calgate.MaxURLLength)
	}
	if in.Username != nil {
		t.Username = *in.Username
		v.Line("username", t.Username, MaxUsernameLength)
	}
	if in.Password != nil {
		v.Line("password", *in.Password, MaxPasswordLength)
	}
	if in.Calendar != nil {
		t.CalendarHint = strings.TrimSpace(*in.Calendar)
		v.Line("calendar", t.CalendarHint, MaxCalendarLength)
	}
	if in.Kinds != nil {
		for i, k := range *in.Kinds {
			if !k.Valid() {
				v.Add(fmt.Sprintf("kinds[%d]", i), "must be reservation, job or production_window")
			}
		}
		t.Filter.Kinds = *in.Kinds
	}
	if in.Statuses != nil {
		for i, st := range *in.Statuses {
			if !st.Valid() {
				v.Add(fmt.Sprintf("statuses[%d]", i), "must be tentative, confirmed or cancelled")
			}
		}
		t.Filter.Statuses = *in.Statuses
	}
	if in.Resources != nil {
		t.Filter.Resources = *in.Resources
	}
	if in.Sources != nil {
		t.Filter.Sources = *in.Sources
	}
	v.FilterLists("", len(t.Filter.Kinds), t.Filter.Resources, len(t.Filter.Statuses), t.Filter.Sources)
	if in.OnArchive != nil {
		switch *in.OnArchive {
		case calgate.OnArchiveDelete, calgate.OnArchiveCancel:
			t.OnArchive = *in.OnArchive
		default:
			v.Add("on_archive", "must be delete or cancel")
		}
	}
}

// connect finds the calendar and sets the target's calendar URL and name.
func (s *Service) connect(ctx context.Context, t *calgate.CalDAVTarget, password string) ([]calgate.CalDAVCalendar, error) {
	if s.deps.CheckURL != nil {
		if err := s.deps.CheckURL(ctx, t.URL); err != nil {
			return nil, calgate.Invalid("url", "is refused: %v", err)
		}
	}
	cl, found, err := caldav.Connect(ctx, s.deps.Client, t.URL, caldav.Credentials{Username: t.Username, Password: password}, t.CalendarHint)
	cals := make([]calgate.CalDAVCalendar, 0, len(found))
	for _, c := range found {
		cals = append(cals, calgate.CalDAVCalendar{Path: c.Path, Name: c.Name, SupportsEvents: c.SupportsEvents})
	}
	if err != nil {
		return cals, connectError(err)
	}
	t.CalendarURL = cl.CalendarURL()
	t.CalendarName = cl.Calendar().Name
	return cals, nil
}

// connectError names the field a connection failure is about.
func connectError(err error) error {
	switch {
	case errors.Is(err, caldav.ErrUnauthorized):
		v := &calgate.ValidationError{}
		v.Add("password", "the server refused the username and password: %v", err)
		v.Add("username", "the server refused the username and password")
		return v
	case errors.Is(err, caldav.ErrNoCalendar):
		return calgate.Invalid("calendar", "%v", err)
	case errors.Is(err, caldav.ErrNotCalDAV):
		return calgate.Invalid("url", "is not a CalDAV server or calendar: %v", err)
	case caldav.IsRetryable(err):
		return calgate.Invalid("url", "the server could not be reached: %v", err)
	}
	return calgate.Invalid("url", "connecting failed: %v", err)
}

// Target returns a target with its backlog.
func (s *Service) Target(ctx context.Context, workspaceID, id string) (*calgate.CalDAVTarget, calgate.CalDAVBacklog, error) {
	t, err := s.deps.Store.CalDAVTarget(ctx, workspaceID, id)
	if err != nil {
		return nil, calgate.CalDAVBacklog{}, err
	}
	b, err := s.deps.Store.CalDAVBacklog(ctx, t.ID)
	return t, b, err
}

// Targets lists a workspace's targets.
func (s *Service) Targets(ctx context.Context, workspaceID string) ([]*calgate.CalDAVTarget, error) {
	return s.deps.Store.CalDAVTargets(ctx, workspaceID)
}

// Delete removes a target. The objects on the server stay.
func (s *Service) Delete(ctx context.Context, workspaceID, id string) error {
	return s.deps.Store.DeleteCalDAVTarget(ctx, workspaceID, id)
}

// Resync reconciles a target now and reports what changed.
func (s *Service) Resync(ctx context.Context, workspaceID, id string) (*calgate.ReconcileResult, error) {
	t, err := s.deps.Store.CalDAVTarget(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	if t.State == calgate.CalDAVStatePaused {
		return nil, fmt.Errorf("caldav target %s is paused: %w", id, calgate.ErrConflict)
	}
	if t.State == calgate.CalDAVStateError {
		return nil, fmt.Errorf("caldav target %s is in state error (%s); change its credentials first: %w", id, t.LastError, calgate.ErrConflict)
	}
	return s.Reconcile(ctx, t)
}

func (s *Service) scheduleReconcile(ctx context.Context, targetID string) {
	if err := s.deps.Jobs.Enqueue(ctx, calgate.Job{Type: JobReconcile, ID: targetID, Payload: []byte(targetID)}); err != nil {
		s.log.Warn("caldav: schedule reconciliation", "target", targetID, "err", err)
	}
}
