package imports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports/sheet"
	"github.com/calgate/calgate/imports/template"
)

// ImportOptions control one import.
type ImportOptions struct {
	// Simulate runs everything and writes nothing.
	Simulate bool
	// Verbose lists every item's operation in the report.
	Verbose bool
	// StopOnError stops at the first item that fails; what came before it
	// is kept.
	StopOnError bool
	// Mode is calgate.ImportModeUpsert (default) or calgate.ImportModeSync.
	Mode string
	// Sheet names the worksheet of an Excel workbook to read; the first
	// one when empty. Only for files.
	Sheet string
	// Progress, when set, is called with the number of records or rows
	// read after each chunk and at the end.
	Progress func(records int)
	// Records are written in the transaction of the import's first chunk
	// (a compatibility surface's document with the entries it yields).
	Records []*calgate.Record
}

// Report is the outcome of an import: the bulk upsert report with the
// template, the mode and the number of records or rows read.
type Report struct {
	calgate.BulkResult
	Template string `json:"template"`
	Mode     string `json:"mode"`
	// Records counts the foreign records (JSON) or data rows (CSV, Excel).
	Records int `json:"records"`
	// SyncSkipped says why a sync import archived nothing.
	SyncSkipped string `json:"sync_skipped,omitempty"`
	// Cursor is, for an incremental database pull, the cursor column's
	// value in the last row read; More says the query had more rows,
	// which the next run reads.
	Cursor string `json:"cursor,omitempty"`
	More   bool   `json:"more,omitempty"`
}

// pending is one outcome waiting for its chunk's upsert.
type pending struct {
	index   int
	ref     string
	item    *calgate.UpsertItem
	skipped string
	// keepKey ("source\x00external id") is the key of a failed entry that
	// a sync must keep alive.
	keepKey string
}

// batch is one chunk of outcomes, handed from the reader to the writer,
// with the number of records or rows it came from.
type batch struct {
	items   []pending
	records int
	// syncSkipped says why a sync must not archive (set once).
	syncSkipped string
	// documents lists the whole documents the batch replaces; docs holds
	// every document key it has items of.
	documents []string
	docs      map[string]bool
	// recs are the records written with this batch.
	recs []*calgate.Record
}

// seenKey is what a chunked import remembers per entry: the chunk that
// last named it and a fingerprint of its content (simulations only).
type seenKey struct {
	chunk int
	sum   uint64
}

// importRun is the state of one import, streamed in chunks. Reading,
// mapping and validating run in one goroutine and fill a batch while the
// caller's goroutine writes the previous one, so parsing and the store's
// work overlap. Each batch is one store upsert; a sync archives, at the end
// and in one pass, what no chunk named; a simulation rolls every chunk back
// and corrects, from the fingerprints of earlier chunks, the outcome of an
// entry named again.
type importRun struct {
	s     *Service
	ws    *calgate.Workspace
	t     *template.Template
	actor string
	opts  ImportOptions
	rep   *Report
	// Reader side.
	cur   batch
	items int // global item index
	out   chan<- batch
	// Writer side.
	chunks  int
	seen    map[string]seenKey // source \x00 external id
	sources map[string]bool
	stopped bool
	// records are handed over with the first batch (reader side).
	records []*calgate.Record
}

func (s *Service) newRun(ws *calgate.Workspace, t *template.Template, actor string, opts ImportOptions) (*importRun, error) {
	switch opts.Mode {
	case "":
		opts.Mode = calgate.ImportModeUpsert
	case calgate.ImportModeUpsert, calgate.ImportModeSync:
	default:
		return nil, calgate.Invalid("mode", "must be %q or %q", calgate.ImportModeUpsert, calgate.ImportModeSync)
	}
	if t.Direction != template.Import {
		return nil, calgate.Invalid("template", "%q is an export template; import needs an import template", t.Name)
	}
	r := &importRun{s: s, ws: ws, t: t, actor: actor, opts: opts, sources: map[string]bool{}, records: opts.Records,
		rep: &Report{BulkResult: calgate.BulkResult{Simulated: opts.Simulate, Errors: []calgate.ItemResult{}}, Template: t.Name, Mode: opts.Mode}}
	if r.tracksKeys() {
		r.seen = map[string]seenKey{}
	}
	return r, nil
}

