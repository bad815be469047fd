package api

import (
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

func (s *Server) listEvents(c *gin.Context) {
	p := principal(c)
	v := &calgate.ValidationError{Malformed: true}
	f := calgate.EventFilter{}
	if raw := c.Query("after"); raw != "" {
		n, err := strconv.ParseInt(strings.TrimPrefix(raw, "evt_"), 10, 64)
		if err != nil || n < 0 {
			v.Add("after", "must be a cursor from next_cursor")
		}
		f.After = n
	}
	for _, t := range listParam(c, "types") {
		if strings.HasSuffix(t, ".*") {
			prefix := strings.TrimSuffix(t, "*")
			for _, known := range calgate.AllEventTypes {
				if strings.HasPrefix(string(known), prefix) {
					f.Types = append(f.Types, known)
				}
			}
			continue
		}
		if !calgate.ValidEventType(calgate.EventType(t)) {
			v.Add("types", "%q is not an event type", t)
		}
		f.Types = append(f.Types, calgate.EventType(t))
	}
	switch c.DefaultQuery("order", "asc") {
	case "asc":
	case "desc":
		f.Desc = true
	default:
		v.Add("order", "must be asc or desc")
	}
	limit := limitInto(c, v)
	f.Limit = limit
	if err := v.Err(); err != nil {
		s.fail(c, err)
		return
	}
	// Place what has committed so the reader sees its own writes at once.
	if _, err := s.Store.Sequence(c.Request.Context()); err != nil {
		s.fail(c, err)
		return
	}
	evs, err := s.Store.Events(c.Request.Context(), p.Workspace.ID, f)
	next := ""
	if len(evs) > 0 {
		next = strconv.FormatInt(evs[len(evs)-1].Position, 10)
	} else if !f.Desc {
		next = strconv.FormatInt(f.After, 10)
	}
	replyPage(s, c, evs, next, err, (*calgate.Event).Wire)
}
