package template

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports/sheet"
)

// getter looks a path up in the record being mapped.
type getter interface {
	get(p path) (any, bool)
}

// transform changes a value; ok reports whether there is one. Transforms
// that build a value from other paths (join, format with a pattern) run even
// when there is none yet; the others pass a missing value through.
type transform interface {
	apply(v any, ok bool, g getter) (any, bool, error)
}

// compiler holds what compiling a template needs to know.
type compiler struct {
	errs  *calgate.ValidationError
	table bool // paths are column names
	depth int  // levels walked by for_each
	tz    string
	refs  map[string]bool // column names referenced, lower-cased
}

func (c *compiler) path(s, at string) (path, bool) {
	if c.table {
		col := sheet.Normalize(s)
		if col == "" {
			c.errs.Add(at, "is empty")
			return path{}, false
		}
		if c.refs != nil {
			c.refs[col] = true
		}
		return path{raw: s, col: col}, true
	}
	p, err := parsePath(s)
	if err != nil {
		c.errs.Add(at, "%v", err)
		return p, false
	}
	if p.up > c.depth {
		c.errs.Add(at, "%q reaches up %d levels, but for_each walks only %d", s, p.up, c.depth)
		return p, false
	}
	return p, true
}

func (c *compiler) transforms(raw json.RawMessage, at string) []transform {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		c.errs.Add(at, "must be a list of transforms")
		return nil
	}
	out := make([]transform, 0, len(items))
	for i, item := range items {
		iat := fmt.Sprintf("%s[%d]", at, i)
		var name string
		if json.Unmarshal(item, &name) == nil {
			item = json.RawMessage(`{"type":` + string(item) + `}`)
		}
		o, ok := decodeObject(item, iat, c.errs)
		if !ok {
			continue
		}
		if t := c.transform(o); t != nil {
			out = append(out, t)
		}
		o.finish()
	}
	return out
}

func (c *compiler) transform(o *object) transform {
	name, ok := o.str("type")
	if !ok {
		c.errs.Add(join(o.at, "type"), "is required: one of date, format, join, lookup, number, lower, upper, trim")
		return nil
	}
	switch name {
	case "date":
		return c.dateTransform(o)
	case "format":
		return c.formatTransform(o)
	case "join":
		return c.joinTransform(o)
	case "lookup":
		return c.lookupTransform(o)
	case "number":
		return c.numberTransform(o)
	case "lower":
		return textFunc(strings.ToLower)
	case "upper":
		return textFunc(strings.ToUpper)
	case "trim":
		return textFunc(strings.TrimSpace)
	default:
		c.errs.Add(join(o.at, "type"), "unknown transform %q: use date, format, join, lookup, number, lower, upper or trim", name)
		return nil
	}
}

type textFunc func(string) string

func (f textFunc) apply(v any, ok bool, _ getter) (any, bool, error) {
	if !ok {
		return nil, false, nil
	}
	s, err := text(v)
	if err != nil {
		return nil, false, err
	}
	return f(s), true, nil
}

func (c *compiler) dateTransform(o *object) transform {
	d := &dateSpec{}
	if l, ok := o.str("layout"); ok {
		gl, hasTime, hasZone, err := goLayout(l)
		if err != nil {
			c.errs.Add(join(o.at, "layout"), "%v", err)
		}
		d.layout, d.hasTime, d.hasZone = gl, hasTime, hasZone
	}
	zone, ok := o.str("zone")
	if !ok {
		zone = c.tz
	}
	if zone != "" {
		loc, err := calgate.LoadZone(zone)
		if err != nil {
			c.errs.Add(join(o.at, "zone"), "%v", err)
		}
		d.zone = loc
	}
	if l, ok := o.str("output"); ok {
		gl, _, _, err := goLayout(l)
		if err != nil {
			c.errs.Add(join(o.at, "output"), "%v", err)
		}
		d.output = gl
	}
	return dateTransform{d}
}

type dateTransform struct{ d *dateSpec }

