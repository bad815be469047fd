package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

// EntryCollection is the last segment of the path of a kind's REST
// resource: reservations, jobs, production-windows.
func EntryCollection(k calgate.Kind) string {
	switch k {
	case calgate.KindJob:
		return "jobs"
	case calgate.KindProductionWindow:
		return "production-windows"
	default:
		return "reservations"
	}
}

// EntryPath is the path of a kind's REST resource (/v1/jobs).
func EntryPath(k calgate.Kind) string { return "/v1/" + EntryCollection(k) }

// entryRoutes are the routes of one kind of entry.
func (s *Server) entryRoutes(k calgate.Kind) []Route {
	base := EntryPath(k)
	schema := "Entry_" + string(k)
	tag := EntryCollection(k)
	list := []string{"from", "to", k.ResourceField(), "status", "source", "external_id", "since", "include_archived", "cursor", "limit"}
	return []Route{
		{Method: http.MethodPost, Path: base, Summary: "Create or update a " + string(k) + " by (source, external_id)", Tag: tag, Request: schema, Response: schema, Status: http.StatusCreated, Handler: s.upsertEntry(k)},
		{Method: http.MethodGet, Path: base, Summary: "List " + tag, Tag: tag, Response: "List_" + schema, Query: append(list, "bom", "escape_formulas"), CSV: true, Handler: s.listEntries(k)},
		{Method: http.MethodPost, Path: base + "/bulk", Summary: "Upsert up to 10,000 " + tag + " in one request", Tag: tag, Request: "BulkRequest_" + string(k), Response: "BulkResult", Handler: s.bulkUpsert(k)},
		{Method: http.MethodGet, Path: base + "/:id", Summary: "Get one " + string(k) + " (append .ics for an iCalendar file)", Tag: tag, Response: schema, Query: []string{"include_archived"}, Handler: s.getEntry(k)},
		{Method: http.MethodPatch, Path: base + "/:id", Summary: "Change some fields (JSON merge patch)", Tag: tag, Request: "Patch", Response: schema, Handler: s.patchEntry(k)},
		{Method: http.MethodPut, Path: base + "/:id", Summary: "Replace the entry's content", Tag: tag, Request: schema, Response: schema, Handler: s.putEntry(k)},
		{Method: http.MethodDelete, Path: base + "/:id", Summary: "Archive (soft-delete) the entry", Tag: tag, Response: schema, Handler: s.archiveEntry(k)},
		{Method: http.MethodPost, Path: base + "/:id/restore", Summary: "Bring an archived entry back", Tag: tag, Response: schema, Handler: s.restoreEntry(k)},
		{Method: http.MethodGet, Path: base + "/:id/history", Summary: "Every version with who changed it, when, and the field diff", Tag: tag, Response: "List_HistoryItem", Handler: s.entryHistory(k)},
	}
}

// replyPage answers with one page of a list, each item shown by view, or
// with the error.
func replyPage[T, V any](s *Server, c *gin.Context, list []T, next string, err error, view func(T) V) {
	if err != nil {
		s.fail(c, err)
		return
	}
	items := make([]V, 0, len(list))
	for _, x := range list {
		items = append(items, view(x))
	}
	c.JSON(http.StatusOK, listReply[V]{Items: items, NextCursor: next})
}

