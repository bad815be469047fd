// Package skyplanner serves Skyplanner's order resources, so that an ERP
// written for Skyplanner's API sends its orders to calgate by changing its
// base URL and token. The resources are separate and linked by ids, as in
// Skyplanner:
//
//	/customers              (delete is permanent)
//	/phaser-orders          customer_id
//	/phaser-order-items     phaser_order_id (also served as /phaser-order-rows)
//	/phaser-jobs            phaser_order_row_id (or phaser_order_item_id), workstage_id, start_time, end_time
//	/workstages             (delete is permanent)
//
// each with GET (list, include_archived=true for archived ones), POST
// (answered 201 with the resource and its id), GET, PUT and PATCH (both
// change the fields sent) and DELETE of /{id}. Deleting an order, order
// item or job is soft: is_archive becomes true.
//
// Resources are kept as sent (calgate.Record) and may arrive in any order.
// Whenever an order's chain is complete (order, its order items, their
// jobs), the order is imported whole through the built-in skyplanner-order
// template: one job entry per job with a start and an end, on its
// workstage; jobs that are archived, or whose order item or order is, and
// jobs that left the order are archived. A job whose order item or order
// arrives later is resolved when it arrives.
package skyplanner

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

// Where resources are kept and how orders are imported.
const (
	Source   = "skyplanner"
	Template = "skyplanner-order"
	attempts = 3
)

// Record types.
const (
	typeCustomer  = "customer"
	typeOrder     = "phaser-order"
	typeOrderItem = "phaser-order-item"
	typeJob       = "phaser-job"
	typeWorkstage = "workstage"
)

// resource is one of Skyplanner's endpoints.
type resource struct {
	path string
	typ  string
	// soft resources are archived on DELETE (is_archive), the others
	// removed.
	soft bool
}

var resources = []resource{
	{"/customers", typeCustomer, false},
	{"/phaser-orders", typeOrder, true},
	{"/phaser-order-items", typeOrderItem, true},
	{"/phaser-order-rows", typeOrderItem, true},
	{"/phaser-jobs", typeJob, true},
	{"/workstages", typeWorkstage, false},
}

// Skyplanner's fields that link resources, as Skyplanner names them.
type orderLinks struct {
	CustomerID json.Number `json:"customer_id"`
}

type orderItemLinks struct {
	PhaserOrderID json.Number `json:"phaser_order_id"`
}

type jobLinks struct {
	PhaserOrderRowID  json.Number `json:"phaser_order_row_id"`
	PhaserOrderItemID json.Number `json:"phaser_order_item_id"`
	WorkstageID       json.Number `json:"workstage_id"`
}

type archiveFlag struct {
	IsArchive bool `json:"is_archive"`
}

// Surface is the Skyplanner API.
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
	tag := "compat-skyplanner"
	var out []api.Route
	for _, r := range resources {
		name := "Skyplanner: " + r.typ
		out = append(out,
			api.Route{Method: http.MethodGet, Path: r.path, Summary: name + " list", Tag: tag, Query: []string{"include_archived"}, Handler: p.list(r)},
			api.Route{Method: http.MethodPost, Path: r.path, Summary: name + " create", Tag: tag, Status: http.StatusCreated, Handler: p.create(r)},
			api.Route{Method: http.MethodGet, Path: r.path + "/:id", Summary: name + " get", Tag: tag, Query: []string{"include_archived"}, Handler: p.get(r)},
			api.Route{Method: http.MethodPut, Path: r.path + "/:id", Summary: name + " update", Tag: tag, Handler: p.update(r)},
			api.Route{Method: http.MethodPatch, Path: r.path + "/:id", Summary: name + " update", Tag: tag, Handler: p.update(r)},
			api.Route{Method: http.MethodDelete, Path: r.path + "/:id", Summary: name + " delete (soft for orders, order items and jobs)", Tag: tag, Handler: p.remove(r)},
		)
	}
	return out
}

func archived(body map[string]any) bool {
	b, _ := body["is_archive"].(bool)
	return b
}

func includeArchived(c *gin.Context) (bool, error) {
	raw := c.Query("include_archived")
	if raw == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		return false, &calgate.ValidationError{Malformed: true, Errors: []calgate.FieldError{{Field: "include_archived", Message: "must be true or false"}}}
	}
	return b, nil
}

func resourceID(c *gin.Context) (string, bool) {
	n, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || n <= 0 {
		return "", false
	}
	return strconv.FormatInt(n, 10), true
}

