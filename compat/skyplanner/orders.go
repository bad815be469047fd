package skyplanner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/compat"
	"github.com/calgate/calgate/imports"
)

// key names a resource.
type key struct{ typ, id string }

// state is what a write is about to make of the resources it touches, over
// what the store holds: a nil body is a removed resource.
type state struct {
	p       *Surface
	ctx     context.Context
	ws      string
	overlay map[key]map[string]any
}

func idText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case json.Number:
		return x.String()
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

// linksOf lists the resources a body names, as record links.
func linksOf(typ string, body map[string]any) []string {
	var out []string
	add := func(t string, v any) {
		if id := idText(v); id != "" {
			out = append(out, calgate.RecordLink(t, id))
		}
	}
	switch typ {
	case typeOrder:
		add(typeCustomer, body["customer_id"])
	case typeOrderItem:
		add(typeOrder, body["phaser_order_id"])
	case typeJob:
		add(typeOrderItem, jobItem(body))
		add(typeWorkstage, body["workstage_id"])
	}
	return out
}

// jobItem is the order item a job belongs to.
func jobItem(job map[string]any) string {
	if id := idText(job["phaser_order_row_id"]); id != "" {
		return id
	}
	return idText(job["phaser_order_item_id"])
}

// body returns a resource as the write leaves it (nil when there is none).
func (s *state) body(typ, id string) (map[string]any, *calgate.Record, error) {
	if id == "" {
		return nil, nil, nil
	}
	if b, ok := s.overlay[key{typ, id}]; ok {
		return b, nil, nil
	}
	rec, err := s.p.records.Record(s.ctx, s.ws, Source, typ, id)
	if errors.Is(err, calgate.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	b, err := compat.DecodeObject(rec.Body)
	return b, rec, err
}

// linked lists the ids of the resources of typ that link to target, as
// the write leaves them.
func (s *state) linked(typ string, target key, linksTo func(map[string]any) string) ([]string, error) {
	recs, err := s.p.records.LinkedRecords(s.ctx, s.ws, Source, calgate.RecordLink(target.typ, target.id))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if r.Type == typ {
			seen[r.ID] = true
		}
	}
	for k := range s.overlay {
		if k.typ == typ {
			seen[k.id] = true
		}
	}
	var out []string
	for id := range seen {
		b, _, err := s.body(typ, id)
		if err != nil {
			return nil, err
		}
		if b != nil && linksTo(b) == target.id {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return numLess(out[i], out[j]) })
	return out, nil
}

func numLess(a, b string) bool {
	x, errA := strconv.ParseInt(a, 10, 64)
	y, errB := strconv.ParseInt(b, 10, 64)
	if errA == nil && errB == nil {
		return x < y
	}
	return a < b
}

