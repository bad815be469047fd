package microsoft_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors/connectorstest"
	"github.com/calgate/calgate/connectors/microsoft/graphtest"
)

// BenchmarkPush measures whole pushes (claim, read the entry, render it,
// create the event through Graph with its log, save the link)
// into a local Microsoft 365 mailbox with its limits off, on SQLite: one at a
// time, and from 8 goroutines.
func BenchmarkPush(b *testing.B) {
	prepare := func(b *testing.B) (func(i int), func()) {
		h, _, c := setup(b, "sqlite", graphtest.Options{NoLimit: true}, "")
		entries := make([]*calgate.Entry, b.N)
		for i := range entries {
			entries[i] = h.Entry(b, c.ID, connectorstest.Reservation(fmt.Sprintf("r%d", i), "Booking"))
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
		b.SetParallelism(4)
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
