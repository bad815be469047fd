package feeds

import (
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// TestAvailabilityFeedCountsCapacity checks that an availability feed
// shows a resource as busy only where as many of its entries as its
// capacity are under way, each resource by its own capacity.
func TestAvailabilityFeedCountsCapacity(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2027, 6, 1, h, 0, 0, 0, time.UTC) }
	entry := func(res string, from, to int, status calgate.Status) *calgate.Entry {
		return &calgate.Entry{Kind: calgate.KindReservation, Resource: res, Start: at(from), End: at(to), Status: status, Timezone: "UTC", UpdatedAt: at(0)}
	}
	entries := []*calgate.Entry{
		entry("Hall", 10, 12, calgate.StatusConfirmed),
		entry("Hall", 11, 13, calgate.StatusConfirmed),
		entry("Hall", 14, 15, calgate.StatusConfirmed),
		entry("Hall", 14, 15, calgate.StatusCancelled),
		entry("Booth", 11, 12, calgate.StatusConfirmed),
		entry("Booth", 16, 17, calgate.StatusConfirmed),
	}
	f := &calgate.Feed{ID: "feed_1", Name: "Hall and Booth", Timezone: "UTC", Availability: true}
	periods := regexp.MustCompile(`FREEBUSY;FBTYPE=BUSY:(\S+)`)
	busy := func(capacity map[string]int) []string {
		body, err := RenderEntries(f, entries, capacity, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range periods.FindAllSubmatch(body, -1) {
			out = append(out, string(m[1]))
		}
		return out
	}
	// Hall carries two at once: busy only while both run (11 to 12), when
	// Booth (capacity 1, not listed) is busy too; then Booth alone.
	want := []string{"20270601T110000Z/20270601T120000Z", "20270601T160000Z/20270601T170000Z"}
	if got := busy(map[string]int{"Hall": 2}); !slices.Equal(got, want) {
		t.Fatalf("busy with Hall of capacity 2 = %v, want %v", got, want)
	}
	want = []string{"20270601T100000Z/20270601T130000Z", "20270601T140000Z/20270601T150000Z", "20270601T160000Z/20270601T170000Z"}
	if got := busy(nil); !slices.Equal(got, want) {
		t.Fatalf("busy with capacity 1 = %v, want %v", got, want)
	}
	if got := busy(map[string]int{"Hall": 3, "Booth": 2}); len(got) != 0 {
		t.Fatalf("busy with room to spare = %v, want none", got)
	}
}
