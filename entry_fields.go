package calgate

import (
	"encoding/json"
	"fmt"
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

// SetInt sets quantity.
func (f *EntryFields) SetInt(field string, n int) error {
	if field != "quantity" {
		return fmt.Errorf("%s is not a number field", field)
	}
	f.w.Quantity = &n
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
