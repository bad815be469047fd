// Package google connects calgate to Google Calendar through the Calendar
// API v3, with Google's own Go client (google.golang.org/api/calendar/v3)
// and OAuth 2.0 (golang.org/x/oauth2/google). The entries a connector's
// filter selects become events in the calendar its mapping names, written
// as the feeds render them; each event's id is derived from the connector
// and the entry (base32hex), so a retried insert answers 409 instead of
// making a second event, and it carries the entry's id in its private
// extended properties. Reconciliation lists what changed since the last
// run with sync tokens and has calgate's events that someone changed or
// deleted in Google Calendar written again; other events are never
// touched.
package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	googleoauth "golang.org/x/oauth2/google"
	gcal "google.golang.org/api/calendar/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/calendar"
)

// Type is the connector type.
const Type = "google_calendar"

// Scope is the OAuth scope calgate asks for: read and write the user's
// calendars (listing them, creating one, writing events).
const Scope = "https://www.googleapis.com/auth/calendar"

// DefaultAPIURL is the Calendar API's base URL.
const DefaultAPIURL = "https://www.googleapis.com/calendar/v3/"

// DefaultLimits are Google's default per-user quota: 600 calls a minute
// per user and project. (The project's 10,000 a minute are shared by all
// accounts of a deployment.)
var DefaultLimits = connectors.Limits{Windows: []connectors.Window{{Calls: 600, Per: time.Minute}}, Concurrent: 10}

// Config is the deployment's OAuth client at Google; its endpoints default
// to Google's.
type Config = connectors.AppConfig

// Vendor is the Google Calendar application.
type Vendor struct {
	*connectors.App
	// apiURL is the API's base URL with a trailing slash, as the client
	// library wants it.
	apiURL string

	mu        sync.Mutex
	throttled map[string]int // consecutive quota errors per account
}

var (
	_ connectors.Vendor     = (*Vendor)(nil)
	_ connectors.Lister     = (*Vendor)(nil)
	_ connectors.Preparer   = (*Vendor)(nil)
	_ connectors.Reconciler = (*Vendor)(nil)
)

// New returns the application for a deployment's configuration.
func New(cfg Config) *Vendor {
	ep := googleoauth.Endpoint
	// OAuth 2.0 with PKCE, asking for offline access (a refresh token) and
	// the consent screen every time (so that a new consent gives a new
	// refresh token).
	app := connectors.NewApp(cfg, connectors.AppSpec{Type: Type, Scopes: Scope, AuthStyle: ep.AuthStyle,
		Auth:     connectors.Auth{PKCE: true, AuthParams: url.Values{"access_type": {"offline"}, "prompt": {"consent"}}},
		Defaults: connectors.AppConfig{AuthURL: ep.AuthURL, TokenURL: ep.TokenURL, APIURL: DefaultAPIURL, Limits: &DefaultLimits}})
	return &Vendor{App: app, apiURL: app.Config.APIURL + "/", throttled: map[string]int{}}
}

// Mapping implements connectors.Vendor.
func (v *Vendor) Mapping(raw json.RawMessage) (json.RawMessage, error) {
	m, err := calendar.Decode(raw)
	if err != nil {
		return nil, err
	}
	return m.JSON(), nil
}

// service returns the Calendar API client calling through c.
func (v *Vendor) service(ctx context.Context, c *connectors.Client) (*gcal.Service, error) {
	svc, err := gcal.NewService(ctx, option.WithHTTPClient(c.HTTPClient()), option.WithEndpoint(v.apiURL))
	if err != nil {
		return nil, fmt.Errorf("google: calendar client: %w", err)
	}
	return svc, nil
}

// Account implements connectors.Vendor: the account is the primary
// calendar's id (the user's e-mail address).
func (v *Vendor) Account(ctx context.Context, c *connectors.Client, _ url.Values) (connectors.Account, error) {
	svc, err := v.service(ctx, c)
	if err != nil {
		return connectors.Account{}, err
	}
	e, err := svc.CalendarList.Get("primary").Context(connectors.WithOperation(ctx, "read primary calendar")).Do()
	if err != nil {
		return connectors.Account{}, v.wrap(c, err)
	}
	return connectors.Account{ID: e.Id, Name: e.Summary}, nil
}

// writable reports whether calgate may write events into a calendar.
func writable(role string) bool { return role == "owner" || role == "writer" }

// calendars lists the account's calendar list.
func (v *Vendor) calendars(ctx context.Context, c *connectors.Client) ([]*gcal.CalendarListEntry, error) {
	svc, err := v.service(ctx, c)
	if err != nil {
		return nil, err
	}
	var out []*gcal.CalendarListEntry
	err = svc.CalendarList.List().MaxResults(250).Pages(connectors.WithOperation(ctx, "list calendars"), func(l *gcal.CalendarList) error {
		out = append(out, l.Items...)
		return nil
	})
	if err != nil {
		return nil, v.wrap(c, err)
	}
	return out, nil
}

