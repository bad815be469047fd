package caldav_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/calgate/calgate/sync/caldav"
	"github.com/calgate/calgate/sync/caldav/caldavtest"
)

// putWorkers is how many clients write at once.
const putWorkers = 8

// BenchmarkRadicalePut measures creates per second through Client.Put with
// 8 parallel writers (client-puts/s) and, in the same run, the server's own
// rate for unconditional raw PUTs from the same plain http.Client
// (raw-puts/s).
func BenchmarkRadicalePut(b *testing.B) {
	s := caldavtest.StartRadicale(b)
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: putWorkers}}
	// Radicale slows down as a calendar grows, so each side writes to a
	// fresh calendar of its own.
	clientCal := s.NewCalendar(b, fmt.Sprintf("bench-client-%d", b.N), "Client", "VEVENT")
	rawCal := s.NewCalendar(b, fmt.Sprintf("bench-raw-%d", b.N), "Raw", "VEVENT")
	cl, _, err := caldav.Connect(b.Context(), hc, clientCal, caldav.Credentials{Username: s.Username, Password: s.Password}, "")
	if err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	clientRate := parallelRate(b, func(i int) error {
		uid := fmt.Sprintf("bench-client-%d", i)
		_, err := cl.Put(b.Context(), uid+".ics", fixture(b, "event.ics", uid), "")
		return err
	})
	rawRate := parallelRate(b, func(i int) error {
		uid := fmt.Sprintf("bench-raw-%d", i)
		return s.Put(b.Context(), hc, rawCal+uid+".ics", fixture(b, "event.ics", uid))
	})
	b.StopTimer()
	b.ReportMetric(clientRate, "client-puts/s")
	b.ReportMetric(rawRate, "raw-puts/s")
}

// parallelRate runs put b.N times over putWorkers goroutines and returns
// the rate per second.
func parallelRate(b *testing.B, put func(i int) error) float64 {
	start := time.Now()
	if err := caldavtest.Parallel(putWorkers, b.N, put); err != nil {
		b.Fatal(err)
	}
	return float64(b.N) / time.Since(start).Seconds()
}
