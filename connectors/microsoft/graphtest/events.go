package graphtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/calgate/calgate/ical"
)

const wallLayout = "2006-01-02T15:04:05.0000000"

// zone resolves a time zone as Graph does: a Windows name or an IANA name.
func zone(name string) (*time.Location, bool) {
	if iana, ok := ical.WindowsZoneIANA(name); ok {
		name = iana
	}
	if name == "UTC" || strings.Contains(name, "/") {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc, true
		}
	}
	return nil, false
}

func parseWall(d *DateTimeTimeZone) (time.Time, string) {
	if d == nil || d.DateTime == "" || d.TimeZone == "" {
		return time.Time{}, "start and end need a dateTime and a timeZone"
	}
	loc, ok := zone(d.TimeZone)
	if !ok {
		return time.Time{}, "tz:" + d.TimeZone
	}
	for _, layout := range []string{wallLayout, "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, d.DateTime, loc); err == nil {
			return t, ""
		}
	}
	return time.Time{}, "Cannot convert the literal '" + d.DateTime + "' to the expected type 'Edm.DateTime'."
}

var propID = regexp.MustCompile(`^String \{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\} Name \S+$`)

// apply checks an event written by a client and copies it onto st; false
// after answering 400. fields are the properties the body set.
func (s *Server) apply(w http.ResponseWriter, st *stored, in Event, fields map[string]json.RawMessage) bool {
	if _, ok := fields["subject"]; ok {
		st.ev.Subject = in.Subject
	}
	if _, ok := fields["body"]; ok {
		st.ev.Body = in.Body
		if in.Body != nil && in.Body.ContentType != "text" && in.Body.ContentType != "html" {
			fail(w, http.StatusBadRequest, "ErrorInvalidRequest", "Invalid body contentType.")
			return false
		}
	}
	if _, ok := fields["location"]; ok {
		st.ev.Location = in.Location
	}
	if _, ok := fields["showAs"]; ok {
		switch in.ShowAs {
		case "free", "tentative", "busy", "oof", "workingElsewhere", "unknown":
		default:
			fail(w, http.StatusBadRequest, "RequestBodyRead", "Requested value '"+in.ShowAs+"' was not found.")
			return false
		}
		st.ev.ShowAs = in.ShowAs
	}
	if _, ok := fields["singleValueExtendedProperties"]; ok {
		for _, p := range in.SingleValueExtendedProperties {
			if !propID.MatchString(p.ID) {
				fail(w, http.StatusBadRequest, "ErrorInvalidProperty", "The extended property id '"+p.ID+"' is not valid.")
				return false
			}
		}
		st.ev.SingleValueExtendedProperties = in.SingleValueExtendedProperties
	}
	_, hasStart := fields["start"]
	_, hasEnd := fields["end"]
	_, hasAllDay := fields["isAllDay"]
	if hasStart || hasEnd || hasAllDay {
		if !hasStart || !hasEnd {
			fail(w, http.StatusBadRequest, "ErrorInvalidRequest", "Start and end are set together.")
			return false
		}
		start, msg := parseWall(in.Start)
		end, msg2 := parseWall(in.End)
		if msg == "" {
			msg = msg2
		}
		if tz, ok := strings.CutPrefix(msg, "tz:"); ok {
			fail(w, http.StatusBadRequest, "TimeZoneNotSupportedException", "A valid TimeZone value must be specified. The following TimeZone value is not supported: '"+tz+"'.")
			return false
		}
		if msg != "" {
			fail(w, http.StatusBadRequest, "ErrorInvalidRequest", msg)
			return false
		}
		allDay := in.IsAllDay != nil && *in.IsAllDay
		if allDay && (in.Start.TimeZone != in.End.TimeZone || start.Format("15:04:05") != "00:00:00" || end.Format("15:04:05") != "00:00:00" || !end.After(start)) {
			fail(w, http.StatusBadRequest, "ErrorPropertyValidationFailure", "If the event is an all-day event, start and end must be at midnight in the same time zone, the end after the start.")
			return false
		}
		if end.Before(start) {
			fail(w, http.StatusBadRequest, "ErrorInvalidRequest", "The end of the event is before its start.")
			return false
		}
		st.allDay = allDay
		if allDay {
			// All-day events keep their dates, whatever the zone.
			start = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
			end = time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, time.UTC)
		}
		st.start, st.end = start, end
		st.ev.OriginalStartTimeZone, st.ev.OriginalEndTimeZone = in.Start.TimeZone, in.End.TimeZone
		st.ev.Start, st.ev.End = in.Start, in.End
		st.ev.IsAllDay = &allDay
	}
	return true
}

