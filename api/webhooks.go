package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/webhooks"
)

// WebhookService manages webhook endpoints and their deliveries
// (webhooks.Service implements it).
type WebhookService interface {
	Create(ctx context.Context, workspaceID, origin string, in webhooks.EndpointInput) (*calgate.Webhook, string, error)
	Get(ctx context.Context, workspaceID, id string) (*calgate.Webhook, error)
	List(ctx context.Context, workspaceID, cursor string, limit int) ([]*calgate.Webhook, string, error)
	Update(ctx context.Context, workspaceID, id string, in webhooks.EndpointInput) (*calgate.Webhook, error)
	Delete(ctx context.Context, workspaceID, id string) error
	Secrets(ctx context.Context, workspaceID, id string) ([]webhooks.Secret, error)
	RotateSecret(ctx context.Context, workspaceID, id string) (string, error)
	Test(ctx context.Context, workspaceID, id string) (*webhooks.TestResult, error)
	Deliveries(ctx context.Context, workspaceID, id string, f calgate.DeliveryFilter) ([]*calgate.Delivery, string, error)
	Retry(ctx context.Context, workspaceID, webhookID, id string) (*calgate.Delivery, error)
	Replay(ctx context.Context, workspaceID, webhookID string, since time.Time) (int, error)
	Sample(t calgate.EventType) (json.RawMessage, error)
}

var _ WebhookService = (*webhooks.Service)(nil)

// MaxWebhookBodyBytes bounds webhook requests.
const MaxWebhookBodyBytes = 64 << 10

// WebhookView is the wire form of an endpoint; the secret appears only in
// the creation reply.
type WebhookView struct {
	ID             string                `json:"id"`
	URL            string                `json:"url"`
	Events         []string              `json:"events"`
	Filter         calgate.WebhookFilter `json:"filter"`
	Description    string                `json:"description"`
	Origin         string                `json:"origin"`
	Disabled       bool                  `json:"disabled"`
	DisabledReason string                `json:"disabled_reason,omitempty"`
	FailingSince   *time.Time            `json:"failing_since"`
	CreatedAt      time.Time             `json:"created_at"`
	UpdatedAt      time.Time             `json:"updated_at"`
	Secret         string                `json:"secret,omitempty" doc:"only in the creation reply"`
}

