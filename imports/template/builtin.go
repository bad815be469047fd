package template

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed builtin/*.json
var builtinFS embed.FS

// Builtin returns the templates that ship with calgate, by name: a fresh
// set on every call, so callers may keep or drop them freely.
//
//   - planningnow-order: PlanningNow order → one production window per task
//   - skyplanner-order: Skyplanner order → one job per process step
//   - planyo-reservations: Planyo CSV/Excel report → one reservation per row
//   - planningpme-tasks: export of jobs as PlanningPME tasks
func Builtin() map[string]*Template {
	out := map[string]*Template{}
	for _, name := range BuiltinNames() {
		t, err := loadBuiltin(name)
		if err != nil {
			// The embedded templates are checked by the package's tests; a
			// broken one is left out rather than failing every caller.
			continue
		}
		out[name] = t
	}
	return out
}

// BuiltinNames lists the names of the built-in templates, sorted.
func BuiltinNames() []string {
	entries, err := builtinFS.ReadDir("builtin")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// LookupBuiltin returns one built-in template by name.
func LookupBuiltin(name string) (*Template, error) {
	for _, n := range BuiltinNames() {
		if n == name {
			return loadBuiltin(name)
		}
	}
	return nil, fmt.Errorf("imports: no built-in template named %q", name)
}

func loadBuiltin(name string) (*Template, error) {
	data, err := builtinFS.ReadFile("builtin/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("imports: built-in template %s: %w", name, err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("imports: built-in template %s: %w", name, err)
	}
	return t, nil
}
