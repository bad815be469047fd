// Package sheettest builds the spreadsheets that tests of the sheet
// readers and of the templates that read them share.
package sheettest

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// ReadAll calls next until io.EOF and returns what it read; next is a
// reader's Next (sheet.RowReader's).
func ReadAll[R any](t testing.TB, next func() (R, error)) []R {
	t.Helper()
	var rows []R
	for {
		row, err := next()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		rows = append(rows, row)
	}
}

// PlanyoWorkbook builds a Planyo report as Excel saves it: dates as
// formatted date cells, one as a bare serial number, numbers as numbers.
func PlanyoWorkbook(t testing.TB) []byte {
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
