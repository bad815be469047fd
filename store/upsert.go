package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/calgate/calgate"
)

// Advisory locks of bulk upserts on PostgreSQL. Keys are hashed into
// lockBuckets locks so that a batch of any size takes a bounded number of
// them (the server's lock table holds only max_locks_per_transaction ×
// max_connections); two writers of the same key always meet on its bucket.
const (
	lockBuckets = 1024
	keyLockBase = int64(0x63616c67) << 32 // "calg", then the bucket
)

// loadChunk bounds the external ids of one lookup query.
const loadChunk = 500

// entryKey identifies an entry within a workspace.
type entryKey struct {
	kind       calgate.Kind
	source     string
	externalID string
}

type scopeKey struct {
	kind   calgate.Kind
	source string
}

func (k entryKey) scope() scopeKey { return scopeKey{k.kind, k.source} }

func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func keyLock(workspaceID string, k entryKey) int64 {
	return keyLockBase + int64(hash64(workspaceID, string(k.kind), k.source, k.externalID)%lockBuckets)
}

func scopeLock(workspaceID string, s scopeKey) int64 {
	return int64(hash64("scope", workspaceID, string(s.kind), s.source))
}

func documentLock(workspaceID, document string) int64 {
	return int64(hash64("document", workspaceID, document))
}

// itemFailure returns the failure report of an item that cannot be
// written, or nil.
func itemFailure(i int, it calgate.UpsertItem) *calgate.ItemResult {
	r := &calgate.ItemResult{Index: i, Ref: it.Ref, Operation: calgate.OpFailed}
	if it.Entry != nil {
		r.ExternalID, r.Kind = it.Entry.ExternalID, it.Entry.Kind
	}
	var ve *calgate.ValidationError
	switch {
	case errors.As(it.Err, &ve):
		r.Errors = append([]calgate.FieldError(nil), ve.Errors...)
	case it.Err != nil:
		r.Reason = it.Err.Error()
	case it.Entry == nil:
		r.Reason = "no entry"
	default:
		// Every entry written passes the domain's validation, whichever
		// path made it (API, import, subscription, compat, connector).
		err := it.Entry.Validate()
		if err == nil {
			return nil
		}
		var ve *calgate.ValidationError
		if errors.As(err, &ve) {
			r.Errors = append([]calgate.FieldError(nil), ve.Errors...)
		} else {
			r.Reason = err.Error()
		}
	}
	return r
}

// upsertRun is the state of one Upsert call.
type upsertRun struct {
	db          *DB
	tx          *sql.Tx
	workspaceID string
	actor       string
	now         time.Time
	opts        calgate.UpsertOptions
	res         *calgate.BulkResult
	// current is the latest state of every key loaded or written.
	current map[entryKey]*calgate.Entry
	// inserted marks keys created by this call, so a later change of the
	// same key rewrites the pending insert.
	inserted map[entryKey]bool
	inserts  []entryKey
	updates  map[entryKey]bool
	order    []entryKey // update order
	events   []*calgate.Event
	// stored holds, with UpsertOptions.Return, the written entries as
	// the writes returned them.
	stored map[entryKey]*calgate.Entry
	// conf keeps the double bookings of the written resources in step.
	conf *conflictRun
}

// spans returns, per resource, the span of time the good items change:
// where their entries were and where they go.
func (u *upsertRun) spans(items []calgate.UpsertItem, failures map[int]*calgate.ItemResult) map[string]calgate.Interval {
	out := map[string]calgate.Interval{}
	for i, it := range items {
		if failures[i] != nil {
			continue
		}
		widen(out, it.Entry)
		widen(out, u.current[entryKey{it.Entry.Kind, it.Entry.Source, it.Entry.ExternalID}])
	}
	return out
}

// refuse is the failure of an item that would double-book a resource
// whose policy is reject.
func refuse(r calgate.ItemResult, e *calgate.Entry, conflicts []calgate.Conflict) calgate.ItemResult {
	err := &calgate.ConflictError{Resource: e.Resource, Conflicts: conflicts}
	r.Operation, r.Reason, r.Conflicts = calgate.OpFailed, err.Error(), conflicts
	r.Errors = []calgate.FieldError{{Field: e.Kind.ResourceField(), Message: err.Error()}}
	return r
}

