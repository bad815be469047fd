package imports

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

func readAll(t *testing.T, r RowReader) []Row {
	t.Helper()
	var rows []Row
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		rows = append(rows, row)
	}
}

func TestCSVReaderDetectsEncodingAndDelimiter(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		delim    rune
		encoding string
		header   []string
		rows     []Row
	}{
		{
			name: "UTF-8 with BOM and semicolons", data: "\xef\xbb\xbfName;City\r\nJörg;Köln\r\n",
			delim: ';', encoding: "utf-8", header: []string{"Name", "City"},
			rows: []Row{{Line: 2, Values: map[string]string{"Name": "Jörg", "City": "Köln"}}},
		},
		{
			name: "commas without BOM", data: "a,b\n1,2\n3,4\n",
			delim: ',', encoding: "utf-8", header: []string{"a", "b"},
			rows: []Row{{Line: 2, Values: map[string]string{"a": "1", "b": "2"}}, {Line: 3, Values: map[string]string{"a": "3", "b": "4"}}},
		},
		{
			name: "tabs, commas inside values", data: "Title\tPrice\nA, B\t1,50\n",
			delim: '\t', encoding: "utf-8", header: []string{"Title", "Price"},
			rows: []Row{{Line: 2, Values: map[string]string{"Title": "A, B", "Price": "1,50"}}},
		},
		{
			name: "Windows-1252", data: "Kunde;Betrag\nM\xfcller;12 \x80\n",
			delim: ';', encoding: "windows-1252", header: []string{"Kunde", "Betrag"},
			rows: []Row{{Line: 2, Values: map[string]string{"Kunde": "Müller", "Betrag": "12 €"}}},
		},
		{
			name: "quoted newlines keep physical line numbers", data: "id;note\n1;\"two\nlines\"\n2;\"three\r\nmore\nlines\"\n3;x\n",
			delim: ';', encoding: "utf-8", header: []string{"id", "note"},
			rows: []Row{
				{Line: 2, Values: map[string]string{"id": "1", "note": "two\nlines"}},
				{Line: 4, Values: map[string]string{"id": "2", "note": "three\nmore\nlines"}},
				{Line: 7, Values: map[string]string{"id": "3", "note": "x"}},
			},
		},
		{
			name: "short row, blank lines, extra column", data: " A ;B;C\n1;2\n\n;;\n4;5;6;7\n",
			delim: ';', encoding: "utf-8", header: []string{"A", "B", "C"},
			rows: []Row{
				{Line: 2, Values: map[string]string{"A": "1", "B": "2", "C": ""}, Missing: []string{"C"}},
				{Line: 5, Values: map[string]string{"A": "4", "B": "5", "C": "6", "column 4": "7"}},
			},
		},
		{
			name: "header only", data: "x,y\n", delim: ',', encoding: "utf-8", header: []string{"x", "y"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewCSVReader(strings.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if r.Delimiter() != tt.delim || r.Encoding() != tt.encoding {
				t.Fatalf("delimiter %q encoding %s, want %q %s", r.Delimiter(), r.Encoding(), tt.delim, tt.encoding)
			}
			if !reflect.DeepEqual(r.Header(), tt.header) {
				t.Fatalf("header = %q, want %q", r.Header(), tt.header)
			}
			rows := readAll(t, r)
			for i := range rows {
				rows[i].cols = nil // the header lookup rows share
			}
			if !reflect.DeepEqual(rows, tt.rows) {
				t.Fatalf("rows = %+v\nwant   %+v", rows, tt.rows)
			}
		})
	}
}

func TestCSVReaderDetectsWindows1252PastAHalfRuneAtTheBlockEdge(t *testing.T) {
	// A valid UTF-8 file whose first block ends inside "ü" stays UTF-8.
	var b bytes.Buffer
	b.WriteString("v\n")
	for b.Len() < sniffSize-1 {
		b.WriteString("a")
	}
	b.WriteString("ü\n")
	r, err := NewCSVReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	if r.Encoding() != "utf-8" {
		t.Fatalf("encoding = %s", r.Encoding())
	}
	rows := readAll(t, r)
	if !strings.HasSuffix(rows[0].Values["v"], "ü") {
		t.Fatal("the last rune was damaged")
	}
}

