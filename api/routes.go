package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

func (s *Server) coreRoutes() {
	s.Add(
		Route{Method: http.MethodGet, Path: "/healthz", Summary: "The process is alive", Tag: "operations", Public: true, Response: "Health", Handler: s.healthz},
		Route{Method: http.MethodGet, Path: "/readyz", Summary: "The database and the queue answer", Tag: "operations", Public: true, Response: "Health", Handler: s.readyz},
		Route{Method: http.MethodGet, Path: "/metrics", Summary: "Prometheus metrics", Tag: "operations", Public: true, Handler: gin.WrapH(s.Metrics.Handler())},
		Route{Method: http.MethodGet, Path: "/openapi.json", Summary: "This document", Tag: "operations", Public: true, Handler: s.openAPI},
		Route{Method: http.MethodGet, Path: "/v1/auth/test", Summary: "Confirm a token and name its workspace and user", Tag: "tokens", Response: "AuthTest", Handler: s.authTest},
		Route{Method: http.MethodGet, Path: "/v1/workspace", Summary: "The token's workspace", Tag: "tokens", Response: "Workspace", Handler: s.getWorkspace},
		Route{Method: http.MethodPost, Path: "/v1/tokens", Summary: "Create an API token (shown once)", Tag: "tokens", Request: "TokenRequest", Response: "TokenCreated", Status: http.StatusCreated, Handler: s.createToken},
		Route{Method: http.MethodGet, Path: "/v1/tokens", Summary: "List tokens (name, prefix, created, last used)", Tag: "tokens", Response: "List_Token", Handler: s.listTokens},
		Route{Method: http.MethodDelete, Path: "/v1/tokens/:id", Summary: "Revoke a token at once", Tag: "tokens", Status: http.StatusNoContent, Handler: s.revokeToken},
		Route{Method: http.MethodGet, Path: "/v1/events", Summary: "The change feed", Tag: "events", Response: "List_Event", Query: []string{"after", "types", "order", "limit"}, Handler: s.listEvents},
	)
	for _, k := range calgate.Kinds {
		s.Add(s.entryRoutes(k)...)
	}
}

type health struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, health{Status: "ok"})
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "queue": "ok"}
	status := http.StatusOK
	if err := s.Store.Ping(ctx); err != nil {
		checks["database"] = err.Error()
		status = http.StatusServiceUnavailable
	}
	if s.QueueReady != nil {
		if err := s.QueueReady(ctx); err != nil {
			checks["queue"] = err.Error()
			status = http.StatusServiceUnavailable
		}
	}
	word := "ok"
	if status != http.StatusOK {
		word = "unavailable"
	}
	c.JSON(status, health{Status: word, Checks: checks})
}
