package gcaltest

import (
	"encoding/base64"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// validID reports whether an event id is base32hex (lowercase a-v and
// digits) of 5 to 1,024 characters.
func validID(id string) bool {
	if len(id) < 5 || len(id) > 1024 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'v') {
			return false
		}
	}
	return true
}

// validZone reports whether a time zone is an IANA name Google knows.
func validZone(name string) bool {
	if name == "" || name == "Local" || strings.Contains(name, " ") {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// when reads a start or end: its instant (timed) or date (all-day).
func when(d *EventDateTime, which string) (t time.Time, allDay bool, msg string) {
	switch {
	case d == nil:
		return t, false, "Missing " + which + " time."
	case d.Date != "" && d.DateTime != "":
		return t, false, "Invalid " + which + " time."
	case d.Date != "":
		t, err := time.Parse("2006-01-02", d.Date)
		if err != nil {
			return t, true, "Invalid " + which + " time."
		}
		return t, true, ""
	case d.DateTime != "":
		if d.TimeZone != "" && !validZone(d.TimeZone) {
			return t, false, "Invalid time zone definition for " + which + " time."
		}
		t, err := time.Parse(time.RFC3339, d.DateTime)
		if err != nil {
			if d.TimeZone == "" {
				return t, false, "Missing time zone definition for " + which + " time."
			}
			loc, _ := time.LoadLocation(d.TimeZone)
			if t, err = time.ParseInLocation("2006-01-02T15:04:05", d.DateTime, loc); err != nil {
				return t, false, "Invalid " + which + " time."
			}
		}
		return t, false, ""
	}
	return t, false, "Missing " + which + " time."
}

// check validates an event's times and status; false after answering 400.
func check(w http.ResponseWriter, ev *Event) bool {
	start, startAllDay, msg := when(ev.Start, "start")
	if msg == "" {
		var end time.Time
		var endAllDay bool
		end, endAllDay, msg = when(ev.End, "end")
		switch {
		case msg != "":
		case startAllDay != endAllDay:
			msg = "Start and end times must either both be date or both be dateTime."
		case end.Before(start) || (startAllDay && !end.After(start)):
			fail(w, http.StatusBadRequest, "calendar", "timeRangeEmpty", "The specified time range is empty.", "parameter", "end")
			return false
		}
	}
	if msg != "" {
		fail(w, http.StatusBadRequest, "global", "invalid", msg)
		return false
	}
	switch ev.Status {
	case "", "confirmed", "tentative", "cancelled":
	default:
		fail(w, http.StatusBadRequest, "global", "invalid", "Invalid value for: status")
		return false
	}
	if ev.Transparency != "" && ev.Transparency != "opaque" && ev.Transparency != "transparent" {
		fail(w, http.StatusBadRequest, "global", "invalid", "Invalid value for: transparency")
		return false
	}
	return true
}

// fill sets what Google sets on a written event.
func (s *Server) fill(ev *Event, calendarID string) {
	ev.Kind = "calendar#event"
	if ev.Status == "" {
		ev.Status = "confirmed"
	}
	ev.HTMLLink = "https://www.google.com/calendar/event?eid=" + base64.RawURLEncoding.EncodeToString([]byte(ev.ID+" "+calendarID))
	ev.Creator = &Person{Email: s.o.User, Self: true}
	ev.Organizer = &Person{Email: calendarID, Self: true}
	ev.ICalUID = ev.ID + "@google.com"
	ev.EventType = "default"
	if ev.Reminders == nil {
		ev.Reminders = &Reminders{UseDefault: true}
	}
}

// lockForWrite reads and checks the event of a write and takes the lock
// with the calendar the write goes to; false means the refusal is written
// and the lock is not held.
func (s *Server) lockForWrite(w http.ResponseWriter, r *http.Request, calendarID string) (Event, *calendar, bool) {
	var ev Event
	if !decode(w, r, &ev) || !check(w, &ev) {
		return ev, nil, false
	}
	s.mu.Lock()
	c := s.calendar(w, calendarID, true)
	if c == nil {
		s.mu.Unlock()
		return ev, nil, false
	}
	return ev, c, true
}

// saveAndAnswer completes ev as Google does, stores it in st, releases the
// lock lockForWrite took and answers with the event.
func (s *Server) saveAndAnswer(w http.ResponseWriter, op string, c *calendar, st *stored, ev Event) {
	s.fill(&ev, c.entry.ID)
	st.ev = ev
	s.touch(st)
	out := clone(&st.ev)
	s.mu.Unlock()
	s.answer(w, op, http.StatusOK, out)
}

func (s *Server) insertEvent(w http.ResponseWriter, r *http.Request, calendarID string) {
	ev, c, ok := s.lockForWrite(w, r, calendarID)
	if !ok {
		return
	}
	if ev.ID == "" {
		ev.ID = newToken("")
	} else if !validID(ev.ID) {
		s.mu.Unlock()
		fail(w, http.StatusBadRequest, "global", "invalid", "Invalid resource id value.")
		return
	}
	if _, taken := c.events[ev.ID]; taken {
		s.Counts.Add("duplicate")
		s.mu.Unlock()
		fail(w, http.StatusConflict, "global", "duplicate", "The requested identifier already exists.")
		return
	}
	ev.Created = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	st := &stored{}
	c.events[ev.ID] = st
	s.saveAndAnswer(w, "insert event", c, st, ev)
}

func (s *Server) getEvent(w http.ResponseWriter, calendarID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendar(w, calendarID, false)
	if c == nil {
		return
	}
	st := c.events[id]
	if st == nil {
		fail(w, http.StatusNotFound, "global", "notFound", "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, st.ev)
}

// updateEvent replaces an event (events.update); a cancelled event is
// restored by an update that does not cancel it.
func (s *Server) updateEvent(w http.ResponseWriter, r *http.Request, calendarID, id string) {
	ev, c, ok := s.lockForWrite(w, r, calendarID)
	if !ok {
		return
	}
	st := c.events[id]
	if st == nil {
		s.mu.Unlock()
		fail(w, http.StatusNotFound, "global", "notFound", "Not Found")
		return
	}
	if ev.ID != "" && ev.ID != id {
		s.mu.Unlock()
		fail(w, http.StatusBadRequest, "global", "invalid", "Invalid resource id value.")
		return
	}
	ev.ID, ev.Created, ev.Sequence = id, st.ev.Created, st.ev.Sequence
	if ev.Start != nil && st.ev.Start != nil && *ev.Start != *st.ev.Start {
		ev.Sequence++
	}
	s.saveAndAnswer(w, "update event", c, st, ev)
}

// deleteEvent cancels an event; a cancelled one answers 410.
func (s *Server) deleteEvent(w http.ResponseWriter, calendarID, id string) {
	s.mu.Lock()
	c := s.calendar(w, calendarID, true)
	if c == nil {
		s.mu.Unlock()
		return
	}
	st := c.events[id]
	switch {
	case st == nil:
		s.mu.Unlock()
		fail(w, http.StatusNotFound, "global", "notFound", "Not Found")
		return
	case st.ev.Status == "cancelled":
		s.mu.Unlock()
		fail(w, http.StatusGone, "global", "deleted", "Resource has been deleted")
		return
	}
	st.ev.Status = "cancelled"
	s.touch(st)
	s.Counts.Add("delete event")
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// listEvents serves events.list: everything (without cancelled events
// unless showDeleted), or with a syncToken what changed since it
// (cancelled events included); the last page carries nextSyncToken.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, calendarID string) {
	q := r.URL.Query()
	max := 250
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fail(w, http.StatusBadRequest, "global", "invalid", "Invalid value for: maxResults", "parameter", "maxResults")
			return
		}
		max = min(n, 2500)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendar(w, calendarID, false)
	if c == nil {
		return
	}
	if pt := q.Get("pageToken"); pt != "" {
		rest, ok := s.pages[pt]
		if !ok {
			fail(w, http.StatusBadRequest, "global", "invalid", "Invalid page token value.", "parameter", "pageToken")
			return
		}
		delete(s.pages, pt)
		s.page(w, c, rest, max, s.pageNext[pt])
		return
	}
	token := q.Get("syncToken")
	if token != "" {
		for _, p := range []string{"iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty", "timeMin", "timeMax", "updatedMin"} {
			if q.Has(p) {
				fail(w, http.StatusBadRequest, "global", "invalid", "Parameter "+p+" cannot be used with syncToken.", "parameter", p)
				return
			}
		}
	}
	since := int64(-1)
	if token != "" {
		st, ok := s.syncTokens[token]
		if !ok || !st.valid || st.calendar != c.entry.ID {
			fail(w, http.StatusGone, "calendar", "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
			return
		}
		since = st.seq
	}
	var items []*Event
	for _, st := range c.events {
		if since >= 0 && st.seq <= since {
			continue
		}
		if since < 0 && st.ev.Status == "cancelled" && q.Get("showDeleted") != "true" {
			continue
		}
		if p := q.Get("privateExtendedProperty"); p != "" {
			k, v, _ := strings.Cut(p, "=")
			if st.ev.ExtendedProperties == nil || st.ev.ExtendedProperties.Private[k] != v {
				continue
			}
		}
		ev := clone(&st.ev)
		items = append(items, &ev)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	next := newToken("CPj")
	s.syncTokens[next] = syncState{calendar: c.entry.ID, seq: s.seq, valid: true}
	s.Counts.Add("list events")
	s.page(w, c, items, max, next)
}

// page answers one page (with the lock held) and keeps the rest.
func (s *Server) page(w http.ResponseWriter, c *calendar, items []*Event, max int, syncToken string) {
	out := Events{Kind: "calendar#events", Etag: `"p"`, Summary: c.entry.Summary, Updated: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		TimeZone: c.entry.TimeZone, AccessRole: c.entry.AccessRole, Items: items}
	if out.Items == nil {
		out.Items = []*Event{}
	}
	if len(items) > max {
		pt := newToken("")
		s.pages[pt], s.pageNext[pt] = items[max:], syncToken
		out.Items, out.NextPageToken = items[:max], pt
	} else {
		out.NextSyncToken = syncToken
	}
	writeJSON(w, http.StatusOK, out)
}
