package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// postRaw sends a raw body with a content type and the admin token.
func (g *testGateway) postRaw(t *testing.T, path, ctype string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+g.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	if m == nil {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, data)
	}
	return resp.StatusCode, m
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "imports", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func num(m map[string]any, k string) int {
	f, _ := m[k].(float64)
	return int(f)
}

func counts(m map[string]any) string {
	return fmt.Sprintf("created=%d updated=%d unchanged=%d failed=%d archived=%d skipped=%d",
		num(m, "created"), num(m, "updated"), num(m, "unchanged"), num(m, "failed"), num(m, "archived"), num(m, "skipped"))
}

func importJSON(t *testing.T, g *testGateway, template string, body map[string]any) map[string]any {
	t.Helper()
	return decode(t, g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/import/"+template, body))
}

func TestImportsBuiltinTemplatesEndToEnd(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		var order any
		if err := json.Unmarshal(readTestdata(t, "planningnow-order.json"), &order); err != nil {
			t.Fatal(err)
		}
		rep := importJSON(t, g, "planningnow-order", map[string]any{"model": order, "verbose": true})
		if num(rep, "created") == 0 || num(rep, "failed") != 0 {
			t.Fatalf("planningnow: %s %v", counts(rep), rep["errors"])
		}
		again := importJSON(t, g, "planningnow-order", map[string]any{"model": []any{order}})
		if num(again, "unchanged") != num(rep, "created") || num(again, "created") != 0 {
			t.Fatalf("second import: %s", counts(again))
		}
		list := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/production-windows?source=planningnow", nil))
		items := list["items"].([]any)
		if len(items) != num(rep, "created") {
			t.Fatalf("%d production windows listed, %d created", len(items), num(rep, "created"))
		}
		first := items[0].(map[string]any)
		if first["cost_centre"] == "" || first["order"] != "PROJ-2025-Q4" {
			t.Fatalf("production window = %v", first)
		}

		var sky any
		if err := json.Unmarshal(readTestdata(t, "skyplanner-order.json"), &sky); err != nil {
			t.Fatal(err)
		}
		rep = importJSON(t, g, "skyplanner-order", map[string]any{"model": sky, "verbose": true})
		if num(rep, "created") == 0 || num(rep, "failed") != 0 {
			t.Fatalf("skyplanner: %s %v", counts(rep), rep["errors"])
		}

		status, rep := g.postRaw(t, "/v1/import/planyo-reservations?verbose=true", "text/csv", readTestdata(t, "planyo-reservations.csv"))
		// The seed-shaped report has a bad end date on line 7 and a short row on line 8.
		if status != http.StatusOK || num(rep, "created") != 3 || num(rep, "failed") != 2 ||
			!strings.Contains(fmt.Sprint(rep["errors"]), "line 7") || !strings.Contains(fmt.Sprint(rep["errors"]), "line 8") {
			t.Fatalf("planyo: %d %s %v", status, counts(rep), rep["errors"])
		}
	})
}

func TestImportsSkippedRecordHasReason(t *testing.T) {
	g := startGateway(t, engines()[0])
	order := map[string]any{"id": 9, "project_no": "P-9", "positions": []any{map[string]any{"id": 1, "pos_no": 1, "tasks": []any{
		map[string]any{"id": 901, "cost_centre_name": "Paint", "activity_name": "Coat"},
	}}}}
	rep := importJSON(t, g, "planningnow-order", map[string]any{"model": order, "verbose": true})
	if num(rep, "skipped") != 1 || num(rep, "created") != 0 {
		t.Fatalf("%s", counts(rep))
	}
	op := rep["operations"].([]any)[0].(map[string]any)
	if op["operation"] != "skipped" || op["reason"] == "" || !strings.Contains(op["ref"].(string), "tasks[0]") {
		t.Fatalf("operation = %v", op)
	}
}

