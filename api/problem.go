package api

import (
	"context"
	"errors"
	"net/http"
	"sort"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

// Problem is an RFC 9457 problem document with calgate's "errors"
// extension listing each bad field.
type Problem struct {
	Type     string               `json:"type"`
	Title    string               `json:"title"`
	Status   int                  `json:"status"`
	Detail   string               `json:"detail,omitempty"`
	Instance string               `json:"instance,omitempty"`
	Errors   []calgate.FieldError `json:"errors,omitempty"`
	// Conflicts names the entries a refused double booking would overlap.
	Conflicts []calgate.Conflict `json:"conflicts,omitempty"`
}

// problemDoubleBooking is the type of a write refused because it would
// overbook a resource whose conflict policy is reject.
const problemDoubleBooking = "urn:calgate:problem:double-booking"

const problemContentType = "application/problem+json"

// problemTypes names, per HTTP status, the type of the problem documents
// answered with it. Every type is a urn:calgate:problem: URN; a status not
// in the table is a client-error or an internal problem.
var problemTypes = map[int]string{
	http.StatusBadRequest:            "urn:calgate:problem:invalid-input",
	http.StatusUnprocessableEntity:   "urn:calgate:problem:invalid-input",
	http.StatusUnauthorized:          "urn:calgate:problem:unauthorized",
	http.StatusForbidden:             "urn:calgate:problem:forbidden",
	http.StatusNotFound:              "urn:calgate:problem:not-found",
	http.StatusMethodNotAllowed:      "urn:calgate:problem:method-not-allowed",
	http.StatusRequestTimeout:        "urn:calgate:problem:too-slow",
	http.StatusConflict:              "urn:calgate:problem:conflict",
	http.StatusRequestEntityTooLarge: "urn:calgate:problem:too-large",
	http.StatusUnsupportedMediaType:  "urn:calgate:problem:unsupported-media-type",
	http.StatusInternalServerError:   "urn:calgate:problem:internal",
	http.StatusBadGateway:            "urn:calgate:problem:bad-gateway",
}

// Problem types of statuses outside problemTypes.
const (
	problemClientError = "urn:calgate:problem:client-error"
	problemInternal    = "urn:calgate:problem:internal"
)

// problemType returns the type URN of a status.
func problemType(status int) string {
	if t, ok := problemTypes[status]; ok {
		return t
	}
	if status >= 500 {
		return problemInternal
	}
	return problemClientError
}

// ProblemTypes lists every problem type the API answers with, sorted.
func ProblemTypes() []string {
	seen := map[string]bool{problemClientError: true, problemInternal: true, problemDoubleBooking: true}
	for _, t := range problemTypes {
		seen[t] = true
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// writeProblem answers with a problem document and aborts the chain.
func writeProblem(c *gin.Context, status int, detail string, fields []calgate.FieldError) {
	p := Problem{Type: problemType(status), Title: http.StatusText(status), Status: status, Detail: detail, Instance: c.Request.URL.Path, Errors: fields}
	c.Header("Content-Type", problemContentType)
	c.AbortWithStatusJSON(status, p)
}

// StatusError carries an HTTP status for errors the api decides itself.
type StatusError struct {
	Status int
	Detail string
	Fields []calgate.FieldError
}

func (e *StatusError) Error() string { return e.Detail }

// fail maps an error to its status in the one place where that happens.
func (s *Server) fail(c *gin.Context, err error) {
	var ve *calgate.ValidationError
	var se *StatusError
	var mbe *http.MaxBytesError
	var ce *calgate.ConflictError
	switch {
	case errors.As(err, &ce):
		p := Problem{Type: problemDoubleBooking, Title: http.StatusText(http.StatusConflict), Status: http.StatusConflict, Detail: ce.Error(),
			Instance: c.Request.URL.Path, Conflicts: ce.Conflicts}
		c.Header("Content-Type", problemContentType)
		c.AbortWithStatusJSON(http.StatusConflict, p)
	case errors.As(err, &mbe):
		writeProblem(c, http.StatusRequestEntityTooLarge, "the request body is larger than the limit of this route", []calgate.FieldError{{Field: "body", Message: "too large"}})
	case errors.Is(err, ErrBodyTooSlow):
		writeProblem(c, http.StatusRequestTimeout, "the request body arrived too slowly (see the README for the minimum rate)", []calgate.FieldError{{Field: "body", Message: "too slow"}})
	case errors.As(err, &ve):
		writeProblem(c, InvalidStatus(ve), ve.Error(), ve.Errors)
	case errors.As(err, &se):
		writeProblem(c, se.Status, se.Detail, se.Fields)
	case errors.Is(err, calgate.ErrNotFound):
		writeProblem(c, http.StatusNotFound, "no such resource in this workspace", nil)
	case errors.Is(err, calgate.ErrConflict):
		writeProblem(c, http.StatusConflict, err.Error(), nil)
	case errors.Is(err, calgate.ErrUnauthorized):
		writeProblem(c, http.StatusUnauthorized, "a valid token is required (Authorization: Bearer … or X-AUTH-TOKEN)", nil)
	case errors.Is(err, context.Canceled):
		c.Abort()
	default:
		s.logger.Error("request failed", "request_id", c.GetString(ctxRequestID), "route", c.FullPath(), "err", err)
		writeProblem(c, http.StatusInternalServerError, "internal error; the request id is in the X-Request-Id header", nil)
	}
}

// InvalidStatus is the HTTP status of a validation error: 400 for input
// that cannot be read, 422 for values that break a rule.
func InvalidStatus(ve *calgate.ValidationError) int {
	if ve.Malformed {
		return http.StatusBadRequest
	}
	return http.StatusUnprocessableEntity
}

// badParam is a 400 naming one query parameter.
func badParam(name, format string, args ...any) error {
	v := calgate.Invalid(name, format, args...)
	v.Malformed = true
	return v
}
