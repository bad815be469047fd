package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/calgate/calgate"
)

// conflictRun keeps the double bookings of the resources one write
// transaction touches in step with it. prepare runs before the writes
// (settings, the resources, created with the defaults when new, and for
// resources whose policy is reject their busy entries, so that check can
// refuse an item); touch records the spans each change affects; finish,
// after the writes, works the conflicts of those spans out again from the
// transaction's own view of the entries, replaces the stored rows and
// writes entry.conflicted and entry.conflict_resolved events.
type conflictRun struct {
	db          *DB
	tx          *sql.Tx
	workspaceID string
	actor       string
	now         time.Time

	settings  *calgate.AvailabilitySettings
	resources map[string]*calgate.Resource
	// busy holds, for resources whose policy is reject, the entries that
	// occupy them over the loaded span, as the writes so far leave them.
	busy map[string][]*calgate.Entry
	// spans are the changed spans per resource, not yet finished, and
	// written the entries whose changes made them.
	spans   map[string]calgate.Interval
	written map[string]bool
	// moved is set when a change took an entry from where it was (an
	// update, not a creation): only then can stored conflicts go away.
	moved bool
	// longest is each loaded resource's longest_entry (unknownLength
	// when not known); lengths the longest entry written per resource
	// since the last finish, which finish raises it to.
	longest map[string]int64
	lengths map[string]int64

	// exclusive makes every resource's lock exclusive (a write that may
	// archive entries it does not name); locks holds what the
	// transaction holds per resource on PostgreSQL (resourcelock.go).
	exclusive bool
	locks     map[string]heldLock
}

// prepare loads what check and finish need for entries written on the
// named resources over the given spans, creating unknown resources.
func (c *conflictRun) prepare(ctx context.Context, spans map[string]calgate.Interval) error {
	if c.resources == nil {
		c.resources = map[string]*calgate.Resource{}
		c.busy = map[string][]*calgate.Entry{}
		c.spans = map[string]calgate.Interval{}
		c.written = map[string]bool{}
		c.longest = map[string]int64{}
		c.lengths = map[string]int64{}
	}
	var names []string
	for name := range spans {
		if _, ok := c.resources[name]; !ok && name != "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if c.db.d.postgres {
		// Writers that could interfere on a resource take turns (see
		// resourcelock.go).
		if err := c.lockResources(ctx, spans, names); err != nil {
			return err
		}
	}
	if len(names) == 0 {
		return c.loadSettings(ctx)
	}
	found, err := c.loadResources(ctx, names)
	if err != nil {
		return fmt.Errorf("load resources: %w", err)
	}
	if c.db.d.postgres {
		if err := c.confirmLocks(ctx, found); err != nil {
			return fmt.Errorf("lock resources: %w", err)
		}
	}
	if err := c.loadSettings(ctx); err != nil {
		return err
	}
	var missing []string
	for _, n := range names {
		if found[n] == nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		if err := c.createResources(ctx, missing, found); err != nil {
			return err
		}
	}
	var reject []string
	for _, n := range names {
		c.resources[n] = found[n]
		if c.policy(n) == calgate.PolicyReject {
			reject = append(reject, n)
		}
	}
	if len(reject) == 0 {
		return nil
	}
	want := map[string]calgate.Interval{}
	for _, n := range reject {
		want[n] = spans[n]
	}
	busy, err := c.loadBusy(ctx, want)
	if err != nil {
		return err
	}
	for _, n := range reject {
		c.busy[n] = busy[n]
		if c.busy[n] == nil {
			c.busy[n] = []*calgate.Entry{}
		}
	}
	return nil
}

