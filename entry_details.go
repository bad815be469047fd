package calgate

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// detailField is one kind-specific field as its tags in details declare
// it. The methods of details below read and write an entry's Details.
type detailField struct {
	name  string // wire name
	index int    // in Details and in wireDetails
	kinds []Kind
	typ   reflect.Type // Details' field type
	max   int          // text: length limit
	min   *int         // number: least value
	doc   string
}

// text reports whether the field is text (a string in Details).
func (f *detailField) text() bool { return f.typ.Kind() == reflect.String }

// object reports whether the field is an object (a pointer to a struct).
func (f *detailField) object() bool {
	return f.typ.Kind() == reflect.Pointer && f.typ.Elem().Kind() == reflect.Struct
}

// of reports whether the field belongs to entries of kind k.
func (f *detailField) of(k Kind) bool { return slices.Contains(f.kinds, k) }

// detailFields lists Details' fields in declaration order; foreignFields
// lists, per kind, the wire fields of the other kinds, which an entry of
// that kind refuses by name.
var (
	detailFields  = readDetailFields()
	foreignFields = readForeignFields()
)

func readDetailFields() []detailField {
	t := reflect.TypeFor[Details]()
	out := make([]detailField, 0, t.NumField())
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		f := detailField{name: name, index: i, typ: sf.Type, max: MaxIDLength, doc: sf.Tag.Get("doc")}
		for _, k := range strings.Fields(sf.Tag.Get("kinds")) {
			if !Kind(k).Valid() {
				panic(fmt.Sprintf("calgate: Details.%s names unknown kind %q", sf.Name, k))
			}
			f.kinds = append(f.kinds, Kind(k))
		}
		if s := sf.Tag.Get("max"); s != "" {
			f.max = mustAtoi(sf, s)
		}
		if s := sf.Tag.Get("min"); s != "" {
			n := mustAtoi(sf, s)
			f.min = &n
		}
		if !f.text() && f.typ.Kind() != reflect.Pointer {
			panic(fmt.Sprintf("calgate: Details.%s must be a string or a pointer, to tell unset from zero", sf.Name))
		}
		out = append(out, f)
	}
	return out
}

func mustAtoi(sf reflect.StructField, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(fmt.Sprintf("calgate: Details.%s: %v", sf.Name, err))
	}
	return n
}

func readForeignFields() map[Kind][]string {
	m := map[Kind][]string{}
	for _, k := range Kinds {
		for _, o := range Kinds {
			if o != k {
				m[k] = append(m[k], o.ResourceField())
			}
		}
		for i := range detailFields {
			if f := &detailFields[i]; !f.of(k) {
				m[k] = append(m[k], f.name)
			}
		}
	}
	return m
}

// detailNamed returns the detail field of a wire name, nil for none.
func detailNamed(name string) *detailField {
	for i := range detailFields {
		if detailFields[i].name == name {
			return &detailFields[i]
		}
	}
	return nil
}

// fromWire sets the details of kind k that w carries: text trimmed,
// pointers copied, so that the entry shares nothing with w.
func (d *details[T]) fromWire(w *wireDetails, k Kind) {
	wv := reflect.ValueOf(w).Elem()
	d.each(k, func(f *detailField, v reflect.Value) {
		switch src := wv.Field(f.index); {
		case src.IsNil():
		case f.text():
			v.SetString(strings.TrimSpace(src.Elem().String()))
		default:
			c := reflect.New(f.typ.Elem())
			c.Elem().Set(src.Elem())
			v.Set(c)
		}
	})
	if d.Customer != nil {
		d.Customer.Name = NormalizeNewlines(d.Customer.Name)
	}
}

// clone replaces the details' pointers by copies.
func (d *details[T]) clone() {
	dv := reflect.ValueOf(d).Elem()
	for i := range detailFields {
		f := &detailFields[i]
		if v := dv.Field(f.index); f.typ.Kind() == reflect.Pointer && !v.IsNil() {
			c := reflect.New(f.typ.Elem())
			c.Elem().Set(v.Elem())
			v.Set(c)
		}
	}
}

// each calls fn with every detail field of kind k and its value in d.
func (d *details[T]) each(k Kind, fn func(f *detailField, v reflect.Value)) {
	dv := reflect.ValueOf(d).Elem()
	for i := range detailFields {
		if f := &detailFields[i]; f.of(k) {
			fn(f, dv.Field(f.index))
		}
	}
}

// wire adds the details of kind k to an entry's wire form: an object
// unset is an empty object, a number unset is null.
func (d *details[T]) wire(k Kind, m map[string]any) {
	d.each(k, func(f *detailField, v reflect.Value) {
		switch {
		case f.object() && v.IsNil():
			m[f.name] = reflect.Zero(f.typ.Elem()).Interface()
		case f.object():
			m[f.name] = v.Elem().Interface()
		default:
			m[f.name] = v.Interface()
		}
	})
}

// content adds the details of kind k to an entry's content fields, nil
// meaning unset (an empty object and empty text are unset).
func (d *details[T]) content(k Kind, m map[string]any) {
	d.each(k, func(f *detailField, v reflect.Value) {
		switch {
		case f.text():
			m[f.name] = nz(v.String())
		case v.IsNil() || v.Elem().IsZero() && f.object():
			m[f.name] = nil
		default:
			m[f.name] = v.Elem().Interface()
		}
	})
}

// validate records the faults of the details of kind k in v.
func (d *details[T]) validate(k Kind, v *ValidationError) {
	d.each(k, func(f *detailField, fv reflect.Value) {
		switch {
		case v.has(f.name):
		case f.text():
			if s := fv.String(); s != "" {
				v.Line(f.name, s, f.max)
			}
		case fv.IsNil():
		case f.min != nil && fv.Elem().CanInt() && fv.Elem().Int() < int64(*f.min):
			if *f.min == 0 {
				v.Add(f.name, "must not be negative")
			} else {
				v.Add(f.name, "must be at least %d", *f.min)
			}
		default:
			if c, ok := fv.Interface().(interface{ validate(v *ValidationError) }); ok {
				c.validate(v)
			}
		}
	})
}

// validate checks a customer's fields: the name is free text, email and
// phone one line each, all at most MaxCustomerFieldLength long.
func (c *Customer) validate(v *ValidationError) {
	if c.Name != "" && !v.has("customer.name") {
		v.Text("customer.name", c.Name, MaxCustomerFieldLength)
	}
	if c.Email != "" && !v.has("customer.email") {
		v.Line("customer.email", c.Email, MaxCustomerFieldLength)
	}
	if c.Phone != "" && !v.has("customer.phone") {
		v.Line("customer.phone", c.Phone, MaxCustomerFieldLength)
	}
}

// DetailValues lists the kind-specific fields of an entry that are set,
// in their declared order, as wire name and value (text, a number, or an
// object such as a Customer).
func (e *Entry) DetailValues() []DetailValue {
	m := map[string]any{}
	e.Details.content(e.Kind, m)
	var out []DetailValue
	for i := range detailFields {
		if v := m[detailFields[i].name]; v != nil {
			out = append(out, DetailValue{Name: detailFields[i].name, Value: v})
		}
	}
	return out
}

// DetailValue is one kind-specific field's wire name and value.
type DetailValue struct {
	Name  string
	Value any
}
