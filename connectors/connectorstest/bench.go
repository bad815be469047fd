package connectorstest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// BenchmarkPushes runs an application's "connector" and
// "connector-parallel" benchmarks: whole pushes (claim, read the entry,
// render it, the application's calls with their log, save the link) of
// b.N entries, one at a time and from 8 goroutines on 2 cores, reported
// in pushes/s; every entry must be pushed at the end. connect returns a
// harness and a connected connector whose fake has its limits off.
func BenchmarkPushes(b *testing.B, connect func(b *testing.B) (*Harness, *calgate.Connector)) {
	prepare := func(b *testing.B) (func(i int), func()) {
		h, c := connect(b)
		entries := make([]*calgate.Entry, b.N)
		for i := range entries {
			entries[i] = h.Entry(b, c.ID, Reservation(fmt.Sprintf("r%d", i), "Booking"))
		}
		return func(i int) {
				if _, err := h.Service.Push(context.Background(), c.ID, entries[i].ID, ""); err != nil {
					b.Fatal(err)
				}
			}, func() {
				for _, e := range entries {
					if l := h.Link(b, c.ID, e.ID); l.Owed() {
						b.Fatalf("entry %s not pushed: %s", e.ID, l.LastError)
					}
				}
			}
	}
	b.Run("connector", func(b *testing.B) {
		push, check := prepare(b)
		b.ResetTimer()
		start := time.Now()
		for i := range b.N {
			push(i)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pushes/s")
		b.StopTimer()
		check()
	})
	b.Run("connector-parallel", func(b *testing.B) {
		push, check := prepare(b)
		var next atomic.Int64
		b.ResetTimer()
		start := time.Now()
		b.SetParallelism(4) // 8 goroutines on 2 cores
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				push(int(next.Add(1) - 1))
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pushes/s")
		b.StopTimer()
		check()
	})
}
