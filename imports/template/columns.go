package template

import (
	"sort"

	"github.com/calgate/calgate/imports/sheet"
)

// The columns of tables: those an export writes and those a tabular
// template reads.

// ExportColumns lists the top-level foreign fields an export template
// writes, then the field that marks deleted entries: the header of a CSV
// export. Nested names ("Customer.Name") are columns of their own.
func (t *Template) ExportColumns() []string {
	var cols []string
	for _, fm := range t.fields {
		cols = append(cols, fm.field)
	}
	sort.Strings(cols)
	return append(cols, t.deleted)
}

// DeletedField names the field that marks an exported entry archived.
func (t *Template) DeletedField() string { return t.deleted }

// MissingColumns lists the columns the template's columns mapping reads
// that a result lacks. In a file, an optional column may be absent; a
// query's columns are fixed, so one missing means the source changed.
func (t *Template) MissingColumns(header []string) []string {
	have := map[string]bool{}
	for _, h := range header {
		have[sheet.Normalize(h)] = true
	}
	var out []string
	for _, fm := range t.fields {
		if fm.column != "" && !have[sheet.Normalize(fm.column)] {
			out = append(out, fm.column)
		}
	}
	return out
}
