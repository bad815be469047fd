package queue

import (
	"sync"

	calgate "github.com/calgate/calgate"
)

// recentEvents keeps the events the dispatcher last handed to the queue, so
// a worker in the same process runs their tasks without reading each event
// back from the database. Sequenced events never change; a worker of
// another process, or one whose event has been pushed out, reads the
// database as before.
type recentEvents struct {
	mu    sync.Mutex
	byID  map[int64]*calgate.Event
	order []int64 // ring of ids, oldest at next
	next  int
}

// recentEventsCap bounds the cache: a few dispatch batches.
const recentEventsCap = 4096

func newRecentEvents(capacity int) *recentEvents {
	return &recentEvents{byID: make(map[int64]*calgate.Event, capacity), order: make([]int64, 0, capacity)}
}

// add remembers events, pushing out the oldest beyond the capacity.
func (r *recentEvents) add(events []*calgate.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range events {
		// Only sequenced events are final: one committed after the last
		// Sequence still gets its position, so workers read it afresh.
		if ev.Position == 0 {
			continue
		}
		if _, ok := r.byID[ev.ID]; ok {
			continue
		}
		if len(r.order) < cap(r.order) {
			r.order = append(r.order, ev.ID)
		} else {
			delete(r.byID, r.order[r.next])
			r.order[r.next] = ev.ID
			r.next = (r.next + 1) % len(r.order)
		}
		r.byID[ev.ID] = ev
	}
}

// get returns a copy of a remembered event, so destinations running side by
// side do not share one value.
func (r *recentEvents) get(id int64) (*calgate.Event, bool) {
	r.mu.Lock()
	ev, ok := r.byID[id]
	r.mu.Unlock()
	if !ok {
		return nil, false
	}
	cp := *ev
	return &cp, true
}