// csvTemplate is a tabular template for the CSV edge cases.
const csvTemplate = `{"name": "shop-bookings", "kind": "reservation", "direction": "import", "input": "table",
 "columns": {"Booking": "external_id", "Room": "resource", "Guest": "title",
   "Start": {"field": "start", "transform": [{"type": "date", "layout": "dd.MM.yyyy HH:mm"}]},
   "End": {"field": "end", "transform": [{"type": "date", "layout": "dd.MM.yyyy HH:mm"}]}},
 "fields": {"source": {"const": "shop"}}}`

// csvRows is n bookings of an hour each, from row from on, spread over
// three rooms so that none overlaps another: a test of the import, not of
// a crowd of double bookings.
func csvRows(n int, from int) string {
	var b strings.Builder
	b.WriteString("Booking;Room;Guest;Start;End;Note\n")
	first := time.Date(2025, 7, 1, 9, 0, 0, 0, time.UTC)
	for i := from; i < from+n; i++ {
		start := first.Add(time.Duration(i) * time.Hour)
		fmt.Fprintf(&b, "b%d;Room %d;Guest %d;%s;%s;n%d\n", i, i%3, i, start.Format("02.01.2006 15:04"), start.Add(time.Hour).Format("02.01.2006 15:04"), i)
	}
	return b.String()
}

func TestImportsSimulateStopOnErrorAndSync(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/templates", json.RawMessage(csvTemplate))

		_, rep := g.postRaw(t, "/v1/import/shop-bookings?simulate=true", "text/csv", []byte(csvRows(5, 1)))
		if num(rep, "created") != 5 || rep["simulated"] != true {
			t.Fatalf("simulate: %s", counts(rep))
		}
		list := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/reservations?source=shop", nil))
		if n := len(list["items"].([]any)); n != 0 {
			t.Fatalf("simulate wrote %d entries", n)
		}
		_, rep = g.postRaw(t, "/v1/import/shop-bookings", "text/csv", []byte(csvRows(5, 1)))
		if num(rep, "created") != 5 {
			t.Fatalf("import: %s", counts(rep))
		}

		bad := "Booking;Room;Guest;Start;End\nb10;R;G;01.07.2025 09:00;01.07.2025 10:00\nb11;R;G;not a date;01.07.2025 10:00\nb12;R;G;01.07.2025 09:00;01.07.2025 10:00\n"
		_, rep = g.postRaw(t, "/v1/import/shop-bookings?stop_on_error=true", "text/csv", []byte(bad))
		if num(rep, "created") != 1 || num(rep, "failed") != 1 || rep["stopped"] != true {
			t.Fatalf("stop_on_error: %s %v", counts(rep), rep)
		}

		// A snapshot with b1..b3 archives b4, b5 and b10; simulated first.
		_, rep = g.postRaw(t, "/v1/import/shop-bookings?mode=sync&simulate=true", "text/csv", []byte(csvRows(3, 1)))
		if num(rep, "archived") != 3 || num(rep, "unchanged") != 3 {
			t.Fatalf("simulated sync: %s %v", counts(rep), rep)
		}
		_, rep = g.postRaw(t, "/v1/import/shop-bookings?mode=sync", "text/csv", []byte(csvRows(3, 1)))
		if num(rep, "archived") != 3 {
			t.Fatalf("sync: %s", counts(rep))
		}
		list = decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/reservations?source=shop", nil))
		if n := len(list["items"].([]any)); n != 3 {
			t.Fatalf("%d live entries after sync, want 3", n)
		}
	})
}