// createResources adds the named resources with the defaults (the
// workspace's time zone); a resource another writer created meanwhile is
// read back.
func (c *conflictRun) createResources(ctx context.Context, names []string, found map[string]*calgate.Resource) error {
	tz := "UTC"
	if err := c.tx.QueryRowContext(ctx, c.db.d.rebind(`SELECT timezone FROM workspaces WHERE id = ?`), c.workspaceID).Scan(&tz); err != nil && err != sql.ErrNoRows {
		return fmt.Errorf("create resources: %w", err)
	}
	for _, n := range names {
		r := calgate.NewResource(c.workspaceID, n, tz)
		args, err := c.db.d.resourceArgs(r)
		if err != nil {
			return err
		}
		if _, err := c.tx.ExecContext(ctx, c.db.d.rebind(`INSERT INTO resources (`+resourceColumns+`) VALUES (`+placeholders(len(args))+`)
			ON CONFLICT (workspace_id, name) DO NOTHING`), args...); err != nil {
			return fmt.Errorf("create resource %q: %w", n, err)
		}
	}
	if err := c.db.measureLongest(ctx, c.tx, c.workspaceID, names); err != nil {
		return fmt.Errorf("create resources: %w", err)
	}
	again, err := c.db.resourcesByName(ctx, c.tx, c.workspaceID, names, c.longest)
	if err != nil {
		return fmt.Errorf("create resources: %w", err)
	}
	for n, r := range again {
		found[n] = r
	}
	return nil
}

// policy is the conflict policy of a resource.
func (c *conflictRun) policy(name string) string {
	if r := c.resources[name]; r != nil && r.ConflictPolicy != "" {
		return r.ConflictPolicy
	}
	return c.settings.ConflictPolicy
}

func (c *conflictRun) capacity(name string) int {
	if r := c.resources[name]; r != nil {
		return max(r.Capacity, 1)
	}
	return 1
}

// check returns the conflicts that writing cur (replacing old, nil for a
// new entry) would make on a resource whose policy is reject; nil when
// the write may go ahead, which then updates the busy view.
func (c *conflictRun) check(old, cur *calgate.Entry) []calgate.Conflict {
	res := cur.Resource
	if _, ok := c.busy[res]; ok && c.policy(res) == calgate.PolicyReject && calgate.CountsAsBusy(cur, c.settings.CountTentative) {
		if list := calgate.ConflictsOf(cur, c.busy[res], c.capacity(res)); len(list) > 0 {
			return list
		}
	}
	if old != nil {
		if list, ok := c.busy[old.Resource]; ok {
			c.busy[old.Resource] = slices.DeleteFunc(list, func(e *calgate.Entry) bool { return e.ID == old.ID })
		}
	}
	if _, ok := c.busy[res]; ok && calgate.CountsAsBusy(cur, c.settings.CountTentative) {
		c.busy[res] = append(c.busy[res], cur)
	}
	return nil
}

// touchOld records that an entry left the time it held on its resource.
func (c *conflictRun) touchOld(e *calgate.Entry) {
	c.moved = true
	c.touch(e)
}

// touch records that an entry's time on its resource changed.
func (c *conflictRun) touch(e *calgate.Entry) {
	widen(c.spans, e)
	if e != nil {
		c.written[e.ID] = true
		if e.Resource != "" {
			c.lengths[e.Resource] = max(c.lengths[e.Resource], secondsCeil(e.End.Sub(e.Start)))
		}
	}
}

// widen grows the span of e's resource in spans to cover e.
func widen(spans map[string]calgate.Interval, e *calgate.Entry) {
	if e == nil || e.Resource == "" {
		return
	}
	iv := calgate.Interval{Start: e.Start, End: e.End}
	if s, ok := spans[e.Resource]; ok {
		iv = calgate.Interval{Start: minT(s.Start, iv.Start), End: maxT(s.End, iv.End)}
	}
	spans[e.Resource] = iv
}

