package queue

import (
	"strconv"
	"sync"

	"golang.org/x/sync/singleflight"

	calgate "github.com/calgate/calgate"
)

// recentBatches keeps the events of the batches a worker of this process
// last read, by position range. The dispatcher cuts the same ranges for
// every destination, so one read serves them all; sequenced events never
// change. The destinations' batches of one range usually start together:
// the first reads, the others wait for its read (load).
type recentBatches struct {
	mu    sync.Mutex
	byKey map[rangeKey][]*calgate.Event
	order []rangeKey // ring, oldest at next
	next  int
	reads singleflight.Group
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
	return cloneEvents(evs), true
}

// load returns copies of a range's events: remembered, or read by read,
// once for all the callers that want the range while it is being read.
func (r *recentBatches) load(after, through int64, read func() ([]*calgate.Event, error)) ([]*calgate.Event, error) {
	if evs, ok := r.get(after, through); ok {
		return evs, nil
	}
	v, err, _ := r.reads.Do(strconv.FormatInt(after, 10)+":"+strconv.FormatInt(through, 10), func() (any, error) {
		evs, err := read()
		if err == nil {
			r.add(after, through, evs)
		}
		return evs, err
	})
	if err != nil {
		return nil, err
	}
	return cloneEvents(v.([]*calgate.Event)), nil
}
