package template

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports/sheet"
)

// Direction says whether a template brings records in or renders entries
// out.
type Direction string

// The two directions of a template.
const (
	Import Direction = "import"
	Export Direction = "export"
)

// Limits of a template, documented in the README.
const (
	// MaxNameLength bounds a template's name (see calgate.NameProblem for
	// the characters it may hold).
	MaxNameLength = calgate.MaxNameLength
	// MaxDocumentLength bounds a template document, in bytes.
	MaxDocumentLength = 1 << 20
)

// Template maps foreign records to entries of one kind (import) or entries
// to foreign records (export). It is immutable once parsed and safe for
// concurrent use.
type Template struct {
	Name        string
	Description string
	Kind        calgate.Kind
	Direction   Direction
	// Tabular is set for templates that read CSV or Excel rows: their paths
	// are column names.
	Tabular bool
	// ShouldInsert and ShouldUpdate tell the caller whether the upsert may
	// create new entries and change existing ones (both default to true).
	ShouldInsert bool
	ShouldUpdate bool
	// SkipIfMissing lists the wire fields whose absence skips an entry
	// instead of failing it.
	SkipIfMissing []string

	// doc and archived are the whole-document mappings (document.go).
	doc      *fieldMap
	archived []path
	// deleted names the field that marks an exported entry archived.
	deleted string

	raw     json.RawMessage
	forEach []step
	fields  []*fieldMap
	columns map[string]*fieldMap // by lower-cased column name
	// refs holds the lower-cased column names some mapping reads; other
	// columns go into attributes.
	refs map[string]bool
}

// fieldMap is one compiled mapping: where a value comes from and what is
// done to it.
type fieldMap struct {
	field      string // wire field (import) or foreign name (export)
	column     string // the column as the template spells it, for columns
	path       *path
	alts       []path // tried in turn when path has no value
	constVal   any
	hasConst   bool
	def        any
	hasDef     bool
	transforms []transform
}

// MarshalJSON returns the template document as it was parsed.
func (t *Template) MarshalJSON() ([]byte, error) {
	return append([]byte(nil), t.raw...), nil
}

// Parse reads and checks a template document. Every mistake is
// reported in a *calgate.ValidationError under its JSON path, such as
// fields.start.transform[0].layout.
func Parse(data []byte) (*Template, error) {
	errs := &calgate.ValidationError{}
	if len(data) > MaxDocumentLength {
		errs.Add("body", "a template must be at most %d bytes long", MaxDocumentLength)
		return nil, errs
	}
	o, ok := decodeObject(data, "", errs)
	if !ok {
		errs.Malformed = true
		return nil, errs
	}
	if ve := calgate.CheckJSONText(data, ""); ve != nil {
		return nil, ve
	}
	t := &Template{ShouldInsert: true, ShouldUpdate: true}
	var buf bytes.Buffer
	if json.Compact(&buf, data) == nil {
		t.raw = buf.Bytes()
	}
	t.readHeader(o)
	c := &compiler{errs: errs, table: t.Tabular, tz: t.timezone(o)}
	if t.Direction == Export {
		t.readExport(o, c)
	} else {
		t.readImport(o, c)
	}
	o.finish()
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Template) timezone(o *object) string {
	tz, ok := o.str("timezone")
	if !ok {
		return ""
	}
	if _, err := calgate.LoadZone(tz); err != nil {
		o.errs.Add("timezone", "%v", err)
		return ""
	}
	return tz
}

func (t *Template) readHeader(o *object) {
	name, _ := o.str("name")
	t.Name = strings.TrimSpace(name)
	if p := calgate.NameProblem(t.Name); p != "" {
		o.errs.Add("name", "%s", p)
	}
	t.Description, _ = o.str("description")
	o.errs.Text("description", t.Description, calgate.MaxDescriptionLength)
	kind, ok := o.str("kind")
	t.Kind = calgate.Kind(kind)
	switch {
	case !ok:
		o.errs.Add("kind", "is required: one of reservation, job, production_window")
	case !t.Kind.Valid():
		o.errs.Add("kind", "%q is not one of reservation, job, production_window", kind)
	}
	dir, ok := o.str("direction")
	t.Direction = Direction(dir)
	if !ok || (t.Direction != Import && t.Direction != Export) {
		o.errs.Add("direction", "must be import or export")
	}
	if in, ok := o.str("input"); ok {
		switch in {
		case "json":
		case "table":
			t.Tabular = true
		default:
			o.errs.Add("input", `must be "json" or "table"`)
		}
	}
	if o.has("columns") {
		t.Tabular = true
	}
}

