package calgate

import (
	"context"
	"time"
)

// CalDAV target states.
const (
	// CalDAVStateOK means changes are pushed.
	CalDAVStateOK = "ok"
	// CalDAVStateError means the server refused the credentials; pushes stop
	// until they change.
	CalDAVStateError = "error"
	// CalDAVStatePaused means a user paused the target.
	CalDAVStatePaused = "paused"
)

// What a CalDAV target does with an entry that is archived.
const (
	// OnArchiveDelete deletes the object from the calendar.
	OnArchiveDelete = "delete"
	// OnArchiveCancel keeps the object, marked STATUS:CANCELLED.
	OnArchiveCancel = "cancel"
)

// CalDAV object states: whether calgate's object is on the server.
const (
	// CalDAVObjectPresent means calgate put the object on the server.
	CalDAVObjectPresent = "present"
	// CalDAVObjectAbsent means the object is not (or no longer) there.
	CalDAVObjectAbsent = "absent"
)

// CalDAVFilter selects the entries a CalDAV target receives, like a
// feed's filter. Empty lists select everything.
type CalDAVFilter struct {
	Kinds     []Kind   `json:"kinds"`
	Resources []string `json:"resources"`
	Statuses  []Status `json:"statuses"`
	Sources   []string `json:"sources"`
}

// EntryFilter returns the entry filter of f.
func (f CalDAVFilter) EntryFilter() EntryFilter {
	return EntryFilter{Kinds: f.Kinds, Resources: f.Resources, Statuses: f.Statuses, Sources: f.Sources}
}

// CalDAVTarget is a remote calendar that entries are pushed to.
type CalDAVTarget struct {
	ID          string
	WorkspaceID string
	// URL is what the user gave; CalendarURL the calendar chosen on it.
	URL          string
	CalendarURL  string
	CalendarName string
	// CalendarHint is the calendar the user asked for (path or name).
	CalendarHint string
	Username     string
	// SealedPassword is the password encrypted by the vault. It is never
	// shown.
	SealedPassword string
	Filter         CalDAVFilter
	OnArchive      string
	State          string
	LastError      string
	LastSuccessAt  *time.Time
	Conflicts      int64
	// ReconcileAt is when the next periodic reconciliation is due.
	ReconcileAt time.Time
	// SyncToken is the calendar's sync-collection token as of the last
	// reconciliation; empty when there is none. SyncTokenAt is when it was
	// asked for: objects calgate wrote after that are in the server's
	// changes since the token, or gone. SetCalDAVSyncToken writes both;
	// UpdateCalDAVTarget keeps them unless the calendar URL changes.
	SyncToken   string
	SyncTokenAt *time.Time
	// PushAttempts counts the flushes in a row that found the server
	// failing; PushRetryAt, while set, holds the target's pushes off until
	// that backoff ends.
	PushAttempts int
	PushRetryAt  *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// CalDAVWant is an entry version wanted in a target.
type CalDAVWant struct {
	TargetID string
	EntryID  string
	Name     string
	Version  int64
}

// CalDAVObject is what calgate knows of one entry's object in one target.
type CalDAVObject struct {
	TargetID string
	EntryID  string
	// Name is the object's name in the calendar, stable per entry.
	Name string
	ETag string
	// PushedVersion is the entry version the server holds (or whose
	// deletion it saw); WantedVersion the newest version events announced.
	PushedVersion int64
	WantedVersion int64
	State         string
	// PendingSince is when the object fell behind; nil when in sync.
	PendingSince *time.Time
	UpdatedAt    time.Time
}

// CalDAVBacklog is how far a target is behind.
type CalDAVBacklog struct {
	// Pending counts objects whose wanted version is not pushed yet.
	Pending int
	// Oldest is when the oldest pending change was announced.
	Oldest *time.Time
}

// ReconcileResult reports what a reconciliation changed on the server.
type ReconcileResult struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Deleted   int `json:"deleted"`
	Unchanged int `json:"unchanged"`
	Conflicts int `json:"conflicts"`
	Failed    int `json:"failed"`
}

