package pull

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-querystring/query"
	"github.com/robfig/cron/v3"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports"
	"github.com/calgate/calgate/imports/template"
	"github.com/calgate/calgate/outbound"
)

// Input is a pull's settings as a request gives them; nil fields are
// not set (defaults on create, unchanged on update).
type Input struct {
	Name *string
	URL  *string
	// Headers replaces every header when set.
	Headers      *map[string]string
	Query        json.RawMessage
	SinceParam   *string
	SinceFormat  *string
	Template     *string
	Sheet        *string
	Mode         *string
	Schedule     *string
	NotifyEmails *[]string
	// Database, when set, makes the pull read rows with a SQL query.
	Database *DatabaseInput
}

// maxSheetName is the length limit Excel sets on sheet names.
const maxSheetName = 31

// Limits of a pull's settings, documented in the README.
const (
	// MaxPullHeaders bounds the request headers of a pull.
	MaxPullHeaders = 50
	// MaxHeaderValueLength bounds each header value, in bytes.
	MaxHeaderValueLength = 8192
	// MaxQueryLength bounds the query parameters object, in bytes of JSON.
	MaxQueryLength = 64 << 10
	// MaxNotifyEmails bounds the addresses told of a failed pull.
	MaxNotifyEmails = 20
	// maxParamLength bounds since_param, since_format and schedule.
	maxParamLength = 255
	// maxHeaderNameLength bounds a header's name.
	maxHeaderNameLength = 256
)

// ParseSchedule reads a cron expression (five fields, or @every 15m,
// @hourly, …) or a bare Go duration ("15m", the same as @every 15m).
func ParseSchedule(spec string) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if d, err := time.ParseDuration(spec); err == nil {
		spec = "@every " + d.String()
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	if every, ok := sched.(cron.ConstantDelaySchedule); ok && every.Delay < MinInterval {
		return nil, fmt.Errorf("runs more often than every %s", MinInterval)
	}
	return sched, nil
}

// nextRun is the pull's next run after now, its cron schedule read in the
// workspace's time zone (06:00 is 06:00 there, summer and winter).
func nextRun(p *calgate.PullImport, now time.Time, loc *time.Location) time.Time {
	sched, err := ParseSchedule(p.Schedule)
	if err != nil {
		return now.Add(time.Hour)
	}
	return sched.Next(now.In(loc)).UTC()
}

// zoneOf returns a workspace's time zone (UTC when it cannot be had).
func (s *Service) zoneOf(ctx context.Context, workspaceID string) *time.Location {
	ws, err := s.d.Store.Workspace(ctx, workspaceID)
	if err != nil {
		return time.UTC
	}
	loc, err := calgate.LoadZone(ws.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// FormatSince writes t in a since format: rfc3339 (the default),
// yyyyMMddHHmmss (UTC, as PlanningPME reads it), unix (seconds), or a Go
// layout.
func FormatSince(t time.Time, format string) string {
	switch strings.ToLower(format) {
	case "", "rfc3339":
		return t.UTC().Format(time.RFC3339)
	case "yyyymmddhhmmss":
		return t.UTC().Format("20060102150405")
	case "unix":
		return fmt.Sprint(t.Unix())
	}
	return t.UTC().Format(format)
}

func validSinceFormat(f string) bool {
	switch strings.ToLower(f) {
	case "", "rfc3339", "yyyymmddhhmmss", "unix":
		return true
	}
	return strings.Contains(f, "2006") || strings.Contains(f, "15:04")
}

// queryValues encodes a JSON object of query parameters with
// go-querystring: the object becomes a struct type built at run time, one
// field per key tagged `url:"key,omitempty"` (nested objects become nested
// structs, encoded key[sub]; lists repeat the key), so the library's
// rules apply as they would to a hand-written options struct.
func queryValues(raw json.RawMessage) (url.Values, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return url.Values{}, nil
	}
	v, err := template.Decode(raw)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("must be a JSON object")
	}
	sv, err := structOf(m, "")
	if err != nil {
		return nil, err
	}
	return query.Values(sv.Interface())
}

