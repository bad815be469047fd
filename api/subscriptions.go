package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/sync/subscriptions"
)

// subscriptionRequest is the body of creating or changing an iCal
// subscription; absent fields take defaults (create) or stay (PATCH).
type subscriptionRequest struct {
	Name     *string       `json:"name"`
	URL      *string       `json:"url"`
	Kind     *calgate.Kind `json:"kind"`
	Resource *string       `json:"resource"`
	// PollInterval is a Go duration string ("15m") or a number of seconds.
	PollInterval json.RawMessage `json:"poll_interval"`
}

func (r *subscriptionRequest) input() (subscriptions.Input, error) {
	in := subscriptions.Input{Name: r.Name, URL: r.URL, Kind: r.Kind, Resource: r.Resource}
	if raw := bytes.TrimSpace(r.PollInterval); len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		d, err := subscriptions.ParsePollInterval(raw)
		if err != nil {
			return in, err
		}
		in.PollInterval = &d
	}
	return in, nil
}

// SubscriptionView is the wire form of an iCal subscription.
type SubscriptionView struct {
	*calgate.Subscription
	// PollInterval is the interval as a Go duration ("15m0s").
	PollInterval        string `json:"poll_interval"`
	PollIntervalSeconds int64  `json:"poll_interval_seconds"`
	// Source is the source of the subscription's entries: filter with
	// ?source=ical:<id>.
	Source string `json:"source"`
}

// ViewSubscription returns the wire form of sub.
func ViewSubscription(sub *calgate.Subscription) SubscriptionView {
	return SubscriptionView{Subscription: sub, PollInterval: sub.PollInterval.String(),
		PollIntervalSeconds: int64(sub.PollInterval.Seconds()), Source: sub.Source()}
}

// SubscriptionRoutes are the routes of iCal subscriptions.
func (s *Server) SubscriptionRoutes(svc *subscriptions.Service) []Route {
	const base = "/v1/ical-subscriptions"
	const tag = "ical-subscriptions"
	return []Route{
		{Method: http.MethodPost, Path: base, Summary: "Subscribe to an iCal feed; the first poll runs in the request", Tag: tag,
			Request: "SubscriptionRequest", Response: "Subscription", Status: http.StatusCreated, Handler: s.createSubscription(svc)},
		{Method: http.MethodGet, Path: base, Summary: "List iCal subscriptions", Tag: tag, Response: "List_Subscription",
			Query: []string{"cursor", "limit"}, Handler: s.listSubscriptions(svc)},
		{Method: http.MethodGet, Path: base + "/:id", Summary: "One subscription with the outcome of its last poll", Tag: tag,
			Response: "Subscription", Handler: s.getSubscription(svc)},
		{Method: http.MethodPatch, Path: base + "/:id", Summary: "Change a subscription; a new url, kind or resource polls at once", Tag: tag,
			Request: "SubscriptionRequest", Response: "Subscription", Handler: s.patchSubscription(svc)},
		{Method: http.MethodDelete, Path: base + "/:id", Summary: "Unsubscribe and archive the entries the feed wrote", Tag: tag,
			Status: http.StatusNoContent, Handler: s.deleteSubscription(svc)},
		{Method: http.MethodPost, Path: base + "/:id/poll", Summary: "Poll the feed now", Tag: tag,
			Response: "Subscription", Handler: s.pollSubscription(svc)},
	}
}

func (s *Server) createSubscription(svc *subscriptions.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req subscriptionRequest
		if err := bindJSON(c, MaxBodyBytes, &req); err != nil {
			s.fail(c, err)
			return
		}
		in, err := req.input()
		if err != nil {
			s.fail(c, err)
			return
		}
		sub, err := svc.Create(c.Request.Context(), principal(c).Workspace.ID, actor(c), in)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, ViewSubscription(sub))
	}
}

func (s *Server) listSubscriptions(svc *subscriptions.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		cursor, limit, err := pageParams(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		subs, next, err := svc.List(c.Request.Context(), principal(c).Workspace.ID, cursor, limit)
		if err != nil {
			s.fail(c, err)
			return
		}
		views := make([]SubscriptionView, len(subs))
		for i, sub := range subs {
			views[i] = ViewSubscription(sub)
		}
		c.JSON(http.StatusOK, listReply[SubscriptionView]{Items: views, NextCursor: next})
	}
}

func (s *Server) getSubscription(svc *subscriptions.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		sub, err := svc.Get(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, ViewSubscription(sub))
	}
}

func (s *Server) patchSubscription(svc *subscriptions.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req subscriptionRequest
		if err := bindJSON(c, MaxBodyBytes, &req); err != nil {
			s.fail(c, err)
			return
		}
		in, err := req.input()
		if err != nil {
			s.fail(c, err)
			return
		}
		sub, err := svc.Update(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"), actor(c), in)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, ViewSubscription(sub))
	}
}

func (s *Server) deleteSubscription(svc *subscriptions.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := svc.Delete(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"), actor(c)); err != nil {
			s.fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

func (s *Server) pollSubscription(svc *subscriptions.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		sub, err := svc.PollNow(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"), actor(c))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, ViewSubscription(sub))
	}
}

// SubscriptionSchemas are the OpenAPI schemas of the subscription routes.
func SubscriptionSchemas() map[string]any {
	count := obj{"type": "integer"}
	counts := object(obj{"not_modified": obj{"type": "boolean", "description": "the server answered 304 Not Modified"},
		"events": obj{"type": "integer", "description": "occurrences in the window"}, "created": count, "updated": count,
		"unchanged": count, "archived": count, "failed": count,
		"transparent": obj{"type": "integer", "description": "left out: TRANSP:TRANSPARENT events do not block time"}})
	sub := object(obj{
		"id": str(""), "workspace_id": str(""), "name": str(""), "url": str(""),
		"kind":                  enum("reservation", "job", "production_window"),
		"resource":              str("the resource the feed's events block"),
		"poll_interval":         str("Go duration, e.g. 15m0s"),
		"poll_interval_seconds": obj{"type": "integer"},
		"source":                str("source of the entries: ical:<id>"),
		"state":                 enum(calgate.SubscriptionPending, calgate.SubscriptionOK, calgate.SubscriptionError),
		"last_error":            str("why the last poll failed; empty after a success"),
		"etag":                  str("ETag of the last good answer, sent as If-None-Match"),
		"last_modified":         str("Last-Modified of the last good answer, sent as If-Modified-Since"),
		"last_polled_at":        nullable(strFmt("date-time")),
		"last_success_at":       nullable(strFmt("date-time")),
		"last_result":           ref("PollCounts"),
		"next_poll_at":          strFmt("date-time"),
		"created_at":            strFmt("date-time"),
		"updated_at":            strFmt("date-time"),
	})
	req := obj{"type": "object", "additionalProperties": false, "properties": obj{
		"url":           str("http(s) or webcal URL of the iCal feed; required on create"),
		"kind":          obj{"type": "string", "enum": []string{"reservation", "job", "production_window"}, "default": "reservation"},
		"resource":      str("required on create: the resource (workstage, cost centre) the events block"),
		"poll_interval": obj{"oneOf": []obj{{"type": "string"}, {"type": "number"}}, "description": "Go duration (\"15m\") or seconds; at least 5m, default 15m"},
		"name":          str("default: the URL's host"),
	}}
	return map[string]any{"Subscription": sub, "SubscriptionRequest": req, "PollCounts": counts, "List_Subscription": listOf("Subscription")}
}
