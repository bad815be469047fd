package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/imports"
	"github.com/calgate/calgate/imports/template"
)

// ImportService runs imports and exports through templates
// (imports.Service implements it).
type ImportService interface {
	Templates(ctx context.Context, workspaceID string) ([]imports.TemplateInfo, error)
	Template(ctx context.Context, workspaceID, name string) (imports.TemplateInfo, error)
	SaveTemplate(ctx context.Context, workspaceID, name string, doc []byte, create bool) (imports.TemplateInfo, bool, error)
	DeleteTemplate(ctx context.Context, workspaceID, name string) error
	ImportJSON(ctx context.Context, ws *calgate.Workspace, template, actor string, model []byte, opts imports.ImportOptions) (*imports.Report, error)
	ImportRows(ctx context.Context, ws *calgate.Workspace, template, actor string, file io.Reader, opts imports.ImportOptions) (*imports.Report, error)
	Export(ctx context.Context, workspaceID, name string, since time.Time, cursor string, limit int) (*imports.ExportPage, error)
	ExportTemplate(ctx context.Context, workspaceID, name string) (*template.Template, error)
	ExportEach(ctx context.Context, workspaceID string, t *template.Template, since time.Time, fn func(map[string]any) error) error
}

var _ ImportService = (*imports.Service)(nil)

// xlsxContentType is the media type of an Excel workbook.
const xlsxContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// importRequest is the JSON body of POST /v1/import/{template}.
type importRequest struct {
	Simulate    bool            `json:"simulate"`
	Verbose     bool            `json:"verbose"`
	StopOnError bool            `json:"stop_on_error"`
	Mode        string          `json:"mode"`
	Model       json.RawMessage `json:"model"`
}

// ImportRoutes are the routes of templates, imports and exports.
func (s *Server) ImportRoutes(svc ImportService) []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/v1/templates", Summary: "List the built-in and installed mapping templates", Tag: "imports",
			Response: "List_TemplateInfo", Handler: s.listTemplates(svc)},
		{Method: http.MethodPost, Path: "/v1/templates", Summary: "Install a mapping template (409 when the name is taken)", Tag: "imports",
			Request: "TemplateDocument", Response: "TemplateInfo", Status: http.StatusCreated, Handler: s.saveTemplate(svc, true)},
		{Method: http.MethodGet, Path: "/v1/templates/:name", Summary: "One template with its document", Tag: "imports",
			Response: "TemplateInfo", Handler: s.getTemplate(svc)},
		{Method: http.MethodPut, Path: "/v1/templates/:name", Summary: "Install or replace a template (built-ins cannot be replaced)", Tag: "imports",
			Request: "TemplateDocument", Response: "TemplateInfo", Handler: s.saveTemplate(svc, false)},
		{Method: http.MethodDelete, Path: "/v1/templates/:name", Summary: "Remove an installed template", Tag: "imports",
			Status: http.StatusNoContent, Handler: s.deleteTemplate(svc)},
		{Method: http.MethodPost, Path: "/v1/import/:template", Summary: "Import foreign JSON, CSV or Excel through a template", Tag: "imports",
			Request: "ImportRequest", Response: "ImportReport", Query: []string{"simulate", "verbose", "stop_on_error", "mode", "sheet"}, Handler: s.runImport(svc)},
		{Method: http.MethodGet, Path: "/v1/export/:template", Summary: "Entries changed since a time (and archived since it, marked deleted), rendered through an export template; as CSV with Accept: text/csv or {template}.csv", Tag: "imports",
			Response: "ExportPage", Query: []string{"since", "cursor", "limit", "bom"}, Handler: s.runExport(svc)},
	}
}

func (s *Server) listTemplates(svc ImportService) gin.HandlerFunc {
	return func(c *gin.Context) {
		list, err := svc.Templates(c.Request.Context(), principal(c).Workspace.ID)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, listReply[imports.TemplateInfo]{Items: list})
	}
}

