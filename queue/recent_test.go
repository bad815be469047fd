package queue

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	calgate "github.com/calgate/calgate"
)

func TestRecentBatchesKeepTheNewestAndHandOutCopies(t *testing.T) {
	r := newRecentBatches(2)
	ev := func(pos int64) []*calgate.Event {
		return []*calgate.Event{{ID: pos, Position: pos, Type: calgate.EventEntryCreated}}
	}
	first := ev(1)
	r.add(0, 1, first)
	r.add(1, 2, ev(2))
	r.add(2, 3, ev(3))
	if _, ok := r.get(0, 1); ok {
		t.Fatal("the oldest range was kept beyond the capacity")
	}
	for _, k := range []rangeKey{{1, 2}, {2, 3}} {
		got, ok := r.get(k.after, k.through)
		if !ok || len(got) != 1 || got[0].Position != k.through {
			t.Fatalf("range %v: got %v, %v", k, got, ok)
		}
	}
	r2 := newRecentBatches(2)
	r2.add(0, 1, first)
	got, _ := r2.get(0, 1)
	if got[0] == first[0] {
		t.Fatal("get handed out the cached event itself, not a copy")
	}
}

// The destinations' batches of one range start together: however many
// want it at once, the range is read once, and each gets its own copies.
func TestRecentBatchesReadARangeOnceForEveryoneWaitingOnIt(t *testing.T) {
	r := newRecentBatches(4)
	var reads atomic.Int32
	release := make(chan struct{})
	read := func() ([]*calgate.Event, error) {
		reads.Add(1)
		<-release // every other caller arrives while this read is under way
		return []*calgate.Event{{ID: 7, Position: 7, Type: calgate.EventEntryCreated}}, nil
	}
	const n = 4
	got := make([][]*calgate.Event, n)
	var started, wg sync.WaitGroup
	for i := range n {
		started.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			evs, err := r.load(6, 7, read)
			if err != nil {
				t.Error(err)
			}
			got[i] = evs
		}()
	}
	started.Wait()
	for reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the others reach load meanwhile
	close(release)
	wg.Wait()
	if reads.Load() != 1 {
		t.Fatalf("the range was read %d times, want once", reads.Load())
	}
	for i := range n {
		if len(got[i]) != 1 || got[i][0].Position != 7 {
			t.Fatalf("caller %d got %v", i, got[i])
		}
		for j := range i {
			if got[i][0] == got[j][0] {
				t.Fatal("two callers share one event value")
			}
		}
	}
	// A failed read is not remembered: the next caller reads again.
	fail := errors.New("database away")
	if _, err := r.load(7, 8, func() ([]*calgate.Event, error) { return nil, fail }); !errors.Is(err, fail) {
		t.Fatalf("err = %v", err)
	}
	if _, err := r.load(7, 8, func() ([]*calgate.Event, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
}
