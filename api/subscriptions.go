package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/sync/subscriptions"
)

// SubscriptionService manages iCal subscriptions (subscriptions.Service
// implements it).
type SubscriptionService interface {
	Create(ctx context.Context, workspaceID, actor string, in subscriptions.Input) (*calgate.Subscription, error)
	Get(ctx context.Context, workspaceID, id string) (*calgate.Subscription, error)
	List(ctx context.Context, workspaceID, cursor string, limit int) ([]*calgate.Subscription, string, error)
	Update(ctx context.Context, workspaceID, id, actor string, in subscriptions.Input) (*calgate.Subscription, error)
	Delete(ctx context.Context, workspaceID, id, actor string) error
	PollNow(ctx context.Context, workspaceID, id, actor string) (*calgate.Subscription, error)
}

var _ SubscriptionService = (*subscriptions.Service)(nil)

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
func (s *Server) SubscriptionRoutes(svc SubscriptionService) []Route {
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

func (s *Server) createSubscription(svc SubscriptionService) gin.HandlerFunc {
	return func(c *gin.Context) {
		s.writeSubscription(c, http.StatusCreated, func(in subscriptions.Input) (*calgate.Subscription, error) {
			return svc.Create(c.Request.Context(), principal(c).Workspace.ID, actor(c), in)
		})
	}
}

// writeSubscription reads a subscription's body, writes it with write and
// answers with the subscription.
func (s *Server) writeSubscription(c *gin.Context, status int, write func(subscriptions.Input) (*calgate.Subscription, error)) {
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
	sub, err := write(in)
	s.replySubscription(c, status, sub, err)
}

// replySubscription answers with a subscription, or with the error.
func (s *Server) replySubscription(c *gin.Context, status int, sub *calgate.Subscription, err error) {
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, ViewSubscription(sub))
}

func (s *Server) listSubscriptions(svc SubscriptionService) gin.HandlerFunc {
	return func(c *gin.Context) {
		cursor, limit, err := pageParams(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		subs, next, err := svc.List(c.Request.Context(), principal(c).Workspace.ID, cursor, limit)
		replyPage(s, c, subs, next, err, ViewSubscription)
	}
}

func (s *Server) getSubscription(svc SubscriptionService) gin.HandlerFunc {
	return func(c *gin.Context) {
		sub, err := svc.Get(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
		s.replySubscription(c, http.StatusOK, sub, err)
	}
}

func (s *Server) patchSubscription(svc SubscriptionService) gin.HandlerFunc {
	return func(c *gin.Context) {
		s.writeSubscription(c, http.StatusOK, func(in subscriptions.Input) (*calgate.Subscription, error) {
			return svc.Update(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"), actor(c), in)
		})
	}
}

func (s *Server) deleteSubscription(svc SubscriptionService) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := svc.Delete(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"), actor(c)); err != nil {
			s.fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

func (s *Server) pollSubscription(svc SubscriptionService) gin.HandlerFunc {
	return func(c *gin.Context) {
		sub, err := svc.PollNow(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"), actor(c))
		s.replySubscription(c, http.StatusOK, sub, err)
	}
}

// SubscriptionSchemas are the OpenAPI schemas of the subscription routes.
func SubscriptionSchemas() map[string]any {
	counts := describe(schemaOf[calgate.PollCounts](), map[string]string{
		"not_modified": "the server answered 304 Not Modified",
		"events":       "occurrences in the window",
		"transparent":  "left out: TRANSP:TRANSPARENT events do not block time",
	})
	sub := describe(schemaOf[SubscriptionView](), map[string]string{
		"resource":      "the resource the feed's events block",
		"poll_interval": "Go duration, e.g. 15m0s",
		"source":        "source of the entries: ical:<id>",
		"last_error":    "why the last poll failed; empty after a success",
		"etag":          "ETag of the last good answer, sent as If-None-Match",
		"last_modified": "Last-Modified of the last good answer, sent as If-Modified-Since",
	})
	sub["properties"].(obj)["state"] = enum(calgate.SubscriptionPending, calgate.SubscriptionOK, calgate.SubscriptionError)
	sub["properties"].(obj)["last_result"] = ref("PollCounts")
	req := set(closed(describe(schemaOf[subscriptionRequest](), map[string]string{
		"url":      "http(s) or webcal URL of the iCal feed; required on create",
		"resource": "required on create: the resource (workstage, cost centre) the events block",
		"name":     "default: the URL's host",
	})), obj{
		"kind":          obj{"type": "string", "enum": []string{"reservation", "job", "production_window"}, "default": "reservation", "nullable": true},
		"poll_interval": obj{"oneOf": []obj{{"type": "string"}, {"type": "number"}}, "nullable": true, "description": "Go duration (\"15m\") or seconds; at least 5m, default 15m"},
	})
	return map[string]any{"Subscription": sub, "SubscriptionRequest": req, "PollCounts": counts, "List_Subscription": listOf("Subscription")}
}