func viewWebhook(w *calgate.Webhook) WebhookView {
	return WebhookView{ID: w.ID, URL: w.URL, Events: w.Events, Filter: w.Filter, Description: w.Description, Origin: w.Origin,
		Disabled: w.Disabled, DisabledReason: w.DisabledReason, FailingSince: w.FailingSince, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

// AttemptView is one attempt of a delivery.
type AttemptView struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code"`
	LatencyMS  float64   `json:"latency_ms"`
	Error      string    `json:"error,omitempty" doc:"why the attempt failed"`
	Response   string    `json:"response" doc:"the first 4 KB of the answer"`
	RetryInMS  int64     `json:"retry_in_ms,omitempty"`
}

// DeliveryView is one message to an endpoint with its attempts.
type DeliveryView struct {
	ID            string            `json:"id" doc:"the webhook-id"`
	WebhookID     string            `json:"webhook_id"`
	EventID       string            `json:"event_id"`
	Type          calgate.EventType `json:"type"`
	Status        string            `json:"status"`
	Attempts      int               `json:"attempts"`
	NextAttemptAt *time.Time        `json:"next_attempt_at"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	Payload       json.RawMessage   `json:"payload"`
	Log           []AttemptView     `json:"attempt_log"`
}

func viewDelivery(d *calgate.Delivery) DeliveryView {
	v := DeliveryView{ID: d.ID, WebhookID: d.WebhookID, EventID: calgate.EventID(d.EventID), Type: d.Type, Status: d.Status,
		Attempts: d.Attempts, NextAttemptAt: d.NextAttemptAt, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Payload: d.Payload,
		Log: make([]AttemptView, 0, len(d.Log))}
	for _, a := range d.Log {
		v.Log = append(v.Log, AttemptView{At: a.At, StatusCode: a.StatusCode, LatencyMS: float64(a.Latency.Microseconds()) / 1000,
			Error: a.Error, Response: a.Response, RetryInMS: a.RetryIn.Milliseconds()})
	}
	return v
}

// webhookRequest is the body of POST and PATCH /v1/webhooks.
type webhookRequest struct {
	URL         *string                `json:"url" doc:"https URL to call"`
	Events      []string               `json:"events" doc:"event types or wildcards such as entry.*"`
	Filter      *calgate.WebhookFilter `json:"filter"`
	Description *string                `json:"description"`
	Secret      *string                `json:"secret" doc:"whsec_… (generated when absent; creation only)"`
	Disabled    *bool                  `json:"disabled" doc:"false re-enables the endpoint"`
}

func (r webhookRequest) input() webhooks.EndpointInput {
	return webhooks.EndpointInput{URL: r.URL, Events: r.Events, Filter: r.Filter, Description: r.Description, Secret: r.Secret, Disabled: r.Disabled}
}

// replayReply counts the deliveries a replay sent again.
type replayReply struct {
	Replayed int `json:"replayed"`
}

// hookReply names a subscribed REST hook.
type hookReply struct {
	ID string `json:"id"`
}

// hookRequest is a REST-hook subscription.
type hookRequest struct {
	TargetURL string `json:"target_url"`
	Event     string `json:"event"`
}

// WebhookRoutes returns the routes of webhook endpoints, their delivery
// log and the REST hooks of automation platforms.
func (s *Server) WebhookRoutes(svc WebhookService) []Route {
	h := webhookHandlers{s: s, svc: svc}
	const tag = "webhooks"
	return []Route{
		{Method: http.MethodPost, Path: "/v1/webhooks", Summary: "Register a webhook endpoint (the secret is shown in this reply)", Tag: tag, Request: "WebhookRequest", Response: "Webhook", Status: http.StatusCreated, Handler: h.create},
		{Method: http.MethodGet, Path: "/v1/webhooks", Summary: "List webhook endpoints", Tag: tag, Response: "List_Webhook", Query: []string{"cursor", "limit"}, Handler: h.list},
		{Method: http.MethodGet, Path: "/v1/webhooks/:id", Summary: "One webhook endpoint", Tag: tag, Response: "Webhook", Handler: h.get},
		{Method: http.MethodPatch, Path: "/v1/webhooks/:id", Summary: "Change a webhook endpoint; {\"disabled\": false} re-enables it", Tag: tag, Request: "WebhookRequest", Response: "Webhook", Handler: h.update},
		{Method: http.MethodDelete, Path: "/v1/webhooks/:id", Summary: "Delete a webhook endpoint and its delivery log", Tag: tag, Status: http.StatusNoContent, Handler: h.delete},
		{Method: http.MethodGet, Path: "/v1/webhooks/:id/secret", Summary: "The signing secrets in force", Tag: tag, Response: "WebhookSecrets", Handler: h.secret},
		{Method: http.MethodPost, Path: "/v1/webhooks/:id/rotate-secret", Summary: "Replace the secret; the old one keeps signing for 24 hours", Tag: tag, Response: "WebhookSecrets", Handler: h.rotate},
		{Method: http.MethodPost, Path: "/v1/webhooks/:id/test", Summary: "Send a webhook.test message now and return the answer", Tag: tag, Response: "WebhookTest", Handler: h.test},
		{Method: http.MethodGet, Path: "/v1/webhooks/:id/deliveries", Summary: "Deliveries with their attempts, newest first", Tag: tag, Response: "List_Delivery", Query: []string{"status", "cursor", "limit"}, Handler: h.deliveries},
		{Method: http.MethodPost, Path: "/v1/webhooks/:id/deliveries/:delivery_id/retry", Summary: "Send a delivery again now", Tag: tag, Response: "Delivery", Status: http.StatusAccepted, Handler: h.retry},
		{Method: http.MethodPost, Path: "/v1/webhooks/:id/replay", Summary: "Send again every delivery that failed since a time", Tag: tag, Response: "Replay", Query: []string{"since"}, Status: http.StatusAccepted, Handler: h.replay},
		{Method: http.MethodPost, Path: "/v1/hooks", Summary: "Subscribe a REST hook (Zapier and similar)", Tag: "hooks", Request: "HookRequest", Response: "Hook", Status: http.StatusCreated, Handler: h.subscribe},
		{Method: http.MethodDelete, Path: "/v1/hooks/:id", Summary: "Unsubscribe a REST hook", Tag: "hooks", Status: http.StatusNoContent, Handler: h.delete},
		{Method: http.MethodGet, Path: "/v1/hooks/samples/:event", Summary: "A sample payload of an event type", Tag: "hooks", Response: "WebhookPayload", Handler: h.sample},
	}
}

type webhookHandlers struct {
	s   *Server
	svc WebhookService
}

func (h webhookHandlers) create(c *gin.Context) {
	var req webhookRequest
	if err := bindJSON(c, MaxWebhookBodyBytes, &req); err != nil {
		h.s.fail(c, err)
		return
	}
	w, secret, err := h.svc.Create(c.Request.Context(), principal(c).Workspace.ID, calgate.WebhookOriginAPI, req.input())
	if err != nil {
		h.s.fail(c, err)
		return
	}
	v := viewWebhook(w)
	v.Secret = secret
	c.JSON(http.StatusCreated, v)
}

func (h webhookHandlers) list(c *gin.Context) {
	cursor, limit, err := pageParams(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	list, next, err := h.svc.List(c.Request.Context(), principal(c).Workspace.ID, cursor, limit)
	replyPage(h.s, c, list, next, err, viewWebhook)
}

func (h webhookHandlers) get(c *gin.Context) {
	w, err := h.svc.Get(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewWebhook(w))
}

func (h webhookHandlers) update(c *gin.Context) {
	var req webhookRequest
	if err := bindJSON(c, MaxWebhookBodyBytes, &req); err != nil {
		h.s.fail(c, err)
		return
	}
	w, err := h.svc.Update(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"), req.input())
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewWebhook(w))
}

func (h webhookHandlers) delete(c *gin.Context) {
	if err := h.svc.Delete(c.Request.Context(), principal(c).Workspace.ID, c.Param("id")); err != nil {
		h.s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// secretsReply lists the secrets in force, current first.
type secretsReply struct {
	Secret  string            `json:"secret"`
	Secrets []webhooks.Secret `json:"secrets"`
}

func (h webhookHandlers) secret(c *gin.Context) {
	list, err := h.svc.Secrets(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	reply := secretsReply{Secrets: list}
	if len(list) > 0 {
		reply.Secret = list[0].Secret
	}
	c.JSON(http.StatusOK, reply)
}

func (h webhookHandlers) rotate(c *gin.Context) {
	ctx, ws, id := c.Request.Context(), principal(c).Workspace.ID, c.Param("id")
	if _, err := h.svc.RotateSecret(ctx, ws, id); err != nil {
		h.s.fail(c, err)
		return
	}
	h.secret(c)
}

// testReply is the receiver's answer to a webhook.test message.
type testReply struct {
	MessageID  string  `json:"message_id"`
	Succeeded  bool    `json:"succeeded"`
	StatusCode int     `json:"status_code"`
	LatencyMS  float64 `json:"latency_ms"`
	Error      string  `json:"error,omitempty"`
	Response   string  `json:"response"`
}

func (h webhookHandlers) test(c *gin.Context) {
	res, err := h.svc.Test(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	a := res.Attempt
	c.JSON(http.StatusOK, testReply{MessageID: res.MessageID, Succeeded: a.Outcome == webhooks.Succeeded, StatusCode: a.StatusCode,
		LatencyMS: float64(a.Latency.Microseconds()) / 1000, Error: a.Error, Response: a.ResponseBody})
}

func (h webhookHandlers) deliveries(c *gin.Context) {
	cursor, limit, err := pageParams(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	f := calgate.DeliveryFilter{Status: c.Query("status"), Cursor: cursor, Limit: limit}
	list, next, err := h.svc.Deliveries(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"), f)
	replyPage(h.s, c, list, next, err, viewDelivery)
}

func (h webhookHandlers) retry(c *gin.Context) {
	d, err := h.svc.Retry(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"), c.Param("delivery_id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, viewDelivery(d))
}

func (h webhookHandlers) replay(c *gin.Context) {
	raw := c.Query("since")
	since, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		h.s.fail(c, badParam("since", "must be an RFC 3339 time such as 2026-11-27T00:00:00Z"))
		return
	}
	n, err := h.svc.Replay(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"), since)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, replayReply{Replayed: n})
}

func (h webhookHandlers) subscribe(c *gin.Context) {
	var req hookRequest
	if err := bindJSON(c, MaxWebhookBodyBytes, &req); err != nil {
		h.s.fail(c, err)
		return
	}
	v := &calgate.ValidationError{}
	if req.TargetURL == "" {
		v.Add("target_url", "is required")
	}
	if req.Event == "" {
		v.Add("event", "is required")
	}
	if err := v.Err(); err != nil {
		h.s.fail(c, err)
		return
	}
	w, _, err := h.svc.Create(c.Request.Context(), principal(c).Workspace.ID, calgate.WebhookOriginHook,
		webhooks.EndpointInput{URL: &req.TargetURL, Events: []string{req.Event}})
	if err != nil {
		if ve, ok := err.(*calgate.ValidationError); ok {
			err = renameFields(ve, map[string]string{"url": "target_url", "events": "event", "events[0]": "event"})
		}
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, hookReply{ID: w.ID})
}

func renameFields(ve *calgate.ValidationError, names map[string]string) *calgate.ValidationError {
	out := &calgate.ValidationError{Malformed: ve.Malformed}
	for _, fe := range ve.Errors {
		if n, ok := names[fe.Field]; ok {
			fe.Field = n
		}
		out.Errors = append(out.Errors, fe)
	}
	return out
}

func (h webhookHandlers) sample(c *gin.Context) {
	body, err := h.svc.Sample(calgate.EventType(c.Param("event")))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json", body)
}

// WebhookSchemas are the OpenAPI schemas of the webhook routes.
func WebhookSchemas() map[string]any {
	delivery := schemaOf[DeliveryView]()
	delivery["properties"].(obj)["payload"] = ref("WebhookPayload")
	delivery["properties"].(obj)["status"] = enum("pending", "succeeded", "failed")
	payload := schemaOf[webhooks.Payload]()
	payload["properties"].(obj)["data"] = obj{"type": "object", "description": "the event's data: {kind, entry, diff} for entry events"}
	webhook := schemaOf[WebhookView]()
	webhook["properties"].(obj)["origin"] = enum("api", "hook")
	return map[string]any{
		"WebhookRequest": schemaOf[webhookRequest](),
		"Webhook":        webhook,
		"List_Webhook":   listOf("Webhook"),
		"WebhookSecrets": schemaOf[secretsReply](),
		"WebhookTest":    schemaOf[testReply](),
		"Delivery":       delivery,
		"List_Delivery":  listOf("Delivery"),
		"Replay":         schemaOf[replayReply](),
		"HookRequest":    schemaOf[hookRequest](),
		"Hook":           schemaOf[hookReply](),
		"WebhookPayload": payload,
	}
}
