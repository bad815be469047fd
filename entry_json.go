package calgate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"time"
)

// Limits on entry fields. They are documented in the README.
const (
	MaxIDLength          = 255
	MaxTitleLength       = 1000
	MaxTextLength        = 64 << 10 // description, location
	MaxAttributesLength  = 64 << 10
	DateLayout           = "2006-01-02"
	LocalDateTimeLayout  = "2006-01-02 15:04:05"
	localDateTimeTLayout = "2006-01-02T15:04:05"
)

// wireEntry is the JSON form of every kind of entry. Unknown fields are
// refused; read-only fields are decoded so that they can be refused by name.
type wireEntry struct {
	ID          *string `json:"id,omitempty"`
	Kind        Kind    `json:"kind,omitempty"`
	Source      *string `json:"source,omitempty"`
	ExternalID  *string `json:"external_id,omitempty"`
	Title       *string `json:"title,omitempty"`
	Description *string `json:"description,omitempty"`
	Location    *string `json:"location,omitempty"`
	Start       *string `json:"start,omitempty"`
	End         *string `json:"end,omitempty"`
	AllDay      *bool   `json:"all_day,omitempty"`
	Timezone    *string `json:"timezone,omitempty"`
	Status      *string `json:"status,omitempty"`
	Resource    *string `json:"resource,omitempty"`
	Workstage   *string `json:"workstage,omitempty"`
	CostCentre  *string `json:"cost_centre,omitempty"`
	wireDetails
	Attributes json.RawMessage `json:"attributes,omitempty"`
	Version    json.RawMessage `json:"version,omitempty"`
	CreatedAt  json.RawMessage `json:"created_at,omitempty"`
	UpdatedAt  json.RawMessage `json:"updated_at,omitempty"`
	ArchivedAt json.RawMessage `json:"archived_at,omitempty"`
}

// MarshalJSON renders the entry in its kind's wire form.
func (e *Entry) MarshalJSON() ([]byte, error) {
	return json.Marshal(e.Wire())
}

// Wire returns the entry's wire form as an ordered-enough map for JSON,
// templates and payloads.
func (e *Entry) Wire() map[string]any {
	m := map[string]any{
		"id":                   e.ID,
		"kind":                 e.Kind,
		"source":               e.Source,
		"external_id":          e.ExternalID,
		"title":                e.Title,
		"description":          e.Description,
		"location":             e.Location,
		"start":                e.wireTime(e.Start),
		"end":                  e.wireTime(e.End),
		"all_day":              e.AllDay,
		"timezone":             e.Timezone,
		"status":               e.Status,
		"version":              e.Version,
		"created_at":           e.CreatedAt.UTC().Format(time.RFC3339Nano),
		"updated_at":           e.UpdatedAt.UTC().Format(time.RFC3339Nano),
		"archived_at":          nil,
		"attributes":           json.RawMessage("{}"),
		e.Kind.ResourceField(): e.Resource,
	}
	if e.ArchivedAt != nil {
		m["archived_at"] = e.ArchivedAt.UTC().Format(time.RFC3339Nano)
	}
	if len(e.Attributes) > 0 {
		m["attributes"] = e.Attributes
	}
	e.Details.wire(e.Kind, m)
	return m
}

func (e *Entry) wireTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	loc := e.Loc()
	if e.AllDay {
		return t.In(loc).Format(DateLayout)
	}
	return t.In(loc).Format(time.RFC3339)
}

// ParseEntry decodes and validates one entry of the given kind from its wire
// form. Unknown fields, wrong types, read-only fields, text that breaks the
// text rules (invalid UTF-8 and lone surrogates included, which decoding
// would replace), bad times and unknown time zones are reported as a
// *ValidationError naming each field; the entry then passes Validate.
// defaultTZ is used when the entry names no time zone.
func ParseEntry(kind Kind, data []byte, defaultTZ string) (*Entry, error) {
	// Faults of the text are reported with the rest, on the entry decoding
	// makes of it (the report of a bulk item names its external id).
	v := &ValidationError{}
	if ve := CheckJSONText(data, ""); ve != nil {
		v.Errors = ve.Errors
	}
	var w wireEntry
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, DecodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &ValidationError{Malformed: true, Errors: []FieldError{{Field: "body", Message: "unexpected data after the JSON document"}}}
	}
	return w.entry(kind, defaultTZ, v)
}