func (t dateTransform) apply(v any, ok bool, _ getter) (any, bool, error) {
	if !ok {
		return nil, false, nil
	}
	out, err := t.d.apply(v)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// formatTransform renders a pattern with {path} placeholders ({} is the
// value itself; values are trimmed, and a pattern none of whose placeholders
// has a value gives no value) or applies one printf verb to the value.
type formatTransform struct {
	parts  []patternPart
	printf string
}

type patternPart struct {
	lit  string
	self bool
	p    *path
}

func (c *compiler) formatTransform(o *object) transform {
	pattern, hasPattern := o.str("pattern")
	printf, hasPrintf := o.str("printf")
	switch {
	case hasPattern == hasPrintf:
		c.errs.Add(o.at, "needs exactly one of pattern or printf")
		return nil
	case hasPrintf:
		if n := strings.Count(strings.ReplaceAll(printf, "%%", ""), "%"); n != 1 {
			c.errs.Add(join(o.at, "printf"), "must hold exactly one verb, as in %%05d, not %d", n)
			return nil
		}
		return formatTransform{printf: printf}
	}
	var parts []patternPart
	rest := pattern
	var lit strings.Builder
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "{{"):
			lit.WriteByte('{')
			rest = rest[2:]
		case strings.HasPrefix(rest, "}}"):
			lit.WriteByte('}')
			rest = rest[2:]
		case rest[0] == '{':
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				c.errs.Add(join(o.at, "pattern"), "has an unclosed {")
				return nil
			}
			if lit.Len() > 0 {
				parts = append(parts, patternPart{lit: lit.String()})
				lit.Reset()
			}
			name := rest[1:end]
			if strings.TrimSpace(name) == "" {
				parts = append(parts, patternPart{self: true})
			} else {
				p, ok := c.path(name, join(o.at, "pattern"))
				if !ok {
					return nil
				}
				parts = append(parts, patternPart{p: &p})
			}
			rest = rest[end+1:]
		case rest[0] == '}':
			c.errs.Add(join(o.at, "pattern"), "has a } without {: write }} for a brace")
			return nil
		default:
			lit.WriteByte(rest[0])
			rest = rest[1:]
		}
	}
	if lit.Len() > 0 {
		parts = append(parts, patternPart{lit: lit.String()})
	}
	return formatTransform{parts: parts}
}

func (f formatTransform) apply(v any, ok bool, g getter) (any, bool, error) {
	if f.printf != "" {
		if !ok {
			return nil, false, nil
		}
		return sprintf(f.printf, v)
	}
	var b strings.Builder
	found := false
	for _, p := range f.parts {
		var x any
		var xok bool
		switch {
		case p.self:
			x, xok = v, ok
		case p.p != nil:
			x, xok = g.get(*p.p)
		default:
			b.WriteString(p.lit)
			continue
		}
		if !present(x, xok) {
			continue
		}
		s, err := text(x)
		if err != nil {
			return nil, false, err
		}
		found = true
		b.WriteString(strings.TrimSpace(s))
	}
	if !found && len(f.parts) > 0 && !onlyLiterals(f.parts) {
		return nil, false, nil
	}
	return b.String(), true, nil
}

func onlyLiterals(parts []patternPart) bool {
	for _, p := range parts {
		if p.self || p.p != nil {
			return false
		}
	}
	return true
}

func sprintf(format string, v any) (any, bool, error) {
	s, err := text(v)
	if err != nil {
		return nil, false, err
	}
	verb := format[strings.LastIndexByte(format, '%')+1:]
	verb = strings.TrimLeft(verb, "+-# 0123456789.")
	if verb == "" {
		return nil, false, fmt.Errorf("printf %q has no verb", format)
	}
	switch verb[0] {
	case 'd', 'x', 'X', 'o', 'b':
		f, err := parseFloat(s)
		if err != nil || f != math.Trunc(f) {
			return nil, false, fmt.Errorf("%q is not a whole number", s)
		}
		return fmt.Sprintf(format, int64(f)), true, nil
	case 'f', 'F', 'e', 'E', 'g', 'G':
		f, err := parseFloat(s)
		if err != nil {
			return nil, false, fmt.Errorf("%q is not a number", s)
		}
		return fmt.Sprintf(format, f), true, nil
	default:
		return fmt.Sprintf(format, s), true, nil
	}
}

// joinTransform joins the present values of several paths, or the elements
// of a list value when it names no paths.
type joinTransform struct {
	paths []path
	sep   string
}

func (c *compiler) joinTransform(o *object) transform {
	j := joinTransform{sep: " "}
	if sep, ok := o.str("separator"); ok {
		j.sep = sep
	}
	ps, _ := o.strings("paths")
	for i, s := range ps {
		if p, ok := c.path(s, fmt.Sprintf("%s[%d]", join(o.at, "paths"), i)); ok {
			j.paths = append(j.paths, p)
		}
	}
	return j
}

