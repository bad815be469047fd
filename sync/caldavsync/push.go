package caldavsync

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/ical"
	"github.com/calgate/calgate/sync/caldav"
)

// pushPolicy retries network failures and 5xx of a single-entry push job
// for about a day with the queue's backoff (capped at 10 minutes); the
// periodic reconciliation catches up on anything left behind after that.
var pushPolicy = calgate.Policy{MaxRetry: 150, Timeout: 2 * time.Minute}

// flushPolicy: a flush records its own failures as the target's backoff.
var flushPolicy = calgate.Policy{MaxRetry: 3, Timeout: 10 * time.Minute}

// pushJob is the payload of a JobPush.
type pushJob struct {
	Target string `json:"t"`
	Entry  string `json:"e"`
}

// ObjectName is the name of an entry's object in every calendar: stable,
// so that servers that tie the UID to the name (Nextcloud) accept updates.
func ObjectName(entryID string) string { return entryID + ".ics" }

// Name is the destination's name.
func (s *Service) Name() string { return "caldav" }

// Policy is how the queue runs the destination's event tasks.
func (s *Service) Policy() calgate.Policy { return calgate.Policy{MaxRetry: 25, Timeout: time.Minute} }

// HandleEvent is HandleEvents for one event.
func (s *Service) HandleEvent(ctx context.Context, ev *calgate.Event) error {
	return s.HandleEvents(ctx, []*calgate.Event{ev})
}

// HandleEvents records, for every target whose filter an entry matches now
// or matched before its change, that the entry's version is wanted, in
// grouped writes, and starts a flush of each target concerned. Handling
// events twice, or out of order, changes nothing: the wanted version only
// grows and a push reads the current entry. The wanted versions are the
// record of what each target owes: a flush lost with the queue is started
// again by the sweep.
func (s *Service) HandleEvents(ctx context.Context, evs []*calgate.Event) error {
	targets := map[string][]*calgate.CalDAVTarget{}
	wanted := map[[2]string]calgate.CalDAVWant{}
	flush := map[string]bool{}
	var last int64
	for _, ev := range evs {
		last = max(last, ev.Position)
		if ev.Entry == nil || ev.EntryID == "" {
			continue
		}
		list, ok := targets[ev.WorkspaceID]
		if !ok {
			var err error
			if list, err = s.deps.Store.CalDAVTargets(ctx, ev.WorkspaceID); err != nil {
				return err
			}
			targets[ev.WorkspaceID] = list
		}
		var prev *calgate.Entry
		if len(list) > 0 {
			prev = ev.Previous()
		}
		for _, t := range list {
			f := t.Filter.EntryFilter()
			f.IncludeArchived = true
			if !f.Matches(ev.Entry) && (prev == nil || !f.Matches(prev)) {
				continue
			}
			k := [2]string{t.ID, ev.EntryID}
			if w, ok := wanted[k]; !ok || w.Version < ev.Entry.Version {
				wanted[k] = calgate.CalDAVWant{TargetID: t.ID, EntryID: ev.EntryID, Name: ObjectName(ev.EntryID), Version: ev.Entry.Version}
			}
			if t.State == calgate.CalDAVStateOK {
				flush[t.ID] = true
			}
		}
	}
	if len(wanted) == 0 {
		return nil
	}
	list := make([]calgate.CalDAVWant, 0, len(wanted))
	for _, w := range wanted {
		list = append(list, w)
	}
	slices.SortFunc(list, func(a, b calgate.CalDAVWant) int {
		return cmp.Or(cmp.Compare(a.TargetID, b.TargetID), cmp.Compare(a.EntryID, b.EntryID))
	})
	if err := s.deps.Store.WantCalDAVObjects(ctx, list, s.now()); err != nil {
		return err
	}
	for id := range flush {
		// One flush per target and batch: a flush already running may be
		// past these objects, so this one is not folded into it.
		if err := s.enqueueFlush(ctx, id, strconv.FormatInt(last, 10), time.Time{}); err != nil {
			s.log.Warn("caldav: enqueue flush; the sweep will start it", "target", id, "err", err)
		}
	}
	return nil
}

func (s *Service) enqueueFlush(ctx context.Context, targetID, tag string, at time.Time) error {
	return s.deps.Jobs.Enqueue(ctx, calgate.Job{Type: JobFlush, ID: targetID + ":" + tag, Payload: []byte(targetID + " " + tag), At: at})
}

