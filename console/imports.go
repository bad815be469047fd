package console

import (
	"context"
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
	// Progress, while an import runs, gives the rows read so far; it is
	// closed when the import is done.
	Progress <-chan int
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
	if err := c.loadImports(r, v, &d); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, status, "imports", v, d)
}

// loadImports reads the tabular import templates and the scheduled pulls.
func (c *Console) loadImports(r *http.Request, v *visit, d *importsData) error {
	all, err := c.Imports.Templates(r.Context(), v.workspaceID())
	if err != nil {
		return err
	}
	for _, t := range all {
		if t.Tabular && t.Direction == template.Import {
			d.Templates = append(d.Templates, t)
		}
	}
	if c.Pulls != nil {
		d.Pulls, _, err = c.Pulls.Pulls(r.Context(), v.workspaceID(), "", maxPulls)
	}
	return err
}

// runImport imports the uploaded CSV or Excel file through the chosen
// template. The page is streamed: a line after every chunk of rows shows
// the progress while the import runs, then the report follows with each
// failed row's errors. Only the bad rows fail.
func (c *Console) runImport(w http.ResponseWriter, r *http.Request, v *visit) {
	d := &importsData{Template: r.FormValue("template")}
	if p := calgate.TextProblem(d.Template, false); p != "" || d.Template == "" {
		if p == "" {
			p = "choose a template"
		}
		d.Template = ""
		d.Errors = []calgate.FieldError{{Field: "template", Message: p}}
		c.showImports(w, r, v, http.StatusUnprocessableEntity, *d)
		return
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		d.Errors = []calgate.FieldError{{Field: "file", Message: "choose a CSV or Excel file"}}
		c.showImports(w, r, v, http.StatusUnprocessableEntity, *d)
		return
	}
	defer file.Close()
	if err := c.loadImports(r, v, d); err != nil {
		c.fail(w, r, v, err)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	progress := make(chan int)
	done := make(chan struct{})
	d.Progress = progress
	opts := imports.ImportOptions{Simulate: r.FormValue("simulate") != "", Mode: r.FormValue("mode"), Sheet: r.FormValue("sheet"),
		Progress: func(n int) {
			select {
			case progress <- n:
			case <-ctx.Done():
			}
		}}
	go func() {
		defer close(done)
		defer close(progress)
		rep, err := c.Imports.ImportRows(ctx, &v.principal.Workspace, d.Template, v.actor(), file, opts)
		d.finish(rep, err, c)
	}()
	// The template ranges over the progress channel; it reads the report
	// only after the channel is closed, when the import has finished.
	c.stream(w, r, "imports", v, d)
	cancel()
	for range progress {
	}
	<-done
}

// finish records the outcome of an import in the page's data.
func (d *importsData) finish(rep *imports.Report, err error, c *Console) {
	var ve *calgate.ValidationError
	switch {
	case errors.As(err, &ve):
		d.Errors = ve.Errors
		return
	case err != nil:
		c.Logger.Error("console import", "template", d.Template, "err", err)
		d.Errors = []calgate.FieldError{{Field: "file", Message: "the import failed; the error was logged"}}
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
}