// DecodeError turns an encoding/json error into a ValidationError that names
// the offending field.
func DecodeError(err error) *ValidationError {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		// A field of an embedded struct is named with the struct's type.
		field := strings.TrimPrefix(ute.Field, "wireDetails.")
		if field == "" {
			field = "body"
		}
		return &ValidationError{Malformed: true, Errors: []FieldError{{Field: field, Message: fmt.Sprintf("must be of type %s, not %s", jsonType(ute.Type.String()), ute.Value)}}}
	case errors.As(err, &se):
		return &ValidationError{Malformed: true, Errors: []FieldError{{Field: "body", Message: fmt.Sprintf("malformed JSON at offset %d: %s", se.Offset, se.Error())}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &ValidationError{Malformed: true, Errors: []FieldError{{Field: name, Message: "unknown field"}}}
	case errors.Is(err, io.EOF):
		return &ValidationError{Malformed: true, Errors: []FieldError{{Field: "body", Message: "empty body, a JSON object was expected"}}}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &ValidationError{Malformed: true, Errors: []FieldError{{Field: "body", Message: "truncated JSON document"}}}
	default:
		return &ValidationError{Malformed: true, Errors: []FieldError{{Field: "body", Message: err.Error()}}}
	}
}

func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "*"):
		return jsonType(goType[1:])
	case goType == "string":
		return "string"
	case goType == "bool":
		return "boolean"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"), strings.HasPrefix(goType, "uint"):
		return "number"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	default:
		return "object"
	}
}

// entry builds and validates the entry of w, adding to v's faults.
func (w *wireEntry) entry(kind Kind, defaultTZ string, v *ValidationError) (*Entry, error) {
	e := &Entry{Kind: kind, Source: "api", Status: StatusConfirmed, Timezone: defaultTZ}
	if w.Kind != "" && w.Kind != kind {
		v.Add("kind", "is %q, but this resource holds %q entries", w.Kind, kind)
	}
	for i, present := range []bool{w.ID != nil, w.Version != nil, w.CreatedAt != nil, w.UpdatedAt != nil, w.ArchivedAt != nil} {
		if present {
			v.Add(ReadOnlyFields[i], "%s", readOnlyMessage(ReadOnlyFields[i]))
		}
	}
	// Fields of other kinds are refused by name.
	for _, f := range foreignFields[kind] {
		if w.present(f) {
			v.Add(f, "is not a field of %s entries", kind)
		}
	}
	// Text is trimmed (and free text gets LF line breaks); Validate checks
	// it below.
	line := func(p *string, dst *string) {
		if p != nil {
			*dst = strings.TrimSpace(*p)
		}
	}
	text := func(p *string, dst *string) {
		if p != nil {
			*dst = NormalizeNewlines(strings.TrimSpace(*p))
		}
	}
	line(w.Source, &e.Source)
	if e.Source == "" {
		e.Source = "api"
	}
	line(w.ExternalID, &e.ExternalID)
	text(w.Title, &e.Title)
	text(w.Description, &e.Description)
	text(w.Location, &e.Location)
	line(*w.resourceField(kind), &e.Resource)
	e.Details.fromWire(&w.wireDetails, kind)
	if w.Status != nil {
		e.Status = Status(strings.ToLower(strings.TrimSpace(*w.Status)))
	}
	if w.Timezone != nil && *w.Timezone != "" {
		e.Timezone = *w.Timezone
	}
	loc, err := LoadZone(e.Timezone)
	if err != nil {
		v.Add("timezone", "%v", err)
		loc = time.UTC
	}
	if len(w.Attributes) > 0 && !bytes.Equal(w.Attributes, []byte("null")) {
		trimmed := bytes.TrimSpace(w.Attributes)
		switch {
		case len(trimmed) > MaxAttributesLength:
			v.Add("attributes", "must be at most %d bytes long", MaxAttributesLength)
		case len(trimmed) == 0 || trimmed[0] != '{':
			v.Add("attributes", "must be a JSON object")
		default:
			var buf bytes.Buffer
			if err := json.Compact(&buf, trimmed); err != nil {
				v.Add("attributes", "must be a JSON object")
			} else if buf.String() != "{}" {
				e.Attributes = buf.Bytes()
			}
		}
	}
	e.parseTimes(w, loc, v)
	e.validate(v)
	return e, v.Err()
}

func (w *wireEntry) present(field string) bool {
	if f := detailNamed(field); f != nil {
		return !reflect.ValueOf(&w.wireDetails).Elem().Field(f.index).IsNil()
	}
	p := w.textField(field)
	return p != nil && *p != nil
}

// resourceField returns the pointer to kind's resource field.
func (w *wireEntry) resourceField(kind Kind) **string {
	return w.textField(kind.ResourceField())
}

