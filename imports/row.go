package imports

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
	cols *columns
}

// columns is a header in the form rows are looked up by, worked out once
// per file rather than once per row.
type columns struct {
	norm    map[string]string // header as spelled → lookup form
	headers map[string]string // lookup form → header, trimmed
}

// parseHeader reads a header line or row: names are trimmed, a blank one
// becomes "column N", and two columns may not share a name (in any case).
func parseHeader(cells []string) ([]string, *columns, error) {
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
		k := normColumn(h)
		if j, dup := seen[k]; dup {
			return nil, nil, fmt.Errorf("columns %d and %d are both named %q", j+1, i+1, h)
		}
		seen[k] = i
		header = append(header, h)
	}
	return header, newColumns(header), nil
}

func newColumns(header []string) *columns {
	c := &columns{norm: make(map[string]string, len(header)), headers: make(map[string]string, len(header))}
	for _, h := range header {
		k := normColumn(h)
		c.norm[h] = k
		c.headers[k] = strings.TrimSpace(h)
	}
	return c
}

// rowGetter looks columns up by name without regard to case or surrounding
// spaces.
type rowGetter struct {
	vals    map[string]string // lookup form → value
	headers map[string]string // lookup form → header (the file's, shared)
	extra   map[string]string // the same for columns beyond the header
}

func newRowGetter(row Row) rowGetter {
	g := rowGetter{vals: make(map[string]string, len(row.Values))}
	if row.cols != nil {
		g.headers = row.cols.headers
	} else {
		g.headers = make(map[string]string, len(row.Values))
	}
	for h, v := range row.Values {
		k, ok := "", false
		if row.cols != nil {
			k, ok = row.cols.norm[h]
		}
		if !ok {
			k = normColumn(h)
			if row.cols == nil {
				g.headers[k] = strings.TrimSpace(h)
			} else {
				if g.extra == nil {
					g.extra = map[string]string{}
				}
				g.extra[k] = strings.TrimSpace(h)
			}
		}
		g.vals[k] = v
	}
	return g
}

// header returns the header of a column given in lookup form.
func (g rowGetter) header(col string) (string, bool) {
	if h, ok := g.headers[col]; ok {
		return h, true
	}
	h, ok := g.extra[col]
	return h, ok
}

func (g rowGetter) get(p path) (any, bool) {
	v, ok := g.vals[p.col]
	return v, ok
}

// MapRow maps one CSV or Excel row. Fields are named after the line and
// column their value came from, as in `line 7, column "Start"`. Columns no
// mapping reads go into attributes under their header.
func (t *Template) MapRow(row Row) Produced {
	ref := "line " + strconv.Itoa(row.Line)
	p := Produced{Ref: ref}
	if t.Direction != Import || !t.Tabular {
		p.Err = calgate.Invalid(ref, "template %q does not read table rows", t.Name)
		return p
	}
	g := newRowGetter(row)
	label := func(fm *fieldMap) string {
		if fm.path == nil {
			return ref + ", " + fm.field
		}
		h, ok := g.header(fm.path.col)
		if !ok {
			h = strings.TrimSpace(fm.path.raw)
		}
		return fmt.Sprintf("%s, column %q", ref, h)
	}
	extra := func(b *calgate.EntryFields) {
		for col, v := range g.vals {
			if t.refs[col] || strings.TrimSpace(v) == "" {
				continue
			}
			name, _ := g.header(col)
			if name == "" {
				continue
			}
			if !b.Has("attributes." + name) {
				b.SetAttribute(name, v)
			}
		}
	}
	t.build(&p, g, label, extra)
	if len(row.Missing) > 0 {
		missing := make(map[string]bool, len(row.Missing))
		for _, h := range row.Missing {
			missing[normColumn(h)] = true
		}
		present := len(row.Values) - len(row.Missing)
		for _, fm := range t.fields {
			if fm.path != nil && missing[fm.path.col] {
				if p.notes == nil {
					p.notes = map[string]string{}
				}
				p.notes[fm.field] = fmt.Sprintf("the row ends after %d columns, before this one", present)
			}
		}
	}
	return p
}
