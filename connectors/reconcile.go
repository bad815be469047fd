package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/calgate/calgate"
)

// JobReconcile reconciles one connector; the database claimed the run.
const JobReconcile = "connector.reconcile"

// Defaults of the reconciliation options.
const (
	DefaultReconcileInterval = 15 * time.Minute
	DefaultReconcileLease    = 10 * time.Minute
	// reconcileRetry is when a failed run is tried again (at most the
	// interval).
	reconcileRetry = time.Minute
)

// Reconciler is an application that can say what changed on its side
// since a cursor (a sync token, a delta link): its reconciliation finds
// calgate's objects that someone changed or removed there, and has them
// pushed again from calgate's state, which stays the source of truth.
// Objects calgate did not create are never touched.
type Reconciler interface {
	// Reconcile lists what changed since r.Cursor (everything when it is
	// empty, or when the application refuses it), calls r.Repair for each
	// of calgate's objects that differs from what calgate pushed, and sets
	// r.NextCursor.
	Reconcile(ctx context.Context, c *Client, r *Reconciliation) error
}

// Reconciliation is one run of a connector's reconciliation.
type Reconciliation struct {
	Connector *calgate.Connector
	// Cursor is where the last run ended; empty the first time and after
	// a run that could not finish.
	Cursor string
	// NextCursor is where the next run goes on from (set by the
	// application; empty: the next run lists everything).
	NextCursor string
	// Started is when the run began: a listing may miss what was pushed
	// after it.
	Started time.Time

	s         *Service
	cl        *Client
	repairs   []calgate.ConnectorRepair
	conflicts map[string]string
	again     bool
}

// Links returns every link of the connector.
func (r *Reconciliation) Links(ctx context.Context) ([]*calgate.ConnectorLink, error) {
	return r.s.d.Store.ConnectorLinks(ctx, r.Connector.ID)
}

// Link returns the connector's link of an entry, nil when it has none.
func (r *Reconciliation) Link(ctx context.Context, entryID string) (*calgate.ConnectorLink, error) {
	l, err := r.s.d.Store.ConnectorLink(ctx, r.Connector.ID, entryID)
	if errors.Is(err, calgate.ErrNotFound) {
		return nil, nil
	}
	return l, err
}