func TestImportsCSVEdgeCasesThroughEndpoint(t *testing.T) {
	g := startGateway(t, engines()[0])
	g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/templates", json.RawMessage(csvTemplate))
	win, err := charmap.Windows1252.NewEncoder().String("Booking;Room;Guest;Start;End\nw1;Zimmer;Jörg Müller;01.07.2025 09:00;01.07.2025 10:00\n")
	if err != nil {
		t.Fatal(err)
	}
	badLine7 := "Booking,Room,Guest,Start,End\n" +
		"c1,R,G,01.07.2025 09:00,01.07.2025 10:00\n" +
		"c2,R,\"two\nlines\",01.07.2025 09:00,01.07.2025 10:00\n" + // lines 3-4
		"c3,R,G,01.07.2025 09:00,01.07.2025 10:00\n" +
		"c4,R,G,01.07.2025 09:00,01.07.2025 10:00\n" +
		"c5,R,G,31.02.2025 09:00,01.07.2025 10:00\n" // line 7
	tests := []struct {
		name    string
		body    string
		created int
		failed  int
		check   func(t *testing.T, rep map[string]any)
	}{
		{name: "BOM and semicolons", body: "\ufeff" + csvRows(2, 100), created: 2},
		{name: "Windows-1252", body: win, created: 1},
		{name: "quoted newlines and a bad date on line 7", body: badLine7, created: 4, failed: 1, check: func(t *testing.T, rep map[string]any) {
			e := rep["errors"].([]any)[0].(map[string]any)
			if e["ref"] != "line 7" || !strings.Contains(fmt.Sprint(e["errors"]), "line 7") {
				t.Fatalf("error = %v", e)
			}
		}},
		{name: "short row", body: "Booking;Room;Guest;Start;End\ns1;R;G;01.07.2025 09:00\n", failed: 1, check: func(t *testing.T, rep map[string]any) {
			if !strings.Contains(fmt.Sprint(rep["errors"]), "line 2") {
				t.Fatalf("errors = %v", rep["errors"])
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, rep := g.postRaw(t, "/v1/import/shop-bookings", "text/csv", []byte(tc.body))
			if status != http.StatusOK || num(rep, "created") != tc.created || num(rep, "failed") != tc.failed {
				t.Fatalf("%d %s %v", status, counts(rep), rep["errors"])
			}
			if tc.check != nil {
				tc.check(t, rep)
			}
		})
	}
	list := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/reservations?source=shop&limit=1000", nil))
	found := false
	for _, it := range list["items"].([]any) {
		if m := it.(map[string]any); m["external_id"] == "w1" {
			found = m["title"] == "Jörg Müller"
		}
	}
	if !found {
		t.Fatal("the Windows-1252 row was not decoded")
	}
}

func TestImportsXLSXRawAndMultipart(t *testing.T) {
	g := startGateway(t, engines()[0])
	g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/templates", json.RawMessage(csvTemplate))
	// The bookings are on the workbook's second sheet, after a cover
	// sheet, as exports often are.
	buf := bytes.NewBuffer(readTestdata(t, "bookings-two-sheets.xlsx"))
	const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	status, rep := g.postRaw(t, "/v1/import/shop-bookings?sheet=bookings", xlsxType, buf.Bytes())
	if status != http.StatusOK || num(rep, "created") != 2 {
		t.Fatalf("xlsx: %d %s %v", status, counts(rep), rep["errors"])
	}
	multipartBody := func(fields map[string]string, file []byte) (string, []byte) {
		var mp bytes.Buffer
		w := multipart.NewWriter(&mp)
		for k, v := range fields {
			_ = w.WriteField(k, v)
		}
		fw, _ := w.CreateFormFile("file", "bookings.xlsx")
		fw.Write(file)
		w.Close()
		return w.FormDataContentType(), mp.Bytes()
	}
	ctype, body := multipartBody(map[string]string{"simulate": "true", "sheet": "Bookings"}, buf.Bytes())
	status, rep = g.postRaw(t, "/v1/import/shop-bookings", ctype, body)
	if status != http.StatusOK || num(rep, "unchanged") != 2 || rep["simulated"] != true {
		t.Fatalf("multipart: %d %s %v", status, counts(rep), rep)
	}
	// Naming a sheet the workbook lacks, or one for a CSV file, is a 422
	// that names the setting, and imports nothing.
	for _, tc := range []struct{ query, ctype string }{
		{"?sheet=Invoices", xlsxType},
		{"?sheet=Bookings", "text/csv"},
	} {
		file := buf.Bytes()
		if tc.ctype == "text/csv" {
			file = []byte("Booking,Room,Guest,Start,End\nx3,Hall,Cy,03.07.2025 09:00,03.07.2025 10:00\n")
		}
		status, rep = g.postRaw(t, "/v1/import/shop-bookings"+tc.query, tc.ctype, file)
		errs, _ := rep["errors"].([]any)
		if status != http.StatusUnprocessableEntity || len(errs) != 1 || errs[0].(map[string]any)["field"] != "sheet" {
			t.Fatalf("%s %s: %d %v", tc.query, tc.ctype, status, rep)
		}
	}
	// JSON records have no sheets either.
	status, body, _ = g.call(t, http.MethodPost, "/v1/import/planningnow-order?sheet=Bookings", map[string]any{"model": map[string]any{"id": 1}})
	if status != http.StatusUnprocessableEntity || !slices.Contains(problemFields(t, body), "sheet") {
		t.Fatalf("JSON import with a sheet: %d %s", status, body)
	}
	// An Excel 97-2003 file is refused with what to do about it.
	xls := append([]byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}, make([]byte, 504)...)
	status, rep = g.postRaw(t, "/v1/import/shop-bookings", "application/vnd.ms-excel", xls)
	if errs, _ := rep["errors"].([]any); status != http.StatusUnprocessableEntity || len(errs) != 1 ||
		errs[0].(map[string]any)["field"] != "file" || !strings.Contains(fmt.Sprint(errs[0]), ".xlsx") {
		t.Fatalf("legacy workbook: %d %v", status, rep)
	}
	list := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/reservations?source=shop", nil))
	if items, _ := list["items"].([]any); len(items) != 2 {
		t.Fatalf("after refused imports: %d entries, want the 2 imported", len(items))
	}
}