func (t *Template) readImport(o *object, c *compiler) {
	if b, ok := o.boolean("should_insert"); ok {
		t.ShouldInsert = b
	}
	if b, ok := o.boolean("should_update"); ok {
		t.ShouldUpdate = b
	}
	if paths, ok := o.strings("for_each"); ok {
		if t.Tabular {
			c.errs.Add("for_each", "does not apply to tabular templates: each row is one entry")
		}
		for i, p := range paths {
			steps, err := parseSteps(p)
			if err == nil {
				for _, s := range steps {
					if s.key == "" {
						err = fmt.Errorf("walks keys only, not indexes")
					}
				}
			}
			if err != nil {
				c.errs.Add(fmt.Sprintf("for_each[%d]", i), "%q %v", p, err)
				continue
			}
			t.forEach = append(t.forEach, steps...)
		}
	}
	c.depth = len(t.forEach)
	if t.Tabular {
		c.refs = map[string]bool{}
	}
	mapped := map[string]bool{}
	if raw, ok := o.raw("fields"); ok {
		if f, ok := decodeObject(raw, "fields", c.errs); ok {
			for _, name := range f.keys() {
				at := keyPath("fields", name)
				field, ok := t.wireField(name, at, c.errs)
				if !ok {
					f.used[name] = true
					continue
				}
				if mapped[field] {
					c.errs.Add(at, "%s is already mapped", field)
					f.used[name] = true
					continue
				}
				if fm := c.mapping(f.m[name], at, field); fm != nil {
					t.fields = append(t.fields, fm)
					mapped[field] = true
				}
				f.used[name] = true
			}
		}
	}
	if raw, ok := o.raw("columns"); ok {
		t.readColumns(raw, c, mapped)
	}
	t.refs = c.refs
	if list, ok := o.strings("skip_if_missing"); ok {
		for i, name := range list {
			field, ok := t.wireField(name, fmt.Sprintf("skip_if_missing[%d]", i), c.errs)
			if ok {
				t.SkipIfMissing = append(t.SkipIfMissing, field)
			}
		}
	}
	t.readDocument(o, c)
	for _, need := range []string{"external_id", "start", t.Kind.ResourceField()} {
		if t.Kind.Valid() && !mapped[need] {
			c.errs.Add(keyPath("fields", need), "is required: every %s needs one", t.Kind)
		}
	}
}

func (t *Template) readColumns(raw json.RawMessage, c *compiler, mapped map[string]bool) {
	cols, ok := decodeObject(raw, "columns", c.errs)
	if !ok {
		return
	}
	t.columns = map[string]*fieldMap{}
	for _, header := range cols.keys() {
		cols.used[header] = true
		at := keyPath("columns", header)
		col := sheet.Normalize(header)
		if col == "" {
			c.errs.Add(at, "the column name is empty")
			continue
		}
		if _, dup := t.columns[col]; dup {
			c.errs.Add(at, "names the same column as another key (names are compared without case)")
			continue
		}
		item := cols.m[header]
		var short string
		if json.Unmarshal(item, &short) == nil {
			item = json.RawMessage(`{"field":` + string(item) + `}`)
		}
		m, ok := decodeObject(item, at, c.errs)
		if !ok {
			continue
		}
		name, ok := m.str("field")
		if !ok {
			c.errs.Add(join(at, "field"), "is required: the entry field this column fills")
			continue
		}
		field, ok := t.wireField(name, join(at, "field"), c.errs)
		if !ok {
			continue
		}
		if mapped[field] {
			c.errs.Add(join(at, "field"), "%s is already mapped", field)
			continue
		}
		delete(m.m, "field")
		p := path{raw: header, col: col}
		c.refs[col] = true
		if m.has("path") {
			c.errs.Add(join(at, "path"), "a column mapping reads its own column: use fields for other paths")
			continue
		}
		fm := c.mappingFrom(m, field)
		if fm == nil {
			continue
		}
		if fm.hasConst {
			c.errs.Add(join(at, "const"), "a column mapping reads its column: use fields for constants")
			continue
		}
		fm.path, fm.column = &p, header
		t.columns[col] = fm
		t.fields = append(t.fields, fm)
		mapped[field] = true
	}
	sort.SliceStable(t.fields, func(i, j int) bool { return t.fields[i].field < t.fields[j].field })
}

// mapping compiles one field mapping object.
func (c *compiler) mapping(raw json.RawMessage, at, field string) *fieldMap {
	m, ok := decodeObject(raw, at, c.errs)
	if !ok {
		return nil
	}
	fm := c.mappingFrom(m, field)
	if fm != nil && fm.path == nil && !fm.hasConst && !fm.hasDef && !producing(fm.transforms) {
		c.errs.Add(at, "needs a path, a const, a default or a join or format transform")
		return nil
	}
	return fm
}

