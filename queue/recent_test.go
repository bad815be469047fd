package queue

import (
	"testing"

	calgate "github.com/calgate/calgate"
)

func TestRecentEventsKeepsTheNewestAndHandsOutCopies(t *testing.T) {
	r := newRecentEvents(3)
	var evs []*calgate.Event
	for id := int64(1); id <= 5; id++ {
		evs = append(evs, &calgate.Event{ID: id, Position: id, Type: calgate.EventEntryCreated})
	}
	r.add(evs[:2])
	r.add(evs[1:])
	for _, tc := range []struct {
		id   int64
		want bool
	}{{1, false}, {2, false}, {3, true}, {4, true}, {5, true}} {
		got, ok := r.get(tc.id)
		if ok != tc.want {
			t.Fatalf("event %d remembered = %v, want %v", tc.id, ok, tc.want)
		}
		if ok && (got.ID != tc.id || got == evs[tc.id-1]) {
			t.Fatalf("event %d: got %+v, want a copy", tc.id, got)
		}
	}
}

func TestRecentEventsSkipsUnsequencedEvents(t *testing.T) {
	r := newRecentEvents(3)
	r.add([]*calgate.Event{{ID: 1}})
	if _, ok := r.get(1); ok {
		t.Fatal("an event without a position was remembered")
	}
}
