package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

// Body size limits, documented in the README.
const (
	// MaxBodyBytes bounds ordinary JSON bodies.
	MaxBodyBytes = 10 << 20
	// MaxBulkBodyBytes bounds bulk upserts and imports.
	MaxBulkBodyBytes = 64 << 20
	// MaxBulkItems bounds the items of one bulk request.
	MaxBulkItems = 10000
)

// readBody reads the request body up to limit bytes; a larger body is an
// *http.MaxBytesError (413).
func readBody(c *gin.Context, limit int64) ([]byte, error) {
	if b, ok := c.Get(ctxBody); ok {
		data := b.([]byte)
		if int64(len(data)) > limit {
			return nil, &http.MaxBytesError{Limit: limit}
		}
		return data, nil
	}
	r := http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	data, err := io.ReadAll(r)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, &calgate.ValidationError{Malformed: true, Errors: []calgate.FieldError{{Field: "body", Message: "ended before the length the request announced"}}}
	}
	if err != nil {
		return nil, err
	}
	c.Set(ctxBody, data)
	return data, nil
}

// decodeStrict decodes a JSON object into v, refusing unknown fields,
// trailing data and text that breaks the text rules (invalid UTF-8, lone
// surrogates and NUL, which decoding would replace or store), and names
// the offending field in its error.
func decodeStrict(data []byte, v any) error {
	if err := decodeStructure(data, v); err != nil {
		return err
	}
	if ve := calgate.CheckJSONText(data, ""); ve != nil {
		return ve
	}
	return nil
}

// decodeStructure decodes as decodeStrict does without checking the text:
// for bodies whose parts (bulk items, import records) are checked one at a
// time, so that only the bad part fails.
func decodeStructure(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return calgate.DecodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &calgate.ValidationError{Malformed: true, Errors: []calgate.FieldError{{Field: "body", Message: "unexpected data after the JSON document"}}}
	}
	return nil
}

// bindJSON reads and strictly decodes the body.
func bindJSON(c *gin.Context, limit int64, v any) error {
	data, err := jsonBody(c, limit)
	if err != nil {
		return err
	}
	return decodeStrict(data, v)
}

// ReadBody reads the request body up to limit bytes (for handlers outside
// this package); a larger body fails with a 413.
func ReadBody(c *gin.Context, limit int64) ([]byte, error) { return readBody(c, limit) }

// DecodeStrict decodes a JSON object into v as the native routes do:
// unknown fields and trailing data are refused, naming the field.
func DecodeStrict(data []byte, v any) error { return decodeStrict(data, v) }

// bindJSONParts reads and decodes a body whose parts are checked one at a
// time (see decodeStructure).
func bindJSONParts(c *gin.Context, limit int64, v any) error {
	data, err := jsonBody(c, limit)
	if err != nil {
		return err
	}
	return decodeStructure(data, v)
}

// jsonBody reads a JSON body under the one rule of every native route: a
// body without Content-Type is read as JSON, application/json and any
// +json type are JSON, and any other type is refused with a 415 that names
// the header to send.
func jsonBody(c *gin.Context, limit int64) ([]byte, error) {
	if err := checkJSONType(c.ContentType()); err != nil {
		return nil, err
	}
	return readBody(c, limit)
}

// checkJSONType refuses a Content-Type (without its parameters) that is
// not JSON.
func checkJSONType(ct string) error {
	ct = strings.ToLower(strings.TrimSpace(ct))
	if ct == "" || ct == "application/json" || strings.HasSuffix(ct, "+json") {
		return nil
	}
	return &StatusError{Status: http.StatusUnsupportedMediaType,
		Detail: "the body must be JSON: send Content-Type: application/json (or no Content-Type), not " + ct,
		Fields: []calgate.FieldError{{Field: "Content-Type", Message: "must be application/json, not " + ct}}}
}
