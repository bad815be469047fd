package api

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

// CalDAVService manages CalDAV targets (sync/caldavsync implements it).
type CalDAVService interface {
	Create(ctx context.Context, workspaceID string, in calgate.CalDAVTargetInput) (*calgate.CalDAVTarget, []calgate.CalDAVCalendar, error)
	Update(ctx context.Context, workspaceID, id string, in calgate.CalDAVTargetInput) (*calgate.CalDAVTarget, []calgate.CalDAVCalendar, error)
	Target(ctx context.Context, workspaceID, id string) (*calgate.CalDAVTarget, calgate.CalDAVBacklog, error)
	Targets(ctx context.Context, workspaceID string) ([]*calgate.CalDAVTarget, error)
	Delete(ctx context.Context, workspaceID, id string) error
	Resync(ctx context.Context, workspaceID, id string) (*calgate.ReconcileResult, error)
}

// caldavTargetReply is a target as the API shows it: never the password.
type caldavTargetReply struct {
	ID            string                   `json:"id"`
	URL           string                   `json:"url"`
	Username      string                   `json:"username"`
	Calendar      calgate.CalDAVCalendar   `json:"calendar" doc:"the calendar entries are pushed to"`
	CalendarURL   string                   `json:"calendar_url"`
	Calendars     []calgate.CalDAVCalendar `json:"calendars,omitempty"`
	Kinds         []calgate.Kind           `json:"kinds"`
	Resources     []string                 `json:"resources"`
	Statuses      []calgate.Status         `json:"statuses"`
	Sources       []string                 `json:"sources"`
	OnArchive     string                   `json:"on_archive"`
	State         string                   `json:"state"`
	LastSuccessAt *time.Time               `json:"last_success_at"`
	LastError     string                   `json:"last_error"`
	Pending       *int                     `json:"pending,omitempty" doc:"changes not yet on the server"`
	LagSeconds    *float64                 `json:"lag_seconds,omitempty" doc:"age of the oldest pending change"`
	Conflicts     int64                    `json:"conflicts" doc:"edits made on the server that the gateway overwrote"`
	CreatedAt     time.Time                `json:"created_at"`
	UpdatedAt     time.Time                `json:"updated_at"`
}

