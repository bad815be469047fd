// Package hubspot connects calgate to HubSpot through the CRM v3 API: the
// customer of an entry becomes a contact upserted by e-mail, the entry a
// meeting upserted by a unique meeting property that holds the entry's id
// (so a re-delivered change updates instead of duplicating) and associated
// with the contact, optionally with a deal per order. Changes travel in the
// batch endpoints, up to 100 records a call, within HubSpot's burst limit
// per 10 seconds. It takes a private app's access token or OAuth 2.0.
package hubspot

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"golang.org/x/oauth2"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
)

// Type is the connector type.
const Type = "hubspot"

// Default endpoints and limits.
const (
	DefaultAuthURL  = "https://app.hubspot.com/oauth/authorize"
	DefaultTokenURL = "https://api.hubapi.com/oauth/v1/token"
	DefaultAPIURL   = "https://api.hubapi.com"
	DefaultScopes   = "oauth crm.objects.contacts.read crm.objects.contacts.write crm.objects.deals.read crm.objects.deals.write"
	// DefaultBurst is HubSpot's burst limit of the smallest tiers: 100
	// requests per 10 seconds (190 for Professional and Enterprise
	// private apps, 110 for OAuth apps).
	DefaultBurst = 100
	// DefaultDaily is the daily limit of the smallest tiers.
	DefaultDaily = 250000
	// BatchSize is the most inputs of one batch request.
	BatchSize = 100
	// DefaultMeetingIDProperty is the unique meeting property that holds
	// the entry's id.
	DefaultMeetingIDProperty = "calgate_entry_id"
)

// Config is the deployment's app at HubSpot.
type Config struct {
	connectors.AppConfig
	// Scopes are space-separated (default DefaultScopes).
	Scopes string
	// Burst is the requests calgate makes per 10 seconds and account
	// (default DefaultBurst); Daily per day (default DefaultDaily).
	Burst int
	Daily int
}

// Vendor is the HubSpot application.
type Vendor struct{ *connectors.App }

var _ connectors.BatchVendor = (*Vendor)(nil)

// New returns the application for a deployment's configuration.
func New(cfg Config) *Vendor {
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Daily <= 0 {
		cfg.Daily = DefaultDaily
	}
	limits := connectors.Limits{Windows: []connectors.Window{{Calls: cfg.Burst, Per: 10 * time.Second}, {Calls: cfg.Daily, Per: 24 * time.Hour}}}
	// A private app's access token (sent as a bearer token) or OAuth 2.0.
	return &Vendor{connectors.NewApp(cfg.AppConfig, connectors.AppSpec{Type: Type, Scopes: cmp.Or(cfg.Scopes, DefaultScopes), AuthStyle: oauth2.AuthStyleInParams,
		Auth:     connectors.Auth{APIKeyHeader: "Authorization"},
		Defaults: connectors.AppConfig{AuthURL: DefaultAuthURL, TokenURL: DefaultTokenURL, APIURL: DefaultAPIURL, Limits: &limits}})}
}

// BatchSize implements connectors.BatchVendor.
func (v *Vendor) BatchSize() int { return BatchSize }

// What a cancellation does to the meeting.
const (
	OnCancelMark   = "mark"
	OnCancelDelete = "delete"
)

// Mapping is a HubSpot connector's settings.
type Mapping struct {
	// MeetingIDProperty is the meeting property with unique values that
	// holds the entry's id (default calgate_entry_id).
	MeetingIDProperty string `json:"meeting_id_property"`
	// OnCancel is "mark" (default: hs_meeting_outcome CANCELED) or
	// "delete" (the meeting is archived).
	OnCancel string `json:"on_cancel"`
	// DealIDProperty, when set, makes a deal per order: the deal property
	// with unique values that holds the order (the entry's order, else the
	// attribute OrderAttribute), in DealPipeline at DealStage.
	DealIDProperty string `json:"deal_id_property,omitempty"`
	OrderAttribute string `json:"order_attribute,omitempty"`
	DealPipeline   string `json:"deal_pipeline,omitempty"`
	DealStage      string `json:"deal_stage,omitempty"`
}

var propertyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,99}$`)

// Mapping implements connectors.Vendor.
func (v *Vendor) Mapping(raw json.RawMessage) (json.RawMessage, error) {
	m, err := decodeMapping(raw)
	if err != nil {
		return nil, err
	}
	ve := &calgate.ValidationError{}
	if m.MeetingIDProperty == "" {
		m.MeetingIDProperty = DefaultMeetingIDProperty
	}
	if !propertyPattern.MatchString(m.MeetingIDProperty) {
		ve.Add("mapping.meeting_id_property", "must be a property's internal name (lower case letters, digits and _)")
	}
	switch m.OnCancel {
	case "":
		m.OnCancel = OnCancelMark
	case OnCancelMark, OnCancelDelete:
	default:
		ve.Add("mapping.on_cancel", "must be mark or delete")
	}
	if m.DealIDProperty != "" {
		if !propertyPattern.MatchString(m.DealIDProperty) {
			ve.Add("mapping.deal_id_property", "must be a property's internal name (lower case letters, digits and _)")
		}
		if m.OrderAttribute == "" {
			m.OrderAttribute = "order"
		}
		if m.DealPipeline == "" {
			m.DealPipeline = "default"
		}
		if m.DealStage == "" {
			m.DealStage = "appointmentscheduled"
		}
	} else if m.OrderAttribute != "" || m.DealPipeline != "" || m.DealStage != "" {
		ve.Add("mapping.deal_id_property", "is required for deals (order_attribute, deal_pipeline, deal_stage)")
	}
	return connectors.Checked(m, ve)
}

func decodeMapping(raw json.RawMessage) (Mapping, error) {
	return connectors.DecodeMapping[Mapping](raw, "HubSpot")
}

// Account implements connectors.Vendor: the account (portal) of the token
// or private app token, from the account details.
func (v *Vendor) Account(ctx context.Context, c *connectors.Client, callback url.Values) (connectors.Account, error) {
	resp, err := c.Do(ctx, connectors.Request{Operation: "read account", Method: http.MethodGet, URL: v.Config.APIURL + "/account-info/v3/details"})
	if err != nil {
		return connectors.Account{}, err
	}
	var d AccountDetails
	if err := json.Unmarshal(resp.Body, &d); err != nil || d.PortalID == 0 {
		return connectors.Account{}, fmt.Errorf("hubspot: account details: no portalId in the answer")
	}
	name := d.UIDomain
	if name == "" {
		name = "HubSpot " + strconv.FormatInt(d.PortalID, 10)
	}
	return connectors.Account{ID: strconv.FormatInt(d.PortalID, 10), Name: name}, nil
}

// ErrorText implements connectors.Vendor: the category and message.
func (v *Vendor) ErrorText(status int, body []byte) string {
	var e Error
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		kind := e.Category
		if kind == "" {
			kind = e.ErrorType
		}
		return kind + ": " + e.Message
	}
	return connectors.BodyText(status, body)
}
