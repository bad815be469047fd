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
}

// rowGetter looks columns up by name without regard to case or surrounding
// spaces.
type rowGetter struct {
	vals    map[string]string
	headers map[string]string
}

func newRowGetter(row Row) rowGetter {
	g := rowGetter{vals: make(map[string]string, len(row.Values)), headers: make(map[string]string, len(row.Values))}
	for h, v := range row.Values {
		k := normColumn(h)
		g.vals[k] = v
		g.headers[k] = strings.TrimSpace(h)
	}
	return g
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
		h, ok := g.headers[fm.path.col]
		if !ok {
			h = strings.TrimSpace(fm.path.raw)
		}
		return fmt.Sprintf("%s, column %q", ref, h)
	}
	extra := func(b *entryBuilder) {
		for col, v := range g.vals {
			if t.refs[col] || strings.TrimSpace(v) == "" {
				continue
			}
			name := g.headers[col]
			if name == "" {
				continue
			}
			if !b.has("attributes." + name) {
				b.sub("attributes")[name] = v
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
