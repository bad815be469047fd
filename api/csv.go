package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

// CSV answers. Every list route (a GET whose Response is "List_…") also
// answers text/csv, chosen by an Accept header that prefers it or by the
// ".csv" suffix of the route's path (/v1/jobs.csv), with the same query
// parameters. The header row holds wire field names; fields are quoted as
// RFC 4180 says and lines end in CRLF; ?bom=true starts the file with a
// UTF-8 byte order mark, so that Excel reads it as UTF-8, and
// ?escape_formulas=true puts an apostrophe before text that a spreadsheet
// would run as a formula (=, +, -, @ first), for files that people open
// rather than programs read.

// csvContentType is the media type of CSV answers.
const csvContentType = "text/csv; charset=utf-8; header=present"

const ctxCSV = "calgate.csv"

// WantsCSV reports whether the request asks for CSV: by a ".csv" route,
// or an Accept header that ranks text/csv above application/json.
func WantsCSV(c *gin.Context) bool {
	if c.GetBool(ctxCSV) {
		return true
	}
	best, bestQ := "", 0.0
	for _, part := range strings.Split(c.GetHeader("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if raw, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(raw, 64); err == nil {
				q = v
			}
		}
		if (mt == "text/csv" || mt == "application/json") && q > bestQ {
			best, bestQ = mt, q
		}
	}
	return best == "text/csv"
}

// CSVWriter streams a CSV answer row by row. It writes RFC 4180 itself
// rather than with encoding/csv, whose CRLF mode also rewrites line
// breaks inside fields: a field's text comes back exactly as stored.
type CSVWriter struct {
	c      *gin.Context
	w      *bufio.Writer
	rows   int
	escape bool
}

// NewCSVWriter starts a 200 CSV answer named filename (a download) and
// writes the header row.
func NewCSVWriter(c *gin.Context, filename string, header []string) (*CSVWriter, error) {
	bom, err := boolParam(c, "bom")
	if err != nil {
		return nil, err
	}
	escape, err := boolParam(c, "escape_formulas")
	if err != nil {
		return nil, err
	}
	c.Header("Content-Type", csvContentType)
	c.Header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	c.Status(http.StatusOK)
	if bom {
		if _, err := c.Writer.Write([]byte("\uFEFF")); err != nil {
			return nil, err
		}
	}
	w := &CSVWriter{c: c, w: bufio.NewWriterSize(c.Writer, 64<<10), escape: escape}
	return w, w.write(header)
}

// write writes one record: fields quoted when they hold a quote, a comma,
// a line break or surrounding blanks, the line ended with CRLF.
func (w *CSVWriter) write(fields []string) error {
	for i, f := range fields {
		if i > 0 {
			w.w.WriteByte(',')
		}
		if f == "" || !needsQuotes(f) {
			w.w.WriteString(f)
			continue
		}
		w.w.WriteByte('"')
		w.w.WriteString(strings.ReplaceAll(f, `"`, `""`))
		w.w.WriteByte('"')
	}
	_, err := w.w.WriteString("\r\n")
	return err
}

func needsQuotes(f string) bool {
	if strings.ContainsAny(f, "\",\r\n") {
		return true
	}
	first, last := f[0], f[len(f)-1]
	return first == ' ' || first == '\t' || last == ' ' || last == '\t'
}

// Row writes one row. Values are rendered as their JSON form would read:
// text as is, numbers and booleans in JSON notation, nil as an empty
// field, objects and lists as compact JSON.
func (w *CSVWriter) Row(values []any) error {
	fields := make([]string, len(values))
	for i, v := range values {
		f, text := csvCell(v)
		if w.escape && text && f != "" && strings.ContainsRune("=+-@\t\r", rune(f[0])) {
			f = "'" + f
		}
		fields[i] = f
	}
	if err := w.write(fields); err != nil {
		return err
	}
	w.rows++
	if w.rows%500 == 0 {
		return w.Flush()
	}
	return nil
}

// Flush sends what is buffered to the client.
func (w *CSVWriter) Flush() error {
	if err := w.w.Flush(); err != nil {
		return err
	}
	w.c.Writer.Flush()
	return nil
}

// csvCell renders a value; text reports whether it was text (not a
// number, a boolean or JSON).
func csvCell(v any) (cell string, text bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), false
	case json.Number:
		return x.String(), false
	case int:
		return strconv.Itoa(x), false
	case int64:
		return strconv.FormatInt(x, 10), false
	case *int:
		if x == nil {
			return "", false
		}
		return strconv.Itoa(*x), false
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10), false
		}
		return strconv.FormatFloat(x, 'f', -1, 64), false
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), false
	case json.RawMessage:
		return rawCell(x)
	case calgate.Kind:
		return string(x), true
	case calgate.Status:
		return string(x), true
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v), true
	}
	return rawCell(data)
}

// rawCell renders a JSON value: strings unquoted, null empty, the rest
// compact.
func rawCell(raw []byte) (string, bool) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return "", false
	case raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s, true
		}
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		return b.String(), false
	}
	return string(raw), false
}

// EntryCSVColumns are the columns of an entry list of kind k: every wire
// field, the customer's split into customer.name, customer.email and
// customer.phone.
func EntryCSVColumns(k calgate.Kind) []string {
	return calgate.WirePaths(k)
}