// Upsert creates or updates entries by (kind, source, external_id) in one
// transaction, each change with its event. See calgate.EntryStore.
//
// Items are applied in order, so a key named twice sees its first write.
// An upsert of an archived entry restores it. With StopOnError the items
// after the first failure are not looked at and a sync is not run. A sync
// keeps alive every entry of its scope that an item names, failed ones
// included; the entries it archives are reported with index -1. On
// PostgreSQL, advisory locks on the keys' hash buckets and on each (kind,
// source) scope serialise concurrent writers of the same keys.
func (db *DB) Upsert(ctx context.Context, workspaceID, actor string, items []calgate.UpsertItem, opts calgate.UpsertOptions) (*calgate.BulkResult, error) {
	res := &calgate.BulkResult{Simulated: opts.Simulate, Errors: []calgate.ItemResult{}}
	// Items after the first failure are not looked at with StopOnError.
	end := len(items)
	failures := make(map[int]*calgate.ItemResult)
	for i, it := range items[:end] {
		if f := itemFailure(i, it); f != nil {
			failures[i] = f
			if opts.StopOnError {
				end = i + 1
				break
			}
		}
	}
	var keys []entryKey
	for i, it := range items[:end] {
		if failures[i] == nil {
			keys = append(keys, entryKey{it.Entry.Kind, it.Entry.Source, it.Entry.ExternalID})
		}
	}
	stopped := opts.StopOnError && len(failures) > 0

	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: upsert: begin: %w", err)
	}
	defer tx.Rollback()
	u := &upsertRun{
		db: db, tx: tx, workspaceID: workspaceID, actor: actor, now: dbTime(time.Now()), opts: opts, res: res,
		current: make(map[entryKey]*calgate.Entry, len(keys)), inserted: map[entryKey]bool{}, updates: map[entryKey]bool{},
	}
	if db.d.postgres {
		if err := u.lock(ctx, keys); err != nil {
			return nil, err
		}
	}
	if err := db.writeRecords(ctx, tx, workspaceID, u.now, opts.Records); err != nil {
		return nil, err
	}
	if err := u.load(ctx, keys); err != nil {
		return nil, err
	}
	// A sync or a replaced document may archive entries anywhere on their
	// resources: such a write excludes the resources' other writers.
	u.conf = &conflictRun{db: db, tx: tx, workspaceID: workspaceID, actor: actor, now: u.now,
		exclusive: opts.Sync != nil || len(opts.Documents) > 0}
	if err := u.conf.prepare(ctx, u.spans(items[:end], failures)); err != nil {
		return nil, fmt.Errorf("store: upsert: %w", err)
	}
	results := make([]calgate.ItemResult, 0, end)
	for i, it := range items[:end] {
		r := failures[i]
		if r == nil {
			applied := u.apply(i, it)
			r = &applied
		}
		results = append(results, *r)
		if r.Operation == calgate.OpFailed && opts.StopOnError {
			stopped = true
			break
		}
	}
	if err := u.flush(ctx); err != nil {
		return nil, err
	}
	conflicts, err := u.conf.finish(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: upsert: conflicts: %w", err)
	}
	for _, r := range results {
		if r.Operation != calgate.OpFailed && r.ID != "" {
			r.Conflicts = conflicts[r.ID]
			if opts.Return {
				r.Entry = u.returned(items[r.Index].Entry)
			}
		}
		res.Count(r, opts.Verbose)
	}
	if opts.Sync != nil && !stopped {
		if err := u.sync(ctx, items); err != nil {
			return nil, err
		}
	}
	if len(opts.Documents) > 0 && !stopped {
		if err := u.replaceDocuments(ctx, items[:end]); err != nil {
			return nil, err
		}
	}
	if _, err := u.conf.finish(ctx); err != nil {
		return nil, fmt.Errorf("store: upsert: conflicts: %w", err)
	}
	res.Stopped = stopped
	if opts.Simulate {
		return res, nil
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: upsert: commit: %w", err)
	}
	return res, nil
}

