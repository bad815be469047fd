package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/feeds"
)

// FeedService manages iCal feeds and serves them (feeds.Service
// implements it).
type FeedService interface {
	Create(ctx context.Context, ws *calgate.Workspace, in *feeds.Input) (feeds.View, error)
	Get(ctx context.Context, workspaceID, id string) (feeds.View, error)
	List(ctx context.Context, workspaceID, cursor string, limit int) ([]feeds.View, string, error)
	Update(ctx context.Context, workspaceID, id string, in *feeds.Input) (feeds.View, error)
	Delete(ctx context.Context, workspaceID, id string) error
	Rotate(ctx context.Context, workspaceID, id string) (feeds.View, error)
	Ready(ctx context.Context, token string) (*feeds.Ready, error)
	Refresh() time.Duration
	RenderEntry(ctx context.Context, ws *calgate.Workspace, kind calgate.Kind, id string) ([]byte, string, error)
}

var _ FeedService = (*feeds.Service)(nil)

// FeedsRoutes are the routes of iCal feeds: their management under
// /v1/feeds and the public, token-addressed /feeds/<token>.ics.
func (s *Server) FeedsRoutes(svc FeedService) []Route {
	h := feedHandlers{s: s, svc: svc}
	return []Route{
		{Method: http.MethodPost, Path: "/v1/feeds", Summary: "Create an iCal feed (the reply carries its secret URL)", Tag: "feeds", Request: "FeedRequest", Response: "Feed", Status: http.StatusCreated, Handler: h.create},
		{Method: http.MethodGet, Path: "/v1/feeds", Summary: "List feeds", Tag: "feeds", Response: "List_Feed", Query: []string{"cursor", "limit"}, Handler: h.list},
		{Method: http.MethodGet, Path: "/v1/feeds/:id", Summary: "Get one feed with its URL", Tag: "feeds", Response: "Feed", Handler: h.get},
		{Method: http.MethodPatch, Path: "/v1/feeds/:id", Summary: "Change a feed's name, filter or options", Tag: "feeds", Request: "FeedRequest", Response: "Feed", Handler: h.patch},
		{Method: http.MethodDelete, Path: "/v1/feeds/:id", Summary: "Delete a feed; its URL answers 404 at once", Tag: "feeds", Status: http.StatusNoContent, Handler: h.delete},
		{Method: http.MethodPost, Path: "/v1/feeds/:id/rotate", Summary: "Issue a new URL; the old one answers 404 at once", Tag: "feeds", Response: "Feed", Handler: h.rotate},
		{Method: http.MethodGet, Path: "/feeds/:file", Summary: "The feed as iCalendar (subscribe to <token>.ics)", Tag: "feeds", Public: true, Handler: h.serve},
		{Method: http.MethodHead, Path: "/feeds/:file", Summary: "The feed's headers", Tag: "feeds", Public: true, Handler: h.serve},
	}
}

// EntryICSHandler returns the Deps.EntryICS hook: one entry as an
// iCalendar download.
func (s *Server) EntryICSHandler(svc FeedService) func(c *gin.Context, k calgate.Kind, id string) {
	return func(c *gin.Context, k calgate.Kind, id string) {
		p := principal(c)
		body, name, err := svc.RenderEntry(c.Request.Context(), &p.Workspace, k, id)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
		c.Data(http.StatusOK, feeds.ContentType, body)
	}
}

type feedHandlers struct {
	s   *Server
	svc FeedService
}

func (h feedHandlers) create(c *gin.Context) {
	p := principal(c)
	var in feeds.Input
	if err := bindJSON(c, MaxBodyBytes, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	v, err := h.svc.Create(c.Request.Context(), &p.Workspace, &in)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.Header("Location", "/v1/feeds/"+v.ID)
	c.JSON(http.StatusCreated, v)
}

func (h feedHandlers) list(c *gin.Context) {
	cursor, limit, err := pageParams(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	items, next, err := h.svc.List(c.Request.Context(), principal(c).Workspace.ID, cursor, limit)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	if items == nil {
		items = []feeds.View{}
	}
	c.JSON(http.StatusOK, listReply[feeds.View]{Items: items, NextCursor: next})
}

func (h feedHandlers) get(c *gin.Context) {
	v, err := h.svc.Get(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func (h feedHandlers) patch(c *gin.Context) {
	var in feeds.Input
	if err := bindJSON(c, MaxBodyBytes, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	v, err := h.svc.Update(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"), &in)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func (h feedHandlers) delete(c *gin.Context) {
	if err := h.svc.Delete(c.Request.Context(), principal(c).Workspace.ID, c.Param("id")); err != nil {
		h.s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h feedHandlers) rotate(c *gin.Context) {
	v, err := h.svc.Rotate(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

// serve answers a subscriber. Any token that opens no feed gets the same
// 404, whatever the reason.
func (h feedHandlers) serve(c *gin.Context) {
	token, ok := strings.CutSuffix(c.Param("file"), ".ics")
	if !ok {
		writeProblem(c, http.StatusNotFound, "no such feed", nil)
		return
	}
	rc, err := h.svc.Ready(c.Request.Context(), token)
	if errors.Is(err, calgate.ErrNotFound) {
		writeProblem(c, http.StatusNotFound, "no such feed", nil)
		return
	}
	if err != nil {
		h.s.fail(c, err)
		return
	}
	feeds.Serve(c.Writer, c.Request, rc, h.svc.Refresh())
}

// FeedSchemas are the OpenAPI schemas of the feed routes.
func FeedSchemas() map[string]any {
	docs := map[string]string{
		"name":                  "display name (X-WR-CALNAME)",
		"resources":             "match resource, workstage or cost_centre",
		"past_days":             "how far back the feed reaches (default 90); the future is unlimited",
		"timezone":              "IANA time zone of the feed; default the workspace's",
		"include_cancelled":     "keep cancelled entries as STATUS:CANCELLED (default true)",
		"availability":          "publish busy time only: a VFREEBUSY and events titled Busy, without any detail (default false)",
		"title_templates":       "per kind (reservation, job, production_window): a template such as \"{workstage}: {order} / {product}\"",
		"description_templates": "per kind, as title_templates",
		"url":                   "the secret subscription URL",
		"webcal_url":            "the same URL with the webcal scheme",
	}
	request := describe(schemaOf[feeds.Input](), docs)
	request["additionalProperties"] = false
	pastDays := request["properties"].(obj)["past_days"].(obj)
	pastDays["minimum"], pastDays["maximum"] = 0, feeds.MaxPastDays
	return map[string]any{
		"FeedRequest": request,
		"Feed":        describe(schemaOf[feeds.View](), docs),
		"List_Feed":   listOf("Feed"),
	}
}
