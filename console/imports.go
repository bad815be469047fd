package console

import (
	"errors"
	"net/http"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/imports"
	"github.com/calgate/calgate/imports/template"
)

type importsData struct {
	Templates []imports.TemplateInfo
	// Pulls are the scheduled pulls with their last run.
	Pulls    []*calgate.PullImport
	Template string
	Report   *imports.Report
	Errors   []calgate.FieldError
	// Rows are the row errors of the report, one line per field.
	Rows []rowError
}

// maxPulls caps the scheduled pulls the console lists.
const maxPulls = 200

type rowError struct {
	Row, ExternalID, Field, Message string
}

// importsPage shows the upload form with the tabular import templates.
func (c *Console) importsPage(w http.ResponseWriter, r *http.Request, v *visit) {
	c.showImports(w, r, v, http.StatusOK, importsData{})
}

func (c *Console) showImports(w http.ResponseWriter, r *http.Request, v *visit, status int, d importsData) {
	all, err := c.Imports.Templates(r.Context(), v.workspaceID())
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	for _, t := range all {
		if t.Tabular && t.Direction == template.Import {
			d.Templates = append(d.Templates, t)
		}
	}
	if d.Pulls, _, err = c.Imports.Pulls(r.Context(), v.workspaceID(), "", maxPulls); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, status, "imports", v, d)
}

// runImport imports the uploaded CSV or Excel file through the chosen
// template and shows the report with each failed row's errors. Only the
// bad rows fail.
func (c *Console) runImport(w http.ResponseWriter, r *http.Request, v *visit) {
	d := importsData{Template: r.FormValue("template")}
	if p := calgate.TextProblem(d.Template, false); p != "" || d.Template == "" {
		if p == "" {
			p = "choose a template"
		}
		d.Template = ""
		d.Errors = []calgate.FieldError{{Field: "template", Message: p}}
		c.showImports(w, r, v, http.StatusUnprocessableEntity, d)
		return
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		d.Errors = []calgate.FieldError{{Field: "file", Message: "choose a CSV or Excel file"}}
		c.showImports(w, r, v, http.StatusUnprocessableEntity, d)
		return
	}
	defer file.Close()
	opts := imports.ImportOptions{Simulate: r.FormValue("simulate") != "", Mode: r.FormValue("mode"), Sheet: r.FormValue("sheet")}
	rep, err := c.Imports.ImportRows(r.Context(), &v.principal.Workspace, d.Template, v.actor(), file, opts)
	if ve := (*calgate.ValidationError)(nil); errors.As(err, &ve) {
		d.Errors = ve.Errors
		c.showImports(w, r, v, http.StatusUnprocessableEntity, d)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	d.Report = rep
	for _, item := range rep.Errors {
		row := item.Ref
		if row == "" {
			row = "#" + itoa(item.Index+1)
		}
		if len(item.Errors) == 0 {
			d.Rows = append(d.Rows, rowError{Row: row, ExternalID: item.ExternalID, Message: item.Reason})
		}
		for _, fe := range item.Errors {
			d.Rows = append(d.Rows, rowError{Row: row, ExternalID: item.ExternalID, Field: fe.Field, Message: fe.Message})
		}
	}
	c.showImports(w, r, v, http.StatusOK, d)
}