// run reads with read in a goroutine of its own and writes each batch it
// hands over in the caller's goroutine. read calls r.produced or r.add per
// outcome and r.record after each record, where a full batch is handed
// over. The writer stops early on the first failure with StopOnError, or
// when a write fails; otherwise what read returns is the import's error,
// after the batches handed over before it are written.
func (r *importRun) run(ctx context.Context, read func(ctx context.Context) error) (*Report, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batch)
	readErr := make(chan error, 1)
	r.out = batches
	go func() {
		defer close(batches)
		err := read(ctx)
		if err == nil {
			err = r.handOver(ctx)
		}
		readErr <- err
	}()
	for b := range batches {
		if r.stopped {
			continue // the reader sees the cancellation at its next hand-over
		}
		if err := r.flush(ctx, b); err != nil {
			cancel()
			for range batches {
			}
			return nil, err
		}
		if r.stopped {
			cancel()
		}
	}
	if err := <-readErr; err != nil && !r.stopped {
		return nil, err
	}
	return r.finish(ctx)
}

// record counts one record read and hands the batch over when it is full.
func (r *importRun) record(ctx context.Context) error {
	r.cur.records++
	return r.handOverFull(ctx)
}

// handOverFull hands the batch over when it is full.
func (r *importRun) handOverFull(ctx context.Context) error {
	if len(r.cur.items) < r.s.o.ChunkSize {
		return nil
	}
	return r.handOver(ctx)
}

