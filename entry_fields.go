package calgate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// EntryFields is an entry's wire form put together one field at a time, as
// an import template maps a foreign record. ParseEntryFields validates it
// exactly as ParseEntry validates the same fields sent as JSON, without
// writing and reading that JSON.
//
// Field names are wire names: "title", "start", "cost_centre",
// "customer.name", "attributes.Note" and so on.
type EntryFields struct {
	w     wireEntry
	attrs map[string]any
	// customer records which customer fields were set, even to "".
	customer map[string]bool
}

// SetString sets a text field. The text is checked by ParseEntryFields:
// bytes that are not UTF-8 are refused there, not replaced.
func (f *EntryFields) SetString(field, s string) error {
	if key, ok := strings.CutPrefix(field, "customer."); ok {
		if f.w.Customer == nil {
			f.w.Customer = &Customer{}
			f.customer = map[string]bool{}
		}
		switch key {
		case "name":
			f.w.Customer.Name = s
		case "email":
			f.w.Customer.Email = s
		case "phone":
			f.w.Customer.Phone = s
		default:
			return fmt.Errorf("%s is not an entry field", field)
		}
		f.customer[key] = true
		return nil
	}
	p := f.w.textField(field)
	if p == nil {
		return fmt.Errorf("%s is not a text field", field)
	}
	*p = &s
	return nil
}

// SetBool sets all_day.
func (f *EntryFields) SetBool(field string, b bool) error {
	if field != "all_day" {
		return fmt.Errorf("%s is not a yes/no field", field)
	}
	f.w.AllDay = &b
	return nil
}

// SetInt sets a number field (quantity).
func (f *EntryFields) SetInt(field string, n int) error {
	d := detailNamed(field)
	if d == nil || d.typ != reflect.TypeFor[*int]() {
		return fmt.Errorf("%s is not a number field", field)
	}
	reflect.ValueOf(&f.w.wireDetails).Elem().Field(d.index).Set(reflect.ValueOf(&n))
	return nil
}

// SetAttribute sets one key of the attributes object; v is anything
// encoding/json can write.
func (f *EntryFields) SetAttribute(name string, v any) {
	if f.attrs == nil {
		f.attrs = map[string]any{}
	}
	f.attrs[name] = v
}

// Has says whether a field was set.
func (f *EntryFields) Has(field string) bool {
	if name, ok := strings.CutPrefix(field, "attributes."); ok {
		_, found := f.attrs[name]
		return found
	}
	if key, ok := strings.CutPrefix(field, "customer."); ok {
		return f.customer[key]
	}
	if field == "all_day" {
		return f.w.AllDay != nil
	}
	return f.w.present(field)
}

// Key returns the external id and the source as set, empty when unset.
func (f *EntryFields) Key() (externalID, source string) {
	if f.w.ExternalID != nil {
		externalID = *f.w.ExternalID
	}
	if f.w.Source != nil {
		source = *f.w.Source
	}
	return externalID, source
}

// MarshalJSON writes the fields as the wire-form object ParseEntry reads.
func (f *EntryFields) MarshalJSON() ([]byte, error) {
	w, err := f.wire()
	if err != nil {
		return nil, err
	}
	return json.Marshal(&w)
}

// ParseEntryFields validates the fields as an entry of the given kind, as
// ParseEntry does for JSON; defaultTZ is used when they name no time zone.
func ParseEntryFields(kind Kind, f *EntryFields, defaultTZ string) (*Entry, error) {
	w, err := f.wire()
	if err != nil {
		return nil, Invalid("attributes", "cannot be encoded: %v", err)
	}
	return w.entry(kind, defaultTZ, &ValidationError{})
}

// wire returns the wire entry with its attributes object encoded.
func (f *EntryFields) wire() (wireEntry, error) {
	w := f.w
	if len(f.attrs) > 0 {
		raw, err := json.Marshal(f.attrs)
		if err != nil {
			return w, err
		}
		w.Attributes = raw
	}
	return w, nil
}

