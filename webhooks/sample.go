package webhooks

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/calgate/calgate"
)

func encodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// sampleTime is the fixed moment of sample payloads, so that they are
// stable for field mapping.
var sampleTime = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

// sampleEvent builds a realistic event of type t: a job on a workstage for
// entry events, the documented data object for the others.
func (s *Service) sampleEvent(t calgate.EventType, workspaceID string) (*calgate.Event, error) {
	if !calgate.ValidEventType(t) {
		return nil, calgate.Invalid("event", "%q is not an event type", t)
	}
	ev := &calgate.Event{ID: 4711, Position: 4711, WorkspaceID: workspaceID, Type: t, Actor: "integration/tok_sample", CreatedAt: sampleTime}
	switch t {
	case calgate.EventWebhookTest:
		ev.Data = json.RawMessage(`{"webhook_id":"wh_sample","message":"This is a test message from calgate."}`)
		ev.CreatedAt = time.Now().UTC()
		return ev, nil
	case calgate.EventWebhookDisabled:
		ev.Data = json.RawMessage(`{"webhook_id":"wh_sample","url":"https://hooks.example.com/calgate","reason":"the endpoint answered 410 Gone"}`)
		return ev, nil
	case calgate.EventImportFailed:
		ev.Data = json.RawMessage(`{"import_id":"imp_sample","template":"skyplanner-order","error":"line 12: start: not a date"}`)
		return ev, nil
	case calgate.EventConnectorDisconnected:
		ev.Data = json.RawMessage(`{"connector_id":"con_sample","type":"xero","name":"Accounts","reason":"the vendor refused the refresh token (invalid_grant)","pending":3}`)
		return ev, nil
	}
	loc, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, loc)
	e := &calgate.Entry{
		ID: "ent_sample", WorkspaceID: workspaceID, Kind: calgate.KindJob, Source: "skyplanner", ExternalID: "J-1042",
		Title: "Welding – PROJ-2026-Q4 / ART-001", Start: start, End: start.Add(4 * time.Hour), Timezone: "Europe/Berlin",
		Status: calgate.StatusConfirmed, Resource: "Welding", Details: calgate.Details{Order: "PROJ-2026-Q4", OrderItem: "10", Product: "ART-001"},
		Version: 2, CreatedAt: sampleTime.Add(-time.Hour), UpdatedAt: sampleTime,
	}
	ev.Kind, ev.EntryID, ev.Entry = e.Kind, e.ID, e
	prevStart := start.Add(-24 * time.Hour).Format(time.RFC3339)
	switch t {
	case calgate.EventEntryCreated:
		e.Version = 1
		ev.Diff = calgate.Diff(nil, e)
	case calgate.EventEntryRescheduled:
		ev.Diff = calgate.FieldDiff{"start": {From: prevStart, To: start.Format(time.RFC3339)},
			"end": {From: start.Add(-20 * time.Hour).Format(time.RFC3339), To: start.Add(4 * time.Hour).Format(time.RFC3339)}}
	case calgate.EventEntryCancelled:
		e.Status = calgate.StatusCancelled
		ev.Diff = calgate.FieldDiff{"status": {From: "confirmed", To: "cancelled"}}
	case calgate.EventEntryArchived:
		at := sampleTime
		e.ArchivedAt = &at
		ev.Diff = calgate.FieldDiff{"archived_at": {From: nil, To: at.Format(time.RFC3339Nano)}}
	case calgate.EventEntryRestored:
		ev.Diff = calgate.FieldDiff{"archived_at": {From: sampleTime.Add(-time.Hour).Format(time.RFC3339Nano), To: nil}}
	default:
		ev.Diff = calgate.FieldDiff{"title": {From: "Welding – PROJ-2026-Q4", To: e.Title}}
	}
	return ev, nil
}

// Sample returns the body a delivery of an event of type t carries, built
// by the same code as real deliveries, for automation platforms' field
// mapping.
func (s *Service) Sample(t calgate.EventType) (json.RawMessage, error) {
	ev, err := s.sampleEvent(t, "ws_sample")
	if err != nil {
		return nil, err
	}
	body, err := s.body(ev)
	if err != nil {
		return nil, fmt.Errorf("webhooks: sample %s: %w", t, err)
	}
	return body, nil
}
