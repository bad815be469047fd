package calgate

import (
	"strings"
	"testing"
	"time"
)

// A delivery's id is the same for every run of its event's batch, differs
// for another endpoint or event, and sorts by the event's time as NewID's
// ids sort by creation.
func TestDeliveryIDFollowsEndpointAndEvent(t *testing.T) {
	at := time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)
	id := DeliveryID("wh_a", 42, at)
	if !strings.HasPrefix(id, "msg_") || len(id) != len(NewID("msg")) {
		t.Fatalf("id %q does not have NewID's shape", id)
	}
	if again := DeliveryID("wh_a", 42, at); again != id {
		t.Fatalf("two runs gave %q and %q", id, again)
	}
	seen := map[string]bool{id: true}
	for _, other := range []string{DeliveryID("wh_b", 42, at), DeliveryID("wh_a", 43, at), DeliveryID("wh_a4", 2, at)} {
		if seen[other] {
			t.Fatalf("another endpoint or event gave the id %q again", other)
		}
		seen[other] = true
	}
	if later := DeliveryID("wh_a", 1, at.Add(time.Millisecond)); later <= id {
		t.Fatalf("a later event's id %q sorts before %q", later, id)
	}
}

// FirstIDAt splits ids by time: those of earlier milliseconds below it,
// those of its millisecond and later at or above it.
func TestFirstIDAtSplitsIDsByTime(t *testing.T) {
	at := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	first := FirstIDAt("msg", at)
	for _, id := range []string{DeliveryID("wh_a", 1, at.Add(-time.Millisecond)), DeliveryID("wh_z", 1<<40, at.Add(-time.Millisecond))} {
		if id >= first {
			t.Fatalf("%q, of the millisecond before, sorts at or above %q", id, first)
		}
	}
	for _, id := range []string{DeliveryID("wh_a", 1, at), DeliveryID("wh_a", 2, at.Add(time.Hour)), NewID("msg")} {
		if id < first {
			t.Fatalf("%q, of %s or later, sorts below %q", id, at, first)
		}
	}
}
