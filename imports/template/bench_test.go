package template

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate/imports/sheet"
)

// peakHeap samples the live heap until stop is called and returns the
// highest value seen, in MB.
func peakHeap() (stop func() float64) {
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		peak = max(peak, ms.HeapAlloc)
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() float64 {
		close(done)
		wg.Wait()
		sample()
		return float64(peak) / (1 << 20)
	}
}

// writePlanyoCSV writes a Planyo report of n rows, semicolon-separated.
func writePlanyoCSV(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintln(bw, "Reservation ID;Resource name;First name;Last name;Email;Phone;Start time;End time;Quantity;Status;Notes")
	start := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	for i := range n {
		s := start.Add(time.Duration(i) * time.Hour)
		fmt.Fprintf(bw, "%d;Room %d;Anna;Schmidt %d;anna%d@example.de;+49 30 %07d;%s;%s;%d;Confirmed;\"note %d\"\n",
			100000+i, i%40, i, i, i, s.Format("2006-01-02 15:04:05"), s.Add(90*time.Minute).Format("2006-01-02 15:04:05"), 1+i%4, i)
	}
	return bw.Flush()
}

func BenchmarkCSV100k(b *testing.B) {
	const n = 100_000
	tp, err := LookupBuiltin("planyo-reservations")
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	stop := peakHeap()
	b.ResetTimer()
	begin := time.Now()
	for range b.N {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writePlanyoCSV(pw, n)) }()
		r, err := sheet.NewCSVReader(pr)
		if err != nil {
			b.Fatal(err)
		}
		rows := 0
		for {
			row, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tp.Parse(tp.MapRow(row), "Europe/Berlin"); err != nil {
				b.Fatalf("line %d: %v", row.Line, err)
			}
			rows++
		}
		if rows != n {
			b.Fatalf("read %d rows", rows)
		}
	}
	elapsed := time.Since(begin)
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(stop(), "peak-heap-MB")
}

// planningNowOrder builds one order of 100 positions with 100 tasks each.
func planningNowOrder() []byte {
	type task struct {
		ID         int    `json:"id"`
		CostCentre string `json:"cost_centre_name"`
		Activity   string `json:"activity_name"`
		MinRuest   string `json:"min_ruest"`
		Start      string `json:"production_start"`
		End        string `json:"production_end"`
	}
	type position struct {
		ID      int    `json:"id"`
		PosNo   int    `json:"pos_no"`
		Article string `json:"article_number"`
		Desc    string `json:"article_desc"`
		Amount  string `json:"amount"`
		Tasks   []task `json:"tasks"`
	}
	order := struct {
		ID        int        `json:"id"`
		Project   string     `json:"project_no"`
		Customer  int        `json:"customer_no"`
		Positions []position `json:"positions"`
	}{ID: 4711, Project: "PROJ-2025-Q4", Customer: 1234}
	start := time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC)
	for p := range 100 {
		pos := position{ID: p + 1, PosNo: p + 1, Article: fmt.Sprintf("ART-%03d", p), Desc: "Component", Amount: "50.00"}
		for k := range 100 {
			s := start.Add(time.Duration(p*100+k) * 30 * time.Minute)
			pos.Tasks = append(pos.Tasks, task{ID: 100000 + p*100 + k, CostCentre: fmt.Sprintf("Centre %d", k%12), Activity: "Welding",
				MinRuest: "30.00", Start: s.Format("2006-01-02 15:04:05"), End: s.Add(2 * time.Hour).Format("2006-01-02 15:04:05")})
		}
		order.Positions = append(order.Positions, pos)
	}
	data, _ := json.Marshal(order)
	return data
}

func BenchmarkOrder10kTasks(b *testing.B) {
	tp, err := LookupBuiltin("planningnow-order")
	if err != nil {
		b.Fatal(err)
	}
	doc := planningNowOrder()
	runtime.GC()
	stop := peakHeap()
	b.ResetTimer()
	begin := time.Now()
	for range b.N {
		ps, err := tp.MapJSON(doc)
		if err != nil {
			b.Fatal(err)
		}
		if len(ps) != 10_000 {
			b.Fatalf("%d entries", len(ps))
		}
		for _, p := range ps {
			if _, err := tp.Parse(p, "Europe/Berlin"); err != nil {
				b.Fatalf("%s: %v", p.Ref, err)
			}
		}
	}
	elapsed := time.Since(begin)
	b.StopTimer()
	b.ReportMetric(float64(10_000*b.N)/elapsed.Seconds(), "tasks/s")
	b.ReportMetric(stop(), "peak-heap-MB")
	b.ReportMetric(float64(len(doc))/(1<<20), "doc-MB")
}
