package imports

import (
	"context"
	"fmt"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports/template"
)

// document.go of package template says how templates map documents sent
// whole; this is how an import replaces them.

// document queues the entries of one record of a whole-document template.
// They go into one batch, with the document to replace, so the document
// is replaced in one transaction; a record whose key is already in the
// current batch starts a new one, so the later version wins. A document
// with a failed entry is not replaced: what it held stays until a version
// of it imports cleanly.
func (r *importRun) document(ctx context.Context, rec any, prefix string) error {
	key, err := r.t.DocumentKey(rec)
	if err != nil {
		ref := template.RecordRef(prefix)
		r.add(pending{ref: ref, item: &calgate.UpsertItem{Ref: ref, Err: calgate.Invalid(joinRef(prefix, "document"), "%v", err)}})
		if r.opts.Mode == calgate.ImportModeSync && r.cur.syncSkipped == "" {
			r.cur.syncSkipped = fmt.Sprintf("%s has no document key, so nothing is archived", ref)
		}
		return r.record(ctx)
	}
	if r.cur.docs[key] {
		if err := r.handOver(ctx); err != nil {
			return err
		}
	}
	if r.cur.docs == nil {
		r.cur.docs = map[string]bool{}
	}
	r.cur.docs[key] = true
	ps, err := r.t.Map(rec)
	if err != nil {
		ref := template.RecordRef(prefix)
		r.add(pending{ref: ref, item: &calgate.UpsertItem{Ref: ref, Err: calgate.Invalid(ref, "%v", err)}})
		return r.record(ctx)
	}
	failed := false
	for _, p := range ps {
		p.Ref = joinRef(prefix, p.Ref)
		if r.producedIn(p, key) {
			failed = true
		}
	}
	if !failed {
		r.cur.documents = append(r.cur.documents, key)
	}
	return r.record(ctx)
}
