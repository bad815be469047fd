package queue

import (
	"testing"

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
