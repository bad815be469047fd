package calgate

import (
	"context"
	"encoding/json"
	"time"
)

// Record is a document of another system kept as that system sent it: a
// PlanningNow order with its positions and tasks, a Skyplanner customer,
// order, order item, workstage or job. The compatibility surfaces keep
// records so that they can answer in the other system's shapes and derive
// entries again when a linked record changes. Records are written in the
// transaction of the entries they yield (UpsertOptions.Records) and never
// write events of their own: the entries' events tell the rest.
type Record struct {
	WorkspaceID string
	// Source names the system ("planningnow", "skyplanner").
	Source string
	// Type names the resource ("order", "customer", "phaser-job", …).
	Type string
	// ID is the record's id within its source and type (numeric text for
	// the ids calgate hands out).
	ID string
	// Body is the record as the other system shows it.
	Body json.RawMessage
	// Links name the records this one refers to, each as "type:id"
	// (LinkedRecords finds the records that link to one). They are
	// written with the record; reads leave them empty.
	Links []string
	// Version counts the record's writes. A write with Version 0 creates
	// the record (ErrConflict when it exists); a write with Version n
	// replaces version n (ErrConflict when the stored one is another).
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// Delete, on a write, removes the record instead.
	Delete bool `json:"-"`
}

// RecordLink is the "type:id" form of a link to a record.
func RecordLink(typ, id string) string { return typ + ":" + id }

// RecordFilter selects the records of one source and type.
type RecordFilter struct {
	// Cursor is the id after which to continue (in numeric order for
	// numeric ids); Limit caps the page.
	Cursor string
	Limit  int
}

// RecordStore keeps records. Writes go through EntryStore.Upsert with
// UpsertOptions.Records, so that a record and its entries change together.
type RecordStore interface {
	// Record returns one record (ErrNotFound when there is none).
	Record(ctx context.Context, workspaceID, source, typ, id string) (*Record, error)
	// Records lists the records of a source and type in id order and
	// returns the next page's cursor.
	Records(ctx context.Context, workspaceID, source, typ string, f RecordFilter) ([]*Record, string, error)
	// LinkedRecords lists the records of a source that link to link
	// ("type:id").
	LinkedRecords(ctx context.Context, workspaceID, source, link string) ([]*Record, error)
	// NextRecordID hands out the next free numeric id of a source and
	// type; ids written explicitly move the counter past them.
	NextRecordID(ctx context.Context, workspaceID, source, typ string) (int64, error)
}