// textField returns the pointer to a text field by its wire name, nil for
// a field that is not text.
func (w *wireEntry) textField(field string) **string {
	switch field {
	case "source":
		return &w.Source
	case "external_id":
		return &w.ExternalID
	case "title":
		return &w.Title
	case "description":
		return &w.Description
	case "location":
		return &w.Location
	case "start":
		return &w.Start
	case "end":
		return &w.End
	case "timezone":
		return &w.Timezone
	case "status":
		return &w.Status
	case "resource":
		return &w.Resource
	case "workstage":
		return &w.Workstage
	case "cost_centre":
		return &w.CostCentre
	}
	if f := detailNamed(field); f != nil && f.text() {
		return reflect.ValueOf(&w.wireDetails).Elem().Field(f.index).Addr().Interface().(**string)
	}
	return nil
}

func (e *Entry) parseTimes(w *wireEntry, loc *time.Location, v *ValidationError) {
	if w.Start == nil || strings.TrimSpace(*w.Start) == "" {
		v.Add("start", "is required")
		return
	}
	start, startDate, err := ParseTime(*w.Start, loc)
	if err != nil {
		v.Add("start", "%v", err)
		return
	}
	e.AllDay = startDate
	if w.AllDay != nil {
		if !*w.AllDay && startDate {
			v.Add("all_day", "is false, but start is a date without a time")
			return
		}
		e.AllDay = *w.AllDay
	}
	if e.AllDay {
		start = midnight(start, loc)
	}
	e.Start = start
	if w.End == nil || strings.TrimSpace(*w.End) == "" {
		if e.AllDay {
			e.End = start.In(loc).AddDate(0, 0, 1)
			return
		}
		v.Add("end", "is required")
		return
	}
	end, endDate, err := ParseTime(*w.End, loc)
	if err != nil {
		v.Add("end", "%v", err)
		return
	}
	if endDate && !e.AllDay {
		v.Add("end", "is a date without a time, but the entry is not all-day")
		return
	}
	if e.AllDay {
		end = midnight(end, loc)
	}
	e.End = end
	if !e.End.After(e.Start) {
		v.Add("end", "must be after start")
	}
}

func midnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// ParseTime reads a time in one of the accepted forms: RFC 3339 with an
// offset; "YYYY-MM-DD HH:MM:SS" (or with a T) read in loc; or a date
// "YYYY-MM-DD", in which case dateOnly is true and the result is midnight
// in loc.
func ParseTime(s string, loc *time.Location) (t time.Time, dateOnly bool, err error) {
	s = strings.TrimSpace(s)
	// The common local forms first, chosen by shape: every failed attempt
	// below costs an error value, and imports parse two times a row.
	if len(s) >= 16 && (s[10] == ' ' || s[10] == 'T') && !hasZone(s) {
		if t, err = time.ParseInLocation(localLayout(s), s, loc); err == nil {
			return t, false, nil
		}
	}
	if len(s) == len(DateLayout) {
		t, err = time.ParseInLocation(DateLayout, s, loc)
		if err == nil {
			return t, true, nil
		}
	}
	if t, err = time.Parse(time.RFC3339Nano, s); err == nil {
		return t, false, nil
	}
	for _, layout := range []string{LocalDateTimeLayout, localDateTimeTLayout, "2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err = time.ParseInLocation(layout, s, loc); err == nil {
			return t, false, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("%q is not a time: use RFC 3339 (2025-10-26T08:00:00+01:00), YYYY-MM-DD HH:MM:SS or YYYY-MM-DD", s)
}

// hasZone reports whether a date-time ends in a zone: Z or an offset
// after the minutes.
func hasZone(s string) bool {
	if last := s[len(s)-1]; last == 'Z' || last == 'z' {
		return true
	}
	return strings.ContainsAny(s[16:], "+-")
}

// localLayout is the layout of a local date-time of s's shape.
func localLayout(s string) string {
	switch {
	case len(s) == 16 && s[10] == 'T':
		return "2006-01-02T15:04"
	case len(s) == 16:
		return "2006-01-02 15:04"
	case s[10] == 'T':
		return localDateTimeTLayout
	default:
		return LocalDateTimeLayout
	}
}

// zones caches loaded time zones: time.LoadLocation reads and parses the
// zone data on every call, which dominated bulk imports. Locations are
// immutable, so sharing them is safe.
var zones sync.Map // name → *time.Location

// LoadZone loads an IANA time zone, refusing the empty and "Local" names,
// whose meaning depends on the machine.
func LoadZone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("%q is not an IANA time zone name", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	zones.Store(name, loc)
	return loc, nil
}

// ParseSince reads a "changed since" value: RFC 3339 or yyyyMMddHHmmss (UTC),
// the form PlanningPME exports use.
func ParseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("20060102150405", s, time.UTC); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor yyyyMMddHHmmss", s)
}
