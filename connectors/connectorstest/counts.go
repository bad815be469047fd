package connectorstest

import (
	"reflect"
	"sync"
)

// Counts counts what a fake did, by operation ("create invoice",
// "exchange code", "refresh token", "replay", …), for tests to assert on.
type Counts struct {
	mu sync.Mutex
	m  map[string]int
}

// Add counts one operation.
func (c *Counts) Add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[op]++
}

// Count returns how often an operation was done.
func (c *Counts) Count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[op]
}

// Defaults sets each zero field of the struct *o to the field of def,
// and so within embedded structs (App): the defaults of a fake's options.
func Defaults[T any](o *T, def T) {
	defaults(reflect.ValueOf(o).Elem(), reflect.ValueOf(def))
}

func defaults(v, d reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case !f.CanSet():
		case v.Type().Field(i).Anonymous && f.Kind() == reflect.Struct:
			defaults(f, d.Field(i))
		case f.IsZero():
			f.Set(d.Field(i))
		}
	}
}
