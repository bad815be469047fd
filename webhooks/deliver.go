package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/calgate/calgate"
)

// Job types. JobSend sends an endpoint's due deliveries; its payload is
// the endpoint id. JobAttempt is one attempt of one delivery, "<delivery
// id> <endpoint id>", as earlier releases queued it.
const (
	JobSend    = "webhook-send"
	JobAttempt = "webhook-attempt"
)

// slotWait is how long a first attempt made while handling events waits
// for a call slot of its endpoint with none of the endpoint's calls ending
// before the endpoint's remaining deliveries go to a send job instead.
// For answeringWait from the start of an endpoint's first attempts in a
// batch, an endpoint that keeps ending calls (busy with other batches,
// not slow) is waited for beyond slotWait; after it, the rest goes to a
// send job as soon as no slot is free. A hand-over costs a release, a
// claim and a trip through the queue, while a busy endpoint frees a slot
// within milliseconds.
const (
	slotWait      = 50 * time.Millisecond
	answeringWait = 2 * time.Second
)

// sendPage is how many due deliveries a send job claims at a time, and
// sendBudget how long one send job works before it hands the rest of the
// endpoint's backlog to another, so that a slow endpoint does not hold a
// worker for ever.
const (
	sendPage   = 64
	sendBudget = 30 * time.Second
)

var (
	_ calgate.Destination      = (*Service)(nil)
	_ calgate.BatchDestination = (*Service)(nil)
)

// Name implements calgate.Destination.
func (s *Service) Name() string { return "webhooks" }

// Policy implements calgate.Destination.
func (s *Service) Policy() calgate.Policy {
	return calgate.Policy{MaxRetry: 25, Timeout: time.Minute}
}

// Register plugs the service into the queue: the destination, the send
// and attempt jobs, the sweep of overdue deliveries, run every
// Options.SweepInterval, and the delivery log's purge, every
// PurgeInterval.
func (s *Service) Register(r calgate.Registry) {
	r.AddDestination(s)
	r.HandleJob(JobSend, calgate.Policy{MaxRetry: 3, Timeout: sendBudget + s.o.Timeout + 30*time.Second}, s.sendJob)
	r.HandleJob(JobAttempt, calgate.Policy{MaxRetry: 3, Timeout: s.o.Timeout + 30*time.Second}, s.attemptJob)
	r.Every("webhooks-sweep", s.o.SweepInterval, s.Sweep)
	r.Every("webhooks-log-purge", PurgeInterval, s.Purge)
}

// Purge deletes from the delivery log the messages that succeeded or
// failed longer ago than Options.Retention, with their attempts, then the
// stored bodies of events that old that are neither owed nor referred to
// by a message left. Pending messages and their bodies stay, whatever
// their age.
func (s *Service) Purge(ctx context.Context) error {
	before := time.Now().Add(-s.o.Retention)
	n, err := s.d.Store.PurgeDeliveries(ctx, before)
	if err != nil {
		return err
	}
	bodies, err := s.d.Store.PurgePayloads(ctx, s.Name(), before)
	if n > 0 || bodies > 0 {
		s.logger.Info("webhooks: delivery log purged", "messages", n, "bodies", bodies, "before", before)
	}
	return err
}

// HandleEvent is HandleEvents for one event.
func (s *Service) HandleEvent(ctx context.Context, ev *calgate.Event) error {
	return s.HandleEvents(ctx, []*calgate.Event{ev})
}

