package template

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports/sheet"
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
func (t *Template) ReadRows(ctx context.Context, r sheet.RowReader, defaultTZ string, fn func(Item) error) error {
	if !t.Tabular || t.Direction != Import {
		return fmt.Errorf("imports: template %q does not read table rows", t.Name)
	}
	for n := 0; ; n++ {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		row, ref, bad, err := sheet.Next(r)
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