// lock takes the PostgreSQL advisory locks of the call in one statement,
// in key order so concurrent calls cannot deadlock: a shared lock per
// (kind, source) scope written (exclusive for the scope a sync replaces),
// an exclusive one per document replaced (two versions of one document
// sent at once replace it one after the other), and the buckets of every
// key exclusive.
func (u *upsertRun) lock(ctx context.Context, keys []entryKey) error {
	locks := map[int64]bool{} // lock id → exclusive
	for _, k := range keys {
		locks[scopeLock(u.workspaceID, k.scope())] = false
	}
	if s := u.opts.Sync; s != nil {
		locks[scopeLock(u.workspaceID, scopeKey{s.Kind, s.Source})] = true
	}
	for _, d := range u.opts.Documents {
		locks[documentLock(u.workspaceID, d)] = true
	}
	for _, k := range keys {
		locks[keyLock(u.workspaceID, k)] = true
	}
	if len(locks) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(locks))
	for id := range locks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	exclusive := make([]bool, len(ids))
	for i, id := range ids {
		exclusive[i] = locks[id]
	}
	var n int
	if err := u.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT CASE WHEN x THEN pg_advisory_xact_lock(k) ELSE pg_advisory_xact_lock_shared(k) END
		FROM unnest($1::bigint[], $2::bool[]) AS t(k, x) ORDER BY k) AS locked`, ids, exclusive).Scan(&n); err != nil {
		return fmt.Errorf("store: upsert: lock: %w", err)
	}
	return nil
}

// load reads the entries that exist for keys, in chunks per scope.
func (u *upsertRun) load(ctx context.Context, keys []entryKey) error {
	byScope := map[scopeKey][]string{}
	var scopes []scopeKey
	seen := map[entryKey]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		s := k.scope()
		if _, ok := byScope[s]; !ok {
			scopes = append(scopes, s)
		}
		byScope[s] = append(byScope[s], k.externalID)
	}
	for _, s := range scopes {
		ids := byScope[s]
		for start := 0; start < len(ids); start += loadChunk {
			part := ids[start:min(start+loadChunk, len(ids))]
			args := inArgs(part, u.workspaceID, string(s.kind), s.source)
			list, err := u.loadPart(ctx, args)
			if err != nil {
				return fmt.Errorf("store: upsert: load %s/%s: %w", s.kind, s.source, err)
			}
			for _, e := range list {
				u.current[entryKey{e.Kind, e.Source, e.ExternalID}] = e
			}
		}
	}
	return nil
}

// loadQuery reads the entries of n external ids of one scope.
func (db *DB) loadQuery(n int) string {
	return db.d.rebind(`SELECT ` + entryColumns + ` FROM entries WHERE workspace_id = ? AND kind = ? AND source = ? AND external_id IN (` +
		placeholders(n) + `)` + db.d.forUpdate())
}

// loadPart runs loadQuery with args: the workspace, kind and source, then
// the external ids.
func (u *upsertRun) loadPart(ctx context.Context, args []any) ([]*calgate.Entry, error) {
	q := u.db.loadQuery(len(args) - 3)
	var rows *sql.Rows
	var err error
	if s, ok := u.db.prepared[q]; ok {
		stmt := u.tx.StmtContext(ctx, s)
		defer stmt.Close()
		rows, err = stmt.QueryContext(ctx, args...)
	} else {
		rows, err = u.tx.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return nil, err
	}
	return scanEntries(rows)
}

// apply works out one good item's change and queues its writes.
func (u *upsertRun) apply(i int, it calgate.UpsertItem) calgate.ItemResult {
	cur := it.Entry.Clone()
	cur.WorkspaceID = u.workspaceID
	cur.ArchivedAt = nil // an upsert restores an archived entry
	key := entryKey{cur.Kind, cur.Source, cur.ExternalID}
	r := calgate.ItemResult{Index: i, Ref: it.Ref, ExternalID: cur.ExternalID, Kind: cur.Kind}
	old := u.current[key]
	if old == nil {
		cur.ID = calgate.NewID("ent")
		cur.Version = 1
		cur.CreatedAt, cur.UpdatedAt = u.now, u.now
		normalize(cur)
		if cf := u.conf.check(nil, cur); cf != nil {
			return refuse(r, cur, cf)
		}
		u.conf.touch(cur)
		// The diff of a creation is derived from the snapshot when read.
		u.events = append(u.events, entryEvent(calgate.EventEntryCreated, cur, nil, u.actor))
		u.current[key] = cur
		u.inserted[key] = true
		u.inserts = append(u.inserts, key)
		r.Operation, r.ID, r.Version = calgate.OpCreated, cur.ID, cur.Version
		return r
	}
	cur.ID, cur.CreatedAt, cur.Version, cur.UpdatedAt = old.ID, old.CreatedAt, old.Version, old.UpdatedAt
	if cur.Document == "" {
		// An entry sent on its own stays in the document it came in.
		cur.Document = old.Document
	}
	normalize(cur)
	if identical(old, cur) {
		r.Operation, r.ID, r.Version = calgate.OpUnchanged, old.ID, old.Version
		return r
	}
	diff := calgate.Diff(old, cur)
	if len(diff) == 0 {
		r.Operation, r.ID, r.Version = calgate.OpUnchanged, old.ID, old.Version
		if cur.Document != old.Document {
			// Only its document changed: no new version, no event.
			moved := old.Clone()
			moved.Document = cur.Document
			u.queueUpdate(key, moved)
		}
		return r
	}
	if cf := u.conf.check(old, cur); cf != nil {
		return refuse(r, cur, cf)
	}
	u.conf.touchOld(old)
	u.conf.touch(cur)
	cur.Version = old.Version + 1
	cur.UpdatedAt = u.now
	u.events = append(u.events, entryEvent(calgate.ClassifyChange(old, cur, diff), cur, diff, u.actor))
	u.queueUpdate(key, cur)
	r.Operation, r.ID, r.Version = calgate.OpUpdated, cur.ID, cur.Version
	return r
}

// queueUpdate makes cur the state of key to write.
func (u *upsertRun) queueUpdate(key entryKey, cur *calgate.Entry) {
	u.current[key] = cur
	if !u.inserted[key] && !u.updates[key] {
		u.updates[key] = true
		u.order = append(u.order, key)
	}
}

// returned is the entry of an item as stored: as its write returned it,
// or as loaded when it was not written.
func (u *upsertRun) returned(e *calgate.Entry) *calgate.Entry {
	k := entryKey{e.Kind, e.Source, e.ExternalID}
	if s := u.stored[k]; s != nil {
		return s.Clone()
	}
	if cur := u.current[k]; cur != nil {
		return cur.Clone()
	}
	return nil
}

// flush writes the queued inserts, updates and events.
func (u *upsertRun) flush(ctx context.Context) error {
	if u.opts.Return {
		if err := u.flushReturning(ctx); err != nil {
			return fmt.Errorf("store: upsert: %w", err)
		}
	}
	if len(u.inserts) > 0 {
		list := make([]*calgate.Entry, len(u.inserts))
		for i, k := range u.inserts {
			list[i] = u.current[k]
		}
		if err := u.db.insertEntries(ctx, u.tx, list); err != nil {
			return fmt.Errorf("store: upsert: %w", err)
		}
	}
	if len(u.order) > 0 {
		list := make([]*calgate.Entry, len(u.order))
		for i, k := range u.order {
			list[i] = u.current[k]
		}
		if err := u.db.updateEntries(ctx, u.tx, list); err != nil {
			return fmt.Errorf("store: upsert: %w", err)
		}
	}
	if err := u.db.insertEvents(ctx, u.tx, u.events); err != nil {
		return fmt.Errorf("store: upsert: %w", err)
	}
	u.inserts, u.order, u.events = nil, nil, nil
	clear(u.inserted)
	clear(u.updates)
	return nil
}

// flushReturning writes the queued inserts and updates, keeping the rows
// the statements return in u.stored: the inserts as multi-row INSERTs, the
// updates one statement each on SQLite (in process, where that is cheaper)
// and as multi-row UPDATEs on PostgreSQL.
func (u *upsertRun) flushReturning(ctx context.Context) error {
	if u.stored == nil {
		u.stored = map[entryKey]*calgate.Entry{}
	}
	inserts := make([]*calgate.Entry, len(u.inserts))
	for i, k := range u.inserts {
		inserts[i] = u.current[k]
	}
	if err := u.returning(ctx, u.db.batch(u.tx, entryInsertBatch), ` RETURNING `+entryColumns, inserts, u.db.d.appendEntryArgs); err != nil {
		return fmt.Errorf("insert entries: %w", err)
	}
	updates := make([]*calgate.Entry, len(u.order))
	for i, k := range u.order {
		updates[i] = u.current[k]
	}
	if u.db.d.postgres && len(updates) > 1 {
		ins, appendRow := u.db.entryUpdateBatch(u.tx)
		if err := u.returning(ctx, ins, ` RETURNING `+qualifiedEntryColumns, updates, appendRow); err != nil {
			return fmt.Errorf("update entries: %w", err)
		}
	} else {
		for _, e := range updates {
			args, err := u.db.d.updateEntryArgs(e)
			if err != nil {
				return err
			}
			stored, err := scanEntry(u.tx.QueryRowContext(ctx, u.db.d.rebind(updateEntrySQL+` RETURNING `+entryColumns), args...))
			if err != nil {
				return fmt.Errorf("update entry %s: %w", e.ID, err)
			}
			u.stored[entryKey{stored.Kind, stored.Source, stored.ExternalID}] = stored
		}
	}
	u.inserts, u.order = nil, nil
	clear(u.inserted)
	clear(u.updates)
	return nil
}

// returning runs ins's multi-row statement over list with returning
// appended, in chunks of ins's size, and keeps the rows it returns.
func (u *upsertRun) returning(ctx context.Context, ins *batchInsert, returning string, list []*calgate.Entry, appendRow func([]any, *calgate.Entry) ([]any, error)) error {
	for start := 0; start < len(list); start += ins.rows {
		part := list[start:min(start+ins.rows, len(list))]
		var args []any
		for _, e := range part {
			var err error
			if args, err = appendRow(args, e); err != nil {
				return err
			}
		}
		rows, err := u.tx.QueryContext(ctx, ins.statement(len(part))+returning, args...)
		if err != nil {
			return err
		}
		stored, err := scanEntries(rows)
		if err != nil {
			return err
		}
		if len(stored) != len(part) {
			return fmt.Errorf("wrote %d entries, %d returned", len(part), len(stored))
		}
		for _, e := range stored {
			u.stored[entryKey{e.Kind, e.Source, e.ExternalID}] = e
		}
	}
	return nil
}

// sync archives the live entries of the sync scope that the batch does not
// name. An item that failed but names its entry keeps that entry alive.
func (u *upsertRun) sync(ctx context.Context, items []calgate.UpsertItem) error {
	s := *u.opts.Sync
	keep := map[string]bool{}
	for _, it := range items {
		if e := it.Entry; e != nil && e.Kind == s.Kind && e.Source == s.Source {
			keep[e.ExternalID] = true
		}
	}
	q := `SELECT ` + entryColumns + ` FROM entries WHERE workspace_id = ? AND kind = ? AND source = ? AND archived_at IS NULL ORDER BY id` +
		u.db.d.forUpdate()
	rows, err := u.tx.QueryContext(ctx, u.db.d.rebind(q), u.workspaceID, string(s.Kind), s.Source)
	if err != nil {
		return fmt.Errorf("store: upsert: sync %s/%s: %w", s.Kind, s.Source, err)
	}
	live, err := scanEntries(rows)
	if err != nil {
		return fmt.Errorf("store: upsert: sync %s/%s: %w", s.Kind, s.Source, err)
	}
	var gone []*calgate.Entry
	for _, old := range live {
		if !keep[old.ExternalID] {
			gone = append(gone, old)
		}
	}
	if err := u.archive(ctx, gone); err != nil {
		return fmt.Errorf("store: upsert: sync %s/%s: %w", s.Kind, s.Source, err)
	}
	return nil
}

// replaceDocuments archives the live entries of the batch's documents that
// no item of the batch names: what the new version of a document no
// longer holds.
func (u *upsertRun) replaceDocuments(ctx context.Context, items []calgate.UpsertItem) error {
	keep := map[entryKey]bool{}
	for _, it := range items {
		if e := it.Entry; e != nil && it.Err == nil {
			keep[entryKey{e.Kind, e.Source, e.ExternalID}] = true
		}
	}
	docs := slices.Clone(u.opts.Documents)
	slices.Sort(docs)
	var gone []*calgate.Entry
	for _, doc := range slices.Compact(docs) {
		q := `SELECT ` + entryColumns + ` FROM entries WHERE workspace_id = ? AND document = ? AND archived_at IS NULL ORDER BY id` +
			u.db.d.forUpdate()
		rows, err := u.tx.QueryContext(ctx, u.db.d.rebind(q), u.workspaceID, doc)
		if err != nil {
			return fmt.Errorf("store: upsert: document %s: %w", doc, err)
		}
		live, err := scanEntries(rows)
		if err != nil {
			return fmt.Errorf("store: upsert: document %s: %w", doc, err)
		}
		for _, old := range live {
			k := entryKey{old.Kind, old.Source, old.ExternalID}
			if keep[k] {
				continue
			}
			if cur := u.current[k]; cur != nil && cur.Document != doc {
				continue // this batch moved it to another document
			}
			gone = append(gone, old)
		}
	}
	if err := u.archive(ctx, gone); err != nil {
		return fmt.Errorf("store: upsert: documents: %w", err)
	}
	return nil
}

// archive archives live entries, each with its event, and reports them
// with index -1.
func (u *upsertRun) archive(ctx context.Context, list []*calgate.Entry) error {
	var ids []string
	for _, old := range list {
		u.conf.touchOld(old)
		cur := old.Clone()
		at := u.now
		cur.ArchivedAt = &at
		cur.Version = old.Version + 1
		cur.UpdatedAt = u.now
		diff := calgate.Diff(old, cur)
		u.events = append(u.events, entryEvent(calgate.ClassifyChange(old, cur, diff), cur, diff, u.actor))
		ids = append(ids, old.ID)
		u.res.Count(calgate.ItemResult{Index: -1, ExternalID: cur.ExternalID, Kind: cur.Kind,
			Operation: calgate.OpArchived, ID: cur.ID, Version: cur.Version}, u.opts.Verbose)
	}
	for start := 0; start < len(ids); start += loadChunk {
		part := ids[start:min(start+loadChunk, len(ids))]
		args := inArgs(part, u.now, u.now, u.workspaceID)
		q := `UPDATE entries SET archived_at = ?, updated_at = ?, version = version + 1
			WHERE workspace_id = ? AND id IN (` + placeholders(len(part)) + `)`
		if _, err := u.tx.ExecContext(ctx, u.db.d.rebind(q), args...); err != nil {
			return fmt.Errorf("archive: %w", err)
		}
	}
	if err := u.db.insertEvents(ctx, u.tx, u.events); err != nil {
		return err
	}
	u.events = nil
	return nil
}

// identical reports whether two stored forms of an entry hold exactly the
// same values, a cheap test that implies calgate.SameContent (re-imports
// of unchanged data are the common case). It may say false for entries
// that SameContent finds equal, such as attributes in another key order.
func identical(a, b *calgate.Entry) bool {
	if a.Title != b.Title || a.Description != b.Description || a.Location != b.Location ||
		!a.Start.Equal(b.Start) || !a.End.Equal(b.End) || a.AllDay != b.AllDay || a.Timezone != b.Timezone ||
		a.Status != b.Status || a.Resource != b.Resource ||
		a.Kind != b.Kind || a.Source != b.Source || a.ExternalID != b.ExternalID || a.Document != b.Document {
		return false
	}
	if (a.ArchivedAt == nil) != (b.ArchivedAt == nil) || (a.ArchivedAt != nil && !a.ArchivedAt.Equal(*b.ArchivedAt)) {
		return false
	}
	return a.Details.Same(b.Details) && bytes.Equal(a.Attributes, b.Attributes)
}