// listReply is the shape of every list in the API.
type listReply[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// entryBody reads and validates the body as one entry of kind k; on a bad
// body it has answered already and returns false.
func (s *Server) entryBody(c *gin.Context, k calgate.Kind) (*calgate.Entry, bool) {
	data, err := jsonBody(c, MaxBodyBytes)
	if err != nil {
		s.fail(c, err)
		return nil, false
	}
	e, err := calgate.ParseEntry(k, data, principal(c).Workspace.Timezone)
	if err != nil {
		s.fail(c, err)
		return nil, false
	}
	return e, true
}

func (s *Server) upsertEntry(k calgate.Kind) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principal(c)
		e, ok := s.entryBody(c, k)
		if !ok {
			return
		}
		res, err := s.Store.Upsert(c.Request.Context(), p.Workspace.ID, actor(c), []calgate.UpsertItem{{Entry: e}}, calgate.UpsertOptions{Verbose: true, Return: true})
		if err != nil {
			s.fail(c, err)
			return
		}
		op := res.Operations[0]
		if op.Operation == calgate.OpFailed && len(op.Conflicts) > 0 {
			s.fail(c, &calgate.ConflictError{Resource: e.Resource, Conflicts: op.Conflicts})
			return
		}
		if op.Operation == calgate.OpFailed {
			s.fail(c, &calgate.ValidationError{Errors: op.Errors})
			return
		}
		s.countWritten(res, op)
		saved := op.Entry
		if saved == nil {
			// A store that does not return what it wrote is read back.
			var err error
			if saved, err = s.Store.Entry(c.Request.Context(), p.Workspace.ID, k, op.ID, false); err != nil {
				s.fail(c, err)
				return
			}
		}
		status := http.StatusOK
		if op.Operation == calgate.OpCreated {
			status = http.StatusCreated
			c.Header("Location", EntryPath(k)+"/"+saved.ID)
		}
		c.Header("X-Calgate-Operation", op.Operation)
		if len(op.Conflicts) > 0 {
			writeWithConflicts(c, status, saved, op.Conflicts)
			return
		}
		c.JSON(status, saved)
	}
}

// countWritten updates metrics and wakes the dispatcher after writes.
func (s *Server) countWritten(res *calgate.BulkResult, ops ...calgate.ItemResult) {
	if res.Simulated || res.Created+res.Updated+res.Archived == 0 {
		return
	}
	s.Metrics.EventsWritten.WithLabelValues("entry").Add(float64(res.Created + res.Updated + res.Archived))
	s.notify()
}

// bulkRequest is the body of POST /v1/<kind>/bulk.
type bulkRequest struct {
	Items       []json.RawMessage `json:"items"`
	Simulate    bool              `json:"simulate"`
	Verbose     bool              `json:"verbose"`
	StopOnError bool              `json:"stop_on_error"`
}

func (s *Server) bulkUpsert(k calgate.Kind) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principal(c)
		var req bulkRequest
		// Each item's text is checked on its own, so that only a bad item
		// fails.
		if err := bindJSONParts(c, MaxBulkBodyBytes, &req); err != nil {
			s.fail(c, err)
			return
		}
		if req.Items == nil {
			s.fail(c, calgate.Invalid("items", "is required"))
			return
		}
		if len(req.Items) > MaxBulkItems {
			s.fail(c, &StatusError{Status: http.StatusRequestEntityTooLarge, Detail: "too many items",
				Fields: []calgate.FieldError{{Field: "items", Message: "at most " + strconv.Itoa(MaxBulkItems) + " items per request, got " + strconv.Itoa(len(req.Items))}}})
			return
		}
		items := make([]calgate.UpsertItem, len(req.Items))
		for i, raw := range req.Items {
			e, err := calgate.ParseEntry(k, raw, p.Workspace.Timezone)
			items[i] = calgate.UpsertItem{Entry: e, Err: err}
		}
		res, err := s.Store.Upsert(c.Request.Context(), p.Workspace.ID, actor(c), items,
			calgate.UpsertOptions{Simulate: req.Simulate, Verbose: req.Verbose, StopOnError: req.StopOnError})
		if err != nil {
			s.fail(c, err)
			return
		}
		if res.Errors == nil {
			res.Errors = []calgate.ItemResult{}
		}
		s.countWritten(res)
		c.JSON(http.StatusOK, res)
	}
}

func (s *Server) getEntry(k calgate.Kind) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principal(c)
		id := c.Param("id")
		if strings.HasSuffix(id, ".ics") && s.EntryICS != nil {
			s.EntryICS(c, k, strings.TrimSuffix(id, ".ics"))
			return
		}
		includeArchived, err := boolParam(c, "include_archived")
		if err != nil {
			s.fail(c, err)
			return
		}
		e, err := s.Store.Entry(c.Request.Context(), p.Workspace.ID, k, id, includeArchived)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, e)
	}
}

