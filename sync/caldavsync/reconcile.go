package caldavsync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/sync/caldav"
)

// entryPage is how many entries a reconciliation reads at a time.
const entryPage = 1000

// clockSkew is how far apart the clocks of the workers that push and
// reconcile may be: a record written this shortly before a sync token was
// asked for is not trusted to be older than the token.
const clockSkew = 10 * time.Second

// Reconcile compares what the target's calendar holds with what its filter
// selects and converges: it creates the objects that are missing, rewrites
// those that differ (another ETag than calgate recorded, or an older
// version), deletes calgate's objects that should no longer be there, and
// leaves alone every object calgate did not create. One bad object does not
// stop the run; wrong credentials put the target in state error.
//
// With a sync token from the last run, the server is asked only what
// changed since (sync-collection) and calgate's records of its own objects
// fill in the rest. Without one, or when the server refuses the token,
// everything is listed. A run that wrote every object keeps the server's
// new token for next time.
func (s *Service) Reconcile(ctx context.Context, t *calgate.CalDAVTarget) (*calgate.ReconcileResult, error) {
	cl, err := s.client(t)
	if err != nil {
		return nil, err
	}
	view, err := s.listServer(ctx, t, cl)
	if err != nil {
		return nil, s.reconcileFailed(ctx, t, err)
	}
	known, err := s.deps.Store.CalDAVObjects(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	objs := make(map[string]*calgate.CalDAVObject, len(known))
	for _, o := range known {
		objs[o.EntryID] = o
	}
	onServer, unsure := view.objects(known, t.SyncTokenAt)
	if err := resolve(ctx, cl, onServer, unsure); err != nil {
		return nil, s.reconcileFailed(ctx, t, err)
	}

	res := &calgate.ReconcileResult{}
	selected := map[string]bool{}
	f := t.Filter.EntryFilter()
	f.IncludeArchived = t.OnArchive == calgate.OnArchiveCancel
	f.Limit = entryPage
	for {
		entries, next, err := s.deps.Store.Entries(ctx, t.WorkspaceID, f)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			obj := objs[e.ID]
			if obj == nil {
				obj = &calgate.CalDAVObject{TargetID: t.ID, EntryID: e.ID, Name: ObjectName(e.ID), State: calgate.CalDAVObjectAbsent}
			}
			if !s.selects(t, e, obj) {
				continue
			}
			selected[e.ID] = true
			tag, there := onServer[obj.Name]
			if there && obj.State == calgate.CalDAVObjectPresent && obj.ETag == tag && obj.PushedVersion >= e.Version {
				res.Unchanged++
				continue
			}
			if !there {
				// Gone from the server (or never there): create it.
				obj.State = calgate.CalDAVObjectAbsent
				tag = ""
			}
			if err := s.reconcileOne(ctx, t, cl, obj, e, true, tag, res); err != nil {
				return res, err
			}
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	for _, obj := range known {
		if selected[obj.EntryID] || obj.State != calgate.CalDAVObjectPresent {
			continue
		}
		tag, there := onServer[obj.Name]
		if !there {
			obj.State = calgate.CalDAVObjectAbsent
		}
		if err := s.reconcileOne(ctx, t, cl, obj, nil, false, tag, res); err != nil {
			return res, err
		}
	}
	token := view.token
	if res.Failed > 0 {
		// An object calgate could not write may differ from its record:
		// the next run lists everything.
		token = ""
	}
	if err := s.deps.Store.SetCalDAVSyncToken(ctx, t.ID, token, view.at); err != nil {
		return res, err
	}
	t.SyncToken, t.SyncTokenAt = token, nil
	if token != "" {
		at := view.at
		t.SyncTokenAt = &at
	}
	if err := s.deps.Store.RecordCalDAVOutcome(ctx, t.ID, "", "", s.now(), res.Conflicts); err != nil {
		return res, err
	}
	s.log.Info("caldav: reconciled", "target", t.ID, "workspace", t.WorkspaceID, "incremental", view.incremental, "created", res.Created,
		"updated", res.Updated, "deleted", res.Deleted, "unchanged", res.Unchanged, "failed", res.Failed)
	return res, nil
}

// serverView is what a reconciliation learnt of the calendar's objects.
type serverView struct {
	// listed holds every object (a full listing) or those created or
	// changed since the stored token (incremental).
	listed []caldav.Object
	// deleted names the objects removed since the stored token.
	deleted []string
	// incremental is true when listed and deleted are changes only.
	incremental bool
	// token is the server's sync token as of the listing; empty when the
	// server gave none. at is when it was asked for.
	token string
	at    time.Time
}

// objects returns the ETag of every object the server holds, by name, as
// far as calgate's objects are concerned, and the names of calgate's
// objects whose presence the listing leaves open. After an incremental
// listing calgate's records stand for the objects the server reported no
// change of, but only records older than the token (tokenAt, less
// clockSkew): an object written since is in the changes while it is there,
// yet a server need not report one created and deleted after the token,
// and a record also ages when a newer version is announced. Objects
// calgate did not create may be missing.
func (v *serverView) objects(known []*calgate.CalDAVObject, tokenAt *time.Time) (onServer map[string]string, unsure []string) {
	onServer = make(map[string]string, len(v.listed)+len(known))
	for _, o := range v.listed {
		onServer[o.Name] = o.ETag
	}
	if !v.incremental || tokenAt == nil {
		return onServer, nil
	}
	gone := make(map[string]bool, len(v.deleted))
	for _, name := range v.deleted {
		gone[name] = true
		delete(onServer, name)
	}
	for _, o := range known {
		if o.State != calgate.CalDAVObjectPresent || gone[o.Name] {
			continue
		}
		if _, changed := onServer[o.Name]; changed {
			continue
		}
		if o.UpdatedAt.Before(tokenAt.Add(-clockSkew)) {
			onServer[o.Name] = o.ETag
		} else {
			unsure = append(unsure, o.Name)
		}
	}
	return onServer, unsure
}

// resolve asks the server for each object whose presence the listing left
// open and records it in onServer when it is there.
func resolve(ctx context.Context, cl *caldav.Client, onServer map[string]string, unsure []string) error {
	for _, name := range unsure {
		_, tag, err := cl.Get(ctx, name)
		switch {
		case errors.Is(err, calgate.ErrNotFound):
		case err != nil:
			return err
		default:
			onServer[name] = tag
		}
	}
	return nil
}

// listServer asks the server what it holds: the changes since the stored
// sync token when there is one; otherwise (or when the server refuses the
// token, or answers the incremental request with an error) a full
// sync-collection listing that starts a new token; and when the server has
// no sync-collection, a Depth-1 PROPFIND. Only the last one's failure
// stops the run: it is the one whose error says what is wrong.
func (s *Service) listServer(ctx context.Context, t *calgate.CalDAVTarget, cl *caldav.Client) (*serverView, error) {
	// The time before the request: a write that raced the listing counts
	// as newer than the token, which only costs a request.
	at := s.now()
	if t.SyncToken != "" && t.SyncTokenAt != nil {
		changed, deleted, token, err := cl.Changes(ctx, t.SyncToken)
		if err == nil && token != "" {
			return &serverView{listed: changed, deleted: deleted, incremental: true, token: token, at: at}, nil
		}
		s.log.Info("caldav: incremental listing refused, listing everything", "target", t.ID, "err", err)
	}
	all, _, token, err := cl.Changes(ctx, "")
	if err == nil && token != "" {
		return &serverView{listed: all, token: token, at: at}, nil
	}
	all, err = cl.List(ctx)
	if err != nil {
		return nil, err
	}
	return &serverView{listed: all}, nil
}

// reconcileOne writes one object and counts the outcome. It returns an
// error only when the whole run must stop.
func (s *Service) reconcileOne(ctx context.Context, t *calgate.CalDAVTarget, cl *caldav.Client, obj *calgate.CalDAVObject, e *calgate.Entry, present bool, serverETag string, res *calgate.ReconcileResult) error {
	out, err := s.apply(ctx, cl, obj, e, present, serverETag)
	res.Conflicts += out.conflicts
	if err != nil {
		if errors.Is(err, caldav.ErrUnauthorized) || caldav.IsRetryable(err) {
			return s.reconcileFailed(ctx, t, err)
		}
		res.Failed++
		s.log.Warn("caldav: reconcile object", "target", t.ID, "entry", obj.EntryID, "err", err)
		return nil
	}
	switch out.op {
	case "created":
		res.Created++
	case "updated":
		res.Updated++
	case "deleted":
		res.Deleted++
	default:
		if present {
			// The server held this version already.
			res.Unchanged++
		}
	}
	version := max(obj.PushedVersion, obj.WantedVersion)
	if e != nil {
		version = max(e.Version, obj.PushedVersion)
	}
	obj.ETag, obj.State, obj.PushedVersion = out.etag, out.state, version
	obj.UpdatedAt = s.now()
	return s.deps.Store.SaveCalDAVObject(ctx, obj)
}

// reconcileFailed records why a reconciliation stopped.
func (s *Service) reconcileFailed(ctx context.Context, t *calgate.CalDAVTarget, err error) error {
	state := ""
	if errors.Is(err, caldav.ErrUnauthorized) {
		state = calgate.CalDAVStateError
	}
	if rerr := s.deps.Store.RecordCalDAVOutcome(ctx, t.ID, state, err.Error(), s.now(), 0); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return fmt.Errorf("caldavsync: reconcile %s: %w", t.ID, err)
}

// runReconcile is the JobReconcile handler: only failures worth retrying
// (server unreachable, 5xx) retry the job.
func (s *Service) runReconcile(ctx context.Context, payload []byte) error {
	t, err := s.deps.Store.CalDAVTarget(ctx, "", string(payload))
	if errors.Is(err, calgate.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if t.State != calgate.CalDAVStateOK {
		return nil
	}
	if _, err := s.Reconcile(ctx, t); err != nil {
		if caldav.IsRetryable(err) {
			return err
		}
		s.log.Warn("caldav: reconcile failed", "target", t.ID, "err", err)
	}
	return nil
}

// ReconcileDue reconciles the targets whose periodic reconciliation is due.
// Every worker runs it; each target is claimed in the database, so one
// worker reconciles it.
func (s *Service) ReconcileDue(ctx context.Context) error {
	now := s.now()
	due, err := s.deps.Store.ClaimCalDAVReconcile(ctx, now, now.Add(s.opts.ReconcileInterval), 20)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range due {
		if _, err := s.Reconcile(ctx, t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
