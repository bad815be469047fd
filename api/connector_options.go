package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

// ConnectorOptionService lists what a connected account offers a
// connector's mapping and runs reconciliations (connectors.Service
// implements it).
type ConnectorOptionService interface {
	Choices(ctx context.Context, workspaceID, id string) ([]calgate.ConnectorChoice, error)
	ReconcileNow(ctx context.Context, workspaceID, id string) error
	ReconcileState(ctx context.Context, workspaceID, id string) (*calgate.ConnectorReconcile, error)
}

// reconcileReply is a connector's reconciliation as the API shows it.
type reconcileReply struct {
	NextAt    time.Time  `json:"next_at"`
	Running   bool       `json:"running"`
	LastRunAt *time.Time `json:"last_run_at"`
	LastError string     `json:"last_error"`
	Conflicts int64      `json:"conflicts" doc:"objects found changed or removed at the application and restored"`
}

// ConnectorOptionRoutes returns the routes that list an account's choices
// (the calendars of a calendar account) and show or start a connector's
// reconciliation.
func (s *Server) ConnectorOptionRoutes(svc ConnectorOptionService) []Route {
	const base = "/v1/connectors"
	const tag = "connectors"
	return []Route{
		{Method: http.MethodGet, Path: base + "/:id/choices", Summary: "What the connected account offers the mapping (its calendars)", Tag: tag, Response: "List_ConnectorChoice", Handler: s.connectorChoices(svc)},
		{Method: http.MethodGet, Path: base + "/:id/reconcile", Summary: "The connector's periodic reconciliation", Tag: tag, Response: "ConnectorReconcile", Handler: s.connectorReconcile(svc)},
		{Method: http.MethodPost, Path: base + "/:id/reconcile", Summary: "Reconcile the connector now", Tag: tag, Response: "ConnectorReconcile", Status: http.StatusAccepted, Handler: s.reconcileConnectorNow(svc)},
	}
}

// ConnectorOptionSchemas are the OpenAPI schemas of those routes.
func ConnectorOptionSchemas() map[string]any {
	choice := schemaOf[calgate.ConnectorChoice]()
	for name, doc := range map[string]string{"id": "the value to put into the mapping setting named by field",
		"field": "the mapping setting that takes the id, such as mapping.calendar_id", "selected": "named by the mapping now"} {
		if p, ok := choice["properties"].(obj)[name].(obj); ok {
			p["description"] = doc
		}
	}
	return map[string]any{
		"ConnectorChoice":      choice,
		"List_ConnectorChoice": listOf("ConnectorChoice"),
		"ConnectorReconcile":   schemaOf[reconcileReply](),
	}
}

func (s *Server) connectorChoices(svc ConnectorOptionService) gin.HandlerFunc {
	return func(c *gin.Context) {
		list, err := svc.Choices(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
		if err != nil {
			var ve *calgate.ValidationError
			if !errors.Is(err, calgate.ErrNotFound) && !errors.Is(err, calgate.ErrConflict) && !errors.As(err, &ve) && !errors.Is(err, context.Canceled) {
				// The application could not be asked.
				err = &StatusError{Status: http.StatusBadGateway, Detail: err.Error()}
			}
			s.fail(c, err)
			return
		}
		if list == nil {
			list = []calgate.ConnectorChoice{}
		}
		c.JSON(http.StatusOK, listReply[calgate.ConnectorChoice]{Items: list})
	}
}

func (s *Server) connectorReconcile(svc ConnectorOptionService) gin.HandlerFunc {
	return func(c *gin.Context) {
		s.renderReconcile(c, svc, http.StatusOK)
	}
}

func (s *Server) reconcileConnectorNow(svc ConnectorOptionService) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := svc.ReconcileNow(c.Request.Context(), principal(c).Workspace.ID, c.Param("id")); err != nil {
			s.fail(c, err)
			return
		}
		s.renderReconcile(c, svc, http.StatusAccepted)
	}
}

func (s *Server) renderReconcile(c *gin.Context, svc ConnectorOptionService, status int) {
	r, err := svc.ReconcileState(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
	if errors.Is(err, calgate.ErrNotFound) {
		// The connector exists (or ReconcileState said 404 for it): it has
		// no reconciliation yet.
		err = &StatusError{Status: http.StatusNotFound, Detail: "no reconciliation: the connector's application has none, or it was never connected"}
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, reconcileReply{NextAt: r.DueAt, Running: r.LeaseToken != "", LastRunAt: r.LastRunAt, LastError: r.LastError, Conflicts: r.Conflicts})
}
