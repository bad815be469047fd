package calgate

import (
	"encoding/json"
	"strconv"
	"time"
)

// EventWire is the wire form of an event: in the change feed, in webhook
// payloads (as the Standard Webhooks "data" and "type") and in samples.
// The doc tags describe the fields in the OpenAPI document.
type EventWire struct {
	ID        string          `json:"id" doc:"stable id, for de-duplication"`
	Position  int64           `json:"position" doc:"the place in the change feed"`
	Type      EventType       `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Actor     string          `json:"actor,omitempty" doc:"user/token id, or system:<what>"`
	Data      json.RawMessage `json:"data" doc:"entry events: {kind, entry, diff}; others: their own object"`
}

// EntryEventData is the data of an entry event: the entry after the change
// (in its kind's wire form) and the field diff.
type EntryEventData struct {
	Kind  Kind      `json:"kind"`
	Entry *Entry    `json:"entry"`
	Diff  FieldDiff `json:"diff"`
}

// EventID is the public id of an event ("evt_" and its number), stable
// across deliveries, for de-duplication.
func EventID(id int64) string { return "evt_" + strconv.FormatInt(id, 10) }

// Wire returns the event's wire form.
func (ev *Event) Wire() EventWire {
	return EventWire{ID: EventID(ev.ID), Position: ev.Position, Type: ev.Type, CreatedAt: ev.CreatedAt.UTC(), Actor: ev.Actor, Data: ev.WireData()}
}

// WireData returns the event's data object: {kind, entry, diff} for entry
// events, the data written with the event for the others, {} when there is
// none.
func (ev *Event) WireData() json.RawMessage {
	if ev.Entry != nil {
		diff := ev.Diff
		if diff == nil {
			diff = FieldDiff{}
		}
		data, err := json.Marshal(EntryEventData{Kind: ev.Kind, Entry: ev.Entry, Diff: diff})
		if err == nil {
			return data
		}
	}
	if len(ev.Data) > 0 {
		return ev.Data
	}
	return json.RawMessage("{}")
}
