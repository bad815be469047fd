package subscriptions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/ical"
	"github.com/calgate/calgate/outbound"
)

// maxRedirects bounds the redirects one fetch follows; each hop goes
// through the same address rules.
const maxRedirects = 5

// feedError is a fetch or parse failure of the feed itself: it goes on the
// subscription as last_error and is not retried before the next poll.
type feedError struct{ reason string }

func (e *feedError) Error() string { return e.reason }

func feedFailure(format string, args ...any) error {
	return &feedError{reason: fmt.Sprintf(format, args...)}
}

// fetched is the answer to one conditional GET.
type fetched struct {
	notModified  bool
	body         []byte
	etag         string
	lastModified string
}

// fetch GETs the feed with the stored validators, following redirects
// itself so that every hop is checked.
func (s *Service) fetch(ctx context.Context, sub *calgate.Subscription) (*fetched, error) {
	target := sub.URL
	for hop := 0; ; hop++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, feedFailure("the URL cannot be requested: %v", err)
		}
		req.Header.Set("Accept", "text/calendar, text/plain;q=0.5, */*;q=0.1")
		if sub.ETag != "" {
			req.Header.Set("If-None-Match", sub.ETag)
		}
		if sub.LastModified != "" {
			req.Header.Set("If-Modified-Since", sub.LastModified)
		}
		resp, err := s.d.Client.Do(req)
		if err != nil {
			return nil, describeFetchError(err)
		}
		switch {
		case resp.StatusCode == http.StatusNotModified:
			resp.Body.Close()
			return &fetched{notModified: true, etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}, nil
		case isRedirect(resp.StatusCode):
			loc := resp.Header.Get("Location")
			resp.Body.Close()
			if loc == "" {
				return nil, feedFailure("the server answered HTTP %d without a Location", resp.StatusCode)
			}
			if hop >= maxRedirects {
				return nil, feedFailure("more than %d redirects", maxRedirects)
			}
			next, err := req.URL.Parse(loc)
			if err != nil {
				return nil, feedFailure("the server redirected to an invalid URL %q", loc)
			}
			if err := outbound.CheckURL(ctx, next.String(), s.o.AllowPrivate, s.d.Resolver); err != nil {
				return nil, describeFetchError(err)
			}
			target = next.String()
			continue
		case resp.StatusCode != http.StatusOK:
			resp.Body.Close()
			return nil, feedFailure("the server answered HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			if errors.Is(err, outbound.ErrResponseTooLarge) {
				return nil, feedFailure("the feed is larger than the limit of %d MB", MaxFeedBytes>>20)
			}
			return nil, describeFetchError(err)
		}
		return &fetched{body: body, etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}, nil
	}
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// describeFetchError turns a transport error into the reason a user reads.
func describeFetchError(err error) error {
	var ae *outbound.AddressError
	var ne net.Error
	var ue *url.Error
	switch {
	case errors.As(err, &ae):
		return feedFailure("refused: %s", ae.Reason)
	case errors.Is(err, outbound.ErrResponseTooLarge):
		return feedFailure("the feed is larger than the limit of %d MB", MaxFeedBytes>>20)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return feedFailure("the server did not answer in time")
	case errors.As(err, &ue):
		return feedFailure("fetch failed: %v", ue.Err)
	default:
		return feedFailure("fetch failed: %v", err)
	}
}

// poll fetches and imports one subscription and records the outcome on
// it. Failures of the feed are recorded, not returned; errors of the
// store are returned.
func (s *Service) poll(ctx context.Context, sub *calgate.Subscription, actor string) (*calgate.Subscription, error) {
	now := s.now()
	sub.LastPolledAt = &now
	sub.NextPollAt = now.Add(sub.PollInterval)
	counts, validators, err := s.pollOnce(ctx, sub, now, actor)
	var fe *feedError
	switch {
	case errors.As(err, &fe):
		sub.State, sub.LastError = calgate.SubscriptionError, fe.reason
		s.d.Logger.Warn("subscriptions: poll failed", "workspace", sub.WorkspaceID, "subscription", sub.ID, "reason", fe.reason)
	case err != nil:
		return nil, err
	default:
		sub.State, sub.LastError, sub.LastResult = calgate.SubscriptionOK, "", counts
		sub.LastSuccessAt = &now
		// A 304 may carry fresher validators; a full answer replaces them.
		if !counts.NotModified || validators.etag != "" {
			sub.ETag = validators.etag
		}
		if !counts.NotModified || validators.lastModified != "" {
			sub.LastModified = validators.lastModified
		}
	}
	if err := s.d.Store.RecordPoll(ctx, sub); err != nil {
		return nil, fmt.Errorf("subscriptions: record poll of %s: %w", sub.ID, err)
	}
	switch {
	case sub.State == calgate.SubscriptionError:
		s.d.OnPoll("error")
	case sub.LastResult.NotModified:
		s.d.OnPoll("not_modified")
	default:
		s.d.OnPoll("updated")
	}
	return sub, nil
}

