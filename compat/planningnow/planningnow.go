// Package planningnow serves the order endpoints of PlanningNow's API, so
// that an ERP written for PlanningNow sends its orders to calgate by
// changing its base URL and token:
//
//	GET    /api/test                 {"response": "Test successfull."}
//	GET    /api/order                every order, with positions and tasks
//	GET    /api/order/{id}
//	POST   /api/order                create (201, the order with its ids)
//	PUT    /api/order/{id}           replace the whole order
//	PATCH  /api/order/{id}           change some fields, positions or tasks
//	DELETE /api/order/{id}           204; the order's entries are archived
//
// with the token in X-AUTH-TOKEN. Orders are kept as sent (calgate.Record)
// and imported whole through the built-in planningnow-order template: one
// production window per task with production_start and production_end,
// identified by order, position and task, and the windows of tasks an
// order no longer holds archived, in the transaction that stores the
// order.
package planningnow

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/compat"
	"github.com/calgate/calgate/imports"
)

// Where orders are kept and how they are imported.
const (
	Source   = "planningnow"
	Type     = "order"
	Template = "planningnow-order"
	// attempts bounds the retries of a change that met another change of
	// the same order.
	attempts = 3
)

// Surface is the PlanningNow order API.
type Surface struct {
	srv     *api.Server
	svc     *imports.Service
	records calgate.RecordStore
}

// New returns the surface; mount its Routes on srv.
func New(srv *api.Server, svc *imports.Service, records calgate.RecordStore) *Surface {
	return &Surface{srv: srv, svc: svc, records: records}
}

// Routes are the surface's routes.
func (p *Surface) Routes() []api.Route {
	tag := "compat-planningnow"
	return []api.Route{
		{Method: http.MethodGet, Path: "/api/test", Summary: "PlanningNow: check the token", Tag: tag, Handler: p.test},
		{Method: http.MethodGet, Path: "/api/order", Summary: "PlanningNow: every order with positions and tasks", Tag: tag, Handler: p.list},
		{Method: http.MethodGet, Path: "/api/order/:id", Summary: "PlanningNow: one order", Tag: tag, Handler: p.get},
		{Method: http.MethodPost, Path: "/api/order", Summary: "PlanningNow: create an order", Tag: tag, Status: http.StatusCreated, Handler: p.create},
		{Method: http.MethodPut, Path: "/api/order/:id", Summary: "PlanningNow: replace an order (tasks it no longer holds are archived)", Tag: tag, Handler: p.replace(false)},
		{Method: http.MethodPatch, Path: "/api/order/:id", Summary: "PlanningNow: change fields, positions or tasks of an order", Tag: tag, Handler: p.replace(true)},
		{Method: http.MethodDelete, Path: "/api/order/:id", Summary: "PlanningNow: delete an order (its production windows are archived)", Tag: tag, Status: http.StatusNoContent, Handler: p.delete},
	}
}

// problem is PlanningNow's error answer.
type problem struct {
	Error      string               `json:"error"`
	StatusCode int                  `json:"status_code"`
	Errors     []calgate.FieldError `json:"errors,omitempty"`
}

func (p *Surface) fail(c *gin.Context, err error) {
	var ve *calgate.ValidationError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, problem{Error: "Request body too large", StatusCode: http.StatusRequestEntityTooLarge})
	case errors.As(err, &ve):
		status := api.InvalidStatus(ve)
		c.AbortWithStatusJSON(status, problem{Error: ve.Error(), StatusCode: status, Errors: ve.Errors})
	case errors.Is(err, calgate.ErrNotFound):
		c.AbortWithStatusJSON(http.StatusNotFound, problem{Error: "Order not found", StatusCode: http.StatusNotFound})
	case errors.Is(err, calgate.ErrConflict):
		c.AbortWithStatusJSON(http.StatusConflict, problem{Error: err.Error(), StatusCode: http.StatusConflict})
	default:
		p.srv.Fail(c, err)
	}
}

func (p *Surface) test(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"response": "Test successfull."})
}

// orderID reads the id of the path: a positive whole number.
func orderID(c *gin.Context) (string, bool) {
	n, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || n <= 0 {
		return "", false
	}
	return strconv.FormatInt(n, 10), true
}

