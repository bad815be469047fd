package ical

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/calgate/calgate"
)

// Template renders an event title or description from an entry. It is
// text with {field} placeholders naming wire fields of the entry
// ({workstage}, {order}, {customer.name}, {attributes.key}, …);
// {a|b} takes the first of a and b that is not empty; {{ and }} are
// literal braces. Text between two placeholders is a separator: it is
// written only when there is a value on both sides, so empty fields leave
// no dangling ": " or " / ".
type Template struct {
	src   string
	parts []templatePart
}

// templatePart is literal text (names == nil) or a placeholder with its
// alternatives.
type templatePart struct {
	text  string
	names []string
}

// templateFields lists the entry fields a placeholder may name: the wire
// fields of every kind, objects whole and by member; attributes are named
// by key (attributes.NAME).
var templateFields = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range calgate.Kinds {
		for _, f := range calgate.WireFields(k) {
			m[f.Name] = true
		}
		for _, p := range calgate.WirePaths(k) {
			m[p] = true
		}
	}
	delete(m, "attributes")
	return m
}()

// ParseTemplate parses a title or description template. An unknown or
// malformed placeholder is an error that names it.
func ParseTemplate(s string) (*Template, error) {
	t := &Template{src: s}
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '}':
			return nil, fmt.Errorf("ical: template %q: unmatched } at offset %d (write }} for a literal brace)", s, i)
		case c == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("ical: template %q: unclosed placeholder at offset %d", s, i)
			}
			body := s[i+1 : i+end]
			var names []string
			for _, n := range strings.Split(body, "|") {
				n = strings.TrimSpace(n)
				if !validTemplateField(n) {
					return nil, fmt.Errorf("ical: template %q: unknown placeholder {%s}", s, n)
				}
				names = append(names, n)
			}
			if lit.Len() > 0 || len(t.parts) == 0 || t.parts[len(t.parts)-1].names != nil {
				t.parts = append(t.parts, templatePart{text: lit.String()})
			}
			lit.Reset()
			t.parts = append(t.parts, templatePart{names: names})
			i += end
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, templatePart{text: lit.String()})
	}
	return t, nil
}

func validTemplateField(n string) bool {
	if templateFields[n] {
		return true
	}
	key, ok := strings.CutPrefix(n, "attributes.")
	return ok && key != ""
}

// MustParseTemplate is ParseTemplate for templates written in code; it
// panics on an error.
func MustParseTemplate(s string) *Template {
	t, err := ParseTemplate(s)
	if err != nil {
		panic(err)
	}
	return t
}

// String returns the template's source.
func (t *Template) String() string { return t.src }

// DefaultTitle returns the title template of a kind: the title, or else
// the resource, for reservations; "{workstage}: {order} / {product}" for
// jobs; "{cost_centre}: {activity}" for production windows.
func DefaultTitle(kind calgate.Kind) *Template {
	switch kind {
	case calgate.KindJob:
		return defaultJobTitle
	case calgate.KindProductionWindow:
		return defaultWindowTitle
	case calgate.KindReservation:
		return defaultReservationTitle
	default:
		return defaultOtherTitle
	}
}

// The default title templates; Template values are never changed after
// parsing.
var (
	defaultJobTitle         = MustParseTemplate("{workstage}: {order} / {product}")
	defaultWindowTitle      = MustParseTemplate("{cost_centre}: {activity}")
	defaultReservationTitle = MustParseTemplate("{title|resource}")
	defaultOtherTitle       = MustParseTemplate("{title|resource|workstage|cost_centre}")
)

// Execute renders the template for an entry. Fields the entry's kind does
// not have, and missing attributes, are empty. A nil template renders "".
func (t *Template) Execute(e *calgate.Entry) string {
	if t == nil || e == nil {
		return ""
	}
	wire := e.Wire()
	var attrs map[string]any
	var b strings.Builder
	sep, haveValue := "", false
	for i, p := range t.parts {
		if p.names == nil {
			switch {
			case i == 0 || i == len(t.parts)-1:
				b.WriteString(p.text) // leading or trailing text
			case haveValue && sep == "":
				sep = p.text
			}
			continue
		}
		v := ""
		for _, n := range p.names {
			if key, ok := strings.CutPrefix(n, "attributes."); ok {
				if attrs == nil {
					attrs = map[string]any{}
					_ = json.Unmarshal(e.Attributes, &attrs)
				}
				v = templateValue(attrs[key])
			} else {
				v = templateWireValue(wire, n)
			}
			if v != "" {
				break
			}
		}
		if v == "" {
			continue
		}
		if haveValue {
			b.WriteString(sep)
		}
		b.WriteString(v)
		sep, haveValue = "", true
	}
	return strings.TrimSpace(b.String())
}

func templateWireValue(wire map[string]any, name string) string {
	if f, ok := strings.CutPrefix(name, "customer."); ok {
		cu, _ := wire["customer"].(calgate.Customer)
		switch f {
		case "name":
			return cu.Name
		case "email":
			return cu.Email
		default:
			return cu.Phone
		}
	}
	return templateValue(wire[name])
}

// templateValue formats one field value as text.
func templateValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case calgate.Kind:
		return string(v)
	case calgate.Status:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case *int:
		if v == nil {
			return ""
		}
		return strconv.Itoa(*v)
	case calgate.Customer:
		return v.Name
	case json.RawMessage:
		if s := string(bytes.TrimSpace(v)); s != "{}" && s != "null" {
			return s
		}
		return ""
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(b)
	}
}