// pollOnce does the work of poll: fetch, parse, write one snapshot.
func (s *Service) pollOnce(ctx context.Context, sub *calgate.Subscription, now time.Time, actor string) (calgate.PollCounts, *fetched, error) {
	var counts calgate.PollCounts
	f, err := s.fetch(ctx, sub)
	if err != nil {
		return counts, nil, err
	}
	if f.notModified {
		counts.NotModified = true
		return counts, f, nil
	}
	ws, err := s.d.Store.Workspace(ctx, sub.WorkspaceID)
	if err != nil {
		return counts, nil, fmt.Errorf("subscriptions: poll %s: %w", sub.ID, err)
	}
	occs, err := ical.Parse(bytes.NewReader(f.body), ical.ParseOptions{Now: now, Horizon: s.o.Horizon, DefaultTZ: ws.Timezone})
	if err != nil {
		return counts, nil, feedFailure("the feed is not a usable iCalendar document: %s", strings.TrimPrefix(err.Error(), "ical: "))
	}
	items := make([]calgate.UpsertItem, 0, len(occs))
	for _, o := range occs {
		counts.Events++
		// Transparent events do not block time, but a cancelled instance
		// stays so that its cancellation is seen (Outlook marks cancelled
		// instances transparent).
		if o.Transparent && !o.Cancelled {
			counts.Transparent++
			continue
		}
		items = append(items, calgate.UpsertItem{Entry: o.Entry(sub.Kind, sub.Resource, sub.Source()), Ref: o.ExternalID})
	}
	// A subscription deleted while its feed was fetched writes nothing.
	if _, err := s.d.Store.Subscription(ctx, sub.WorkspaceID, sub.ID); err != nil {
		return counts, nil, fmt.Errorf("subscriptions: poll %s: %w", sub.ID, err)
	}
	res, err := s.d.Store.Upsert(ctx, sub.WorkspaceID, actor, items,
		calgate.UpsertOptions{Sync: &calgate.SyncScope{Kind: sub.Kind, Source: sub.Source()}})
	if err != nil {
		return counts, nil, fmt.Errorf("subscriptions: poll %s: write entries: %w", sub.ID, err)
	}
	counts.Created, counts.Updated, counts.Unchanged = res.Created, res.Updated, res.Unchanged
	counts.Archived, counts.Failed = res.Archived, res.Failed
	if res.Created+res.Updated+res.Archived > 0 {
		s.d.Notify()
	}
	return counts, f, nil
}

// PollLease is how long a claimed poll may take before the subscription
// comes due again: a poll lost with the queue or a killed worker is
// claimed anew after it.
const PollLease = 5 * time.Minute

// HandleJob runs one poll job. A subscription deleted in the meantime is
// skipped; a failing feed is recorded on the subscription, not retried.
func (s *Service) HandleJob(ctx context.Context, payload []byte) error {
	var j calgate.DueRow
	if err := json.Unmarshal(payload, &j); err != nil {
		return fmt.Errorf("subscriptions: job payload: %w", err)
	}
	sub, err := s.d.Store.Subscription(ctx, j.WorkspaceID, j.ID)
	if errors.Is(err, calgate.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := s.poll(ctx, sub, Actor(sub)); err != nil && !errors.Is(err, calgate.ErrNotFound) {
		return err
	}
	return nil
}

// Actor is who the changes of scheduled polls are attributed to.
func Actor(sub *calgate.Subscription) string { return "subscription/" + sub.ID }