// Flush sizes: the objects one flush claims at a time, and how many of
// them it writes at once over the kept-alive connections to the server.
const (
	flushPage        = 64
	flushConcurrency = 8
)

// runFlush is the JobFlush handler; its payload is "<target> <tag>".
func (s *Service) runFlush(ctx context.Context, payload []byte) error {
	target, tag, _ := strings.Cut(string(payload), " ")
	return s.flush(ctx, target, tag)
}

// retryJobAt is when a job meant for at should run: the queue schedules to
// the second, so the next whole second never runs it early.
func retryJobAt(at time.Time) time.Time {
	return at.Truncate(time.Second).Add(time.Second)
}

// Flush writes the pending objects of a target to its server, a page of
// claimed objects at a time, until none is left. When the server fails
// (unreachable, 5xx), the claims of what was not written are dropped and
// the target backs off: its pushes wait for the next attempt, which a job
// scheduled for then (or, were it lost, the sweep) starts. Wrong
// credentials put the target in state error.
func (s *Service) Flush(ctx context.Context, targetID string) error {
	return s.flush(ctx, targetID, "")
}

func (s *Service) flush(ctx context.Context, targetID, tag string) error {
	st := s.deps.Store
	t, err := st.CalDAVTarget(ctx, "", targetID)
	if errors.Is(err, calgate.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if t.State != calgate.CalDAVStateOK {
		return nil
	}
	if t.PushRetryAt != nil && s.now().Before(*t.PushRetryAt) {
		// Backing off. A job scheduled for the end of the backoff that
		// runs early (the queue schedules to the second) tries again then.
		if strings.HasPrefix(tag, "retry:") {
			return s.enqueueFlush(ctx, t.ID, tag+":again", retryJobAt(*t.PushRetryAt))
		}
		return nil
	}
	cl, err := s.client(t)
	if err != nil {
		return err
	}
	// Pages overlap: the next page is claimed once every object of the
	// current one is under way, so the server is never left idle while a
	// page's last writes finish and the next page is read.
	halt := &pushHalt{}
	wrote := false
	var prev *pushRun
	for {
		if prev != nil && halt.stopped() != nil {
			// The page under way stopped the flush: nothing more is claimed.
			_, err := s.settle(ctx, t, prev)
			return err
		}
		now := s.now()
		objs, err := st.ClaimCalDAVPushes(ctx, t.ID, now, now.Add(s.opts.PushLease), flushPage)
		if err != nil || len(objs) == 0 {
			if prev != nil {
				done, serr := s.settle(ctx, t, prev)
				if serr != nil || !done {
					return serr
				}
				wrote = true
			}
			if err == nil && wrote && t.PushAttempts > 0 {
				err = st.SetCalDAVPushRetry(ctx, t.ID, 0, nil)
			}
			return err
		}
		cur := s.startPushes(ctx, t, cl, objs, halt)
		if prev != nil {
			done, err := s.settle(ctx, t, prev)
			if err != nil || !done {
				// The server failed: what the current page did not
				// write goes back, as the failed page's did.
				cur.wg.Wait()
				return errors.Join(err, s.release(ctx, t, cur))
			}
			wrote = true
		}
		prev = cur
	}
}

// pushHalt is set by the first write of a flush that stops it (the server
// failing, or refusing the credentials); writes not started yet are then
// not sent.
type pushHalt struct {
	mu  sync.Mutex
	err error
}

func (h *pushHalt) stop(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		h.err = err
	}
}

func (h *pushHalt) stopped() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// pushRun is one page of a flush being written.
type pushRun struct {
	wg        sync.WaitGroup
	mu        sync.Mutex
	conflicts int
	// failed lists the entries not written, to be claimed again.
	failed []string
	// stop is the error that stopped the flush during this page.
	stop error
}

// settle waits for a page, gives back what it did not write and records
// its outcome. done is false when the server failed during it (the failure
// is recorded on the target).
func (s *Service) settle(ctx context.Context, t *calgate.CalDAVTarget, r *pushRun) (done bool, err error) {
	r.wg.Wait()
	if err := s.release(ctx, t, r); err != nil {
		return false, errors.Join(r.stop, err)
	}
	if r.stop != nil {
		return false, s.flushFailed(ctx, t, r.stop)
	}
	return true, s.deps.Store.RecordCalDAVOutcome(ctx, t.ID, "", "", s.now(), r.conflicts)
}

