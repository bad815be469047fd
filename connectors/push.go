package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/webhooks"
)

// pushJob is the payload of a JobPush.
type pushJob struct {
	Connector string `json:"c"`
	Entry     string `json:"e"`
	// Token is the lease token of a push the sweep claimed.
	Token string `json:"t,omitempty"`
}

// Name is the destination's name.
func (s *Service) Name() string { return "connectors" }

// Policy is how the queue runs the destination's event tasks.
func (s *Service) Policy() calgate.Policy { return calgate.Policy{MaxRetry: 25, Timeout: time.Minute} }

// HandleEvent is HandleEvents for one event.
func (s *Service) HandleEvent(ctx context.Context, ev *calgate.Event) error {
	return s.HandleEvents(ctx, []*calgate.Event{ev})
}

// HandleEvents records, for every connector of the workspace whose filter
// selects an entry now or selected it before the change, that the entry's
// version is owed (one grouped write for the whole batch), and enqueues the
// pushes of connected ones (connectors waiting for consent, needing
// reauthorization or paused keep what they owe): for an application that
// writes in batches, one job per connector; otherwise one per entry and
// version, so pushes of one version collapse into one job.
// Handling an event twice, or out of order, changes nothing: the wanted
// version only grows and the push reads the current entry. An error fails
// the whole batch, which is handled again.
func (s *Service) HandleEvents(ctx context.Context, evs []*calgate.Event) error {
	byWorkspace := map[string][]*calgate.Connector{}
	var wants []calgate.ConnectorWant
	type push struct {
		c       *calgate.Connector
		entryID string
		version int64
	}
	var pushes []push
	batched := map[string]bool{}
	for _, ev := range evs {
		if ev.Entry == nil || ev.EntryID == "" {
			continue
		}
		list, seen := byWorkspace[ev.WorkspaceID]
		if !seen {
			var err error
			if list, err = s.d.Store.Connectors(ctx, ev.WorkspaceID); err != nil {
				return err
			}
			byWorkspace[ev.WorkspaceID] = list
		}
		prev := ev.Previous()
		for _, c := range list {
			f := c.Filter.EntryFilter()
			f.IncludeArchived = true
			if !f.Matches(ev.Entry) && (prev == nil || !f.Matches(prev)) {
				continue
			}
			wants = append(wants, calgate.ConnectorWant{ConnectorID: c.ID, EntryID: ev.EntryID, Version: ev.Entry.Version})
			if c.State != calgate.ConnectorStateConnected {
				continue
			}
			if _, batch := s.vendors[c.Type].(BatchVendor); batch {
				if batched[c.ID] {
					continue
				}
				batched[c.ID] = true
			}
			pushes = append(pushes, push{c, ev.EntryID, ev.Entry.Version})
		}
	}
	if err := s.d.Store.WantConnectorLinks(ctx, wants, s.now()); err != nil {
		return err
	}
	// The job's id names the version: a push job of an older version that
	// is just ending (its last look found nothing newer owed, its id still
	// taken) must not swallow this one.
	return parallel(len(pushes), enqueueConcurrency, func(i int) error {
		p := pushes[i]
		return s.schedule(ctx, p.c, p.entryID, fmt.Sprintf("v%d", p.version))
	})
}

// enqueueConcurrency bounds the enqueues of one batch in flight at once.
const enqueueConcurrency = 16

// parallel runs fn(0) … fn(n-1), at most limit at once, and returns the
// first error.
func parallel(n, limit int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	sem := make(chan struct{}, limit)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
				once.Do(func() { first = err })
			}
		}()
	}
	wg.Wait()
	return first
}

// schedule enqueues the push of an entry owed to a connector: its own job
// (tag sets it apart, see enqueuePush), or, for an application that writes
// in batches, the connector's batch job after BatchDelay: one job collects
// every change made until it runs, and the next delay's changes get the
// next job, so a batch job just ending swallows none.
func (s *Service) schedule(ctx context.Context, c *calgate.Connector, entryID, tag string) error {
	if _, batch := s.vendors[c.Type].(BatchVendor); batch {
		at := s.now().Add(s.o.BatchDelay)
		return s.enqueuePush(ctx, c.ID, "", "", at, fmt.Sprintf("b%d", at.UnixNano()/int64(max(s.o.BatchDelay, time.Millisecond))))
	}
	return s.enqueuePush(ctx, c.ID, entryID, "", time.Time{}, tag)
}

