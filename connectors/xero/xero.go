// Package xero connects calgate to Xero through the Xero Accounting API
// (api.xro/2.0): a confirmed entry becomes an ACCREC invoice for the
// contact named after the entry's customer, with one line item, the entry's
// external id as Reference and the status DRAFT or AUTHORISED; a change
// updates it; a cancellation deletes a draft or voids an authorised
// invoice. Creates carry an Idempotency-Key; every call carries the
// xero-tenant-id of the organisation chosen at consent.
package xero

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
)

// Type is the connector type.
const Type = "xero"

// Default endpoints and scopes.
const (
	DefaultAuthURL  = "https://login.xero.com/identity/connect/authorize"
	DefaultTokenURL = "https://identity.xero.com/connect/token"
	DefaultAPIURL   = "https://api.xero.com"
	DefaultScopes   = "offline_access accounting.transactions accounting.contacts"
)

// DefaultLimits are Xero's limits per organisation: 60 calls a minute,
// 5,000 a day, 5 at once.
var DefaultLimits = connectors.Limits{Windows: []connectors.Window{{Calls: 60, Per: time.Minute}, {Calls: 5000, Per: 24 * time.Hour}}, Concurrent: 5}

// Config is the deployment's app at Xero; its endpoints default to Xero's.
type Config struct {
	connectors.AppConfig
	// Scopes are space-separated (default DefaultScopes).
	Scopes string
}

// Vendor is the Xero application.
type Vendor struct{ *connectors.App }

var _ connectors.Vendor = (*Vendor)(nil)

// New returns the application for a deployment's configuration.
func New(cfg Config) *Vendor {
	// OAuth 2.0 with PKCE.
	return &Vendor{connectors.NewApp(cfg.AppConfig, connectors.AppSpec{Type: Type, Scopes: cmp.Or(cfg.Scopes, DefaultScopes), AuthStyle: oauth2.AuthStyleInHeader, Auth: connectors.Auth{PKCE: true},
		Defaults: connectors.AppConfig{AuthURL: DefaultAuthURL, TokenURL: DefaultTokenURL, APIURL: DefaultAPIURL, Limits: &DefaultLimits}})}
}

// Invoice statuses calgate sets.
const (
	StatusDraft      = "DRAFT"
	StatusAuthorised = "AUTHORISED"
)

// Mapping is a Xero connector's settings.
type Mapping struct {
	// AccountCode is the sales account of the line item.
	AccountCode string `json:"account_code"`
	// Status is DRAFT (default) or AUTHORISED.
	Status string `json:"status"`
	// DueDays sets an invoice's due date after its date (default 14).
	DueDays *int `json:"due_days,omitempty"`
	// Pricing prices each line (unit_price, price_attribute).
	connectors.Pricing
	// DefaultContact names the contact of entries without a customer name
	// (default "calgate").
	DefaultContact string `json:"default_contact"`
}

func (m Mapping) dueDays() int {
	if m.DueDays == nil {
		return 14
	}
	return *m.DueDays
}

// Mapping implements connectors.Vendor.
func (v *Vendor) Mapping(raw json.RawMessage) (json.RawMessage, error) {
	m, err := decodeMapping(raw)
	if err != nil {
		return nil, err
	}
	ve := &calgate.ValidationError{}
	if strings.TrimSpace(m.AccountCode) == "" {
		ve.Add("mapping.account_code", "is required: the code of the Xero sales account the line is booked to")
	}
	switch m.Status {
	case "":
		m.Status = StatusDraft
	case StatusDraft, StatusAuthorised:
	default:
		ve.Add("mapping.status", "must be DRAFT or AUTHORISED")
	}
	if m.DueDays != nil && (*m.DueDays < 0 || *m.DueDays > 3650) {
		ve.Add("mapping.due_days", "must be 0 to 3650")
	}
	m.Pricing.Check(ve)
	if m.DefaultContact == "" {
		m.DefaultContact = "calgate"
	}
	if len(m.DefaultContact) > 255 {
		ve.Add("mapping.default_contact", "must be at most 255 bytes")
	}
	return connectors.Checked(m, ve)
}

func decodeMapping(raw json.RawMessage) (Mapping, error) {
	return connectors.DecodeMapping[Mapping](raw, "Xero")
}

// Connection is one organisation the user connected (GET /connections).
type Connection struct {
	ID         string `json:"id"`
	TenantID   string `json:"tenantId"`
	TenantType string `json:"tenantType"`
	TenantName string `json:"tenantName"`
}

// Account implements connectors.Vendor: the organisation is the tenant of
// the connections endpoint (the first organisation when the user connected
// several).
func (v *Vendor) Account(ctx context.Context, c *connectors.Client, callback url.Values) (connectors.Account, error) {
	resp, err := c.Do(ctx, connectors.Request{Operation: "list connections", Method: "GET", URL: v.Config.APIURL + "/connections"})
	if err != nil {
		return connectors.Account{}, err
	}
	var conns []Connection
	if err := json.Unmarshal(resp.Body, &conns); err != nil {
		return connectors.Account{}, fmt.Errorf("xero: connections: %w", err)
	}
	for _, cn := range conns {
		if cn.TenantType == "ORGANISATION" {
			return connectors.Account{ID: cn.TenantID, Name: cn.TenantName}, nil
		}
	}
	return connectors.Account{}, calgate.Invalid("code", "the consent connected no Xero organisation")
}

// ErrorText implements connectors.Vendor: the validation messages of an
// ApiException, or the problem's title and detail.
func (v *Vendor) ErrorText(status int, body []byte) string {
	var e apiError
	if json.Unmarshal(body, &e) == nil {
		var msgs []string
		for _, el := range e.Elements {
			for _, ve := range el.ValidationErrors {
				msgs = append(msgs, ve.Message)
			}
		}
		switch {
		case len(msgs) > 0:
			return e.Type + ": " + strings.Join(msgs, "; ")
		case e.Message != "":
			return e.Type + ": " + e.Message
		case e.Detail != "":
			return e.Title + ": " + e.Detail
		}
	}
	return connectors.BodyText(status, body)
}
