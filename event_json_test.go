package calgate

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

func TestEventWireData(t *testing.T) {
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	job := &Entry{ID: "ent_1", Kind: KindJob, Source: "api", ExternalID: "J-1", Resource: "Welding", Start: at, End: at.Add(time.Hour),
		Timezone: "UTC", Status: StatusConfirmed, Version: 2, CreatedAt: at, UpdatedAt: at}
	tests := []struct {
		name string
		ev   *Event
		want string
	}{
		{"entry event without a diff", &Event{Type: EventEntryUpdated, Kind: KindJob, Entry: job},
			`{"kind":"job","entry":{"workstage":"Welding","version":2},"diff":{}}`},
		{"entry event with its diff", &Event{Type: EventEntryRescheduled, Kind: KindJob, Entry: job, Diff: FieldDiff{"start": {From: "a", To: "b"}}},
			`{"kind":"job","entry":{"external_id":"J-1"},"diff":{"start":{"from":"a","to":"b"}}}`},
		{"other event keeps its data", &Event{Type: EventWebhookDisabled, Data: json.RawMessage(`{"webhook_id":"wh_1"}`)}, `{"webhook_id":"wh_1"}`},
		{"no data is an empty object", &Event{Type: EventWebhookTest}, `{}`},
	}
	for _, tt := range tests {
		var got, want map[string]any
		if err := json.Unmarshal(tt.ev.WireData(), &got); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		_ = json.Unmarshal([]byte(tt.want), &want)
		if !holds(got, want) {
			t.Errorf("%s: data = %s, want it to hold %s", tt.name, tt.ev.WireData(), tt.want)
		}
	}
	w := (&Event{ID: 42, Position: 7, Type: EventEntryCreated, Kind: KindJob, Entry: job, CreatedAt: at.In(time.FixedZone("X", 3600)), Actor: "erp/tok_1"}).Wire()
	if w.ID != "evt_42" || w.Position != 7 || w.CreatedAt.Location() != time.UTC || w.Actor != "erp/tok_1" || len(w.Data) == 0 {
		t.Errorf("Wire() = %+v", w)
	}
}

// holds reports whether got holds every key of want with its value,
// looking into nested objects.
func holds(got, want map[string]any) bool {
	for k, wv := range want {
		gv, ok := got[k]
		if !ok {
			return false
		}
		if wm, ok := wv.(map[string]any); ok {
			gm, ok := gv.(map[string]any)
			if !ok || !holds(gm, wm) {
				return false
			}
			continue
		}
		if gv != wv {
			return false
		}
	}
	return true
}

// TestWireFieldsAreTheWireForm checks the table of wire fields against
// what an entry of each kind renders, and that a create parses every
// writable field of the table.
func TestWireFieldsAreTheWireForm(t *testing.T) {
	for _, k := range Kinds {
		e := &Entry{ID: "ent_1", Kind: k, Source: "api", ExternalID: "X", Resource: "R", Start: time.Now(), Timezone: "UTC", Status: StatusConfirmed}
		var rendered map[string]any
		data, _ := json.Marshal(e)
		if err := json.Unmarshal(data, &rendered); err != nil {
			t.Fatal(err)
		}
		var names []string
		required := 0
		for _, f := range WireFields(k) {
			names = append(names, f.Name)
			if f.Required {
				required++
			}
			if _, ok := rendered[f.Name]; !ok {
				t.Errorf("%s: the table lists %s, which the wire form lacks", k, f.Name)
			}
		}
		for name := range rendered {
			if !slices.Contains(names, name) {
				t.Errorf("%s: the wire form has %s, which the table lacks", k, name)
			}
		}
		if required != 3 {
			t.Errorf("%s: %d required fields, want external_id, start and %s", k, required, k.ResourceField())
		}
	}
}
