package sftest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// contact is a Contact record's fields the fake knows, as Salesforce names
// them.
type contact struct {
	FirstName *string `json:"FirstName"`
	LastName  *string `json:"LastName"`
	Email     *string `json:"Email"`
	Phone     *string `json:"Phone"`
}

// event is an Event record's fields the fake knows.
type event struct {
	WhoId             *string `json:"WhoId"`
	Subject           *string `json:"Subject"`
	IsAllDayEvent     *bool   `json:"IsAllDayEvent"`
	StartDateTime     *string `json:"StartDateTime"`
	EndDateTime       *string `json:"EndDateTime"`
	ActivityDate      *string `json:"ActivityDate"`
	ActivityDateTime  *string `json:"ActivityDateTime"`
	DurationInMinutes *int    `json:"DurationInMinutes"`
	Location          *string `json:"Location"`
	Description       *string `json:"Description"`
	ShowAs            *string `json:"ShowAs"`
}

// record is a stored record of either object.
type record struct {
	id, object, extID string
	fields            map[string]json.RawMessage
	deleted           bool
}

// recordError is one error of a record in a collection's answer.
type recordError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

// saveResult is the outcome of one record.
type saveResult struct {
	ID      string        `json:"id,omitempty"`
	Success bool          `json:"success"`
	Errors  []recordError `json:"errors"`
	Created *bool         `json:"created,omitempty"`
}

var prefixes = map[string]string{"Contact": "003", "Event": "00U"}

func (s *Server) extField(object string) string {
	if object == "Contact" {
		return s.o.ContactExternalIDField
	}
	return s.o.EventExternalIDField
}

var apiPath = regexp.MustCompile(`^/services/data/v([0-9]+)\.0(/.*)$`)

