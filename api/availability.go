package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

// AvailabilityRoutes answer when resources are free.
func (s *Server) AvailabilityRoutes(rs calgate.ResourceStore) []Route {
	h := resourceHandlers{s: s, rs: rs}
	return []Route{
		{Method: http.MethodGet, Path: "/v1/availability", Summary: "Busy intervals and free slots of resources", Tag: "availability", Response: "AvailabilityAnswer", Query: []string{"resources", "from", "to", "duration"}, Handler: h.availability},
		{Method: http.MethodPost, Path: "/v1/availability/query", Summary: "Slots in which all (or any N) of a list of resources are free at once", Tag: "availability", Request: "AvailabilityQuery", Response: "AvailabilitySlots", Handler: h.query},
	}
}

// unique drops repeated names, keeping the first of each.
func unique(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func rfc3339(t time.Time) string { return t.Format(time.RFC3339) }

// windowParams reads from and to in the workspace's time zone; with
// required both must be given.
func windowParams(c *gin.Context, v *calgate.ValidationError, tz string, required bool) (from, to time.Time) {
	loc, err := calgate.LoadZone(tz)
	if err != nil {
		loc = time.UTC
	}
	for _, name := range []string{"from", "to"} {
		raw := c.Query(name)
		if raw == "" {
			if required {
				v.Add(name, "is required")
			}
			continue
		}
		t, _, err := calgate.ParseTime(raw, loc)
		if err != nil {
			v.Add(name, "%v", err)
			continue
		}
		if name == "from" {
			from = t
		} else {
			to = t
		}
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		v.Add("to", "must be after from")
	}
	return from, to
}

// checkQuestion checks what every availability question shares.
func checkQuestion(v *calgate.ValidationError, names []string, from, to time.Time) {
	switch {
	case len(names) == 0:
		v.Add("resources", "is required: one or more resource names")
	case len(names) > calgate.MaxAvailabilityResources:
		v.Add("resources", "at most %d resources", calgate.MaxAvailabilityResources)
	}
	v.Lines("resources", names, calgate.MaxAvailabilityResources, 255)
	if !from.IsZero() && !to.IsZero() && to.Sub(from) > calgate.MaxAvailabilityWindow {
		v.Add("to", "the window is at most %d days", int(calgate.MaxAvailabilityWindow/(24*time.Hour)))
	}
}

// IntervalView is an interval in a resource's time zone.
type IntervalView struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// ResourceAvailabilityView is the wire form of one resource's
// availability (appendAvailability writes it).
type ResourceAvailabilityView struct {
	Resource string         `json:"resource"`
	ID       string         `json:"id"`
	Capacity int            `json:"capacity"`
	Timezone string         `json:"timezone"`
	Busy     []IntervalView `json:"busy"`
	Free     []IntervalView `json:"free"`
}

// answerChecked refuses the request when v holds errors and otherwise
// answers it (answer); false means the refusal or failure is written.
func (h resourceHandlers) answerChecked(c *gin.Context, v *calgate.ValidationError, ws *calgate.Workspace, names []string, from, to time.Time, d time.Duration) ([]calgate.ResourceAvailability, bool) {
	if err := v.Err(); err != nil {
		h.s.fail(c, err)
		return nil, false
	}
	list, err := h.answer(c.Request.Context(), ws, names, from, to, d)
	if err != nil {
		h.s.fail(c, err)
		return nil, false
	}
	return list, true
}

// answer works out the availability of the named resources; resources not
// in the catalogue have the defaults.
func (h resourceHandlers) answer(ctx context.Context, ws *calgate.Workspace, names []string, from, to time.Time, d time.Duration) ([]calgate.ResourceAvailability, error) {
	st, err := h.rs.AvailabilitySettings(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	known, err := h.rs.ResourcesByName(ctx, ws.ID, names)
	if err != nil {
		return nil, err
	}
	busy, err := h.rs.BusyTimes(ctx, ws.ID, names, from, to, st.CountTentative)
	if err != nil {
		return nil, err
	}
	out := make([]calgate.ResourceAvailability, len(names))
	for i, n := range names {
		r := known[n]
		if r == nil {
			r = calgate.NewResource(ws.ID, n, ws.Timezone)
			r.ID = ""
		}
		out[i] = calgate.Availability(r, busy[n], from, to, d)
	}
	return out, nil
}

func (h resourceHandlers) availability(c *gin.Context) {
	p := principal(c)
	v := &calgate.ValidationError{Malformed: true}
	from, to := windowParams(c, v, p.Workspace.Timezone, true)
	names := unique(listParam(c, "resources"))
	checkQuestion(v, names, from, to)
	var d time.Duration
	if raw := c.Query("duration"); raw != "" {
		var err error
		if d, err = calgate.ParseISODuration(raw); err != nil {
			v.Add("duration", "%v", err)
		}
	}
	list, ok := h.answerChecked(c, v, &p.Workspace, names, from, to, d)
	if !ok {
		return
	}
	// {"resources": [ResourceAvailabilityView, …]}, written by hand (see
	// appendAvailability).
	c.Data(http.StatusOK, "application/json; charset=utf-8", appendAvailability(make([]byte, 0, availabilitySize(list)), list))
}

// availabilityQuery is the body of POST /v1/availability/query.
type availabilityQuery struct {
	Resources []string `json:"resources"`
	From      string   `json:"from"`
	To        string   `json:"to"`
	Duration  string   `json:"duration"`
	Interval  string   `json:"interval"`
	MinFree   *int     `json:"min_free"`
	Timezone  string   `json:"timezone"`
}

// SlotView is a slot in the query's time zone.
type SlotView struct {
	Start     string   `json:"start"`
	End       string   `json:"end"`
	Resources []string `json:"resources"`
}

func (h resourceHandlers) query(c *gin.Context) {
	p := principal(c)
	var in availabilityQuery
	if err := bindJSON(c, MaxBodyBytes, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	v := &calgate.ValidationError{}
	tz := in.Timezone
	if tz == "" {
		tz = p.Workspace.Timezone
	}
	loc, err := calgate.LoadZone(tz)
	if err != nil {
		v.Add("timezone", "%v", err)
		loc = time.UTC
	}
	var from, to time.Time
	for _, f := range []struct {
		name string
		raw  string
		dst  *time.Time
	}{{"from", in.From, &from}, {"to", in.To, &to}} {
		if f.raw == "" {
			v.Add(f.name, "is required")
			continue
		}
		t, _, err := calgate.ParseTime(f.raw, loc)
		if err != nil {
			v.Add(f.name, "%v", err)
			continue
		}
		*f.dst = t
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		v.Add("to", "must be after from")
	}
	names := unique(in.Resources)
	checkQuestion(v, names, from, to)
	d, err := calgate.ParseISODuration(in.Duration)
	if err != nil || d <= 0 {
		v.Add("duration", "is required: an ISO 8601 duration such as PT2H")
	}
	step := 15 * time.Minute
	if in.Interval != "" {
		if step, err = calgate.ParseISODuration(in.Interval); err != nil || step < time.Minute {
			v.Add("interval", "must be an ISO 8601 duration of at least PT1M")
		}
	}
	n := len(names)
	if in.MinFree != nil {
		n = *in.MinFree
		if n < 1 || n > len(names) {
			v.Add("min_free", "must be from 1 to the number of resources (%d)", len(names))
		}
	}
	list, ok := h.answerChecked(c, v, &p.Workspace, names, from, to, d)
	if !ok {
		return
	}
	free := make(map[string][]calgate.Interval, len(list))
	for _, a := range list {
		free[a.Resource.Name] = a.Free
	}
	slots, ok := calgate.CommonSlots(names, free, from, to, d, step, n)
	if !ok {
		h.s.fail(c, calgate.Invalid("interval", "more than %s slots: narrow the window or lengthen the interval", strconv.Itoa(calgate.MaxSlots)))
		return
	}
	out := make([]SlotView, len(slots))
	for i, sl := range slots {
		out[i] = SlotView{Start: rfc3339(sl.Start.In(loc)), End: rfc3339(sl.End.In(loc)), Resources: sl.Resources}
	}
	c.JSON(http.StatusOK, gin.H{"slots": out})
}

// writeWithConflicts answers an entry with the double bookings its write
// made, as a "conflicts" member beside its fields.
func writeWithConflicts(c *gin.Context, status int, e *calgate.Entry, conflicts []calgate.Conflict) {
	body, err := json.Marshal(e)
	if err != nil || len(body) < 2 || body[len(body)-1] != '}' {
		c.JSON(status, e)
		return
	}
	list, err := json.Marshal(conflicts)
	if err != nil {
		c.JSON(status, e)
		return
	}
	out := append(body[:len(body)-1:len(body)-1], `,"conflicts":`...)
	out = append(append(out, list...), '}')
	c.Data(status, "application/json; charset=utf-8", out)
}
