package sheet

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	xtransform "golang.org/x/text/transform"

	"github.com/calgate/calgate"
)

// RowReader is what CSVReader and XLSXReader have in common: rows one at a
// time, io.EOF after the last.
type RowReader interface {
	Header() []string
	Next() (Row, error)
	Close() error
}

// sniffSize is how much of a CSV file is looked at to guess its encoding
// and delimiter.
const sniffSize = 64 << 10

// CSVReader streams the rows of a CSV file whose first line is the header.
// It holds one record at a time, whatever the file's size.
//
// The encoding is UTF-8 (with or without a byte order mark) unless the
// first 64 KiB are not valid UTF-8, in which case the file is read as
// Windows-1252, the encoding of spreadsheets saved on Western European
// Windows machines; in a UTF-8 file, a later field that is not valid UTF-8
// is decoded as Windows-1252 on its own. Lines may end in LF, CRLF or CR
// alone. The delimiter is the one of comma, semicolon and tab that occurs
// most often in the header line. Quoted fields may span lines; Row.Line is
// the physical line a record starts on.
type CSVReader struct {
	r        *csv.Reader
	header   []string
	cols     *Columns
	comma    rune
	encoding string
}

// NewCSVReader reads the header of a CSV file and returns a reader for its
// rows.
func NewCSVReader(r io.Reader) (*CSVReader, error) {
	br := bufio.NewReaderSize(r, sniffSize)
	block, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("imports: csv: read: %w", err)
	}
	atEOF := len(block) < sniffSize
	c := &CSVReader{encoding: "utf-8"}
	var src io.Reader = br
	switch {
	case bytes.HasPrefix(block, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = br.Discard(3)
		block = block[3:]
	case bytes.HasPrefix(block, []byte{0xFF, 0xFE}), bytes.HasPrefix(block, []byte{0xFE, 0xFF}):
		return nil, fmt.Errorf("imports: csv: the file is UTF-16: save it as UTF-8")
	case !validUTF8Prefix(block, atEOF):
		c.encoding = "windows-1252"
		src = xtransform.NewReader(br, charmap.Windows1252.NewDecoder())
	}
	if hasLoneCR(block, atEOF) {
		// Lines end in CR alone (classic Mac OS, some exports): the CSV
		// reader knows only LF and CRLF.
		src = &crReader{r: src}
	}
	c.comma = sniffDelimiter(block)
	c.r = csv.NewReader(src)
	c.r.Comma = c.comma
	c.r.FieldsPerRecord = -1
	c.r.ReuseRecord = true
	rec, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("imports: csv: the file is empty, a header line was expected")
	}
	if err != nil {
		return nil, fmt.Errorf("imports: csv: header: %w", err)
	}
	if c.header, c.cols, err = parseHeader(rec); err != nil {
		return nil, fmt.Errorf("imports: csv: header: %w", err)
	}
	return c, nil
}

// Header returns the column names, trimmed, as the file spells them; blank
// names become "column N".
func (c *CSVReader) Header() []string { return c.header }

// Delimiter returns the field delimiter that was detected.
func (c *CSVReader) Delimiter() rune { return c.comma }

// Close does nothing: the reader owns no resources. It is there so that
// CSVReader is a RowReader.
func (c *CSVReader) Close() error { return nil }

// Encoding returns "utf-8" or "windows-1252".
func (c *CSVReader) Encoding() string { return c.encoding }

// Next returns the next non-blank row, or io.EOF after the last. A row
// shorter than the header has its missing columns empty and listed in
// Row.Missing; non-empty fields beyond the header are kept as "column N". A
// malformed record yields an error naming its line (a *csv.ParseError);
// reading may go on with the next call.
func (c *CSVReader) Next() (Row, error) {
	for {
		rec, err := c.r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return Row{}, io.EOF
			}
			return Row{}, fmt.Errorf("imports: csv: %w", err)
		}
		if blank(rec) {
			continue
		}
		line, _ := c.r.FieldPos(0)
		row := Row{Line: line, Values: make(map[string]string, len(c.header)), cols: c.cols}
		for i, h := range c.header {
			if i < len(rec) {
				row.Values[h] = c.text(rec[i])
			} else {
				row.Values[h] = ""
				row.Missing = append(row.Missing, h)
			}
		}
		for i := len(c.header); i < len(rec); i++ {
			if strings.TrimSpace(rec[i]) != "" {
				row.Values["column "+strconv.Itoa(i+1)] = c.text(rec[i])
			}
		}
		return row, nil
	}
}

// text returns a field as valid UTF-8: in a file taken for UTF-8, a field
// that is not (a Windows-1252 line pasted in after the first 64 KiB) is
// decoded as Windows-1252.
func (c *CSVReader) text(s string) string {
	if c.encoding != "utf-8" || utf8.ValidString(s) {
		return s
	}
	if out, err := charmap.Windows1252.NewDecoder().String(s); err == nil {
		return out
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// validUTF8Prefix reports whether b is valid UTF-8, allowing a rune cut in
// half at the end of a block that is not the end of the file.
func validUTF8Prefix(b []byte, atEOF bool) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return !atEOF && len(b) < utf8.UTFMax && !utf8.FullRune(b)
		}
		b = b[size:]
	}
	return true
}

// hasLoneCR reports whether b holds a CR that no LF follows.
func hasLoneCR(b []byte, atEOF bool) bool {
	for i := bytes.IndexByte(b, '\r'); i >= 0; {
		if i+1 < len(b) && b[i+1] != '\n' || i+1 == len(b) && atEOF {
			return true
		}
		next := bytes.IndexByte(b[i+1:], '\r')
		if next < 0 {
			return false
		}
		i += 1 + next
	}
	return false
}

// crReader turns every line ending, CR alone included, into LF.
type crReader struct {
	r       io.Reader
	afterCR bool // the last byte read was a CR
}

func (c *crReader) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		w := 0
		for _, b := range p[:n] {
			if b == '\n' && c.afterCR {
				c.afterCR = false
				continue // the LF of a CRLF, already written
			}
			c.afterCR = b == '\r'
			if b == '\r' {
				b = '\n'
			}
			p[w] = b
			w++
		}
		if w > 0 || n == 0 || err != nil {
			return w, err
		}
	}
}

// sniffDelimiter counts commas, semicolons and tabs outside quotes in the
// header line; the most frequent wins, comma when there is none.
func sniffDelimiter(block []byte) rune {
	counts := map[byte]int{}
	quoted := false
	for _, ch := range block {
		if ch == '"' {
			quoted = !quoted
			continue
		}
		if quoted {
			continue
		}
		if ch == '\n' || ch == '\r' {
			break
		}
		if ch == ',' || ch == ';' || ch == '\t' {
			counts[ch]++
		}
	}
	best, n := byte(','), 0
	for _, d := range []byte{',', ';', '\t'} {
		if counts[d] > n {
			best, n = d, counts[d]
		}
	}
	return rune(best)
}

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
