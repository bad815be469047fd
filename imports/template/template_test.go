package template

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/calgate/calgate"
)

func mustTemplate(t *testing.T, doc string) *Template {
	t.Helper()
	tp, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("ParseTemplate: %v", err)
	}
	return tp
}

func TestParseTemplateNamesTheJSONPathOfEachMistake(t *testing.T) {
	const ok = `"name":"t","kind":"production_window","direction":"import"`
	const required = `"external_id":{"path":"id"},"start":{"path":"s"},"cost_centre":{"path":"c"}`
	tests := []struct {
		name  string
		doc   string
		field string
		msg   string
	}{
		{"not an object", `[]`, "body", "JSON object"},
		{"missing kind", `{"name":"t","direction":"import","fields":{}}`, "kind", "is required"},
		{"unknown kind", `{"name":"t","kind":"meeting","direction":"import"}`, "kind", "meeting"},
		{"missing name", `{"kind":"job","direction":"export","fields":{"a":{"path":"title"}}}`, "name", "is required"},
		{"bad direction", `{"name":"t","kind":"job","direction":"sideways"}`, "direction", "import or export"},
		{"unknown top-level key", `{` + ok + `,"colour":"red","fields":{` + required + `}}`, "colour", "unknown key"},
		{"bad date layout", `{` + ok + `,"fields":{` + required + `,"end":{"path":"e","transform":[{"type":"date","layout":"dd.MM.yyyy HH:mm qq"}]}}}`,
			"fields.end.transform[0].layout", "not a date letter"},
		{"unknown transform", `{` + ok + `,"fields":{` + required + `,"title":{"path":"t","transform":["trim",{"type":"shout"}]}}}`,
			"fields.title.transform[1].type", "unknown transform"},
		{"unknown transform option", `{` + ok + `,"fields":{` + required + `,"title":{"path":"t","transform":[{"type":"trim","hard":true}]}}}`,
			"fields.title.transform[0].hard", "unknown key"},
		{"bad zone", `{` + ok + `,"fields":{` + required + `,"end":{"path":"e","transform":[{"type":"date","zone":"Mars/Olympus"}]}}}`,
			"fields.end.transform[0].zone", "unknown time zone"},
		{"bad path", `{` + ok + `,"fields":{` + required + `,"title":{"path":"a..b"}}}`, "fields.title.path", "empty segment"},
		{"path above the root", `{` + ok + `,"for_each":"positions","fields":{` + required + `,"title":{"path":"^^.x"}}}`,
			"fields.title.path", "reaches up 2 levels"},
		{"field of another kind", `{` + ok + `,"fields":{` + required + `,"workstage":{"path":"w"}}}`,
			"fields.workstage", "field of job entries"},
		{"unknown field", `{` + ok + `,"fields":{` + required + `,"colour":{"path":"w"}}}`, "fields.colour", "not an entry field"},
		{"missing external_id", `{` + ok + `,"fields":{"start":{"path":"s"},"cost_centre":{"path":"c"}}}`, "fields.external_id", "is required"},
		{"mapping without source", `{` + ok + `,"fields":{` + required + `,"title":{"transform":["trim"]}}}`, "fields.title", "needs a path"},
		{"const and path", `{` + ok + `,"fields":{` + required + `,"title":{"path":"t","const":"x"}}}`, "fields.title.const", "cannot be combined"},
		{"printf without verb", `{` + ok + `,"fields":{` + required + `,"title":{"path":"t","transform":[{"type":"format","printf":"abc"}]}}}`,
			"fields.title.transform[0].printf", "exactly one verb"},
		{"lookup without table", `{` + ok + `,"fields":{` + required + `,"status":{"path":"t","transform":[{"type":"lookup"}]}}}`,
			"fields.status.transform[0].table", "is required"},
		{"column without field", `{"name":"t","kind":"reservation","direction":"import","columns":{"Start":{"transform":["trim"]}}}`,
			`columns.Start.field`, "is required"},
		{"for_each in a table", `{"name":"t","kind":"reservation","direction":"import","for_each":"x","columns":{"ID":"external_id","Start":"start","Room":"resource"}}`,
			"for_each", "tabular"},
		{"export with for_each", `{"name":"t","kind":"job","direction":"export","for_each":"x","fields":{"a":{"path":"title"}}}`,
			"for_each", "only for import"},
		{"export path outside the entry", `{"name":"t","kind":"job","direction":"export","fields":{"Label":{"path":"colour"}}}`,
			"fields.Label.path", "entry field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			var ve *calgate.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *calgate.ValidationError", err)
			}
			for _, fe := range ve.Errors {
				if fe.Field == tt.field && strings.Contains(fe.Message, tt.msg) {
					return
				}
			}
			t.Fatalf("errors %v do not name %s with %q", ve.Errors, tt.field, tt.msg)
		})
	}
}

