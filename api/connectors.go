package api

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

// ConnectorService manages connectors (connectors.Service implements it).
type ConnectorService interface {
	Create(ctx context.Context, workspaceID string, in calgate.ConnectorInput) (*calgate.Connector, string, error)
	Update(ctx context.Context, workspaceID, id string, in calgate.ConnectorInput) (*calgate.Connector, error)
	Authorize(ctx context.Context, workspaceID, id string) (*calgate.Connector, string, error)
	Connector(ctx context.Context, workspaceID, id string) (*calgate.Connector, calgate.ConnectorBacklog, error)
	Connectors(ctx context.Context, workspaceID string) ([]*calgate.Connector, error)
	Delete(ctx context.Context, workspaceID, id string) error
	Resync(ctx context.Context, workspaceID, id string) (int, error)
	Log(ctx context.Context, workspaceID, id string, f calgate.ConnectorCallFilter) ([]*calgate.ConnectorCall, error)
	Callback(ctx context.Context, q url.Values) (*calgate.Connector, error)
	Types() []string
}

// connectorReply is a connector as the API shows it: never its
// credentials.
type connectorReply struct {
	ID            string                  `json:"id"`
	Type          string                  `json:"type"`
	Name          string                  `json:"name"`
	Filter        calgate.ConnectorFilter `json:"filter"`
	Mapping       json.RawMessage         `json:"mapping" doc:"the application's settings (docs/connectors.md)"`
	State         string                  `json:"state"`
	Account       string                  `json:"account" doc:"the remote company or tenant"`
	AccountName   string                  `json:"account_name"`
	AuthorizeURL  string                  `json:"authorize_url,omitempty" doc:"where the user consents (creation and authorize replies only)"`
	LastError     string                  `json:"last_error"`
	LastSuccessAt *time.Time              `json:"last_success_at"`
	Pending       *int                    `json:"pending,omitempty" doc:"entries whose newest version is not at the application yet"`
	Failed        *int                    `json:"failed,omitempty" doc:"pending entries whose retries are used up"`
	CreatedAt     time.Time               `json:"created_at"`
	UpdatedAt     time.Time               `json:"updated_at"`
}

func connectorView(c *calgate.Connector, authURL string, b *calgate.ConnectorBacklog) connectorReply {
	f := c.Filter
	f.Kinds, f.Resources, f.Statuses, f.Sources = nonNil(f.Kinds), nonNil(f.Resources), nonNil(f.Statuses), nonNil(f.Sources)
	r := connectorReply{ID: c.ID, Type: c.Type, Name: c.Name, Filter: f, Mapping: c.Mapping, State: c.State,
		Account: c.Account, AccountName: c.AccountName, AuthorizeURL: authURL, LastError: c.LastError,
		LastSuccessAt: c.LastSuccessAt, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if r.Mapping == nil {
		r.Mapping = json.RawMessage(`{}`)
	}
	if b != nil {
		pending, failed := b.Pending, b.Failed
		r.Pending, r.Failed = &pending, &failed
	}
	return r
}

// connectorCallReply is one call of the log.
// resyncReply counts the entries a resync owes the application.
type resyncReply struct {
	Owed int `json:"owed" doc:"entries to push"`
}

type connectorCallReply struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	EntryID    string    `json:"entry_id"`
	Operation  string    `json:"operation" doc:"what the call did"`
	Method     string    `json:"method"`
	StatusCode int       `json:"status_code"`
	Error      string    `json:"error" doc:"the application's error text"`
	DurationMS float64   `json:"duration_ms"`
}

