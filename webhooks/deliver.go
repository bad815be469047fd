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

// JobAttempt is the job type of one delivery attempt; its payload is
// "<delivery id> <endpoint id>".
const JobAttempt = "webhook-attempt"

// slotWait is how long an attempt waits for a call slot of its endpoint
// before it goes back to the queue, to run busyDelay later.
const (
	slotWait  = 50 * time.Millisecond
	busyDelay = 100 * time.Millisecond
)

var _ calgate.Destination = (*Service)(nil)

// Name implements calgate.Destination.
func (s *Service) Name() string { return "webhooks" }

// Policy implements calgate.Destination.
func (s *Service) Policy() calgate.Policy {
	return calgate.Policy{MaxRetry: 25, Timeout: time.Minute}
}

// Register plugs the service into the queue: the destination, the attempt
// job and the sweep of overdue deliveries, run every interval (default 5 s).
func (s *Service) Register(r calgate.Registry, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	r.AddDestination(s)
	r.HandleJob(JobAttempt, calgate.Policy{MaxRetry: 3, Timeout: s.o.Timeout + 30*time.Second}, s.attemptJob)
	r.Every("webhooks-sweep", interval, s.Sweep)
}

// HandleEvent creates the event's deliveries, one per matching enabled
// endpoint, claimed at creation, and makes their first attempts at once,
// side by side; a delivery whose endpoint has every call slot taken goes to
// the queue instead. A repeated event creates and sends nothing.
func (s *Service) HandleEvent(ctx context.Context, ev *calgate.Event) error {
	if ev.Type == calgate.EventWebhookTest {
		return nil
	}
	list, err := s.o.Store.CreateDeliveries(ctx, ev, func(w *calgate.Webhook) bool { return w.Matches(ev) },
		func() (json.RawMessage, error) { return s.body(ev) }, time.Now().Add(s.lease()))
	if err != nil {
		return fmt.Errorf("webhooks: event %d: %w", ev.ID, err)
	}
	var wg sync.WaitGroup
	for _, d := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, ok := s.acquire(ctx, d.WebhookID, slotWait)
			if !ok {
				s.handOff(ctx, d)
				return
			}
			defer release()
			if _, err := s.attempt(ctx, d, release); err != nil {
				// The claim runs out and the sweep sends it again.
				s.logger.Warn("webhooks: attempt", "delivery", d.ID, "err", err)
			}
		}()
	}
	wg.Wait()
	return nil
}

// handOff gives a claimed delivery to the queue.
func (s *Service) handOff(ctx context.Context, d *calgate.Delivery) {
	if err := s.o.Store.ReleaseDelivery(ctx, d.ID); err != nil {
		s.logger.Warn("webhooks: release delivery", "delivery", d.ID, "err", err)
		return
	}
	// What cannot be enqueued now goes out with the sweep.
	if err := s.enqueue(ctx, d, time.Now().Add(busyDelay), ""); err != nil {
		s.logger.Warn("webhooks: enqueue attempt", "delivery", d.ID, "err", err)
	}
}

// lease is how long a claim lasts: a call's timeout and some slack.
func (s *Service) lease() time.Duration { return s.o.Timeout + 10*time.Second }

// enqueue schedules an attempt of d at a time (zero: now). The job id is
// the delivery id with its round attempt count, so the same attempt is
// queued once; tag tells apart re-enqueues that must not collide with a
// task still running.
func (s *Service) enqueue(ctx context.Context, d *calgate.Delivery, at time.Time, tag string) error {
	id := fmt.Sprintf("%s:%d", d.ID, d.Attempts)
	if tag != "" {
		id += ":" + tag
	}
	return s.o.Jobs.Enqueue(ctx, calgate.Job{Type: JobAttempt, Payload: []byte(d.ID + " " + d.WebhookID), ID: id, At: at})
}

