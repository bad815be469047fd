package template

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/calgate/calgate/imports/sheet"
	"github.com/calgate/calgate/imports/sheet/sheettest"
)

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
	r, err := sheet.NewCSVReader(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	rows := sheettest.ReadAll(t, r.Next)
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
	r, err := sheet.NewCSVReader(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, row := range sheettest.ReadAll(t, r.Next) {
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
	r, err := sheet.NewCSVReader(strings.NewReader(" BOOKING ;Room;start;END;Diet\nb1;Blue;01.10.2025 09:00;01.10.2025 10:00;vegan;extra\nb2;Red;01.10.2025 09:00;bad\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range sheettest.ReadAll(t, r.Next) {
		if len(row.Lookup().Headers) != 5 {
			t.Fatal("a reader's row carries no header lookup of its file")
		}
		byHand := sheet.Row{Line: row.Line, Values: row.Values, Missing: row.Missing}
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
	row := sheet.Row{Line: 3, Values: map[string]string{
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
	r, err := sheet.NewCSVReader(strings.NewReader("Booking;Room;Start;End\nb1;Blue;01.10.2025 09:00\n"))
	if err != nil {
		t.Fatal(err)
	}
	rows := sheettest.ReadAll(t, r.Next)
	_, err = tp.Parse(tp.MapRow(rows[0]), "UTC")
	if err == nil || !strings.Contains(err.Error(), `line 2, column "End": end: is required (the row ends after 3 columns`) {
		t.Fatalf("err = %v", err)
	}
}
func TestMapRowNeedsATabularTemplate(t *testing.T) {
	tp := mustTemplate(t, orderTemplate)
	if p := tp.MapRow(sheet.Row{Line: 2}); p.Err == nil {
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
	r, err := sheet.Open(strings.NewReader(data), "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	err = tp.ReadRows(t.Context(), r, "UTC", func(it Item) error {
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

	stop := fmt.Errorf("stop on error")
	r, _ = sheet.Open(strings.NewReader(data), "")
	n := 0
	err = tp.ReadRows(t.Context(), r, "UTC", func(it Item) error {
		n++
		if it.Err != nil {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Fatalf("err %v after %d items", err, n)
	}
}