// handOver passes the reader's batch to the writer.
func (r *importRun) handOver(ctx context.Context) error {
	if len(r.cur.items) == 0 && r.cur.records == 0 && len(r.cur.documents) == 0 && len(r.records) == 0 {
		return nil
	}
	r.cur.recs, r.records = r.records, nil
	select {
	case r.out <- r.cur:
		r.cur = batch{}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ImportJSON imports a JSON document (one record or a list of records)
// through the named template.
func (s *Service) ImportJSON(ctx context.Context, ws *calgate.Workspace, templateName, actor string, model []byte, opts ImportOptions) (*Report, error) {
	t, err := s.Resolve(ctx, ws.ID, templateName)
	if err != nil {
		return nil, err
	}
	if t.Tabular {
		return nil, calgate.Invalid("model", "templateName %q reads CSV or Excel rows: send the file as text/csv or .xlsx", t.Name)
	}
	if opts.Sheet != "" {
		return nil, calgate.Invalid("sheet", "is for Excel workbooks, not JSON records")
	}
	r, err := s.newRun(ws, t, actor, opts)
	if err != nil {
		return nil, err
	}
	records, list, bad, err := decodeRecords(model)
	if err != nil {
		return nil, err
	}
	return r.run(ctx, func(ctx context.Context) error {
		for i, rec := range records {
			prefix := ""
			if list {
				prefix = fmt.Sprintf("[%d]", i)
			}
			ps, err := []template.Produced(nil), bad[i]
			if err == nil && t.Whole() {
				if err := r.document(ctx, rec, prefix); err != nil {
					return err
				}
				continue
			}
			if err == nil {
				ps, err = t.Map(rec)
				if err != nil {
					err = calgate.Invalid(template.RecordRef(prefix), "%v", err)
				}
			}
			if err != nil {
				r.add(pending{ref: template.RecordRef(prefix), item: &calgate.UpsertItem{Ref: template.RecordRef(prefix), Err: err}})
			} else if len(ps) == 0 {
				r.add(pending{ref: template.RecordRef(prefix), skipped: "the record yields no entry"})
			}
			for _, p := range ps {
				p.Ref = joinRef(prefix, p.Ref)
				r.produced(p)
				// A large record spreads over several batches.
				if err := r.handOverFull(ctx); err != nil {
					return err
				}
			}
			if err := r.record(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}

// decodeRecords reads an import's model: one record or a list of them.
// A record whose text breaks the text rules (invalid UTF-8, a lone
// surrogate, NUL), which decoding would silently replace, gets its error
// in bad and fails alone.
func decodeRecords(model []byte) (records []any, list bool, bad map[int]error, err error) {
	if calgate.CheckJSONText(model, "") == nil {
		v, err := template.Decode(model)
		if err != nil {
			return nil, false, nil, calgate.DecodeError(err).Prefixed("model.")
		}
		records, list = v.([]any)
		if !list {
			records = []any{v}
		}
		return records, list, nil, nil
	}
	// Some record's text is bad: find which, one record at a time.
	trimmed := bytes.TrimSpace(model)
	var raws []json.RawMessage
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, false, nil, calgate.DecodeError(err).Prefixed("model.")
		}
		list = true
	} else {
		raws = []json.RawMessage{trimmed}
	}
	records = make([]any, len(raws))
	bad = map[int]error{}
	for i, raw := range raws {
		prefix := ""
		if list {
			prefix = fmt.Sprintf("[%d]", i)
		}
		if ve := calgate.CheckJSONText(raw, template.RecordRef(prefix)); ve != nil {
			bad[i] = ve
			continue
		}
		v, err := template.Decode(raw)
		if err != nil {
			return nil, false, nil, calgate.DecodeError(err).Prefixed("model" + prefix + ".")
		}
		records[i] = v
	}
	return records, list, bad, nil
}

func joinRef(prefix, ref string) string {
	switch {
	case prefix == "":
		return ref
	case ref == "":
		return prefix
	case ref[0] == '[':
		return prefix + ref
	default:
		return prefix + "." + ref
	}
}

// ImportRows imports a CSV or Excel file, streamed: rows are read, mapped
// and written a chunk at a time.
func (s *Service) ImportRows(ctx context.Context, ws *calgate.Workspace, templateName, actor string, file io.Reader, opts ImportOptions) (*Report, error) {
	t, err := s.Resolve(ctx, ws.ID, templateName)
	if err != nil {
		return nil, err
	}
	if !t.Tabular {
		return nil, calgate.Invalid("templateName", "%q maps JSON records, not CSV or Excel rows: send {\"model\": …}", t.Name)
	}
	r, err := s.newRun(ws, t, actor, opts)
	if err != nil {
		return nil, err
	}
	rows, err := sheet.Open(file, opts.Sheet)
	if errors.Is(err, sheet.ErrNoSheet) || errors.Is(err, sheet.ErrSheetOfCSV) {
		return nil, calgate.Invalid("sheet", "%v", err)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, fmt.Errorf("imports: read the file: %w", err)
	}
	if err != nil {
		return nil, calgate.Invalid("file", "%v", err)
	}
	defer rows.Close()
	return r.run(ctx, func(ctx context.Context) error { return r.readRows(ctx, rows) })
}

// ImportRowReader imports rows read elsewhere (a database pull's query)
// through the template t, which must read rows.
func (s *Service) ImportRowReader(ctx context.Context, ws *calgate.Workspace, t *template.Template, actor string, rows sheet.RowReader, opts ImportOptions) (*Report, error) {
	r, err := s.newRun(ws, t, actor, opts)
	if err != nil {
		return nil, err
	}
	return r.run(ctx, func(ctx context.Context) error { return r.readRows(ctx, rows) })
}

// readRows queues every row of rows.
func (r *importRun) readRows(ctx context.Context, rows sheet.RowReader) error {
	for {
		row, ref, bad, err := sheet.Next(rows)
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The upload stalled: the caller answers for the connection,
			// not for the file.
			return fmt.Errorf("imports: read the file: %w", err)
		case err != nil:
			return calgate.Invalid("file", "%v", err)
		case bad != nil:
			r.add(pending{ref: ref, item: &calgate.UpsertItem{Ref: ref, Err: bad}})
		default:
			r.produced(r.t.MapRow(row))
		}
		if err := r.record(ctx); err != nil {
			return err
		}
	}
}

// produced queues one produced entry: parsed, skipped or failed.
func (r *importRun) produced(p template.Produced) { r.producedIn(p, "") }

// producedIn queues one produced entry of a whole document (doc "" for
// none) and reports whether it failed.
func (r *importRun) producedIn(p template.Produced, doc string) bool {
	if p.Skipped != "" {
		r.add(pending{ref: p.Ref, skipped: p.Skipped})
		return false
	}
	e, err := r.t.Parse(p, r.ws.Timezone)
	if e != nil {
		e.Document = doc
	}
	it := &calgate.UpsertItem{Ref: p.Ref, Entry: e, Err: err}
	pd := pending{ref: p.Ref, item: it}
	if err != nil {
		it.Entry = nil
		// A failed entry whose key is known keeps its stored entry alive in
		// a sync.
		if ext, src := producedKey(p); ext != "" && r.tracksKeys() {
			if src != "" {
				pd.keepKey = src + "\x00" + ext
			}
		} else if r.opts.Mode == calgate.ImportModeSync && r.cur.syncSkipped == "" {
			r.cur.syncSkipped = fmt.Sprintf("%s failed before its external id was known, so nothing is archived", template.RecordRef(p.Ref))
		}
	}
	r.add(pd)
	return err != nil
}

// key returns the external id and source a produced entry was given.
func producedKey(p template.Produced) (externalID, source string) {
	if p.Fields == nil {
		return "", ""
	}
	return p.Fields.Key()
}

// tracksKeys says whether the run remembers the keys it wrote: a sync
// needs them, and so does a simulation to correct repeated keys.
func (r *importRun) tracksKeys() bool {
	return r.opts.Mode == calgate.ImportModeSync || r.opts.Simulate
}

func (r *importRun) add(p pending) {
	p.index = r.items
	r.items++
	r.cur.items = append(r.cur.items, p)
}

// flush writes a batch with one upsert and adds its outcomes, in item
// order, to the report.
func (r *importRun) flush(ctx context.Context, b batch) error {
	r.rep.Records += b.records
	if r.rep.SyncSkipped == "" {
		r.rep.SyncSkipped = b.syncSkipped
	}
	chunk := b.items
	records := b.recs
	if len(chunk) == 0 && len(b.documents) == 0 && len(records) == 0 {
		return nil
	}
	r.chunks++
	for _, p := range chunk {
		if p.keepKey != "" {
			r.seen[p.keepKey] = seenKey{chunk: -1}
		}
	}
	if err := r.filterSwitches(ctx, chunk); err != nil {
		return err
	}
	var items []calgate.UpsertItem
	var at []int // chunk position of each upsert item
	for i, p := range chunk {
		if p.item != nil {
			items = append(items, *p.item)
			at = append(at, i)
		}
	}
	results := make([]*calgate.ItemResult, len(chunk))
	stopped := false
	if len(items) > 0 || len(b.documents) > 0 || len(records) > 0 {
		res, err := r.s.d.Store.Upsert(ctx, r.ws.ID, r.actor, items, calgate.UpsertOptions{Simulate: r.opts.Simulate, Verbose: true,
			StopOnError: r.opts.StopOnError, Documents: b.documents, Records: records})
		if err != nil {
			return fmt.Errorf("imports: %s: %w", r.t.Name, err)
		}
		for i := range res.Operations {
			op := res.Operations[i]
			switch {
			case op.Index >= 0 && op.Index < len(at):
				results[at[op.Index]] = &op
			case op.Index < 0 && op.Operation == calgate.OpArchived:
				r.rep.Count(op, r.opts.Verbose)
			}
		}
		stopped = res.Stopped
	}
	for i, p := range chunk {
		res := results[i]
		switch {
		case p.skipped != "":
			res = &calgate.ItemResult{Ref: p.ref, Operation: calgate.OpSkipped, Reason: p.skipped}
		case res == nil:
			continue // after the stop
		}
		res.Index = p.index
		if p.item != nil && p.item.Entry != nil {
			r.remember(p.item.Entry, res)
		}
		r.rep.Count(*res, r.opts.Verbose)
	}
	if stopped {
		r.stopped = true
		r.rep.Stopped = true
	}
	if r.opts.Progress != nil {
		r.opts.Progress(r.rep.Records)
	}
	return nil
}

// remember records the key of a written entry for the sync pass and, in a
// simulation, corrects the outcome of a key an earlier chunk named: the
// store, whose earlier chunks were rolled back, cannot know it.
func (r *importRun) remember(e *calgate.Entry, res *calgate.ItemResult) {
	if r.seen == nil {
		return
	}
	r.sources[e.Source] = true
	key := e.Source + "\x00" + e.ExternalID
	var sum uint64
	if r.opts.Simulate {
		sum = fingerprint(e)
		if prev, ok := r.seen[key]; ok && prev.chunk >= 0 && prev.chunk < r.chunks && res.Operation != calgate.OpFailed {
			if prev.sum == sum {
				res.Operation = calgate.OpUnchanged
			} else {
				res.Operation = calgate.OpUpdated
			}
		}
	}
	r.seen[key] = seenKey{chunk: r.chunks, sum: sum}
}

func fingerprint(e *calgate.Entry) uint64 {
	c := e.Clone()
	c.ID, c.Version = "", 0
	c.CreatedAt, c.UpdatedAt, c.ArchivedAt = time.Time{}, time.Time{}, nil
	data, _ := json.Marshal(c.Wire())
	h := fnv.New64a()
	h.Write(data)
	return h.Sum64()
}

// filterSwitches applies the template's should_insert and should_update:
// an entry the template may not create or may not change is skipped.
func (r *importRun) filterSwitches(ctx context.Context, chunk []pending) error {
	if r.t.ShouldInsert && r.t.ShouldUpdate {
		return nil
	}
	type scope struct {
		kind   calgate.Kind
		source string
	}
	byScope := map[scope][]string{}
	for _, p := range chunk {
		if p.item != nil && p.item.Entry != nil {
			e := p.item.Entry
			k := scope{e.Kind, e.Source}
			byScope[k] = append(byScope[k], e.ExternalID)
		}
	}
	exists := map[scope]map[string]bool{}
	for k, ids := range byScope {
		m, err := r.s.d.Store.ExistingExternalIDs(ctx, r.ws.ID, k.kind, k.source, ids)
		if err != nil {
			return fmt.Errorf("imports: %s: %w", r.t.Name, err)
		}
		exists[k] = m
	}
	for i, p := range chunk {
		if p.item == nil || p.item.Entry == nil {
			continue
		}
		e := p.item.Entry
		found := exists[scope{e.Kind, e.Source}][e.ExternalID]
		switch {
		case found && !r.t.ShouldUpdate:
			r.remember(e, &calgate.ItemResult{Operation: calgate.OpSkipped})
			chunk[i] = pending{index: p.index, ref: p.ref, skipped: "the entry exists and the template's should_update is false"}
		case !found && !r.t.ShouldInsert:
			chunk[i] = pending{index: p.index, ref: p.ref, skipped: "the entry is new and the template's should_insert is false"}
		}
	}
	return nil
}

// finish writes the last chunk, runs the sync pass and notifies.
func (r *importRun) finish(ctx context.Context) (*Report, error) {
	if r.opts.Mode == calgate.ImportModeSync {
		switch {
		case r.stopped:
			r.rep.SyncSkipped = "the import stopped at the first error, so nothing is archived"
		case r.rep.SyncSkipped != "":
		case len(r.sources) == 0:
			r.rep.SyncSkipped = "the import named no entry, so nothing is archived"
		default:
			for src := range r.sources {
				keep := func(ext string) bool { _, ok := r.seen[src+"\x00"+ext]; return ok }
				res, err := r.s.d.Store.ArchiveMissing(ctx, r.ws.ID, r.actor, calgate.SyncScope{Kind: r.t.Kind, Source: src}, keep,
					r.opts.Simulate, r.opts.Verbose)
				if err != nil {
					return nil, fmt.Errorf("imports: %s: %w", r.t.Name, err)
				}
				for _, op := range res.Operations {
					r.rep.Count(op, true)
				}
				if !r.opts.Verbose {
					r.rep.Archived += res.Archived
				}
			}
		}
	}
	if !r.opts.Simulate && r.rep.Created+r.rep.Updated+r.rep.Archived > 0 {
		r.s.d.Notify()
	}
	if r.opts.Progress != nil {
		r.opts.Progress(r.rep.Records)
	}
	return r.rep, nil
}
