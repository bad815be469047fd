package api

import (
	"encoding/json"
	"strconv"
	"time"

	calgate "github.com/calgate/calgate"
)

// The answer of GET /v1/availability is written by hand: a month of 100
// busy resources is thousands of intervals, and encoding/json, over views
// whose times were first formatted into strings, was a fifth of the
// request. The bytes are those json.Marshal gives for
// {"resources": []ResourceAvailabilityView} (TestAvailabilityJSON
// compares them).

// appendAvailability appends the JSON answer for list to buf.
func appendAvailability(buf []byte, list []calgate.ResourceAvailability) []byte {
	buf = append(buf, `{"resources":[`...)
	for i, a := range list {
		if i > 0 {
			buf = append(buf, ',')
		}
		r := a.Resource
		loc := r.Loc()
		buf = append(buf, `{"resource":`...)
		buf = appendJSONString(buf, r.Name)
		buf = append(buf, `,"id":`...)
		buf = appendJSONString(buf, r.ID)
		buf = append(buf, `,"capacity":`...)
		buf = strconv.AppendInt(buf, int64(r.Capacity), 10)
		buf = append(buf, `,"timezone":`...)
		buf = appendJSONString(buf, r.Timezone)
		buf = append(buf, `,"busy":`...)
		buf = appendIntervals(buf, a.Busy, loc)
		buf = append(buf, `,"free":`...)
		buf = appendIntervals(buf, a.Free, loc)
		buf = append(buf, '}')
	}
	return append(buf, "]}"...)
}

// availabilitySize guesses the length of the answer for list, so that
// its buffer is allocated once.
func availabilitySize(list []calgate.ResourceAvailability) int {
	n := 32
	for _, a := range list {
		// An interval with offsets is 71 bytes with its comma.
		n += 128 + len(a.Resource.Name) + len(a.Resource.ID) + len(a.Resource.Timezone) + 72*(len(a.Busy)+len(a.Free))
	}
	return n
}

// appendIntervals appends the intervals as a JSON list of views (start
// and end in RFC 3339, in loc); an empty or nil list is [].
func appendIntervals(buf []byte, list []calgate.Interval, loc *time.Location) []byte {
	buf = append(buf, '[')
	z := zoneCache{loc: loc}
	for i, iv := range list {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"start":"`...)
		buf = z.appendRFC3339(buf, iv.Start)
		buf = append(buf, `","end":"`...)
		buf = z.appendRFC3339(buf, iv.End)
		buf = append(buf, `"}`...)
	}
	return append(buf, ']')
}

// zoneCache formats times in one location, keeping the last zone period
// it looked up: the intervals of an answer come in order, and most fall
// in the period of the one before.
type zoneCache struct {
	loc        *time.Location
	known      bool
	start, end time.Time // the period of offset; zero when unbounded
	offset     int       // seconds east of UTC
}

// appendRFC3339 appends t in the cache's location as
// t.In(loc).AppendFormat(buf, time.RFC3339) does.
func (z *zoneCache) appendRFC3339(buf []byte, t time.Time) []byte {
	if !z.known || (!z.start.IsZero() && t.Before(z.start)) || (!z.end.IsZero() && !t.Before(z.end)) {
		local := t.In(z.loc)
		_, z.offset = local.Zone()
		z.start, z.end = local.ZoneBounds()
		z.known = true
	}
	wall := t.UTC().Add(time.Duration(z.offset) * time.Second)
	y, mo, d := wall.Date()
	if y < 0 || y > 9999 {
		return t.In(z.loc).AppendFormat(buf, time.RFC3339)
	}
	h, mi, s := wall.Clock()
	buf = append(buf, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	buf = append(buf, byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10), 'T')
	buf = append(buf, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+s/10), byte('0'+s%10))
	if z.offset == 0 {
		return append(buf, 'Z')
	}
	// As the time package writes it: whole minutes, seconds dropped.
	zone := z.offset / 60
	sign := byte('+')
	if zone < 0 {
		sign, zone = '-', -zone
	}
	return append(buf, sign, byte('0'+zone/600), byte('0'+zone/60%10), ':', byte('0'+zone%60/10), byte('0'+zone%10))
}

// appendJSONString appends s as encoding/json writes it: as it is when it
// holds only printable ASCII that needs no escape (names and ids almost
// always do), otherwise through encoding/json, so that escapes and
// invalid UTF-8 come out the same.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(buf, q...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}
