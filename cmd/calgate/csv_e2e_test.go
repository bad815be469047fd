package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/internal/testenv"
)

// pyCSV parses a CSV file with Python's csv module (as Excel's dialect,
// the BOM taken off by utf-8-sig) and returns its rows as dictionaries.
const pyCSV = `import csv, json, sys
with open(sys.argv[1], newline='', encoding='utf-8-sig') as f:
    r = csv.DictReader(f)
    print(json.dumps({"header": r.fieldnames, "rows": list(r)}))
`

type parsedCSV struct {
	Header []string            `json:"header"`
	Rows   []map[string]string `json:"rows"`
}

func parseWithPython(t *testing.T, data []byte) parsedCSV {
	t.Helper()
	py := os.Getenv("CALGATE_TEST_PYTHON")
	if py == "" {
		py = "python3"
	}
	dir := t.TempDir()
	file, script := filepath.Join(dir, "list.csv"), filepath.Join(dir, "parse.py")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte(pyCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, script, file).Output()
	if err != nil {
		testenv.Missing(t, "%s cannot run the csv module: %v", py, err)
	}
	var p parsedCSV
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// spreadsheetRows opens a CSV file in Gnumeric (its ssconvert turns it
// into a workbook, as opening it would) and reads the workbook back.
func spreadsheetRows(t *testing.T, data []byte) [][]string {
	t.Helper()
	if _, err := exec.LookPath("ssconvert"); err != nil {
		testenv.Missing(t, "ssconvert is not on PATH (Debian package gnumeric)")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "list.csv"), filepath.Join(dir, "list.xlsx")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ssconvert", "--import-type=Gnumeric_stf:stf_csvtab", in, out)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssconvert: %v: %s", err, msg)
	}
	f, err := excelize.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetList()[0])
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// jsonCell is what a CSV cell holds for a JSON value.
func jsonCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	data, _ := json.Marshal(v)
	return string(data)
}