func (s *Server) listEntries(k calgate.Kind) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principal(c)
		f, err := entryFilterFromQuery(c, k, p.Workspace.Timezone)
		if err != nil {
			s.fail(c, err)
			return
		}
		if WantsCSV(c) {
			s.streamEntriesCSV(c, k, f)
			return
		}
		entries, next, err := s.Store.Entries(c.Request.Context(), p.Workspace.ID, f)
		if err != nil {
			s.fail(c, err)
			return
		}
		if entries == nil {
			entries = []*calgate.Entry{}
		}
		c.JSON(http.StatusOK, listReply[*calgate.Entry]{Items: entries, NextCursor: next})
	}
}

// entryFilterFromQuery reads the list filters; each bad value is a 400
// naming its parameter.
func entryFilterFromQuery(c *gin.Context, k calgate.Kind, tz string) (calgate.EntryFilter, error) {
	f := calgate.EntryFilter{Kinds: []calgate.Kind{k}}
	v := &calgate.ValidationError{Malformed: true}
	f.From, f.To = windowParams(c, v, tz, false)
	f.Resources = listParam(c, k.ResourceField())
	for _, st := range listParam(c, "status") {
		if !calgate.Status(st).Valid() {
			v.Add("status", "%q is not one of tentative, confirmed, cancelled", st)
		}
		f.Statuses = append(f.Statuses, calgate.Status(st))
	}
	f.Sources = listParam(c, "source")
	f.ExternalID = c.Query("external_id")
	if raw := c.Query("since"); raw != "" {
		t, err := calgate.ParseSince(raw)
		if err != nil {
			v.Add("since", "%v", err)
		}
		f.Since = t
	}
	if b, err := boolParam(c, "include_archived"); err != nil {
		v.Add("include_archived", "must be true or false")
	} else {
		f.IncludeArchived = b
	}
	if raw := c.Query("cursor"); raw != "" && !calgate.ValidID(raw) {
		v.Add("cursor", "%s", errCursor)
	} else {
		f.Cursor = raw
	}
	limit := limitInto(c, v)
	f.Limit = limit
	return f, v.Err()
}

