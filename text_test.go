package calgate

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestTextProblemAllowsTabAndNewlineOnlyInText(t *testing.T) {
	cases := []struct {
		s               string
		lineOK, multiOK bool
	}{
		{"Hall 2", true, true},
		{"Café – 東京 😀", true, true},
		{"\uFFFD is a character", true, true},
		{"a\tb", false, true},
		{"a\nb", false, true},
		{"a\rb", false, false},
		{"a\x00b", false, false},
		{"a\x1bb", false, false},
		{"a\x7fb", false, false},
		{"caf\xe9", false, false},
		{"\xed\xa0\x80", false, false}, // a surrogate half encoded as UTF-8
	}
	for _, tc := range cases {
		if got := TextProblem(tc.s, false) == ""; got != tc.lineOK {
			t.Errorf("line %q: ok = %v, want %v (%s)", tc.s, got, tc.lineOK, TextProblem(tc.s, false))
		}
		if got := TextProblem(tc.s, true) == ""; got != tc.multiOK {
			t.Errorf("text %q: ok = %v, want %v (%s)", tc.s, got, tc.multiOK, TextProblem(tc.s, true))
		}
	}
}

func TestCheckJSONTextNamesThePathOfTheBadString(t *testing.T) {
	cases := []struct {
		doc, prefix, field string
		msg                string // part of the message; "" when the text is good
	}{
		{`{"title":"ok \u00e9 \ud83d\ude00","n":[1,"\\ud800"]}`, "", "", ""},
		{`{"title":"a\u0000b"}`, "", "title", "NUL"},
		{`{"customer":{"name":"x","email":"\ud800"}}`, "", "customer.email", "surrogate"},
		{`{"items":[{"t":"a"},{"t":"\udc00x"}]}`, "", "items[1].t", "surrogate"},
		{`{"a":{"b":["x","y",{"c":"` + "\xff" + `"}]}}`, "", "a.b[2].c", "UTF-8"},
		{`[{"x":1},{"name":"` + "\xc3" + `"}]`, "model", "model[1].name", "UTF-8"},
		{`{"Note":"\u0000"}`, "attributes", "attributes.Note", "NUL"},
		{`{"k` + "\xff" + `":1}`, "", "", "a key"},
		{`"\u0000"`, "", "body", "NUL"},
		{`{"title":"a\"\u0000"}`, "", "title", "NUL"},
		{`{"a":1} ` + "\xff", "", "", ""}, // not in a string: the decoder's business
		{`{"title":"\ud800\udc00"}`, "", "", ""},
	}
	for _, tc := range cases {
		ve := CheckJSONText([]byte(tc.doc), tc.prefix)
		if tc.msg == "" {
			if ve != nil {
				t.Errorf("%s: refused: %v", tc.doc, ve)
			}
			continue
		}
		if ve == nil {
			t.Errorf("%s: accepted", tc.doc)
			continue
		}
		fe := ve.Errors[0]
		if tc.field != "" && fe.Field != tc.field || !strings.Contains(fe.Message, tc.msg) {
			t.Errorf("%s: %s: %s, want field %q and %q", tc.doc, fe.Field, fe.Message, tc.field, tc.msg)
		}
	}
}

