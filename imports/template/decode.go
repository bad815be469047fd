package template

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/calgate/calgate"
)

// object is a JSON object being read strictly: every key must be consumed,
// and every mistake is recorded under its JSON path.
type object struct {
	at   string
	m    map[string]json.RawMessage
	used map[string]bool
	errs *calgate.ValidationError
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

func decodeObject(raw json.RawMessage, at string, errs *calgate.ValidationError) (*object, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		errs.Add(orBody(at), "must be a JSON object")
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		errs.Add(orBody(at), "must be a JSON object: %v", err)
		return nil, false
	}
	return &object{at: at, m: m, used: map[string]bool{}, errs: errs}, true
}

func orBody(at string) string {
	if at == "" {
		return "body"
	}
	return at
}

func (o *object) has(key string) bool {
	_, ok := o.m[key]
	return ok
}

func (o *object) raw(key string) (json.RawMessage, bool) {
	r, ok := o.m[key]
	o.used[key] = true
	if ok && bytes.Equal(bytes.TrimSpace(r), []byte("null")) {
		return nil, false
	}
	return r, ok
}

func (o *object) str(key string) (string, bool) {
	r, ok := o.raw(key)
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(r, &s); err != nil {
		o.errs.Add(join(o.at, key), "must be a string")
		return "", false
	}
	return s, true
}

func (o *object) boolean(key string) (bool, bool) {
	r, ok := o.raw(key)
	if !ok {
		return false, false
	}
	var b bool
	if err := json.Unmarshal(r, &b); err != nil {
		o.errs.Add(join(o.at, key), "must be true or false")
		return false, false
	}
	return b, true
}

func (o *object) integer(key string) (int, bool) {
	r, ok := o.raw(key)
	if !ok {
		return 0, false
	}
	var n int
	if err := json.Unmarshal(r, &n); err != nil {
		o.errs.Add(join(o.at, key), "must be a whole number")
		return 0, false
	}
	return n, true
}

// strings reads a string or a list of strings.
func (o *object) strings(key string) ([]string, bool) {
	r, ok := o.raw(key)
	if !ok {
		return nil, false
	}
	var one string
	if err := json.Unmarshal(r, &one); err == nil {
		return []string{one}, true
	}
	var many []string
	if err := json.Unmarshal(r, &many); err != nil {
		o.errs.Add(join(o.at, key), "must be a string or a list of strings")
		return nil, false
	}
	return many, true
}

// value reads any JSON value, numbers kept exact.
func (o *object) value(key string) (any, bool) {
	r, ok := o.raw(key)
	if !ok {
		return nil, false
	}
	v, err := Decode(r)
	if err != nil {
		o.errs.Add(join(o.at, key), "is not valid JSON: %v", err)
		return nil, false
	}
	return v, true
}

// finish reports the keys nobody asked for.
func (o *object) finish() {
	var unknown []string
	for k := range o.m {
		if !o.used[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		o.errs.Add(join(o.at, k), "unknown key")
	}
}

// keys returns the object's keys in a stable order.
func (o *object) keys() []string {
	ks := make([]string, 0, len(o.m))
	for k := range o.m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Decode reads one JSON value as templates read records: numbers stay
// json.Number, and nothing may follow the value.
func Decode(r []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(r))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

// quoteKey renders a map key inside a JSON path, quoting keys that are not
// plain names.
func quoteKey(k string) string {
	if k != "" && !strings.ContainsAny(k, ` ."[]`) {
		return k
	}
	b, _ := json.Marshal(k)
	return "[" + string(b) + "]"
}

func keyPath(at, k string) string {
	q := quoteKey(k)
	if strings.HasPrefix(q, "[") {
		return at + q
	}
	return join(at, q)
}
