package api

import (
	"context"
	"errors"
	"net/http"

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

// problemType returns the type URI of a status.
func problemType(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return "urn:calgate:problem:invalid-input"
	case http.StatusUnauthorized:
		return "urn:calgate:problem:unauthorized"
	case http.StatusNotFound:
		return "urn:calgate:problem:not-found"
	case http.StatusConflict:
		return "urn:calgate:problem:conflict"
	case http.StatusRequestEntityTooLarge:
		return "urn:calgate:problem:too-large"
	case http.StatusRequestTimeout:
		return "urn:calgate:problem:too-slow"
	default:
		return "about:blank"
	}
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
		status := ve.Status
		if status == 0 {
			status = http.StatusUnprocessableEntity
		}
		writeProblem(c, status, ve.Error(), ve.Errors)
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

// badParam is a 400 naming one query parameter.
func badParam(name, format string, args ...any) error {
	v := calgate.Invalid(name, format, args...)
	v.Status = http.StatusBadRequest
	return v
}
