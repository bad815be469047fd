package queue

import (
	"sync"

	calgate "github.com/calgate/calgate"
)

// recentBatches keeps the events of the batches a worker of this process
// last read, by position range. The dispatcher cuts the same ranges for
// every destination, so one read serves them all; sequenced events never
// change.
type recentBatches struct {
	mu    sync.Mutex
	byKey map[rangeKey][]*calgate.Event
	order []rangeKey // ring, oldest at next
	next  int
}

type rangeKey struct{ after, through int64 }

// recentBatchesCap bounds the cache: a few rounds of batches.
const recentBatchesCap = 64

func newRecentBatches(capacity int) *recentBatches {
	return &recentBatches{byKey: make(map[rangeKey][]*calgate.Event, capacity), order: make([]rangeKey, 0, capacity)}
}

// add remembers the events of a range, pushing out the oldest range beyond
// the capacity.
func (r *recentBatches) add(after, through int64, events []*calgate.Event) {
	k := rangeKey{after, through}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byKey[k]; ok {
		return
	}
	if len(r.order) < cap(r.order) {
		r.order = append(r.order, k)
	} else {
		delete(r.byKey, r.order[r.next])
		r.order[r.next] = k
		r.next = (r.next + 1) % len(r.order)
	}
	r.byKey[k] = events
}

// get returns copies of a remembered range's events, so destinations
// running side by side do not share one value.
func (r *recentBatches) get(after, through int64) ([]*calgate.Event, bool) {
	r.mu.Lock()
	evs, ok := r.byKey[rangeKey{after, through}]
	r.mu.Unlock()
	if !ok {
		return nil, false
	}
	out := make([]*calgate.Event, len(evs))
	for i, ev := range evs {
		cp := *ev
		out[i] = &cp
	}
	return out, true
}