func TestImportsExportSinceBothFormats(t *testing.T) {
	g := startGateway(t, engines()[0])
	job := func(id string) map[string]any {
		return map[string]any{"external_id": id, "source": "erp", "title": "Job " + id, "workstage": "Laser",
			"start": "2025-09-20T08:00:00", "end": "2025-09-20T10:00:00"}
	}
	g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/jobs", job("j1"))
	time.Sleep(1100 * time.Millisecond) // whole seconds apart, for the yyyyMMddHHmmss form
	mid := time.Now().UTC()
	time.Sleep(1100 * time.Millisecond)
	g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/jobs", job("j2"))
	for _, since := range []string{mid.Format(time.RFC3339), mid.Format("20060102150405")} {
		page := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/export/planningpme-tasks?since="+since, nil))
		items := page["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["ExternalId"] != "j2" || items[0].(map[string]any)["Resource"] != "Laser" {
			t.Fatalf("since %s: %v", since, items)
		}
	}
	all := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/export/planningpme-tasks", nil))
	if len(all["items"].([]any)) != 2 {
		t.Fatalf("all: %v", all)
	}
	g.mustCall(t, http.StatusBadRequest, http.MethodGet, "/v1/export/planningpme-tasks?since=yesterday", nil)
}

func TestImportsTemplatesCRUDAndIsolation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		list := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/templates", nil))
		if n := len(list["items"].([]any)); n != 4 {
			t.Fatalf("%d templates listed, want the 4 built-ins", n)
		}
		bad := `{"name": "broken", "kind": "job", "direction": "import", "fields": {"start": {"path": "s", "transform": [{"type": "date", "zone": "Mars/Base"}]}}}`
		status, body, _ := g.call(t, http.MethodPost, "/v1/templates", json.RawMessage(bad))
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), "fields.start.transform[0].zone") {
			t.Fatalf("bad template: %d %s", status, body)
		}
		g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/templates", json.RawMessage(csvTemplate))
		g.mustCall(t, http.StatusConflict, http.MethodPost, "/v1/templates", json.RawMessage(csvTemplate))
		g.mustCall(t, http.StatusOK, http.MethodPut, "/v1/templates/shop-bookings", json.RawMessage(csvTemplate))
		got := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/templates/shop-bookings", nil))
		if got["builtin"] != false || got["template"] == nil {
			t.Fatalf("get = %v", got)
		}
		builtin := strings.Replace(csvTemplate, "shop-bookings", "planyo-reservations", 1)
		g.mustCall(t, http.StatusConflict, http.MethodPut, "/v1/templates/planyo-reservations", json.RawMessage(builtin))
		g.mustCall(t, http.StatusConflict, http.MethodDelete, "/v1/templates/planyo-reservations", nil)

		other := g.newWorkspaceToken(t, "other")
		status, _, _ = g.callAs(t, other, http.MethodGet, "/v1/templates/shop-bookings", nil)
		if status != http.StatusNotFound {
			t.Fatalf("other workspace reads the template: %d", status)
		}
		status, _, _ = g.callAs(t, other, http.MethodPost, "/v1/import/shop-bookings", map[string]any{"model": map[string]any{}})
		if status != http.StatusNotFound {
			t.Fatalf("other workspace imports through it: %d", status)
		}
		g.mustCall(t, http.StatusNoContent, http.MethodDelete, "/v1/templates/shop-bookings", nil)
		g.mustCall(t, http.StatusNotFound, http.MethodGet, "/v1/templates/shop-bookings", nil)
	})
}