func minT(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// namesAndHull returns the resources of spans in order and the interval
// that covers all their spans.
func namesAndHull(spans map[string]calgate.Interval) ([]string, calgate.Interval) {
	names := make([]string, 0, len(spans))
	var hull calgate.Interval
	for n, s := range spans {
		names = append(names, n)
		if hull.Start.IsZero() || s.Start.Before(hull.Start) {
			hull.Start = s.Start
		}
		if s.End.After(hull.End) {
			hull.End = s.End
		}
	}
	slices.Sort(names)
	return names, hull
}

// loadBusy reads the entries that occupy each named resource and overlap
// its span, in one query per chunk of names over the hull of the spans.
func (c *conflictRun) loadBusy(ctx context.Context, spans map[string]calgate.Interval) (map[string][]*calgate.Entry, error) {
	names, hull := namesAndHull(spans)
	out := map[string][]*calgate.Entry{}
	err := c.db.busyRows(ctx, c.tx, c.workspaceID, names, c.longest, hull.Start, hull.End, c.settings.CountTentative, func(e *calgate.Entry) {
		s := spans[e.Resource]
		if e.End.After(s.Start) && e.Start.Before(s.End) {
			out[e.Resource] = append(out[e.Resource], e)
		}
	})
	return out, err
}

// finish works the conflicts of the touched spans out again, replaces
// their rows and writes the events of entries whose conflicts came or
// went. It returns the conflicts of every entry in the spans.
func (c *conflictRun) finish(ctx context.Context) (map[string][]calgate.Conflict, error) {
	if len(c.spans) == 0 {
		return nil, nil
	}
	spans, written, moved := c.spans, c.written, c.moved
	c.spans, c.written, c.moved = map[string]calgate.Interval{}, map[string]bool{}, false
	if err := c.prepare(ctx, spans); err != nil {
		return nil, err
	}
	if err := c.raiseLongest(ctx); err != nil {
		return nil, err
	}
	busy, err := c.loadBusy(ctx, spans)
	if err != nil {
		return nil, err
	}
	// With a capacity above one, whether two entries conflict depends on
	// the others under way during their overlap: read those too.
	wider := map[string]calgate.Interval{}
	for n, list := range busy {
		if c.capacity(n) == 1 {
			continue
		}
		h := spans[n]
		for _, e := range list {
			h = calgate.Interval{Start: minT(h.Start, e.Start), End: maxT(h.End, e.End)}
		}
		if !h.Start.Equal(spans[n].Start) || !h.End.Equal(spans[n].End) {
			wider[n] = h
		}
	}
	if len(wider) > 0 {
		more, err := c.loadBusy(ctx, wider)
		if err != nil {
			return nil, err
		}
		for n, list := range more {
			busy[n] = list
		}
	}
	byID := map[string]*calgate.Entry{}
	var after []calgate.ConflictPair
	for n, s := range spans {
		for _, e := range busy[n] {
			byID[e.ID] = e
		}
		for _, p := range calgate.ConflictPairs(n, busy[n], c.capacity(n)) {
			if p.End.After(s.Start) && p.Start.Before(s.End) {
				after = append(after, p)
			}
		}
	}
	if len(after) == 0 && !moved {
		// New entries only add to what is under way: with no conflict in
		// the spans now, there was none before either.
		return nil, nil
	}
	before, err := c.storedPairs(ctx, spans)
	if err != nil {
		return nil, err
	}
	if err := c.replacePairs(ctx, before, after); err != nil {
		return nil, err
	}
	return c.announce(ctx, before, after, byID, written)
}

// storedPairs reads the conflicts rows whose overlap meets the span of
// their resource, in one query per chunk of names over the hull of the
// spans.
func (c *conflictRun) storedPairs(ctx context.Context, spans map[string]calgate.Interval) ([]calgate.ConflictPair, error) {
	names, hull := namesAndHull(spans)
	var out []calgate.ConflictPair
	for start := 0; start < len(names); start += loadChunk {
		part := names[start:min(start+loadChunk, len(names))]
		args := inArgs(part, c.workspaceID)
		args = append(args, c.db.d.timeArg(hull.Start), c.db.d.timeArg(hull.End))
		rows, err := c.tx.QueryContext(ctx, c.db.d.rebind(`SELECT resource, entry_id, other_id, start_at, end_at FROM conflicts
			WHERE workspace_id = ? AND resource IN (`+placeholders(len(part))+`) AND end_at > ? AND start_at < ?`), args...)
		if err != nil {
			return nil, fmt.Errorf("stored conflicts: %w", err)
		}
		list, err := scanAll(rows, scanPair)
		if err != nil {
			return nil, fmt.Errorf("stored conflicts: %w", err)
		}
		for _, p := range list {
			if s := spans[p.Resource]; p.End.After(s.Start) && p.Start.Before(s.End) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func scanPair(r scanner) (calgate.ConflictPair, error) {
	var p calgate.ConflictPair
	err := r.Scan(&p.Resource, &p.A, &p.B, &p.Start, &p.End)
	p.Start, p.End = p.Start.UTC(), p.End.UTC()
	return p, err
}

// replacePairs deletes the stored pairs of before that after no longer
// holds and writes those of after that are new or changed.
func (c *conflictRun) replacePairs(ctx context.Context, before, after []calgate.ConflictPair) error {
	type key struct{ a, b string }
	kept := make(map[key]calgate.ConflictPair, len(after))
	for _, p := range after {
		kept[key{p.A, p.B}] = p
	}
	old := make(map[key]calgate.ConflictPair, len(before))
	for _, p := range before {
		old[key{p.A, p.B}] = p
		if _, ok := kept[key{p.A, p.B}]; ok {
			continue
		}
		if _, err := c.tx.ExecContext(ctx, c.db.d.rebind(`DELETE FROM conflicts WHERE workspace_id = ? AND entry_id = ? AND other_id = ?`),
			c.workspaceID, p.A, p.B); err != nil {
			return fmt.Errorf("replace conflicts: %w", err)
		}
	}
	// One multi-row statement per chunk: a bulk write that double-books
	// its own items yields thousands of pairs. A key written twice in one
	// statement is refused by PostgreSQL, so each key's last pair goes.
	last := make(map[key]int, len(after))
	for i, p := range after {
		last[key{p.A, p.B}] = i
	}
	write := make([]calgate.ConflictPair, 0, len(after))
	for i, p := range after {
		if last[key{p.A, p.B}] != i {
			continue
		}
		if o, ok := old[key{p.A, p.B}]; ok && o.Resource == p.Resource && o.Start.Equal(p.Start) && o.End.Equal(p.End) {
			continue
		}
		write = append(write, p)
	}
	b := c.db.batch(c.tx, conflictInsertBatch)
	defer b.close()
	err := writeRows(ctx, b, write, func(args []any, p calgate.ConflictPair) ([]any, error) {
		return append(args, c.workspaceID, p.Resource, p.A, p.B, c.db.d.timeArg(p.Start), c.db.d.timeArg(p.End)), nil
	})
	if err != nil {
		return fmt.Errorf("replace conflicts: %w", err)
	}
	return nil
}

// conflictInsertBatch writes conflict pairs, replacing a stored pair's
// resource and overlap.
var conflictInsertBatch = batchSpec{prefix: `INSERT INTO conflicts (workspace_id, resource, entry_id, other_id, start_at, end_at) VALUES `,
	suffix:  ` ON CONFLICT (workspace_id, entry_id, other_id) DO UPDATE SET resource = excluded.resource, start_at = excluded.start_at, end_at = excluded.end_at`,
	columns: 6, rows: 500}

// conflictEventData is the data of entry.conflicted and
// entry.conflict_resolved events.
type conflictEventData struct {
	EntryID   string             `json:"entry_id"`
	Kind      calgate.Kind       `json:"kind"`
	Resource  string             `json:"resource"`
	Conflicts []calgate.Conflict `json:"conflicts"`
}

// announce compares the pairs before and after and writes
// entry.conflicted for every written entry that gained a conflicting entry
// and for every other entry that had none and has some now, and
// entry.conflict_resolved for every entry left with none. It returns the
// conflicts after of every entry named.
func (c *conflictRun) announce(ctx context.Context, before, after []calgate.ConflictPair, byID map[string]*calgate.Entry, written map[string]bool) (map[string][]calgate.Conflict, error) {
	had := map[string]map[string]bool{}
	for _, p := range before {
		addPair(had, p.A, p.B)
		addPair(had, p.B, p.A)
	}
	now := map[string][]calgate.Conflict{}
	for _, p := range after {
		for _, side := range [][2]string{{p.A, p.B}, {p.B, p.A}} {
			o := byID[side[1]]
			cf := calgate.Conflict{EntryID: side[1], Resource: p.Resource, Start: p.Start, End: p.End}
			if o != nil {
				cf.Kind, cf.ExternalID = o.Kind, o.ExternalID
			}
			now[side[0]] = append(now[side[0]], cf)
		}
	}
	var events []*calgate.Event
	var lockIDs []string
	ids := make([]string, 0, len(now))
	for id := range now {
		calgate.SortConflicts(now[id])
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		gained := len(had[id]) == 0
		for _, cf := range now[id] {
			gained = gained || (written[id] && !had[id][cf.EntryID])
		}
		if gained {
			lockIDs = append(lockIDs, id)
			events = append(events, c.event(calgate.EventEntryConflicted, id, byID[id], now[id]))
		}
	}
	var lost []string
	for id := range had {
		if len(now[id]) == 0 {
			lost = append(lost, id)
		}
	}
	sort.Strings(lost)
	lockIDs = append(lockIDs, lost...)
	// Another writer may change the conflicts of these entries elsewhere
	// at the same time: decide their events one after the other.
	if err := c.entryLocks(ctx, lockIDs); err != nil {
		return nil, fmt.Errorf("conflict events: %w", err)
	}
	for _, id := range lost {
		var n int
		// Conflicts outside the spans looked at may remain.
		if err := c.tx.QueryRowContext(ctx, c.db.d.rebind(`SELECT COUNT(*) FROM conflicts WHERE workspace_id = ? AND (entry_id = ? OR other_id = ?)`),
			c.workspaceID, id, id).Scan(&n); err != nil {
			return nil, fmt.Errorf("conflicts of %s: %w", id, err)
		}
		if n == 0 {
			events = append(events, c.event(calgate.EventEntryConflictResolved, id, c.entryOf(ctx, id, byID), []calgate.Conflict{}))
		}
	}
	if err := c.db.insertEvents(ctx, c.tx, events); err != nil {
		return nil, err
	}
	return now, nil
}

func addPair(m map[string]map[string]bool, a, b string) {
	if m[a] == nil {
		m[a] = map[string]bool{}
	}
	m[a][b] = true
}

// entryOf returns the entry of id from the busy view, or as stored (an
// entry that was cancelled or archived is no longer busy).
func (c *conflictRun) entryOf(ctx context.Context, id string, byID map[string]*calgate.Entry) *calgate.Entry {
	if e := byID[id]; e != nil {
		return e
	}
	e := &calgate.Entry{ID: id}
	_ = c.tx.QueryRowContext(ctx, c.db.d.rebind(`SELECT kind, external_id, resource FROM entries WHERE workspace_id = ? AND id = ?`), c.workspaceID, id).
		Scan(&e.Kind, &e.ExternalID, &e.Resource)
	return e
}

func (c *conflictRun) event(t calgate.EventType, id string, e *calgate.Entry, list []calgate.Conflict) *calgate.Event {
	d := conflictEventData{EntryID: id, Conflicts: list}
	if e != nil {
		d.Kind, d.Resource = e.Kind, e.Resource
	}
	data, _ := json.Marshal(d)
	// The entry is named in the data only: the event is no version of the
	// entry, so it stays out of the entry's history, and destinations that
	// mirror entries pass it by.
	return &calgate.Event{WorkspaceID: c.workspaceID, Type: t, Data: data, Actor: c.actor, CreatedAt: c.now}
}

// recheckResource works out every conflict of one resource again (after
// its capacity or the workspace's settings changed): entries lie between
// 1900 and 3000, so that span holds them all.
func (c *conflictRun) recheckResource(ctx context.Context, name string) error {
	c.settings, c.resources = nil, nil
	if err := c.prepare(ctx, map[string]calgate.Interval{}); err != nil {
		return err
	}
	c.spans[name] = calgate.Interval{Start: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(3000, 1, 2, 0, 0, 0, 0, time.UTC)}
	c.moved = true
	_, err := c.finish(ctx)
	return err
}

// EntryConflicts lists the current conflicts of one entry.
func (db *DB) EntryConflicts(ctx context.Context, workspaceID, entryID string) ([]calgate.Conflict, error) {
	rows, err := db.r.QueryContext(ctx, db.d.rebind(`SELECT c.resource, c.entry_id, c.other_id, c.start_at, c.end_at, e.kind, e.external_id
		FROM conflicts c JOIN entries e ON e.id = CASE WHEN c.entry_id = ? THEN c.other_id ELSE c.entry_id END
		WHERE c.workspace_id = ? AND (c.entry_id = ? OR c.other_id = ?)`), entryID, workspaceID, entryID, entryID)
	if err != nil {
		return nil, fmt.Errorf("store: conflicts of %s: %w", entryID, err)
	}
	list, err := scanAll(rows, func(r scanner) (calgate.Conflict, error) {
		var p calgate.ConflictPair
		var cf calgate.Conflict
		if err := r.Scan(&p.Resource, &p.A, &p.B, &p.Start, &p.End, &cf.Kind, &cf.ExternalID); err != nil {
			return cf, err
		}
		cf.EntryID, cf.Resource, cf.Start, cf.End = p.A, p.Resource, p.Start.UTC(), p.End.UTC()
		if p.A == entryID {
			cf.EntryID = p.B
		}
		return cf, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: conflicts of %s: %w", entryID, err)
	}
	calgate.SortConflicts(list)
	return list, nil
}

// Conflicts lists the current double bookings in (start, entry, other)
// order; the cursor is opaque.
func (db *DB) Conflicts(ctx context.Context, workspaceID string, f calgate.ConflictFilter) ([]calgate.ConflictPair, string, error) {
	var where strings.Builder
	args := []any{workspaceID}
	where.WriteString(`workspace_id = ?`)
	if len(f.Resources) > 0 {
		where.WriteString(` AND resource IN (` + placeholders(len(f.Resources)) + `)`)
		for _, r := range f.Resources {
			args = append(args, r)
		}
	}
	if !f.From.IsZero() {
		where.WriteString(` AND end_at > ?`)
		args = append(args, db.d.timeArg(f.From))
	}
	if !f.To.IsZero() {
		where.WriteString(` AND start_at < ?`)
		args = append(args, db.d.timeArg(f.To))
	}
	if f.Cursor != "" {
		a, b, ok := strings.Cut(f.Cursor, ".")
		if !ok {
			return nil, "", fmt.Errorf("store: conflicts: bad cursor: %w", calgate.ErrNotFound)
		}
		where.WriteString(` AND (entry_id > ? OR (entry_id = ? AND other_id > ?))`)
		args = append(args, a, a, b)
	}
	limit := clampLimit(f.Limit)
	args = append(args, limit+1)
	rows, err := db.r.QueryContext(ctx, db.d.rebind(`SELECT resource, entry_id, other_id, start_at, end_at FROM conflicts WHERE `+where.String()+
		` ORDER BY entry_id, other_id LIMIT ?`), args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: conflicts of %s: %w", workspaceID, err)
	}
	list, err := scanAll(rows, scanPair)
	if err != nil {
		return nil, "", fmt.Errorf("store: conflicts of %s: %w", workspaceID, err)
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].A + "." + list[limit-1].B
	}
	return list, next, nil
}