func TestCSVReaderRefusesBadInput(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"empty", "", "empty"},
		{"duplicate header", "a;A\n1;2\n", "both named"},
		{"UTF-16", "\xff\xfea\x00", "UTF-16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCSVReader(strings.NewReader(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCSVReaderReportsAMalformedRecordByLineAndGoesOn(t *testing.T) {
	r, err := NewCSVReader(strings.NewReader("a;b\n1;2\n3;\"open\nstill \"open\n5;6\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	var pe *csv.ParseError
	if !errors.As(err, &pe) || pe.StartLine != 3 {
		t.Fatalf("err = %v, want a parse error starting on line 3", err)
	}
}

const roomTemplate = `{
  "name": "rooms", "kind": "reservation", "direction": "import",
  "columns": {
    "Booking": "external_id",
    "Room": {"field": "resource", "transform": ["trim"]},
    "Start": {"field": "start", "transform": [{"type": "date", "layout": "dd.MM.yyyy HH:mm", "zone": "Europe/Berlin"}]},
    "End": {"field": "end", "transform": [{"type": "date", "layout": "dd.MM.yyyy HH:mm", "zone": "Europe/Berlin"}]},
    "Guests": "quantity"
  },
  "fields": {
    "source": {"const": "rooms-csv"},
    "title": {"transform": [{"type": "format", "pattern": "{Room}: {Guest name}"}]},
    "customer.name": {"path": "guest name"}
  }
}`

func TestMapRowNamesLineAndColumnOfABadDate(t *testing.T) {
	tp := mustTemplate(t, roomTemplate)
	data := "Booking;Room;Guest name;Start;End;Guests\n" +
		"1;Blue;Ada;01.10.2025 09:00;01.10.2025 10:00;2\n" +
		"2;Blue;\"Grace\nHopper\";01.10.2025 11:00;01.10.2025 12:00;2\n" +
		"3;Red;Alan;02.10.2025 09:00;02.10.2025 10:00;1\n" +
		"4;Red;Edsger;02.10.2025 11:00;02.10.2025 12:00;1\n" +
		"\n" +
		"6;Red;Barbara;31.02.2025 09:00;03.10.2025 10:00;1\n"
	r, err := NewCSVReader(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, r)
	last := rows[len(rows)-1]
	if last.Line != 8 {
		t.Fatalf("the bad row starts on line %d, want 8", last.Line)
	}
	for _, row := range rows[:len(rows)-1] {
		p := tp.MapRow(row)
		if _, err := tp.Parse(p, "UTC"); err != nil {
			t.Fatalf("line %d: %v", row.Line, err)
		}
	}
	p := tp.MapRow(last)
	if p.Err == nil {
		t.Fatal("a bad date was accepted")
	}
	if fe := p.Err.Errors[0]; fe.Field != `line 8, column "Start"` || !strings.Contains(fe.Message, "31.02.2025") {
		t.Fatalf("error = %+v", fe)
	}
	if !strings.Contains(p.Err.Error(), `line 8, column "Start": start:`) {
		t.Fatalf("Error() = %s", p.Err)
	}
}

func TestMapRowReportsBadDateOnLine7(t *testing.T) {
	tp := mustTemplate(t, roomTemplate)
	var b strings.Builder
	b.WriteString("booking,room,start,end\n")
	for i := 2; i <= 6; i++ {
		b.WriteString("b,Blue,01.10.2025 09:00,01.10.2025 10:00\n")
	}
	b.WriteString("b7,Blue,01.10.2025 09:00,1.10.2025 25:00\n")
	r, err := NewCSVReader(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, row := range readAll(t, r) {
		if _, err := tp.Parse(tp.MapRow(row), "UTC"); err != nil {
			failed = append(failed, err.Error())
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[0], `line 7, column "end": end:`) {
		t.Fatalf("failures = %q", failed)
	}
}

// Rows from a reader share their file's header lookup; a Row built by
// hand has none. Both must map alike, extra columns and odd spellings
// included.
func TestMapRowSameFromReaderAndByHand(t *testing.T) {
	tp := mustTemplate(t, roomTemplate)
	r, err := NewCSVReader(strings.NewReader(" BOOKING ;Room;start;END;Diet\nb1;Blue;01.10.2025 09:00;01.10.2025 10:00;vegan;extra\nb2;Red;01.10.2025 09:00;bad\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range readAll(t, r) {
		if row.cols == nil {
			t.Fatal("a reader's row carries no header lookup")
		}
		byHand := row
		byHand.cols = nil
		got, want := tp.MapRow(row), tp.MapRow(byHand)
		e1, err1 := tp.Parse(got, "UTC")
		e2, err2 := tp.Parse(want, "UTC")
		j1, _ := json.Marshal(got.Fields)
		j2, _ := json.Marshal(want.Fields)
		if fmt.Sprint(err1) != fmt.Sprint(err2) || string(j1) != string(j2) {
			t.Errorf("line %d: from the reader %s (%v), by hand %s (%v)", row.Line, j1, err1, j2, err2)
		}
		if row.Line == 2 && (e1 == nil || string(e1.Attributes) != `{"Diet":"vegan","column 6":"extra"}`) {
			t.Errorf("line 2: %+v, %v", e1, err1)
		}
		if row.Line == 3 && (err1 == nil || !strings.Contains(err1.Error(), `line 3, column "END"`)) {
			t.Errorf("line 3: %v, %v", e2, err1)
		}
	}
}

func TestMapRowPutsUnknownColumnsIntoAttributes(t *testing.T) {
	tp := mustTemplate(t, roomTemplate)
	row := Row{Line: 3, Values: map[string]string{
		"BOOKING ": "b1", "Room": " Blue ", "Start": "01.10.2025 09:00", "End": "01.10.2025 10:00", "Guests": "3",
		"Guest name": "Ada", "Diet": "vegan", "Parking": "", "Floor": "2",
	}}
	e, err := tp.Parse(tp.MapRow(row), "UTC")
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Attributes) != `{"Diet":"vegan","Floor":"2"}` {
		t.Fatalf("attributes = %s", e.Attributes)
	}
	if e.ExternalID != "b1" || e.Resource != "Blue" || *e.Quantity != 3 || e.Title != "Blue: Ada" || e.Customer.Name != "Ada" || e.Source != "rooms-csv" {
		t.Fatalf("entry = %+v", e)
	}
}

func TestMapRowOnAShortRowSaysTheRowEndsEarly(t *testing.T) {
	tp := mustTemplate(t, roomTemplate)
	r, err := NewCSVReader(strings.NewReader("Booking;Room;Start;End\nb1;Blue;01.10.2025 09:00\n"))
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, r)
	_, err = tp.Parse(tp.MapRow(rows[0]), "UTC")
	if err == nil || !strings.Contains(err.Error(), `line 2, column "End": end: is required (the row ends after 3 columns`) {
		t.Fatalf("err = %v", err)
	}
}

func TestMapRowNeedsATabularTemplate(t *testing.T) {
	tp := mustTemplate(t, orderTemplate)
	if p := tp.MapRow(Row{Line: 2}); p.Err == nil {
		t.Fatal("a JSON template mapped a row")
	}
	rows := mustTemplate(t, roomTemplate)
	if _, err := rows.Map(map[string]any{}); err == nil {
		t.Fatal("a tabular template mapped a JSON record")
	}
}

func TestReadRowsHandsEveryOutcomeOnAndStopsWhenAsked(t *testing.T) {
	tp := mustTemplate(t, roomTemplate)
	data := "Booking;Room;Start;End\n" +
		"b1;Blue;01.10.2025 09:00;01.10.2025 10:00\n" +
		"b2;Blue;\"01.10.2025 \"11:00;01.10.2025 12:00\n" +
		"b3;Blue;01.10.2025 13:00;01.10.2025 12:00\n" +
		"b4;Blue;01.10.2025 15:00;01.10.2025 16:00\n"
	r, err := OpenRows(strings.NewReader(data), "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	err = tp.ReadRows(context.Background(), r, "UTC", func(it Item) error {
		switch {
		case it.Err != nil:
			got = append(got, it.Ref+" failed: "+it.Err.Error())
		default:
			got = append(got, it.Ref+" "+it.Entry.ExternalID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0] != "line 2 b1" || !strings.HasPrefix(got[1], "line 3 failed:") ||
		!strings.Contains(got[2], `line 4, column "End": end: must be after start`) || got[3] != "line 5 b4" {
		t.Fatalf("items = %q", got)
	}

	stop := errors.New("stop on error")
	r, _ = OpenRows(strings.NewReader(data), "")
	n := 0
	err = tp.ReadRows(context.Background(), r, "UTC", func(it Item) error {
		n++
		if it.Err != nil {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("err %v after %d items", err, n)
	}
}

func TestOpenRowsRecognisesAWorkbook(t *testing.T) {
	r, err := OpenRows(bytes.NewReader(planyoWorkbook(t)), "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.(*XLSXReader); !ok {
		t.Fatalf("OpenRows gave a %T", r)
	}
}

// An Excel 97-2003 file is refused by name instead of read as a CSV file
// of binary garbage.
func TestOpenRowsRefusesALegacyWorkbook(t *testing.T) {
	xls := append([]byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}, make([]byte, 504)...)
	if _, err := OpenRows(bytes.NewReader(xls), ""); !errors.Is(err, ErrLegacyWorkbook) {
		t.Fatalf("err = %v", err)
	}
}

func TestCSVReaderDecodesALateWindows1252FieldOnItsOwn(t *testing.T) {
	var b strings.Builder
	b.WriteString("name;city\n")
	for b.Len() < sniffSize+100 {
		b.WriteString("Jörg;Köln\n")
	}
	b.WriteString("M\xfcller;K\xf6ln\n")
	r, err := NewCSVReader(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, r)
	last := rows[len(rows)-1]
	if r.Encoding() != "utf-8" || last.Values["name"] != "Müller" || last.Values["city"] != "Köln" || rows[0].Values["name"] != "Jörg" {
		t.Fatalf("encoding %s, first %v, last %v", r.Encoding(), rows[0].Values, last.Values)
	}
}
