package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/calgate/calgate"
)

// Group commit of single writes. A busy plant's integration sends one
// request per change, hundreds a second, all with one token. Each single
// upsert on its own is about ten statements and a commit; under load the
// requests queue for the database. Grouped writes the single upserts of one
// workspace and actor that arrive while earlier ones are still being
// written in one transaction instead: the same Upsert the bulk route makes,
// so the same locks, checks and events. At low rates nothing waits (a
// write starts at once while fewer than GroupSlots of its group are under
// way); the busier the group, the larger its batches.
//
// A batch never holds two writes of one entry, so each answer is the state
// its own write made, as if the requests had been made one after the
// other. A write refused in a batch (a double booking, a bad field) fails
// alone, as it does in a bulk request. If the batch's transaction fails as
// a whole, each of its writes is made again on its own, so one write's
// error is never another's.
//
// One batch of a group is written at a time. With four at once, the
// batches of one workstage met on its locks anyway and waited there
// holding a connection each, while the writes that could have joined them
// made smaller batches: at a steady 1,000 writes a second on PostgreSQL
// the p99 latency was higher, and single-write throughput lower.
const (
	// GroupSlots is how many batches of one group are written at once.
	GroupSlots = 1
	// GroupMaxItems bounds the writes of one batch.
	GroupMaxItems = 200
)

// Grouped is a DB whose single-entry upserts are group-committed (see
// above). Every other method is the DB's own.
type Grouped struct {
	*DB
	slots, maxItems int
	// upsert writes one batch: DB.Upsert (tests watch it).
	upsert func(ctx context.Context, workspaceID, actor string, items []calgate.UpsertItem, opts calgate.UpsertOptions) (*calgate.BulkResult, error)

	mu     sync.Mutex
	groups map[groupKey]*writeGroup
}

// Grouped returns db with group commit of single-entry upserts.
func (db *DB) Grouped() *Grouped {
	return &Grouped{DB: db, slots: GroupSlots, maxItems: GroupMaxItems, upsert: db.Upsert, groups: map[groupKey]*writeGroup{}}
}

// groupKey is what writes must share to go in one batch: the transaction
// is one workspace's and one actor's, and the result is listed alike.
type groupKey struct {
	workspaceID, actor string
	verbose, ret       bool
}

// writeGroup is the state of one group: the batches being written and
// those waiting for a slot, oldest first.
type writeGroup struct {
	running int
	waiting []*writeBatch
}

// writeBatch is one transaction's worth of single writes.
type writeBatch struct {
	ctx     context.Context
	items   []calgate.UpsertItem
	keys    map[entryKey]bool
	results []groupResult
	done    chan struct{}
}

type groupResult struct {
	res *calgate.BulkResult
	err error
}

// singleWrite reports whether an upsert can join a batch: one entry, no
// option that acts on the transaction as a whole.
func singleWrite(items []calgate.UpsertItem, opts calgate.UpsertOptions) bool {
	return len(items) == 1 && items[0].Entry != nil && items[0].Err == nil &&
		!opts.Simulate && !opts.StopOnError && opts.Sync == nil && len(opts.Documents) == 0 && len(opts.Records) == 0
}

// Upsert is DB.Upsert; a single-entry write joins its group's batch.
func (g *Grouped) Upsert(ctx context.Context, workspaceID, actor string, items []calgate.UpsertItem, opts calgate.UpsertOptions) (*calgate.BulkResult, error) {
	if !singleWrite(items, opts) {
		return g.DB.Upsert(ctx, workspaceID, actor, items, opts)
	}
	key := groupKey{workspaceID, actor, opts.Verbose, opts.Return}
	e := items[0].Entry
	k := entryKey{e.Kind, e.Source, e.ExternalID}

	g.mu.Lock()
	grp := g.groups[key]
	if grp == nil {
		grp = &writeGroup{}
		g.groups[key] = grp
	}
	if grp.running < g.slots && len(grp.waiting) == 0 {
		// A free slot and no one ahead: write at once, alone.
		grp.running++
		g.mu.Unlock()
		b := &writeBatch{ctx: ctx, items: items, done: make(chan struct{})}
		g.write(key, b)
		g.finish(key, grp)
		return b.results[0].res, b.results[0].err
	}
	b, at := g.join(grp, ctx, items[0], k)
	g.mu.Unlock()
	<-b.done
	return b.results[at].res, b.results[at].err
}

// join adds a write to the first waiting batch that has room and does not
// write its entry yet, or to a new batch; it returns the batch and the
// write's place in it. Called with g.mu held.
func (g *Grouped) join(grp *writeGroup, ctx context.Context, it calgate.UpsertItem, k entryKey) (*writeBatch, int) {
	for _, b := range grp.waiting {
		if len(b.items) < g.maxItems && !b.keys[k] {
			b.items = append(b.items, it)
			b.keys[k] = true
			return b, len(b.items) - 1
		}
	}
	// The batch runs under its first write's context, without its
	// cancellation: the others' answers depend on it too.
	b := &writeBatch{ctx: context.WithoutCancel(ctx), items: []calgate.UpsertItem{it}, keys: map[entryKey]bool{k: true}, done: make(chan struct{})}
	grp.waiting = append(grp.waiting, b)
	return b, 0
}

// finish frees the slot of a batch just written, handing it to the
// oldest waiting batch, which is written by a goroutine of its own so the
// caller can answer its request.
func (g *Grouped) finish(key groupKey, grp *writeGroup) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(grp.waiting) == 0 {
		grp.running--
		if grp.running == 0 {
			delete(g.groups, key)
		}
		return
	}
	next := grp.waiting[0]
	grp.waiting = grp.waiting[1:]
	go func() {
		g.write(key, next)
		close(next.done)
		g.finish(key, grp)
	}()
}

// write writes a batch and sets each write's result.
func (g *Grouped) write(key groupKey, b *writeBatch) {
	b.results = make([]groupResult, len(b.items))
	opts := calgate.UpsertOptions{Verbose: true, Return: key.ret}
	res, err := g.upsert(b.ctx, key.workspaceID, key.actor, b.items, opts)
	if err != nil && len(b.items) > 1 {
		// The transaction failed as a whole: each write on its own, so
		// that one write's error is not the others'.
		for i, it := range b.items {
			r, err := g.upsert(b.ctx, key.workspaceID, key.actor, []calgate.UpsertItem{it}, calgate.UpsertOptions{Verbose: key.verbose, Return: key.ret})
			b.results[i] = groupResult{r, err}
		}
		return
	}
	if err != nil {
		b.results[0].err = err
		return
	}
	for _, op := range res.Operations {
		i := op.Index
		if i < 0 || i >= len(b.items) {
			continue
		}
		one := &calgate.BulkResult{Errors: []calgate.ItemResult{}}
		op.Index = 0
		one.Count(op, key.verbose)
		b.results[i] = groupResult{res: one}
	}
	for i := range b.results {
		if b.results[i].res == nil {
			b.results[i].err = fmt.Errorf("store: upsert: no result for write %d of a batch of %d", i, len(b.items))
		}
	}
}