func listParam(c *gin.Context, name string) []string {
	var out []string
	for _, raw := range c.QueryArray(name) {
		for _, part := range strings.Split(raw, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

func boolParam(c *gin.Context, name string) (bool, error) {
	raw := c.Query(name)
	if raw == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		return false, badParam(name, "must be true or false")
	}
	return b, nil
}

// limitParam reads "limit": 1 to 1000, default 100.
func limitParam(c *gin.Context) (int, error) {
	raw := c.Query("limit")
	if raw == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 1000 {
		return 0, errLimit
	}
	return n, nil
}

// limitInto reads the limit parameter (limitParam), adding its error to v.
func limitInto(c *gin.Context, v *calgate.ValidationError) int {
	limit, err := limitParam(c)
	if err != nil {
		v.Add("limit", "%v", err)
	}
	return limit
}

// pageParams reads the paging parameters of a list: cursor (a next_cursor
// of the same list) and limit; a bad one is a 400 naming it.
func pageParams(c *gin.Context) (string, int, error) {
	cursor := c.Query("cursor")
	if cursor != "" && !calgate.ValidID(cursor) {
		return "", 0, badParam("cursor", "%s", errCursor)
	}
	limit, err := limitParam(c)
	if err != nil {
		return "", 0, badParam("limit", "%v", err)
	}
	return cursor, limit, nil
}

const errCursor = "is not a cursor: pass the next_cursor of the previous page"

type limitError struct{}

func (limitError) Error() string { return "must be a whole number from 1 to 1000" }

var errLimit error = limitError{}

// replaceContent copies the content of next into e, keeping e's identity
// and bookkeeping.
func replaceContent(e, next *calgate.Entry) error {
	if next.Source != e.Source || next.ExternalID != e.ExternalID {
		v := &calgate.ValidationError{}
		if next.Source != e.Source {
			v.Add("source", "cannot change (is %q)", e.Source)
		}
		if next.ExternalID != e.ExternalID {
			v.Add("external_id", "cannot change (is %q)", e.ExternalID)
		}
		return v
	}
	keep := *e
	*e = *next
	e.ID, e.WorkspaceID, e.Kind = keep.ID, keep.WorkspaceID, keep.Kind
	e.Version, e.CreatedAt, e.UpdatedAt, e.ArchivedAt = keep.Version, keep.CreatedAt, keep.UpdatedAt, keep.ArchivedAt
	e.Document = keep.Document // an entry changed on its own stays in its document
	return nil
}

// mutate runs a change through the store and answers with the entry and,
// when it has some, its conflicts.
func (s *Server) mutate(c *gin.Context, k calgate.Kind, fn func(*calgate.Entry) error) {
	p := principal(c)
	e, typ, err := s.Store.Mutate(c.Request.Context(), p.Workspace.ID, k, c.Param("id"), actor(c), fn)
	if err != nil {
		s.fail(c, err)
		return
	}
	if typ != "" {
		s.Metrics.EventsWritten.WithLabelValues(string(typ)).Inc()
		s.notify()
	}
	// As a POST's answer, the entry's answer carries its double bookings
	// (an archived or resourceless entry has none).
	if e.Resource != "" && !e.Archived() {
		list, err := s.Store.EntryConflicts(c.Request.Context(), p.Workspace.ID, e.ID)
		if err != nil {
			s.fail(c, err)
			return
		}
		if len(list) > 0 {
			writeWithConflicts(c, http.StatusOK, e, list)
			return
		}
	}
	c.JSON(http.StatusOK, e)
}

func (s *Server) putEntry(k calgate.Kind) gin.HandlerFunc {
	return func(c *gin.Context) {
		data, err := jsonBody(c, MaxBodyBytes)
		if err != nil {
			s.fail(c, err)
			return
		}
		// A client may send back the read-only fields it read; they must
		// be unchanged.
		rest, readOnly := splitReadOnly(data)
		next, err := calgate.ParseEntry(k, rest, principal(c).Workspace.Timezone)
		if err != nil {
			s.fail(c, err)
			return
		}
		s.mutate(c, k, func(e *calgate.Entry) error {
			if e.Archived() {
				return calgate.ErrNotFound
			}
			if err := e.CheckReadOnly(readOnly); err != nil {
				return err
			}
			return replaceContent(e, next)
		})
	}
}

// splitReadOnly takes the read-only fields out of a JSON object; a body
// that is not an object is returned as it is, for the parser to name its
// fault.
func splitReadOnly(data []byte) ([]byte, map[string]json.RawMessage) {
	var doc map[string]json.RawMessage
	if json.Unmarshal(data, &doc) != nil || doc == nil {
		return data, nil
	}
	readOnly := takeReadOnly(doc)
	if len(readOnly) == 0 {
		return data, nil
	}
	rest, err := json.Marshal(doc)
	if err != nil {
		return data, nil
	}
	return rest, readOnly
}

// takeReadOnly moves the read-only fields of doc into a map of their own.
// The double bookings an answer lists (conflicts) are not a field of the
// entry but of the answer: sent back with what was read, they are dropped.
func takeReadOnly(doc map[string]json.RawMessage) map[string]json.RawMessage {
	delete(doc, "conflicts")
	var out map[string]json.RawMessage
	for _, f := range calgate.ReadOnlyFields {
		if raw, ok := doc[f]; ok {
			if out == nil {
				out = map[string]json.RawMessage{}
			}
			out[f] = raw
			delete(doc, f)
		}
	}
	return out
}

func (s *Server) patchEntry(k calgate.Kind) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principal(c)
		data, err := jsonBody(c, MaxBodyBytes)
		if err != nil {
			s.fail(c, err)
			return
		}
		var patch map[string]json.RawMessage
		if err := decodeStrict(data, &patch); err != nil {
			s.fail(c, err)
			return
		}
		if patch == nil {
			s.fail(c, &calgate.ValidationError{Malformed: true,
				Errors: []calgate.FieldError{{Field: "body", Message: "must be a JSON object (a merge patch), not null"}}})
			return
		}
		readOnly := takeReadOnly(patch)
		s.mutate(c, k, func(e *calgate.Entry) error {
			if e.Archived() {
				return calgate.ErrNotFound
			}
			if err := e.CheckReadOnly(readOnly); err != nil {
				return err
			}
			merged, err := mergePatch(e.Wire(), patch)
			if err != nil {
				return err
			}
			next, err := calgate.ParseEntry(k, merged, p.Workspace.Timezone)
			if err != nil {
				return err
			}
			return replaceContent(e, next)
		})
	}
}