func TestValidIDAcceptsOnlyTheShapeNewIDMakes(t *testing.T) {
	for _, prefix := range []string{"ent", "feed", "wh", "msg", "run"} {
		if id := NewID(prefix); !ValidID(id) {
			t.Errorf("%s refused", id)
		}
	}
	for _, s := range []string{"", "garbage", "ent_", "ent_0h2", "Ent_06h39b59b6m0trnj5j597xdnm0", "ent_06h39b59b6m0trnj5j597xdnmu",
		"ent-06h39b59b6m0trnj5j597xdnm0", "ent_06h39b59b6m0trnj5j597xdnm0x", "ent_06h39b59b6m0trnj5j597xd\x00m0"} {
		if ValidID(s) {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestNameProblemKeepsNamesAddressable(t *testing.T) {
	for _, ok := range []string{"planyo-reservations", "erp.v2", "A_1", strings.Repeat("n", MaxNameLength)} {
		if p := NameProblem(ok); p != "" {
			t.Errorf("%q: %s", ok, p)
		}
	}
	for _, bad := range []string{"", "../../etc", ".hidden", "a/b", "a b", "é", "a\x00", strings.Repeat("n", MaxNameLength+1)} {
		if NameProblem(bad) == "" {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestTimesOutsideTheStoredRangeAreRefusedInUTC(t *testing.T) {
	cases := []struct {
		body  string
		field string // "" when accepted
	}{
		{`{"external_id":"a","workstage":"w","start":"1900-01-01T00:00:00Z","end":"1900-01-01T01:00:00Z"}`, ""},
		{`{"external_id":"a","workstage":"w","start":"2999-12-31T00:00:00Z","end":"3000-01-01T00:00:00Z"}`, ""},
		{`{"external_id":"a","workstage":"w","start":"1899-12-31T23:59:59Z","end":"1900-01-01T01:00:00Z"}`, "start"},
		{`{"external_id":"a","workstage":"w","start":"9999-12-31","all_day":true}`, "start"},
		{`{"external_id":"a","workstage":"w","start":"2999-12-31","all_day":true,"timezone":"America/New_York"}`, "end"},
		{`{"external_id":"a","workstage":"w","start":"2999-12-31T23:00:00-14:00","end":"2999-12-31T23:30:00-14:00"}`, "start"},
		{`{"external_id":"a","workstage":"w","start":"0001-01-01T00:00:00Z","end":"0001-01-01T01:00:00Z"}`, "start"},
		{`{"external_id":"a","workstage":"w","start":"0000-01-01","all_day":true}`, "start"},
	}
	for _, tc := range cases {
		_, err := ParseEntry(KindJob, []byte(tc.body), "UTC")
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.body, err)
			}
			continue
		}
		ve, ok := err.(*ValidationError)
		if !ok || !ve.has(tc.field) {
			t.Errorf("%s: %v, want an error on %s", tc.body, err, tc.field)
		}
	}
}

func TestParseEntryRefusesReadOnlyFieldsByName(t *testing.T) {
	body := `{"id":"ent_x","version":3,"created_at":"2025-01-01T00:00:00Z","external_id":"a","workstage":"w","start":"2025-01-01"}`
	_, err := ParseEntry(KindJob, []byte(body), "UTC")
	ve, ok := err.(*ValidationError)
	if !ok || !ve.has("id") || !ve.has("version") || !ve.has("created_at") || ve.has("external_id") {
		t.Fatalf("%v", err)
	}
}

func TestCheckReadOnlyAcceptsWhatWasReadBack(t *testing.T) {
	at := time.Date(2025, 3, 1, 8, 0, 0, 123000, time.UTC)
	e := &Entry{ID: "ent_1", Version: 4, CreatedAt: at, UpdatedAt: at}
	same := map[string]json.RawMessage{"id": json.RawMessage(`"ent_1"`), "version": json.RawMessage(`4`),
		"created_at": json.RawMessage(`"2025-03-01T09:00:00.000123+01:00"`), "archived_at": json.RawMessage(`null`)}
	if err := e.CheckReadOnly(same); err != nil {
		t.Fatal(err)
	}
	changed := map[string]json.RawMessage{"version": json.RawMessage(`3`), "archived_at": json.RawMessage(`"2025-03-01T09:00:00Z"`)}
	ve, ok := e.CheckReadOnly(changed).(*ValidationError)
	if !ok || !ve.has("version") || !ve.has("archived_at") {
		t.Fatalf("%v", ve)
	}
}

// Entries made in code (subscriptions, compat surfaces, connectors) pass
// the same validation as parsed ones.
func TestValidateChecksEntriesMadeInCode(t *testing.T) {
	start := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
	good := func() *Entry {
		return &Entry{Kind: KindReservation, Source: "ical:sub_1", ExternalID: "uid-1", Title: "Busy\nall day", Resource: "Room 1",
			Status: StatusConfirmed, Start: start, End: start.Add(time.Hour), Details: Details{Customer: &Customer{Name: "Ann"}}}
	}
	if err := good().Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*Entry){
		"resource":      func(e *Entry) { e.Resource = strings.Repeat("r", MaxIDLength+1) },
		"external_id":   func(e *Entry) { e.ExternalID = "a\x00" },
		"title":         func(e *Entry) { e.Title = "a\x01" },
		"description":   func(e *Entry) { e.Description = "caf\xe9" },
		"customer.name": func(e *Entry) { e.Customer.Name = "a\x00" },
		"end":           func(e *Entry) { e.End = time.Date(3000, 1, 1, 0, 0, 1, 0, time.UTC) },
		"start":         func(e *Entry) { e.Start = time.Time{} },
		"status":        func(e *Entry) { e.Status = "" },
		"attributes":    func(e *Entry) { e.Attributes = json.RawMessage(`[1]`) },
		"attributes.x":  func(e *Entry) { e.Attributes = json.RawMessage(`{"x":"\u0000"}`) },
	}
	for field, spoil := range cases {
		e := good()
		spoil(e)
		ve, ok := e.Validate().(*ValidationError)
		if !ok || !ve.has(field) {
			t.Errorf("%s: %v", field, ve)
		}
	}
}
