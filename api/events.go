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

// EventView is the wire form of an event in the change feed, in webhook
// payloads and in samples.
type EventView struct {
	ID        string            `json:"id"`
	Position  int64             `json:"position"`
	Type      calgate.EventType `json:"type"`
	CreatedAt time.Time         `json:"created_at"`
	Actor     string            `json:"actor,omitempty"`
	Data      json.RawMessage   `json:"data"`
}

// EventData is the data of an entry event: the entry after the change and
// the field diff.
type EventData struct {
	Kind  calgate.Kind      `json:"kind"`
	Entry *calgate.Entry    `json:"entry"`
	Diff  calgate.FieldDiff `json:"diff"`
}

// ViewEvent renders an event for the API.
func ViewEvent(ev *calgate.Event) EventView {
	v := EventView{ID: "evt_" + strconv.FormatInt(ev.ID, 10), Position: ev.Position, Type: ev.Type, CreatedAt: ev.CreatedAt.UTC(), Actor: ev.Actor}
	if ev.Entry != nil {
		diff := ev.Diff
		if diff == nil {
			diff = calgate.FieldDiff{}
		}
		v.Data, _ = json.Marshal(EventData{Kind: ev.Kind, Entry: ev.Entry, Diff: diff})
	} else if len(ev.Data) > 0 {
		v.Data = ev.Data
	} else {
		v.Data = json.RawMessage("{}")
	}
	return v
}

func (s *Server) listEvents(c *gin.Context) {
	p := principal(c)
	v := &calgate.ValidationError{Status: http.StatusBadRequest}
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
	limit, err := limitParam(c)
	if err != nil {
		v.Add("limit", "%v", err)
	}
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
	if err != nil {
		s.fail(c, err)
		return
	}
	items := make([]EventView, 0, len(evs))
	for _, ev := range evs {
		items = append(items, ViewEvent(ev))
	}
	next := ""
	if len(evs) > 0 {
		next = strconv.FormatInt(evs[len(evs)-1].Position, 10)
	} else if !f.Desc {
		next = strconv.FormatInt(f.After, 10)
	}
	c.JSON(http.StatusOK, listReply[EventView]{Items: items, NextCursor: next})
}
