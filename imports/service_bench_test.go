package imports_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports"
)

const benchTemplate = `{"name": "bench-bookings", "kind": "reservation", "direction": "import", "input": "table",
 "columns": {"Booking": "external_id", "Room": "resource", "Guest": "title", "Start": "start", "End": "end"},
 "fields": {"source": {"const": "bench"}}}`

// csvSource generates a CSV file of n rows on the fly, so the benchmark's
// input takes no memory of its own.
type csvSource struct {
	n, i int
	buf  []byte
}

func (c *csvSource) Read(p []byte) (int, error) {
	for len(c.buf) < len(p) && c.i <= c.n {
		if c.i == 0 {
			c.buf = append(c.buf, "Booking,Room,Guest,Start,End,Note\n"...)
		} else {
			c.buf = fmt.Appendf(c.buf, "b%d,Room %d,Guest %d,2025-07-01 09:00,2025-07-01 10:00,note %d\n", c.i, c.i%50, c.i, c.i)
		}
		c.i++
	}
	if len(c.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

func openBench(b *testing.B) (*imports.Service, *calgate.Workspace) {
	svc, _, ws := openService(b, 0, benchTemplate)
	return svc, ws
}

// peakHeap samples the heap in use while fn runs.
func peakHeap(fn func()) uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	fn()
	close(done)
	return peak.Load()
}

func BenchmarkImportCSV100k(b *testing.B) {
	const rows = 100_000
	for b.Loop() {
		b.StopTimer()
		svc, ws := openBench(b)
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		var rep *imports.Report
		peak := peakHeap(func() {
			var err error
			rep, err = svc.ImportRows(context.Background(), ws, "bench-bookings", "bench", &csvSource{n: rows}, imports.ImportOptions{})
			if err != nil {
				b.Fatal(err)
			}
		})
		if rep.Created != rows {
			b.Fatalf("created %d of %d (%d failed: %v)", rep.Created, rows, rep.Failed, rep.Errors[:min(3, len(rep.Errors))])
		}
		b.ReportMetric(rows/time.Since(start).Seconds(), "rows/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		if rss, ok := peakRSS(); ok {
			b.ReportMetric(rss, "peak-rss-MB")
		}
	}
}

// peakRSS returns the process's peak resident memory so far (Linux only):
// the Go heap with the collector's headroom, SQLite's page cache and the
// test binary itself, so an upper bound of what the import needs.
func peakRSS() (float64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				return 0, false
			}
			return float64(kb) / 1024, true
		}
	}
	return 0, false
}

func BenchmarkImportOrder10kTasks(b *testing.B) {
	var tasks []string
	for i := range 10_000 {
		tasks = append(tasks, fmt.Sprintf(`{"id": %d, "cost_centre_name": "CC %d", "activity_name": "Step %d", "production_start": "2025-09-20 08:00:00", "production_end": "2025-09-20 16:00:00"}`, i+1, i%20, i))
	}
	doc := []byte(`{"id": 1, "project_no": "P-1", "positions": [{"id": 1, "pos_no": 1, "tasks": [` + strings.Join(tasks, ",") + `]}]}`)
	for b.Loop() {
		b.StopTimer()
		svc, ws := openBench(b)
		b.StartTimer()
		start := time.Now()
		rep, err := svc.ImportJSON(context.Background(), ws, "planningnow-order", "bench", doc, imports.ImportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Created != 10_000 {
			b.Fatalf("created %d (%d failed)", rep.Created, rep.Failed)
		}
		b.ReportMetric(10_000/time.Since(start).Seconds(), "tasks/s")
	}
}