func caldavReply(t *calgate.CalDAVTarget, cals []calgate.CalDAVCalendar, b *calgate.CalDAVBacklog, now time.Time) caldavTargetReply {
	r := caldavTargetReply{
		ID: t.ID, URL: t.URL, Username: t.Username, CalendarURL: t.CalendarURL,
		Calendar:  calgate.CalDAVCalendar{Path: calendarPath(t.CalendarURL), Name: t.CalendarName, SupportsEvents: true},
		Calendars: cals, Kinds: nonNil(t.Filter.Kinds), Resources: nonNil(t.Filter.Resources),
		Statuses: nonNil(t.Filter.Statuses), Sources: nonNil(t.Filter.Sources), OnArchive: t.OnArchive,
		State: t.State, LastSuccessAt: t.LastSuccessAt, LastError: t.LastError, Conflicts: t.Conflicts,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
	if b != nil {
		pending := b.Pending
		lag := 0.0
		if b.Oldest != nil {
			lag = max(0, now.Sub(*b.Oldest).Seconds())
		}
		r.Pending, r.LagSeconds = &pending, &lag
	}
	return r
}

func calendarPath(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Path
	}
	return raw
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// CalDAVRoutes returns the routes of CalDAV targets.
func (s *Server) CalDAVRoutes(svc CalDAVService) []Route {
	const base = "/v1/caldav-targets"
	return []Route{
		{Method: http.MethodPost, Path: base, Summary: "Connect a CalDAV calendar and push entries to it", Tag: "caldav", Request: "CalDAVTargetRequest", Response: "CalDAVTarget", Status: http.StatusCreated, Handler: s.createCalDAVTarget(svc)},
		{Method: http.MethodGet, Path: base, Summary: "List CalDAV targets", Tag: "caldav", Response: "List_CalDAVTarget", Handler: s.listCalDAVTargets(svc)},
		{Method: http.MethodGet, Path: base + "/:id", Summary: "A CalDAV target with its state, backlog, lag and conflicts", Tag: "caldav", Response: "CalDAVTarget", Handler: s.getCalDAVTarget(svc)},
		{Method: http.MethodPatch, Path: base + "/:id", Summary: "Change a CalDAV target (new credentials reconnect; paused pauses)", Tag: "caldav", Request: "CalDAVTargetRequest", Response: "CalDAVTarget", Handler: s.patchCalDAVTarget(svc)},
		{Method: http.MethodDelete, Path: base + "/:id", Summary: "Remove a CalDAV target (its objects stay on the server)", Tag: "caldav", Status: http.StatusNoContent, Handler: s.deleteCalDAVTarget(svc)},
		{Method: http.MethodPost, Path: base + "/:id/resync", Summary: "Reconcile the calendar now", Tag: "caldav", Response: "ReconcileResult", Handler: s.resyncCalDAVTarget(svc)},
	}
}

// CalDAVSchemas are the OpenAPI schemas of the CalDAV routes.
func CalDAVSchemas() map[string]any {
	strList := arrayOf(obj{"type": "string"})
	calendar := schemaOf[calgate.CalDAVCalendar]()
	target := schemaOf[caldavTargetReply]()
	props := target["properties"].(obj)
	props["calendar"], props["calendars"] = ref("CalDAVCalendar"), arrayOf(ref("CalDAVCalendar"))
	props["on_archive"] = enum(calgate.OnArchiveDelete, calgate.OnArchiveCancel)
	props["state"] = enum(calgate.CalDAVStateOK, calgate.CalDAVStateError, calgate.CalDAVStatePaused)
	return map[string]any{
		"CalDAVTargetRequest": object(obj{
			"url":        str("server root, principal or calendar URL"),
			"username":   str(""),
			"password":   obj{"type": "string", "writeOnly": true, "description": "stored encrypted, never returned"},
			"calendar":   str("calendar path or display name; default the URL's own calendar or the first that takes events"),
			"kinds":      strList,
			"resources":  strList,
			"statuses":   strList,
			"sources":    strList,
			"on_archive": enum(calgate.OnArchiveDelete, calgate.OnArchiveCancel),
			"paused":     obj{"type": "boolean", "description": "PATCH only"},
		}),
		"CalDAVCalendar":    calendar,
		"CalDAVTarget":      target,
		"List_CalDAVTarget": listOf("CalDAVTarget"),
		"ReconcileResult":   schemaOf[calgate.ReconcileResult](),
	}
}

func (s *Server) createCalDAVTarget(svc CalDAVService) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in calgate.CalDAVTargetInput
		if err := bindJSON(c, MaxBodyBytes, &in); err != nil {
			s.fail(c, err)
			return
		}
		t, cals, err := svc.Create(c.Request.Context(), principal(c).Workspace.ID, in)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, caldavReply(t, cals, &calgate.CalDAVBacklog{}, time.Now()))
	}
}

func (s *Server) listCalDAVTargets(svc CalDAVService) gin.HandlerFunc {
	return func(c *gin.Context) {
		ts, err := svc.Targets(c.Request.Context(), principal(c).Workspace.ID)
		now := time.Now()
		replyPage(s, c, ts, "", err, func(t *calgate.CalDAVTarget) caldavTargetReply { return caldavReply(t, nil, nil, now) })
	}
}

func (s *Server) getCalDAVTarget(svc CalDAVService) gin.HandlerFunc {
	return func(c *gin.Context) {
		t, b, err := svc.Target(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, caldavReply(t, nil, &b, time.Now()))
	}
}

func (s *Server) patchCalDAVTarget(svc CalDAVService) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in calgate.CalDAVTargetInput
		if err := bindJSON(c, MaxBodyBytes, &in); err != nil {
			s.fail(c, err)
			return
		}
		ws := principal(c).Workspace.ID
		t, cals, err := svc.Update(c.Request.Context(), ws, c.Param("id"), in)
		if err != nil {
			s.fail(c, err)
			return
		}
		_, b, err := svc.Target(c.Request.Context(), ws, t.ID)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, caldavReply(t, cals, &b, time.Now()))
	}
}

func (s *Server) deleteCalDAVTarget(svc CalDAVService) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := svc.Delete(c.Request.Context(), principal(c).Workspace.ID, c.Param("id")); err != nil {
			s.fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

func (s *Server) resyncCalDAVTarget(svc CalDAVService) gin.HandlerFunc {
	return func(c *gin.Context) {
		res, err := svc.Resync(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, res)
	}
}