// CalDAVStore keeps CalDAV targets and the objects pushed to them.
type CalDAVStore interface {
	CreateCalDAVTarget(ctx context.Context, t *CalDAVTarget) error
	// CalDAVTarget returns a target; an empty workspaceID finds it in any
	// workspace (workers).
	CalDAVTarget(ctx context.Context, workspaceID, id string) (*CalDAVTarget, error)
	CalDAVTargets(ctx context.Context, workspaceID string) ([]*CalDAVTarget, error)
	// UpdateCalDAVTarget writes the target's settings, credentials and
	// state.
	UpdateCalDAVTarget(ctx context.Context, t *CalDAVTarget) error
	DeleteCalDAVTarget(ctx context.Context, workspaceID, id string) error
	// RecordCalDAVOutcome notes a push or reconciliation: success (err
	// empty) or the reason of a failure; state, when not empty, replaces
	// the target's state. conflicts is added to the count.
	RecordCalDAVOutcome(ctx context.Context, id, state, lastError string, at time.Time, conflicts int) error
	// ClaimCalDAVReconcile returns targets due for reconciliation and moves
	// their next time to next, claiming each with a compare-and-swap so
	// that one worker of several gets it.
	ClaimCalDAVReconcile(ctx context.Context, now, next time.Time, limit int) ([]*CalDAVTarget, error)
	// SetCalDAVSyncToken stores the sync-collection token a reconciliation
	// ended with and when it was asked for (token empty: none, the next
	// reconciliation lists everything).
	SetCalDAVSyncToken(ctx context.Context, id, token string, at time.Time) error

	// WantCalDAVObject records that an entry's version is wanted in a
	// target (the wanted version only grows).
	WantCalDAVObject(ctx context.Context, targetID, entryID, name string, version int64, at time.Time) error
	// WantCalDAVObjects is WantCalDAVObject for many objects at once.
	WantCalDAVObjects(ctx context.Context, wants []CalDAVWant, at time.Time) error
	// ClaimCalDAVPushes takes up to limit pending objects of a target that
	// no flush holds, until leaseUntil, oldest first.
	ClaimCalDAVPushes(ctx context.Context, targetID string, now, leaseUntil time.Time, limit int) ([]*CalDAVObject, error)
	// LeaseCalDAVPushes moves the claims on objects of a target to until;
	// nil gives them back unpushed.
	LeaseCalDAVPushes(ctx context.Context, targetID string, entryIDs []string, until *time.Time) error
	// CalDAVTargetsOwingPushes lists targets in state ok, not backing off,
	// with objects pending since before a time that no flush holds.
	CalDAVTargetsOwingPushes(ctx context.Context, pendingBefore, now time.Time, limit int) ([]string, error)
	// SetCalDAVPushRetry records a target's push backoff (retryAt nil:
	// none).
	SetCalDAVPushRetry(ctx context.Context, targetID string, attempts int, retryAt *time.Time) error
	// CalDAVObject returns one object; ErrNotFound when none was recorded.
	CalDAVObject(ctx context.Context, targetID, entryID string) (*CalDAVObject, error)
	CalDAVObjects(ctx context.Context, targetID string) ([]*CalDAVObject, error)
	// SaveCalDAVObject records a push: name, etag, state and pushed
	// version. The pushed version never goes back.
	SaveCalDAVObject(ctx context.Context, o *CalDAVObject) error
	CalDAVBacklog(ctx context.Context, targetID string) (CalDAVBacklog, error)
}

// CalDAVCalendar is a calendar found on a CalDAV server.
type CalDAVCalendar struct {
	Path           string `json:"path"`
	Name           string `json:"name"`
	SupportsEvents bool   `json:"supports_events"`
}

// CalDAVTargetInput is what a user sets on a target; nil fields are left
// as they are (on update) or take their default (on create).
type CalDAVTargetInput struct {
	URL       *string   `json:"url"`
	Username  *string   `json:"username"`
	Password  *string   `json:"password"`
	Calendar  *string   `json:"calendar"`
	Kinds     *[]Kind   `json:"kinds"`
	Resources *[]string `json:"resources"`
	Statuses  *[]Status `json:"statuses"`
	Sources   *[]string `json:"sources"`
	OnArchive *string   `json:"on_archive"`
	Paused    *bool     `json:"paused"`
}