// api serves the instance's REST API.
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	if !s.Valid(r) {
		w.Header().Set("WWW-Authenticate", `Token`)
		refuse(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
		return
	}
	m := apiPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		refuse(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	if v, _ := strconv.Atoi(m[1]); v < 46 || v > LatestVersion {
		refuse(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	s.mu.Lock()
	s.calls++
	switch {
	case s.throttle > 0:
		s.throttle--
		s.mu.Unlock()
		refuse(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return
	case s.calls > s.o.DailyLimit:
		s.violations++
		s.mu.Unlock()
		refuse(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return
	}
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", s.calls, s.o.DailyLimit))
	s.mu.Unlock()
	path := m[2]
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case r.Method == http.MethodPatch && len(parts) == 4 && parts[0] == "composite" && parts[1] == "sobjects":
		s.upsertCollection(w, r, parts[2], parts[3])
	case r.Method == http.MethodDelete && path == "/composite/sobjects":
		s.deleteCollection(w, r)
	case r.Method == http.MethodPost && len(parts) == 2 && parts[0] == "sobjects":
		s.create(w, r, parts[1])
	default:
		refuse(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
}

// decodeRecord reads one record's fields: attributes and the external id
// are taken out, every other field must be one the object has.
func (s *Server) decodeRecord(object string, raw map[string]json.RawMessage) (map[string]json.RawMessage, *apiError) {
	fields := map[string]json.RawMessage{}
	for k, v := range raw {
		if k == "attributes" || k == s.extField(object) {
			continue
		}
		fields[k] = v
	}
	b, _ := json.Marshal(fields)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var err error
	if object == "Contact" {
		err = dec.Decode(&contact{})
	} else {
		err = dec.Decode(&event{})
	}
	if err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return nil, &apiError{ErrorCode: "INVALID_FIELD", Message: fmt.Sprintf("No such column '%s' on sobject of type %s", strings.Trim(name, `"`), object)}
		}
		return nil, &apiError{ErrorCode: "JSON_PARSER_ERROR", Message: err.Error()}
	}
	return fields, nil
}

func (s *Server) upsertCollection(w http.ResponseWriter, r *http.Request, object, field string) {
	if prefixes[object] == "" {
		refuse(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	if field != s.extField(object) {
		refuse(w, http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: %s", field)
		return
	}
	var in struct {
		AllOrNone bool                         `json:"allOrNone"`
		Records   []map[string]json.RawMessage `json:"records"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		refuse(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "%v", err)
		return
	}
	if len(in.Records) > 200 {
		refuse(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
		return
	}
	type parsed struct {
		ext    string
		fields map[string]json.RawMessage
	}
	list := make([]parsed, 0, len(in.Records))
	for _, raw := range in.Records {
		var attrs struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(raw["attributes"], &attrs); err != nil || attrs.Type != object {
			refuse(w, http.StatusBadRequest, "INVALID_TYPE", "Each record must have attributes with the type %s", object)
			return
		}
		if _, has := raw["Id"]; has {
			refuse(w, http.StatusBadRequest, "INVALID_FIELD", "Id isn't allowed in an upsert by external ID")
			return
		}
		fields, aerr := s.decodeRecord(object, raw)
		if aerr != nil {
			writeJSON(w, http.StatusBadRequest, []apiError{*aerr})
			return
		}
		var ext string
		_ = json.Unmarshal(raw[field], &ext)
		list = append(list, parsed{ext: ext, fields: fields})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	results := make([]saveResult, len(list))
	seen := map[string]bool{}
	failed := false
	for i, p := range list {
		switch {
		case p.ext == "":
			results[i] = fail("REQUIRED_FIELD_MISSING", "Required fields are missing: ["+field+"]", field)
		case seen[strings.ToLower(p.ext)]:
			results[i] = fail("DUPLICATE_EXTERNAL_ID", "Duplicate external id specified: "+p.ext, field)
		}
		seen[strings.ToLower(p.ext)] = true
		if results[i].Errors != nil {
			failed = true
			continue
		}
		cur := s.byExt(object, p.ext)
		merged := map[string]json.RawMessage{}
		if cur != nil {
			for k, v := range cur.fields {
				merged[k] = v
			}
		}
		for k, v := range p.fields {
			merged[k] = v
		}
		if res := s.validate(object, merged); res != nil {
			results[i], failed = *res, true
			continue
		}
		created := cur == nil
		results[i] = saveResult{Success: true, Errors: []recordError{}, Created: &created}
	}
	if in.AllOrNone && failed {
		for i := range results {
			if results[i].Success {
				results[i] = fail("ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all records were valid and the request was using AllOrNone header")
			}
		}
		writeJSON(w, http.StatusOK, results)
		return
	}
	for i, p := range list {
		if !results[i].Success {
			continue
		}
		cur := s.byExt(object, p.ext)
		if cur == nil {
			cur = s.add(object, p.ext, map[string]json.RawMessage{})
			s.Counts.Add("create " + object)
		} else {
			s.Counts.Add("update " + object)
		}
		for k, v := range p.fields {
			cur.fields[k] = v
		}
		s.derive(cur)
		results[i].ID = cur.id
	}
	writeJSON(w, http.StatusOK, results)
}

func fail(code, msg string, fields ...string) saveResult {
	if fields == nil {
		fields = []string{}
	}
	return saveResult{Success: false, Errors: []recordError{{StatusCode: code, Message: msg, Fields: fields}}}
}

// byExt finds the live record of an object with the external id (external
// ids compare without case, as Salesforce's text external ids do unless
// marked case sensitive).
func (s *Server) byExt(object, ext string) *record {
	for _, id := range s.order {
		if rec := s.records[id]; rec.object == object && !rec.deleted && strings.EqualFold(rec.extID, ext) {
			return rec
		}
	}
	return nil
}

func (s *Server) add(object, ext string, fields map[string]json.RawMessage) *record {
	s.next++
	id := fmt.Sprintf("%s5g%010dAAA", prefixes[object], s.next)
	rec := &record{id: id, object: object, extID: ext, fields: fields}
	s.records[id] = rec
	s.order = append(s.order, id)
	return rec
}

// text reads a string field ("" for null or missing).
func text(f map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := f[name]
	if !ok || string(raw) == "null" {
		return "", false
	}
	var v string
	_ = json.Unmarshal(raw, &v)
	return v, true
}

// validate checks a record as it would be after the write; nil when good.
func (s *Server) validate(object string, f map[string]json.RawMessage) *saveResult {
	tooLong := func(name string, n int) *saveResult {
		if v, ok := text(f, name); ok && utf8.RuneCountInString(v) > n {
			r := fail("STRING_TOO_LONG", fmt.Sprintf("%s: data value too large: %.20s… (max length=%d)", name, v, n), name)
			return &r
		}
		return nil
	}
	if object == "Contact" {
		if v, _ := text(f, "LastName"); strings.TrimSpace(v) == "" {
			r := fail("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", "LastName")
			return &r
		}
		for name, n := range map[string]int{"FirstName": 40, "LastName": 80, "Email": 80, "Phone": 40} {
			if r := tooLong(name, n); r != nil {
				return r
			}
		}
		if v, ok := text(f, "Email"); ok {
			if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
				r := fail("INVALID_EMAIL_ADDRESS", "Email: invalid email address: "+v, "Email")
				return &r
			}
		}
		return nil
	}
	for name, n := range map[string]int{"Subject": 255, "Location": 255, "Description": 32000} {
		if r := tooLong(name, n); r != nil {
			return r
		}
	}
	if v, ok := text(f, "ShowAs"); ok && v != "Busy" && v != "Free" && v != "OutOfOffice" {
		r := fail("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Show Time As: bad value for restricted picklist field: "+v, "ShowAs")
		return &r
	}
	if who, ok := text(f, "WhoId"); ok {
		rec := s.records[who]
		switch {
		case rec == nil || (rec.object != "Contact"):
			r := fail("INVALID_CROSS_REFERENCE_KEY", "Name ID: id value of incorrect type: "+who, "WhoId")
			return &r
		case rec.deleted:
			r := fail("ENTITY_IS_DELETED", "entity is deleted", "WhoId")
			return &r
		}
	}
	maxMinutes := 14 * 24 * 60
	if s.o.NoMultidayEvents {
		maxMinutes = 24 * 60
	}
	var allDay bool
	if raw, ok := f["IsAllDayEvent"]; ok {
		_ = json.Unmarshal(raw, &allDay)
	}
	var minutes *int
	if raw, ok := f["DurationInMinutes"]; ok && string(raw) != "null" {
		var n int
		_ = json.Unmarshal(raw, &n)
		minutes = &n
	}
	start, hasStart := text(f, "StartDateTime")
	end, hasEnd := text(f, "EndDateTime")
	if allDay {
		date, ok := text(f, "ActivityDate")
		if _, err := time.Parse("2006-01-02", date); !ok || err != nil {
			r := fail("REQUIRED_FIELD_MISSING", "Required fields are missing: [ActivityDate]", "ActivityDate")
			return &r
		}
		if hasStart && !strings.HasPrefix(start, date) {
			r := fail("FIELD_INTEGRITY_EXCEPTION", "The value for ActivityDate and StartDateTime must match", "ActivityDate")
			return &r
		}
		if minutes != nil && (*minutes < 0 || *minutes > maxMinutes) {
			r := fail("FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("Duration must be between 0 and %d minutes: Duration", maxMinutes), "DurationInMinutes")
			return &r
		}
		return nil
	}
	st, err := time.Parse("2006-01-02T15:04:05.000Z0700", start)
	if !hasStart || err != nil {
		r := fail("REQUIRED_FIELD_MISSING", "Required fields are missing: [StartDateTime]", "StartDateTime")
		return &r
	}
	var dur int
	switch {
	case hasEnd:
		en, err := time.Parse("2006-01-02T15:04:05.000Z0700", end)
		if err != nil {
			r := fail("INVALID_TYPE_ON_FIELD_IN_RECORD", "End: value not of required type: "+end, "EndDateTime")
			return &r
		}
		dur = int(en.Sub(st).Minutes())
	case minutes != nil:
		dur = *minutes
	default:
		r := fail("REQUIRED_FIELD_MISSING", "Required fields are missing: [DurationInMinutes]", "DurationInMinutes")
		return &r
	}
	if dur < 0 || dur > maxMinutes {
		r := fail("FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("Duration must be between 0 and %d minutes: Duration", maxMinutes), "DurationInMinutes")
		return &r
	}
	return nil
}

// derive sets the fields Salesforce computes: an all-day Event's times, a
// timed Event's ActivityDate and duration.
func (s *Server) derive(rec *record) {
	if rec.object != "Event" {
		return
	}
	f := rec.fields
	var allDay bool
	_ = json.Unmarshal(f["IsAllDayEvent"], &allDay)
	put := func(name string, v any) { f[name], _ = json.Marshal(v) }
	if allDay {
		date, _ := text(f, "ActivityDate")
		d, _ := time.Parse("2006-01-02", date)
		minutes := 24 * 60
		if raw, ok := f["DurationInMinutes"]; ok && string(raw) != "null" {
			_ = json.Unmarshal(raw, &minutes)
		}
		put("StartDateTime", d.Format("2006-01-02T15:04:05.000Z"))
		put("EndDateTime", d.AddDate(0, 0, max(1, minutes/(24*60))-1).Format("2006-01-02T15:04:05.000Z"))
		put("DurationInMinutes", minutes)
		f["ActivityDateTime"] = json.RawMessage("null")
		return
	}
	start, _ := text(f, "StartDateTime")
	st, _ := time.Parse("2006-01-02T15:04:05.000Z0700", start)
	if end, ok := text(f, "EndDateTime"); ok {
		en, _ := time.Parse("2006-01-02T15:04:05.000Z0700", end)
		put("DurationInMinutes", int(en.Sub(st).Minutes()))
	} else {
		var minutes int
		_ = json.Unmarshal(f["DurationInMinutes"], &minutes)
		put("EndDateTime", st.Add(time.Duration(minutes)*time.Minute).Format("2006-01-02T15:04:05.000Z"))
	}
	put("ActivityDate", st.UTC().Format("2006-01-02"))
	put("ActivityDateTime", st.UTC().Format("2006-01-02T15:04:05.000Z"))
}

func (s *Server) deleteCollection(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ids := strings.Split(q.Get("ids"), ",")
	if q.Get("ids") == "" {
		refuse(w, http.StatusBadRequest, "MALFORMED_QUERY", "ids is required")
		return
	}
	if len(ids) > 200 {
		refuse(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	results := make([]saveResult, len(ids))
	for i, id := range ids {
		rec := s.records[id]
		switch {
		case rec == nil:
			results[i] = fail("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
		case rec.deleted:
			results[i] = fail("ENTITY_IS_DELETED", "entity is deleted")
			results[i].ID = id
		default:
			rec.deleted = true
			s.Counts.Add("delete " + rec.object)
			results[i] = saveResult{ID: id, Success: true, Errors: []recordError{}}
		}
	}
	writeJSON(w, http.StatusOK, results)
}

// create is a plain create: POST /sobjects/{object}.
func (s *Server) create(w http.ResponseWriter, r *http.Request, object string) {
	if prefixes[object] == "" {
		refuse(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		refuse(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "%v", err)
		return
	}
	fields, aerr := s.decodeRecord(object, raw)
	if aerr != nil {
		writeJSON(w, http.StatusBadRequest, []apiError{*aerr})
		return
	}
	var ext string
	_ = json.Unmarshal(raw[s.extField(object)], &ext)
	s.mu.Lock()
	defer s.mu.Unlock()
	if ext != "" {
		if cur := s.byExt(object, ext); cur != nil {
			writeJSON(w, http.StatusBadRequest, []apiError{{ErrorCode: "DUPLICATE_VALUE", Fields: []string{},
				Message: fmt.Sprintf("duplicate value found: %s duplicates value on record with id: %s", s.extField(object), cur.id)}})
			return
		}
	}
	if res := s.validate(object, fields); res != nil {
		writeJSON(w, http.StatusBadRequest, []apiError{{ErrorCode: res.Errors[0].StatusCode, Message: res.Errors[0].Message, Fields: res.Errors[0].Fields}})
		return
	}
	rec := s.add(object, ext, fields)
	s.derive(rec)
	s.Counts.Add("create " + object)
	writeJSON(w, http.StatusCreated, saveResult{ID: rec.id, Success: true, Errors: []recordError{}})
}

// Event is an Event as tests see it.
type Event struct {
	ID, ExternalID, WhoID, Subject, Start, End, ActivityDate, Location, Description, ShowAs string
	AllDay                                                                                  bool
	DurationInMinutes                                                                       int
	Deleted                                                                                 bool
}

// Contact is a Contact as tests see it.
type Contact struct {
	ID, ExternalID, FirstName, LastName, Email, Phone string
	Deleted                                           bool
}

// eachRecord calls fn, holding the lock, with each of the org's records of
// an object (deleted ones too) in the order they were made.
func (s *Server) eachRecord(object string, fn func(rec *record)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.order {
		if rec := s.records[id]; rec.object == object {
			fn(rec)
		}
	}
}

// Events lists the org's Events (deleted ones too) in the order they were
// made.
func (s *Server) Events() []Event {
	var out []Event
	s.eachRecord("Event", func(rec *record) {
		f := rec.fields
		ev := Event{ID: rec.id, ExternalID: rec.extID, Deleted: rec.deleted}
		ev.WhoID, _ = text(f, "WhoId")
		ev.Subject, _ = text(f, "Subject")
		ev.Start, _ = text(f, "StartDateTime")
		ev.End, _ = text(f, "EndDateTime")
		ev.ActivityDate, _ = text(f, "ActivityDate")
		ev.Location, _ = text(f, "Location")
		ev.Description, _ = text(f, "Description")
		ev.ShowAs, _ = text(f, "ShowAs")
		_ = json.Unmarshal(f["IsAllDayEvent"], &ev.AllDay)
		_ = json.Unmarshal(f["DurationInMinutes"], &ev.DurationInMinutes)
		out = append(out, ev)
	})
	return out
}

// Contacts lists the org's Contacts in the order they were made.
func (s *Server) Contacts() []Contact {
	var out []Contact
	s.eachRecord("Contact", func(rec *record) {
		c := Contact{ID: rec.id, ExternalID: rec.extID, Deleted: rec.deleted}
		c.FirstName, _ = text(rec.fields, "FirstName")
		c.LastName, _ = text(rec.fields, "LastName")
		c.Email, _ = text(rec.fields, "Email")
		c.Phone, _ = text(rec.fields, "Phone")
		out = append(out, c)
	})
	return out
}

// Delete deletes a record as a person in Salesforce would.
func (s *Server) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec := s.records[id]; rec != nil {
		rec.deleted = true
	}
}
