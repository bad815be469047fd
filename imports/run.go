package imports

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/calgate/calgate"
)

// Item is one outcome of an import: an entry ready for the upsert, an entry
// left out, or one that failed.
type Item struct {
	// Ref locates the source: a record path or "line N".
	Ref string
	// Entry is set when the record mapped and validated.
	Entry *calgate.Entry
	// Skipped says why the record gave no entry (skip_if_missing).
	Skipped string
	// Err is a *calgate.ValidationError naming each bad field after where
	// its value came from.
	Err error
}

func (t *Template) item(p Produced, defaultTZ string) Item {
	it := Item{Ref: p.Ref, Skipped: p.Skipped}
	if p.Skipped != "" {
		return it
	}
	it.Entry, it.Err = t.Parse(p, defaultTZ)
	return it
}

// Entries maps a foreign record and validates every entry it gives.
func (t *Template) Entries(record any, defaultTZ string) ([]Item, error) {
	ps, err := t.Map(record)
	if err != nil {
		return nil, err
	}
	items := make([]Item, len(ps))
	for i, p := range ps {
		items[i] = t.item(p, defaultTZ)
	}
	return items, nil
}

// ReadRows maps and validates every row of r in turn and hands each outcome
// to fn. A row the reader cannot decode becomes an Item with Err. Reading
// stops at the end of the rows, when ctx is done, or when fn returns an
// error (which is how a caller stops on the first error), and that error is
// returned.
func (t *Template) ReadRows(ctx context.Context, r RowReader, defaultTZ string, fn func(Item) error) error {
	if !t.Tabular || t.Direction != Import {
		return fmt.Errorf("imports: template %q does not read table rows", t.Name)
	}
	for n := 0; ; n++ {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		row, ref, bad, err := nextRow(r)
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		case bad != nil:
			err = fn(Item{Ref: ref, Err: bad})
		default:
			err = fn(t.item(t.MapRow(row), defaultTZ))
		}
		if err != nil {
			return err
		}
	}
}

// nextRow reads the next row of r. A record r cannot decode spoils that
// record only: it comes back as bad, named after ref (its line), with err
// nil. io.EOF ends the rows.
func nextRow(r RowReader) (row Row, ref string, bad, err error) {
	row, err = r.Next()
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		ref = fmt.Sprintf("line %d", pe.StartLine)
		return Row{}, ref, calgate.Invalid(ref, "%v", pe.Err), nil
	}
	return row, "", nil, err
}

// OpenRows returns an XLSXReader for an Excel workbook (recognised by the
// zip signature at its start) and a CSVReader for anything else. sheet
// names the workbook's sheet to read (the first when empty); a CSV file
// has none, so naming one for it is an error.
func OpenRows(r io.Reader, sheet string) (RowReader, error) {
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