// HandleEvents works out the deliveries of a batch of events, one per
// event and matching enabled endpoint, and makes their first attempts at
// once, each endpoint's in order and up to its concurrency limit, all
// endpoints side by side. A delivery is written once, with the outcome of
// its first attempt (succeeded, or pending its retry): until then the
// batch, still owed in the database, is its record, so a process killed
// mid-batch has the batch run again and sends the deliveries not written
// yet again, with the same ids. An endpoint whose call slots stay taken
// (it is slow, or busy with other batches for longer than answeringWait)
// gets its remaining deliveries written as pending for a send job instead.
// A repeated batch sends only what was not written; once every delivery
// is written, each carries its own state, so the events count as handled.
func (s *Service) HandleEvents(ctx context.Context, evs []*calgate.Event) error {
	list, err := s.d.Store.PlanDeliveries(ctx, evs, func(w *calgate.Webhook, ev *calgate.Event) bool {
		return ev.Type != calgate.EventWebhookTest && w.Matches(ev)
	}, s.body)
	if err != nil {
		return fmt.Errorf("webhooks: %d events: %w", len(evs), err)
	}
	byEndpoint := map[string][]*calgate.Delivery{}
	var order []string
	for _, d := range list {
		if _, ok := byEndpoint[d.WebhookID]; !ok {
			order = append(order, d.WebhookID)
		}
		byEndpoint[d.WebhookID] = append(byEndpoint[d.WebhookID], d)
	}
	var wg sync.WaitGroup
	for _, id := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.sendClaimed(ctx, id, byEndpoint[id])
		}()
	}
	wg.Wait()
	// Deliveries left unwritten (their outcome could not be recorded, or
	// the worker is stopping) keep the batch owed: it runs again.
	for _, d := range list {
		if d.New {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("webhooks: delivery %s of event %d not written", d.ID, d.EventID)
		}
	}
	return nil
}

// sendClaimed makes the first attempts of one endpoint's new deliveries,
// oldest first, at most its concurrency at once. When none of the
// endpoint's calls ends within slotWait while it waits for a call slot, or
// its slots stay taken for answeringWait, it gives the rest back and
// leaves them to a send job.
func (s *Service) sendClaimed(ctx context.Context, endpointID string, list []*calgate.Delivery) {
	var wg sync.WaitGroup
	deadline := time.Now().Add(answeringWait)
	for i, d := range list {
		release, ok := s.acquireWhileAnswering(ctx, endpointID, slotWait, deadline)
		if !ok {
			s.handOff(ctx, endpointID, list[i:])
			break
		}
		s.goAttempt(ctx, &wg, d, release)
	}
	wg.Wait()
}

// handOff writes an endpoint's unattempted deliveries as pending, or gives
// them back when written, and starts a send job for them.
func (s *Service) handOff(ctx context.Context, endpointID string, list []*calgate.Delivery) {
	if err := s.release(context.WithoutCancel(ctx), list...); err != nil {
		s.logger.Warn("webhooks: release deliveries; their claims run out", "webhook", endpointID, "err", err)
	}
	// One send job per hand-over: a send job already running may be past
	// these deliveries. What cannot be enqueued goes out with the sweep.
	if err := s.enqueueSend(ctx, endpointID, "handoff:"+list[0].ID, time.Time{}); err != nil {
		s.logger.Warn("webhooks: enqueue send", "webhook", endpointID, "err", err)
	}
}

// release leaves deliveries pending and unclaimed without an attempt:
// New ones are written so, those written are given back.
func (s *Service) release(ctx context.Context, list ...*calgate.Delivery) error {
	var fresh []*calgate.Delivery
	var ids []string
	for _, d := range list {
		if d.New {
			fresh = append(fresh, d)
		} else {
			ids = append(ids, d.ID)
		}
	}
	if len(fresh) > 0 {
		if err := s.d.Store.StoreDeliveries(ctx, fresh); err != nil {
			return err
		}
		for _, d := range fresh {
			d.New = false
		}
	}
	if len(ids) > 0 {
		return s.d.Store.ReleaseDeliveries(ctx, ids)
	}
	return nil
}

// lease is how long a claim lasts: a call's timeout and some slack.
func (s *Service) lease() time.Duration { return s.o.Timeout + 10*time.Second }

// enqueueSend schedules a send job of an endpoint at a time (zero: now);
// jobs with the same tag collapse.
func (s *Service) enqueueSend(ctx context.Context, endpointID, tag string, at time.Time) error {
	return s.d.Jobs.Enqueue(ctx, calgate.Job{Type: JobSend, Payload: []byte(endpointID), ID: endpointID + ":" + tag, At: at})
}

