package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/calgate/calgate/connectors/connectorstest"
	"github.com/calgate/calgate/connectors/google/gcaltest"
	"github.com/calgate/calgate/connectors/microsoft/graphtest"
)

func benchCall(b *testing.B, g *testGateway, method, path string, body any) (int, []byte) {
	b.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, g.URL+path, r)
	req.Header.Set("Authorization", "Bearer "+g.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// benchConnect creates a calendar connector and consents through the fake
// and the gateway's callback.
func benchConnect(b *testing.B, g *testGateway, typ string) {
	b.Helper()
	status, data := benchCall(b, g, http.MethodPost, "/v1/connectors", map[string]any{"type": typ, "mapping": map[string]any{"calendar_name": "Bench"}})
	var created map[string]any
	if err := json.Unmarshal(data, &created); err != nil || status != http.StatusCreated {
		b.Fatalf("create: %d %s", status, data)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(created["authorize_url"].(string))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	if status, data = benchCall(b, g, http.MethodGet, back.Path+"?"+back.RawQuery, nil); status != http.StatusOK {
		b.Fatalf("callback: %d %s", status, data)
	}
}

// BenchmarkCalendarLatency measures how long one change takes from the
// request that commits it to the event showing the change at a local
// Google Calendar or Microsoft 365 (outbox, queue, push, the provider's
// call), one change at a time, spaced 150 ms apart so that calgate's own
// per-account budget (Google: 600 calls a minute) never holds a change
// back.
func BenchmarkCalendarLatency(b *testing.B) {
	day := time.Now().UTC().AddDate(0, 0, 7).Format("2006-01-02")
	vendors := []struct {
		name  string
		start func(b *testing.B) func(title string) bool
	}{
		{"google", func(b *testing.B) func(string) bool {
			gc := gcaltest.Start(b, gcaltest.Options{App: connectorstest.App{RedirectURI: redirectURI}, NoLimit: true})
			appEnv(b, "GOOGLE", gc.Options().App, gc.AuthURL(), gc.TokenURL(), gc.APIURL())
			return func(title string) bool {
				for _, c := range gc.Calendars() {
					if c.Summary == "Bench" {
						for _, ev := range gc.Events(c.ID) {
							if ev.Summary == title {
								return true
							}
						}
					}
				}
				return false
			}
		}},
		{"microsoft", func(b *testing.B) func(string) bool {
			ms := graphtest.Start(b, graphtest.Options{App: connectorstest.App{RedirectURI: redirectURI}, NoLimit: true})
			appEnv(b, "MICROSOFT", ms.Options().App, ms.AuthURL("common"), ms.TokenURL("common"), ms.APIURL())
			return func(title string) bool {
				for _, c := range ms.Calendars() {
					if c.Name == "Bench" {
						for _, ev := range ms.Events(c.ID) {
							if ev.Subject == title {
								return true
							}
						}
					}
				}
				return false
			}
		}},
	}
	for _, v := range vendors {
		for _, e := range engines() {
			b.Run(v.name+"/"+e.name, func(b *testing.B) {
				seen := v.start(b)
				b.Setenv("CALGATE_CONNECTOR_RECONCILE_INTERVAL", "1h")
				g := startBenchGateway(b, e)
				benchConnect(b, g, map[string]string{"google": "google_calendar", "microsoft": "microsoft_calendar"}[v.name])
				lat := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for i := range b.N + 1 {
					title := fmt.Sprintf("change %d", i)
					start := time.Now()
					status, data := benchCall(b, g, http.MethodPost, "/v1/reservations", map[string]any{"external_id": "lat", "resource": "Room 1",
						"title": title, "start": day + "T08:00:00Z", "end": day + "T09:00:00Z"})
					if status != http.StatusCreated && status != http.StatusOK {
						b.Fatalf("upsert: %d %s", status, data)
					}
					for !seen(title) {
						if time.Since(start) > 30*time.Second {
							b.Fatalf("%s never reached the calendar", title)
						}
						time.Sleep(200 * time.Microsecond)
					}
					if i > 0 { // the first one creates the entry and its event
						lat = append(lat, time.Since(start))
					}
					time.Sleep(time.Until(start.Add(150 * time.Millisecond)))
				}
				b.StopTimer()
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
				b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
				b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
				b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