func (p *Surface) list(c *gin.Context) {
	ws := api.PrincipalOf(c).Workspace.ID
	out := []json.RawMessage{}
	cursor := ""
	for {
		recs, next, err := p.records.Records(c.Request.Context(), ws, Source, Type, calgate.RecordFilter{Cursor: cursor, Limit: 1000})
		if err != nil {
			p.fail(c, err)
			return
		}
		for _, r := range recs {
			out = append(out, r.Body)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	c.JSON(http.StatusOK, out)
}

func (p *Surface) get(c *gin.Context) {
	id, ok := orderID(c)
	if !ok {
		p.fail(c, calgate.ErrNotFound)
		return
	}
	r, err := p.records.Record(c.Request.Context(), api.PrincipalOf(c).Workspace.ID, Source, Type, id)
	if err != nil {
		p.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", r.Body)
}

// body reads the request's order.
func (p *Surface) body(c *gin.Context) (map[string]any, bool) {
	data, err := api.ReadBody(c, api.MaxBulkBodyBytes)
	if err != nil {
		p.fail(c, err)
		return nil, false
	}
	m, err := compat.DecodeObject(data)
	if err != nil {
		p.fail(c, &calgate.ValidationError{Malformed: true, Errors: []calgate.FieldError{{Field: "body", Message: err.Error()}}})
		return nil, false
	}
	return m, true
}

func (p *Surface) create(c *gin.Context) {
	order, ok := p.body(c)
	if !ok {
		return
	}
	ws := api.PrincipalOf(c).Workspace.ID
	var id string
	if raw, given := order["id"]; given && raw != nil {
		n, ok := wholeNumber(raw)
		if !ok || n <= 0 {
			p.fail(c, calgate.Invalid("id", "must be a positive whole number"))
			return
		}
		id = strconv.FormatInt(n, 10)
	} else {
		n, err := p.records.NextRecordID(c.Request.Context(), ws, Source, Type)
		if err != nil {
			p.fail(c, err)
			return
		}
		id = strconv.FormatInt(n, 10)
	}
	if err := assignIDs(order, nil); err != nil {
		p.fail(c, err)
		return
	}
	order["id"] = json.Number(id)
	if err := p.save(c, order, 0); err != nil {
		if errors.Is(err, calgate.ErrConflict) {
			err = fmt.Errorf("order %s exists: change it with PUT /api/order/%s: %w", id, id, calgate.ErrConflict)
		}
		p.fail(c, err)
		return
	}
	c.Header("Location", "/api/order/"+id)
	c.JSON(http.StatusCreated, order)
}

// replace answers PUT (the whole order) and PATCH (merged into the
// stored one); a change that meets another change of the order is tried
// again on the new version.
func (p *Surface) replace(patch bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := orderID(c)
		if !ok {
			p.fail(c, calgate.ErrNotFound)
			return
		}
		body, ok := p.body(c)
		if !ok {
			return
		}
		if raw, given := body["id"]; given && raw != nil {
			if n, ok := wholeNumber(raw); !ok || strconv.FormatInt(n, 10) != id {
				p.fail(c, calgate.Invalid("id", "is not the id of the URL (%s)", id))
				return
			}
		}
		ws := api.PrincipalOf(c).Workspace.ID
		var err error
		for range attempts {
			var stored *calgate.Record
			stored, err = p.records.Record(c.Request.Context(), ws, Source, Type, id)
			if err != nil {
				break
			}
			var old map[string]any
			if old, err = compat.DecodeObject(stored.Body); err != nil {
				break
			}
			next := cloneJSON(body)
			if patch {
				next = mergeOrder(old, next)
			}
			next["id"] = json.Number(id)
			if err = assignIDs(next, old); err != nil {
				break
			}
			if err = p.save(c, next, stored.Version); err == nil {
				c.JSON(http.StatusOK, next)
				return
			}
			if !errors.Is(err, calgate.ErrConflict) {
				break
			}
		}
		p.fail(c, err)
	}
}

func (p *Surface) delete(c *gin.Context) {
	id, ok := orderID(c)
	if !ok {
		p.fail(c, calgate.ErrNotFound)
		return
	}
	pr := api.PrincipalOf(c)
	var err error
	for range attempts {
		var stored *calgate.Record
		stored, err = p.records.Record(c.Request.Context(), pr.Workspace.ID, Source, Type, id)
		if err != nil {
			break
		}
		// The order without positions: the document replaced by nothing.
		empty := []byte(`{"id":` + id + `,"positions":[]}`)
		rec := &calgate.Record{Source: Source, Type: Type, ID: id, Version: stored.Version, Delete: true}
		_, err = p.svc.ImportJSON(c.Request.Context(), &pr.Workspace, Template, api.ActorOf(c), empty, imports.ImportOptions{Records: []*calgate.Record{rec}})
		if err == nil {
			c.Status(http.StatusNoContent)
			return
		}
		if !errors.Is(err, calgate.ErrConflict) {
			break
		}
	}
	p.fail(c, err)
}

// save imports the order whole and stores it in the same transaction:
// first as a simulation, so that an order with a bad task is refused
// whole (422, naming the task) and nothing is written.
func (p *Surface) save(c *gin.Context, order map[string]any, version int64) error {
	model, err := json.Marshal(order)
	if err != nil {
		return fmt.Errorf("planningnow: encode order: %w", err)
	}
	pr := api.PrincipalOf(c)
	ctx := c.Request.Context()
	if err := compat.Simulate(ctx, p.svc, &pr.Workspace, Template, api.ActorOf(c), model); err != nil {
		return err
	}
	id, _ := order["id"].(json.Number)
	rec := &calgate.Record{Source: Source, Type: Type, ID: id.String(), Body: model, Version: version}
	_, err = p.svc.ImportJSON(ctx, &pr.Workspace, Template, api.ActorOf(c), model, imports.ImportOptions{Records: []*calgate.Record{rec}})
	return err
}