func (s *Server) getTemplate(svc ImportService) gin.HandlerFunc {
	return func(c *gin.Context) {
		t, err := svc.Template(c.Request.Context(), principal(c).Workspace.ID, c.Param("name"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, t)
	}
}

func (s *Server) saveTemplate(svc ImportService, create bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		data, err := jsonBody(c, MaxBodyBytes)
		if err != nil {
			s.fail(c, err)
			return
		}
		t, created, err := svc.SaveTemplate(c.Request.Context(), principal(c).Workspace.ID, c.Param("name"), data, create)
		if err != nil {
			s.fail(c, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		c.JSON(status, t)
	}
}

func (s *Server) deleteTemplate(svc ImportService) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := svc.DeleteTemplate(c.Request.Context(), principal(c).Workspace.ID, c.Param("name")); err != nil {
			s.fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

// importOptions reads the options of a file import from the query and,
// for multipart bodies, the form fields.
func importOptions(c *gin.Context, form func(string) string) (imports.ImportOptions, error) {
	var o imports.ImportOptions
	get := func(name string) string {
		if v := c.Query(name); v != "" {
			return v
		}
		if form != nil {
			return form(name)
		}
		return ""
	}
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"simulate", &o.Simulate}, {"verbose", &o.Verbose}, {"stop_on_error", &o.StopOnError}} {
		if raw := get(f.name); raw != "" {
			v, err := strconv.ParseBool(raw)
			if err != nil {
				return o, badParam(f.name, "must be true or false")
			}
			*f.dst = v
		}
	}
	o.Mode = get("mode")
	o.Sheet = get("sheet")
	return o, nil
}

func (s *Server) runImport(svc ImportService) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principal(c)
		ctx := c.Request.Context()
		mt, params, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
		var rep *imports.Report
		var err error
		switch {
		case mt == "" || mt == "application/json":
			var req importRequest
			// Each record's text is checked on its own by the import.
			if err := bindJSONParts(c, MaxBulkBodyBytes, &req); err != nil {
				s.fail(c, err)
				return
			}
			if len(req.Model) == 0 {
				s.fail(c, calgate.Invalid("model", "is required: one foreign record or a list of them"))
				return
			}
			rep, err = svc.ImportJSON(ctx, &p.Workspace, c.Param("template"), actor(c), req.Model, imports.ImportOptions{
				Simulate: req.Simulate, Verbose: req.Verbose, StopOnError: req.StopOnError, Mode: req.Mode, Sheet: c.Query("sheet")})
		case mt == "multipart/form-data":
			rep, err = s.importMultipart(c, svc, params["boundary"])
		case mt == "text/csv" || mt == "text/plain" || mt == xlsxContentType || mt == "application/octet-stream" || mt == "application/vnd.ms-excel":
			var o imports.ImportOptions
			if o, err = importOptions(c, nil); err == nil {
				rep, err = svc.ImportRows(ctx, &p.Workspace, c.Param("template"), actor(c), fileBody(c), o)
			}
		default:
			err = &StatusError{Status: http.StatusUnsupportedMediaType, Detail: "send Content-Type: application/json, text/csv, an .xlsx workbook type or multipart/form-data with a file part, not " + mt,
				Fields: []calgate.FieldError{{Field: "Content-Type", Message: "must be application/json, text/csv, " + xlsxContentType + " or multipart/form-data, not " + mt}}}
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, rep)
	}
}

// importMultipart streams the "file" part of a multipart body; option
// fields must come before it (or in the query).
func (s *Server) importMultipart(c *gin.Context, svc ImportService, boundary string) (*imports.Report, error) {
	if boundary == "" {
		return nil, badParam("Content-Type", "multipart without a boundary")
	}
	mr := multipart.NewReader(fileBody(c), boundary)
	fields := map[string]string{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, calgate.Invalid("file", "is required: a multipart part named file with the CSV or Excel file")
		}
		if err != nil {
			return nil, calgate.Invalid("body", "%v", err)
		}
		name := part.FormName()
		if name != "file" {
			v, err := io.ReadAll(io.LimitReader(part, 1024))
			if err != nil {
				return nil, calgate.Invalid(name, "%v", err)
			}
			fields[name] = strings.TrimSpace(string(v))
			continue
		}
		o, err := importOptions(c, func(k string) string { return fields[k] })
		if err != nil {
			return nil, err
		}
		return svc.ImportRows(c.Request.Context(), &principal(c).Workspace, c.Param("template"), actor(c), part, o)
	}
}

