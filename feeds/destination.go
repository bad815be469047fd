package feeds

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/calgate/calgate"
)

// JobRender is the job type that renders one feed into its ready copy.
const JobRender = "feeds.render"

// maxRerenders bounds how often one render job starts over because more
// changes arrived while it ran.
const maxRerenders = 10

// Destination is the feeds' calgate.Destination: on every entry event it
// asks for a render of each feed of the workspace whose filter matches the
// entry before or after the change.
type Destination struct{ s *Service }

var _ calgate.Destination = Destination{}

// Destination returns the service's destination.
func (s *Service) Destination() Destination { return Destination{s: s} }

// Name is "feeds".
func (Destination) Name() string { return "feeds" }

// Policy retries a failed event a few times.
func (Destination) Policy() calgate.Policy {
	return calgate.Policy{MaxRetry: 10, Timeout: time.Minute}
}

// HandleEvent finds the feeds the entry belongs or belonged to and asks
// for their render. Doing it twice for one event only renders twice.
func (d Destination) HandleEvent(ctx context.Context, ev *calgate.Event) error {
	if ev.Entry == nil {
		return nil
	}
	feeds, err := d.s.Affected(ctx, ev)
	if err != nil {
		return err
	}
	for _, f := range feeds {
		d.s.changed(ctx, f)
	}
	return nil
}

// Affected lists the workspace's feeds whose filter matches the event's
// entry after the change or before it.
func (s *Service) Affected(ctx context.Context, ev *calgate.Event) ([]*calgate.Feed, error) {
	now := s.now()
	prev := ev.Previous()
	var out []*calgate.Feed
	cursor := ""
	for {
		page, next, err := s.store.Feeds(ctx, ev.WorkspaceID, cursor, pageSize)
		if err != nil {
			return nil, fmt.Errorf("feeds: event %d: %w", ev.ID, err)
		}
		for _, f := range page {
			if f.Matches(ev.Entry, now) || (prev != nil && f.Matches(prev, now)) {
				out = append(out, f)
			}
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// enqueueRender asks for a render job for the feed; a job already queued
// for it absorbs the request.
func (s *Service) enqueueRender(ctx context.Context, f *calgate.Feed) error {
	j := calgate.Job{Type: JobRender, ID: f.ID, Payload: []byte(f.WorkspaceID + "/" + f.ID)}
	if err := s.jobs.Enqueue(ctx, j); err != nil {
		return fmt.Errorf("feeds: enqueue render of %s: %w", f.ID, err)
	}
	s.enqueued.Add(1)
	return nil
}

// HandleRender is the JobRender handler. It renders the feed, and starts
// over while changes counted during the render show it already out of
// date. A failure drops the ready copy, so that the next GET renders on
// the spot, and is not retried (a retried job would hold the feed's job id
// and swallow later requests).
func (s *Service) HandleRender(ctx context.Context, payload []byte) error {
	wsID, id, ok := strings.Cut(string(payload), "/")
	if !ok {
		s.logger.Error("feeds: render job without a feed", "payload", string(payload))
		return nil
	}
	for range maxRerenders {
		gen, err := s.cache.gen(ctx, id)
		if err != nil {
			return s.renderFailed(ctx, id, err)
		}
		f, err := s.store.Feed(ctx, wsID, id)
		if errors.Is(err, calgate.ErrNotFound) {
			return s.cache.drop(ctx, id)
		}
		if err != nil {
			return s.renderFailed(ctx, id, err)
		}
		if _, _, err := s.renderAndStore(ctx, f, false); err != nil {
			return s.renderFailed(ctx, id, err)
		}
		after, err := s.cache.gen(ctx, id)
		if err != nil {
			return s.renderFailed(ctx, id, err)
		}
		if after == gen {
			return nil
		}
	}
	// Changes keep coming: hand over to a job of another id, since this
	// one's id is taken until it returns.
	j := calgate.Job{Type: JobRender, ID: id + ":again", Payload: payload, At: s.now().Add(time.Second)}
	if err := s.jobs.Enqueue(ctx, j); err != nil {
		return s.renderFailed(ctx, id, err)
	}
	return nil
}

func (s *Service) renderFailed(ctx context.Context, id string, err error) error {
	s.logger.Error("feeds: render", "feed", id, "err", err)
	if derr := s.cache.drop(ctx, id); derr != nil {
		s.logger.Error("feeds: drop ready copy", "feed", id, "err", derr)
	}
	return nil
}

// RenderPolicy is how the queue runs JobRender: the handler reports its
// own failures, so few retries are needed.
func RenderPolicy() calgate.Policy {
	return calgate.Policy{MaxRetry: 3, Timeout: 5 * time.Minute}
}