// ConnectorRoutes returns the routes of connectors, with the public OAuth
// callback the applications redirect the user to.
func (s *Server) ConnectorRoutes(svc ConnectorService) []Route {
	const base = "/v1/connectors"
	const tag = "connectors"
	return []Route{
		{Method: http.MethodPost, Path: base, Summary: "Create a connector to an application; open its authorize_url to connect it", Tag: tag, Request: "ConnectorRequest", Response: "Connector", Status: http.StatusCreated, Handler: s.createConnector(svc)},
		{Method: http.MethodGet, Path: base, Summary: "List connectors", Tag: tag, Response: "List_Connector", Handler: s.listConnectors(svc)},
		{Method: http.MethodGet, Path: base + "/oauth/callback", Public: true, Summary: "Where the application sends the user back after consent (OAuth 2.0 redirect URI)", Tag: tag, Query: []string{"code", "state", "error", "realmId"}, Handler: s.connectorCallback(svc)},
		{Method: http.MethodGet, Path: base + "/:id", Summary: "A connector with its state and backlog", Tag: tag, Response: "Connector", Handler: s.getConnector(svc)},
		{Method: http.MethodPatch, Path: base + "/:id", Summary: "Change a connector's name, filter or mapping; pause or resume it", Tag: tag, Request: "ConnectorRequest", Response: "Connector", Handler: s.patchConnector(svc)},
		{Method: http.MethodDelete, Path: base + "/:id", Summary: "Remove a connector (what it created at the application stays)", Tag: tag, Status: http.StatusNoContent, Handler: s.deleteConnector(svc)},
		{Method: http.MethodPost, Path: base + "/:id/authorize", Summary: "Start a new authorization (to connect again after needs_reauth)", Tag: tag, Response: "Connector", Handler: s.authorizeConnector(svc)},
		{Method: http.MethodPost, Path: base + "/:id/resync", Summary: "Push every entry the connector selects again", Tag: tag, Response: "ConnectorResync", Status: http.StatusAccepted, Handler: s.resyncConnector(svc)},
		{Method: http.MethodGet, Path: base + "/:id/log", Summary: "The connector's remote calls, newest first", Tag: tag, Response: "List_ConnectorCall", Query: []string{"entry_id", "cursor", "limit"}, Handler: s.connectorLog(svc)},
	}
}

// ConnectorSchemas are the OpenAPI schemas of the connector routes.
func ConnectorSchemas(types []string) map[string]any {
	connector := schemaOf[connectorReply]()
	props := connector["properties"].(obj)
	props["type"] = enum(types...)
	props["filter"] = ref("ConnectorFilter")
	props["mapping"] = obj{"type": "object", "additionalProperties": true, "description": props["mapping"].(obj)["description"]}
	props["state"] = enum(calgate.ConnectorStatePending, calgate.ConnectorStateConnected, calgate.ConnectorStateNeedsReauth, calgate.ConnectorStatePaused)
	return map[string]any{
		"ConnectorFilter": schemaOf[calgate.ConnectorFilter](),
		"ConnectorRequest": object(obj{
			"type":    enum(types...),
			"name":    str(""),
			"filter":  ref("ConnectorFilter"),
			"mapping": obj{"type": "object", "additionalProperties": true, "description": "the application's settings (docs/connectors.md)"},
			"paused":  obj{"type": "boolean", "description": "PATCH only"},
			"api_key": obj{"type": "string", "writeOnly": true, "description": "for applications that take an API key; stored encrypted, never returned"},
		}),
		"Connector":          connector,
		"List_Connector":     listOf("Connector"),
		"ConnectorResync":    schemaOf[resyncReply](),
		"ConnectorCall":      schemaOf[connectorCallReply](),
		"List_ConnectorCall": listOf("ConnectorCall"),
	}
}

func (s *Server) createConnector(svc ConnectorService) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in calgate.ConnectorInput
		if err := bindJSON(c, MaxBodyBytes, &in); err != nil {
			s.fail(c, err)
			return
		}
		if in.Paused != nil {
			s.fail(c, calgate.Invalid("paused", "is for PATCH only"))
			return
		}
		con, authURL, err := svc.Create(c.Request.Context(), principal(c).Workspace.ID, in)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, connectorView(con, authURL, &calgate.ConnectorBacklog{}))
	}
}

