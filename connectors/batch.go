package connectors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calgate/calgate"
)

// pushBatch claims the entry's owed push (if entryID is set and it is due)
// and more owed pushes of the connector up to a batch, hands them to the
// application at once and records each outcome: a push done is saved, a
// failed one is retried alone. It reports whether the batch was full.
func (s *Service) pushBatch(ctx context.Context, c *calgate.Connector, vendor BatchVendor, entryID, token string) (bool, error) {
	st := s.d.Store
	if token == "" {
		token = calgate.NewSecret(12)
	}
	size := max(1, vendor.BatchSize())
	now := s.now()
	var links []*calgate.ConnectorLink
	if entryID != "" {
		l, err := st.ClaimConnectorLink(ctx, c.ID, entryID, token, now, now.Add(s.o.Lease))
		switch {
		case err == nil:
			links = append(links, l)
		case !errors.Is(err, calgate.ErrNotFound):
			return false, err
		}
	}
	more, err := st.ClaimConnectorLinks(ctx, c.ID, token, now, now.Add(s.o.Lease), size-len(links))
	if err != nil {
		s.releaseAll(ctx, links)
		return false, err
	}
	links = append(links, more...)
	if len(links) == 0 {
		return false, nil
	}
	pushes := make([]*Push, 0, len(links))
	f := c.Filter.EntryFilter()
	for _, l := range links {
		e, err := st.Entry(ctx, c.WorkspaceID, "", l.EntryID, true)
		if errors.Is(err, calgate.ErrNotFound) {
			e = nil
		} else if err != nil {
			s.releaseAll(ctx, links)
			return false, err
		}
		p := &Push{Connector: c, Entry: e, Link: l, Version: l.WantedVersion}
		if e != nil {
			p.Version = max(p.Version, e.Version)
			p.Selected = f.Matches(e)
		}
		pushes = append(pushes, p)
	}
	logEntry := ""
	if len(pushes) == 1 {
		logEntry = pushes[0].Link.EntryID
	}
	cl := s.newClient(c, vendor, logEntry)
	errs := vendor.PushBatch(ctx, cl, pushes)
	cl.flush(ctx)
	if len(errs) != len(pushes) {
		errs = FailAll(len(pushes), fmt.Errorf("connectors: %s gave %d outcomes for %d pushes", c.Type, len(errs), len(pushes)))
	}
	var first error
	var done []*calgate.ConnectorLink
	for i, p := range pushes {
		if errs[i] == nil {
			p.Link.PushedVersion = p.Version
			done = append(done, p.Link)
		}
	}
	if len(done) > 0 {
		if err := st.SaveConnectorLinks(context.WithoutCancel(ctx), done, s.now()); err != nil {
			s.releaseAll(ctx, links)
			return false, err
		}
	}
	pushed := len(done)
	for range done {
		s.d.Metrics.push(c.Type, "pushed")
	}
	reauth := false
	for i, p := range pushes {
		err := errs[i]
		if err == nil {
			continue
		}
		if errors.Is(err, ErrReauth) {
			// One disconnect for the batch; the others stay owed.
			if !reauth {
				reauth = true
				if ferr := s.failed(ctx, c, p.Link, err); ferr != nil && first == nil {
					first = ferr
				}
				continue
			}
			s.d.Metrics.push(c.Type, "needs_reauth")
			now := s.now()
			s.release(ctx, p.Link, p.Link.Attempts, &now, err.Error())
			continue
		}
		if ferr := s.failed(ctx, c, p.Link, err); ferr != nil && first == nil {
			first = ferr
		}
	}
	if pushed > 0 && (c.LastError != "" || c.LastSuccessAt == nil || s.now().Sub(*c.LastSuccessAt) > time.Second) && pushed == len(pushes) {
		if err := st.RecordConnectorOutcome(ctx, c.ID, "", s.now()); err != nil {
			return false, err
		}
	}
	if first != nil {
		return false, first
	}
	return len(links) == size, nil
}

func (s *Service) releaseAll(ctx context.Context, links []*calgate.ConnectorLink) {
	for _, l := range links {
		s.release(ctx, l, l.Attempts, l.NextAttemptAt, l.LastError)
	}
}
