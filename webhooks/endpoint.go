package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/outbound"
)

// EndpointInput is what a caller sets on an endpoint; nil fields are left
// as they are on update.
type EndpointInput struct {
	URL         *string
	Events      []string
	Filter      *calgate.WebhookFilter
	Description *string
	// Secret is taken only on creation ("whsec_…"); empty generates one.
	Secret *string
	// Disabled false re-enables an endpoint and resets its failure streak.
	Disabled *bool
}

// Secret is a signing secret as shown to its owner.
type Secret struct {
	Secret    string     `json:"secret"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// ValidEventPattern reports whether p names an event type, a wildcard
// ("entry.*") matching some type, or "*".
func ValidEventPattern(p string) bool {
	if p == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(p, "*"); ok {
		if !strings.HasSuffix(prefix, ".") {
			return false
		}
		for _, t := range calgate.AllEventTypes {
			if strings.HasPrefix(string(t), prefix) {
				return true
			}
		}
		return false
	}
	return calgate.ValidEventType(calgate.EventType(p))
}

// checkInput validates an input; creating requires url and events.
func (s *Service) checkInput(ctx context.Context, in *EndpointInput, creating bool) error {
	v := &calgate.ValidationError{}
	if in.URL != nil || creating {
		url := ""
		if in.URL != nil {
			url = strings.TrimSpace(*in.URL)
			in.URL = &url
		}
		switch {
		case url == "":
			v.Add("url", "is required")
		case len(url) > calgate.MaxURLLength:
			v.Add("url", "is longer than %d characters", calgate.MaxURLLength)
		case !v.Line("url", url, 0):
		default:
			if err := outbound.CheckURL(ctx, url, s.o.AllowPrivate, s.d.Resolver); err != nil {
				if ae, ok := errors.AsType[*outbound.AddressError](err); ok {
					v.Add("url", "%s", ae.Reason)
				} else {
					v.Add("url", "cannot be checked: %v", err)
				}
			}
		}
	}
	if in.Events != nil || creating {
		if len(in.Events) == 0 {
			v.Add("events", "name at least one event type (such as entry.rescheduled) or a wildcard (entry.*)")
		}
		if len(in.Events) > calgate.MaxFilterValues {
			v.Add("events", "at most %d values (has %d)", calgate.MaxFilterValues, len(in.Events))
		}
		for i, p := range in.Events {
			if !ValidEventPattern(p) {
				v.Add(fmt.Sprintf("events[%d]", i), "%q is not an event type or wildcard", p)
			}
		}
	}
	if in.Filter != nil {
		v.FilterLists("filter.", len(in.Filter.Kinds), in.Filter.Resources, 0, in.Filter.Sources)
		for i, k := range in.Filter.Kinds {
			if !k.Valid() {
				v.Add(fmt.Sprintf("filter.kinds[%d]", i), "%q is not reservation, job or production_window", k)
			}
		}
	}
	if in.Description != nil {
		v.Text("description", *in.Description, calgate.MaxDescriptionLength)
	}
	if in.Secret != nil && *in.Secret != "" {
		if !creating {
			v.Add("secret", "cannot be set; use rotate-secret")
		} else if key, err := DecodeSecret(*in.Secret); err != nil || len(key) < 24 || len(key) > 64 {
			v.Add("secret", "must be whsec_ followed by the base64 of 24 to 64 random bytes")
		}
	}
	return v.Err()
}

// Create registers an endpoint in a workspace and returns it with its
// secret, which is shown this once (and by Secrets).
func (s *Service) Create(ctx context.Context, workspaceID, origin string, in EndpointInput) (*calgate.Webhook, string, error) {
	if err := s.checkInput(ctx, &in, true); err != nil {
		return nil, "", err
	}
	secret := NewSecret()
	if in.Secret != nil && *in.Secret != "" {
		key, _ := DecodeSecret(*in.Secret)
		secret = SecretPrefix + encodeKey(key)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	w := &calgate.Webhook{
		ID: calgate.NewID("wh"), WorkspaceID: workspaceID, URL: *in.URL, Events: in.Events, Origin: origin,
		Secrets: []calgate.WebhookSecret{{Sealed: s.d.Sealer.Seal([]byte(secret))}}, CreatedAt: now, UpdatedAt: now,
	}
	if in.Filter != nil {
		w.Filter = *in.Filter
	}
	if in.Description != nil {
		w.Description = *in.Description
	}
	if in.Disabled != nil && *in.Disabled {
		w.Disabled, w.DisabledReason = true, "disabled by a user"
	}
	if err := s.d.Store.CreateWebhook(ctx, w); err != nil {
		return nil, "", err
	}
	return w, secret, nil
}

// Get returns an endpoint of a workspace.
func (s *Service) Get(ctx context.Context, workspaceID, id string) (*calgate.Webhook, error) {
	return s.d.Store.Webhook(ctx, workspaceID, id)
}

// List pages through a workspace's endpoints.
func (s *Service) List(ctx context.Context, workspaceID, cursor string, limit int) ([]*calgate.Webhook, string, error) {
	return s.d.Store.Webhooks(ctx, workspaceID, cursor, limit)
}

// Update changes an endpoint. Re-enabling it resets its failure streak.
func (s *Service) Update(ctx context.Context, workspaceID, id string, in EndpointInput) (*calgate.Webhook, error) {
	w, err := s.d.Store.Webhook(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	if err := s.checkInput(ctx, &in, false); err != nil {
		return nil, err
	}
	if in.URL != nil {
		w.URL = *in.URL
	}
	if in.Events != nil {
		w.Events = in.Events
	}
	if in.Filter != nil {
		w.Filter = *in.Filter
	}
	if in.Description != nil {
		w.Description = *in.Description
	}
	if in.Disabled != nil {
		switch {
		case *in.Disabled && !w.Disabled:
			w.Disabled, w.DisabledReason = true, "disabled by a user"
		case !*in.Disabled:
			w.Disabled, w.DisabledReason, w.FailingSince = false, "", nil
		}
	}
	w.UpdatedAt = time.Now()
	if err := s.d.Store.UpdateWebhook(ctx, w); err != nil {
		return nil, err
	}
	s.forget(id)
	return w, nil
}

// Delete removes an endpoint and its delivery log.
func (s *Service) Delete(ctx context.Context, workspaceID, id string) error {
	if err := s.d.Store.DeleteWebhook(ctx, workspaceID, id); err != nil {
		return err
	}
	s.forget(id)
	return nil
}

// Secrets returns the secrets an endpoint signs with, current first.
func (s *Service) Secrets(ctx context.Context, workspaceID, id string) ([]Secret, error) {
	w, err := s.d.Store.Webhook(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var out []Secret
	for _, sec := range w.Secrets {
		if sec.ExpiresAt != nil && !now.Before(*sec.ExpiresAt) {
			continue
		}
		plain, err := s.d.Sealer.Open(sec.Sealed)
		if err != nil {
			return nil, fmt.Errorf("webhooks: open secret of %s: %w", id, err)
		}
		out = append(out, Secret{Secret: string(plain), ExpiresAt: sec.ExpiresAt})
	}
	return out, nil
}

// RotateSecret gives an endpoint a new secret; the current one keeps
// signing next to it for RotationOverlap. It returns the new secret.
func (s *Service) RotateSecret(ctx context.Context, workspaceID, id string) (string, error) {
	w, err := s.d.Store.Webhook(ctx, workspaceID, id)
	if err != nil {
		return "", err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	expires := now.Add(RotationOverlap)
	secret := NewSecret()
	kept := []calgate.WebhookSecret{{Sealed: s.d.Sealer.Seal([]byte(secret))}}
	for _, sec := range w.Secrets {
		if sec.ExpiresAt == nil {
			sec.ExpiresAt = &expires
		}
		if now.Before(*sec.ExpiresAt) {
			kept = append(kept, sec)
		}
	}
	w.Secrets, w.UpdatedAt = kept, now
	if err := s.d.Store.UpdateWebhook(ctx, w); err != nil {
		return "", err
	}
	s.forget(id)
	return secret, nil
}

// TestResult is the answer of an endpoint to a webhook.test message.
type TestResult struct {
	MessageID string
	Attempt   Attempt
}

// Test sends a webhook.test message to an endpoint now, whether it is
// enabled or not, and returns its answer. Nothing is retried or logged.
func (s *Service) Test(ctx context.Context, workspaceID, id string) (*TestResult, error) {
	w, err := s.d.Store.Webhook(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	keys, err := s.openSecrets(w, time.Now())
	if err != nil {
		return nil, err
	}
	ev, err := s.sampleEvent(calgate.EventWebhookTest, workspaceID)
	if err != nil {
		return nil, err
	}
	ev.Data, _ = json.Marshal(map[string]string{"webhook_id": w.ID, "message": "This is a test message from calgate."})
	body, err := s.body(ev)
	if err != nil {
		return nil, err
	}
	m := Message{ID: calgate.NewID("msg"), Type: string(ev.Type), Timestamp: ev.CreatedAt, Body: body}
	callCtx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	a := Send(callCtx, s.d.Client, w.URL, keys, m)
	s.d.Metrics.observe(a)
	return &TestResult{MessageID: m.ID, Attempt: a}, nil
}

// Deliveries lists an endpoint's deliveries with their attempts.
func (s *Service) Deliveries(ctx context.Context, workspaceID, id string, f calgate.DeliveryFilter) ([]*calgate.Delivery, string, error) {
	switch f.Status {
	case "", calgate.DeliveryPending, calgate.DeliverySucceeded, calgate.DeliveryFailed:
	default:
		return nil, "", &calgate.ValidationError{Malformed: true, Errors: []calgate.FieldError{{Field: "status", Message: "must be pending, succeeded or failed"}}}
	}
	if _, err := s.d.Store.Webhook(ctx, workspaceID, id); err != nil {
		return nil, "", err
	}
	return s.d.Store.Deliveries(ctx, workspaceID, id, f)
}

// Retry sends a delivery again now, in a new round of attempts, whatever
// its state.
func (s *Service) Retry(ctx context.Context, workspaceID, webhookID, id string) (*calgate.Delivery, error) {
	d, err := s.d.Store.RetryDelivery(ctx, workspaceID, webhookID, id, time.Now())
	if err != nil {
		return nil, notFoundOr(err)
	}
	if err := s.enqueueSend(ctx, d.WebhookID, fmt.Sprintf("manual:%d", time.Now().UnixNano()), time.Time{}); err != nil {
		s.logger.Warn("webhooks: enqueue manual retry; the sweep will send it", "delivery", d.ID, "err", err)
	}
	return d, nil
}

// Replay sends again every delivery of an endpoint that failed and was
// created since a time, and reports how many.
func (s *Service) Replay(ctx context.Context, workspaceID, webhookID string, since time.Time) (int, error) {
	if _, err := s.d.Store.Webhook(ctx, workspaceID, webhookID); err != nil {
		return 0, err
	}
	list, err := s.d.Store.ReplayDeliveries(ctx, workspaceID, webhookID, since, time.Now())
	if err != nil {
		return 0, err
	}
	if len(list) > 0 {
		if err := s.enqueueSend(ctx, webhookID, fmt.Sprintf("replay:%d", time.Now().UnixNano()), time.Time{}); err != nil {
			s.logger.Warn("webhooks: enqueue replay; the sweep will send it", "webhook", webhookID, "err", err)
		}
	}
	return len(list), nil
}
