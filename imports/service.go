package imports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports/template"
)

// Limits and defaults of the import service.
const (
	// ChunkSize is how many items one store upsert call takes: an import
	// of any size is written in transactions of this many entries. Two
	// chunks are in memory at once (one read, one written); 5,000 made a
	// 100,000-row import 2-3% faster and the process 20 MB larger.
	ChunkSize = 2500
	// MaxFileBytes bounds an uploaded CSV or Excel file and a pulled body.
	MaxFileBytes = 100 << 20
)

// Store is what the service needs from the database.
type Store interface {
	calgate.ImportStore
	Upsert(ctx context.Context, workspaceID, actor string, items []calgate.UpsertItem, opts calgate.UpsertOptions) (*calgate.BulkResult, error)
	Entries(ctx context.Context, workspaceID string, f calgate.EntryFilter) ([]*calgate.Entry, string, error)
	Workspace(ctx context.Context, id string) (*calgate.Workspace, error)
	AppendEvent(ctx context.Context, ev *calgate.Event) error
}

// Deps are what imports work with: the templates and entries in the
// store.
type Deps struct {
	Store Store
	// Notify wakes the outbox dispatcher after writes outside the api.
	Notify func()
	Logger *slog.Logger
}

// Options are a Service's settings; zero values take the defaults.
type Options struct {
	// ChunkSize overrides ChunkSize (tests).
	ChunkSize int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Service installs templates and runs imports and exports through them
// (scheduled pulls are package pull's).
type Service struct {
	d Deps
	o Options
}

// New returns a Service.
func New(d Deps, o Options) *Service {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if d.Notify == nil {
		d.Notify = func() {}
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = ChunkSize
	}
	return &Service{d: d, o: o}
}

// Register implements the capability's shape: imports have no jobs or
// periodic work of their own (scheduled pulls register theirs).
func (s *Service) Register(calgate.Registry) {}

func (s *Service) now() time.Time { return s.o.Now().UTC().Truncate(time.Microsecond) }

// Direction says whether a template imports or exports.
type Direction = template.Direction

// TemplateInfo is a template as lists and reads show it.
type TemplateInfo struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Kind        calgate.Kind `json:"kind"`
	Direction   Direction    `json:"direction"`
	Tabular     bool         `json:"tabular"`
	Builtin     bool         `json:"builtin"`
	// Template is the document (only when one template is read).
	Template  *template.Template `json:"template,omitempty"`
	CreatedAt *time.Time         `json:"created_at,omitempty"`
	UpdatedAt *time.Time         `json:"updated_at,omitempty"`
}

func info(t *template.Template, builtin bool) TemplateInfo {
	return TemplateInfo{Name: t.Name, Description: t.Description, Kind: t.Kind, Direction: t.Direction, Tabular: t.Tabular, Builtin: builtin}
}

func isBuiltin(name string) bool {
	for _, n := range template.BuiltinNames() {
		if n == name {
			return true
		}
	}
	return false
}

