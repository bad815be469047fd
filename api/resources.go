package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

// ResourceRoutes are the routes of the resource catalogue, the
// availability settings and the current double bookings.
func (s *Server) ResourceRoutes(rs calgate.ResourceStore) []Route {
	h := resourceHandlers{s: s, rs: rs}
	return []Route{
		{Method: http.MethodPost, Path: "/v1/resources", Summary: "Add a resource (capacity, time zone, working hours, closed dates, conflict policy)", Tag: "availability", Request: "ResourceRequest", Response: "Resource", Status: http.StatusCreated, Handler: h.create},
		{Method: http.MethodGet, Path: "/v1/resources", Summary: "List resources (entries create theirs on first use)", Tag: "availability", Response: "List_Resource", Query: []string{"cursor", "limit"}, Handler: h.list},
		{Method: http.MethodGet, Path: "/v1/resources/:id", Summary: "Get one resource", Tag: "availability", Response: "Resource", Handler: h.get},
		{Method: http.MethodPatch, Path: "/v1/resources/:id", Summary: "Change a resource; a new name is carried into its entries", Tag: "availability", Request: "ResourceRequest", Response: "Resource", Handler: h.patch},
		{Method: http.MethodDelete, Path: "/v1/resources/:id", Summary: "Remove a resource from the catalogue (its entries stay)", Tag: "availability", Status: http.StatusNoContent, Handler: h.delete},
		{Method: http.MethodGet, Path: "/v1/availability/settings", Summary: "The workspace's double-booking settings", Tag: "availability", Response: "AvailabilitySettings", Handler: h.getSettings},
		{Method: http.MethodPut, Path: "/v1/availability/settings", Summary: "Set the conflict policy and whether tentative entries count", Tag: "availability", Request: "AvailabilitySettings", Response: "AvailabilitySettings", Handler: h.putSettings},
		s.ResourceImportRoute(rs),
		{Method: http.MethodGet, Path: "/v1/conflicts", Summary: "The current double bookings", Tag: "availability", Response: "List_ConflictPair", Query: []string{"resource", "from", "to", "cursor", "limit"}, Handler: h.conflicts},
	}
}

type resourceHandlers struct {
	s  *Server
	rs calgate.ResourceStore
}

// resourceRequest is the body of POST and PATCH /v1/resources; a field
// left out keeps its value (its default on creation).
type resourceRequest struct {
	Name           *string         `json:"name"`
	Kind           *string         `json:"kind"`
	Capacity       *int            `json:"capacity"`
	Timezone       *string         `json:"timezone"`
	WorkingHours   json.RawMessage `json:"working_hours"`
	ClosedDates    *[]string       `json:"closed_dates"`
	ConflictPolicy *string         `json:"conflict_policy"`
}

// apply sets the fields the request names on r.
func (in *resourceRequest) apply(r *calgate.Resource) error {
	if in.Name != nil {
		r.Name = *in.Name
	}
	if in.Kind != nil {
		r.Kind = *in.Kind
	}
	if in.Capacity != nil {
		r.Capacity = *in.Capacity
	}
	if in.Timezone != nil {
		r.Timezone = *in.Timezone
	}
	if in.ClosedDates != nil {
		r.ClosedDates = append([]string{}, *in.ClosedDates...)
	}
	if in.ConflictPolicy != nil {
		r.ConflictPolicy = *in.ConflictPolicy
	}
	if len(in.WorkingHours) > 0 {
		var wh calgate.WorkingHours
		if err := json.Unmarshal(in.WorkingHours, &wh); err != nil {
			return calgate.Invalid("working_hours", "must be an object of weekdays to lists of {start, end}, or null")
		}
		r.WorkingHours = wh
	}
	return r.Validate()
}