// enqueuePush schedules a push. Its job id is the connector and entry, so
// pushes collapse; tag sets apart pushes that must not be dropped for a job
// of the same id still queued or running (retries, the sweep's).
func (s *Service) enqueuePush(ctx context.Context, connectorID, entryID, token string, at time.Time, tag string) error {
	payload, err := json.Marshal(pushJob{Connector: connectorID, Entry: entryID, Token: token})
	if err != nil {
		return fmt.Errorf("connectors: push job: %w", err)
	}
	id := connectorID + ":" + entryID
	if entryID == "" {
		id = connectorID + ":batch"
	}
	if tag != "" {
		id += ":" + tag
	}
	return s.d.Jobs.Enqueue(ctx, calgate.Job{Type: JobPush, ID: id, Payload: payload, At: at})
}

// runPush is the JobPush handler.
func (s *Service) runPush(ctx context.Context, payload []byte) error {
	var j pushJob
	if err := json.Unmarshal(payload, &j); err != nil || j.Connector == "" {
		s.log.Error("connectors: bad push job", "payload", string(payload))
		return nil
	}
	// A change announced while this job ran found the job's id taken and
	// was dropped: go round again while something newer is owed (or, for
	// batches, while batches come out full), then leave the rest to a
	// fresh job rather than hold the worker.
	start := time.Now()
	for range 5 {
		again, err := s.Push(ctx, j.Connector, j.Entry, j.Token)
		if err != nil || !again {
			return err
		}
		j.Token = ""
		if time.Since(start) > s.o.Lease/4 {
			break
		}
	}
	return s.enqueuePush(ctx, j.Connector, j.Entry, "", time.Time{}, "more-"+calgate.NewSecret(6))
}

// Sweep claims owed pushes that are overdue and unheld (their job was lost
// with Redis, or their worker was killed) and enqueues them again. It is
// safe in many worker processes at once: one statement claims each push
// for one of them.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	token := calgate.NewSecret(12)
	list, err := s.d.Store.ClaimDueConnectorLinks(ctx, now.Add(-s.o.SweepInterval), now, now.Add(s.o.Lease), token, 500)
	if err != nil {
		return err
	}
	for _, l := range list {
		if err := s.enqueuePush(ctx, l.ConnectorID, l.EntryID, token, time.Time{}, "sweep-"+token); err != nil {
			return err
		}
	}
	return nil
}

