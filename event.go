package calgate

import (
	"encoding/json"
	"time"
)

// EventType names what happened.
type EventType string

// Event types. Entry events are written with the change in one transaction.
const (
	EventEntryCreated     EventType = "entry.created"
	EventEntryUpdated     EventType = "entry.updated"
	EventEntryRescheduled EventType = "entry.rescheduled"
	EventEntryCancelled   EventType = "entry.cancelled"
	EventEntryArchived    EventType = "entry.archived"
	EventEntryRestored    EventType = "entry.restored"
	EventWebhookTest      EventType = "webhook.test"
	EventWebhookDisabled  EventType = "webhook.disabled"
	EventImportFailed     EventType = "import.failed"
	// EventConnectorDisconnected is written when a vendor refuses a
	// connector's credentials (the connector needs to be connected again).
	EventConnectorDisconnected EventType = "connector.disconnected"
	// EventEntryConflicted is written when an entry comes to overlap others
	// on its resource beyond the resource's capacity (a double booking),
	// and EventEntryConflictResolved when it no longer does. They name the
	// entry and carry its conflicts in Data, not a snapshot.
	EventEntryConflicted       EventType = "entry.conflicted"
	EventEntryConflictResolved EventType = "entry.conflict_resolved"
)

// EntryEventTypes lists the event types an entry change can produce.
var EntryEventTypes = []EventType{
	EventEntryCreated, EventEntryUpdated, EventEntryRescheduled,
	EventEntryCancelled, EventEntryArchived, EventEntryRestored,
}

// AllEventTypes lists every event type.
var AllEventTypes = append(append([]EventType(nil), EntryEventTypes...),
	EventWebhookTest, EventWebhookDisabled, EventImportFailed, EventConnectorDisconnected,
	EventEntryConflicted, EventEntryConflictResolved)

// ValidEventType reports whether t is a known event type.
func ValidEventType(t EventType) bool {
	for _, k := range AllEventTypes {
		if k == t {
			return true
		}
	}
	return false
}

// Event is one change, written in the same transaction as the change itself
// (the outbox). Position orders the change feed; it is assigned when the
// event is sequenced after commit, so a reader paging by position never
// skips an event that committed late.
type Event struct {
	ID          int64
	Position    int64
	WorkspaceID string
	Type        EventType
	Kind        Kind   // for entry events
	EntryID     string // for entry events
	Entry       *Entry
	Diff        FieldDiff
	// Data carries the payload of non-entry events.
	Data      json.RawMessage
	Actor     string // token id, or "system:<what>"
	CreatedAt time.Time
}

// ClassifyChange names the event an entry change produces: created when
// there was no entry, then archived, restored, cancelled, rescheduled (start
// or end moved) and updated, in that order of precedence.
func ClassifyChange(old, cur *Entry, diff FieldDiff) EventType {
	switch {
	case old == nil:
		return EventEntryCreated
	case !old.Archived() && cur.Archived():
		return EventEntryArchived
	case old.Archived() && !cur.Archived():
		return EventEntryRestored
	case old.Status != StatusCancelled && cur.Status == StatusCancelled:
		return EventEntryCancelled
	}
	if _, ok := diff["start"]; ok {
		return EventEntryRescheduled
	}
	if _, ok := diff["end"]; ok {
		return EventEntryRescheduled
	}
	return EventEntryUpdated
}

// Previous reconstructs the entry as it was before the event from the
// entry after it and the diff. Destinations use it to tell whether an entry
// left their filter.
func (ev *Event) Previous() *Entry {
	if ev.Entry == nil || ev.Type == EventEntryCreated {
		return nil
	}
	prev := ev.Entry.Clone()
	for field, ch := range ev.Diff {
		prev.setWireField(field, ch.From)
	}
	return prev
}

// setWireField puts back the old value of one field named in a diff; only
// the fields filters look at need to be exact.
func (e *Entry) setWireField(field string, v any) {
	s, _ := v.(string)
	loc := e.Loc()
	switch field {
	case "status":
		e.Status = Status(s)
	case "resource", "workstage", "cost_centre":
		e.Resource = s
	case "source":
		e.Source = s
	case "title":
		e.Title = s
	case "start":
		if t, _, err := ParseTime(s, loc); err == nil {
			e.Start = t
		}
	case "end":
		if t, _, err := ParseTime(s, loc); err == nil {
			e.End = t
		}
	case "archived_at":
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			e.ArchivedAt = &t
		} else {
			e.ArchivedAt = nil
		}
	}
}

// EventFilter selects events of the change feed.
type EventFilter struct {
	After int64 // position
	Types []EventType
	Desc  bool
	Limit int
	// EntryID restricts to one entry's events (its history).
	EntryID string
}