// attemptJob runs one attempt of a delivery, if it is still pending and
// due and its endpoint has a free call slot.
func (s *Service) attemptJob(ctx context.Context, payload []byte) error {
	deliveryID, endpointID, ok := strings.Cut(string(payload), " ")
	if !ok {
		return fmt.Errorf("webhooks: bad attempt payload %q", payload)
	}
	release, ok := s.acquire(ctx, endpointID, slotWait)
	if !ok {
		d := &calgate.Delivery{ID: deliveryID, WebhookID: endpointID}
		at := time.Now().Add(busyDelay)
		return s.enqueue(ctx, d, at, fmt.Sprintf("busy%d", at.UnixMilli()))
	}
	defer release()
	now := time.Now()
	d, err := s.o.Store.ClaimDelivery(ctx, deliveryID, now, now.Add(s.lease()))
	if errors.Is(err, calgate.ErrNotFound) {
		return nil // delivered, failed, not due yet, or taken by another worker
	}
	if err != nil {
		return err
	}
	_, err = s.attempt(ctx, d, release)
	return err
}

// attempt sends a claimed delivery once and records what happened. It
// calls release, which gives back the endpoint's call slot, as soon as the
// call is over: recording the outcome does not need the endpoint.
func (s *Service) attempt(ctx context.Context, d *calgate.Delivery, release func()) (*calgate.DeliveryAttempt, error) {
	w, secrets, err := s.endpoint(ctx, d.WebhookID)
	if errors.Is(err, calgate.ErrNotFound) {
		return nil, nil // the endpoint was deleted with its deliveries
	}
	if err != nil {
		_ = s.o.Store.ReleaseDelivery(context.WithoutCancel(ctx), d.ID)
		return nil, err
	}
	if w.Disabled {
		_ = s.o.Store.ReleaseDelivery(context.WithoutCancel(ctx), d.ID)
		return nil, nil // stays pending; re-enabling lets the sweep send it
	}
	callCtx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	res := Send(callCtx, s.o.Client, w.URL, secrets, Message{ID: d.ID, Type: string(d.Type), Body: d.Payload})
	cancel()
	release()
	if ctx.Err() != nil {
		// The worker is stopping: give the delivery back unattempted, so the
		// next worker sends it again with the same webhook-id.
		_ = s.o.Store.ReleaseDelivery(context.WithoutCancel(ctx), d.ID)
		return nil, ctx.Err()
	}
	s.o.Metrics.observe(res)
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
	failingSince, err := s.o.Store.RecordAttempt(context.WithoutCancel(ctx), d, a, change)
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
		if err := s.enqueue(ctx, d, *d.NextAttemptAt, ""); err != nil {
			s.logger.Warn("webhooks: enqueue retry", "delivery", d.ID, "err", err)
		}
	}
	return a, nil
}

// disableFailing disables an endpoint whose failure streak lasted too long.
func (s *Service) disableFailing(ctx context.Context, w *calgate.Webhook, since time.Time) error {
	cur, err := s.o.Store.WebhookByID(ctx, w.ID)
	if err != nil || cur.Disabled {
		return err
	}
	reason := fmt.Sprintf("every delivery failed since %s", since.Format(time.RFC3339))
	cur.Disabled, cur.DisabledReason, cur.UpdatedAt = true, reason, time.Now()
	if err := s.o.Store.UpdateWebhook(ctx, cur); err != nil {
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
	if s.o.Events == nil {
		return
	}
	data, err := json.Marshal(map[string]string{"webhook_id": w.ID, "url": w.URL, "reason": reason})
	if err != nil {
		return
	}
	ev := &calgate.Event{WorkspaceID: w.WorkspaceID, Type: calgate.EventWebhookDisabled, Data: data, Actor: "system:webhooks"}
	if err := s.o.Events.AppendEvent(context.WithoutCancel(ctx), ev); err != nil {
		s.logger.Warn("webhooks: write webhook.disabled event", "webhook", w.ID, "err", err)
		return
	}
	if s.o.Notify != nil {
		s.o.Notify()
	}
}

// Sweep enqueues pending deliveries that are overdue and unclaimed: those
// whose job was lost (a worker killed mid-call, Redis without its data).
// It is safe to run in every worker at once: the claim decides who sends.
func (s *Service) Sweep(ctx context.Context) error {
	now := time.Now()
	list, err := s.o.Store.DueDeliveries(ctx, now.Add(-s.o.Overdue), 1000)
	if err != nil {
		return err
	}
	for _, d := range list {
		if err := s.enqueue(ctx, d, time.Time{}, "sweep"); err != nil {
			return err
		}
	}
	return nil
}
