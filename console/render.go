package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	calgate "github.com/calgate/calgate"
)

// pages are the parsed templates, one set per page, each with the layout.
type pages struct {
	byName map[string]*template.Template
}

var funcs = template.FuncMap{
	// when shows a time in the workspace's zone; "—" for none.
	"when": func(loc *time.Location, t any) string {
		var at time.Time
		switch v := t.(type) {
		case time.Time:
			at = v
		case *time.Time:
			if v != nil {
				at = *v
			}
		default:
			return fmt.Sprint(t)
		}
		if at.IsZero() {
			return "—"
		}
		if loc == nil {
			loc = time.UTC
		}
		return at.In(loc).Format("2006-01-02 15:04:05 MST")
	},
	"join": func(list any) string {
		switch v := list.(type) {
		case []string:
			return strings.Join(v, ", ")
		case []calgate.Kind:
			out := make([]string, len(v))
			for i, k := range v {
				out[i] = string(k)
			}
			return strings.Join(out, ", ")
		case []calgate.Status:
			out := make([]string, len(v))
			for i, s := range v {
				out[i] = string(s)
			}
			return strings.Join(out, ", ")
		}
		return fmt.Sprint(list)
	},
}

func parsePages() (*pages, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("console: parse %s: %w", name, err)
		}
		p.byName[base] = t
	}
	return p, nil
}

// frame is what the layout shows around every page.
type frame struct {
	Title     string
	Page      string
	CSRF      string
	User      string
	Admin     bool
	Workspace string
	Sections  sections
	// Loc is the workspace's time zone, in which times are shown.
	Loc  *time.Location
	Data any
}

// sections says which optional sections the console has.
type sections struct{ Feeds, Webhooks, Imports, Connectors bool }

// render writes a page with the layout; v is nil on the sign-in page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, v *visit, data any) {
	t := c.template(w, page)
	if t == nil {
		return
	}
	f := c.frameOf(page, v, data)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", f); err != nil {
		c.Logger.Error("console: render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// stream writes a page straight to the client, flushing after every
// write, for pages that show progress while they are made. Its status is
// 200: it is sent before the page is done.
func (c *Console) stream(w http.ResponseWriter, r *http.Request, page string, v *visit, data any) {
	t := c.template(w, page)
	if t == nil {
		return
	}
	f := c.frameOf(page, v, data)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := t.ExecuteTemplate(flushWriter{w: w, rc: http.NewResponseController(w)}, "layout", f); err != nil {
		c.Logger.Warn("console: stream", "page", page, "err", err)
	}
}

// flushWriter flushes every write to the client.
type flushWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		_ = f.rc.Flush()
	}
	return n, err
}

// template returns a page's template; for a page that does not exist it
// answers 500 and returns nil.
func (c *Console) template(w http.ResponseWriter, page string) *template.Template {
	t, ok := c.pages.byName[page]
	if !ok {
		c.Logger.Error("console: no such page", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
	return t
}

// frameOf is the layout's data around a page.
func (c *Console) frameOf(page string, v *visit, data any) frame {
	f := frame{Title: page, Page: page, Data: data,
		Sections: sections{Feeds: c.Feeds != nil, Webhooks: c.Webhooks != nil, Imports: c.Imports != nil, Connectors: c.Connectors != nil}}
	if v != nil {
		f.CSRF, f.User, f.Admin = v.session.CSRF, v.principal.Token.User, v.principal.Token.Admin
		f.Workspace = v.principal.Workspace.Name
		f.Loc = zoneOf(&v.principal.Workspace)
	}
	return f
}

// message is the data of the message page.
type message struct {
	Heading string
	Text    string
	Fields  []calgate.FieldError
}

// fail shows an error: not found as 404 (ids of other workspaces as ids
// that do not exist), bad input as 422 with its fields, anything else as
// 500 without details.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	var ve *calgate.ValidationError
	switch {
	case errors.Is(err, calgate.ErrNotFound):
		c.render(w, r, http.StatusNotFound, "message", v, message{Heading: "Not found", Text: "There is no such item in this workspace."})
	case errors.As(err, &ve):
		status := http.StatusUnprocessableEntity
		if ve.Malformed {
			status = http.StatusBadRequest
		}
		c.render(w, r, status, "message", v, message{Heading: "Please check the input", Fields: ve.Errors})
	case errors.Is(err, calgate.ErrConflict):
		c.render(w, r, http.StatusConflict, "message", v, message{Heading: "Conflict", Text: err.Error()})
	default:
		c.Logger.Error("console", "path", r.URL.Path, "err", err)
		c.render(w, r, http.StatusInternalServerError, "message", v, message{Heading: "Something went wrong", Text: "The error was logged."})
	}
}

func (c *Console) forbidden(w http.ResponseWriter, r *http.Request, v *visit) {
	c.render(w, r, http.StatusForbidden, "message", v, message{Heading: "Form refused",
		Text: "The form was missing its security token or came from another site. Reload the page and try again."})
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	v, _ := c.visitOf(r)
	c.render(w, r, http.StatusNotFound, "message", v, message{Heading: "Not found", Text: "There is no such page."})
}
