package api

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

// MaxResourceRows bounds the rows of one resource import.
const MaxResourceRows = 10000

// resourceColumns are the columns a resource CSV may hold; "quantity" is
// Planyo's name for capacity.
var resourceCSVColumns = map[string]string{
	"name": "name", "kind": "kind", "capacity": "capacity", "quantity": "capacity", "timezone": "timezone",
	"working_hours": "working_hours", "closed_dates": "closed_dates", "conflict_policy": "conflict_policy",
}

// ResourceImportRoute imports resources from CSV.
func (s *Server) ResourceImportRoute(rs calgate.ResourceStore) Route {
	h := resourceHandlers{s: s, rs: rs}
	return Route{Method: http.MethodPost, Path: "/v1/resources/import", Summary: "Create or update resources by name from a CSV file (text/csv): name, kind, capacity (or quantity), timezone, working_hours, closed_dates, conflict_policy",
		Tag: "availability", Response: "BulkResult", Handler: h.importCSV}
}

// importCSV creates the resources of a CSV file that are new and updates
// those that exist (by name); a bad row fails alone.
func (h resourceHandlers) importCSV(c *gin.Context) {
	p := principal(c)
	if mt, _, err := mime.ParseMediaType(c.ContentType()); err != nil || (mt != "text/csv" && mt != "text/plain") {
		h.s.fail(c, &StatusError{Status: http.StatusUnsupportedMediaType, Detail: "send the resources as text/csv",
			Fields: []calgate.FieldError{{Field: "Content-Type", Message: "must be text/csv"}}})
		return
	}
	data, err := readBody(c, MaxBodyBytes)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		h.s.fail(c, badBody("the file has no header row"))
		return
	}
	cols := make([]string, len(header))
	hasName := false
	for i, name := range header {
		col, ok := resourceCSVColumns[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			h.s.fail(c, &calgate.ValidationError{Malformed: true, Errors: []calgate.FieldError{{Field: "columns[" + strconv.Itoa(i) + "]",
				Message: "unknown column " + strconv.Quote(name) + " (name, kind, capacity, quantity, timezone, working_hours, closed_dates, conflict_policy)"}}})
			return
		}
		cols[i] = col
		hasName = hasName || col == "name"
	}
	if !hasName {
		h.s.fail(c, &calgate.ValidationError{Malformed: true, Errors: []calgate.FieldError{{Field: "columns", Message: "a name column is required"}}})
		return
	}
	// Every row is read before any is written, so that a file over the
	// limit writes nothing.
	type row struct {
		ref    string
		record []string
		err    error
	}
	var rows []row
	for {
		record, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if len(rows) == MaxResourceRows {
			h.s.fail(c, &StatusError{Status: http.StatusRequestEntityTooLarge, Detail: "too many rows",
				Fields: []calgate.FieldError{{Field: "body", Message: "at most " + strconv.Itoa(MaxResourceRows) + " rows"}}})
			return
		}
		var line int
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line = pe.StartLine
		} else {
			line, _ = r.FieldPos(0)
		}
		rows = append(rows, row{ref: "line " + strconv.Itoa(line), record: record, err: err})
	}
	res := &calgate.BulkResult{Errors: []calgate.ItemResult{}}
	for index, rw := range rows {
		if rw.err != nil {
			res.Count(calgate.ItemResult{Index: index, Ref: rw.ref, Operation: calgate.OpFailed, Reason: rw.err.Error()}, false)
			continue
		}
		res.Count(h.importRow(c, &p.Workspace, index, rw.ref, cols, rw.record), false)
	}
	if res.Created+res.Updated > 0 {
		h.s.notify()
	}
	c.JSON(http.StatusOK, res)
}

// importRow writes one row's resource and reports it.
func (h resourceHandlers) importRow(c *gin.Context, ws *calgate.Workspace, index int, ref string, cols, record []string) calgate.ItemResult {
	out := calgate.ItemResult{Index: index, Ref: ref}
	values := map[string]string{}
	for i, v := range record {
		if i < len(cols) {
			values[cols[i]] = v
		}
	}
	out.ExternalID = values["name"]
	fail := func(err error) calgate.ItemResult {
		out.Operation = calgate.OpFailed
		var ve *calgate.ValidationError
		if errors.As(err, &ve) {
			out.Errors = ve.Errors
		} else {
			out.Reason = err.Error()
		}
		return out
	}
	ctx := c.Request.Context()
	r, err := h.rs.ResourceByName(ctx, ws.ID, values["name"])
	existing := err == nil
	if err != nil && !errors.Is(err, calgate.ErrNotFound) {
		return fail(err)
	}
	if !existing {
		r = calgate.NewResource(ws.ID, values["name"], ws.Timezone)
	}
	before := *r
	v := &calgate.ValidationError{}
	for col, raw := range values {
		raw = strings.TrimSpace(raw)
		switch col {
		case "kind":
			if raw != "" {
				r.Kind = raw
			}
		case "capacity":
			if raw == "" {
				continue
			}
			n, err := strconv.Atoi(raw)
			if err != nil {
				v.Add("capacity", "must be a whole number")
			}
			r.Capacity = n
		case "timezone":
			if raw != "" {
				r.Timezone = raw
			}
		case "conflict_policy":
			r.ConflictPolicy = raw
		case "closed_dates":
			r.ClosedDates = strings.FieldsFunc(raw, func(c rune) bool { return c == ';' || c == ',' || c == ' ' })
			if r.ClosedDates == nil {
				r.ClosedDates = []string{}
			}
		case "working_hours":
			wh, err := calgate.ParseWorkingHours(raw)
			if err != nil {
				v.Add("working_hours", "%v", err)
			}
			r.WorkingHours = wh
		}
	}
	if err := v.Err(); err != nil {
		return fail(err)
	}
	if err := r.Validate(); err != nil {
		return fail(err)
	}
	out.ID = r.ID
	if !existing {
		if err := h.rs.CreateResource(ctx, r); err != nil {
			return fail(err)
		}
		out.Operation = calgate.OpCreated
		return out
	}
	if sameResource(&before, r) {
		out.Operation = calgate.OpUnchanged
		return out
	}
	if err := h.rs.UpdateResource(ctx, r, actor(c)); err != nil {
		return fail(err)
	}
	out.Operation = calgate.OpUpdated
	return out
}

func sameResource(a, b *calgate.Resource) bool {
	if a.Kind != b.Kind || a.Capacity != b.Capacity || a.Timezone != b.Timezone || a.ConflictPolicy != b.ConflictPolicy ||
		strings.Join(a.ClosedDates, ",") != strings.Join(b.ClosedDates, ",") || len(a.WorkingHours) != len(b.WorkingHours) {
		return false
	}
	for day, ranges := range a.WorkingHours {
		other := b.WorkingHours[day]
		if len(other) != len(ranges) {
			return false
		}
		for i := range ranges {
			if ranges[i] != other[i] {
				return false
			}
		}
	}
	return (a.WorkingHours == nil) == (b.WorkingHours == nil)
}

// badBody is a 400 about the body as a whole.
func badBody(msg string) error {
	return &calgate.ValidationError{Malformed: true, Errors: []calgate.FieldError{{Field: "body", Message: msg}}}
}
