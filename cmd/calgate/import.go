package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/imports"
	"github.com/calgate/calgate/store"
)

const importUsage = "usage: calgate import --template T [--workspace W | --url https://gateway --token TOKEN] [--simulate] [--verbose] [--stop-on-error] [--mode upsert|sync] [--sheet NAME] FILE"

// runImport imports a CSV, Excel or JSON file through a template, into the
// configured database or through a remote gateway's /v1/import, with a
// progress bar on stderr and the report on stdout.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import", "import --template T [--workspace W | --url https://gateway --token TOKEN] [flags] FILE",
		"Import a CSV, Excel or JSON file through a mapping template, into the configured database or\ninto a running gateway (--url). A progress bar goes to stderr, the report to stdout.")
	template := fs.String("template", "", "the template to import through (required)")
	workspace := fs.String("workspace", "default", "workspace name, for imports into the configured database")
	remote := fs.String("url", "", "base URL of a remote gateway; the file is posted to its /v1/import/TEMPLATE")
	simulate := fs.Bool("simulate", false, "run everything, write nothing")
	verbose := fs.Bool("verbose", false, "list every item's operation in the report")
	stopOnError := fs.Bool("stop-on-error", false, "stop at the first failed item")
	mode := fs.String("mode", calgate.ImportModeUpsert, "upsert, or sync to archive the source's entries the file no longer contains")
	sheet := fs.String("sheet", "", "the worksheet of an Excel workbook to read (default: the first)")
	cfg, err := parseConfig(fs, scopeStore|scopeWorkspace|scopeClient, args, stdout)
	if err != nil {
		return err
	}
	rest := fs.Args()
	if *template == "" || len(rest) != 1 {
		return fmt.Errorf("%s (see calgate import --help)", importUsage)
	}
	f, err := os.Open(rest[0])
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	bar := newProgress(stderr, st.Size())
	in := &countingReader{r: f, n: &bar.bytes}
	opts := imports.ImportOptions{Simulate: *simulate, Verbose: *verbose, StopOnError: *stopOnError, Mode: *mode, Sheet: *sheet,
		Progress: func(n int) { bar.rows.Store(int64(n)); bar.draw(false) }}
	isJSON := strings.EqualFold(filepath.Ext(rest[0]), ".json")
	if isJSON && *sheet != "" {
		return fmt.Errorf("--sheet is for Excel workbooks, not JSON files")
	}
	var report any
	if *remote != "" {
		report, err = importRemote(ctx, *remote, cfg.Imports.Token, *template, rest[0], in, isJSON, opts, bar)
	} else {
		report, err = importLocal(ctx, cfg, *workspace, *template, in, isJSON, opts)
	}
	bar.draw(true)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(report)
}

func importLocal(ctx context.Context, cfg *Config, workspace, template string, in io.Reader, isJSON bool, opts imports.ImportOptions) (*imports.Report, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir, cfg.logger())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ws, err := ensureWorkspace(ctx, db, workspace, cfg.DefaultTimezone)
	if err != nil {
		return nil, err
	}
	svc := imports.New(imports.Deps{Store: db, Logger: cfg.logger()}, imports.Options{})
	if isJSON {
		data, err := io.ReadAll(io.LimitReader(in, imports.MaxFileBytes+1))
		if err != nil {
			return nil, err
		}
		return svc.ImportJSON(ctx, ws, template, "cli/import", data, opts)
	}
	return svc.ImportRows(ctx, ws, template, "cli/import", in, opts)
}

func importRemote(ctx context.Context, base, token, template, name string, in io.Reader, isJSON bool, opts imports.ImportOptions, bar *progress) (json.RawMessage, error) {
	q := url.Values{}
	q.Set("simulate", strconv.FormatBool(opts.Simulate))
	q.Set("verbose", strconv.FormatBool(opts.Verbose))
	q.Set("stop_on_error", strconv.FormatBool(opts.StopOnError))
	q.Set("mode", opts.Mode)
	if opts.Sheet != "" {
		q.Set("sheet", opts.Sheet)
	}
	target := strings.TrimRight(base, "/") + "/v1/import/" + url.PathEscape(template)
	var body io.Reader = in
	ctype := "text/csv"
	switch {
	case isJSON:
		model, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		doc, err := json.Marshal(map[string]any{"simulate": opts.Simulate, "verbose": opts.Verbose, "stop_on_error": opts.StopOnError,
			"mode": opts.Mode, "model": json.RawMessage(model)})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		body, ctype = strings.NewReader(string(doc)), "application/json"
	case strings.EqualFold(filepath.Ext(name), ".xlsx"):
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		target += "?" + q.Encode()
	default:
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	stopBar := bar.redrawEvery(500 * time.Millisecond)
	resp, err := http.DefaultClient.Do(req)
	stopBar()
	if err != nil {
		return nil, fmt.Errorf("import to %s: %w", base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("import to %s: %w", base, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("import to %s: HTTP %d: %s", base, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	var rep struct {
		Records int `json:"records"`
	}
	if json.Unmarshal(data, &rep) == nil {
		bar.rows.Store(int64(rep.Records))
	}
	return json.RawMessage(data), nil
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progress draws the share of the file read and the rows processed: a bar
// redrawn in place on a terminal, a plain line every few seconds otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	total int64
	bytes atomic.Int64
	rows  atomic.Int64
	last  atomic.Int64 // unix nanos of the last plain line
}

func newProgress(w io.Writer, total int64) *progress {
	p := &progress{w: w, total: total}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// redrawEvery redraws the bar every interval (while a remote gateway
// reads the file) until stop is called.
func (p *progress) redrawEvery(interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(interval):
				p.draw(false)
			}
		}
	}()
	return cancel
}

func (p *progress) draw(final bool) {
	read, rows := p.bytes.Load(), p.rows.Load()
	pct := 100.0
	if p.total > 0 {
		pct = min(100, float64(read)*100/float64(p.total))
	}
	if p.tty {
		const width = 30
		filled := int(pct / 100 * width)
		fmt.Fprintf(p.w, "\r[%s%s] %5.1f%%  %d rows", strings.Repeat("#", filled), strings.Repeat(" ", width-filled), pct, rows)
		if final {
			fmt.Fprintln(p.w)
		}
		return
	}
	now := time.Now().UnixNano()
	if !final && now-p.last.Load() < int64(2*time.Second) {
		return
	}
	p.last.Store(now)
	fmt.Fprintf(p.w, "import: %.0f%% of the file read, %d rows processed\n", pct, rows)
}
