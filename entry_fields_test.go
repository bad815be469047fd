package calgate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// ParseEntryFields must accept and refuse exactly what ParseEntry does
// with the same fields as JSON: imports rely on the two agreeing.
func TestEntryFieldsParseLikeTheirJSON(t *testing.T) {
	type set struct {
		field string
		value any // string, bool, int, or an attribute value
	}
	cases := []struct {
		name string
		kind Kind
		sets []set
	}{
		{"reservation", KindReservation, []set{{"external_id", "b1"}, {"resource", " Room 1 "}, {"start", "2025-07-01 09:00"}, {"end", "2025-07-01 10:00"},
			{"customer.name", "Ann"}, {"customer.email", ""}, {"quantity", 2}, {"attributes.Note", "late"}, {"attributes.n", json.Number("1.50")}}},
		{"job all day", KindJob, []set{{"external_id", "j"}, {"workstage", "Saw"}, {"start", "2025-03-01"}, {"all_day", true}, {"order", "O-1"}, {"status", "Tentative"}}},
		{"production window in a zone", KindProductionWindow, []set{{"external_id", "t"}, {"cost_centre", "CC"}, {"start", "2025-10-25 08:00:00"}, {"end", "2025-10-27 08:00:00"},
			{"timezone", "Europe/Berlin"}, {"activity", "Weld"}, {"position", "10"}, {"source", "erp"}, {"title", "x"}, {"description", "d"}, {"location", "l"}}},
		{"missing key and resource", KindReservation, []set{{"start", "2025-01-01"}}},
		{"bad time", KindJob, []set{{"external_id", "a"}, {"workstage", "w"}, {"start", "tomorrow"}}},
		{"end before start", KindJob, []set{{"external_id", "a"}, {"workstage", "w"}, {"start", "2025-01-02"}, {"end", "2025-01-01"}}},
		{"negative quantity", KindReservation, []set{{"external_id", "a"}, {"resource", "r"}, {"start", "2025-01-01"}, {"quantity", -1}}},
		{"unknown zone", KindReservation, []set{{"external_id", "a"}, {"resource", "r"}, {"start", "2025-01-01"}, {"timezone", "Nowhere/City"}}},
		{"field of another kind", KindReservation, []set{{"external_id", "a"}, {"resource", "r"}, {"start", "2025-01-01"}, {"workstage", "w"}}},
		{"not UTF-8", KindReservation, []set{{"external_id", "a"}, {"resource", "r"}, {"start", "2025-01-01"}, {"title", "caf\xe9"}}},
		{"NUL in a title", KindJob, []set{{"external_id", "a"}, {"workstage", "w"}, {"start", "2025-01-01"}, {"title", "a\x00b"}}},
		{"tab in an id", KindJob, []set{{"external_id", "a\tb"}, {"workstage", "w"}, {"start", "2025-01-01"}}},
		{"CRLF in a description", KindJob, []set{{"external_id", "a"}, {"workstage", "w"}, {"start", "2025-01-01"}, {"description", "one\r\ntwo\rthree"}}},
		{"NUL in an attribute", KindJob, []set{{"external_id", "a"}, {"workstage", "w"}, {"start", "2025-01-01"}, {"attributes.Note", "a\x00"}}},
		{"year 10000 in UTC", KindJob, []set{{"external_id", "a"}, {"workstage", "w"}, {"start", "9999-12-31"}}},
		{"year 1", KindJob, []set{{"external_id", "a"}, {"workstage", "w"}, {"start", "0001-01-01T00:00:00Z"}, {"end", "0001-01-01T01:00:00Z"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f EntryFields
			for _, s := range tc.sets {
				var err error
				switch v := s.value.(type) {
				case bool:
					err = f.SetBool(s.field, v)
				case int:
					err = f.SetInt(s.field, v)
				case string:
					if name, ok := strings.CutPrefix(s.field, "attributes."); ok {
						f.SetAttribute(name, v)
					} else {
						err = f.SetString(s.field, v)
					}
				default:
					name, _ := strings.CutPrefix(s.field, "attributes.")
					f.SetAttribute(name, v)
				}
				if err != nil {
					t.Fatalf("set %s: %v", s.field, err)
				}
				if !f.Has(s.field) {
					t.Errorf("Has(%q) = false after setting it", s.field)
				}
			}
			data, err := json.Marshal(&f)
			if err != nil {
				t.Fatal(err)
			}
			// JSON encoding replaces invalid UTF-8; a client's document
			// carries the byte itself.
			data = bytes.ReplaceAll(data, []byte(`\ufffd`), []byte("\xe9"))
			want, wantErr := ParseEntry(tc.kind, data, "Europe/Vienna")
			got, gotErr := ParseEntryFields(tc.kind, &f, "Europe/Vienna")
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("fields: %v\nJSON %s: %v", gotErr, data, wantErr)
			}
			if gotErr != nil {
				// A refused entry's fields hold what each decoding made
				// of the text; the report needs only its key.
				if got.ExternalID != want.ExternalID {
					t.Fatalf("refused entry: external id %q, JSON %q", got.ExternalID, want.ExternalID)
				}
				return
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("fields: %+v\nJSON %s: %+v", got, data, want)
			}
		})
	}
}

func TestEntryFieldsRefuseFieldsOfTheWrongType(t *testing.T) {
	var f EntryFields
	if err := f.SetString("quantity", "2"); err == nil {
		t.Error("quantity taken as text")
	}
	if err := f.SetString("customer.fax", "1"); err == nil {
		t.Error("customer.fax taken")
	}
	if err := f.SetBool("title", true); err == nil {
		t.Error("title taken as yes/no")
	}
	if err := f.SetInt("all_day", 1); err == nil {
		t.Error("all_day taken as a number")
	}
	if f.Has("title") || f.Has("customer.name") || f.Has("attributes.x") {
		t.Error("an empty EntryFields has fields")
	}
	if ext, src := f.Key(); ext != "" || src != "" {
		t.Errorf("Key() = %q, %q", ext, src)
	}
}