func (s *Server) runExport(svc ImportService) gin.HandlerFunc {
	return func(c *gin.Context) {
		var since time.Time
		if raw := c.Query("since"); raw != "" {
			t, err := calgate.ParseSince(raw)
			if err != nil {
				s.fail(c, badParam("since", "%v", err))
				return
			}
			since = t
		}
		name := c.Param("template")
		if base, ok := strings.CutSuffix(name, ".csv"); ok {
			name = base
			c.Set(ctxCSV, true)
		}
		if WantsCSV(c) {
			s.exportCSV(c, svc, name, since)
			return
		}
		cursor, limit, err := pageParams(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		page, err := svc.Export(c.Request.Context(), principal(c).Workspace.ID, name, since, cursor, limit)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, page)
	}
}

// ImportSchemas are the OpenAPI schemas of the import routes, generated
// from the types the handlers read and write.
func ImportSchemas() map[string]any {
	tinfo := set(schemaOf[imports.TemplateInfo](), obj{
		"direction": enum(string(template.Import), string(template.Export)),
		"template":  obj{"type": "object", "description": "the template document (when one template is read)"},
	})
	report := operations(describe(schemaOf[imports.Report](), map[string]string{
		"records":      "foreign records (JSON) or data rows (CSV, Excel) read",
		"sync_skipped": "why a sync archived nothing",
		"cursor":       "an incremental database pull's cursor value in the last row read",
		"more":         "the query had more rows, which the next run reads",
	}))
	req := set(closed(schemaOf[importRequest]()), obj{
		"mode":  enum(calgate.ImportModeUpsert, calgate.ImportModeSync),
		"model": obj{"description": "one foreign record or a list of them"},
	})
	return map[string]any{
		"TemplateInfo":      tinfo,
		"List_TemplateInfo": listOf("TemplateInfo"),
		"TemplateDocument": obj{"type": "object", "description": "a mapping template (see docs/imports.md); its mappings are further members",
			"properties": obj{"name": str("the template's name, as addressed in URLs"), "kind": enum(kindNames()...),
				"direction": enum(string(template.Import), string(template.Export)), "description": str("")},
			"required": []string{"name", "kind", "direction"}, "additionalProperties": true},
		"ImportRequest": req,
		"ImportReport":  report,
		"ExportPage":    set(schemaOf[imports.ExportPage](), obj{"items": arrayOf(obj{"type": "object", "description": "an entry as the export template writes it"})}),
	}
}

// fileBody is the request body capped at imports.MaxFileBytes (plus room
// for multipart framing), or the copy the idempotency check already read.
func fileBody(c *gin.Context) io.Reader {
	if b, ok := c.Get(ctxBody); ok {
		return bytes.NewReader(b.([]byte))
	}
	return http.MaxBytesReader(c.Writer, c.Request.Body, imports.MaxFileBytes+1<<20)
}

// exportCSV answers an export as CSV: every entry the export selects, one
// row each, under the template's foreign field names.
func (s *Server) exportCSV(c *gin.Context, svc ImportService, name string, since time.Time) {
	ExportCSV(c, s, svc, principal(c).Workspace.ID, name, since)
}

// ExportCSV streams an export through the named export template as CSV
// (for the native export and the compatibility surfaces).
func ExportCSV(c *gin.Context, s *Server, svc ImportService, workspaceID, name string, since time.Time) {
	t, err := svc.ExportTemplate(c.Request.Context(), workspaceID, name)
	if err != nil {
		s.fail(c, err)
		return
	}
	cols := t.ExportColumns()
	w, err := NewCSVWriter(c, name+".csv", cols)
	if err != nil {
		s.fail(c, err)
		return
	}
	err = svc.ExportEach(c.Request.Context(), workspaceID, t, since, func(item map[string]any) error {
		return w.Row(imports.Flatten(item, cols))
	})
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		s.abortStream(c, err)
	}
}
