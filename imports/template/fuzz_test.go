package template

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/calgate/calgate/imports/sheet"
)

// Templates, records and files come from users: none may panic.

func FuzzParseTemplate(f *testing.F) {
	for _, n := range BuiltinNames() {
		data, err := os.ReadFile("builtin/" + n + ".json")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(orderTemplate))
	f.Add([]byte(roomTemplate))
	f.Fuzz(func(t *testing.T, data []byte) {
		tp, err := Parse(data)
		if err != nil {
			return
		}
		if tp.Direction == Import && !tp.Tabular {
			_, _ = tp.MapJSON([]byte(`{"id":1,"positions":[{"tasks":[{"id":2}]}],"a":[1,{"b":null}]}`))
		}
		if tp.Tabular {
			tp.MapRow(sheet.Row{Line: 2, Values: map[string]string{"Start": "45920.5", "id": "x"}})
		}
	})
}

func FuzzMapJSON(f *testing.F) {
	data, err := os.ReadFile("../../testdata/imports/planningnow-order.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`[{"positions":{"tasks":7}},null,{"positions":[[1]]}]`))
	tp, err := LookupBuiltin("planningnow-order")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := tp.MapJSON(data)
		if err != nil {
			return
		}
		for _, p := range ps {
			if p.Fields != nil {
				_, _ = tp.Parse(p, "UTC")
			}
		}
	})
}

func FuzzCSVReader(f *testing.F) {
	data, err := os.ReadFile("../../testdata/imports/planyo-reservations.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("a;b\n\"x\n;\xff\xfe\n"))
	tp, err := LookupBuiltin("planyo-reservations")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := sheet.NewCSVReader(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		for range 1000 {
			row, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				continue
			}
			_, _ = tp.Parse(tp.MapRow(row), "UTC")
		}
	})
}