// release gives back the claims of a finished page's unwritten objects.
func (s *Service) release(ctx context.Context, t *calgate.CalDAVTarget, r *pushRun) error {
	if len(r.failed) == 0 {
		return nil
	}
	return s.deps.Store.LeaseCalDAVPushes(context.WithoutCancel(ctx), t.ID, r.failed, nil)
}

// startPushes writes claimed objects side by side, over the target's
// connections, and returns once every one of them is under way. Failures
// that stop the flush (the server failing, or refusing the credentials)
// set halt and are the page's stop; other failures of one object are
// logged and left to the reconciliation.
func (s *Service) startPushes(ctx context.Context, t *calgate.CalDAVTarget, cl *caldav.Client, objs []*calgate.CalDAVObject, halt *pushHalt) *pushRun {
	r := &pushRun{}
	sem := s.targetConns(t.ID)
	for _, obj := range objs {
		sem <- struct{}{}
		r.wg.Add(1)
		go func() {
			defer func() { <-sem; r.wg.Done() }()
			if halt.stopped() != nil {
				r.mu.Lock()
				r.failed = append(r.failed, obj.EntryID)
				r.mu.Unlock()
				return
			}
			n, err := s.pushObject(ctx, t, cl, obj)
			r.mu.Lock()
			defer r.mu.Unlock()
			r.conflicts += n
			if err == nil {
				return
			}
			if errors.Is(err, caldav.ErrUnauthorized) || caldav.IsRetryable(err) || ctx.Err() != nil {
				r.failed = append(r.failed, obj.EntryID)
				if r.stop == nil {
					r.stop = err
				}
				halt.stop(err)
				return
			}
			// The server refused this object alone: it waits for the next
			// reconciliation instead of being sent again at once.
			s.log.Warn("caldav: push failed", "target", t.ID, "workspace", t.WorkspaceID, "entry", obj.EntryID, "err", err)
			until := s.now().Add(s.opts.ReconcileInterval)
			if rerr := s.deps.Store.LeaseCalDAVPushes(context.WithoutCancel(ctx), t.ID, []string{obj.EntryID}, &until); rerr != nil {
				s.log.Warn("caldav: hold push", "target", t.ID, "entry", obj.EntryID, "err", rerr)
			}
		}()
	}
	return r
}

// targetConns is the semaphore of a target's writes in this process.
func (s *Service) targetConns(targetID string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.conns[targetID]
	if c == nil {
		c = make(chan struct{}, flushConcurrency)
		s.conns[targetID] = c
	}
	return c
}

// flushFailed records a flush's failure on the target: wrong credentials
// stop it (state error); a failing server sets its backoff and schedules
// the next flush for when it ends.
func (s *Service) flushFailed(ctx context.Context, t *calgate.CalDAVTarget, err error) error {
	rec := context.WithoutCancel(ctx)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if ferr := s.failed(rec, t, err); ferr == nil {
		return nil
	}
	attempts := t.PushAttempts + 1
	retryAt := s.now().Add(retryDelay(attempts))
	if rerr := s.deps.Store.SetCalDAVPushRetry(rec, t.ID, attempts, &retryAt); rerr != nil {
		return errors.Join(err, rerr)
	}
	if jerr := s.enqueueFlush(rec, t.ID, "retry:"+strconv.Itoa(attempts), retryJobAt(retryAt)); jerr != nil {
		s.log.Warn("caldav: schedule flush retry; the sweep will start it", "target", t.ID, "err", jerr)
	}
	s.log.Warn("caldav: server failing; pushes wait", "target", t.ID, "attempts", attempts, "retry_at", retryAt, "err", err)
	return nil
}

// retryDelay is a failing server's backoff: 1 s, 2 s, 4 s … capped at
// 10 minutes.
func retryDelay(attempt int) time.Duration {
	return min(time.Second<<min(attempt-1, 10), 10*time.Minute)
}