func structOf(m map[string]any, at string) (reflect.Value, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var fields []reflect.StructField
	var vals []reflect.Value
	for i, k := range keys {
		if k == "" || strings.ContainsAny(k, ",\"") {
			return reflect.Value{}, fmt.Errorf("%s%q is not a usable parameter name", at, k)
		}
		var val reflect.Value
		switch x := m[k].(type) {
		case nil:
			continue
		case map[string]any:
			sub, err := structOf(x, at+k+".")
			if err != nil {
				return reflect.Value{}, err
			}
			val = sub
		case []any:
			list := make([]string, 0, len(x))
			for _, el := range x {
				switch el.(type) {
				case map[string]any, []any:
					return reflect.Value{}, fmt.Errorf("%s%s: lists may hold only strings, numbers and booleans", at, k)
				}
				list = append(list, fmt.Sprint(el))
			}
			val = reflect.ValueOf(list)
		case bool:
			val = reflect.ValueOf(x)
		default:
			val = reflect.ValueOf(fmt.Sprint(x))
		}
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: val.Type(),
			Tag: reflect.StructTag(fmt.Sprintf(`url:"%s"`, k))})
		vals = append(vals, val)
	}
	sv := reflect.New(reflect.StructOf(fields)).Elem()
	for i, v := range vals {
		sv.Field(i).Set(v)
	}
	return sv, nil
}

