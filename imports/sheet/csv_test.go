package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/calgate/calgate/imports/sheet/sheettest"
)

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
			rows := sheettest.ReadAll(t, r.Next)
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
	rows := sheettest.ReadAll(t, r.Next)
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
func TestOpenRowsRecognisesAWorkbook(t *testing.T) {
	r, err := Open(bytes.NewReader(sheettest.PlanyoWorkbook(t)), "")
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
	if _, err := Open(bytes.NewReader(xls), ""); !errors.Is(err, ErrLegacyWorkbook) {
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
	rows := sheettest.ReadAll(t, r.Next)
	last := rows[len(rows)-1]
	if r.Encoding() != "utf-8" || last.Values["name"] != "Müller" || last.Values["city"] != "Köln" || rows[0].Values["name"] != "Jörg" {
		t.Fatalf("encoding %s, first %v, last %v", r.Encoding(), rows[0].Values, last.Values)
	}
}
