package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/imports/pull"
)

// PullService schedules pulls, runs them and lists their runs
// (pull.Service implements it).
type PullService interface {
	CreatePull(ctx context.Context, workspaceID string, in pull.Input) (*calgate.PullImport, error)
	Pull(ctx context.Context, workspaceID, id string) (*calgate.PullImport, error)
	Pulls(ctx context.Context, workspaceID, cursor string, limit int) ([]*calgate.PullImport, string, error)
	UpdatePull(ctx context.Context, workspaceID, id string, in pull.Input) (*calgate.PullImport, error)
	DeletePull(ctx context.Context, workspaceID, id string) error
	RunPull(ctx context.Context, workspaceID, id string) (*calgate.PullRun, error)
	Runs(ctx context.Context, workspaceID, id, cursor string, limit int) ([]*calgate.PullRun, string, error)
}

var _ PullService = (*pull.Service)(nil)

// pullRequest is the body of creating or changing a scheduled pull.
type pullRequest struct {
	Name         *string            `json:"name"`
	URL          *string            `json:"url"`
	Headers      *map[string]string `json:"headers"`
	Query        json.RawMessage    `json:"query"`
	SinceParam   *string            `json:"since_param"`
	SinceFormat  *string            `json:"since_format"`
	Template     *string            `json:"template"`
	Sheet        *string            `json:"sheet"`
	Mode         *string            `json:"mode"`
	Schedule     *string            `json:"schedule"`
	NotifyEmails *[]string          `json:"notify_emails"`
	Database     *databaseRequest   `json:"database"`
}

// databaseRequest is where a database pull reads its rows.
type databaseRequest struct {
	DSN          *string `json:"dsn"`
	Query        *string `json:"query"`
	CursorColumn *string `json:"cursor_column"`
	Timeout      *string `json:"timeout"`
	MaxRows      *int    `json:"max_rows"`
}

func (r *pullRequest) input() pull.Input {
	in := pull.Input{Name: r.Name, URL: r.URL, Headers: r.Headers, Query: r.Query, SinceParam: r.SinceParam,
		SinceFormat: r.SinceFormat, Template: r.Template, Sheet: r.Sheet, Mode: r.Mode, Schedule: r.Schedule, NotifyEmails: r.NotifyEmails}
	if d := r.Database; d != nil {
		in.Database = &pull.DatabaseInput{DSN: d.DSN, Query: d.Query, CursorColumn: d.CursorColumn, Timeout: d.Timeout, MaxRows: d.MaxRows}
	}
	return in
}

// PullRoutes are the routes of scheduled pulls.
func (s *Server) PullRoutes(svc PullService) []Route {
	return []Route{
		{Method: http.MethodPost, Path: "/v1/pull-imports", Summary: "Schedule a pull of a URL through a template", Tag: "imports",
			Request: "PullImportRequest", Response: "PullImport", Status: http.StatusCreated, Handler: s.createPull(svc)},
		{Method: http.MethodGet, Path: "/v1/pull-imports", Summary: "List scheduled pulls", Tag: "imports",
			Response: "List_PullImport", Query: []string{"cursor", "limit"}, Handler: s.listPulls(svc)},
		{Method: http.MethodGet, Path: "/v1/pull-imports/:id", Summary: "One scheduled pull", Tag: "imports",
			Response: "PullImport", Handler: s.getPull(svc)},
		{Method: http.MethodPatch, Path: "/v1/pull-imports/:id", Summary: "Change a scheduled pull", Tag: "imports",
			Request: "PullImportRequest", Response: "PullImport", Handler: s.patchPull(svc)},
		{Method: http.MethodDelete, Path: "/v1/pull-imports/:id", Summary: "Remove a scheduled pull and its runs (its entries stay)", Tag: "imports",
			Status: http.StatusNoContent, Handler: s.deletePull(svc)},
		{Method: http.MethodPost, Path: "/v1/pull-imports/:id/run", Summary: "Run a pull now and answer with the run", Tag: "imports",
			Response: "PullRun", Handler: s.runPullNow(svc)},
		{Method: http.MethodGet, Path: "/v1/pull-imports/:id/runs", Summary: "A pull's runs with their reports, newest first", Tag: "imports",
			Response: "List_PullRun", Query: []string{"cursor", "limit"}, Handler: s.listPullRuns(svc)},
	}
}