// apply checks in and writes it onto p.
func (s *Service) applyPull(ctx context.Context, p *calgate.PullImport, in Input, create bool) error {
	errs := &calgate.ValidationError{}
	if in.Name != nil {
		p.Name = strings.TrimSpace(*in.Name)
		errs.Line("name", p.Name, calgate.MaxDisplayNameLength)
	}
	if in.Database != nil {
		if in.URL != nil && strings.TrimSpace(*in.URL) != "" {
			errs.Add("url", "a pull reads a URL or a database, not both")
		}
		s.applyDatabase(p, in.Database, errs)
		if p.Database.Host != "" && p.Database.SealedDSN != "" && in.Database.DSN != nil {
			if err := outbound.CheckHost(ctx, p.Database.Host, s.o.AllowPrivate, s.d.Resolver); err != nil {
				errs.Add("database.dsn", "%v", err)
			}
		}
	}
	if p.Database != nil {
		for name, set := range map[string]bool{"headers": in.Headers != nil, "query": in.Query != nil, "since_param": in.SinceParam != nil,
			"since_format": in.SinceFormat != nil, "sheet": in.Sheet != nil} {
			if set {
				errs.Add(name, "is for pulls of a URL, not of a database")
			}
		}
	}
	if in.URL != nil && p.Database == nil {
		raw := strings.TrimSpace(*in.URL)
		u, err := url.Parse(raw)
		switch {
		case !errs.Line("url", raw, calgate.MaxURLLength):
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs.Add("url", "must be an http or https URL")
		default:
			if err := outbound.CheckURL(ctx, raw, s.o.AllowPrivate, s.d.Resolver); err != nil {
				errs.Add("url", "%v", err)
			}
			p.URL = raw
		}
	} else if create && p.Database == nil {
		errs.Add("url", "is required (or database)")
	}
	if in.Headers != nil {
		if len(*in.Headers) > MaxPullHeaders {
			errs.Add("headers", "at most %d headers (has %d)", MaxPullHeaders, len(*in.Headers))
		}
		names := make([]string, 0, len(*in.Headers))
		for k, v := range *in.Headers {
			switch {
			case k == "" || len(k) > maxHeaderNameLength || strings.ContainsAny(k, " :") || calgate.TextProblem(k, false) != "":
				errs.Add("headers."+k, "is not a valid header name")
			default:
				errs.Line("headers."+k, v, MaxHeaderValueLength)
			}
			names = append(names, http.CanonicalHeaderKey(k))
		}
		sort.Strings(names)
		data, err := json.Marshal(*in.Headers)
		if err != nil {
			errs.Add("headers", "%v", err)
		}
		p.HeaderNames, p.SealedHeaders = names, ""
		if len(*in.Headers) > 0 {
			p.SealedHeaders = s.d.Sealer.Seal(data)
		}
	}
	if in.Query != nil {
		if len(in.Query) > MaxQueryLength {
			errs.Add("query", "must be at most %d bytes of JSON", MaxQueryLength)
		} else if _, err := queryValues(in.Query); err != nil {
			errs.Add("query", "%v", err)
		} else {
			p.Query = in.Query
		}
	}
	if in.SinceParam != nil {
		p.SinceParam = strings.TrimSpace(*in.SinceParam)
		errs.Line("since_param", p.SinceParam, maxParamLength)
	}
	if in.SinceFormat != nil {
		if errs.Line("since_format", *in.SinceFormat, maxParamLength) && !validSinceFormat(*in.SinceFormat) {
			errs.Add("since_format", "must be rfc3339, yyyyMMddHHmmss, unix or a Go layout such as 2006-01-02 15:04:05")
		}
		p.SinceFormat = *in.SinceFormat
	}
	var t *template.Template
	if in.Template != nil {
		var err error
		if calgate.TextProblem(*in.Template, false) != "" || len(*in.Template) > calgate.MaxNameLength {
			err = calgate.ErrNotFound // no template has such a name
		} else {
			t, err = s.d.Importer.Resolve(ctx, p.WorkspaceID, *in.Template)
		}
		switch {
		case errors.Is(err, calgate.ErrNotFound):
			errs.Add("template", "no template named %q", *in.Template)
		case err != nil:
			return err
		case t.Direction != template.Import:
			errs.Add("template", "%q is an export template", *in.Template)
		case p.Database != nil && !t.Tabular:
			errs.Add("template", "%q maps JSON records; a database pull needs a template that reads rows (columns)", *in.Template)
		}
		p.Template = *in.Template
	} else if create {
		errs.Add("template", "is required")
	}
	if in.Sheet != nil {
		p.Sheet = strings.TrimSpace(*in.Sheet)
		if errs.Line("sheet", p.Sheet, 0) && utf8.RuneCountInString(p.Sheet) > maxSheetName {
			errs.Add("sheet", "must be at most %d characters, as Excel's sheet names are", maxSheetName)
		}
	}
	if p.Sheet != "" && (in.Sheet != nil || in.Template != nil) {
		if t == nil && in.Template == nil {
			var err error
			if t, err = s.d.Importer.Resolve(ctx, p.WorkspaceID, p.Template); err != nil && !errors.Is(err, calgate.ErrNotFound) {
				return err
			}
		}
		if t != nil && !t.Tabular {
			errs.Add("sheet", "is for templates that read CSV or Excel rows; %q maps JSON records", p.Template)
		}
	}
	if in.Mode != nil {
		if *in.Mode != calgate.ImportModeUpsert && *in.Mode != calgate.ImportModeSync {
			errs.Add("mode", "must be %q or %q", calgate.ImportModeUpsert, calgate.ImportModeSync)
		}
		p.Mode = *in.Mode
	}
	if p.Database != nil && p.Mode == calgate.ImportModeSync && p.Database.CursorColumn != "" {
		errs.Add("mode", "sync archives what a run does not read, so it cannot be combined with database.cursor_column")
	}
	if in.Schedule != nil {
		sched, err := ParseSchedule(*in.Schedule)
		switch {
		case !errs.Line("schedule", *in.Schedule, maxParamLength):
		case err != nil:
			errs.Add("schedule", "%v (use a cron expression such as */15 * * * *, @every 15m or a duration such as 1h)", err)
		default:
			p.Schedule = strings.TrimSpace(*in.Schedule)
			p.NextRunAt = sched.Next(s.now().In(s.zoneOf(ctx, p.WorkspaceID))).UTC()
		}
	} else if create {
		errs.Add("schedule", "is required")
	}
	if in.NotifyEmails != nil {
		if len(*in.NotifyEmails) > MaxNotifyEmails {
			errs.Add("notify_emails", "at most %d addresses (has %d)", MaxNotifyEmails, len(*in.NotifyEmails))
		}
		for i, a := range *in.NotifyEmails {
			field := fmt.Sprintf("notify_emails[%d]", i)
			if !errs.Line(field, a, 254) {
				continue
			}
			if _, err := mail.ParseAddress(a); err != nil {
				errs.Add(field, "is not an e-mail address")
			}
		}
		p.NotifyEmails = append([]string{}, *in.NotifyEmails...)
	}
	return errs.Err()
}