// sendJob is the JobSend handler: it claims the endpoint's due deliveries
// a page at a time and attempts them, oldest first, up to the endpoint's
// concurrency at once, until none is due or its budget is spent (then
// another send job takes over). A disabled endpoint sends nothing: its
// deliveries wait for it to be enabled.
func (s *Service) sendJob(ctx context.Context, payload []byte) error {
	endpointID := string(payload)
	w, _, err := s.endpoint(ctx, endpointID)
	if errors.Is(err, calgate.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if w.Disabled {
		return nil
	}
	began := time.Now()
	for time.Since(began) < sendBudget {
		now := time.Now()
		list, err := s.d.Store.ClaimEndpointDeliveries(ctx, endpointID, now, now.Add(s.lease()), sendPage)
		if err != nil || len(list) == 0 {
			return err
		}
		var wg sync.WaitGroup
		for i, d := range list {
			// A send job waits for the endpoint's slots as long as a call
			// may take: it exists to work through the backlog.
			release, ok := s.acquire(ctx, endpointID, s.o.Timeout)
			if !ok {
				ids := make([]string, 0, len(list)-i)
				for _, rest := range list[i:] {
					ids = append(ids, rest.ID)
				}
				_ = s.d.Store.ReleaseDeliveries(context.WithoutCancel(ctx), ids)
				wg.Wait()
				return ctx.Err()
			}
			s.goAttempt(ctx, &wg, d, release)
		}
		wg.Wait()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return s.enqueueSend(ctx, endpointID, fmt.Sprintf("more:%d", time.Now().UnixNano()), time.Time{})
}

// attemptJob runs one attempt of a delivery queued by an earlier release,
// if it is still pending and due and its endpoint has a free call slot.
func (s *Service) attemptJob(ctx context.Context, payload []byte) error {
	deliveryID, endpointID, ok := strings.Cut(string(payload), " ")
	if !ok {
		return fmt.Errorf("webhooks: bad attempt payload %q", payload)
	}
	release, ok := s.acquire(ctx, endpointID, s.o.Timeout)
	if !ok {
		return s.enqueueSend(ctx, endpointID, "attempt:"+deliveryID, time.Time{})
	}
	defer release()
	now := time.Now()
	d, err := s.d.Store.ClaimDelivery(ctx, deliveryID, now, now.Add(s.lease()))
	if errors.Is(err, calgate.ErrNotFound) {
		return nil // delivered, failed, not due yet, or taken by another worker
	}
	if err != nil {
		return err
	}
	_, err = s.attempt(ctx, d, release)
	return err
}

// goAttempt runs attempt in a goroutine counted by wg, giving back the
// call slot when it ends. A failed attempt is logged: its claim runs out
// and the sweep sends it again.
func (s *Service) goAttempt(ctx context.Context, wg *sync.WaitGroup, d *calgate.Delivery, release func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer release()
		if _, err := s.attempt(ctx, d, release); err != nil {
			s.logger.Warn("webhooks: attempt", "delivery", d.ID, "err", err)
		}
	}()
}

// attempt sends a claimed delivery once and records what happened. It
// calls release, which gives back the endpoint's call slot, as soon as the
// call is over: recording the outcome does not need the endpoint.
func (s *Service) attempt(ctx context.Context, d *calgate.Delivery, release func()) (*calgate.DeliveryAttempt, error) {
	w, secrets, err := s.endpoint(ctx, d.WebhookID)
	if errors.Is(err, calgate.ErrNotFound) {
		d.New = false // nothing to write: the endpoint went with its deliveries
		return nil, nil
	}
	if err != nil {
		_ = s.release(context.WithoutCancel(ctx), d)
		return nil, err
	}
	if w.Disabled {
		_ = s.release(context.WithoutCancel(ctx), d)
		return nil, nil // stays pending; re-enabling lets the sweep send it
	}
	callCtx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	res := Send(callCtx, s.d.Client, w.URL, secrets, Message{ID: d.ID, Type: string(d.Type), Body: d.Payload})
	cancel()
	release()
	if ctx.Err() != nil {
		// The worker is stopping: give the delivery back unattempted, so the
		// next worker sends it again with the same webhook-id.
		_ = s.release(context.WithoutCancel(ctx), d)
		return nil, ctx.Err()
	}
	s.d.Metrics.observe(res)
	a := &calgate.DeliveryAttempt{At: res.At, StatusCode: res.StatusCode, Latency: res.Latency, Error: res.Error, Response: res.ResponseBody}
	d.Attempts++
	change := calgate.EndpointChange{}
	switch res.Outcome {
	case Succeeded:
		d.Status, d.NextAttemptAt = calgate.DeliverySucceeded, nil
		change.Succeeded, change.ResetStreak = true, w.FailingSince != nil
	case Gone:
		d.Status, d.NextAttemptAt = calgate.DeliveryFailed, nil
		change.Disable = "the endpoint answered 410 Gone"
	default:
		wait, more := s.retryDelay(d.Attempts + 1)
		if res.RetryAfter > wait {
			wait = res.RetryAfter
		}
		if more {
			next := res.At.Add(wait)
			d.NextAttemptAt = &next
			a.RetryIn = wait
		} else {
			d.Status, d.NextAttemptAt = calgate.DeliveryFailed, nil
		}
	}
	if change.Succeeded && !change.ResetStreak {
		return a, s.recordSuccess(context.WithoutCancel(ctx), d, a)
	}
	failingSince, err := s.d.Store.RecordAttempt(context.WithoutCancel(ctx), d, a, change)
	if err != nil {
		return a, err
	}
	if change.Disable != "" {
		s.forget(w.ID)
		s.announceDisabled(ctx, w, change.Disable)
	} else if failingSince != nil && time.Since(*failingSince) >= s.o.DisableAfter {
		if err := s.disableFailing(ctx, w, *failingSince); err != nil {
			s.logger.Warn("webhooks: disable failing endpoint", "webhook", w.ID, "err", err)
		}
	}
	if d.Status == calgate.DeliveryPending {
		// Retries due in the same second share one send job; the queue
		// schedules to the second, so it runs at the next whole one.
		at := d.NextAttemptAt.Truncate(time.Second).Add(time.Second)
		if err := s.enqueueSend(ctx, d.WebhookID, fmt.Sprintf("retry:%d", at.Unix()), at); err != nil {
			s.logger.Warn("webhooks: enqueue retry; the sweep will send it", "delivery", d.ID, "err", err)
		}
	}
	return a, nil
}

// disableFailing disables an endpoint whose failure streak lasted too long.
func (s *Service) disableFailing(ctx context.Context, w *calgate.Webhook, since time.Time) error {
	cur, err := s.d.Store.WebhookByID(ctx, w.ID)
	if err != nil || cur.Disabled {
		return err
	}
	reason := fmt.Sprintf("every delivery failed since %s", since.Format(time.RFC3339))
	cur.Disabled, cur.DisabledReason, cur.UpdatedAt = true, reason, time.Now()
	if err := s.d.Store.UpdateWebhook(ctx, cur); err != nil {
		return err
	}
	s.forget(w.ID)
	s.announceDisabled(ctx, cur, reason)
	return nil
}

// announceDisabled writes a webhook.disabled event, which goes to the
// workspace's other endpoints.
func (s *Service) announceDisabled(ctx context.Context, w *calgate.Webhook, reason string) {
	s.logger.Warn("webhooks: endpoint disabled", "webhook", w.ID, "workspace", w.WorkspaceID, "reason", reason)
	if s.d.Events == nil {
		return
	}
	data, err := json.Marshal(map[string]string{"webhook_id": w.ID, "url": w.URL, "reason": reason})
	if err != nil {
		return
	}
	ev := &calgate.Event{WorkspaceID: w.WorkspaceID, Type: calgate.EventWebhookDisabled, Data: data, Actor: "system:webhooks"}
	if err := s.d.Events.AppendEvent(context.WithoutCancel(ctx), ev); err != nil {
		s.logger.Warn("webhooks: write webhook.disabled event", "webhook", w.ID, "err", err)
		return
	}
	if s.d.Notify != nil {
		s.d.Notify()
	}
}

// Sweep starts a send job for every enabled endpoint with pending
// deliveries overdue and unclaimed: those whose job was lost (a worker
// killed mid-call, Redis without its data). It is safe to run in every
// worker at once: deliveries are claimed, so two send jobs of one endpoint
// share the work.
func (s *Service) Sweep(ctx context.Context) error {
	now := time.Now()
	ids, err := s.d.Store.EndpointsOwingDeliveries(ctx, now.Add(-s.o.Overdue), 1000)
	if err != nil {
		return err
	}
	tag := fmt.Sprintf("sweep:%d", now.UnixNano()/int64(s.o.Overdue))
	var errs []error
	for _, id := range ids {
		errs = append(errs, s.enqueueSend(ctx, id, tag, time.Time{}))
	}
	return errors.Join(errs...)
}