func (s *Server) createPull(svc PullService) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req pullRequest
		if err := bindJSON(c, MaxBodyBytes, &req); err != nil {
			s.fail(c, err)
			return
		}
		p, err := svc.CreatePull(c.Request.Context(), principal(c).Workspace.ID, req.input())
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, p)
	}
}

func (s *Server) listPulls(svc PullService) gin.HandlerFunc {
	return func(c *gin.Context) {
		cursor, limit, err := pageParams(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		list, next, err := svc.Pulls(c.Request.Context(), principal(c).Workspace.ID, cursor, limit)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, listReply[*calgate.PullImport]{Items: list, NextCursor: next})
	}
}

func (s *Server) getPull(svc PullService) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, err := svc.Pull(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, p)
	}
}

func (s *Server) patchPull(svc PullService) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req pullRequest
		if err := bindJSON(c, MaxBodyBytes, &req); err != nil {
			s.fail(c, err)
			return
		}
		p, err := svc.UpdatePull(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"), req.input())
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, p)
	}
}

func (s *Server) deletePull(svc PullService) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := svc.DeletePull(c.Request.Context(), principal(c).Workspace.ID, c.Param("id")); err != nil {
			s.fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

func (s *Server) runPullNow(svc PullService) gin.HandlerFunc {
	return func(c *gin.Context) {
		run, err := svc.RunPull(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, run)
	}
}

func (s *Server) listPullRuns(svc PullService) gin.HandlerFunc {
	return func(c *gin.Context) {
		cursor, limit, err := pageParams(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		runs, next, err := svc.Runs(c.Request.Context(), principal(c).Workspace.ID, c.Param("id"), cursor, limit)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, listReply[*calgate.PullRun]{Items: runs, NextCursor: next})
	}
}

// PullSchemas are the OpenAPI schemas of the pull routes.
func PullSchemas() map[string]any {
	mode := func() obj { return enum(calgate.ImportModeUpsert, calgate.ImportModeSync) }
	query := func() obj {
		return obj{"type": "object", "nullable": true, "description": "the query parameters; null when none"}
	}
	pullImport := set(describe(schemaOf[calgate.PullImport](), map[string]string{
		"header_names":  "the request headers' names; their values are stored encrypted and never shown",
		"since_format":  "rfc3339, yyyyMMddHHmmss, unix or a Go layout",
		"sheet":         "worksheet of a fetched Excel workbook; empty for the first",
		"schedule":      "cron expression or @every 15m",
		"running_since": "set while a run holds the pull",
	}), obj{"query": query(), "mode": mode(), "last_status": enum("", calgate.PullRunOK, calgate.PullRunFailed)})
	db := pullImport["properties"].(obj)["database"].(obj)
	set(describe(db, map[string]string{"host": "the server; the DSN is stored encrypted and never shown"}),
		obj{"engine": enum(pull.EnginePostgres, pull.EngineMySQL)})
	cursor := pullImport["properties"].(obj)["cursor"].(obj)
	set(cursor, obj{"type": enum("time", "int", "float", "text"), "value": str("the cursor column's value in the last row read")})
	req := set(closed(describe(schemaOf[pullRequest](), map[string]string{
		"url":      "http(s) URL",
		"sheet":    "worksheet of a fetched Excel workbook; empty for the first",
		"schedule": "cron expression or @every 15m",
	})), obj{"query": query(), "mode": nullable(mode())})
	set(closed(describe(req["properties"].(obj)["database"].(obj), map[string]string{
		"dsn":     "postgres://… or mysql://… (mariadb://…)",
		"query":   "a SELECT",
		"timeout": "1s to 5m, default 30s",
	})), obj{"max_rows": obj{"type": "integer", "minimum": 1, "maximum": pull.MaxDBMaxRows, "nullable": true}})
	run := set(schemaOf[calgate.PullRun](), obj{"status": enum(calgate.PullRunOK, calgate.PullRunFailed), "report": ref("ImportReport")})
	return map[string]any{
		"PullImport": pullImport, "List_PullImport": listOf("PullImport"),
		"PullImportRequest": req,
		"PullRun":           run,
		"List_PullRun":      listOf("PullRun"),
	}
}