// SweepPushes starts a flush of every target with pushes pending longer
// than the lease that no flush holds: those whose flush was lost with the
// queue or with a killed worker. It is safe in every worker at once:
// flushes claim objects, so two flushes of one target share the work.
func (s *Service) SweepPushes(ctx context.Context) error {
	now := s.now()
	ids, err := s.deps.Store.CalDAVTargetsOwingPushes(ctx, now.Add(-s.opts.PushLease), now, 500)
	if err != nil {
		return err
	}
	tag := "sweep:" + strconv.FormatInt(now.UnixNano()/int64(s.opts.PushLease), 10)
	var errs []error
	for _, id := range ids {
		errs = append(errs, s.enqueueFlush(ctx, id, tag, time.Time{}))
	}
	return errors.Join(errs...)
}

// runPush is the JobPush handler, kept for single-entry push jobs queued
// by earlier releases. An error (server unreachable, 5xx) retries the job
// with backoff; wrong credentials put the target in state error.
func (s *Service) runPush(ctx context.Context, payload []byte) error {
	var j pushJob
	if err := json.Unmarshal(payload, &j); err != nil || j.Target == "" || j.Entry == "" {
		s.log.Error("caldav: bad push job", "payload", string(payload))
		return nil
	}
	// A change announced while this job ran found the job's id taken and
	// was dropped: go round again until nothing newer is wanted.
	for range 5 {
		again, err := s.Push(ctx, j.Target, j.Entry)
		if err != nil || !again {
			return err
		}
	}
	return nil
}