// mergePatch applies a JSON merge patch (RFC 7386) to an entry's wire
// form, whose read-only fields it leaves out.
func mergePatch(wire map[string]any, patch map[string]json.RawMessage) ([]byte, error) {
	doc := map[string]json.RawMessage{}
	for k, v := range wire {
		if calgate.IsReadOnlyField(k) {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		doc[k] = b
	}
	for k, v := range patch {
		if string(v) == "null" {
			delete(doc, k)
			continue
		}
		if k == "customer" || k == "attributes" {
			merged, err := mergeObject(doc[k], v)
			if err != nil {
				return nil, calgate.Invalid(k, "must be a JSON object")
			}
			doc[k] = merged
			continue
		}
		doc[k] = v
	}
	return json.Marshal(doc)
}

func mergeObject(base, patch json.RawMessage) (json.RawMessage, error) {
	var b, p map[string]json.RawMessage
	if len(base) > 0 && string(base) != "null" {
		if err := json.Unmarshal(base, &b); err != nil {
			return nil, err
		}
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, err
	}
	if b == nil {
		b = map[string]json.RawMessage{}
	}
	for k, v := range p {
		if string(v) == "null" {
			delete(b, k)
		} else {
			b[k] = v
		}
	}
	return json.Marshal(b)
}

func (s *Server) archiveEntry(k calgate.Kind) gin.HandlerFunc {
	return func(c *gin.Context) {
		s.mutate(c, k, func(e *calgate.Entry) error {
			if e.Archived() {
				return calgate.ErrNotFound
			}
			now := time.Now().UTC()
			e.ArchivedAt = &now
			return nil
		})
	}
}

func (s *Server) restoreEntry(k calgate.Kind) gin.HandlerFunc {
	return func(c *gin.Context) {
		s.mutate(c, k, func(e *calgate.Entry) error {
			e.ArchivedAt = nil
			return nil
		})
	}
}

// historyItem is one version of an entry.
type historyItem struct {
	Version int64             `json:"version"`
	Type    calgate.EventType `json:"type"`
	At      time.Time         `json:"at"`
	User    string            `json:"user"`
	TokenID string            `json:"token_id"`
	Diff    calgate.FieldDiff `json:"diff"`
}

func (s *Server) entryHistory(k calgate.Kind) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principal(c)
		e, err := s.Store.Entry(c.Request.Context(), p.Workspace.ID, k, c.Param("id"), true)
		if err != nil {
			s.fail(c, err)
			return
		}
		if _, err := s.Store.Sequence(c.Request.Context()); err != nil {
			s.fail(c, err)
			return
		}
		items := []historyItem{}
		var after int64
		for {
			evs, err := s.Store.Events(c.Request.Context(), p.Workspace.ID, calgate.EventFilter{EntryID: e.ID, After: after, Limit: 1000})
			if err != nil {
				s.fail(c, err)
				return
			}
			for _, ev := range evs {
				user, tok, _ := strings.Cut(ev.Actor, "/")
				var version int64
				if ev.Entry != nil {
					version = ev.Entry.Version
				}
				items = append(items, historyItem{Version: version, Type: ev.Type, At: ev.CreatedAt, User: user, TokenID: tok, Diff: ev.Diff})
				after = ev.Position
			}
			if len(evs) < 1000 {
				break
			}
		}
		c.JSON(http.StatusOK, listReply[historyItem]{Items: items})
	}
}
