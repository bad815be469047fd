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

var (
	_ calgate.Destination      = Destination{}
	_ calgate.BatchDestination = Destination{}
)

// Destination returns the service's destination.
func (s *Service) Destination() Destination { return Destination{s: s} }

// Register plugs the feeds into the queue: the destination that keeps
// ready copies current and the render job.
func (s *Service) Register(r calgate.Registry) {
	r.AddDestination(s.Destination())
	r.HandleJob(JobRender, RenderPolicy(), s.HandleRender)
}

// Name is "feeds".
func (Destination) Name() string { return "feeds" }

// Policy retries a failed event a few times.
func (Destination) Policy() calgate.Policy {
	return calgate.Policy{MaxRetry: 10, Timeout: time.Minute}
}

// HandleEvent is HandleEvents for one event.
func (d Destination) HandleEvent(ctx context.Context, ev *calgate.Event) error {
	return d.HandleEvents(ctx, []*calgate.Event{ev})
}

// HandleEvents finds the feeds the batch's entries belong or belonged to,
// reading each workspace's feeds once, and asks once for each one's
// render. Doing it twice for one batch only renders twice.
func (d Destination) HandleEvents(ctx context.Context, evs []*calgate.Event) error {
	feeds := map[string][]*calgate.Feed{}
	var changed []*calgate.Feed
	seen := map[string]bool{}
	for _, ev := range evs {
		if ev.Entry == nil {
			continue
		}
		list, ok := feeds[ev.WorkspaceID]
		if !ok {
			var err error
			if list, err = d.s.workspaceFeeds(ctx, ev.WorkspaceID); err != nil {
				return fmt.Errorf("feeds: event %d: %w", ev.ID, err)
			}
			feeds[ev.WorkspaceID] = list
		}
		for _, f := range affected(list, ev, d.s.now()) {
			if !seen[f.ID] {
				seen[f.ID] = true
				changed = append(changed, f)
			}
		}
	}
	for _, f := range changed {
		d.s.changed(ctx, f)
	}
	return nil
}

// Affected lists the workspace's feeds whose filter matches the event's
// entry after the change or before it.
func (s *Service) Affected(ctx context.Context, ev *calgate.Event) ([]*calgate.Feed, error) {
	list, err := s.workspaceFeeds(ctx, ev.WorkspaceID)
	if err != nil {
		return nil, fmt.Errorf("feeds: event %d: %w", ev.ID, err)
	}
	return affected(list, ev, s.now()), nil
}

// affected picks the feeds whose filter matches the event's entry after
// the change or before it.
func affected(feeds []*calgate.Feed, ev *calgate.Event, now time.Time) []*calgate.Feed {
	prev := ev.Previous()
	var out []*calgate.Feed
	for _, f := range feeds {
		if f.Matches(ev.Entry, now) || (prev != nil && f.Matches(prev, now)) {
			out = append(out, f)
		}
	}
	return out
}

// workspaceFeeds lists every feed of a workspace.
func (s *Service) workspaceFeeds(ctx context.Context, workspaceID string) ([]*calgate.Feed, error) {
	var out []*calgate.Feed
	cursor := ""
	for {
		page, next, err := s.store.Feeds(ctx, workspaceID, cursor, pageSize)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
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