// Push brings one entry's object in a target up to date: the current entry
// when the target's filter selects it, else no object. It reports whether a
// newer version was announced meanwhile.
func (s *Service) Push(ctx context.Context, targetID, entryID string) (again bool, err error) {
	st := s.deps.Store
	t, err := st.CalDAVTarget(ctx, "", targetID)
	if errors.Is(err, calgate.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if t.State != calgate.CalDAVStateOK {
		return false, nil
	}
	obj, err := st.CalDAVObject(ctx, t.ID, entryID)
	if errors.Is(err, calgate.ErrNotFound) {
		obj = &calgate.CalDAVObject{TargetID: t.ID, EntryID: entryID, Name: ObjectName(entryID), State: calgate.CalDAVObjectAbsent}
	} else if err != nil {
		return false, err
	}
	cl, err := s.client(t)
	if err != nil {
		return false, err
	}
	conflicts, err := s.pushObject(ctx, t, cl, obj)
	if err != nil {
		return false, s.failed(ctx, t, err)
	}
	if err := st.RecordCalDAVOutcome(ctx, t.ID, "", "", s.now(), conflicts); err != nil {
		return false, err
	}
	cur, err := st.CalDAVObject(ctx, t.ID, entryID)
	if err != nil {
		return false, err
	}
	return cur.WantedVersion > cur.PushedVersion, nil
}

// pushObject writes one object as the entry now stands (or removes it) and
// records what the server holds. It returns the conflicts it met.
func (s *Service) pushObject(ctx context.Context, t *calgate.CalDAVTarget, cl *caldav.Client, obj *calgate.CalDAVObject) (int, error) {
	st := s.deps.Store
	e, err := st.Entry(ctx, t.WorkspaceID, "", obj.EntryID, true)
	if errors.Is(err, calgate.ErrNotFound) {
		e = nil
	} else if err != nil {
		return 0, err
	}
	version := obj.WantedVersion
	if e != nil {
		version = e.Version
	}
	if obj.PushedVersion >= version {
		// Only older versions were announced late: nothing to send.
		obj.WantedVersion = obj.PushedVersion
		obj.UpdatedAt = s.now()
		return 0, st.SaveCalDAVObject(ctx, obj)
	}
	out, err := s.apply(ctx, cl, obj, e, s.selects(t, e, obj), "")
	if err != nil {
		return out.conflicts, err
	}
	obj.ETag, obj.State, obj.PushedVersion = out.etag, out.state, version
	obj.WantedVersion = max(obj.WantedVersion, version)
	obj.UpdatedAt = s.now()
	return out.conflicts, st.SaveCalDAVObject(ctx, obj)
}

// selects reports whether the entry's object belongs on the server: the
// filter matches, or (on_archive cancel) the entry was archived while its
// object was there, which keeps it as STATUS:CANCELLED.
func (s *Service) selects(t *calgate.CalDAVTarget, e *calgate.Entry, obj *calgate.CalDAVObject) bool {
	if e == nil {
		return false
	}
	f := t.Filter.EntryFilter()
	if f.Matches(e) {
		return true
	}
	if e.Archived() && t.OnArchive == calgate.OnArchiveCancel && obj.State == calgate.CalDAVObjectPresent {
		f.IncludeArchived = true
		return f.Matches(e)
	}
	return false
}

// applied is the outcome of one object's writes.
type applied struct {
	etag      string
	state     string
	conflicts int
	// op is "created", "updated", "deleted" or "" (nothing sent).
	op string
}

// apply makes the server hold the entry (present) or not hold calgate's
// object. serverETag, when known (reconciliation), is the ETag the server
// listed. A precondition failure means someone changed or removed the
// object on the server: the gateway's version is written over it and one
// conflict is counted.
func (s *Service) apply(ctx context.Context, cl *caldav.Client, obj *calgate.CalDAVObject, e *calgate.Entry, present bool, serverETag string) (applied, error) {
	if !present {
		if obj.State != calgate.CalDAVObjectPresent {
			return applied{state: calgate.CalDAVObjectAbsent}, nil
		}
		out := applied{state: calgate.CalDAVObjectAbsent, op: "deleted"}
		tag := obj.ETag
		if serverETag != "" {
			tag = serverETag
		}
		err := cl.Delete(ctx, obj.Name, tag)
		if errors.Is(err, caldav.ErrPreconditionFailed) {
			out.conflicts++
			err = cl.Delete(ctx, obj.Name, "")
		}
		return out, err
	}
	var buf bytes.Buffer
	if err := ical.RenderEntry(&buf, ical.Calendar{}, ical.Event{Entry: e}); err != nil {
		return applied{}, fmt.Errorf("caldavsync: render %s: %w", e.ID, err)
	}
	out := applied{state: calgate.CalDAVObjectPresent, op: "updated"}
	tag := ""
	if obj.State == calgate.CalDAVObjectPresent {
		tag = obj.ETag
	}
	if serverETag != "" {
		tag = serverETag
	}
	if tag == "" {
		out.op = "created"
	}
	newTag, err := cl.Put(ctx, obj.Name, buf.Bytes(), tag)
	if errors.Is(err, caldav.ErrPreconditionFailed) {
		body, cur, gerr := cl.Get(ctx, obj.Name)
		switch {
		case errors.Is(gerr, calgate.ErrNotFound):
			cur = ""
			out.op = "created"
		case gerr != nil:
			return applied{}, gerr
		case objectVersion(body) >= e.Version:
			// Another worker (a reconciliation, a retried job) already
			// wrote this version: no conflict, nothing to write.
			return applied{etag: cur, state: calgate.CalDAVObjectPresent}, nil
		default:
			out.op = "updated"
		}
		out.conflicts++
		newTag, err = cl.Put(ctx, obj.Name, buf.Bytes(), cur)
	}
	out.etag = newTag
	return out, err
}

// failed records a failed write on the target and decides whether it is
// retried: wrong credentials stop the target (no retry), network errors
// and 5xx are returned to be retried, anything else is noted and dropped
// (the reconciliation tries again).
func (s *Service) failed(ctx context.Context, t *calgate.CalDAVTarget, err error) error {
	state := ""
	if errors.Is(err, caldav.ErrUnauthorized) {
		state = calgate.CalDAVStateError
	}
	if rerr := s.deps.Store.RecordCalDAVOutcome(ctx, t.ID, state, err.Error(), s.now(), 0); rerr != nil {
		return errors.Join(err, rerr)
	}
	if state == "" && caldav.IsRetryable(err) {
		return err
	}
	s.log.Warn("caldav: push failed", "target", t.ID, "workspace", t.WorkspaceID, "err", err)
	return nil
}

// objectVersion reads the entry version calgate wrote into an object
// (X-CALGATE-VERSION); 0 when there is none.
func objectVersion(ics []byte) int64 {
	const prop = "\nX-CALGATE-VERSION:"
	i := bytes.Index(ics, []byte(prop))
	if i < 0 {
		return 0
	}
	rest := ics[i+len(prop):]
	if j := bytes.IndexAny(rest, "\r\n"); j >= 0 {
		rest = rest[:j]
	}
	v, err := strconv.ParseInt(string(bytes.TrimSpace(rest)), 10, 64)
	if err != nil {
		return 0
	}
	return v
}