func (s *Server) listConnectors(svc ConnectorService) gin.HandlerFunc {
	return func(c *gin.Context) {
		list, err := svc.Connectors(c.Request.Context(), principal(c).Workspace.ID)
		replyPage(s, c, list, "", err, func(con *calgate.Connector) connectorReply { return connectorView(con, "", nil) })
	}
}

func (s *Server) getConnector(svc ConnectorService) gin.HandlerFunc {
	return func(c *gin.Context) {
		con, b, err := svc.Connector(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, connectorView(con, "", &b))
	}
}

func (s *Server) patchConnector(svc ConnectorService) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in calgate.ConnectorInput
		if err := bindJSON(c, MaxBodyBytes, &in); err != nil {
			s.fail(c, err)
			return
		}
		ws := principal(c).Workspace.ID
		if _, err := svc.Update(c.Request.Context(), ws, c.Param("id"), in); err != nil {
			s.fail(c, err)
			return
		}
		con, b, err := svc.Connector(c.Request.Context(), ws, c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, connectorView(con, "", &b))
	}
}

func (s *Server) deleteConnector(svc ConnectorService) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := svc.Delete(c.Request.Context(), principal(c).Workspace.ID, c.Param("id")); err != nil {
			s.fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

func (s *Server) authorizeConnector(svc ConnectorService) gin.HandlerFunc {
	return func(c *gin.Context) {
		con, authURL, err := svc.Authorize(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, connectorView(con, authURL, nil))
	}
}

func (s *Server) resyncConnector(svc ConnectorService) gin.HandlerFunc {
	return func(c *gin.Context) {
		n, err := svc.Resync(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusAccepted, resyncReply{Owed: n})
	}
}

func (s *Server) connectorLog(svc ConnectorService) gin.HandlerFunc {
	return func(c *gin.Context) {
		v := &calgate.ValidationError{Malformed: true}
		f := calgate.ConnectorCallFilter{EntryID: c.Query("entry_id")}
		if raw := c.Query("cursor"); raw != "" {
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || n <= 0 {
				v.Add("cursor", "must be a cursor from next_cursor")
			}
			f.Before = n
		}
		limit := limitInto(c, v)
		f.Limit = limit
		if err := v.Err(); err != nil {
			s.fail(c, err)
			return
		}
		calls, err := svc.Log(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"), f)
		if err != nil {
			s.fail(c, err)
			return
		}
		items := make([]connectorCallReply, 0, len(calls))
		for _, k := range calls {
			items = append(items, connectorCallReply{ID: strconv.FormatInt(k.ID, 10), At: k.At, EntryID: k.EntryID, Operation: k.Operation,
				Method: k.Method, StatusCode: k.StatusCode, Error: k.Error, DurationMS: float64(k.Duration.Microseconds()) / 1000})
		}
		next := ""
		if len(calls) == f.Limit && len(calls) > 0 {
			next = strconv.FormatInt(calls[len(calls)-1].ID, 10)
		}
		c.JSON(http.StatusOK, listReply[connectorCallReply]{Items: items, NextCursor: next})
	}
}

// connectorCallback is where the user's browser comes back from the
// application: a small page saying whether the connector is connected.
func (s *Server) connectorCallback(svc ConnectorService) gin.HandlerFunc {
	return func(c *gin.Context) {
		con, err := svc.Callback(c.Request.Context(), c.Request.URL.Query())
		if err != nil {
			s.fail(c, err)
			return
		}
		account := con.AccountName
		if account == "" {
			account = con.Account
		}
		page := "<!doctype html><meta charset=utf-8><title>calgate: connected</title><p>The connector <b>" + html.EscapeString(con.Name) +
			"</b> (" + html.EscapeString(con.Type) + ") is connected to <b>" + html.EscapeString(account) + "</b>. You can close this window.</p>"
		c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(page))
	}
}
