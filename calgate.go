// Package calgate is the domain of the calendar and webhook synchronization
// gateway: entries (reservations, jobs and production windows), the events
// every change writes, workspaces and tokens, and the interfaces that the
// adapters around it (store, api, queue and the destinations) implement.
//
// The package depends on nothing else of calgate's; everything else depends
// on it.
package calgate

import (
	"errors"
	"fmt"
	"strings"
	// The binary carries its own time zone database, so entries and feeds
	// resolve IANA names the same way on every machine.
	_ "time/tzdata"
)

// Domain errors. The api package maps each to an HTTP status in one place.
var (
	// ErrNotFound means the thing does not exist in the caller's workspace.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the request clashes with the current state.
	ErrConflict = errors.New("conflict")
	// ErrUnauthorized means no valid credentials were presented.
	ErrUnauthorized = errors.New("unauthorized")
)

// FieldError names one offending field and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every bad field of an input: values that break a
// rule, or, when Malformed, a document that cannot be read at all.
type ValidationError struct {
	// Malformed says the input could not be read as the document or
	// parameter expected (syntax, types, unknown fields, an unreadable
	// query parameter), rather than holding values that break a rule.
	Malformed bool
	Errors    []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Errors))
	for _, fe := range e.Errors {
		parts = append(parts, fe.Field+": "+fe.Message)
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add records a bad field.
func (e *ValidationError) Add(field, format string, args ...any) {
	e.Errors = append(e.Errors, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns e when it holds any field error, nil otherwise.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Errors) == 0 {
		return nil
	}
	return e
}

// Invalid returns a ValidationError for a single field.
func Invalid(field, format string, args ...any) *ValidationError {
	v := &ValidationError{}
	v.Add(field, format, args...)
	return v
}

// Prefixed returns a copy of the error with every field name prefixed, as in
// "items[3]." for the fourth item of a bulk request.
func (e *ValidationError) Prefixed(prefix string) *ValidationError {
	out := &ValidationError{Malformed: e.Malformed}
	for _, fe := range e.Errors {
		out.Errors = append(out.Errors, FieldError{Field: prefix + fe.Field, Message: fe.Message})
	}
	return out
}