// WireField describes one field of an entry's wire form, for documents
// generated from it (the OpenAPI schemas of the entry resources).
type WireField struct {
	// Name is the wire name ("cost_centre"); Object fields list their
	// members in Fields.
	Name string
	// Type is the JSON type: string, boolean, integer or object; Format
	// refines it (date-time).
	Type, Format string
	// Enum lists the values a string field takes, when they are few.
	Enum []string
	// ReadOnly fields are assigned by calgate (see ReadOnlyFields);
	// Required ones must be in every create.
	ReadOnly, Required, Nullable bool
	Doc                          string
	Fields                       []WireField
}

// wireFieldDocs documents wire fields beyond their name and type.
var wireFieldDocs = map[string]string{
	"source":      "origin system; default api",
	"external_id": "the id in the source system; (source, external_id) is unique per workspace and kind",
	"start":       "RFC 3339 with offset, YYYY-MM-DD HH:MM:SS in the entry's timezone, or YYYY-MM-DD (all-day); from 1900-01-01T00:00:00Z to 3000-01-01T00:00:00Z in UTC",
	"end":         "as start; exclusive for all-day entries; must be after start, by 3000-01-01T00:00:00Z in UTC",
	"timezone":    "IANA time zone; default the workspace's",
	"attributes":  "a free JSON object, kept as given",
	"resource":    "the resource the entry occupies",
	"workstage":   "the resource the entry occupies",
	"cost_centre": "the resource the entry occupies",
}

// WireFields lists the fields of a kind's wire form in the order of the
// wire form's declaration. It is read from the wire form itself, so a
// field added there (a kind-specific one in Details) appears here with
// its type and description.
func WireFields(k Kind) []WireField {
	var out []WireField
	for _, sf := range reflect.VisibleFields(reflect.TypeFor[wireEntry]()) {
		if sf.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if slices.Contains(foreignFields[k], name) {
			continue
		}
		f := WireField{Name: name, Doc: wireFieldDocs[name], ReadOnly: IsReadOnlyField(name),
			Required: name == "external_id" || name == "start" || name == k.ResourceField()}
		d := detailNamed(name)
		if d != nil {
			f.Doc = d.doc
		}
		switch name {
		case "kind":
			f.Type, f.Enum, f.ReadOnly = "string", []string{string(k)}, true
		case "status":
			f.Type, f.Enum = "string", []string{string(StatusTentative), string(StatusConfirmed), string(StatusCancelled)}
		case "version":
			f.Type = "integer"
		case "created_at", "updated_at", "archived_at":
			f.Type, f.Format, f.Nullable = "string", "date-time", name == "archived_at"
		case "attributes":
			f.Type = "object"
		default:
			f.Type, f.Fields = wireType(sf.Type)
			// Wire renders an unset number as null, an unset object as {}.
			f.Nullable = d != nil && !d.text() && !d.object()
		}
		out = append(out, f)
	}
	return out
}

// WirePaths lists the fields of a kind's wire form as WireFields does,
// with an object's members in its place ("customer.name"): the columns of
// a table of entries.
func WirePaths(k Kind) []string {
	var out []string
	for _, f := range WireFields(k) {
		if f.Type != "object" || len(f.Fields) == 0 {
			out = append(out, f.Name)
			continue
		}
		for _, m := range f.Fields {
			out = append(out, f.Name+"."+m.Name)
		}
	}
	return out
}

// wireType is the JSON type of a wire form's Go field, with the members
// of an object.
func wireType(t reflect.Type) (string, []WireField) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean", nil
	case reflect.Int, reflect.Int64:
		return "integer", nil
	case reflect.Struct:
		var fields []WireField
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			typ, sub := wireType(t.Field(i).Type)
			fields = append(fields, WireField{Name: name, Type: typ, Fields: sub})
		}
		return "object", fields
	default:
		return "string", nil
	}
}
