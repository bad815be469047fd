package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHTTPSingleUpsert measures one new entry per request through the
// whole HTTP handler (auth, validation, store, conflict check, event), on
// both engines: "spread" jobs each in an hour of their own, as a planned
// workstage receives them, and "overlapping" jobs all in the same hour on
// one workstage of capacity 1, so that each write is a double booking of
// every earlier one.
func BenchmarkHTTPSingleUpsert(b *testing.B) {
	for _, e := range engines() {
		for _, shape := range []string{"spread", "overlapping"} {
			b.Run(e.name+"/"+shape, func(b *testing.B) {
				g := startBenchGateway(b, e)
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				base := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
				var n atomic.Int64
				// 16 clients per core: an ERP pushing changes from many threads.
				b.SetParallelism(16)
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := n.Add(1)
						at := base
						if shape == "spread" {
							at = base.Add(time.Duration(i) * time.Hour)
						}
						body := fmt.Sprintf(`{"external_id":"job-%d","workstage":"Weld","order":"O-1","start":%q,"end":%q}`,
							i, at.Format(time.RFC3339), at.Add(time.Hour).Format(time.RFC3339))
						req, _ := http.NewRequest("POST", g.URL+"/v1/jobs", bytes.NewBufferString(body))
						req.Header.Set("Authorization", "Bearer "+g.Token)
						req.Header.Set("Content-Type", "application/json")
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						resp.Body.Close()
						if resp.StatusCode != http.StatusCreated {
							b.Errorf("status %d", resp.StatusCode)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
			})
		}
	}
}

// BenchmarkHTTPBulkUpsert10k measures a bulk request of 10,000 new entries
// through the HTTP handler, events and history included.
func BenchmarkHTTPBulkUpsert10k(b *testing.B) {
	for _, e := range engines() {
		b.Run(e.name, func(b *testing.B) {
			g := startBenchGateway(b, e)
			var elapsed time.Duration
			for n := 0; n < b.N; n++ {
				// A plan: each job in an hour of its own on one workstage, so the
				// double-booking check runs and finds nothing. (The same 10,000
				// jobs in one hour are a crowd in which every job double-books
				// every other; /overlapping of BenchmarkHTTPSingleUpsert
				// measures that case.)
				items := make([]map[string]any, 10000)
				first := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n*10000) * time.Hour)
				for i := range items {
					start := first.Add(time.Duration(i) * time.Hour)
					items[i] = map[string]any{"external_id": fmt.Sprintf("b%d-%d", n, i), "workstage": "Weld", "order": "O-1",
						"start": start.Format(time.RFC3339), "end": start.Add(time.Hour).Format(time.RFC3339), "attributes": map[string]any{"line": i}}
				}
				body, _ := json.Marshal(map[string]any{"items": items})
				req, _ := http.NewRequest("POST", g.URL+"/v1/jobs/bulk", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+g.Token)
				req.Header.Set("Content-Type", "application/json")
				start := time.Now()
				resp, err := http.DefaultClient.Do(req)
				elapsed += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				var res map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
				if res["created"] != float64(10000) {
					b.Fatalf("bulk: %d %v", resp.StatusCode, res["errors"])
				}
				g.analyze(b)
			}
			b.ReportMetric(float64(b.N*10000)/elapsed.Seconds(), "entries/s")
		})
	}
}
