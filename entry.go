package calgate

import (
	"bytes"
	"encoding/json"
	"reflect"
	"time"
)

// Kind is the type of a calendar entry.
type Kind string

// The three kinds of entries.
const (
	KindReservation      Kind = "reservation"
	KindJob              Kind = "job"
	KindProductionWindow Kind = "production_window"
)

// Kinds lists every kind in a stable order.
var Kinds = []Kind{KindReservation, KindJob, KindProductionWindow}

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool {
	return k == KindReservation || k == KindJob || k == KindProductionWindow
}

// ResourceField is the name of the field that holds an entry's resource:
// resource for reservations, workstage for jobs, cost_centre for production
// windows.
func (k Kind) ResourceField() string {
	switch k {
	case KindJob:
		return "workstage"
	case KindProductionWindow:
		return "cost_centre"
	default:
		return "resource"
	}
}

// Status is the state of an entry.
type Status string

// Entry states.
const (
	StatusTentative Status = "tentative"
	StatusConfirmed Status = "confirmed"
	StatusCancelled Status = "cancelled"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == StatusTentative || s == StatusConfirmed || s == StatusCancelled
}

// Customer is the booker of a reservation.
type Customer struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Entry is one calendar entry: a reservation, a job or a production window.
//
// Start and End are instants. For all-day entries they are midnight, in the
// entry's time zone, of the first day and of the day after the last
// (end exclusive).
type Entry struct {
	ID          string
	WorkspaceID string
	Kind        Kind
	Source      string
	ExternalID  string
	Title       string
	Description string
	Location    string
	Start       time.Time
	End         time.Time
	AllDay      bool
	Timezone    string
	Status      Status
	// Resource holds the kind's resource field (resource, workstage or
	// cost_centre).
	Resource string
	// Details are the kind-specific fields.
	Details
	// Attributes is a free JSON object, kept as given.
	Attributes json.RawMessage
	// Document names the whole document the entry last came in (an order
	// sent whole), empty for entries sent on their own. It is not content:
	// an upsert that names a document archives the document's other
	// entries (UpsertOptions.Documents).
	Document   string
	Version    int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ArchivedAt *time.Time
}

// Details are an entry's kind-specific fields.
type Details = details[string]

// wireDetails are the same fields as sent: text as *string, so that a
// field sent empty is told from one not sent (a field of another kind is
// refused even empty). The other fields are pointers already.
type wireDetails = details[*string]

// details are the kind-specific fields, and the table of them: each
// field's tags give its wire name (json), the kinds it belongs to (kinds)
// and, for text, its length limit (max, MaxIDLength when absent; text is
// one line) or, for a number, its least value (min); doc describes it in
// the OpenAPI document. The wire form, validation, the content diff, the
// store (one JSON value), the OpenAPI schemas, import and export
// templates, CSV columns, the console and webhook samples all read the
// fields from here, so a new kind-specific field is its line here.
//
// A field is text (T: string in an entry, *string as sent), a number
// (*int) or an object with its own rules (*Customer).
type details[T string | *string] struct {
	Customer  *Customer `json:"customer,omitempty" kinds:"reservation" doc:"the booker"`
	Quantity  *int      `json:"quantity,omitempty" kinds:"reservation" min:"0" doc:"how many are booked: persons, units"`
	Order     T         `json:"order,omitempty" kinds:"job production_window" doc:"the order the entry belongs to"`
	OrderItem T         `json:"order_item,omitempty" kinds:"job" doc:"the order's item"`
	Product   T         `json:"product,omitempty" kinds:"job" doc:"the product made"`
	Position  T         `json:"position,omitempty" kinds:"production_window" doc:"the order's position"`
	Activity  T         `json:"activity,omitempty" kinds:"production_window" doc:"the activity planned"`
}

// Stored returns the details as stored: an empty customer is none.
func (d details[T]) Stored() details[T] {
	if d.Customer != nil && *d.Customer == (Customer{}) {
		d.Customer = nil
	}
	return d
}

// Same reports whether two entries' details hold the same values (an
// empty customer counting as none).
func (d details[T]) Same(o details[T]) bool {
	return reflect.DeepEqual(d.Stored(), o.Stored())
}

// Archived reports whether the entry is soft-deleted.
func (e *Entry) Archived() bool { return e.ArchivedAt != nil }

// Loc returns the entry's time zone, UTC when it cannot be loaded.
func (e *Entry) Loc() *time.Location {
	if loc, err := LoadZone(e.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// Clone returns a deep copy of the entry.
func (e *Entry) Clone() *Entry {
	c := *e
	c.Details.clone()
	if e.Attributes != nil {
		c.Attributes = append(json.RawMessage(nil), e.Attributes...)
	}
	if e.ArchivedAt != nil {
		a := *e.ArchivedAt
		c.ArchivedAt = &a
	}
	return &c
}

// Overlaps reports whether the entry overlaps [from, to); a zero bound is
// open.
func (e *Entry) Overlaps(from, to time.Time) bool {
	if !from.IsZero() && !e.End.After(from) {
		return false
	}
	if !to.IsZero() && !e.Start.Before(to) {
		return false
	}
	return true
}

// SameContent reports whether a and b carry the same user-visible content,
// ignoring identity, version and bookkeeping times. An upsert of the same
// content writes nothing.
func SameContent(a, b *Entry) bool {
	return len(Diff(a, b)) == 0
}

// Change is the before and after value of one field.
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// FieldDiff maps field names (as in the wire form) to their change.
type FieldDiff map[string]Change

// Diff returns the field-level difference between two versions of an entry,
// keyed by wire field names. A nil old entry yields every set field as new.
func Diff(old, cur *Entry) FieldDiff {
	var before map[string]any
	if old != nil {
		before = old.contentFields()
	}
	after := cur.contentFields()
	d := FieldDiff{}
	for k, v := range after {
		var prev any
		if before != nil {
			prev = before[k]
		}
		if !sameValue(prev, v) {
			d[k] = Change{From: prev, To: v}
		}
	}
	for k, v := range before {
		if _, ok := after[k]; !ok && v != nil {
			d[k] = Change{From: v, To: nil}
		}
	}
	return d
}

func sameValue(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// contentFields lists the fields that make up an entry's content under
// their wire names; nil values mean "not set".
func (e *Entry) contentFields() map[string]any {
	m := map[string]any{
		"title":                nz(e.Title),
		"description":          nz(e.Description),
		"location":             nz(e.Location),
		"start":                e.wireTime(e.Start),
		"end":                  e.wireTime(e.End),
		"all_day":              e.AllDay,
		"timezone":             e.Timezone,
		"status":               string(e.Status),
		e.Kind.ResourceField(): nz(e.Resource),
	}
	var archived any
	if e.ArchivedAt != nil {
		archived = e.ArchivedAt.UTC().Format(time.RFC3339Nano)
	}
	m["archived_at"] = archived
	if len(e.Attributes) > 0 && !bytes.Equal(bytes.TrimSpace(e.Attributes), []byte("{}")) {
		m["attributes"] = canonicalJSON(e.Attributes)
	} else {
		m["attributes"] = nil
	}
	e.Details.content(e.Kind, m)
	return m
}

func nz(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// canonicalJSON decodes raw JSON into generic values so that key order and
// spacing do not count as a change.
func canonicalJSON(raw json.RawMessage) any {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	return v
}