func (j joinTransform) apply(v any, ok bool, g getter) (any, bool, error) {
	var vals []any
	if len(j.paths) == 0 {
		if !ok {
			return nil, false, nil
		}
		list, isList := v.([]any)
		if !isList {
			list = []any{v}
		}
		vals = list
	} else {
		for _, p := range j.paths {
			x, xok := g.get(p)
			vals = append(vals, x)
			if !xok {
				vals[len(vals)-1] = nil
			}
		}
	}
	var parts []string
	for _, x := range vals {
		if !present(x, true) {
			continue
		}
		s, err := text(x)
		if err != nil {
			return nil, false, err
		}
		parts = append(parts, strings.TrimSpace(s))
	}
	if len(parts) == 0 {
		return nil, false, nil
	}
	return strings.Join(parts, j.sep), true, nil
}

// lookupTransform replaces a value by the one a table gives it: exact match
// first, then case-insensitive; the default when nothing matches.
type lookupTransform struct {
	table      map[string]any
	folded     map[string]any
	def        any
	hasDefault bool
}

func (c *compiler) lookupTransform(o *object) transform {
	l := lookupTransform{table: map[string]any{}, folded: map[string]any{}}
	raw, ok := o.raw("table")
	if !ok {
		c.errs.Add(join(o.at, "table"), "is required")
		return nil
	}
	t, ok := decodeObject(raw, join(o.at, "table"), c.errs)
	if !ok {
		return nil
	}
	for _, k := range t.keys() {
		v, _ := t.value(k)
		l.table[k] = v
		l.folded[strings.ToLower(strings.TrimSpace(k))] = v
	}
	l.def, l.hasDefault = o.value("default")
	if !l.hasDefault && o.has("default") {
		l.hasDefault = true // an explicit null default
	}
	return l
}

func (l lookupTransform) apply(v any, ok bool, _ getter) (any, bool, error) {
	if !ok {
		return nil, false, nil
	}
	s, err := text(v)
	if err != nil {
		return nil, false, err
	}
	out, found := l.table[s]
	if !found {
		out, found = l.folded[strings.ToLower(strings.TrimSpace(s))]
	}
	if !found {
		if !l.hasDefault {
			return nil, false, fmt.Errorf("%q is not in the lookup table", s)
		}
		out = l.def
	}
	return out, out != nil, nil
}

// numberTransform reads a number written with any decimal and thousands
// separators and rounds it.
type numberTransform struct {
	decimals  int
	round     bool
	decimal   string
	thousands string
}

func (c *compiler) numberTransform(o *object) transform {
	n := numberTransform{decimal: "."}
	if d, ok := o.integer("decimals"); ok {
		if d < 0 || d > 15 {
			c.errs.Add(join(o.at, "decimals"), "must be between 0 and 15")
		}
		n.decimals, n.round = d, true
	}
	if s, ok := o.str("decimal_separator"); ok {
		if s != "." && s != "," {
			c.errs.Add(join(o.at, "decimal_separator"), `must be "." or ","`)
		}
		n.decimal = s
	}
	if s, ok := o.str("thousands_separator"); ok {
		if s == n.decimal {
			c.errs.Add(join(o.at, "thousands_separator"), "must differ from the decimal separator")
		}
		n.thousands = s
	}
	return n
}

func (n numberTransform) apply(v any, ok bool, _ getter) (any, bool, error) {
	if !ok {
		return nil, false, nil
	}
	s, err := text(v)
	if err != nil {
		return nil, false, err
	}
	s = strings.TrimSpace(s)
	if n.thousands != "" {
		s = strings.ReplaceAll(s, n.thousands, "")
	}
	if n.decimal == "," {
		s = strings.Replace(s, ",", ".", 1)
	}
	f, err := parseFloat(s)
	if err != nil {
		return nil, false, fmt.Errorf("%q is not a number", strings.TrimSpace(fmt.Sprint(v)))
	}
	if !n.round {
		return f, true, nil
	}
	p := math.Pow10(n.decimals)
	f = math.Round(f*p) / p
	if n.decimals == 0 {
		return int64(f), true, nil
	}
	return f, true, nil
}

func parseFloat(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return f, nil
}
