package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// BenchmarkHTTPAvailability100Resources is the store's
// BenchmarkAvailability100Resources as a user sees it: GET
// /v1/availability for 100 resources over one month, through the HTTP
// handler, in a workspace of 50,000 entries over six months.
func BenchmarkHTTPAvailability100Resources(b *testing.B) {
	const total, resources = 50000, 100
	for _, e := range engines() {
		b.Run(e.name, func(b *testing.B) {
			// The api role alone: the worker's fan-out of the 50,000
			// creations would run beside the questions (in production it
			// is another process).
			cfg := testConfig(b)
			e.configure(b, cfg)
			cfg.Log.Level = "error"
			g := startWithConfig(b, cfg, roleAPI)
			do := func(method, path string, body []byte, want int) []byte {
				b.Helper()
				var payload any
				if body != nil {
					payload = json.RawMessage(body)
				}
				status, out := benchCall(b, g, method, path, payload)
				if status != want {
					b.Fatalf("%s %s: %d %s", method, path, status, out)
				}
				return out
			}
			names := make([]string, resources)
			for i := range names {
				names[i] = fmt.Sprintf("stage-%03d", i)
				r, _ := json.Marshal(map[string]any{"name": names[i], "kind": "machine", "timezone": "Europe/Berlin", "working_hours": map[string]any{
					"mon": []any{map[string]string{"start": "06:00", "end": "22:00"}}, "tue": []any{map[string]string{"start": "06:00", "end": "22:00"}},
					"wed": []any{map[string]string{"start": "06:00", "end": "22:00"}}, "thu": []any{map[string]string{"start": "06:00", "end": "22:00"}},
					"fri": []any{map[string]string{"start": "06:00", "end": "22:00"}}}})
				do("POST", "/v1/resources", r, http.StatusCreated)
			}
			first := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)
			step := 182 * 24 * time.Hour / time.Duration(total/resources)
			items := make([]map[string]any, 0, 10000)
			for i := range total {
				s := first.Add(time.Duration(i/resources) * step).Truncate(time.Minute)
				items = append(items, map[string]any{"external_id": fmt.Sprintf("e-%06d", i), "workstage": names[i%resources], "order": "O-1",
					"start": s.Format(time.RFC3339), "end": s.Add(3 * time.Hour).Format(time.RFC3339)})
				if len(items) == cap(items) {
					body, _ := json.Marshal(map[string]any{"items": items})
					do("POST", "/v1/jobs/bulk", body, http.StatusOK)
					items = items[:0]
				}
			}
			g.analyze(b)
			path := "/v1/availability?resources=" + strings.Join(names, ",") + "&from=2025-11-01T00:00:00Z&to=2025-12-01T00:00:00Z&duration=PT2H"
			var body []byte
			for b.Loop() {
				body = do("GET", path, nil, http.StatusOK)
			}
			var res struct {
				Resources []struct {
					Busy []any `json:"busy"`
				} `json:"resources"`
			}
			if err := json.Unmarshal(body, &res); err != nil {
				b.Fatal(err)
			}
			busy := 0
			for _, r := range res.Resources {
				busy += len(r.Busy)
			}
			if busy == 0 {
				b.Fatal("no busy time found")
			}
			b.ReportMetric(float64(busy), "busy-intervals")
		})
	}
}
