// Package microsoft connects calgate to Microsoft 365 and Outlook.com
// calendars through Microsoft Graph (v1.0, plain REST calls), with OAuth
// 2.0 at the Microsoft identity platform (work, school and personal
// accounts through the common, organizations or consumers tenant). The
// entries a connector's filter selects become events in the calendar its
// mapping names, written as the feeds render them: times in the entry's
// Windows time zone name where Windows has one for it, else its IANA name,
// as Graph takes both. A create carries a transactionId, so a retried
// create is not doubled, and the entry's id in a single-value extended
// property; changes are PATCHed; cancelled and archived entries' events
// are deleted. Reconciliation follows the calendar view delta query.
package microsoft

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/calendar"
)

// Type is the connector type.
const Type = "microsoft_calendar"

// Default endpoints and scopes.
const (
	DefaultTenant    = "common"
	DefaultLoginURL  = "https://login.microsoftonline.com"
	DefaultAPIURL    = "https://graph.microsoft.com/v1.0"
	DefaultScopes    = "offline_access User.Read Calendars.ReadWrite"
	defaultAuthPath  = "/oauth2/v2.0/authorize"
	defaultTokenPath = "/oauth2/v2.0/token"
)

// PropertyID is the single-value extended property calgate marks its
// events with (a string property in calgate's own property set); its
// value is the entry's id.
const PropertyID = "String {8f1e6a0c-5b7d-4c53-9a2e-3d41c7b0e6f2} Name calgateEntry"

// DefaultLimits are Outlook's limits per app and mailbox: 10,000 calls in
// 10 minutes, 4 at once.
var DefaultLimits = connectors.Limits{Windows: []connectors.Window{{Calls: 10000, Per: 10 * time.Minute}}, Concurrent: 4}

// Config is the deployment's app registration at Microsoft. Its AuthURL
// and TokenURL default to the tenant's endpoints at
// login.microsoftonline.com, its APIURL to Graph v1.0.
type Config struct {
	connectors.AppConfig
	// Scopes are space-separated (default DefaultScopes).
	Scopes string
	// Tenant is common (work, school and personal accounts, the default),
	// organizations, consumers or a directory id.
	Tenant string
}

// Vendor is the Microsoft 365 calendar application.
type Vendor struct{ *connectors.App }

var (
	_ connectors.Vendor     = (*Vendor)(nil)
	_ connectors.Lister     = (*Vendor)(nil)
	_ connectors.Preparer   = (*Vendor)(nil)
	_ connectors.Reconciler = (*Vendor)(nil)
)

// New returns the application for a deployment's configuration.
func New(cfg Config) *Vendor {
	if cfg.Tenant == "" {
		cfg.Tenant = DefaultTenant
	}
	login := DefaultLoginURL + "/" + cfg.Tenant
	// OAuth 2.0 with PKCE.
	return &Vendor{connectors.NewApp(cfg.AppConfig, connectors.AppSpec{Type: Type, Scopes: cmp.Or(cfg.Scopes, DefaultScopes), AuthStyle: oauth2.AuthStyleInParams,
		Auth: connectors.Auth{PKCE: true}, Defaults: connectors.AppConfig{AuthURL: login + defaultAuthPath, TokenURL: login + defaultTokenPath, APIURL: DefaultAPIURL, Limits: &DefaultLimits}})}
}

// Mapping implements connectors.Vendor.
func (v *Vendor) Mapping(raw json.RawMessage) (json.RawMessage, error) {
	m, err := calendar.Decode(raw)
	if err != nil {
		return nil, err
	}
	return m.JSON(), nil
}

// prefer asks for times in UTC and plain-text bodies in every answer.
const prefer = `outlook.timezone="UTC", outlook.body-content-type="text", odata.maxpagesize=200`

// call makes one Graph call and decodes its answer into out (when not
// nil).
func (v *Vendor) call(ctx context.Context, c *connectors.Client, op, method, u string, body, out any) error {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	if !strings.HasPrefix(u, "http") {
		u = v.Config.APIURL + u
	}
	resp, err := c.Do(ctx, connectors.Request{Operation: op, Method: method, URL: u, Body: raw, Header: http.Header{"Prefer": {prefer}}})
	if err != nil {
		return err
	}
	if out != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return fmt.Errorf("microsoft: %s: %w", op, err)
		}
	}
	return nil
}