func TestParseTemplateKeepsTheDocument(t *testing.T) {
	doc := `{"name": "t", "kind": "job", "direction": "export", "fields": {"Label": {"path": "title"}}}`
	tp := mustTemplate(t, doc)
	out, err := json.Marshal(tp)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"name":"t","kind":"job","direction":"export","fields":{"Label":{"path":"title"}}}` {
		t.Fatalf("MarshalJSON = %s", out)
	}
	if !tp.ShouldInsert || !tp.ShouldUpdate {
		t.Fatalf("should_insert/should_update default to true, got %v/%v", tp.ShouldInsert, tp.ShouldUpdate)
	}
}

const orderTemplate = `{
  "name": "orders", "kind": "production_window", "direction": "import",
  "for_each": ["positions", "tasks"],
  "should_update": false,
  "skip_if_missing": ["end"],
  "fields": {
    "external_id": {"transform": [{"type": "format", "pattern": "{$.no}-{^.pos}-{id}"}]},
    "cost_centre": {"path": "centre", "transform": ["upper"]},
    "order": {"path": "$.no"},
    "position": {"path": "^.pos"},
    "start": {"path": "from", "transform": [{"type": "date", "layout": "dd.MM.yyyy HH:mm", "zone": "Europe/Berlin"}]},
    "end": {"path": "to", "transform": [{"type": "date", "layout": "dd.MM.yyyy HH:mm", "zone": "Europe/Berlin"}]},
    "attributes.first_pos": {"path": "$.positions[0].pos"}
  }
}`

func TestMapWalksNestedArraysOneEntryPerTask(t *testing.T) {
	tp := mustTemplate(t, orderTemplate)
	if tp.ShouldUpdate || !tp.ShouldInsert {
		t.Fatalf("switches = insert %v update %v", tp.ShouldInsert, tp.ShouldUpdate)
	}
	doc := `{"no": "A-1", "positions": [
	  {"pos": 10, "tasks": [{"id": 1, "centre": "saw", "from": "20.09.2025 08:00", "to": "20.09.2025 12:00"}]},
	  {"pos": 20, "tasks": [
	    {"id": 2, "centre": "drill", "from": "21.09.2025 08:00"},
	    {"id": 3, "centre": "paint", "from": "22.09.2025 08:00", "to": "yesterday"}
	  ]},
	  {"pos": 30}
	]}`
	ps, err := tp.MapJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 {
		t.Fatalf("got %d produced, want 3: %+v", len(ps), ps)
	}
	if ps[0].Ref != "positions[0].tasks[0]" || ps[1].Ref != "positions[1].tasks[0]" || ps[2].Ref != "positions[1].tasks[1]" {
		t.Fatalf("refs = %q %q %q", ps[0].Ref, ps[1].Ref, ps[2].Ref)
	}
	e, err := tp.Parse(ps[0], "UTC")
	if err != nil {
		t.Fatal(err)
	}
	if e.ExternalID != "A-1-10-1" || e.Resource != "SAW" || e.Order != "A-1" || e.Position != "10" {
		t.Fatalf("entry = %+v", e)
	}
	if got := e.Start.Format("2006-01-02T15:04:05Z07:00"); got != "2025-09-20T08:00:00+02:00" {
		t.Fatalf("start = %s", got)
	}
	if string(e.Attributes) != `{"first_pos":10}` {
		t.Fatalf("attributes = %s", e.Attributes)
	}
	if ps[1].Skipped == "" || ps[1].Fields != nil || ps[1].Err != nil {
		t.Fatalf("task without an end: %+v, want skipped", ps[1])
	}
	if !strings.Contains(ps[1].Skipped, "positions[1].tasks[0].to") {
		t.Fatalf("skip reason %q does not say where", ps[1].Skipped)
	}
	if ps[2].Err == nil || ps[2].Err.Errors[0].Field != "positions[1].tasks[1].to" {
		t.Fatalf("bad date: %+v", ps[2].Err)
	}
}

func TestMapAcceptsAListOfRecords(t *testing.T) {
	tp := mustTemplate(t, orderTemplate)
	var v any
	if err := json.Unmarshal([]byte(`[{"no":"A","positions":[{"pos":1,"tasks":[{"id":1,"centre":"x","from":"01.10.2025 08:00","to":"01.10.2025 09:00"}]}]}, 7]`), &v); err != nil {
		t.Fatal(err)
	}
	ps, err := tp.Map(v)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Ref != "[0].positions[0].tasks[0]" || ps[0].Fields == nil || ps[1].Err == nil {
		t.Fatalf("produced %+v", ps)
	}
	if _, err := tp.Map("text"); err == nil {
		t.Fatal("a string record was accepted")
	}
}

func TestTransforms(t *testing.T) {
	tests := []struct {
		name    string
		mapping string
		record  string
		want    any // nil: no value
		wantErr string
	}{
		{"date with letters and zone", `{"path":"v","transform":[{"type":"date","layout":"dd.MM.yyyy HH:mm","zone":"Europe/Berlin"}]}`, `{"v":"26.10.2025 08:00"}`, "2025-10-26T08:00:00+01:00", ""},
		{"date with a Go layout", `{"path":"v","transform":[{"type":"date","layout":"02/01/2006 15:04","zone":"UTC"}]}`, `{"v":"05/03/2025 09:15"}`, "2025-03-05T09:15:00Z", ""},
		{"date without zone stays local", `{"path":"v","transform":[{"type":"date","layout":"yyyyMMddHHmmss"}]}`, `{"v":"20250920080000"}`, "2025-09-20T08:00:00", ""},
		{"date only", `{"path":"v","transform":[{"type":"date","layout":"d.M.yyyy"}]}`, `{"v":"1.7.2025"}`, "2025-07-01", ""},
		{"date keeps an offset", `{"path":"v","transform":[{"type":"date"}]}`, `{"v":"2025-10-01T06:00:00+03:00"}`, "2025-10-01T06:00:00+03:00", ""},
		{"date with output layout", `{"path":"v","transform":[{"type":"date","zone":"UTC","output":"yyyyMMddHHmmss"}]}`, `{"v":"2025-10-01T06:00:00+03:00"}`, "20251001030000", ""},
		{"Excel serial number", `{"path":"v","transform":[{"type":"date"}]}`, `{"v":45920.5}`, "2025-09-20T12:00:00", ""},
		{"Excel serial as text", `{"path":"v","transform":[{"type":"date","zone":"Europe/Berlin"}]}`, `{"v":"45920.25"}`, "2025-09-20T06:00:00+02:00", ""},
		{"Excel serial whole day", `{"path":"v","transform":[{"type":"date"}]}`, `{"v":"45920"}`, "2025-09-20", ""},
		{"bad date", `{"path":"v","transform":[{"type":"date","layout":"dd.MM.yyyy"}]}`, `{"v":"32.01.2025"}`, nil, "does not match the date layout"},
		{"pattern", `{"transform":[{"type":"format","pattern":"{a}-{b.c} {{x}}"}]}`, `{"a":"X","b":{"c":7}}`, "X-7 {x}", ""},
		{"pattern with the value", `{"path":"a","transform":[{"type":"format","pattern":"task-{}"}]}`, `{"a":12}`, "task-12", ""},
		{"pattern with nothing found", `{"transform":[{"type":"format","pattern":"{a}/{b}"}]}`, `{}`, nil, ""},
		{"printf", `{"path":"a","transform":[{"type":"format","printf":"%06d"}]}`, `{"a":"42"}`, "000042", ""},
		{"printf float", `{"path":"a","transform":[{"type":"format","printf":"%.1f h"}]}`, `{"a":2.25}`, "2.2 h", ""},
		{"join", `{"transform":[{"type":"join","paths":["a","b","c"],"separator":", "}]}`, `{"a":"x","b":"","c":3}`, "x, 3", ""},
		{"join a list", `{"path":"tags","transform":[{"type":"join","separator":"|"}]}`, `{"tags":["a","b"]}`, "a|b", ""},
		{"lookup", `{"path":"s","transform":[{"type":"lookup","table":{"Reserved":"tentative"}}]}`, `{"s":"RESERVED"}`, "tentative", ""},
		{"lookup default", `{"path":"s","transform":[{"type":"lookup","table":{"a":"b"},"default":"confirmed"}]}`, `{"s":"zzz"}`, "confirmed", ""},
		{"lookup miss", `{"path":"s","transform":[{"type":"lookup","table":{"a":"b"}}]}`, `{"s":"zzz"}`, nil, "not in the lookup table"},
		{"number with comma", `{"path":"n","transform":[{"type":"number","decimal_separator":",","thousands_separator":".","decimals":1}]}`, `{"n":"1.234,56"}`, 1234.6, ""},
		{"number rounded to whole", `{"path":"n","transform":[{"type":"number","decimals":0}]}`, `{"n":"2.5"}`, int64(3), ""},
		{"bad number", `{"path":"n","transform":[{"type":"number"}]}`, `{"n":"two"}`, nil, "not a number"},
		{"lower upper trim", `{"path":"s","transform":["trim","lower"]}`, `{"s":"  MiXed "}`, "mixed", ""},
		{"upper", `{"path":"s","transform":["upper"]}`, `{"s":"größe"}`, "GRÖßE", ""},
		{"default when missing", `{"path":"s","default":"none"}`, `{"s":"  "}`, "none", ""},
		{"fallback path", `{"path":["a","b"]}`, `{"b":"second"}`, "second", ""},
		{"const", `{"const":"fixed"}`, `{}`, "fixed", ""},
		{"object where a value is expected", `{"path":"o","transform":["trim"]}`, `{"o":{"x":1}}`, nil, "is an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &compiler{errs: &calgate.ValidationError{}}
			o, _ := decodeObject([]byte(tt.mapping), "m", c.errs)
			fm := c.mappingFrom(o, "title")
			if err := c.errs.Err(); err != nil {
				t.Fatalf("mapping: %v", err)
			}
			rec, err := Decode([]byte(tt.record))
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := fm.eval(levelGetter{{value: rec}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if ok {
					t.Fatalf("got %#v, want no value", got)
				}
				return
			}
			if !ok || got != tt.want {
				t.Fatalf("got %#v (%v), want %#v", got, ok, tt.want)
			}
		})
	}
}

func TestExportRendersForeignNamesAndNestedObjects(t *testing.T) {
	tp := mustTemplate(t, `{"name":"x","kind":"reservation","direction":"export","fields":{
	  "Subject": {"path": "title", "transform": ["upper"]},
	  "Customer.Name": {"path": "customer.name"},
	  "Customer.Mail": {"path": "customer.email", "default": "unknown"},
	  "Room": {"path": "resource"},
	  "Seats": {"path": "quantity"},
	  "Begin": {"path": "start", "transform": [{"type": "date", "output": "dd.MM.yyyy HH:mm"}]},
	  "Colour": {"path": "attributes.colour"},
	  "Missing": {"path": "location"}
	}}`)
	e, err := calgate.ParseEntry(calgate.KindReservation, []byte(`{"external_id":"r1","title":"Team day","resource":"Room 1",
	  "start":"2025-09-20T08:00:00","end":"2025-09-20T10:00:00","customer":{"name":"Ada"},"quantity":4,"attributes":{"colour":"red"}}`), "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	out, err := tp.Export(e)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(out)
	want := `{"Begin":"20.09.2025 08:00","Colour":"red","Customer":{"Mail":"unknown","Name":"Ada"},"Room":"Room 1","Seats":4,"Subject":"TEAM DAY"}`
	if string(got) != want {
		t.Fatalf("export = %s\nwant     %s", got, want)
	}
	job := &calgate.Entry{Kind: calgate.KindJob}
	if _, err := tp.Export(job); err == nil {
		t.Fatal("a job was rendered by a reservation template")
	}
}

func TestEntriesValidatesEveryProducedEntry(t *testing.T) {
	tp := mustTemplate(t, orderTemplate)
	rec, _ := Decode([]byte(`{"no":"A","positions":[{"pos":1,"tasks":[
	  {"id":1,"centre":"x","from":"01.10.2025 08:00","to":"01.10.2025 09:00"},
	  {"id":2,"centre":"x","from":"01.10.2025 08:00"},
	  {"id":3,"centre":"x","from":"01.10.2025 10:00","to":"01.10.2025 09:00"}]}]}`))
	items, err := tp.Entries(rec, "UTC")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 || items[0].Entry == nil || items[1].Skipped == "" || items[2].Err == nil {
		t.Fatalf("items = %+v", items)
	}
	if !strings.Contains(items[2].Err.Error(), "positions[0].tasks[2].to: end: must be after start") {
		t.Fatalf("err = %v", items[2].Err)
	}
}
