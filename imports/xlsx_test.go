package imports

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// planyoWorkbook builds a Planyo report as Excel saves it: dates as
// formatted date cells, one as a bare serial number, numbers as numbers.
func planyoWorkbook(t *testing.T) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	f.SetSheetName(sheet, "Reservations")
	sheet = "Reservations"
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd hh:mm")})
	if err != nil {
		t.Fatal(err)
	}
	header := []any{"Reservation ID", "Resource name", "First name", "Last name", "Email", "Start time", "End time", "Quantity", "Status", "Voucher"}
	rows := [][]any{
		{990001, "Sauna", "Anna", "Schmidt", "anna@example.de", time.Date(2025, 9, 20, 8, 0, 0, 0, time.UTC), time.Date(2025, 9, 20, 10, 30, 0, 0, time.UTC), 2, "Confirmed", "SUMMER25"},
		{990002, "Sauna", "Jörg", "Müller", "j@example.de", time.Date(2025, 9, 21, 18, 0, 0, 0, time.UTC), 45921.8125, 1, "Reserved"},
	}
	if err := f.SetSheetRow(sheet, "A1", &header); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		// Row 3 is left empty, as spreadsheets often have gaps.
		cell, _ := excelize.CoordinatesToCellName(1, 2+2*i)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			// A custom format; the second row keeps Excel's built-in one.
			if err := f.SetCellStyle(sheet, "F2", "G2", dateStyle); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := f.NewSheet("Notes"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func ptr[T any](v T) *T { return &v }

func TestXLSXReaderReadsTheFirstSheetWithExcelRowNumbers(t *testing.T) {
	r, err := NewXLSXReader(bytes.NewReader(planyoWorkbook(t)), "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Sheet() != "Reservations" || len(r.Header()) != 10 || r.Header()[5] != "Start time" {
		t.Fatalf("sheet %q header %q", r.Sheet(), r.Header())
	}
	rows := readAll(t, r)
	if len(rows) != 2 || rows[0].Line != 2 || rows[1].Line != 4 {
		t.Fatalf("rows = %+v", rows)
	}
	if got := rows[0].Values["Start time"]; got != "2025-09-20 08:00" {
		t.Fatalf("formatted date = %q", got)
	}
	if got := rows[1].Values["Start time"]; got != "2025-09-21 18:00" {
		t.Fatalf("built-in date format = %q", got)
	}
	if got := rows[1].Values["End time"]; got != "45921.8125" {
		t.Fatalf("serial = %q", got)
	}
	if rows[1].Values["Voucher"] != "" {
		t.Fatalf("missing trailing cell = %q", rows[1].Values["Voucher"])
	}
}

func TestPlanyoTemplateReadsAnExcelReport(t *testing.T) {
	tp, err := LookupBuiltin("planyo-reservations")
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewXLSXReader(bytes.NewReader(planyoWorkbook(t)), "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rows := readAll(t, r)
	first, err := tp.Parse(tp.MapRow(rows[0]), "Europe/Vienna")
	if err != nil {
		t.Fatal(err)
	}
	if first.ExternalID != "990001" || first.Start.Format(time.RFC3339) != "2025-09-20T08:00:00+02:00" ||
		first.End.Format(time.RFC3339) != "2025-09-20T10:30:00+02:00" || *first.Quantity != 2 ||
		string(first.Attributes) != `{"Voucher":"SUMMER25"}` {
		t.Fatalf("first = %+v attributes %s", first, first.Attributes)
	}
	second, err := tp.Parse(tp.MapRow(rows[1]), "Europe/Vienna")
	if err != nil {
		t.Fatal(err)
	}
	if second.End.Format(time.RFC3339) != "2025-09-21T19:30:00+02:00" || second.Status != "tentative" || second.Customer.Name != "Jörg Müller" {
		t.Fatalf("second = %+v", second)
	}
}

func TestXLSXReaderRefusesWhatIsNotAWorkbook(t *testing.T) {
	_, err := NewXLSXReader(strings.NewReader("a;b\n1;2\n"), "")
	if err == nil || !strings.Contains(err.Error(), "imports: xlsx") {
		t.Fatalf("err = %v", err)
	}
}

func TestXLSXReaderReadsTheNamedSheet(t *testing.T) {
	book, err := os.ReadFile("../testdata/imports/bookings-two-sheets.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		sheet, want, header string
	}{{"", "Sheet1", "Report"}, {"bookings", "Bookings", "Booking"}, {" Bookings ", "Bookings", "Booking"}}
	for _, tc := range cases {
		r, err := OpenRows(bytes.NewReader(book), tc.sheet)
		if err != nil {
			t.Fatalf("sheet %q: %v", tc.sheet, err)
		}
		x := r.(*XLSXReader)
		if x.Sheet() != tc.want || x.Header()[0] != tc.header {
			t.Errorf("sheet %q: read %q with header %q", tc.sheet, x.Sheet(), x.Header())
		}
		_ = x.Close()
	}
	_, err = OpenRows(bytes.NewReader(book), "Invoices")
	if !errors.Is(err, ErrNoSheet) || !strings.Contains(err.Error(), `"Sheet1", "Bookings"`) {
		t.Errorf("missing sheet: %v", err)
	}
	if _, err := OpenRows(strings.NewReader("a,b\n1,2\n"), "Bookings"); !errors.Is(err, ErrSheetOfCSV) {
		t.Errorf("sheet of a CSV file: %v", err)
	}
}
