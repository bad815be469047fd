// Package planningpme serves PlanningPME's custom integration API, so
// that a client written for PlanningPME imports into and exports from
// calgate by changing its base URL and token:
//
//	GET  /{workspace}/api/integration/templates
//	GET  /{workspace}/api/integration/{template}?since=yyyyMMddHHmmss
//	POST /{workspace}/api/integration/{template}   {simulate, verbose, stopOnError, model}
//
// with the headers X-APPKEY (required, any value) and Authorization (a
// calgate token, with or without "Bearer "). {workspace} stands where
// PlanningPME has the customer's brand and must name the token's
// workspace. Templates are calgate's mapping templates (imports package),
// built-in and installed; imports run through imports.Service, exports
// include what was archived since "since", marked deleted.
package planningpme

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/compat"
	"github.com/calgate/calgate/imports"
)

// Surface is the PlanningPME integration API.
type Surface struct {
	srv *api.Server
	svc *imports.Service
}

// New returns the surface; mount its Routes on srv.
func New(srv *api.Server, svc *imports.Service) *Surface {
	return &Surface{srv: srv, svc: svc}
}

// Routes are the surface's routes.
func (p *Surface) Routes() []api.Route {
	base := "/:workspace/api/integration"
	return []api.Route{
		{Method: http.MethodGet, Path: base + "/templates", Summary: "PlanningPME: the installed import and export templates", Tag: "compat-planningpme",
			Handler: p.guard(p.templates)},
		{Method: http.MethodGet, Path: base + "/:template", Summary: "PlanningPME: export through a template (since=yyyyMMddHHmmss; archived entries come marked deleted)", Tag: "compat-planningpme",
			Query: []string{"since", "bom"}, Handler: p.guard(p.export)},
		{Method: http.MethodPost, Path: base + "/:template", Summary: "PlanningPME: import through a template ({simulate, verbose, stopOnError, model})", Tag: "compat-planningpme",
			Request: "PlanningPMEImport", Response: "ImportReport", Handler: p.guard(p.importModel)},
	}
}

// Schemas are the OpenAPI schemas of the routes, generated from the body
// the import reads.
func Schemas() map[string]any {
	req := api.SchemaOf[importBody]()
	req["properties"].(map[string]any)["model"] = map[string]any{"description": "one foreign record or a list of them"}
	return map[string]any{"PlanningPMEImport": req}
}

// guard checks the X-APPKEY header and that the path names the token's
// workspace (another workspace's name is answered 404, as a foreign id).
func (p *Surface) guard(h gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.GetHeader("X-APPKEY") == "" {
			p.srv.Fail(c, &api.StatusError{Status: http.StatusUnauthorized, Detail: "PlanningPME requests carry X-APPKEY",
				Fields: []calgate.FieldError{{Field: "X-APPKEY", Message: "is required"}}})
			return
		}
		if c.Param("workspace") != api.PrincipalOf(c).Workspace.Name {
			p.srv.Fail(c, calgate.ErrNotFound)
			return
		}
		h(c)
	}
}

func (p *Surface) templates(c *gin.Context) {
	ws := api.PrincipalOf(c).Workspace.ID
	list, err := p.svc.Templates(c.Request.Context(), ws)
	if err != nil {
		p.srv.Fail(c, err)
		return
	}
	out := make([]imports.TemplateInfo, 0, len(list))
	for _, ti := range list {
		full, err := p.svc.Template(c.Request.Context(), ws, ti.Name)
		if err != nil {
			p.srv.Fail(c, err)
			return
		}
		out = append(out, full)
	}
	c.JSON(http.StatusOK, out)
}

func (p *Surface) export(c *gin.Context) {
	var since time.Time
	if raw := c.Query("since"); raw != "" {
		t, err := calgate.ParseSince(raw)
		if err != nil {
			p.srv.Fail(c, &calgate.ValidationError{Malformed: true, Errors: []calgate.FieldError{{Field: "since", Message: err.Error()}}})
			return
		}
		since = t
	}
	ws := api.PrincipalOf(c).Workspace.ID
	if api.WantsCSV(c) {
		api.ExportCSV(c, p.srv, p.svc, ws, c.Param("template"), since)
		return
	}
	t, err := p.svc.ExportTemplate(c.Request.Context(), ws, c.Param("template"))
	if err != nil {
		p.srv.Fail(c, err)
		return
	}
	// PlanningPME exports everything at once: a JSON array, streamed.
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Status(http.StatusOK)
	enc := json.NewEncoder(c.Writer)
	first := true
	_, _ = c.Writer.Write([]byte("["))
	err = p.svc.ExportEach(c.Request.Context(), ws, t, since, func(item map[string]any) error {
		if !first {
			if _, err := c.Writer.Write([]byte(",")); err != nil {
				return err
			}
		}
		first = false
		return enc.Encode(item)
	})
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_, _ = c.Writer.Write([]byte("]\n"))
}

// importBody is PlanningPME's import request.
type importBody struct {
	Simulate    bool            `json:"simulate"`
	Verbose     bool            `json:"verbose"`
	StopOnError bool            `json:"stopOnError"`
	Model       json.RawMessage `json:"model"`
}

func (p *Surface) importModel(c *gin.Context) {
	data, err := api.ReadBody(c, api.MaxBulkBodyBytes)
	if err != nil {
		p.srv.Fail(c, err)
		return
	}
	var req importBody
	if err := api.DecodeStrict(data, &req); err != nil {
		// PlanningPME's documentation writes the body with bare keys.
		var ve *calgate.ValidationError
		if !errors.As(err, &ve) || api.DecodeStrict(compat.QuoteKeys(data), &req) != nil {
			p.srv.Fail(c, err)
			return
		}
	}
	if len(req.Model) == 0 || string(req.Model) == "null" {
		p.srv.Fail(c, calgate.Invalid("model", "is required: one record or a list of records"))
		return
	}
	pr := api.PrincipalOf(c)
	rep, err := p.svc.ImportJSON(c.Request.Context(), &pr.Workspace, c.Param("template"), api.ActorOf(c), req.Model,
		imports.ImportOptions{Simulate: req.Simulate, Verbose: req.Verbose, StopOnError: req.StopOnError})
	if err != nil {
		p.srv.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}
