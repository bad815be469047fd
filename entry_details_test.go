package calgate

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Every field of the table names the kinds it belongs to.
func TestEveryDetailFieldNamesItsKinds(t *testing.T) {
	for _, f := range detailFields {
		if len(f.kinds) == 0 {
			t.Errorf("%s names no kinds", f.name)
		}
	}
}

// The foreign fields read from the table are those of the other kinds (a
// field added later joins them).
func TestForeignFieldsAreTheOtherKindsFields(t *testing.T) {
	want := map[Kind][]string{
		KindReservation:      {"workstage", "cost_centre", "order", "order_item", "product", "position", "activity"},
		KindJob:              {"resource", "cost_centre", "customer", "quantity", "position", "activity"},
		KindProductionWindow: {"resource", "workstage", "customer", "quantity", "order_item", "product"},
	}
	for k, names := range want {
		for _, name := range names {
			if !slices.Contains(foreignFields[k], name) {
				t.Errorf("%s entries do not refuse %s", k, name)
			}
		}
		for _, name := range foreignFields[k] {
			if f := detailNamed(name); f != nil && f.of(k) {
				t.Errorf("%s entries refuse their own field %s", k, name)
			}
		}
	}
}

// detailSample is a value for a detail field that passes its rules, and
// one that breaks them (nil when the field has no rule to break).
func detailSample(f *detailField) (ok, bad any) {
	switch {
	case f.text():
		return "  " + f.name + "-1 ", strings.Repeat("x", f.max+1)
	case f.object():
		return map[string]string{"name": "Ann", "email": "ann@example.com"}, map[string]string{"email": "a\nb"}
	case f.min != nil:
		return *f.min + 2, *f.min - 1
	default:
		return 2, nil
	}
}

// Every kind-specific field, read from the table, goes through the wire
// form, validation, the content diff, EntryFields and the generated
// field list without a line of its own: a field added to Details is
// covered here as it is.
func TestEveryDetailFieldFollowsTheTable(t *testing.T) {
	for i := range detailFields {
		f := &detailFields[i]
		ok, bad := detailSample(f)
		for _, k := range Kinds {
			body := map[string]any{"external_id": "a", k.ResourceField(): "r", "start": "2025-01-01", f.name: ok}
			data, _ := json.Marshal(body)
			e, err := ParseEntry(k, data, "UTC")
			if !f.of(k) {
				if !namesField(err, f.name) {
					t.Errorf("%s on a %s: err = %v, want it refused by name", f.name, k, err)
				}
				// Sent empty it is refused all the same.
				body[f.name] = reflect.Zero(reflect.TypeOf(ok)).Interface()
				if f.object() {
					body[f.name] = map[string]string{}
				}
				data, _ = json.Marshal(body)
				if _, err := ParseEntry(k, data, "UTC"); !namesField(err, f.name) {
					t.Errorf("%s sent empty on a %s: err = %v, want it refused by name", f.name, k, err)
				}
				if slices.ContainsFunc(WireFields(k), func(w WireField) bool { return w.Name == f.name }) {
					t.Errorf("WireFields(%s) lists %s", k, f.name)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s on a %s: %v", f.name, k, err)
			}
			wire, _ := json.Marshal(e.Wire()[f.name])
			var got any
			_ = json.Unmarshal(wire, &got)
			want := ok
			if s, isText := ok.(string); isText {
				want = strings.TrimSpace(s)
			}
			wantJSON, _ := json.Marshal(want)
			var wantAny any
			_ = json.Unmarshal(wantJSON, &wantAny)
			if !reflect.DeepEqual(got, wantAny) {
				t.Errorf("%s: wire form %s, want %s", f.name, wire, wantJSON)
			}
			if _, changed := Diff(nil, e)[f.name]; !changed {
				t.Errorf("%s: not in the diff of a new entry", f.name)
			}
			if c := e.Clone(); !c.Details.Same(e.Details) {
				t.Errorf("%s: clone differs", f.name)
			}
			if !slices.ContainsFunc(e.DetailValues(), func(d DetailValue) bool { return d.Name == f.name }) {
				t.Errorf("%s: not among the entry's detail values", f.name)
			}
			if !slices.ContainsFunc(WireFields(k), func(w WireField) bool { return w.Name == f.name && w.Doc != "" }) {
				t.Errorf("WireFields(%s) does not describe %s", k, f.name)
			}
			if bad != nil {
				body[f.name] = bad
				data, _ = json.Marshal(body)
				if _, err := ParseEntry(k, data, "UTC"); err == nil || !strings.Contains(err.Error(), f.name) {
					t.Errorf("%s = %v on a %s: err = %v, want it refused by name", f.name, bad, k, err)
				}
			}
		}
	}
}

// A clone shares no detail with its original.
func TestCloneCopiesEveryDetailPointer(t *testing.T) {
	q := 3
	e := &Entry{Kind: KindReservation, Details: Details{Customer: &Customer{Name: "Ann"}, Quantity: &q}}
	c := e.Clone()
	c.Customer.Name, *c.Quantity = "Bob", 4
	if e.Customer.Name != "Ann" || *e.Quantity != 3 {
		t.Fatalf("the original changed with its clone: %+v %d", e.Customer, *e.Quantity)
	}
}

func namesField(err error, field string) bool {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	for _, fe := range ve.Errors {
		if fe.Field == field {
			return true
		}
	}
	return false
}
