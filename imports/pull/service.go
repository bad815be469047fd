package pull

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports"
	"github.com/calgate/calgate/imports/sheet"
	"github.com/calgate/calgate/imports/template"
)

// Limits and defaults of scheduled pulls.
const (
	// Timeout bounds one fetch of a pull.
	Timeout = 60 * time.Second
	// JobType is the queue job that runs one pull.
	JobType = "import_pull_run"
	// SweepInterval is how often every worker looks for due pulls.
	SweepInterval = 15 * time.Second
	// MinInterval is the shortest schedule a pull may have.
	MinInterval = time.Minute
	// staleRun is after how long a run that never finished (its worker
	// died) no longer holds its pull.
	staleRun   = 30 * time.Minute
	sweepBatch = 100
)

// Store is what pulls need from the database.
type Store interface {
	calgate.ImportStore
	Workspace(ctx context.Context, id string) (*calgate.Workspace, error)
	AppendEvent(ctx context.Context, ev *calgate.Event) error
}

// Importer imports what a pull fetched through a template
// (imports.Service implements it).
type Importer interface {
	Resolve(ctx context.Context, workspaceID, name string) (*template.Template, error)
	ImportRows(ctx context.Context, ws *calgate.Workspace, templateName, actor string, file io.Reader, opts imports.ImportOptions) (*imports.Report, error)
	ImportJSON(ctx context.Context, ws *calgate.Workspace, templateName, actor string, model []byte, opts imports.ImportOptions) (*imports.Report, error)
	ImportRowReader(ctx context.Context, ws *calgate.Workspace, t *template.Template, actor string, rows sheet.RowReader, opts imports.ImportOptions) (*imports.Report, error)
}

var _ Importer = (*imports.Service)(nil)

// Sealer encrypts stored pull headers and DSNs (vault.Vault implements
// it).
type Sealer interface {
	Seal(plaintext []byte) string
	Open(sealed string) ([]byte, error)
}

// Mailer sends the e-mail of a failed pull (mail.Mailer implements it).
type Mailer interface {
	Send(ctx context.Context, to []string, subject, body string) error
}

// Deps are what pulls work with: the pulls in the store, the importer,
// the client that fetches, the queue of their runs.
type Deps struct {
	Store    Store
	Importer Importer
	// Client fetches pulls: the hardened outbound client, capped at
	// imports.MaxFileBytes with Timeout.
	Client *http.Client
	Jobs   calgate.Jobs
	Sealer Sealer
	// Resolver checks URL hosts (nil: net.DefaultResolver).
	Resolver *net.Resolver
	// Mailer sends the e-mail of a failed pull (nil: no e-mail).
	Mailer Mailer
	// Notify wakes the outbox dispatcher after writes outside the api.
	Notify func()
	Logger *slog.Logger
}

// Options are a Service's settings; zero values take the defaults.
type Options struct {
	// AllowPrivate lets pull URLs and databases name private and loopback
	// hosts.
	AllowPrivate bool
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Service schedules pulls, runs them, and records and reports their runs.
type Service struct {
	d Deps
	o Options
}

// New returns a Service.
func New(d Deps, o Options) *Service {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Notify == nil {
		d.Notify = func() {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{d: d, o: o}
}

// Register plugs the run job of pulls and the sweep that finds due ones
// into the queue.
func (s *Service) Register(r calgate.Registry) {
	r.HandleJob(JobType, calgate.Policy{MaxRetry: 1, Timeout: 30 * time.Minute}, s.HandleJob)
	r.Every("import-pulls-sweep", SweepInterval, s.Sweep)
}

func (s *Service) now() time.Time { return s.o.Now().UTC().Truncate(time.Microsecond) }
