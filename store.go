package calgate

import (
	"context"
	"time"
)

// Store is everything the core keeps in the database. The store package
// implements it for PostgreSQL and SQLite.
type Store interface {
	WorkspaceStore
	EntryStore
	EventStore
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// WorkspaceStore keeps workspaces and tokens.
type WorkspaceStore interface {
	CreateWorkspace(ctx context.Context, ws *Workspace) error
	Workspace(ctx context.Context, id string) (*Workspace, error)
	WorkspaceByName(ctx context.Context, name string) (*Workspace, error)
	// CreateToken stores a token with the hash of its secret.
	CreateToken(ctx context.Context, t *Token, secretHash string) error
	// TokenByHash finds a live token by the hash of its secret.
	TokenByHash(ctx context.Context, secretHash string) (*Principal, error)
	Tokens(ctx context.Context, workspaceID string) ([]*Token, error)
	RevokeToken(ctx context.Context, workspaceID, id string) error
	TouchToken(ctx context.Context, id string, at time.Time) error
	CountTokens(ctx context.Context) (int, error)
}

// UpsertOptions control a bulk upsert.
type UpsertOptions struct {
	// Simulate runs everything but commits nothing.
	Simulate bool
	// Verbose lists every item's operation in the result.
	Verbose bool
	// StopOnError stops at the first failed item; items before it are kept.
	StopOnError bool
	// Sync, when set, archives every live entry of that kind and source that
	// the batch does not contain (a full snapshot).
	Sync *SyncScope
	// Documents lists documents sent whole in this batch (Entry.Document
	// of their items): every live entry of one of them that no item names
	// is archived, in the same transaction. Not run after a StopOnError
	// stop.
	Documents []string
	// Records are written (created, replaced or deleted) in the same
	// transaction, before the items; a version clash is ErrConflict and
	// writes nothing.
	Records []*Record
	// Return puts in the result of every item written or unchanged its
	// entry as stored (ItemResult.Entry), read back by the writes
	// themselves: a single write's answer needs no query of its own.
	Return bool
}

// SyncScope names the entries a snapshot import replaces.
type SyncScope struct {
	Kind   Kind
	Source string
}

// UpsertItem is one item of a bulk upsert: a parsed entry or the error that
// parsing it gave.
type UpsertItem struct {
	Entry *Entry
	Err   error
	// Ref names the item in reports (a CSV line, a record path); the index is
	// used when empty.
	Ref string
}

// Operations reported per item.
const (
	OpCreated   = "created"
	OpUpdated   = "updated"
	OpUnchanged = "unchanged"
	OpFailed    = "failed"
	OpArchived  = "archived"
	OpSkipped   = "skipped"
)

// ItemResult is the outcome of one item.
type ItemResult struct {
	Index      int          `json:"index"`
	Ref        string       `json:"ref,omitempty"`
	ExternalID string       `json:"external_id,omitempty"`
	Kind       Kind         `json:"kind,omitempty"`
	Operation  string       `json:"operation"`
	ID         string       `json:"id,omitempty"`
	Version    int64        `json:"version,omitempty"`
	Errors     []FieldError `json:"errors,omitempty"`
	Reason     string       `json:"reason,omitempty"`
	// Conflicts lists the entries the item's entry overlaps beyond its
	// resource's capacity: accepted with a warning, or the reason it
	// failed under the reject policy.
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// Entry is the entry as stored, with UpsertOptions.Return.
	Entry *Entry `json:"-"`
}

// BulkResult is the report of a bulk upsert or an import.
type BulkResult struct {
	Simulated  bool         `json:"simulated"`
	Created    int          `json:"created"`
	Updated    int          `json:"updated"`
	Unchanged  int          `json:"unchanged"`
	Failed     int          `json:"failed"`
	Archived   int          `json:"archived"`
	Skipped    int          `json:"skipped"`
	Errors     []ItemResult `json:"errors"`
	Operations []ItemResult `json:"operations,omitempty"`
	// Stopped is true when stop_on_error ended the run early.
	Stopped bool `json:"stopped"`
}

// Count adds one outcome to the totals (and to Errors and Operations).
func (r *BulkResult) Count(res ItemResult, verbose bool) {
	switch res.Operation {
	case OpCreated:
		r.Created++
	case OpUpdated:
		r.Updated++
	case OpUnchanged:
		r.Unchanged++
	case OpArchived:
		r.Archived++
	case OpSkipped:
		r.Skipped++
	case OpFailed:
		r.Failed++
		r.Errors = append(r.Errors, res)
	}
	if verbose {
		r.Operations = append(r.Operations, res)
	}
}

// EntryFilter selects entries. Zero values select everything.
type EntryFilter struct {
	Kinds      []Kind
	From, To   time.Time // overlap window
	Resources  []string
	Statuses   []Status
	Sources    []string
	ExternalID string
	Since      time.Time // updated after
	// IncludeArchived lists archived entries too.
	IncludeArchived bool
	// Cursor is the id after which to continue; Limit caps the page.
	Cursor string
	Limit  int
}

// Matches reports whether e passes the filter's content conditions (kinds,
// resources, statuses, sources, window; not paging).
func (f *EntryFilter) Matches(e *Entry) bool {
	if e == nil || (e.Archived() && !f.IncludeArchived) {
		return false
	}
	if len(f.Kinds) > 0 && !contains(f.Kinds, e.Kind) {
		return false
	}
	if len(f.Resources) > 0 && !contains(f.Resources, e.Resource) {
		return false
	}
	if len(f.Statuses) > 0 && !contains(f.Statuses, e.Status) {
		return false
	}
	if len(f.Sources) > 0 && !contains(f.Sources, e.Source) {
		return false
	}
	if f.ExternalID != "" && f.ExternalID != e.ExternalID {
		return false
	}
	if !f.Since.IsZero() && !e.UpdatedAt.After(f.Since) {
		return false
	}
	return e.Overlaps(f.From, f.To)
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// EntryStore keeps entries. Every change writes its event in the same
// transaction.
type EntryStore interface {
	// Upsert creates or updates entries by (kind, source, external_id) in
	// one transaction. Identical content writes nothing.
	Upsert(ctx context.Context, workspaceID, actor string, items []UpsertItem, opts UpsertOptions) (*BulkResult, error)
	// Mutate loads an entry, lets fn change it and writes the change with
	// its event. fn sees archived entries too. It returns the entry after
	// the change and the event type ("" when nothing changed).
	Mutate(ctx context.Context, workspaceID string, kind Kind, id, actor string, fn func(*Entry) error) (*Entry, EventType, error)
	// Entry returns one entry; archived ones only when includeArchived.
	Entry(ctx context.Context, workspaceID string, kind Kind, id string, includeArchived bool) (*Entry, error)
	// Entries lists entries in id order and returns the next page's cursor.
	Entries(ctx context.Context, workspaceID string, f EntryFilter) ([]*Entry, string, error)
}

// EventStore is the outbox and the change feed.
type EventStore interface {
	// Events lists sequenced events of a workspace.
	Events(ctx context.Context, workspaceID string, f EventFilter) ([]*Event, error)
	// Event returns one event by id.
	Event(ctx context.Context, id int64) (*Event, error)
	// AppendEvent writes an event that is not an entry change.
	AppendEvent(ctx context.Context, ev *Event) error
	// Sequence gives positions to committed events that have none, in
	// commit order, and reports how many it placed.
	Sequence(ctx context.Context) (int, error)
	OutboxStore
}

// OutboxStore records what each destination still owes, as batches of
// event positions, from the moment the events are handed to the queue
// until the destination has handled them.
type OutboxStore interface {
	// InitCursors starts the record of every destination not seen before
	// at the newest event: it owes what is written from now on.
	InitCursors(ctx context.Context, destinations []string) error
	// OpenBatches sequences committed events and, for every destination,
	// records the events it has not been handed yet as new batches of at
	// most size events, owed until due; it returns the new batches. A
	// destination seen for the first time starts after the newest event.
	OpenBatches(ctx context.Context, destinations []string, size int, due time.Time) ([]*Batch, error)
	// Batch returns an owed batch; ErrNotFound once it is done.
	Batch(ctx context.Context, id int64) (*Batch, error)
	// BatchEvents returns the events of a batch in position order.
	BatchEvents(ctx context.Context, b *Batch) ([]*Event, error)
	// CompleteBatch records that the destination handled the batch, except
	// the events at the positions in failed, which stay owed as new
	// batches due at retryAt with the error noted. It returns those.
	CompleteBatch(ctx context.Context, b *Batch, failed map[int64]error, retryAt time.Time) ([]*Batch, error)
	// ClaimOverdueBatches takes up to limit batches whose due time has
	// passed, moves their due time to due and counts the claim, so that of
	// several processes sweeping at once one hands each to the queue.
	ClaimOverdueBatches(ctx context.Context, now, due time.Time, limit int) ([]*Batch, error)
	// OwedWork summarises the owed batches of every destination.
	OwedWork(ctx context.Context) ([]Owed, error)
}