func (h resourceHandlers) create(c *gin.Context) {
	p := principal(c)
	var in resourceRequest
	if err := bindJSON(c, MaxBodyBytes, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	r := calgate.NewResource(p.Workspace.ID, "", p.Workspace.Timezone)
	if err := in.apply(r); err != nil {
		h.s.fail(c, err)
		return
	}
	if err := h.rs.CreateResource(c.Request.Context(), r); err != nil {
		h.s.fail(c, err)
		return
	}
	c.Header("Location", "/v1/resources/"+r.ID)
	c.JSON(http.StatusCreated, r)
}

func (h resourceHandlers) list(c *gin.Context) {
	cursor, limit, err := pageParams(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	items, next, err := h.rs.Resources(c.Request.Context(), principal(c).Workspace.ID, cursor, limit)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	if items == nil {
		items = []*calgate.Resource{}
	}
	c.JSON(http.StatusOK, listReply[*calgate.Resource]{Items: items, NextCursor: next})
}

func (h resourceHandlers) get(c *gin.Context) {
	r, err := h.rs.Resource(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

func (h resourceHandlers) patch(c *gin.Context) {
	p := principal(c)
	var in resourceRequest
	if err := bindJSON(c, MaxBodyBytes, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	r, err := h.rs.Resource(c.Request.Context(), p.Workspace.ID, c.Param("id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	if err := in.apply(r); err != nil {
		h.s.fail(c, err)
		return
	}
	if err := h.rs.UpdateResource(c.Request.Context(), r, actor(c)); err != nil {
		h.s.fail(c, err)
		return
	}
	h.s.notify()
	c.JSON(http.StatusOK, r)
}

func (h resourceHandlers) delete(c *gin.Context) {
	if err := h.rs.DeleteResource(c.Request.Context(), principal(c).Workspace.ID, c.Param("id")); err != nil {
		h.s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h resourceHandlers) getSettings(c *gin.Context) {
	st, err := h.rs.AvailabilitySettings(c.Request.Context(), principal(c).Workspace.ID)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

// settingsRequest is the body of PUT /v1/availability/settings; a field
// left out keeps its value.
type settingsRequest struct {
	ConflictPolicy *string `json:"conflict_policy"`
	CountTentative *bool   `json:"count_tentative"`
}

func (h resourceHandlers) putSettings(c *gin.Context) {
	p := principal(c)
	var in settingsRequest
	if err := bindJSON(c, MaxBodyBytes, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	st, err := h.rs.AvailabilitySettings(c.Request.Context(), p.Workspace.ID)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	if in.ConflictPolicy != nil {
		if !calgate.ValidPolicy(*in.ConflictPolicy) {
			h.s.fail(c, calgate.Invalid("conflict_policy", "must be %q or %q", calgate.PolicyWarn, calgate.PolicyReject))
			return
		}
		st.ConflictPolicy = *in.ConflictPolicy
	}
	if in.CountTentative != nil {
		st.CountTentative = *in.CountTentative
	}
	if err := h.rs.SetAvailabilitySettings(c.Request.Context(), p.Workspace.ID, st); err != nil {
		h.s.fail(c, err)
		return
	}
	h.s.notify()
	c.JSON(http.StatusOK, st)
}

// ConflictView is the wire form of a current double booking: the two
// entries and their overlap.
type ConflictView struct {
	Resource string   `json:"resource"`
	Entries  []string `json:"entries"`
	Start    string   `json:"start"`
	End      string   `json:"end"`
}

func (h resourceHandlers) conflicts(c *gin.Context) {
	p := principal(c)
	f := calgate.ConflictFilter{Resources: listParam(c, "resource")}
	v := &calgate.ValidationError{Malformed: true}
	f.From, f.To = windowParams(c, v, p.Workspace.Timezone, false)
	if raw := c.Query("cursor"); raw != "" {
		a, b, ok := strings.Cut(raw, ".")
		if !ok || !calgate.ValidID(a) || !calgate.ValidID(b) {
			v.Add("cursor", "%s", errCursor)
		}
		f.Cursor = raw
	}
	limit := limitInto(c, v)
	f.Limit = limit
	if err := v.Err(); err != nil {
		h.s.fail(c, err)
		return
	}
	list, next, err := h.rs.Conflicts(c.Request.Context(), p.Workspace.ID, f)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	items := make([]ConflictView, len(list))
	for i, cp := range list {
		items[i] = ConflictView{Resource: cp.Resource, Entries: []string{cp.A, cp.B}, Start: rfc3339(cp.Start), End: rfc3339(cp.End)}
	}
	c.JSON(http.StatusOK, listReply[ConflictView]{Items: items, NextCursor: next})
}

// ResourceSchemas are the OpenAPI schemas of the resource and availability
// routes.
func ResourceSchemas() obj {
	rangeSchema := object(obj{"start": str("HH:MM"), "end": str("HH:MM; 24:00 for midnight")})
	resourceProps := obj{
		"name":            str("the value of the entries' resource, workstage or cost_centre"),
		"kind":            str("free text: room, machine, person, …"),
		"capacity":        obj{"type": "integer", "minimum": 1, "maximum": calgate.MaxCapacity, "description": "entries it carries at once; default 1"},
		"timezone":        str("IANA time zone of its working hours; default the workspace's"),
		"working_hours":   nullable(obj{"type": "object", "description": "weekday (mon … sun) to open ranges; null: always open", "additionalProperties": arrayOf(rangeSchema)}),
		"closed_dates":    arrayOf(strFmt("date")),
		"conflict_policy": enum("", calgate.PolicyWarn, calgate.PolicyReject),
	}
	res := obj{"id": obj{"type": "string", "readOnly": true}, "created_at": strFmt("date-time"), "updated_at": strFmt("date-time")}
	for k, v := range resourceProps {
		res[k] = v
	}
	interval := object(obj{"start": strFmt("date-time"), "end": strFmt("date-time")})
	conflict := object(obj{"entry_id": str("the other entry"), "kind": str(""), "external_id": str(""), "resource": str(""),
		"start": strFmt("date-time"), "end": strFmt("date-time")})
	return obj{
		"ResourceRequest":      obj{"type": "object", "properties": resourceProps, "additionalProperties": false},
		"Resource":             object(res),
		"List_Resource":        listOf("Resource"),
		"AvailabilitySettings": object(obj{"conflict_policy": enum(calgate.PolicyWarn, calgate.PolicyReject), "count_tentative": obj{"type": "boolean"}}),
		"ConflictPair":         object(obj{"resource": str(""), "entries": arrayOf(str("entry id")), "start": strFmt("date-time"), "end": strFmt("date-time")}),
		"List_ConflictPair":    listOf("ConflictPair"),
		"Conflict":             conflict,
		"Interval":             interval,
		"AvailabilityAnswer": object(obj{"resources": arrayOf(object(obj{"resource": str(""), "id": str(""), "capacity": obj{"type": "integer"}, "timezone": str(""),
			"busy": arrayOf(ref("Interval")), "free": arrayOf(ref("Interval"))}))}),
		"AvailabilityQuery": object(obj{"resources": arrayOf(str("resource name")), "from": strFmt("date-time"), "to": strFmt("date-time"),
			"duration": str("ISO 8601, e.g. PT2H"), "interval": str("ISO 8601 step between slot starts; default PT15M"),
			"min_free": obj{"type": "integer", "description": "how many of the resources must be free; default all"}}),
		"AvailabilitySlots": object(obj{"slots": arrayOf(object(obj{"start": strFmt("date-time"), "end": strFmt("date-time"), "resources": arrayOf(str(""))}))}),
	}
}
