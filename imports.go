package calgate

import (
	"context"
	"encoding/json"
	"time"
)

// ImportTemplate is a mapping template installed in a workspace: the JSON
// document the imports package parses, with the facts lists show.
type ImportTemplate struct {
	WorkspaceID string          `json:"-"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Kind        Kind            `json:"kind"`
	Direction   string          `json:"direction"`
	Document    json.RawMessage `json:"template"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// Import modes.
const (
	// ImportModeUpsert creates and updates entries and leaves the rest.
	ImportModeUpsert = "upsert"
	// ImportModeSync treats the import as a full snapshot of its source:
	// entries of that source the import no longer contains are archived.
	ImportModeSync = "sync"
)

// Pull run states.
const (
	PullRunOK      = "ok"
	PullRunFailed  = "failed"
	PullRunRunning = "running"
)

// PullDatabase is where a database pull reads its rows: a SQL query run
// on PostgreSQL or MySQL/MariaDB in a read-only transaction.
type PullDatabase struct {
	// Engine is "postgres" or "mysql" (MySQL and MariaDB).
	Engine string `json:"engine"`
	// Host is the server, as the DSN names it; the DSN itself is kept
	// only sealed (SealedDSN) and never shown.
	Host      string `json:"host"`
	SealedDSN string `json:"-"`
	// Query is a SELECT; calgate reads it as a derived table.
	Query string `json:"query"`
	// CursorColumn, when set, makes the pull incremental: each run reads
	// the rows whose value in that column is above the last run's.
	CursorColumn string `json:"cursor_column"`
	// Timeout bounds the query (the server's statement timeout).
	Timeout Duration `json:"timeout"`
	// MaxRows bounds the rows one run reads.
	MaxRows int `json:"max_rows"`
}

// PullCursor is where an incremental database pull goes on from: the
// cursor column's value in the last row the last successful run read.
type PullCursor struct {
	// Type is "time", "int", "float" or "text".
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Duration is a time.Duration written as "30s" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as Go writes it ("1m30s").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "30s", "2m" and the like.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// PullImport is a scheduled pull: a URL fetched, or a database query run,
// on a schedule and imported through a template.
type PullImport struct {
	ID          string `json:"id"`
	WorkspaceID string `json:"workspace_id"`
	Name        string `json:"name"`
	URL         string `json:"url"`
	// HeaderNames lists the names of the request headers; their values are
	// kept only sealed (SealedHeaders) and never shown.
	HeaderNames   []string `json:"header_names"`
	SealedHeaders string   `json:"-"`
	// Query holds the query parameters as given (a JSON object).
	Query json.RawMessage `json:"query"`
	// SinceParam, when set, is the query parameter that carries the start
	// time of the last successful run, written in SinceFormat.
	SinceParam  string `json:"since_param"`
	SinceFormat string `json:"since_format"`
	Template    string `json:"template"`
	// Database, when set, makes the pull read rows from a database
	// instead of fetching URL.
	Database *PullDatabase `json:"database,omitempty"`
	// Cursor is where an incremental database pull goes on from.
	Cursor *PullCursor `json:"cursor,omitempty"`
	// Sheet names the worksheet read from a fetched Excel workbook; empty
	// for the first.
	Sheet        string    `json:"sheet"`
	Mode         string    `json:"mode"`
	Schedule     string    `json:"schedule"`
	NotifyEmails []string  `json:"notify_emails"`
	NextRunAt    time.Time `json:"next_run_at"`
	// RunningSince is set while a run holds the pull.
	RunningSince *time.Time `json:"running_since"`
	LastRunAt    *time.Time `json:"last_run_at"`
	// LastSuccessAt is the start time of the last successful run: the
	// value of the incremental parameter of the next run.
	LastSuccessAt *time.Time `json:"last_success_at"`
	LastStatus    string     `json:"last_status"`
	LastError     string     `json:"last_error"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// PullRun is one run of a pull with its report.
type PullRun struct {
	ID          string    `json:"id"`
	PullID      string    `json:"pull_id"`
	WorkspaceID string    `json:"-"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at"`
	// Since is the incremental value sent, if any.
	Since  *time.Time      `json:"since"`
	Status string          `json:"status"`
	Error  string          `json:"error"`
	Report json.RawMessage `json:"report"`
	// Cursor, on a successful run of an incremental database pull, is
	// where the next run goes on from.
	Cursor *PullCursor `json:"-"`
}

// ImportStore keeps templates, pulls and their runs, and the two entry
// queries an import streamed in chunks needs.
type ImportStore interface {
	// CreateImportTemplate stores a new template (ErrConflict when the
	// name is taken).
	CreateImportTemplate(ctx context.Context, t *ImportTemplate) error
	// PutImportTemplate creates or replaces a template and reports whether
	// it was created.
	PutImportTemplate(ctx context.Context, t *ImportTemplate) (created bool, err error)
	ImportTemplate(ctx context.Context, workspaceID, name string) (*ImportTemplate, error)
	ImportTemplates(ctx context.Context, workspaceID string) ([]*ImportTemplate, error)
	DeleteImportTemplate(ctx context.Context, workspaceID, name string) error

	CreatePullImport(ctx context.Context, p *PullImport) error
	PullImport(ctx context.Context, workspaceID, id string) (*PullImport, error)
	PullImports(ctx context.Context, workspaceID, cursor string, limit int) ([]*PullImport, string, error)
	// UpdatePullImport writes the settings and next_run_at of p.
	UpdatePullImport(ctx context.Context, p *PullImport) error
	DeletePullImport(ctx context.Context, workspaceID, id string) error
	// ClaimDuePullImports moves next_run_at of up to limit pulls due at now
	// to leaseUntil, so that one worker of several gets each and a run lost
	// with the queue comes due again, and returns those this caller claimed
	// with NextRunAt holding the due time it claimed. The run schedules the
	// next one when it finishes.
	ClaimDuePullImports(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*PullImport, error)
	// StartPullRun sets running_since to now when no run holds the pull
	// (or the holder started before staleBefore) and reports whether this
	// caller got it.
	StartPullRun(ctx context.Context, workspaceID, id string, now, staleBefore time.Time) (bool, error)
	// FinishPullRun records a run, its outcome on the pull, and releases
	// running_since.
	FinishPullRun(ctx context.Context, run *PullRun, next time.Time) error
	PullRuns(ctx context.Context, workspaceID, pullID, cursor string, limit int) ([]*PullRun, string, error)

	// ExistingExternalIDs returns which of ids have a live or archived
	// entry of kind and source.
	ExistingExternalIDs(ctx context.Context, workspaceID string, kind Kind, source string, ids []string) (map[string]bool, error)
	// ArchiveMissing archives the live entries of the scope whose external
	// id keep rejects, each with its event, in one transaction (nothing is
	// written when simulate), and reports them.
	ArchiveMissing(ctx context.Context, workspaceID, actor string, scope SyncScope, keep func(externalID string) bool, simulate, verbose bool) (*BulkResult, error)
}
