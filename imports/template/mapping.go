package template

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/calgate/calgate"
)

// Produced is one entry a template made from a foreign record.
type Produced struct {
	// Ref locates the entry's record inside the mapped document, as in
	// "positions[1].tasks[0]", or "line 7" for a row.
	Ref string `json:"ref"`
	// Fields is the entry's wire form, for calgate.ParseEntryFields(t.Kind,
	// …); nil when the entry was skipped or failed.
	Fields *calgate.EntryFields `json:"entry,omitempty"`
	// Skipped says why the entry was left out, as when a task has no
	// production window yet; empty otherwise.
	Skipped string `json:"skipped,omitempty"`
	// Err lists what could not be mapped, each field named after where its
	// value came from.
	Err *calgate.ValidationError `json:"-"`

	// where names, for a wire field, where its value came from; it is
	// worked out only when an error needs it.
	where func(field string) (string, bool)
	// notes adds context to an error on a wire field (a short row).
	notes map[string]string
}

// Map maps one foreign record (a JSON object as decoded by encoding/json,
// or a list of them) to the entries it holds, one per element that for_each
// reaches. The error is for records the template cannot read at all;
// problems with single entries are reported in each Produced.
func (t *Template) Map(record any) ([]Produced, error) {
	if t.Direction != Import {
		return nil, fmt.Errorf("imports: template %q is an export template", t.Name)
	}
	if t.Tabular {
		return nil, fmt.Errorf("imports: template %q reads table rows: use MapRow", t.Name)
	}
	var out []Produced
	switch r := record.(type) {
	case map[string]any:
		out = t.expand(out, []level{{value: r}}, 0)
	case []any:
		for i, el := range r {
			ref := fmt.Sprintf("[%d]", i)
			if _, ok := el.(map[string]any); !ok {
				out = append(out, Produced{Ref: ref, Err: calgate.Invalid(ref, "is not a JSON object")})
				continue
			}
			out = t.expand(out, []level{{value: el, ref: ref}}, 0)
		}
	default:
		return nil, fmt.Errorf("imports: template %q: the record is not a JSON object or a list of objects", t.Name)
	}
	return out, nil
}

// MapJSON decodes a JSON document (keeping numbers exact) and maps it.
func (t *Template) MapJSON(data []byte) ([]Produced, error) {
	v, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("imports: template %q: %w", t.Name, calgate.DecodeError(err))
	}
	return t.Map(v)
}

// expand walks for_each from the last level, producing one entry per leaf.
func (t *Template) expand(out []Produced, levels []level, depth int) []Produced {
	if depth == len(t.forEach) {
		return append(out, t.produce(levels))
	}
	cur := levels[len(levels)-1]
	key := t.forEach[depth].key
	obj, ok := cur.value.(map[string]any)
	if !ok {
		ref := cur.ref
		return append(out, Produced{Ref: ref, Err: calgate.Invalid(RecordRef(ref), "is not a JSON object, so %q cannot be walked", key)})
	}
	child, ok := obj[key]
	if !ok || child == nil {
		return out
	}
	base := key
	if cur.ref != "" {
		base = cur.ref + "." + key
	}
	next := make([]level, len(levels)+1)
	copy(next, levels)
	switch c := child.(type) {
	case []any:
		for i, el := range c {
			next[len(levels)] = level{value: el, ref: base + "[" + strconv.Itoa(i) + "]"}
			out = t.expand(out, next, depth+1)
		}
	default:
		next[len(levels)] = level{value: c, ref: base}
		out = t.expand(out, next, depth+1)
	}
	return out
}

// RecordRef names a record in errors: its ref, or "record" for the root
// record of a document.
func RecordRef(ref string) string {
	if ref == "" {
		return "record"
	}
	return ref
}

// levelGetter resolves paths over the chain of records for_each walked.
type levelGetter []level

func (g levelGetter) get(p path) (any, bool) { return p.resolve(g) }

func (t *Template) produce(levels []level) Produced {
	ref := levels[len(levels)-1].ref
	p := Produced{Ref: ref}
	if _, ok := levels[len(levels)-1].value.(map[string]any); !ok {
		p.Err = calgate.Invalid(RecordRef(ref), "is not a JSON object")
		return p
	}
	label := func(fm *fieldMap) string {
		if fm.path == nil {
			return prefixRef(ref, fm.field)
		}
		return prefixRef(ref, fm.path.raw)
	}
	archived, at, err := t.isArchived(levelGetter(levels))
	switch {
	case err != nil:
		p.Err = calgate.Invalid(prefixRef(ref, at), "archived: %v", err)
		return p
	case archived:
		p.Skipped = "archived in the source (" + at + ")"
		return p
	}
	t.build(&p, levelGetter(levels), label, nil)
	return p
}

func prefixRef(ref, name string) string {
	if ref == "" {
		return name
	}
	return ref + "." + name
}