// Choices implements connectors.Lister: the account's calendars.
func (v *Vendor) Choices(ctx context.Context, c *connectors.Client) ([]connectors.Choice, error) {
	list, err := v.calendars(ctx, c)
	if err != nil {
		return nil, err
	}
	m, _ := calendar.Decode(c.Connector().Mapping)
	out := make([]connectors.Choice, 0, len(list))
	for _, e := range list {
		name := e.SummaryOverride
		if name == "" {
			name = e.Summary
		}
		out = append(out, connectors.Choice{ID: e.Id, Name: name, Field: "mapping.calendar_id", Primary: e.Primary,
			Writable: writable(e.AccessRole), Selected: m != nil && m.CalendarID == e.Id})
	}
	return out, nil
}

// Prepare implements connectors.Preparer: a named calendar must be one the
// account may write; without one, the calendar named calendar_name that
// the account owns is used, or created.
func (v *Vendor) Prepare(ctx context.Context, c *connectors.Client, raw json.RawMessage) (json.RawMessage, error) {
	m, err := calendar.Decode(raw)
	if err != nil {
		return nil, err
	}
	svc, err := v.service(ctx, c)
	if err != nil {
		return nil, err
	}
	if m.CalendarID != "" {
		e, err := svc.CalendarList.Get(m.CalendarID).Context(connectors.WithOperation(ctx, "read calendar")).Do()
		if code(err) == http.StatusNotFound {
			return nil, calgate.Invalid("mapping.calendar_id", "is not a calendar of %s: pick one of GET /v1/connectors/{id}/choices", c.Connector().AccountName)
		}
		if err != nil {
			return nil, v.wrap(c, err)
		}
		if !writable(e.AccessRole) {
			return nil, calgate.Invalid("mapping.calendar_id", "calendar %q is %s-only for this account: calgate needs to write events", e.Summary, e.AccessRole)
		}
		m.CalendarName = e.Summary
		return m.JSON(), nil
	}
	list, err := v.calendars(ctx, c)
	if err != nil {
		return nil, err
	}
	for _, e := range list {
		if e.AccessRole == "owner" && e.Summary == m.CalendarName {
			m.CalendarID = e.Id
			return m.JSON(), nil
		}
	}
	cal, err := svc.Calendars.Insert(&gcal.Calendar{Summary: m.CalendarName}).Context(connectors.WithOperation(ctx, "create calendar")).Do()
	if err != nil {
		return nil, v.wrap(c, err)
	}
	m.CalendarID = cal.Id
	return m.JSON(), nil
}

// ErrorText implements connectors.Vendor: Google's message with the
// reason of its first error.
func (v *Vendor) ErrorText(status int, body []byte) string {
	var e struct {
		Error struct {
			Errors []struct {
				Reason  string `json:"reason"`
				Message string `json:"message"`
			} `json:"errors"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		if len(e.Error.Errors) > 0 && e.Error.Errors[0].Reason != "" {
			return e.Error.Errors[0].Reason + ": " + e.Error.Message
		}
		return e.Error.Message
	}
	return connectors.BodyText(status, body)
}

// code returns the HTTP status of a Calendar API error, 0 for others.
func code(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

// quotaReasons are the reasons of Google's answers that ask to slow down.
var quotaReasons = map[string]bool{"rateLimitExceeded": true, "userRateLimitExceeded": true}

// wrap turns a quota error (403 rateLimitExceeded or
// userRateLimitExceeded, 429) into a *connectors.RetryAfterError whose
// wait grows exponentially with the account's consecutive quota errors
// (1 s, 2 s, 4 s, … up to 64 s, with jitter), as Google asks; any other
// error is returned as it is, and a success (err nil) resets the count.
func (v *Vendor) wrap(c *connectors.Client, err error) error {
	account := c.Connector().Account
	var ge *googleapi.Error
	if err == nil || !errors.As(err, &ge) {
		if err == nil {
			v.mu.Lock()
			delete(v.throttled, account)
			v.mu.Unlock()
		}
		return err
	}
	quota := ge.Code == http.StatusTooManyRequests
	for _, item := range ge.Errors {
		if ge.Code == http.StatusForbidden && quotaReasons[item.Reason] {
			quota = true
		}
	}
	if !quota {
		return err
	}
	v.mu.Lock()
	n := v.throttled[account]
	v.throttled[account] = n + 1
	v.mu.Unlock()
	wait := time.Duration(1<<min(n, 6)) * time.Second
	wait += time.Duration(rand.Int64N(int64(wait / 4)))
	if ra := ge.Header.Get("Retry-After"); ra != "" {
		if d, perr := time.ParseDuration(ra + "s"); perr == nil && d > wait {
			wait = d
		}
	}
	return &connectors.RetryAfterError{Status: ge.Code, Wait: wait, Text: "Google Calendar quota: " + ge.Message}
}