func (c *compiler) mappingFrom(m *object, field string) *fieldMap {
	before := len(c.errs.Errors)
	fm := &fieldMap{field: field}
	if list, ok := m.strings("path"); ok {
		if len(list) == 0 {
			c.errs.Add(join(m.at, "path"), "is an empty list")
		}
		for i, s := range list {
			at := join(m.at, "path")
			if len(list) > 1 {
				at = fmt.Sprintf("%s[%d]", at, i)
			}
			p, ok := c.path(s, at)
			switch {
			case !ok:
			case fm.path == nil:
				fm.path = &p
			default:
				fm.alts = append(fm.alts, p)
			}
		}
	}
	fm.constVal, fm.hasConst = m.value("const")
	if fm.hasConst && fm.path != nil {
		c.errs.Add(join(m.at, "const"), "cannot be combined with path")
	}
	fm.def, fm.hasDef = m.value("default")
	if raw, ok := m.raw("transform"); ok {
		fm.transforms = c.transforms(raw, join(m.at, "transform"))
	}
	m.finish()
	if len(c.errs.Errors) > before {
		return nil
	}
	return fm
}

func producing(ts []transform) bool {
	for _, t := range ts {
		switch x := t.(type) {
		case joinTransform:
			if len(x.paths) > 0 {
				return true
			}
		case formatTransform:
			if x.printf == "" {
				return true
			}
		}
	}
	return false
}

// wireField checks an import field name against the template's kind;
// "resource" stands for the kind's resource field.
func (t *Template) wireField(name, at string, errs *calgate.ValidationError) (string, bool) {
	if !t.Kind.Valid() {
		return name, false
	}
	if name == "resource" {
		return t.Kind.ResourceField(), true
	}
	if rest, ok := strings.CutPrefix(name, "attributes."); ok {
		if strings.TrimSpace(rest) == "" {
			errs.Add(at, "names no attribute")
			return "", false
		}
		return name, true
	}
	if _, ok := fields.settable[t.Kind][name]; ok {
		return name, true
	}
	for _, k := range calgate.Kinds {
		if _, ok := fields.settable[k][name]; ok {
			errs.Add(at, "%s is a field of %s entries, not of %s", name, k, t.Kind)
			return "", false
		}
	}
	errs.Add(at, "%q is not an entry field", name)
	return "", false
}

// fields are the entry fields templates name, read from the entry's wire
// form (calgate.WireFields), so that a field added there is mapped and
// exported without a change here.
var fields = readFields()

type entryFields struct {
	// settable maps, per kind, each field an import sets (an object's
	// members as "customer.name") to its JSON type.
	settable map[calgate.Kind]map[string]string
	// readable holds every top-level field an export reads.
	readable map[string]bool
}

func readFields() entryFields {
	f := entryFields{settable: map[calgate.Kind]map[string]string{}, readable: map[string]bool{}}
	for _, k := range calgate.Kinds {
		set := map[string]string{}
		for _, w := range calgate.WireFields(k) {
			f.readable[w.Name] = true
			switch {
			case w.ReadOnly || w.Name == "attributes":
			case w.Type == "object":
				for _, m := range w.Fields {
					set[w.Name+"."+m.Name] = m.Type
				}
			default:
				set[w.Name] = w.Type
			}
		}
		f.settable[k] = set
	}
	return f
}

func (t *Template) readExport(o *object, c *compiler) {
	for _, key := range []string{"for_each", "columns", "skip_if_missing", "should_insert", "should_update", "document", "archived"} {
		if o.has(key) {
			o.used[key] = true
			c.errs.Add(key, "is only for import templates")
		}
	}
	if t.Tabular {
		c.errs.Add("input", "export templates read entries, not tables")
		c.table = false
	}
	t.deleted = "deleted"
	if name, ok := o.str("deleted"); ok {
		if strings.TrimSpace(name) == "" || strings.Contains(name, ".") {
			c.errs.Add("deleted", "must name a top-level field")
		}
		t.deleted = name
	}
	raw, ok := o.raw("fields")
	if !ok {
		c.errs.Add("fields", "is required: the foreign fields to render")
		return
	}
	f, ok := decodeObject(raw, "fields", c.errs)
	if !ok {
		return
	}
	for _, name := range f.keys() {
		f.used[name] = true
		at := keyPath("fields", name)
		if strings.TrimSpace(name) == "" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
			c.errs.Add(at, "is not a usable field name")
			continue
		}
		fm := c.mapping(f.m[name], at, name)
		if fm == nil {
			continue
		}
		if !t.exportPaths(fm, at, c) {
			continue
		}
		t.fields = append(t.fields, fm)
	}
}

func knownWirePath(p path) bool {
	if p.root || p.up > 0 || len(p.steps) == 0 {
		return p.root && len(p.steps) == 0
	}
	return fields.readable[p.steps[0].key]
}

// exportPaths checks that export paths read entry fields; "resource" stands
// for the kind's resource field.
func (t *Template) exportPaths(fm *fieldMap, at string, c *compiler) bool {
	if fm.path == nil {
		return true
	}
	ps := []*path{fm.path}
	for i := range fm.alts {
		ps = append(ps, &fm.alts[i])
	}
	for _, p := range ps {
		if !knownWirePath(*p) {
			c.errs.Add(join(at, "path"), "%q does not start with an entry field", p.raw)
			return false
		}
		if len(p.steps) > 0 && p.steps[0].key == "resource" {
			p.steps[0].key = t.Kind.ResourceField()
		}
	}
	return true
}