// decodeEvent reads an event body strictly.
func decodeEvent(w http.ResponseWriter, r *http.Request) (Event, map[string]json.RawMessage, []byte, bool) {
	raw, err := io.ReadAll(r.Body)
	var in Event
	var fields map[string]json.RawMessage
	if err == nil {
		err = json.Unmarshal(raw, &fields)
	}
	if err == nil {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		err = dec.Decode(&in)
	}
	if err != nil {
		fail(w, http.StatusBadRequest, "RequestBodyRead", "Invalid JSON: "+err.Error())
		return in, nil, nil, false
	}
	return in, fields, raw, true
}

func (s *Server) calendarOf(w http.ResponseWriter, id string) *Calendar {
	for _, c := range s.calendars {
		if c.ID == id {
			return c
		}
	}
	fail(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
	return nil
}

// createEvent serves POST /me/calendars/{id}/events. A transactionId
// used before answers the event it made when the body is the same, and
// 400 ErrorDuplicateTransactionId when it is another.
func (s *Server) createEvent(w http.ResponseWriter, r *http.Request, calendarID, prefer string, text bool) {
	in, fields, raw, ok := decodeEvent(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendarOf(w, calendarID)
	if c == nil {
		return
	}
	if !c.CanEdit {
		fail(w, http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
		return
	}
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:])
	if in.TransactionID != "" {
		if id, used := s.transactions[in.TransactionID]; used {
			if prev := s.events[id]; prev != nil && !prev.deleted && prev.bodyHash == hash {
				s.Counts.Add("replay")
				writeJSON(w, http.StatusCreated, s.view(prev, prefer, text))
				return
			}
			fail(w, http.StatusBadRequest, "ErrorDuplicateTransactionId", "Your request can't be completed. The TransactionId specified in the request has already been used to create a different event.")
			return
		}
	}
	if _, ok := fields["start"]; !ok {
		fail(w, http.StatusBadRequest, "ErrorInvalidRequest", "An event needs a start and an end.")
		return
	}
	st := &stored{calendar: calendarID, bodyHash: hash}
	st.ev.ID = newID()
	st.ev.CreatedDateTime = time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z")
	st.ev.ICalUID = "040000008200E00074C5B7101A82E008" + strings.ToUpper(newToken("")[:32])
	st.ev.ShowAs = "busy"
	st.ev.TransactionID = in.TransactionID
	if !s.apply(w, st, in, fields) {
		return
	}
	s.events[st.ev.ID] = st
	if in.TransactionID != "" {
		s.transactions[in.TransactionID] = st.ev.ID
	}
	s.touch(st)
	s.Counts.Add("create event")
	writeJSON(w, http.StatusCreated, s.view(st, prefer, text))
}

var propFilter = regexp.MustCompile(`^singleValueExtendedProperties/Any\(ep: ep/id eq '([^']+)' and ep/value eq '([^']*)'\)$`)

// findEvents serves GET /me/calendars/{id}/events with the one $filter
// calgate uses: the events carrying an extended property's value.
func (s *Server) findEvents(w http.ResponseWriter, r *http.Request, calendarID, prefer string, text bool) {
	m := propFilter.FindStringSubmatch(r.URL.Query().Get("$filter"))
	if m == nil {
		fail(w, http.StatusBadRequest, "ErrorInvalidUrlQueryFilter", "The filter is not supported here.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calendarOf(w, calendarID) == nil {
		return
	}
	out := []Event{}
	for _, st := range s.events {
		if st.calendar != calendarID || st.deleted {
			continue
		}
		for _, p := range st.ev.SingleValueExtendedProperties {
			if p.ID == m[1] && strings.EqualFold(p.Value, m[2]) {
				out = append(out, s.view(st, prefer, text))
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (s *Server) live(w http.ResponseWriter, id string) *stored {
	st := s.events[id]
	if st == nil || st.deleted {
		fail(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return nil
	}
	return st
}

func (s *Server) getEvent(w http.ResponseWriter, id, prefer string, text bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.live(w, id); st != nil {
		writeJSON(w, http.StatusOK, s.view(st, prefer, text))
	}
}

// updateEvent serves PATCH /me/events/{id}: the properties given change.
func (s *Server) updateEvent(w http.ResponseWriter, r *http.Request, id, prefer string, text bool) {
	in, fields, _, ok := decodeEvent(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.live(w, id)
	if st == nil {
		return
	}
	if _, ok := fields["transactionId"]; ok && in.TransactionID != st.ev.TransactionID {
		fail(w, http.StatusBadRequest, "ErrorInvalidRequest", "The transactionId of an event cannot change.")
		return
	}
	cp := *st
	if !s.apply(w, &cp, in, fields) {
		return
	}
	*st = cp
	s.touch(st)
	s.Counts.Add("update event")
	writeJSON(w, http.StatusOK, s.view(st, prefer, text))
}

func (s *Server) deleteEvent(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.live(w, id)
	if st == nil {
		return
	}
	st.deleted = true
	s.touch(st)
	s.Counts.Add("delete event")
	w.WriteHeader(http.StatusNoContent)
}

// view is an event as an answer shows it: times in the preferred zone,
// the body as HTML unless text was preferred.
func (s *Server) view(st *stored, prefer string, text bool) Event {
	ev := st.ev
	ev.ODataType, ev.ODataEtag = "#microsoft.graph.event", `W/"`+ev.ChangeKey+`"`
	loc, _ := zone(prefer)
	at := func(t time.Time) *DateTimeTimeZone {
		if st.allDay {
			return &DateTimeTimeZone{DateTime: t.Format(wallLayout), TimeZone: prefer}
		}
		return &DateTimeTimeZone{DateTime: t.In(loc).Format(wallLayout), TimeZone: prefer}
	}
	ev.Start, ev.End = at(st.start), at(st.end)
	if ev.IsAllDay == nil {
		f := false
		ev.IsAllDay = &f
	}
	if ev.Body == nil {
		ev.Body = &ItemBody{ContentType: "text"}
	}
	body := *ev.Body
	if !text && body.ContentType == "text" {
		body = ItemBody{ContentType: "html", Content: "<html><body>" + strings.ReplaceAll(body.Content, "\n", "<br>") + "</body></html>"}
	}
	ev.Body = &body
	ev.SingleValueExtendedProperties = nil // only with $expand
	return ev
}

// delta serves the calendar view delta query: a first round lists the
// events of the window in pages (@odata.nextLink) and ends with an
// @odata.deltaLink; following it lists what changed since, deletions as
// @removed.
func (s *Server) delta(w http.ResponseWriter, r *http.Request, calendarID, prefer string, text bool) {
	q := r.URL.Query()
	size := s.o.PageSize
	if m := regexp.MustCompile(`odata\.maxpagesize=(\d+)`).FindStringSubmatch(r.Header.Get("Prefer")); m != nil {
		size, _ = strconv.Atoi(m[1])
		size = max(1, size)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calendarOf(w, calendarID) == nil {
		return
	}
	base := s.URL + "/v1.0/me/calendars/" + url.PathEscape(calendarID) + "/calendarView/delta?"
	if skip := q.Get("$skiptoken"); skip != "" {
		rest, ok := s.skips[skip]
		if !ok {
			fail(w, http.StatusGone, "SyncStateNotFound", "The sync state is not found or has expired.")
			return
		}
		delete(s.skips, skip)
		s.deltaPage(w, base, rest, size, s.skipNext[skip])
		return
	}
	var st deltaState
	if tok := q.Get("$deltatoken"); tok != "" {
		var ok bool
		if st, ok = s.deltas[tok]; !ok || !st.valid || st.calendar != calendarID {
			fail(w, http.StatusGone, "SyncStateNotFound", "The sync state is not found or has expired; start a new round of delta queries.")
			return
		}
	} else {
		start, err1 := time.Parse(time.RFC3339, q.Get("startDateTime"))
		end, err2 := time.Parse(time.RFC3339, q.Get("endDateTime"))
		if err1 != nil || err2 != nil || !end.After(start) {
			fail(w, http.StatusBadRequest, "ErrorInvalidParameter", "The startDateTime and endDateTime parameters are required.")
			return
		}
		st = deltaState{calendar: calendarID, start: start, end: end, seq: -1, valid: true}
	}
	var items []Event
	for _, e := range s.events {
		if e.calendar != calendarID || (st.seq >= 0 && e.seq <= st.seq) {
			continue
		}
		in := e.start.Before(st.end) && e.end.After(st.start)
		switch {
		case e.deleted && st.seq >= 0:
			items = append(items, Event{ODataType: "#microsoft.graph.event", ID: e.ev.ID, Removed: &Removed{Reason: "deleted"}})
		case e.deleted:
		case in:
			items = append(items, s.view(e, prefer, text))
		case st.seq >= 0:
			items = append(items, Event{ODataType: "#microsoft.graph.event", ID: e.ev.ID, Removed: &Removed{Reason: "changed"}})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	next := newToken("")
	s.deltas[next] = deltaState{calendar: calendarID, start: st.start, end: st.end, seq: s.seq, valid: true}
	s.Counts.Add("delta")
	s.deltaPage(w, base, items, size, next)
}

// deltaPage answers one page (with the lock held) and keeps the rest.
func (s *Server) deltaPage(w http.ResponseWriter, base string, items []Event, size int, deltaToken string) {
	out := map[string]any{"@odata.context": s.URL + "/v1.0/$metadata#Collection(event)"}
	if len(items) > size {
		skip := newToken("")
		s.skips[skip], s.skipNext[skip] = items[size:], deltaToken
		items = items[:size]
		out["@odata.nextLink"] = base + url.Values{"$skiptoken": {skip}}.Encode()
	} else {
		out["@odata.deltaLink"] = base + url.Values{"$deltatoken": {deltaToken}}.Encode()
	}
	if items == nil {
		items = []Event{}
	}
	out["value"] = items
	writeJSON(w, http.StatusOK, out)
}
