package api

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	calgate "github.com/calgate/calgate"
)

// marshalAvailability is the answer as encoding/json writes it over the
// views, the form appendAvailability must reproduce byte for byte.
func marshalAvailability(t *testing.T, list []calgate.ResourceAvailability) []byte {
	t.Helper()
	views := func(list []calgate.Interval, loc *time.Location) []IntervalView {
		out := make([]IntervalView, len(list))
		for i, iv := range list {
			out[i] = IntervalView{Start: iv.Start.In(loc).Format(time.RFC3339), End: iv.End.In(loc).Format(time.RFC3339)}
		}
		return out
	}
	out := make([]ResourceAvailabilityView, len(list))
	for i, a := range list {
		loc := a.Resource.Loc()
		out[i] = ResourceAvailabilityView{Resource: a.Resource.Name, ID: a.Resource.ID, Capacity: a.Resource.Capacity, Timezone: a.Resource.Timezone,
			Busy: views(a.Busy, loc), Free: views(a.Free, loc)}
	}
	body, err := json.Marshal(map[string]any{"resources": out})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestAvailabilityJSON(t *testing.T) {
	r := func(name, id, tz string, capacity int) *calgate.Resource {
		return &calgate.Resource{Name: name, ID: id, Timezone: tz, Capacity: capacity}
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	iv := func(a, b string) calgate.Interval { return calgate.Interval{Start: at(a), End: at(b)} }
	cases := []struct {
		name string
		list []calgate.ResourceAvailability
	}{
		{"no resources", []calgate.ResourceAvailability{}},
		{"nil lists", []calgate.ResourceAvailability{{Resource: r("press-1", "res_1", "UTC", 1)}}},
		{"empty lists", []calgate.ResourceAvailability{{Resource: r("press-1", "", "Europe/Berlin", 0), Busy: []calgate.Interval{}, Free: []calgate.Interval{}}}},
		{"zones and offsets", []calgate.ResourceAvailability{
			{Resource: r("berlin", "res_b", "Europe/Berlin", 2),
				Busy: []calgate.Interval{iv("2025-10-26T00:30:00Z", "2025-10-26T02:30:00Z")},
				Free: []calgate.Interval{iv("2025-03-30T00:00:00Z", "2025-03-30T03:00:00Z"), iv("2025-11-01T05:00:00.123456Z", "2025-11-01T21:00:00Z")}},
			{Resource: r("kolkata", "res_k", "Asia/Kolkata", 1), Busy: []calgate.Interval{iv("2025-11-01T00:00:00Z", "2025-11-01T01:00:00Z")}},
			{Resource: r("chatham", "res_c", "Pacific/Chatham", 1), Free: []calgate.Interval{iv("2025-11-01T00:00:00Z", "2025-12-01T00:00:00Z")}},
			{Resource: r("new york", "res_n", "America/New_York", 3), Busy: []calgate.Interval{iv("2025-11-02T05:30:00Z", "2025-11-02T06:30:00Z")}},
			{Resource: r("no zone", "res_u", "", 1), Busy: []calgate.Interval{iv("2025-11-01T00:00:00Z", "2025-11-01T01:00:00Z")}},
			{Resource: r("bad zone", "res_x", "Mars/Olympus", 1), Free: []calgate.Interval{iv("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z")}},
		}},
		{"names that need escapes", []calgate.ResourceAvailability{
			{Resource: r(`"quoted" \ back`, "res_1", "UTC", 1)},
			{Resource: r("<b>&amp;</b>", "res_2", "UTC", 1)},
			{Resource: r("Bühne 2 – groß\u2028\u2029", "res_3", "UTC", 1)},
			{Resource: r("tab\tnew\nline\x00\x1f\x7f", "res_4", "UTC", 1)},
			{Resource: r("bad \xff\xfe utf-8", "res_5", "UTC", -1)},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := marshalAvailability(t, c.list)
			if got := appendAvailability(nil, c.list); !bytes.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestAvailabilityJSONRandom compares the two over many random answers.
func TestAvailabilityJSONRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 19))
	zones := []string{"UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe", "Europe/Amsterdam", "America/New_York", ""}
	runes := []rune("az09 -_.\"\\<>&é€\u2028\t\n")
	// Today's zones and their changes, and the local mean times of the
	// 19th century, whose offsets have seconds.
	bases := []time.Time{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1880, 1, 1, 0, 0, 0, 0, time.UTC)}
	for range 500 {
		base := bases[rng.IntN(len(bases))]
		list := make([]calgate.ResourceAvailability, rng.IntN(5))
		for i := range list {
			name := make([]rune, rng.IntN(12))
			for j := range name {
				name[j] = runes[rng.IntN(len(runes))]
			}
			ivs := func() []calgate.Interval {
				out := make([]calgate.Interval, rng.IntN(8))
				for k := range out {
					s := base.Add(time.Duration(rng.Int64N(int64(800 * 24 * time.Hour))))
					out[k] = calgate.Interval{Start: s, End: s.Add(time.Duration(rng.Int64N(int64(48 * time.Hour))))}
				}
				return out
			}
			list[i] = calgate.ResourceAvailability{Resource: &calgate.Resource{Name: string(name), ID: "res_" + string(name),
				Timezone: zones[rng.IntN(len(zones))], Capacity: rng.IntN(5)}, Busy: ivs(), Free: ivs()}
		}
		want := marshalAvailability(t, list)
		got := appendAvailability(make([]byte, 0, availabilitySize(list)), list)
		if !bytes.Equal(got, want) {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
	}
}