// build evaluates every mapping and assembles the wire entry.
func (t *Template) build(p *Produced, g getter, label func(*fieldMap) string, extra func(out *calgate.EntryFields)) {
	b := &calgate.EntryFields{}
	errs := &calgate.ValidationError{}
	p.where = func(field string) (string, bool) {
		for _, fm := range t.fields {
			if fm.field == field {
				return label(fm), true
			}
		}
		return "", false
	}
	var failed map[string]bool
	for _, fm := range t.fields {
		v, ok, err := fm.eval(g)
		if err == nil && ok {
			err = setField(b, fm.field, v)
		}
		if err != nil {
			errs.Add(label(fm), "%s: %v", fm.field, err)
			if failed == nil {
				failed = map[string]bool{}
			}
			failed[fm.field] = true
		}
	}
	if extra != nil {
		extra(b)
	}
	for _, f := range t.SkipIfMissing {
		if !b.Has(f) && !failed[f] {
			at, _ := p.where(f)
			p.Skipped = fmt.Sprintf("%s is missing (%s)", f, at)
			return
		}
	}
	if len(errs.Errors) > 0 {
		p.Err = errs
		return
	}
	p.Fields = b
}

// eval computes a mapping's value; ok is false when there is none.
func (fm *fieldMap) eval(g getter) (any, bool, error) {
	var v any
	var ok bool
	switch {
	case fm.hasConst:
		v, ok = fm.constVal, fm.constVal != nil
	case fm.path != nil:
		v, ok = g.get(*fm.path)
		ok = present(v, ok)
		for i := 0; !ok && i < len(fm.alts); i++ {
			v, ok = g.get(fm.alts[i])
			ok = present(v, ok)
		}
	}
	for _, t := range fm.transforms {
		var err error
		v, ok, err = t.apply(v, ok, g)
		if err != nil {
			return nil, false, err
		}
		ok = present(v, ok)
	}
	if !ok && fm.hasDef {
		v, ok = fm.def, fm.def != nil
	}
	return v, ok, nil
}

// setField sets one wire field from a mapped value, converted to the
// field's type.
func setField(f *calgate.EntryFields, field string, v any) error {
	if key, ok := strings.CutPrefix(field, "attributes."); ok {
		f.SetAttribute(key, v)
		return nil
	}
	switch fieldType(field) {
	case "boolean":
		x, err := toBool(v)
		if err != nil {
			return err
		}
		return f.SetBool(field, x)
	case "integer":
		x, err := toInt(v)
		if err != nil {
			return err
		}
		return f.SetInt(field, x)
	}
	s, err := text(v)
	if err != nil {
		return err
	}
	return f.SetString(field, s)
}

// fieldType is the JSON type of a settable field, the same for every kind
// that has it.
func fieldType(field string) string {
	for _, k := range calgate.Kinds {
		if t, ok := fields.settable[k][field]; ok {
			return t
		}
	}
	return ""
}

func toBool(v any) (bool, error) {
	if x, ok := v.(bool); ok {
		return x, nil
	}
	s, err := text(v)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "y", "x", "ja", "oui":
		return true, nil
	case "false", "0", "no", "n", "nein", "non":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a yes/no value", s)
}

func toInt(v any) (int, error) {
	s, err := text(v)
	if err != nil {
		return 0, err
	}
	f, err := parseFloat(s)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return int(f), nil
}

// Parse validates a produced entry with calgate.ParseEntryFields and names
// every bad field after where its value came from (the record path, or the
// line and column of a row). defaultTZ is the time zone of entries that
// name none.
func (t *Template) Parse(p Produced, defaultTZ string) (*calgate.Entry, error) {
	if p.Err != nil {
		return nil, p.Err
	}
	if p.Fields == nil {
		return nil, fmt.Errorf("imports: %s: nothing to parse (skipped: %s)", RecordRef(p.Ref), p.Skipped)
	}
	e, err := calgate.ParseEntryFields(t.Kind, p.Fields, defaultTZ)
	if err == nil {
		return e, nil
	}
	var ve *calgate.ValidationError
	if !errors.As(err, &ve) {
		return nil, err
	}
	out := &calgate.ValidationError{Malformed: ve.Malformed}
	for _, fe := range ve.Errors {
		name, msg := fe.Field, fe.Message
		if l, ok := p.lookupLabel(name); ok {
			name = l
			msg = fe.Field + ": " + msg
		} else {
			name = labelFor(p.Ref, name)
		}
		if n, ok := p.notes[fe.Field]; ok {
			msg += " (" + n + ")"
		}
		out.Errors = append(out.Errors, calgate.FieldError{Field: name, Message: msg})
	}
	return nil, out
}

func labelFor(ref, field string) string {
	switch {
	case ref == "":
		return field
	case strings.HasPrefix(ref, "line "):
		return ref + ", " + field
	default:
		return ref + "." + field
	}
}

func (p Produced) lookupLabel(field string) (string, bool) {
	if p.where == nil {
		return "", false
	}
	return p.where(field)
}
