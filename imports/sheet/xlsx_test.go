package sheet

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/calgate/calgate/imports/sheet/sheettest"
)

func TestXLSXReaderReadsTheFirstSheetWithExcelRowNumbers(t *testing.T) {
	r, err := NewXLSXReader(bytes.NewReader(sheettest.PlanyoWorkbook(t)), "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Sheet() != "Reservations" || len(r.Header()) != 10 || r.Header()[5] != "Start time" {
		t.Fatalf("sheet %q header %q", r.Sheet(), r.Header())
	}
	rows := sheettest.ReadAll(t, r.Next)
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
func TestXLSXReaderRefusesWhatIsNotAWorkbook(t *testing.T) {
	_, err := NewXLSXReader(strings.NewReader("a;b\n1;2\n"), "")
	if err == nil || !strings.Contains(err.Error(), "imports: xlsx") {
		t.Fatalf("err = %v", err)
	}
}
func TestXLSXReaderReadsTheNamedSheet(t *testing.T) {
	book, err := os.ReadFile("../../testdata/imports/bookings-two-sheets.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		sheet, want, header string
	}{{"", "Sheet1", "Report"}, {"bookings", "Bookings", "Booking"}, {" Bookings ", "Bookings", "Booking"}}
	for _, tc := range cases {
		r, err := Open(bytes.NewReader(book), tc.sheet)
		if err != nil {
			t.Fatalf("sheet %q: %v", tc.sheet, err)
		}
		x := r.(*XLSXReader)
		if x.Sheet() != tc.want || x.Header()[0] != tc.header {
			t.Errorf("sheet %q: read %q with header %q", tc.sheet, x.Sheet(), x.Header())
		}
		_ = x.Close()
	}
	_, err = Open(bytes.NewReader(book), "Invoices")
	if !errors.Is(err, ErrNoSheet) || !strings.Contains(err.Error(), `"Sheet1", "Bookings"`) {
		t.Errorf("missing sheet: %v", err)
	}
	if _, err := Open(strings.NewReader("a,b\n1,2\n"), "Bookings"); !errors.Is(err, ErrSheetOfCSV) {
		t.Errorf("sheet of a CSV file: %v", err)
	}
}