// CreatePull registers a scheduled pull.
func (s *Service) CreatePull(ctx context.Context, workspaceID string, in Input) (*calgate.PullImport, error) {
	now := s.now()
	p := &calgate.PullImport{ID: calgate.NewID("pull"), WorkspaceID: workspaceID, Mode: calgate.ImportModeUpsert,
		HeaderNames: []string{}, NotifyEmails: []string{}, CreatedAt: now, UpdatedAt: now}
	if err := s.applyPull(ctx, p, in, true); err != nil {
		return nil, err
	}
	if p.Name == "" {
		if u, err := url.Parse(p.URL); err == nil {
			p.Name = calgate.Truncate(u.Host, calgate.MaxDisplayNameLength)
		}
		if p.Database != nil {
			p.Name = p.Database.Host
		}
	}
	if err := s.d.Store.CreatePullImport(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// UpdatePull changes a pull's settings.
func (s *Service) UpdatePull(ctx context.Context, workspaceID, id string, in Input) (*calgate.PullImport, error) {
	p, err := s.d.Store.PullImport(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	if err := s.applyPull(ctx, p, in, false); err != nil {
		return nil, err
	}
	p.UpdatedAt = s.now()
	if err := s.d.Store.UpdatePullImport(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Pull returns one pull.
func (s *Service) Pull(ctx context.Context, workspaceID, id string) (*calgate.PullImport, error) {
	return s.d.Store.PullImport(ctx, workspaceID, id)
}

// Pulls lists a workspace's pulls.
func (s *Service) Pulls(ctx context.Context, workspaceID, cursor string, limit int) ([]*calgate.PullImport, string, error) {
	return s.d.Store.PullImports(ctx, workspaceID, cursor, limit)
}

// DeletePull removes a pull and its runs; its entries stay.
func (s *Service) DeletePull(ctx context.Context, workspaceID, id string) error {
	return s.d.Store.DeletePullImport(ctx, workspaceID, id)
}

// Runs lists a pull's runs, newest first.
func (s *Service) Runs(ctx context.Context, workspaceID, id, cursor string, limit int) ([]*calgate.PullRun, string, error) {
	if _, err := s.d.Store.PullImport(ctx, workspaceID, id); err != nil {
		return nil, "", err
	}
	return s.d.Store.PullRuns(ctx, workspaceID, id, cursor, limit)
}

// pullLease is how long a claimed run may wait before its pull comes due
// again: a run lost with the queue or a killed worker is claimed anew
// after it (a run still going meanwhile makes the new job skip).
const pullLease = 5 * time.Minute

// Sweep claims the pulls that are due and enqueues one run job for each,
// with the pull and its due time as the job id.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	due, err := s.d.Store.ClaimDuePullImports(ctx, now, now.Add(pullLease), sweepBatch)
	return calgate.EnqueueDue(ctx, s.d.Jobs, JobType, due, err, (*calgate.PullImport).DueRow)
}

// HandleJob runs one scheduled pull. A pull deleted meanwhile, or one
// another worker is running, is skipped.
func (s *Service) HandleJob(ctx context.Context, payload []byte) error {
	j, err := calgate.ParseDueRow(payload)
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	_, err = s.RunPull(ctx, j.WorkspaceID, j.ID)
	if errors.Is(err, calgate.ErrNotFound) || errors.Is(err, calgate.ErrConflict) {
		return nil
	}
	return err
}

// RunPull runs a pull now and returns the run. ErrConflict means another
// run holds the pull.
func (s *Service) RunPull(ctx context.Context, workspaceID, id string) (*calgate.PullRun, error) {
	started := s.now()
	ok, err := s.d.Store.StartPullRun(ctx, workspaceID, id, started, started.Add(-staleRun))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("pull: a run of pull %s is in progress: %w", id, calgate.ErrConflict)
	}
	p, err := s.d.Store.PullImport(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	run := &calgate.PullRun{ID: calgate.NewID("run"), PullID: p.ID, WorkspaceID: workspaceID, StartedAt: started, Since: p.LastSuccessAt}
	var rep *imports.Report
	var runErr error
	if p.Database != nil {
		ws, err := s.d.Store.Workspace(ctx, p.WorkspaceID)
		if err != nil {
			return nil, err
		}
		rep, run.Cursor, runErr = s.runDatabasePull(ctx, ws, p)
	} else {
		rep, runErr = s.runPull(ctx, p)
	}
	run.FinishedAt = s.now()
	run.Status = calgate.PullRunOK
	if rep != nil {
		run.Report, _ = json.Marshal(rep)
		if rep.Failed > 0 {
			runErr = errors.Join(runErr, fmt.Errorf("%d of the items failed", rep.Failed))
		}
	}
	if runErr != nil {
		run.Status, run.Error, run.Cursor = calgate.PullRunFailed, runErr.Error(), nil
	}
	// The outcome is recorded even when the caller's context ended.
	rec := context.WithoutCancel(ctx)
	if err := s.d.Store.FinishPullRun(rec, run, nextRun(p, run.FinishedAt, s.zoneOf(rec, p.WorkspaceID))); err != nil {
		return nil, err
	}
	if runErr != nil {
		s.alert(rec, p, run)
	}
	return run, nil
}

// runPull fetches the pull's URL and imports the body.
func (s *Service) runPull(ctx context.Context, p *calgate.PullImport) (*imports.Report, error) {
	ws, err := s.d.Store.Workspace(ctx, p.WorkspaceID)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		return nil, fmt.Errorf("the URL cannot be read: %w", err)
	}
	vals := u.Query()
	extra, err := queryValues(p.Query)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	for k, v := range extra {
		vals[k] = v
	}
	if p.SinceParam != "" && p.LastSuccessAt != nil {
		vals.Set(p.SinceParam, FormatSince(*p.LastSuccessAt, p.SinceFormat))
	}
	u.RawQuery = vals.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("the URL cannot be requested: %w", err)
	}
	req.Header.Set("Accept", "application/json, text/csv;q=0.9, */*;q=0.1")
	if p.SealedHeaders != "" {
		plain, err := s.d.Sealer.Open(p.SealedHeaders)
		if err != nil {
			return nil, fmt.Errorf("the stored headers cannot be decrypted (was the secret key changed?): %w", err)
		}
		var h map[string]string
		if err := json.Unmarshal(plain, &h); err != nil {
			return nil, fmt.Errorf("stored headers: %w", err)
		}
		for k, v := range h {
			req.Header.Set(k, v)
		}
	}
	resp, err := s.d.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", redactURL(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("fetch %s: the server answered HTTP %d %s", redactURL(u), resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	t, err := s.d.Importer.Resolve(ctx, p.WorkspaceID, p.Template)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", p.Template, err)
	}
	opts := imports.ImportOptions{Mode: p.Mode, Sheet: p.Sheet}
	actor := "pull/" + p.ID
	if t.Tabular {
		return s.d.Importer.ImportRows(ctx, ws, p.Template, actor, resp.Body, opts)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", redactURL(u), err)
	}
	return s.d.Importer.ImportJSON(ctx, ws, p.Template, actor, body, opts)
}

func redactURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.User = "", nil
	return c.String()
}

// alert raises import.failed for webhooks and e-mails the pull's
// addresses when SMTP is configured.
func (s *Service) alert(ctx context.Context, p *calgate.PullImport, run *calgate.PullRun) {
	data, _ := json.Marshal(map[string]any{"pull_id": p.ID, "name": p.Name, "run_id": run.ID, "template": p.Template,
		"started_at": run.StartedAt, "error": run.Error, "report": run.Report})
	ev := &calgate.Event{WorkspaceID: p.WorkspaceID, Type: calgate.EventImportFailed, Data: data, Actor: "pull/" + p.ID, CreatedAt: s.now()}
	if err := s.d.Store.AppendEvent(ctx, ev); err != nil {
		s.d.Logger.Error("import.failed event", "workspace", p.WorkspaceID, "pull", p.ID, "err", err)
	} else {
		s.d.Notify()
	}
	if s.d.Mailer == nil || len(p.NotifyEmails) == 0 {
		return
	}
	subject := fmt.Sprintf("calgate: import %q failed", p.Name)
	body := fmt.Sprintf("The scheduled import %q (%s) failed at %s.\n\nTemplate: %s\nError: %s\n\nThe run's report: GET /v1/pull-imports/%s/runs\n",
		p.Name, p.ID, run.StartedAt.Format(time.RFC3339), p.Template, run.Error, p.ID)
	if err := s.d.Mailer.Send(ctx, p.NotifyEmails, subject, body); err != nil {
		s.d.Logger.Error("import failure e-mail", "workspace", p.WorkspaceID, "pull", p.ID, "err", err)
	}
}
