package template

import (
	"bytes"
	"testing"
	"time"

	"github.com/calgate/calgate/imports/sheet"
	"github.com/calgate/calgate/imports/sheet/sheettest"
)

func TestPlanyoTemplateReadsAnExcelReport(t *testing.T) {
	tp, err := LookupBuiltin("planyo-reservations")
	if err != nil {
		t.Fatal(err)
	}
	r, err := sheet.NewXLSXReader(bytes.NewReader(sheettest.PlanyoWorkbook(t)), "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rows := sheettest.ReadAll(t, r.Next)
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