// Push brings one entry's remote object in one connector up to date, if it
// is owed, due and no one else holds it. token is the lease the sweep
// claimed for it ("" for none). It reports whether a newer version was
// announced meanwhile. For an application that writes in batches it pushes
// the entry (if owed) with other owed entries of the connector, up to a
// batch (entryID may be empty: any owed entries), and reports whether the
// batch was full. Failures are recorded on the link and retried on the
// webhook schedule (429 and 503 after their Retry-After); a refused
// refresh token puts the connector in needs_reauth, keeping the push owed.
func (s *Service) Push(ctx context.Context, connectorID, entryID, token string) (again bool, err error) {
	st := s.d.Store
	c, err := st.Connector(ctx, "", connectorID)
	if errors.Is(err, calgate.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if c.State != calgate.ConnectorStateConnected {
		return false, nil
	}
	vendor := s.vendors[c.Type]
	if vendor == nil {
		s.log.Warn("connectors: no such application in this build", "connector", c.ID, "type", c.Type)
		return false, nil
	}
	if bv, ok := vendor.(BatchVendor); ok {
		return s.pushBatch(ctx, c, bv, entryID, token)
	}
	if entryID == "" {
		return false, nil
	}
	if token == "" {
		token = calgate.NewSecret(12)
	}
	now := s.now()
	link, err := st.ClaimConnectorLink(ctx, c.ID, entryID, token, now, now.Add(s.o.Lease))
	if errors.Is(err, calgate.ErrNotFound) {
		return false, nil // in sync, not due yet, or held by another worker
	}
	if err != nil {
		return false, err
	}
	e, err := st.Entry(ctx, c.WorkspaceID, "", entryID, true)
	if errors.Is(err, calgate.ErrNotFound) {
		e = nil
	} else if err != nil {
		s.release(ctx, link, link.Attempts, link.NextAttemptAt, link.LastError)
		return false, err
	}
	version := link.WantedVersion
	if e != nil {
		version = max(version, e.Version)
	}
	p := &Push{Connector: c, Entry: e, Link: link, Version: version}
	if e != nil {
		f := c.Filter.EntryFilter()
		p.Selected = f.Matches(e)
	}
	if link.RemoteID == "" {
		p.CreateKey, p.CreateRetried = link.CreateKey, link.CreateKey != ""
		if p.CreateKey == "" {
			p.CreateKey = Key(c.ID, entryID, version, "create")
			if err := st.SetConnectorCreateKey(ctx, c.ID, entryID, p.CreateKey); err != nil {
				s.release(ctx, link, link.Attempts, link.NextAttemptAt, link.LastError)
				return false, err
			}
		}
	}
	cl := s.newClient(c, vendor, entryID)
	err = vendor.Push(ctx, cl, p)
	cl.flush(ctx)
	if err != nil {
		return false, s.failed(ctx, c, link, err)
	}
	link.PushedVersion = version
	// The application has the change: what it answered is recorded even
	// when the worker is stopping, or the link would stay held until its
	// lease ran out and the change be sent again.
	if err := st.SaveConnectorLink(context.WithoutCancel(ctx), link, s.now()); err != nil {
		return false, err
	}
	s.d.Metrics.push(c.Type, "pushed")
	if c.LastError != "" || c.LastSuccessAt == nil || s.now().Sub(*c.LastSuccessAt) > time.Second {
		if err := st.RecordConnectorOutcome(ctx, c.ID, "", s.now()); err != nil {
			return false, err
		}
	}
	cur, err := st.ConnectorLink(ctx, c.ID, entryID)
	if err != nil {
		return false, err
	}
	return cur.Owed(), nil
}

// failed records a failed push and schedules what comes next.
func (s *Service) failed(ctx context.Context, c *calgate.Connector, l *calgate.ConnectorLink, err error) error {
	var ra *RetryAfterError
	now := s.now()
	switch {
	case errors.Is(err, ErrReauth):
		s.d.Metrics.push(c.Type, "needs_reauth")
		s.release(ctx, l, l.Attempts, &now, err.Error())
		s.disconnect(ctx, c, err.Error())
		return nil
	case ctx.Err() != nil:
		// The worker is stopping: give the push back as it was; the sweep
		// sends it again, with the same keys.
		s.release(ctx, l, l.Attempts, l.NextAttemptAt, l.LastError)
		return ctx.Err()
	case errors.As(err, &ra):
		s.d.Metrics.push(c.Type, "rate_limited")
		next := now.Add(ra.Wait)
		s.release(ctx, l, l.Attempts, &next, err.Error())
		s.recordFailure(ctx, c, err)
		return s.enqueuePush(context.WithoutCancel(ctx), c.ID, l.EntryID, "", next, fmt.Sprintf("at%d", next.UnixMilli()))
	}
	s.d.Metrics.push(c.Type, "failed")
	attempts := l.Attempts + 1
	wait, more := webhooks.NextDelay(attempts+1, rand.Float64)
	var next *time.Time
	if more {
		at := now.Add(time.Duration(float64(wait) * s.o.RetryScale))
		next = &at
	}
	s.release(ctx, l, attempts, next, err.Error())
	s.recordFailure(ctx, c, err)
	s.log.Warn("connectors: push failed", "connector", c.ID, "entry", l.EntryID, "attempts", attempts, "err", err)
	if next == nil {
		return nil
	}
	return s.enqueuePush(context.WithoutCancel(ctx), c.ID, l.EntryID, "", *next, fmt.Sprintf("a%d", attempts))
}

func (s *Service) release(ctx context.Context, l *calgate.ConnectorLink, attempts int, next *time.Time, lastError string) {
	if err := s.d.Store.ReleaseConnectorLink(context.WithoutCancel(ctx), l.ConnectorID, l.EntryID, attempts, next, clip(lastError)); err != nil {
		s.log.Warn("connectors: release push", "connector", l.ConnectorID, "entry", l.EntryID, "err", err)
	}
}

func (s *Service) recordFailure(ctx context.Context, c *calgate.Connector, err error) {
	if rerr := s.d.Store.RecordConnectorOutcome(context.WithoutCancel(ctx), c.ID, clip(err.Error()), s.now()); rerr != nil {
		s.log.Warn("connectors: record failure", "connector", c.ID, "err", rerr)
	}
}