// entryCSVRow lists e's values under columns.
func entryCSVRow(e *calgate.Entry, columns []string) []any {
	w := e.Wire()
	out := make([]any, len(columns))
	for i, col := range columns {
		if key, ok := strings.CutPrefix(col, "customer."); ok {
			cu, _ := w["customer"].(calgate.Customer)
			switch key {
			case "name":
				out[i] = cu.Name
			case "email":
				out[i] = cu.Email
			case "phone":
				out[i] = cu.Phone
			}
			continue
		}
		out[i] = w[col]
	}
	return out
}

// streamEntriesCSV answers an entry list as CSV: every entry that passes
// f, read a page at a time from the store. A limit given in the query caps
// the rows; without one, every entry comes.
func (s *Server) streamEntriesCSV(c *gin.Context, k calgate.Kind, f calgate.EntryFilter) {
	remaining := -1
	if c.Query("limit") != "" {
		remaining = f.Limit
	}
	cols := EntryCSVColumns(k)
	w, err := NewCSVWriter(c, EntryCollection(k)+".csv", cols)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := principal(c)
	f.Limit = MaxListPage
	for remaining != 0 {
		if remaining > 0 && remaining < f.Limit {
			f.Limit = remaining
		}
		entries, next, err := s.Store.Entries(c.Request.Context(), p.Workspace.ID, f)
		if err != nil {
			s.abortStream(c, err)
			return
		}
		for _, e := range entries {
			if err := w.Row(entryCSVRow(e, cols)); err != nil {
				s.abortStream(c, err)
				return
			}
		}
		if remaining > 0 {
			remaining -= len(entries)
		}
		if err := w.Flush(); err != nil {
			s.abortStream(c, err)
			return
		}
		if next == "" {
			return
		}
		f.Cursor = next
	}
}

// MaxListPage is the largest page of a list (limit).
const MaxListPage = 1000

// abortStream ends an answer whose status is already sent: the client
// sees a broken transfer, never a short file that looks whole.
func (s *Server) abortStream(c *gin.Context, err error) {
	if !errors.Is(err, io.ErrClosedPipe) && c.Request.Context().Err() == nil {
		s.logger.Error("streamed answer failed", "request_id", c.GetString(ctxRequestID), "route", c.FullPath(), "err", err)
	}
	panic(http.ErrAbortHandler)
}

// listCSV is the middleware of list routes whose handler writes JSON: for
// a CSV request it keeps the handler's JSON list and answers it as CSV,
// one row per item, the columns being the items' keys in order of first
// appearance. Errors pass through as they are.
func (s *Server) listCSV(c *gin.Context) {
	if !WantsCSV(c) {
		c.Next()
		return
	}
	orig := c.Writer
	buf := &capture{ResponseWriter: orig, status: http.StatusOK}
	c.Writer = buf
	c.Next()
	c.Writer = orig
	if buf.status != http.StatusOK {
		orig.WriteHeader(buf.status)
		_, _ = orig.Write(buf.body.Bytes())
		return
	}
	var list struct {
		Items      []json.RawMessage `json:"items"`
		NextCursor string            `json:"next_cursor"`
	}
	if err := json.Unmarshal(buf.body.Bytes(), &list); err != nil {
		s.fail(c, fmt.Errorf("api: list as CSV: %w", err))
		return
	}
	var cols []string
	seen := map[string]bool{}
	rows := make([]map[string]json.RawMessage, 0, len(list.Items))
	for _, item := range list.Items {
		keys, vals, err := orderedObject(item)
		if err != nil {
			s.fail(c, fmt.Errorf("api: list as CSV: %w", err))
			return
		}
		for _, k := range keys {
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
		rows = append(rows, vals)
	}
	if list.NextCursor != "" {
		c.Header("X-Next-Cursor", list.NextCursor)
	}
	name := strings.ReplaceAll(strings.Trim(strings.TrimSuffix(c.Request.URL.Path, ".csv"), "/"), "/", "-") + ".csv"
	orig.Header().Del("Content-Type")
	w, err := NewCSVWriter(c, name, cols)
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, r := range rows {
		vals := make([]any, len(cols))
		for i, col := range cols {
			if v, ok := r[col]; ok {
				vals[i] = v
			}
		}
		if err := w.Row(vals); err != nil {
			s.abortStream(c, err)
		}
	}
	if err := w.Flush(); err != nil {
		s.abortStream(c, err)
	}
}

// orderedObject reads a JSON object's keys in their order, with their
// values.
func orderedObject(raw json.RawMessage) ([]string, map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, fmt.Errorf("a list item is not an object")
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys = append(keys, k)
		vals[k] = v
	}
	return keys, vals, nil
}

// capture keeps what a handler writes.
type capture struct {
	gin.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *capture) WriteHeader(code int)              { w.status = code }
func (w *capture) WriteHeaderNow()                   {}
func (w *capture) Write(b []byte) (int, error)       { return w.body.Write(b) }
func (w *capture) WriteString(s string) (int, error) { return w.body.WriteString(s) }
func (w *capture) Status() int                       { return w.status }
func (w *capture) Written() bool                     { return w.body.Len() > 0 }
func (w *capture) Size() int                         { return w.body.Len() }
func (w *capture) Flush()                            {}