// orders lists the orders a resource in the given state contributes to.
func (s *state) orders(typ, id string, body map[string]any, out map[string]bool) error {
	switch typ {
	case typeOrder:
		out[id] = true
	case typeCustomer:
		ids, err := s.linked(typeOrder, key{typeCustomer, id}, func(b map[string]any) string { return idText(b["customer_id"]) })
		if err != nil {
			return err
		}
		for _, o := range ids {
			out[o] = true
		}
	case typeOrderItem:
		if body != nil {
			if o := idText(body["phaser_order_id"]); o != "" {
				out[o] = true
			}
		}
	case typeJob:
		if body == nil {
			return nil
		}
		item, _, err := s.body(typeOrderItem, jobItem(body))
		if err != nil || item == nil {
			return err
		}
		if o := idText(item["phaser_order_id"]); o != "" {
			out[o] = true
		}
	case typeWorkstage:
		jobs, err := s.linked(typeJob, key{typeWorkstage, id}, func(b map[string]any) string { return idText(b["workstage_id"]) })
		if err != nil {
			return err
		}
		for _, j := range jobs {
			b, _, err := s.body(typeJob, j)
			if err != nil {
				return err
			}
			if err := s.orders(typeJob, j, b, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// document assembles an order as the skyplanner-order template reads it:
// the order with its customer, its order items, and their jobs with their
// workstages. ok is false when the order is not (yet) known.
func (s *state) document(orderID string) (doc map[string]any, rec *calgate.Record, ok bool, err error) {
	order, rec, err := s.body(typeOrder, orderID)
	if err != nil || order == nil {
		return nil, nil, false, err
	}
	doc = cloneMap(order)
	if cu, _, err := s.body(typeCustomer, idText(order["customer_id"])); err != nil {
		return nil, nil, false, err
	} else if cu != nil {
		doc["customer"] = cu
	}
	itemIDs, err := s.linked(typeOrderItem, key{typeOrder, orderID}, func(b map[string]any) string { return idText(b["phaser_order_id"]) })
	if err != nil {
		return nil, nil, false, err
	}
	items := []any{}
	for _, itemID := range itemIDs {
		item, _, err := s.body(typeOrderItem, itemID)
		if err != nil {
			return nil, nil, false, err
		}
		item = cloneMap(item)
		jobIDs, err := s.linked(typeJob, key{typeOrderItem, itemID}, jobItem)
		if err != nil {
			return nil, nil, false, err
		}
		jobs := []any{}
		for _, jobID := range jobIDs {
			job, _, err := s.body(typeJob, jobID)
			if err != nil {
				return nil, nil, false, err
			}
			job = cloneMap(job)
			if ws, _, err := s.body(typeWorkstage, idText(job["workstage_id"])); err != nil {
				return nil, nil, false, err
			} else if ws != nil {
				job["workstage"] = ws
			}
			jobs = append(jobs, job)
		}
		item["jobs"] = jobs
		items = append(items, item)
	}
	doc["order_items"] = items
	return doc, rec, true, nil
}

// write stores a resource (rec, with before and after its states; after
// nil removes it) and imports, in the same transaction, every order it
// touches, whole. Each touched order's record is written again with its
// version, so that two writes that touch one order go one after the
// other. A write whose orders hold a job that cannot be an entry (its end
// before its start, say) is refused whole with a 422.
func (p *Surface) write(c *gin.Context, rec *calgate.Record, before, after map[string]any) error {
	pr := api.PrincipalOf(c)
	s := &state{p: p, ctx: c.Request.Context(), ws: pr.Workspace.ID, overlay: map[key]map[string]any{{rec.Type, rec.ID}: after}}
	if after != nil {
		data, err := json.Marshal(after)
		if err != nil {
			return fmt.Errorf("skyplanner: encode %s %s: %w", rec.Type, rec.ID, err)
		}
		rec.Body, rec.Links = data, linksOf(rec.Type, after)
	}
	touched := map[string]bool{}
	// The state before the write names the orders it leaves.
	old := &state{p: p, ctx: s.ctx, ws: s.ws}
	if before != nil {
		if err := old.orders(rec.Type, rec.ID, before, touched); err != nil {
			return err
		}
	}
	if err := s.orders(rec.Type, rec.ID, after, touched); err != nil {
		return err
	}
	ids := make([]string, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return numLess(ids[i], ids[j]) })
	docs := []any{}
	records := []*calgate.Record{rec}
	for _, id := range ids {
		doc, orderRec, ok, err := s.document(id)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		docs = append(docs, doc)
		if orderRec != nil {
			records = append(records, &calgate.Record{Source: Source, Type: typeOrder, ID: id, Body: orderRec.Body,
				Links: linksOf(typeOrder, doc), Version: orderRec.Version})
		}
	}
	model, err := json.Marshal(docs)
	if err != nil {
		return fmt.Errorf("skyplanner: encode orders: %w", err)
	}
	if len(docs) > 0 {
		if err := compat.Simulate(s.ctx, p.svc, &pr.Workspace, Template, api.ActorOf(c), model); err != nil {
			return err
		}
	}
	_, err = p.svc.ImportJSON(s.ctx, &pr.Workspace, Template, api.ActorOf(c), model, imports.ImportOptions{Records: records})
	return err
}
