package caldavsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/ical"
	"github.com/calgate/calgate/sync/caldav"
)

// pushPolicy retries network failures and 5xx for about a day with the
// queue's backoff (capped at 10 minutes); the periodic reconciliation
// catches up on anything left behind after that.
var pushPolicy = calgate.Policy{MaxRetry: 150, Timeout: 2 * time.Minute}

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

// HandleEvent records, for every target whose filter the entry matches now
// or matched before the change, that the entry's version is wanted, and
// enqueues a push. Pushes of one entry to one target collapse into one job.
// Handling an event twice, or out of order, changes nothing: the wanted
// version only grows and the push reads the current entry.
func (s *Service) HandleEvent(ctx context.Context, ev *calgate.Event) error {
	if ev.Entry == nil || ev.EntryID == "" {
		return nil
	}
	targets, err := s.opts.Store.CalDAVTargets(ctx, ev.WorkspaceID)
	if err != nil {
		return err
	}
	var prev *calgate.Entry
	if len(targets) > 0 {
		prev = ev.Previous()
	}
	for _, t := range targets {
		f := t.Filter.EntryFilter()
		f.IncludeArchived = true
		if !f.Matches(ev.Entry) && (prev == nil || !f.Matches(prev)) {
			continue
		}
		if err := s.opts.Store.WantCalDAVObject(ctx, t.ID, ev.EntryID, ObjectName(ev.EntryID), ev.Entry.Version, s.now()); err != nil {
			return err
		}
		if t.State != calgate.CalDAVStateOK {
			continue
		}
		if err := s.enqueuePush(ctx, t.ID, ev.EntryID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) enqueuePush(ctx context.Context, targetID, entryID string) error {
	payload, err := json.Marshal(pushJob{Target: targetID, Entry: entryID})
	if err != nil {
		return fmt.Errorf("caldavsync: push job: %w", err)
	}
	return s.opts.Jobs.Enqueue(ctx, calgate.Job{Type: JobPush, ID: targetID + ":" + entryID, Payload: payload})
}

// runPush is the JobPush handler. An error (server unreachable, 5xx)
// retries the job with backoff; wrong credentials put the target in state
// error and end the job.
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
	st := s.opts.Store
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
	e, err := st.Entry(ctx, t.WorkspaceID, "", entryID, true)
	if errors.Is(err, calgate.ErrNotFound) {
		e = nil
	} else if err != nil {
		return false, err
	}
	version := obj.WantedVersion
	if e != nil {
		version = e.Version
	}
	if obj.PushedVersion >= version {
		if obj.WantedVersion > obj.PushedVersion {
			// Only older versions were announced late: nothing to send.
			obj.WantedVersion = obj.PushedVersion
			obj.UpdatedAt = s.now()
			return false, st.SaveCalDAVObject(ctx, obj)
		}
		return false, nil
	}
	cl, err := s.client(t)
	if err != nil {
		return false, err
	}
	out, err := s.apply(ctx, cl, obj, e, s.selects(t, e, obj), "")
	if err != nil {
		return false, s.failed(ctx, t, err)
	}
	obj.ETag, obj.State, obj.PushedVersion = out.etag, out.state, version
	obj.WantedVersion = max(obj.WantedVersion, version)
	obj.UpdatedAt = s.now()
	if err := st.SaveCalDAVObject(ctx, obj); err != nil {
		return false, err
	}
	if err := st.RecordCalDAVOutcome(ctx, t.ID, "", "", s.now(), out.conflicts); err != nil {
		return false, err
	}
	cur, err := st.CalDAVObject(ctx, t.ID, entryID)
	if err != nil {
		return false, err
	}
	return cur.WantedVersion > cur.PushedVersion, nil
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
	if rerr := s.opts.Store.RecordCalDAVOutcome(ctx, t.ID, state, err.Error(), s.now(), 0); rerr != nil {
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
