package imports

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports/template"
)

// Exports of every entry at once, for answers streamed to the end (CSV,
// PlanningPME's export, which knows no pages).

// exportFilter selects what an export renders: the entries of the
// template's kind changed after since, and, when since is set, those
// archived after it (so deletions reach the other side).
func exportFilter(t *template.Template, since time.Time, cursor string, limit int) calgate.EntryFilter {
	return calgate.EntryFilter{Kinds: []calgate.Kind{t.Kind}, Since: since, IncludeArchived: !since.IsZero(), Cursor: cursor, Limit: limit}
}

// exportItem renders one entry and marks it deleted or not.
func exportItem(t *template.Template, e *calgate.Entry) (map[string]any, error) {
	m, err := t.Export(e)
	if err != nil {
		return nil, fmt.Errorf("imports: export %s through %s: %w", e.ID, t.Name, err)
	}
	m[t.DeletedField()] = e.Archived()
	return m, nil
}

// ExportTemplate resolves an export template by name.
func (s *Service) ExportTemplate(ctx context.Context, workspaceID, name string) (*template.Template, error) {
	t, err := s.Resolve(ctx, workspaceID, name)
	if err != nil {
		return nil, err
	}
	if t.Direction != template.Export {
		return nil, calgate.Invalid("template", "%q is an import template; export needs an export template", name)
	}
	return t, nil
}

// ExportEach renders, through an export template, every entry changed
// after since (all when zero; archived ones too when since is set), in id
// order, and hands each to fn as it is read. fn's error stops the export
// and is returned.
func (s *Service) ExportEach(ctx context.Context, workspaceID string, t *template.Template, since time.Time, fn func(map[string]any) error) error {
	cursor := ""
	for {
		entries, next, err := s.d.Store.Entries(ctx, workspaceID, exportFilter(t, since, cursor, 1000))
		if err != nil {
			return err
		}
		for _, e := range entries {
			m, err := exportItem(t, e)
			if err != nil {
				return err
			}
			if err := fn(m); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// Flatten lists an exported item's values under ExportColumns: nested
// objects are reached by their dotted names.
func Flatten(item map[string]any, columns []string) []any {
	out := make([]any, len(columns))
	for i, col := range columns {
		var v any = item
		for _, part := range strings.Split(col, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = m[part]
		}
		out[i] = v
	}
	return out
}