func TestImportsCLILocalAndRemote(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "planyo.csv")
	if err := os.WriteFile(file, readTestdata(t, "planyo-reservations.csv"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	dataDir := filepath.Join(dir, "data")
	err := run(context.Background(), []string{"import", "--template", "planyo-reservations", "--data-dir", dataDir, file}, &out, &errOut)
	if err != nil {
		t.Fatalf("local import: %v\n%s", err, errOut.String())
	}
	rep := decode(t, out.Bytes())
	if num(rep, "created") == 0 || !strings.Contains(errOut.String(), "rows processed") {
		t.Fatalf("local: %s; stderr %q", counts(rep), errOut.String())
	}

	g := startGateway(t, engines()[0])
	out.Reset()
	errOut.Reset()
	err = run(context.Background(), []string{"import", "--template", "planyo-reservations", "--url", g.URL, "--token", g.Token, file}, &out, &errOut)
	if err != nil {
		t.Fatalf("remote import: %v\n%s", err, errOut.String())
	}
	remote := decode(t, out.Bytes())
	if num(remote, "created") != num(rep, "created") {
		t.Fatalf("remote: %s, local %s", counts(remote), counts(rep))
	}

	// A workbook's sheet is chosen by name, locally and remotely.
	book := filepath.Join(dir, "bookings.xlsx")
	if err := os.WriteFile(book, readTestdata(t, "bookings-two-sheets.xlsx"), 0o600); err != nil {
		t.Fatal(err)
	}
	g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/templates", json.RawMessage(csvTemplate))
	out.Reset()
	err = run(context.Background(), []string{"import", "--template", "shop-bookings", "--url", g.URL, "--token", g.Token, "--sheet", "Bookings", book}, &out, &errOut)
	if err != nil || num(decode(t, out.Bytes()), "created") != 2 {
		t.Fatalf("remote sheet: %v %s\n%s", err, out.String(), errOut.String())
	}
	out.Reset()
	err = run(context.Background(), []string{"import", "--template", "shop-bookings", "--url", g.URL, "--token", g.Token, "--sheet", "Invoices", book}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "Invoices") {
		t.Fatalf("remote, missing sheet: %v %s", err, out.String())
	}
	out.Reset()
	err = run(context.Background(), []string{"import", "--template", "planyo-reservations", "--data-dir", dataDir, "--sheet", "Invoices", book}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "Invoices") {
		t.Fatalf("local, missing sheet: %v %s", err, out.String())
	}
}
