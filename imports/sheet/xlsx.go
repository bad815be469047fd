package sheet

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// MaxXLSXSize bounds the unpacked size of an Excel workbook.
const MaxXLSXSize = 256 << 20

// ErrNoSheet is returned when a workbook has no sheet of the wanted name.
var ErrNoSheet = errors.New("no such sheet")

// pickSheet returns the sheet named want, or the first when want is empty.
func pickSheet(sheets []string, want string) (string, error) {
	want = strings.TrimSpace(want)
	if want == "" {
		return sheets[0], nil
	}
	for _, s := range sheets {
		if strings.EqualFold(s, want) {
			return s, nil
		}
	}
	quoted := make([]string, len(sheets))
	for i, s := range sheets {
		quoted[i] = strconv.Quote(s)
	}
	return "", fmt.Errorf("imports: xlsx: %w %q; the workbook has %s", ErrNoSheet, want, strings.Join(quoted, ", "))
}

// XLSXReader streams the rows of one worksheet (the first, unless another
// is named) of an Excel (.xlsx) workbook whose first row is the header.
//
// The compressed workbook is held in memory (a zip file needs random
// access), but the worksheet is decoded one row at a time. Values come as
// Excel displays them, with each cell's number format applied, except that
// Excel's built-in regional date formats (what a typed date gets) read as
// ISO dates, "2025-09-20" and "2025-09-20 08:00", whatever the regional
// settings of the machine that saved the file. A cell with a custom date
// format reads as that format shows it (use a date transform with the same
// layout), and a date stored as a plain number reads as Excel's serial day
// number ("45920.333333"), which the date transform accepts as well.
type XLSXReader struct {
	f      *excelize.File
	rows   *excelize.Rows
	sheet  string
	header []string
	cols   *Columns
	line   int
}

// NewXLSXReader opens a workbook and reads the header row of the named
// sheet, or of the first one when sheet is empty. Sheet names compare
// without case, as Excel compares them. Close releases the workbook.
func NewXLSXReader(r io.Reader, sheet string) (*XLSXReader, error) {
	f, err := excelize.OpenReader(r, excelize.Options{
		UnzipSizeLimit: MaxXLSXSize,
		// Excel's built-in date formats follow the reader's regional
		// settings (9/20/25 in one country, 20.09.25 in another); ISO dates
		// read back the same everywhere.
		ShortDatePattern: "yyyy-mm-dd",
		LongTimePattern:  "hh:mm:ss",
	})
	if err != nil {
		return nil, fmt.Errorf("imports: xlsx: open: %w", err)
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		_ = f.Close()
		return nil, fmt.Errorf("imports: xlsx: the workbook has no sheet")
	}
	name, err := pickSheet(sheets, sheet)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	rows, err := f.Rows(name)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("imports: xlsx: sheet %q: %w", name, err)
	}
	x := &XLSXReader{f: f, rows: rows, sheet: name}
	for {
		cells, err := x.next()
		if err != nil {
			_ = x.Close()
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("imports: xlsx: sheet %q is empty, a header row was expected", x.sheet)
			}
			return nil, err
		}
		if blank(cells) {
			continue
		}
		if x.header, x.cols, err = parseHeader(cells); err != nil {
			_ = x.Close()
			return nil, fmt.Errorf("imports: xlsx: sheet %q, header row %d: %w", x.sheet, x.line, err)
		}
		return x, nil
	}
}

func (x *XLSXReader) next() ([]string, error) {
	if !x.rows.Next() {
		if err := x.rows.Error(); err != nil {
			return nil, fmt.Errorf("imports: xlsx: sheet %q after row %d: %w", x.sheet, x.line, err)
		}
		return nil, io.EOF
	}
	x.line++
	cells, err := x.rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("imports: xlsx: sheet %q, row %d: %w", x.sheet, x.line, err)
	}
	return cells, nil
}

// Header returns the column names of the header row, trimmed; blank names
// become "column N".
func (x *XLSXReader) Header() []string { return x.header }

// Sheet returns the name of the worksheet being read.
func (x *XLSXReader) Sheet() string { return x.sheet }

// Next returns the next non-blank row, or io.EOF after the last. Row.Line
// is the Excel row number. Excel does not store trailing empty cells, so
// they read as empty and Row.Missing stays empty.
func (x *XLSXReader) Next() (Row, error) {
	for {
		cells, err := x.next()
		if err != nil {
			return Row{}, err
		}
		if blank(cells) {
			continue
		}
		row := Row{Line: x.line, Values: make(map[string]string, len(x.header)), cols: x.cols}
		for i, h := range x.header {
			if i < len(cells) {
				row.Values[h] = cells[i]
			} else {
				row.Values[h] = ""
			}
		}
		for i := len(x.header); i < len(cells); i++ {
			if strings.TrimSpace(cells[i]) != "" {
				row.Values["column "+strconv.Itoa(i+1)] = cells[i]
			}
		}
		return row, nil
	}
}

// Close releases the worksheet and the workbook.
func (x *XLSXReader) Close() error {
	err := x.rows.Close()
	if cerr := x.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("imports: xlsx: close: %w", err)
	}
	return nil
}
