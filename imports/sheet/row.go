package sheet

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/calgate/calgate"
)

// Row is one data row of a CSV or Excel file.
type Row struct {
	// Line is the physical line (CSV) or row number (Excel) the row starts
	// on; the header is line 1.
	Line int
	// Values maps each header, as the file spells it, to the row's value.
	Values map[string]string
	// Missing lists the headers of trailing columns the row lacks; their
	// values are empty.
	Missing []string
	// cols is the file's header in lookup form, shared by its rows (nil
	// for a Row built by hand).
	cols *Columns
}

// Columns is a header in the form rows are looked up by, worked out once
// per file rather than once per row.
type Columns struct {
	norm    map[string]string // header as spelled → lookup form
	headers map[string]string // lookup form → header, trimmed
}

// Normalize is the lookup form of a column name: without case and
// surrounding spaces.
func Normalize(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// parseHeader reads a header line or row: names are trimmed, a blank one
// becomes "column N", and two columns may not share a name (in any case).
func parseHeader(cells []string) ([]string, *Columns, error) {
	header := make([]string, 0, len(cells))
	seen := map[string]int{}
	for i, h := range cells {
		h = strings.TrimSpace(h)
		if h == "" {
			h = "column " + strconv.Itoa(i+1)
		}
		if p := calgate.TextProblem(h, true); p != "" {
			return nil, nil, fmt.Errorf("column %d: its name %s", i+1, p)
		}
		k := Normalize(h)
		if j, dup := seen[k]; dup {
			return nil, nil, fmt.Errorf("columns %d and %d are both named %q", j+1, i+1, h)
		}
		seen[k] = i
		header = append(header, h)
	}
	return header, NewColumns(header), nil
}

// NewColumns is the lookup form of a header, for readers of other tables
// (a database query's result).
func NewColumns(header []string) *Columns {
	c := &Columns{norm: make(map[string]string, len(header)), headers: make(map[string]string, len(header))}
	for _, h := range header {
		k := Normalize(h)
		c.norm[h] = k
		c.headers[k] = strings.TrimSpace(h)
	}
	return c
}

// Row is a row of the table whose header c is: values maps each header
// to the row's value.
func (c *Columns) Row(line int, values map[string]string) Row {
	return Row{Line: line, Values: values, cols: c}
}

// Lookup is a row's values by column in lookup form (Normalize), as
// templates read them.
type Lookup struct {
	Values  map[string]string // lookup form → value
	Headers map[string]string // lookup form → header (the file's, shared)
	Extra   map[string]string // the same for columns beyond the header
}

// Lookup returns the row's values by column in lookup form.
func (row Row) Lookup() Lookup {
	g := Lookup{Values: make(map[string]string, len(row.Values))}
	if row.cols != nil {
		g.Headers = row.cols.headers
	} else {
		g.Headers = make(map[string]string, len(row.Values))
	}
	for h, v := range row.Values {
		k, ok := "", false
		if row.cols != nil {
			k, ok = row.cols.norm[h]
		}
		if !ok {
			k = Normalize(h)
			if row.cols == nil {
				g.Headers[k] = strings.TrimSpace(h)
			} else {
				if g.Extra == nil {
					g.Extra = map[string]string{}
				}
				g.Extra[k] = strings.TrimSpace(h)
			}
		}
		g.Values[k] = v
	}
	return g
}

// Header returns the header of a column given in lookup form.
func (g Lookup) Header(col string) (string, bool) {
	if h, ok := g.Headers[col]; ok {
		return h, true
	}
	h, ok := g.Extra[col]
	return h, ok
}