func TestListsAnswerCSVEqualToTheirJSON(t *testing.T) {
	g := startGateway(t, engines()[0])
	var items []map[string]any
	for i := range 1205 {
		items = append(items, map[string]any{"external_id": fmt.Sprintf("R-%04d", i), "resource": "Room 3", "start": "2025-11-01", "end": "2025-11-03",
			"title": fmt.Sprintf(`Stay %d, "Seeblick"`, i), "quantity": i % 4})
	}
	items[0]["description"] = "Arrives late,\nkey in the mailbox; 10% off"
	items[0]["customer"] = map[string]any{"name": "Jürgen Müller 日本", "email": "j@example.com"}
	items[0]["attributes"] = map[string]any{"Notes": "a,b", "n": 2}
	items[1]["title"] = "=1+2"
	items[2]["status"] = "tentative"
	g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations/bulk", map[string]any{"items": items})

	// The JSON list, every page, with a filter.
	var want []map[string]any
	cursor := ""
	for {
		page := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/reservations?status=confirmed&limit=1000&cursor="+cursor, nil))
		for _, it := range page["items"].([]any) {
			want = append(want, it.(map[string]any))
		}
		if cursor = page["next_cursor"].(string); cursor == "" {
			break
		}
	}
	if len(want) != 1204 {
		t.Fatalf("JSON list: %d", len(want))
	}
	status, byAccept, hdr := g.call(t, http.MethodGet, "/v1/reservations?status=confirmed", nil, "Accept", "text/csv")
	if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || bytes.HasPrefix(byAccept, []byte("\xef\xbb\xbf")) {
		t.Fatalf("Accept: text/csv: %d %s", status, hdr)
	}
	bySuffix := g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/reservations.csv?status=confirmed&bom=true", nil)
	if !bytes.HasPrefix(bySuffix, []byte("\xef\xbb\xbf")) || !bytes.Equal(bySuffix[3:], byAccept) || !bytes.Contains(byAccept, []byte("\r\n")) {
		t.Fatal("the .csv answer with bom=true is not the Accept answer with a BOM and CRLF lines")
	}
	parsed := parseWithPython(t, bySuffix)
	if !reflect.DeepEqual(parsed.Header, api.EntryCSVColumns("reservation")) || len(parsed.Rows) != len(want) {
		t.Fatalf("header %v, %d rows", parsed.Header, len(parsed.Rows))
	}
	for i, w := range want {
		row := parsed.Rows[i]
		for _, col := range parsed.Header {
			var v any
			if key, ok := strings.CutPrefix(col, "customer."); ok {
				v = w["customer"].(map[string]any)[key]
			} else {
				v = w[col]
			}
			got, exp := row[col], jsonCell(v)
			if col == "attributes" {
				var a, b any
				_ = json.Unmarshal([]byte(got), &a)
				_ = json.Unmarshal([]byte(exp), &b)
				if reflect.DeepEqual(a, b) {
					continue
				}
			}
			if got != exp {
				t.Fatalf("row %d column %s: CSV %q, JSON %q", i, col, got, exp)
			}
		}
	}

	// Opened in a spreadsheet: the same rows and the text cells intact.
	sheet := spreadsheetRows(t, bySuffix)
	if len(sheet) != len(want)+1 || !reflect.DeepEqual(sheet[0][:4], parsed.Header[:4]) {
		t.Fatalf("spreadsheet: %d rows, header %v", len(sheet), sheet[0])
	}
	col := map[string]int{}
	for i, h := range sheet[0] {
		col[h] = i
	}
	// A title that is a formula to a spreadsheet is run as one, unless
	// escape_formulas asks otherwise.
	formula := 0
	for i, w := range want {
		if w["title"] == "=1+2" {
			formula = i + 1
		}
	}
	if got := sheet[formula][4]; got != "3" {
		t.Fatalf("the spreadsheet shows %q for =1+2", got)
	}
	escaped := spreadsheetRows(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/reservations.csv?status=confirmed&bom=true&escape_formulas=true", nil))
	// (Gnumeric takes the apostrophe as its text marker; Excel shows it.)
	if got := escaped[formula][4]; got != "=1+2" && got != "'=1+2" {
		t.Fatalf("with escape_formulas the spreadsheet shows %q for =1+2", got)
	}
	sheet[formula][4] = "=1+2"
	for i, w := range want {
		r := sheet[i+1]
		cell := func(name string) string {
			if col[name] < len(r) {
				return r[col[name]]
			}
			return ""
		}
		if cell("external_id") != w["external_id"] || cell("title") != w["title"] || cell("description") != w["description"] ||
			cell("customer.name") != jsonCell(w["customer"].(map[string]any)["name"]) {
			t.Fatalf("spreadsheet row %d = %q, JSON %v", i+1, r, w)
		}
	}

	// Other lists: the page as CSV, the same filters.
	tokens := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/tokens", nil))["items"].([]any)
	tcsv := parseWithPython(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/tokens.csv", nil))
	if len(tcsv.Rows) != len(tokens) || tcsv.Rows[0]["id"] != tokens[0].(map[string]any)["id"] || tcsv.Rows[0]["admin"] != "true" {
		t.Fatalf("tokens as CSV = %v, JSON %v", tcsv, tokens)
	}
	// limit caps the rows of an entry list; a paged list names the next page.
	if capped := parseWithPython(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/reservations.csv?limit=3", nil)); len(capped.Rows) != 3 {
		t.Fatalf("limit=3: %d rows", len(capped.Rows))
	}
	events := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/events?limit=2", nil))
	status, evCSV, evHdr := g.call(t, http.MethodGet, "/v1/events.csv?limit=2", nil)
	if ev := parseWithPython(t, evCSV); status != http.StatusOK || len(ev.Rows) != 2 || evHdr.Get("X-Next-Cursor") == "" ||
		evHdr.Get("X-Next-Cursor") != events["next_cursor"] || ev.Rows[0]["id"] != jsonCell(events["items"].([]any)[0].(map[string]any)["id"]) {
		t.Fatalf("events as CSV: %d %v %s", status, evHdr, evCSV)
	}
	// Errors stay problem documents.
	status, data, hdr := g.call(t, http.MethodGet, "/v1/reservations.csv?status=gone", nil)
	if status != http.StatusBadRequest || hdr.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(data), "status") {
		t.Fatalf("bad filter as CSV: %d %s %s", status, hdr.Get("Content-Type"), data)
	}

	// Export templates write CSV too.
	g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/jobs", map[string]any{"external_id": "J,1", "source": "erp", "title": `Weld "A"`,
		"workstage": "Welding", "order": "O-1", "start": "2025-10-27 07:00:00", "end": "2025-10-27 11:30:00"})
	page := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/export/planningpme-tasks", nil))["items"].([]any)
	exp := parseWithPython(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/export/planningpme-tasks.csv", nil))
	if len(exp.Rows) != 1 || len(page) != 1 {
		t.Fatalf("export CSV %v, JSON %v", exp, page)
	}
	for k, v := range page[0].(map[string]any) {
		if exp.Rows[0][k] != jsonCell(v) {
			t.Fatalf("export column %s: CSV %q, JSON %q", k, exp.Rows[0][k], jsonCell(v))
		}
	}
}
