package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	calgate "github.com/calgate/calgate"
)

// TestPutAndPatchAnswerTheirConflicts checks that the answers of PUT and
// PATCH carry the entry's double bookings as a POST's does, and leave the
// member out when there are none.
func TestPutAndPatchAnswerTheirConflicts(t *testing.T) {
	start := time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC)
	cf := calgate.Conflict{EntryID: "ent_other", Kind: calgate.KindJob, ExternalID: "J-9", Resource: "R1", Start: start, End: start.Add(30 * time.Minute)}
	for _, tc := range []struct {
		method, body string
	}{
		{http.MethodPut, `{"external_id":"E-id1","source":"api","workstage":"R1","start":"2026-03-02 08:00:00","end":"2026-03-02 09:00:00","title":"Weld"}`},
		{http.MethodPatch, `{"title":"Weld"}`},
	} {
		for _, with := range []bool{true, false} {
			g := newGateway(t)
			if with {
				g.store.conflicts = map[string][]calgate.Conflict{"id1": {cf}}
			}
			w := g.do(tc.method, "/v1/jobs/id1", tc.body)
			if w.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", tc.method, w.Code, w.Body)
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got["title"] != "Weld" || got["id"] != "id1" {
				t.Fatalf("%s: answer = %v", tc.method, got)
			}
			list, present := got["conflicts"].([]any)
			if !with {
				if _, ok := got["conflicts"]; ok {
					t.Fatalf("%s without conflicts: answer carries %v", tc.method, got["conflicts"])
				}
				continue
			}
			if !present || len(list) != 1 {
				t.Fatalf("%s: conflicts = %v", tc.method, got["conflicts"])
			}
			c := list[0].(map[string]any)
			if c["entry_id"] != "ent_other" || c["external_id"] != "J-9" || c["resource"] != "R1" || c["start"] != "2026-03-02T08:30:00Z" || c["end"] != "2026-03-02T09:00:00Z" {
				t.Fatalf("%s: conflict = %v", tc.method, c)
			}
		}
	}
}
