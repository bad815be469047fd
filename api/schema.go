package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"

	calgate "github.com/calgate/calgate"
)

// schemaOf returns the OpenAPI schema of what encoding/json writes for a
// value of type T, so that a reply's schema cannot drift from its Go type.
func schemaOf[T any]() obj { return typeSchema(reflect.TypeFor[T]()) }

// SchemaOf is schemaOf for the compatibility surfaces' request types.
func SchemaOf[T any]() map[string]any { return schemaOf[T]() }

var (
	timeType      = reflect.TypeFor[time.Time]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	eventTypeType = reflect.TypeFor[calgate.EventType]()
	kindType      = reflect.TypeFor[calgate.Kind]()
	statusType    = reflect.TypeFor[calgate.Status]()
	durationType  = reflect.TypeFor[calgate.Duration]()
	marshaler     = reflect.TypeFor[json.Marshaler]()
)

// typeSchema is the schema of a Go type as encoding/json writes it.
func typeSchema(t reflect.Type) obj {
	switch t {
	case timeType:
		return strFmt("date-time")
	case rawType:
		return obj{"description": "any JSON value"}
	case eventTypeType:
		return enum(eventTypes()...)
	case kindType:
		return enum(kindNames()...)
	case statusType:
		return enum(string(calgate.StatusTentative), string(calgate.StatusConfirmed), string(calgate.StatusCancelled))
	case durationType:
		return str("Go duration, e.g. 30s")
	}
	if t.Kind() == reflect.Struct && (t.Implements(marshaler) || reflect.PointerTo(t).Implements(marshaler)) {
		// A type that writes itself (an entry) is described by its own
		// schema where it matters; elsewhere it is a JSON object.
		return obj{"type": "object"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := typeSchema(t.Elem())
		if s["type"] == nil {
			return s // any JSON value, null included
		}
		return nullable(s)
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return obj{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return obj{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return strFmt("byte")
		}
		return arrayOf(typeSchema(t.Elem()))
	case reflect.Map:
		return obj{"type": "object", "additionalProperties": typeSchema(t.Elem())}
	case reflect.Struct:
		props := obj{}
		structProps(t, props)
		return object(props)
	default:
		return obj{"description": "any JSON value"}
	}
}

// structProps adds the JSON fields of a struct, embedded structs' fields
// included, to props; a field's doc tag is its description.
func structProps(t reflect.Type, props obj) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				structProps(ft, props)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs := typeSchema(f.Type)
		if doc := f.Tag.Get("doc"); doc != "" {
			fs["description"] = doc
		}
		props[name] = fs
	}
}

// describe sets the descriptions of a generated object schema's
// properties, for types whose package does not carry doc tags.
func describe(s obj, docs map[string]string) obj {
	props := s["properties"].(obj)
	for name, doc := range docs {
		if p, ok := props[name].(obj); ok {
			p["description"] = doc
		}
	}
	return s
}

// set replaces the schemas of the named properties of a generated object
// schema (an enum, a reference, a value a type writes itself), keeping
// their descriptions.
func set(s obj, props obj) obj {
	all := s["properties"].(obj)
	for name, p := range props {
		if old, ok := all[name].(obj); ok && old["description"] != nil && p.(obj)["description"] == nil && p.(obj)["$ref"] == nil {
			p.(obj)["description"] = old["description"]
		}
		all[name] = p
	}
	return s
}

// closed refuses members a schema does not name, as request bodies do.
func closed(s obj) obj { s["additionalProperties"] = false; return s }

// operations sets the operation enum of a report's items.
func operations(report obj) obj {
	for _, name := range []string{"errors", "operations"} {
		items := report["properties"].(obj)[name].(obj)["items"].(obj)
		items["properties"].(obj)["operation"] = enum(calgate.OpCreated, calgate.OpUpdated, calgate.OpUnchanged, calgate.OpFailed, calgate.OpArchived, calgate.OpSkipped)
	}
	return report
}

func kindNames() []string {
	out := make([]string, len(calgate.Kinds))
	for i, k := range calgate.Kinds {
		out[i] = string(k)
	}
	return out
}

// entrySchema is the schema of a kind's entries, read from the domain's
// table of wire fields.
func entrySchema(k calgate.Kind) obj {
	props, required := wireProps(calgate.WireFields(k))
	return obj{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

func wireProps(fields []calgate.WireField) (obj, []string) {
	props := obj{}
	var required []string
	for _, f := range fields {
		s := obj{"type": f.Type}
		if f.Format != "" {
			s["format"] = f.Format
		}
		if len(f.Enum) > 0 {
			s["enum"] = f.Enum
		}
		if f.Doc != "" {
			s["description"] = f.Doc
		}
		if f.ReadOnly {
			s["readOnly"] = true
		}
		if f.Nullable {
			s["nullable"] = true
		}
		if f.Type == "object" && len(f.Fields) > 0 {
			s["properties"], _ = wireProps(f.Fields)
		}
		if f.Type == "object" && len(f.Fields) == 0 {
			s["additionalProperties"] = true
		}
		if f.Required {
			required = append(required, f.Name)
		}
		props[f.Name] = s
	}
	return props, required
}
