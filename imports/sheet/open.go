package sheet

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/calgate/calgate"
)

// Next reads the next row of r. A record r cannot decode spoils that
// record only: it comes back as bad, named after ref (its line), with err
// nil. io.EOF ends the rows.
func Next(r RowReader) (row Row, ref string, bad, err error) {
	row, err = r.Next()
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		ref = fmt.Sprintf("line %d", pe.StartLine)
		return Row{}, ref, calgate.Invalid(ref, "%v", pe.Err), nil
	}
	return row, "", nil, err
}

// Open returns an XLSXReader for an Excel workbook (recognised by the
// zip signature at its start) and a CSVReader for anything else. sheet
// names the workbook's sheet to read (the first when empty); a CSV file
// has none, so naming one for it is an error.
func Open(r io.Reader, sheet string) (RowReader, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(8)
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return NewXLSXReader(br, sheet)
	case bytes.Equal(head, oleSignature):
		return nil, ErrLegacyWorkbook
	}
	if strings.TrimSpace(sheet) != "" {
		return nil, ErrSheetOfCSV
	}
	return NewCSVReader(br)
}

// oleSignature starts Compound File documents: Excel 97-2003 (.xls)
// workbooks, and .xlsx workbooks saved with a password.
var oleSignature = []byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}

// ErrLegacyWorkbook is returned for an Excel 97-2003 or encrypted workbook.
var ErrLegacyWorkbook = errors.New("imports: the file is an Excel 97-2003 (.xls) or password-protected workbook; save it as .xlsx without a password, or as CSV")

// ErrSheetOfCSV is returned when a sheet is named for a CSV file.
var ErrSheetOfCSV = errors.New("imports: a sheet was named, but the file is CSV, not an Excel workbook")