// User is the signed-in user.
type User struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
}

// Account implements connectors.Vendor: the signed-in user.
func (v *Vendor) Account(ctx context.Context, c *connectors.Client, _ url.Values) (connectors.Account, error) {
	var u User
	if err := v.call(ctx, c, "read user", http.MethodGet, "/me", nil, &u); err != nil {
		return connectors.Account{}, err
	}
	name := u.Mail
	if name == "" {
		name = u.UserPrincipalName
	}
	return connectors.Account{ID: u.ID, Name: name}, nil
}

// Calendar is a calendar resource.
type Calendar struct {
	ID                string `json:"id,omitempty"`
	Name              string `json:"name"`
	CanEdit           bool   `json:"canEdit,omitempty"`
	IsDefaultCalendar bool   `json:"isDefaultCalendar,omitempty"`
}

func (v *Vendor) calendars(ctx context.Context, c *connectors.Client) ([]Calendar, error) {
	var out []Calendar
	u := "/me/calendars?$top=100"
	for u != "" {
		var page struct {
			Value    []Calendar `json:"value"`
			NextLink string     `json:"@odata.nextLink"`
		}
		if err := v.call(ctx, c, "list calendars", http.MethodGet, u, nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		u = page.NextLink
		if u != "" && !strings.HasPrefix(u, v.Config.APIURL+"/") {
			return nil, fmt.Errorf("microsoft: list calendars: a next link outside Graph: %s", u)
		}
	}
	return out, nil
}

// Choices implements connectors.Lister: the mailbox's calendars.
func (v *Vendor) Choices(ctx context.Context, c *connectors.Client) ([]connectors.Choice, error) {
	list, err := v.calendars(ctx, c)
	if err != nil {
		return nil, err
	}
	m, _ := calendar.Decode(c.Connector().Mapping)
	out := make([]connectors.Choice, 0, len(list))
	for _, cal := range list {
		out = append(out, connectors.Choice{ID: cal.ID, Name: cal.Name, Field: "mapping.calendar_id", Primary: cal.IsDefaultCalendar,
			Writable: cal.CanEdit, Selected: m != nil && m.CalendarID == cal.ID})
	}
	return out, nil
}

// Prepare implements connectors.Preparer: a named calendar must be one the
// mailbox may write; without one, the calendar named calendar_name is
// used, or created.
func (v *Vendor) Prepare(ctx context.Context, c *connectors.Client, raw json.RawMessage) (json.RawMessage, error) {
	m, err := calendar.Decode(raw)
	if err != nil {
		return nil, err
	}
	list, err := v.calendars(ctx, c)
	if err != nil {
		return nil, err
	}
	for _, cal := range list {
		switch {
		case m.CalendarID != "" && cal.ID == m.CalendarID:
			if !cal.CanEdit {
				return nil, calgate.Invalid("mapping.calendar_id", "calendar %q is read-only for this account: calgate needs to write events", cal.Name)
			}
			m.CalendarName = cal.Name
			return m.JSON(), nil
		case m.CalendarID == "" && cal.CanEdit && strings.EqualFold(cal.Name, m.CalendarName):
			m.CalendarID = cal.ID
			return m.JSON(), nil
		}
	}
	if m.CalendarID != "" {
		return nil, calgate.Invalid("mapping.calendar_id", "is not a calendar of %s: pick one of GET /v1/connectors/{id}/choices", c.Connector().AccountName)
	}
	var created Calendar
	if err := v.call(ctx, c, "create calendar", http.MethodPost, "/me/calendars", Calendar{Name: m.CalendarName}, &created); err != nil {
		if connectors.StatusOf(err) == http.StatusConflict {
			return nil, calgate.Invalid("mapping.calendar_name", "a calendar named %q exists that calgate may not write", m.CalendarName)
		}
		return nil, err
	}
	m.CalendarID = created.ID
	return m.JSON(), nil
}

// ErrorText implements connectors.Vendor: Graph's error code and message.
func (v *Vendor) ErrorText(status int, body []byte) string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
		return e.Error.Code + ": " + e.Error.Message
	}
	return connectors.BodyText(status, body)
}

// errorCode returns Graph's error code of an error answer.
func errorCode(err error) string {
	var he *connectors.HTTPError
	if !errors.As(err, &he) {
		return ""
	}
	code, _, _ := strings.Cut(he.Text, ":")
	return code
}