// Templates lists the built-in templates, then the workspace's, by name.
func (s *Service) Templates(ctx context.Context, workspaceID string) ([]TemplateInfo, error) {
	out := []TemplateInfo{}
	builtins := template.Builtin()
	for _, name := range template.BuiltinNames() {
		if t, ok := builtins[name]; ok {
			out = append(out, info(t, true))
		}
	}
	stored, err := s.d.Store.ImportTemplates(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	for _, st := range stored {
		t, err := template.Parse(st.Document)
		if err != nil {
			s.d.Logger.Warn("stored template no longer parses", "workspace", workspaceID, "template", st.Name, "err", err)
			continue
		}
		ti := info(t, false)
		ti.CreatedAt, ti.UpdatedAt = &st.CreatedAt, &st.UpdatedAt
		out = append(out, ti)
	}
	return out, nil
}

// Template returns one template with its document.
func (s *Service) Template(ctx context.Context, workspaceID, name string) (TemplateInfo, error) {
	if t, err := template.LookupBuiltin(name); err == nil {
		ti := info(t, true)
		ti.Template = t
		return ti, nil
	}
	st, err := s.d.Store.ImportTemplate(ctx, workspaceID, name)
	if err != nil {
		return TemplateInfo{}, err
	}
	t, err := template.Parse(st.Document)
	if err != nil {
		return TemplateInfo{}, fmt.Errorf("imports: stored template %s: %w", name, err)
	}
	ti := info(t, false)
	ti.Template, ti.CreatedAt, ti.UpdatedAt = t, &st.CreatedAt, &st.UpdatedAt
	return ti, nil
}

// Resolve finds a template by name: a built-in or one of the workspace.
func (s *Service) Resolve(ctx context.Context, workspaceID, name string) (*template.Template, error) {
	if t, err := template.LookupBuiltin(name); err == nil {
		return t, nil
	}
	st, err := s.d.Store.ImportTemplate(ctx, workspaceID, name)
	if err != nil {
		return nil, err
	}
	t, err := template.Parse(st.Document)
	if err != nil {
		return nil, fmt.Errorf("imports: stored template %s: %w", name, err)
	}
	return t, nil
}

// SaveTemplate checks a template document and stores it. name is the name
// in the URL of a PUT ("" for a POST, which takes the document's); create
// refuses to replace. Built-in names are refused with ErrConflict.
func (s *Service) SaveTemplate(ctx context.Context, workspaceID, name string, doc []byte, create bool) (TemplateInfo, bool, error) {
	t, err := template.Parse(doc)
	if err != nil {
		return TemplateInfo{}, false, err
	}
	if name != "" && t.Name != name {
		return TemplateInfo{}, false, calgate.Invalid("name", "is %q but the URL names %q", t.Name, name)
	}
	if isBuiltin(t.Name) {
		return TemplateInfo{}, false, fmt.Errorf("imports: %q is a built-in template and cannot be replaced: choose another name: %w", t.Name, calgate.ErrConflict)
	}
	canonical, err := t.MarshalJSON()
	if err != nil {
		return TemplateInfo{}, false, fmt.Errorf("imports: template %s: %w", t.Name, err)
	}
	now := s.now()
	st := &calgate.ImportTemplate{WorkspaceID: workspaceID, Name: t.Name, Description: t.Description, Kind: t.Kind,
		Direction: string(t.Direction), Document: canonical, CreatedAt: now, UpdatedAt: now}
	created := true
	if create {
		err = s.d.Store.CreateImportTemplate(ctx, st)
	} else {
		created, err = s.d.Store.PutImportTemplate(ctx, st)
	}
	if err != nil {
		if errors.Is(err, calgate.ErrConflict) {
			return TemplateInfo{}, false, fmt.Errorf("imports: the workspace has a template named %q: replace it with PUT: %w", t.Name, calgate.ErrConflict)
		}
		return TemplateInfo{}, false, err
	}
	ti := info(t, false)
	ti.Template = t
	ti.UpdatedAt = &now
	return ti, created, nil
}

// DeleteTemplate removes a workspace template; built-ins cannot be removed.
func (s *Service) DeleteTemplate(ctx context.Context, workspaceID, name string) error {
	if isBuiltin(name) {
		return fmt.Errorf("imports: %q is a built-in template and cannot be deleted: %w", name, calgate.ErrConflict)
	}
	return s.d.Store.DeleteImportTemplate(ctx, workspaceID, name)
}

// ExportPage is one page of an export.
type ExportPage struct {
	Items      []map[string]any `json:"items"`
	NextCursor string           `json:"next_cursor"`
}

// Export renders the entries of the template's kind changed after since
// (zero: all), a page at a time, in id order. With since, entries archived
// after it come too, marked in the template's deleted field.
func (s *Service) Export(ctx context.Context, workspaceID, name string, since time.Time, cursor string, limit int) (*ExportPage, error) {
	t, err := s.ExportTemplate(ctx, workspaceID, name)
	if err != nil {
		return nil, err
	}
	entries, next, err := s.d.Store.Entries(ctx, workspaceID, exportFilter(t, since, cursor, limit))
	if err != nil {
		return nil, err
	}
	page := &ExportPage{Items: make([]map[string]any, 0, len(entries)), NextCursor: next}
	for _, e := range entries {
		m, err := exportItem(t, e)
		if err != nil {
			return nil, err
		}
		page.Items = append(page.Items, m)
	}
	return page, nil
}