func (p *Surface) list(r resource) gin.HandlerFunc {
	return func(c *gin.Context) {
		all, err := includeArchived(c)
		if err != nil {
			p.srv.Fail(c, err)
			return
		}
		ws := api.PrincipalOf(c).Workspace.ID
		out := []json.RawMessage{}
		cursor := ""
		for {
			recs, next, err := p.records.Records(c.Request.Context(), ws, Source, r.typ, calgate.RecordFilter{Cursor: cursor, Limit: 1000})
			if err != nil {
				p.srv.Fail(c, err)
				return
			}
			for _, rec := range recs {
				var f archiveFlag
				_ = json.Unmarshal(rec.Body, &f)
				if all || !f.IsArchive {
					out = append(out, rec.Body)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		c.JSON(http.StatusOK, out)
	}
}

func (p *Surface) get(r resource) gin.HandlerFunc {
	return func(c *gin.Context) {
		all, err := includeArchived(c)
		if err != nil {
			p.srv.Fail(c, err)
			return
		}
		id, ok := resourceID(c)
		if !ok {
			p.srv.Fail(c, calgate.ErrNotFound)
			return
		}
		rec, err := p.records.Record(c.Request.Context(), api.PrincipalOf(c).Workspace.ID, Source, r.typ, id)
		if err != nil {
			p.srv.Fail(c, err)
			return
		}
		var f archiveFlag
		_ = json.Unmarshal(rec.Body, &f)
		if f.IsArchive && !all {
			p.srv.Fail(c, calgate.ErrNotFound)
			return
		}
		c.Data(http.StatusOK, "application/json; charset=utf-8", rec.Body)
	}
}

// body reads a resource sent in a request and checks its link fields.
func (p *Surface) body(c *gin.Context, r resource) (map[string]any, bool) {
	data, err := api.ReadBody(c, api.MaxBodyBytes)
	if err != nil {
		p.srv.Fail(c, err)
		return nil, false
	}
	m, err := compat.DecodeObject(data)
	if err != nil {
		p.srv.Fail(c, &calgate.ValidationError{Malformed: true, Errors: []calgate.FieldError{{Field: "body", Message: err.Error()}}})
		return nil, false
	}
	return m, true
}

// checkFields refuses link fields that are not ids and an is_archive that
// is not a boolean, naming the field, by decoding into Skyplanner's shapes.
func checkFields(typ string, m map[string]any) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var target any
	switch typ {
	case typeOrder:
		target = &orderLinks{}
	case typeOrderItem:
		target = &orderItemLinks{}
	case typeJob:
		target = &jobLinks{}
	}
	if target != nil {
		if err := json.Unmarshal(data, target); err != nil {
			return calgate.DecodeError(err)
		}
	}
	if err := json.Unmarshal(data, &archiveFlag{}); err != nil {
		return calgate.DecodeError(err)
	}
	return nil
}

func (p *Surface) create(r resource) gin.HandlerFunc {
	return func(c *gin.Context) {
		body, ok := p.body(c, r)
		if !ok {
			return
		}
		ws := api.PrincipalOf(c).Workspace.ID
		var id string
		if raw, given := body["id"]; given && raw != nil {
			n, err := strconv.ParseInt(fmt.Sprint(raw), 10, 64)
			if err != nil || n <= 0 {
				p.srv.Fail(c, calgate.Invalid("id", "must be a positive whole number"))
				return
			}
			id = strconv.FormatInt(n, 10)
		} else {
			n, err := p.records.NextRecordID(c.Request.Context(), ws, Source, r.typ)
			if err != nil {
				p.srv.Fail(c, err)
				return
			}
			id = strconv.FormatInt(n, 10)
		}
		body["id"] = json.Number(id)
		if r.soft {
			if _, ok := body["is_archive"]; !ok {
				body["is_archive"] = false
			}
		}
		if err := checkFields(r.typ, body); err != nil {
			p.srv.Fail(c, err)
			return
		}
		rec := &calgate.Record{Source: Source, Type: r.typ, ID: id}
		if err := p.write(c, rec, nil, body); err != nil {
			if errors.Is(err, calgate.ErrConflict) {
				err = fmt.Errorf("%s %s exists: %w", r.typ, id, calgate.ErrConflict)
			}
			p.srv.Fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, body)
	}
}

// update changes the fields sent (PUT and PATCH alike; null removes a
// field), tried again on the new version when another change met it.
func (p *Surface) update(r resource) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := resourceID(c)
		if !ok {
			p.srv.Fail(c, calgate.ErrNotFound)
			return
		}
		patch, ok := p.body(c, r)
		if !ok {
			return
		}
		p.change(c, r, id, func(body map[string]any) {
			for k, v := range patch {
				if v == nil {
					delete(body, k)
				} else {
					body[k] = v
				}
			}
		}, http.StatusOK)
	}
}

func (p *Surface) remove(r resource) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := resourceID(c)
		if !ok {
			p.srv.Fail(c, calgate.ErrNotFound)
			return
		}
		if r.soft {
			p.change(c, r, id, func(body map[string]any) { body["is_archive"] = true }, http.StatusOK)
			return
		}
		p.change(c, r, id, nil, http.StatusNoContent)
	}
}

// change applies fn to the stored resource (nil: removes it) and writes
// the result.
func (p *Surface) change(c *gin.Context, r resource, id string, fn func(map[string]any), status int) {
	ws := api.PrincipalOf(c).Workspace.ID
	var err error
	for range attempts {
		var stored *calgate.Record
		stored, err = p.records.Record(c.Request.Context(), ws, Source, r.typ, id)
		if err != nil {
			break
		}
		var before map[string]any
		if before, err = compat.DecodeObject(stored.Body); err != nil {
			break
		}
		var after map[string]any
		if fn != nil {
			after = cloneMap(before)
			fn(after)
			after["id"] = json.Number(id)
			if err = checkFields(r.typ, after); err != nil {
				break
			}
		}
		rec := &calgate.Record{Source: Source, Type: r.typ, ID: id, Version: stored.Version, Delete: after == nil}
		if err = p.write(c, rec, before, after); err == nil {
			if after == nil {
				c.Status(status)
			} else {
				c.JSON(status, after)
			}
			return
		}
		if !errors.Is(err, calgate.ErrConflict) {
			break
		}
	}
	p.srv.Fail(c, err)
}

func cloneMap(m map[string]any) map[string]any {
	data, _ := json.Marshal(m)
	out, _ := compat.DecodeObject(data)
	return out
}
