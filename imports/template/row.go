package template

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports/sheet"
)

// rowGetter looks columns up by name without regard to case or surrounding
// spaces.
type rowGetter struct{ sheet.Lookup }

func (g rowGetter) get(p path) (any, bool) {
	v, ok := g.Values[p.col]
	return v, ok
}

// MapRow maps one CSV or Excel row. Fields are named after the line and
// column their value came from, as in `line 7, column "Start"`. Columns no
// mapping reads go into attributes under their header.
func (t *Template) MapRow(row sheet.Row) Produced {
	ref := "line " + strconv.Itoa(row.Line)
	p := Produced{Ref: ref}
	if t.Direction != Import || !t.Tabular {
		p.Err = calgate.Invalid(ref, "template %q does not read table rows", t.Name)
		return p
	}
	g := rowGetter{row.Lookup()}
	label := func(fm *fieldMap) string {
		if fm.path == nil {
			return ref + ", " + fm.field
		}
		h, ok := g.Header(fm.path.col)
		if !ok {
			h = strings.TrimSpace(fm.path.raw)
		}
		return fmt.Sprintf("%s, column %q", ref, h)
	}
	extra := func(b *calgate.EntryFields) {
		for col, v := range g.Values {
			if t.refs[col] || strings.TrimSpace(v) == "" {
				continue
			}
			name, _ := g.Header(col)
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
			missing[sheet.Normalize(h)] = true
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
