package calgate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// MaxCustomerFieldLength bounds each of a reservation's customer fields.
const MaxCustomerFieldLength = 255

// Validate checks an entry as every path that writes one must: each text
// field against the text rules and its limit (see TextProblem), required
// fields, kind, status and time zone, the attributes object, and the
// times, which must lie in [MinTime, MaxTime] in UTC with the end after the
// start. ParseEntry and ParseEntryFields run it on what they build, and
// the store runs it on every entry it writes, so entries made in code (a
// subscription's events, a compat surface, a connector) pass the same
// rules. The error is a *ValidationError naming each bad field by its wire
// name.
func (e *Entry) Validate() error {
	v := &ValidationError{}
	e.validate(v)
	return v.Err()
}

// validate records the entry's faults in v, skipping fields v already
// names.
func (e *Entry) validate(v *ValidationError) {
	if !e.Kind.Valid() {
		v.Add("kind", "unknown kind %q", e.Kind)
		return
	}
	line := func(field, s string, max int, required bool) {
		switch {
		case v.has(field):
		case s == "":
			if required {
				v.Add(field, "is required")
			}
		default:
			v.Line(field, s, max)
		}
	}
	text := func(field, s string, max int) {
		if s != "" && !v.has(field) {
			v.Text(field, s, max)
		}
	}
	line("source", e.Source, MaxIDLength, true)
	line("external_id", e.ExternalID, MaxIDLength, true)
	text("title", e.Title, MaxTitleLength)
	text("description", e.Description, MaxTextLength)
	text("location", e.Location, MaxTextLength)
	line(e.Kind.ResourceField(), e.Resource, MaxIDLength, true)
	e.Details.validate(e.Kind, v)
	if !e.Status.Valid() && !v.has("status") {
		v.Add("status", "must be one of tentative, confirmed, cancelled")
	}
	if e.Timezone != "" && !v.has("timezone") {
		if _, err := LoadZone(e.Timezone); err != nil {
			v.Add("timezone", "%v", err)
		}
	}
	if len(e.Attributes) > 0 && !v.has("attributes") {
		checkAttributes(v, e.Attributes)
	}
	e.validateTimes(v)
}

// checkAttributes checks a stored attributes object: at most
// MaxAttributesLength bytes of JSON, an object, with text as the text rules
// allow in JSON (no NUL, valid Unicode).
func checkAttributes(v *ValidationError, raw json.RawMessage) {
	trimmed := bytes.TrimSpace(raw)
	switch {
	case len(trimmed) > MaxAttributesLength:
		v.Add("attributes", "must be at most %d bytes long", MaxAttributesLength)
	case len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed):
		v.Add("attributes", "must be a JSON object")
	default:
		if ve := CheckJSONText(trimmed, "attributes"); ve != nil {
			for _, fe := range ve.Errors {
				if !v.has(fe.Field) {
					v.Errors = append(v.Errors, fe)
				}
			}
		}
	}
}

func (e *Entry) validateTimes(v *ValidationError) {
	startOK, endOK := !v.has("start"), !v.has("end")
	if startOK && e.Start.IsZero() {
		v.Add("start", "is required")
		startOK = false
	}
	if endOK && e.End.IsZero() {
		v.Add("end", "is required")
		endOK = false
	}
	if startOK {
		startOK = v.Time("start", e.Start)
	}
	if endOK {
		endOK = v.Time("end", e.End)
	}
	if startOK && endOK && !e.End.After(e.Start) {
		v.Add("end", "must be after start")
	}
}

// ReadOnlyFields are the fields of an entry's wire form that calgate
// assigns. A create refuses them; a replacement accepts them sent back
// unchanged (see CheckReadOnly).
var ReadOnlyFields = []string{"id", "version", "created_at", "updated_at", "archived_at"}

// IsReadOnlyField reports whether name is one of ReadOnlyFields.
func IsReadOnlyField(name string) bool {
	for _, f := range ReadOnlyFields {
		if f == name {
			return true
		}
	}
	return false
}

// CheckReadOnly checks read-only fields sent with a replacement of e (as a
// client does that sends back what it read): each must hold e's current
// value. A field that differs is named in the *ValidationError.
func (e *Entry) CheckReadOnly(fields map[string]json.RawMessage) error {
	v := &ValidationError{}
	for _, name := range ReadOnlyFields {
		raw, ok := fields[name]
		if !ok {
			continue
		}
		if !e.readOnlyEquals(name, raw) {
			cur, _ := json.Marshal(e.Wire()[name])
			v.Add(name, "is read-only: it is %s; leave it out or send it unchanged", cur)
		}
	}
	return v.Err()
}

func (e *Entry) readOnlyEquals(name string, raw json.RawMessage) bool {
	switch name {
	case "id":
		var s string
		return json.Unmarshal(raw, &s) == nil && s == e.ID
	case "version":
		var n int64
		return json.Unmarshal(raw, &n) == nil && n == e.Version
	case "created_at":
		return sameInstant(raw, &e.CreatedAt)
	case "updated_at":
		return sameInstant(raw, &e.UpdatedAt)
	case "archived_at":
		return sameInstant(raw, e.ArchivedAt)
	}
	return false
}

// sameInstant reports whether a JSON value is the time t (null for nil).
func sameInstant(raw json.RawMessage, t *time.Time) bool {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return t == nil
	}
	var s string
	if t == nil || json.Unmarshal(raw, &s) != nil {
		return false
	}
	got, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && got.Equal(*t)
}

// readOnlyMessage is why a create refuses a read-only field.
func readOnlyMessage(field string) string {
	return fmt.Sprintf("is read-only: calgate assigns %s; leave it out", field)
}