// Entry returns an entry as it is now (nil when it is gone) and whether
// the connector's filter selects it, as a push sees it.
func (r *Reconciliation) Entry(ctx context.Context, entryID string) (*calgate.Entry, bool, error) {
	e, err := r.s.d.Store.Entry(ctx, r.Connector.WorkspaceID, "", entryID, true)
	if errors.Is(err, calgate.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	f := r.Connector.Filter.EntryFilter()
	return e, f.Matches(e), nil
}

// Repair owes an entry's push again, with remoteState as what the push
// will find at the application. conflict, when not empty, says what
// someone did there; it is recorded in the connector's log and counted.
func (r *Reconciliation) Repair(entryID, remoteState, conflict string) {
	r.repairs = append(r.repairs, calgate.ConnectorRepair{EntryID: entryID, RemoteState: remoteState})
	if conflict != "" {
		r.conflicts[entryID] = conflict
	}
}

// Again keeps the cursor the run began with: the changes it listed are
// listed again next time. An application calls it for one of calgate's
// objects it cannot judge now (a push of it is under way or due, so what
// the listing shows may be older than what calgate is writing).
func (r *Reconciliation) Again() { r.again = true }

// reconcileJob is the payload of a JobReconcile.
type reconcileJob struct {
	Connector string `json:"c"`
	Token     string `json:"t"`
}

// ReconcileDue claims the reconciliations that are due and enqueues them.
// Every worker runs it; the database gives each run to one of them.
func (s *Service) ReconcileDue(ctx context.Context) error {
	now := s.now()
	token := calgate.NewSecret(12)
	due, err := s.d.Store.ClaimDueConnectorReconciles(ctx, now, now.Add(s.o.ReconcileLease), token, 50)
	if err != nil {
		return err
	}
	for _, r := range due {
		payload, _ := json.Marshal(reconcileJob{Connector: r.ConnectorID, Token: token})
		if err := s.d.Jobs.Enqueue(ctx, calgate.Job{Type: JobReconcile, ID: r.ConnectorID + ":reconcile:" + token, Payload: payload}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) runReconcile(ctx context.Context, payload []byte) error {
	var j reconcileJob
	if err := json.Unmarshal(payload, &j); err != nil || j.Connector == "" || j.Token == "" {
		s.log.Error("connectors: bad reconcile job", "payload", string(payload))
		return nil
	}
	return s.Reconcile(ctx, j.Connector, j.Token)
}

// Reconcile runs the reconciliation of a connector that token claimed. It
// owes again the pushes of the objects the application reports changed or
// removed, records the conflicts, and sets the next run's time: the
// interval after a finished run, the application's Retry-After or a minute
// after a failed one. A refused refresh token puts the connector in
// needs_reauth.
func (s *Service) Reconcile(ctx context.Context, connectorID, token string) error {
	st := s.d.Store
	rec, err := st.ConnectorReconcile(ctx, connectorID)
	if errors.Is(err, calgate.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rec.LeaseToken != token || !rec.DueAt.After(s.now()) {
		return nil // another run holds it, or this one's lease ran out
	}
	finish := func(cursor string, next time.Time, lastError string, conflicts int) error {
		_, err := st.FinishConnectorReconcile(context.WithoutCancel(ctx), connectorID, token, cursor, next, s.now(), clip(lastError), conflicts)
		return err
	}
	c, err := st.Connector(ctx, "", connectorID)
	if errors.Is(err, calgate.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	vendor := s.vendors[c.Type]
	rc, ok := vendor.(Reconciler)
	if !ok || c.State != calgate.ConnectorStateConnected {
		return finish(rec.Cursor, s.now().Add(s.o.ReconcileInterval), "", 0)
	}
	cl := s.newClient(c, vendor, "")
	r := &Reconciliation{Connector: c, Cursor: rec.Cursor, Started: s.now(), s: s, cl: cl, conflicts: map[string]string{}}
	err = rc.Reconcile(ctx, cl, r)
	defer cl.flush(ctx)
	var ra *RetryAfterError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return ctx.Err() // the job is tried again while the lease holds
	case errors.Is(err, ErrReauth):
		s.disconnect(ctx, c, err.Error())
		return finish(rec.Cursor, s.now().Add(s.o.ReconcileInterval), err.Error(), 0)
	case errors.As(err, &ra):
		return finish(rec.Cursor, s.now().Add(ra.Wait), err.Error(), 0)
	default:
		s.log.Warn("connectors: reconcile failed", "connector", c.ID, "err", err)
		return finish(rec.Cursor, s.now().Add(min(reconcileRetry, s.o.ReconcileInterval)), err.Error(), 0)
	}

	cursor := r.NextCursor
	if r.again {
		cursor = rec.Cursor
	}
	owed := []string{}
	if len(r.repairs) > 0 {
		if owed, err = st.RepairConnectorLinks(ctx, c.ID, r.repairs, s.now()); err != nil {
			return err
		}
		if len(owed) < len(r.repairs) {
			// A push held some of them: list the same changes next time.
			cursor = rec.Cursor
		}
	}
	for _, entryID := range owed {
		if err := s.enqueuePush(ctx, c.ID, entryID, "", time.Time{}, "repair-"+token); err != nil {
			return err
		}
	}
	for _, entryID := range owed {
		if what := r.conflicts[entryID]; what != "" {
			cl.calls = append(cl.calls, &calgate.ConnectorCall{ConnectorID: c.ID, At: s.now(), EntryID: entryID, Operation: "conflict", Error: clip(what)})
			s.d.Metrics.conflict(c.Type)
		}
	}
	conflicts := 0
	for _, entryID := range owed {
		if r.conflicts[entryID] != "" {
			conflicts++
		}
	}
	cl.flush(ctx) // the conflicts are in the log before the run is seen finished
	s.log.Info("connectors: reconciled", "connector", c.ID, "incremental", rec.Cursor != "", "repaired", len(owed), "conflicts", conflicts)
	return finish(cursor, s.now().Add(s.o.ReconcileInterval), "", conflicts)
}

// ReconcileNow makes a connector's reconciliation due at once.
func (s *Service) ReconcileNow(ctx context.Context, workspaceID, id string) error {
	c, err := s.d.Store.Connector(ctx, workspaceID, id)
	if err != nil {
		return err
	}
	if _, ok := s.vendors[c.Type].(Reconciler); !ok {
		return fmt.Errorf("connector %s (%s) has no reconciliation: %w", id, c.Type, calgate.ErrConflict)
	}
	return s.d.Store.ScheduleConnectorReconcile(ctx, c.ID, s.now())
}

// ReconcileState returns a connector's reconciliation record (ErrNotFound
// for connectors without one).
func (s *Service) ReconcileState(ctx context.Context, workspaceID, id string) (*calgate.ConnectorReconcile, error) {
	if _, err := s.d.Store.Connector(ctx, workspaceID, id); err != nil {
		return nil, err
	}
	return s.d.Store.ConnectorReconcile(ctx, id)
}

// scheduleReconcile starts the reconciliations of a connector just
// connected, if its application has them.
func (s *Service) scheduleReconcile(ctx context.Context, c *calgate.Connector, vendor Vendor) error {
	if _, ok := vendor.(Reconciler); !ok {
		return nil
	}
	return s.d.Store.ScheduleConnectorReconcile(ctx, c.ID, s.now())
}
