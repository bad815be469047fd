package webhooks

import (
	"context"

	"github.com/calgate/calgate"
)

// successes writes successful attempts in groups: the first caller to
// arrive writes everything queued, the others wait for it. Under load many
// successes share one statement; alone, a success is written at once.
type successes struct {
	queue   []pendingSuccess
	writing bool
}

type pendingSuccess struct {
	d    *calgate.Delivery
	a    *calgate.DeliveryAttempt
	done chan error
}

// maxSuccessBatch bounds one statement.
const maxSuccessBatch = 500

// recordSuccess writes a success and returns when it is in the database.
func (s *Service) recordSuccess(ctx context.Context, d *calgate.Delivery, a *calgate.DeliveryAttempt) error {
	done := make(chan error, 1)
	s.mu.Lock()
	s.succ.queue = append(s.succ.queue, pendingSuccess{d: d, a: a, done: done})
	if s.succ.writing {
		s.mu.Unlock()
		return <-done
	}
	s.succ.writing = true
	for {
		batch := s.succ.queue[:min(len(s.succ.queue), maxSuccessBatch)]
		s.succ.queue = append([]pendingSuccess(nil), s.succ.queue[len(batch):]...)
		s.mu.Unlock()
		list := make([]*calgate.Delivery, len(batch))
		attempts := make([]*calgate.DeliveryAttempt, len(batch))
		for i, p := range batch {
			list[i], attempts[i] = p.d, p.a
		}
		err := s.d.Store.RecordSuccesses(ctx, list, attempts)
		for _, p := range batch {
			p.done <- err
		}
		s.mu.Lock()
		if len(s.succ.queue) == 0 {
			s.succ.writing = false
			s.mu.Unlock()
			return <-done
		}
	}
}
