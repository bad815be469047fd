package template

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/calgate/calgate"
)

// Export renders an entry in the foreign shape an export template
// describes. Paths read the entry's wire form (calgate.Entry.Wire); dotted
// foreign names ("Customer.Name") build nested objects. Fields without a
// value are left out.
func (t *Template) Export(e *calgate.Entry) (map[string]any, error) {
	if t.Direction != Export {
		return nil, fmt.Errorf("imports: template %q is an import template", t.Name)
	}
	if e.Kind != t.Kind {
		return nil, fmt.Errorf("imports: template %q renders %s entries, not %s", t.Name, t.Kind, e.Kind)
	}
	raw, err := json.Marshal(e.Wire())
	if err != nil {
		return nil, fmt.Errorf("imports: export %s: %w", e.ID, err)
	}
	wire, err := Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("imports: export %s: %w", e.ID, err)
	}
	g := levelGetter{{value: wire}}
	out := map[string]any{}
	errs := &calgate.ValidationError{}
	for _, fm := range t.fields {
		v, ok, err := fm.eval(g)
		if err != nil {
			errs.Add(fm.field, "%v", err)
			continue
		}
		if !ok {
			continue
		}
		if err := setNested(out, fm.field, v); err != nil {
			errs.Add(fm.field, "%v", err)
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func setNested(m map[string]any, name string, v any) error {
	parts := strings.Split(name, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p]
		if !ok {
			sub := map[string]any{}
			m[p] = sub
			m = sub
			continue
		}
		sub, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("%q is both a value and an object", p)
		}
		m = sub
	}
	last := parts[len(parts)-1]
	if _, ok := m[last].(map[string]any); ok {
		return fmt.Errorf("%q is both a value and an object", last)
	}
	m[last] = v
	return nil
}
